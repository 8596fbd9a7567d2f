"""Site-wide pages and pieces: home page, testimonials, navigation, heartbeat, mail claims."""

import re

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from .blocks import LinkBlock, OfferBlock
from .cache import CachedViewRestrictionsMixin, exclude_restricted, fragment_cache_alias


class HomePage(CachedViewRestrictionsMixin, Page):
    hero_kicker = models.CharField(max_length=80, blank=True)
    hero_title = models.CharField(max_length=120)
    hero_text = models.TextField(max_length=500, blank=True)
    hero_primary = StreamField([("link", LinkBlock())], blank=True, max_num=1)
    hero_secondary = StreamField([("link", LinkBlock())], blank=True, max_num=1)
    offers_title = models.CharField(max_length=80, default="What we offer")
    offers = StreamField([("offer", OfferBlock())], blank=True)
    testimonials_title = models.CharField(max_length=80, default="What our members say")
    articles_title = models.CharField(max_length=80, default="Latest articles")
    articles_index = models.ForeignKey(
        "wagtailcore.Page",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The page whose newest children appear under 'Latest articles'.",
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldPanel("hero_kicker"),
                FieldPanel("hero_title"),
                FieldPanel("hero_text"),
                FieldPanel("hero_primary"),
                FieldPanel("hero_secondary"),
            ],
            heading="Hero",
        ),
        MultiFieldPanel([FieldPanel("offers_title"), FieldPanel("offers")], heading="Offers"),
        FieldPanel("testimonials_title"),
        MultiFieldPanel(
            [FieldPanel("articles_title"), FieldPanel("articles_index")], heading="Articles"
        ),
    ]
    search_fields = [*Page.search_fields, index.SearchField("hero_text")]

    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    def latest_articles(self, count: int = 3):
        """The newest public pages under the chosen articles index, whatever their type."""
        if not self.articles_index_id:
            return Page.objects.none()
        return exclude_restricted(
            Page.objects.live().child_of(self.articles_index).order_by("-first_published_at")
        ).specific()[:count]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["testimonials"] = Testimonial.objects.filter(is_shown=True)[:3]
        context["latest_articles"] = self.latest_articles()
        # The page's content is the same for every reader, so the template keeps it rendered
        # per revision and content generation; a preview is never kept.
        context["fragment_timeout"] = 0 if getattr(request, "is_preview", False) else 3600
        context["fragment_cache"] = fragment_cache_alias(request)
        return context


@register_snippet
class Testimonial(index.Indexed, models.Model):
    quote = models.TextField(max_length=600)
    name = models.CharField(max_length=120)
    title = models.CharField("job title", max_length=120, blank=True)
    practice = models.CharField(max_length=160, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_shown = models.BooleanField("shown on the site", default=True)

    panels = [
        FieldPanel("quote"),
        FieldPanel("name"),
        FieldPanel("title"),
        FieldPanel("practice"),
        FieldPanel("sort_order"),
        FieldPanel("is_shown"),
    ]
    search_fields = [index.SearchField("quote"), index.SearchField("name")]

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return f"{self.name}, {self.practice}" if self.practice else self.name


HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_hex_colour = RegexValidator(rf"^{HEX_COLOUR.pattern}\Z", "A colour as #rrggbb, e.g. #1f4e8c.")


@register_setting(icon="list-ul")
class NavigationSettings(BaseSiteSetting):
    """Header and footer links and the association's look, editable under Settings in the
    Wagtail admin. The association's names come from the ASSOCIATION_* settings (they are
    needed before the database is). The look shares this row with the links, so a page built
    after a change reads both in one query; left empty, a field falls back to the portal's own
    logo and palette (portal/static/portal/css/site.css)."""

    primary_links = StreamField([("link", LinkBlock())], blank=True)
    footer_links = StreamField([("link", LinkBlock())], blank=True)
    footer_text = models.TextField(
        blank=True, help_text="A sentence about the association, shown in the footer."
    )
    contact_email = models.EmailField(blank=True)
    address = models.CharField(max_length=200, blank=True)
    social_links = StreamField(
        [("link", LinkBlock())], blank=True, help_text="Shown in the footer, under Contact."
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Shown square, 40 pixels high, beside the association's name.",
    )
    brand_colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[_hex_colour],
        help_text="Links and buttons, as #rrggbb; white text must read on it.",
    )
    accent_colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[_hex_colour],
        help_text="Highlights, as #rrggbb; dark text must read on it.",
    )
    membership_headline = models.CharField(
        max_length=120,
        blank=True,
        help_text="The heading of the membership page; empty: “Belong to the” and the name.",
    )

    panels = [
        FieldPanel("primary_links"),
        FieldPanel("footer_links"),
        FieldPanel("footer_text"),
        FieldPanel("contact_email"),
        FieldPanel("address"),
        FieldPanel("social_links"),
        MultiFieldPanel(
            [
                FieldPanel("logo"),
                FieldPanel("brand_colour"),
                FieldPanel("accent_colour"),
                FieldPanel("membership_headline"),
            ],
            heading="Brand",
        ),
    ]

    class Meta:
        verbose_name = "navigation and brand"

    @staticmethod
    def is_colour(value: str) -> bool:
        return bool(HEX_COLOUR.fullmatch(value))


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat job: proof that jobs are consumed."""

    name = models.CharField(max_length=40, unique=True)
    beat_at = models.DateTimeField(default=timezone.now)
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class MailClaim(models.Model):
    """A mail some worker is sending right now (portal.sendonce): one row per mail key, from
    the claim until the app's ledger records the send. A row older than MAIL_CLAIM_TIMEOUT was
    left by a worker that died, and the next try takes it over."""

    key = models.CharField(max_length=200, unique=True)
    token = models.UUIDField()
    claimed_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key} claimed at {self.claimed_at:%Y-%m-%d %H:%M:%S}"


class ConsentCategory(models.TextChoices):
    """Kinds of optional mail a person may refuse one by one (portal.consent). Receipts,
    tickets, account and security mail have no category: they always go out."""

    ASSOCIATION_NEWS = "association_news", "Association news"
    CONFERENCE_NEWS = "conference_news", "Conference news"
    NEW_ARTICLES = "new_articles", "New articles"


class ConsentOptOut(models.Model):
    """One address that said no to one category. Absent means yes: members joined to hear
    from the association, and every such mail carries a one-click way out (RFC 8058)."""

    email = models.EmailField(max_length=254)
    category = models.CharField(max_length=32, choices=ConsentCategory.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "category"], name="one_opt_out_per_category")
        ]

    def __str__(self):
        return f"{self.email}: no {self.get_category_display().lower()}"
