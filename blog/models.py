"""Article pages: the index that lists them and the post itself, with its authors, category
and tags. Laid out as wagtail/bakerydemo's blog: fields, panels, search fields, then helpers."""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, Paginator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.html import strip_tags
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import Tag, TaggedItemBase
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from membership.access import can_read_members_only
from portal.cache import (
    CachedViewRestrictionsMixin,
    content_generation,
    exclude_restricted,
    fragment_cache_alias,
)

from .blocks import ArticleBodyBlock
from .feeds import AtomFeed, RssFeed

WORDS_PER_MINUTE = 230
POSTS_PER_PAGE = 9
RELATED_POSTS = 3
FRAGMENT_SECONDS = 3600


@register_snippet
class Author(index.Indexed, models.Model):
    """A person who writes for the association; one author may sign many articles."""

    name = models.CharField(max_length=120)
    role = models.CharField(max_length=160, blank=True, help_text="e.g. Practice Administrator")
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    bio = models.TextField(max_length=800, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="author_profile",
        verbose_name="editor account",
        help_text="The admin account that writes as this author: its new articles are "
        "signed with this profile.",
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("role"),
        FieldPanel("photo"),
        FieldPanel("bio"),
        FieldPanel("user"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


@register_snippet
class BlogCategory(models.Model):
    """A broad subject an article belongs to; tags are the finer, free-form labels."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=255, blank=True)

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")]

    class Meta:
        ordering = ["name"]
        verbose_name = "article category"
        verbose_name_plural = "article categories"

    def __str__(self):
        return self.name


class BlogPostTag(TaggedItemBase):
    content_object = ParentalKey(
        "blog.BlogPostPage", on_delete=models.CASCADE, related_name="tagged_items"
    )


class BlogPostAuthor(Orderable):
    """Which authors signed a post, in the order the editor chose."""

    page = ParentalKey("blog.BlogPostPage", on_delete=models.CASCADE, related_name="post_authors")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="+")

    panels = [FieldPanel("author")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["page", "author"], name="blog_post_author_once")
        ]


class BlogIndexPage(CachedViewRestrictionsMixin, RoutablePageMixin, Page):
    """The list of articles, filtered by category or tag, with feeds and search as sub-routes."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["blog.BlogPostPage"]
    max_count = 1

    class Meta:
        verbose_name = "articles index"
        verbose_name_plural = "articles indexes"

    # -- helpers ---------------------------------------------------------------------------

    def route(self, request, path_components):
        # Wagtail's default routing costs two queries per level (the child, then its specific
        # row). A post is always a direct child, so fetch it specific, with its image and
        # category, in one query; everything else (feeds, search) goes the usual way.
        if len(path_components) == 1 and self.live:
            post = (
                BlogPostPage.objects.filter(
                    path__startswith=self.path, depth=self.depth + 1, slug=path_components[0]
                )
                .select_related("featured_image", "category")
                .first()
            )
            if post is not None:
                post._cached_parent_obj = self
                return post.route(request, [])
        return super().route(request, path_components)

    def posts(self):
        """Live, public posts under this index, newest first, with what a card shows."""
        # Card images come from the renditions cache, so no rendition query per page.
        return exclude_restricted(
            BlogPostPage.objects.live()
            .child_of(self)
            .select_related("category", "featured_image")
            .order_by("-date", "-first_published_at", "-pk")
        )

    def public_posts(self):
        """Posts anyone may read in full: what feeds carry."""
        return self.posts().filter(members_only=False)

    @path("")
    def index_route(self, request):
        posts = self.posts()
        category = tag = None
        if slug := request.GET.get("category"):
            category = BlogCategory.objects.filter(slug=slug).first()
            posts = posts.filter(category=category) if category else posts.none()
        if slug := request.GET.get("tag"):
            tag = Tag.objects.filter(slug=slug).first()
            posts = posts.filter(tagged_items__tag=tag) if tag else posts.none()
        page_number = request.GET.get("page", "1")
        page_number = page_number if page_number.isdigit() and len(page_number) < 6 else "1"
        # What the rendered list depends on; an unknown slug lists nothing, so it must not
        # share a key with no filter at all.
        filters = [
            str(found.pk) if found else ("?" if request.GET.get(name) else "")
            for name, found in (("category", category), ("tag", tag))
        ]
        request.page_cache_ok = True
        preview = getattr(request, "is_preview", False)
        return self.render(
            request,
            context_overrides={
                # Counted and fetched only if the template's fragment cache misses.
                "posts": SimpleLazyObject(lambda: _page_of(posts, page_number)),
                "active_category": category,
                "active_tag": tag,
                "categories": BlogCategory.objects.all(),
                "filter_query": _filter_query(category, tag),
                "fragment_timeout": 0 if preview else FRAGMENT_SECONDS,
                "fragment_cache": fragment_cache_alias(request),
                "fragment_version": f"{self.pk}.{self.live_revision_id}.{content_generation()}."
                f"{'.'.join(filters)}.{page_number}",
            },
        )

    @path("feed/rss/", name="feed-rss")
    def rss_feed(self, request):
        request.page_cache_ok = True
        return RssFeed(self)(request)

    @path("feed/atom/", name="feed-atom")
    def atom_feed(self, request):
        request.page_cache_ok = True
        return AtomFeed(self)(request)

    @path("search/", name="search")
    def search_route(self, request):
        from .search import search_posts  # cycle: blog.search imports these models

        query = request.GET.get("q", "").strip()[:200]
        results = search_posts(index=self, query=query, page_number=request.GET.get("page", 1))
        return self.render(
            request,
            template="blog/blog_search_results.html",
            context_overrides={
                "query": query,
                "results": results,
                "categories": BlogCategory.objects.all(),
                "popular_tags": popular_tags(),
                "latest_posts": self.posts()[:3] if not results.object_list else [],
            },
        )

    @property
    def rss_full_url(self) -> str:
        """The RSS feed's absolute address, for readers to paste into a feed reader."""
        return self.full_url + self.reverse_subpage("feed-rss")

    def feed_urls(self) -> list[str]:
        return [self.url + self.reverse_subpage(name) for name in ("feed-rss", "feed-atom")]


def _page_of(posts, number: str):
    paginator = Paginator(posts, POSTS_PER_PAGE)
    try:
        return paginator.page(number)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


def _filter_query(category, tag) -> str:
    parts = []
    if category:
        parts.append(f"category={category.slug}")
    if tag:
        parts.append(f"tag={tag.slug}")
    return "&".join(parts)


def popular_tags(limit: int = 12):
    """The tags used on the most live posts, for browsing and the 'no results' page."""
    return (
        Tag.objects.filter(
            blog_blogposttag_items__content_object__live=True,
        )
        .annotate(uses=models.Count("blog_blogposttag_items"))
        .order_by("-uses", "name")[:limit]
    )


class ArticleForm(WagtailAdminPageForm):
    """The article editor. A new article starts signed by the editor's own author profile
    (Author.user), which they can remove or add to; an existing article keeps its byline."""

    def __init__(self, *args, **kwargs):
        instance, user = kwargs.get("instance"), kwargs.get("for_user")
        is_blank_new = (
            instance is not None and instance.pk is None and not args and not kwargs.get("data")
        )
        if is_blank_new and user is not None and not instance.post_authors.all():
            author = Author.objects.filter(user=user).first()
            if author is not None:
                instance.post_authors = [BlogPostAuthor(author=author)]
        super().__init__(*args, **kwargs)


class BlogPostPage(CachedViewRestrictionsMixin, Page):
    """One article. Members-only articles show their title and intro to everyone and their body
    only to active members (membership.access decides who that is)."""

    subtitle = models.CharField(max_length=200, blank=True)
    intro = models.TextField(
        max_length=400, help_text="One or two sentences: shown on cards, in feeds and in search."
    )
    date = models.DateField(
        "publication date", default=timezone.localdate, help_text="Shown on the article."
    )
    category = models.ForeignKey(
        BlogCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    tags = ClusterTaggableManager(through=BlogPostTag, blank=True)
    featured_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    featured_image_alt = models.CharField(
        "featured image alt text",
        max_length=255,
        blank=True,
        help_text="What the image shows. Required with a featured image unless the image "
        "has a description.",
    )
    members_only = models.BooleanField(
        default=False,
        help_text="Only active members can read the body; everyone sees the title and intro.",
    )
    body = StreamField(ArticleBodyBlock())

    content_panels = [
        *Page.content_panels,
        FieldPanel("subtitle"),
        FieldPanel("intro"),
        MultiFieldPanel(
            [FieldPanel("featured_image"), FieldPanel("featured_image_alt")],
            heading="Featured image",
        ),
        MultiFieldPanel(
            [
                FieldPanel("date"),
                InlinePanel("post_authors", label="Author"),
                FieldPanel("category"),
                FieldPanel("tags"),
                FieldPanel("members_only"),
            ],
            heading="Article details",
        ),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("subtitle"),
        index.SearchField("intro"),
        # A members-only body is left out of the index altogether, so a search can never
        # reveal (or quote) words that only members may read.
        index.SearchField("public_body_text"),
        index.RelatedFields("tags", [index.SearchField("name")]),
        index.RelatedFields("category", [index.SearchField("name")]),
        index.FilterField("members_only"),
        index.FilterField("date"),
    ]
    parent_page_types = ["blog.BlogIndexPage"]
    subpage_types: list[str] = []
    base_form_class = ArticleForm

    class Meta:
        verbose_name = "article"
        verbose_name_plural = "articles"

    def clean(self):
        super().clean()
        if self.featured_image and not (
            self.featured_image_alt.strip() or self.featured_image.description.strip()
        ):
            raise ValidationError(
                {"featured_image_alt": "Describe the image for people who cannot see it."}
            )

    # -- helpers ---------------------------------------------------------------------------

    @cached_property
    def body_text(self) -> str:
        """The body as plain text: for reading time, excerpts and the search index."""
        parts = []
        for block in self.body:
            value = block.value
            if block.block_type == "paragraph":
                parts.append(strip_tags(value.source))
            elif block.block_type == "heading":
                parts.append(str(value))
            elif block.block_type == "quote":
                parts.append(value["quote"])
            elif block.block_type in {"image", "video"}:
                parts.append(value.get("caption") or "")
            elif block.block_type == "call_to_action":
                parts.append(f"{value['title']} {value['text']}")
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def public_body_text(self) -> str:
        return "" if self.members_only else self.body_text

    @property
    def reading_minutes(self) -> int:
        words = len(self.body_text.split()) + len(self.intro.split())
        return max(1, math.ceil(words / WORDS_PER_MINUTE))

    @property
    def featured_alt(self) -> str:
        if not self.featured_image:
            return ""
        return self.featured_image_alt or self.featured_image.description

    def can_read_body(self, request) -> bool:
        """Whether this request may see the body: membership.access decides for members-only
        posts. Previews are only reachable by people who may edit the page, so they show it."""
        if not self.members_only or getattr(request, "is_preview", False):
            return True
        return can_read_members_only(request.user)

    def authors(self, *, preview: bool = False) -> list[Author]:
        """The post's authors in order, with their photos' renditions, in two queries. A preview
        shows the unsaved authors held in memory instead."""
        if preview:
            return [link.author for link in self.post_authors.all()]
        links = (
            BlogPostAuthor.objects.filter(page_id=self.pk)
            .select_related("author__photo")
            .order_by("sort_order")
        )
        return [link.author for link in links]

    def related_posts(self, *, tag_ids: list[int]):
        """Up to three other posts sharing a tag or the category, newest first: one query for
        the posts, one for their images' renditions, whatever the number of tags."""
        if not tag_ids and not self.category_id:
            return BlogPostPage.objects.none()
        match = Q(tagged_items__tag_id__in=tag_ids)
        if self.category_id:
            match |= Q(category_id=self.category_id)
        ids = (
            exclude_restricted(BlogPostPage.objects.live())
            .filter(match)
            .exclude(pk=self.pk)
            .values("pk")
            .distinct()
        )
        return (
            BlogPostPage.objects.filter(pk__in=ids)
            .select_related("featured_image", "category")
            .order_by("-date", "-pk")[:RELATED_POSTS]
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        preview = getattr(request, "is_preview", False)
        # Tags, authors and related posts are only fetched if the template's fragment cache
        # misses (see blog_post_page.html), hence lazy.
        tags = SimpleLazyObject(lambda: list(self.tags.all()))
        context["can_read_body"] = self.can_read_body(request)
        context["tags"] = tags
        context["authors"] = SimpleLazyObject(lambda: self.authors(preview=preview))
        context["related_posts"] = SimpleLazyObject(
            lambda: list(self.related_posts(tag_ids=[tag.pk for tag in tags]))
        )
        # Routing left the parent on the page (see BlogIndexPage.route), so this is free.
        context["index_page"] = self.get_parent().specific
        # What the rendered article depends on besides the reader: the published revision and
        # everything else published (related posts, authors), which the generation tracks.
        # Previews are never cached (timeout 0).
        context["fragment_timeout"] = 0 if preview else FRAGMENT_SECONDS
        context["fragment_cache"] = fragment_cache_alias(request)
        context["fragment_version"] = f"{self.pk}.{self.live_revision_id}.{content_generation()}"
        return context

    def serve(self, request, *args, **kwargs):
        request.page_cache_ok = True
        return super().serve(request, *args, **kwargs)


# -- Following the blog by email -------------------------------------------------------------


class ArticleAlertSubscription(models.Model):
    """Someone who asked for new-article mail (double opt-in: nothing goes out before
    `confirmed_at`). The subscription is itself the consent to this one kind of mail."""

    class Frequency(models.TextChoices):
        EACH = "each", "Each new article"
        WEEKLY = "weekly", "A weekly roundup"

    email = models.EmailField(max_length=254, unique=True, help_text="Stored lowercased.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="article_alerts",
    )
    all_categories = models.BooleanField(default=True)
    categories = models.ManyToManyField(BlogCategory, blank=True, related_name="+")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.EACH)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Ledger of the confirmation mail (reset when someone asks again before confirming).
    confirm_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "article alert subscription"

    def __str__(self) -> str:
        return f"{self.email} ({self.get_frequency_display()})"


class ArticleAlertRun(models.Model):
    """An article went live and its alerts were handed out: once per article, ever."""

    page = models.OneToOneField("blog.BlogPostPage", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Alerts for page #{self.page_id}"


class ArticleAlert(models.Model):
    """The ledger: one mail per article and subscriber."""

    page = models.ForeignKey("blog.BlogPostPage", on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        ArticleAlertSubscription, on_delete=models.CASCADE, related_name="alerts"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "subscription"], name="one_article_alert")
        ]

    def __str__(self) -> str:
        return f"Alert for #{self.page_id} to {self.subscription_id}"


class ArticleRoundup(models.Model):
    """The ledger of weekly roundups: one per subscriber and week."""

    subscription = models.ForeignKey(
        ArticleAlertSubscription, on_delete=models.CASCADE, related_name="roundups"
    )
    week_start = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "week_start"], name="one_roundup")
        ]

    def __str__(self) -> str:
        return f"Roundup from {self.week_start:%Y-%m-%d} to {self.subscription_id}"
