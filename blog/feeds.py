"""RSS 2.0 and Atom feeds of the public articles under one index page.

Members-only posts are left out entirely: a feed reader has no login, and the issue asks for
feeds of public posts only.
"""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

FEED_ITEMS = 20


class RssFeed(Feed):
    feed_type = Rss201rev2Feed

    def __init__(self, index_page):
        super().__init__()
        self.index_page = index_page

    def title(self):
        return f"{self.index_page.title} · {settings.WAGTAIL_SITE_NAME}"

    def link(self):
        return self.index_page.full_url

    def description(self):
        return self.index_page.intro or self.index_page.title

    def feed_url(self):
        # full_url ends in "/" and reverse_subpage gives "feed/rss/", with no leading slash.
        return self.index_page.full_url + self.index_page.reverse_subpage(self.url_name)

    url_name = "feed-rss"

    def items(self):
        return self.index_page.public_posts().prefetch_related("post_authors__author")[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.intro

    def item_link(self, item):
        return item.full_url

    def item_guid(self, item):
        return item.full_url

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        return item.last_published_at

    def item_author_name(self, item):
        names = [link.author.name for link in item.post_authors.all()]
        return ", ".join(names) or None

    def item_categories(self, item):
        return [item.category.name] if item.category else []


class AtomFeed(RssFeed):
    feed_type = Atom1Feed
    url_name = "feed-atom"

    def subtitle(self):
        return self.description()
