"""With a CDN or caching proxy configured, publishing purges the article and the listings
that show it. A real HTTP server stands in for the proxy and records the PURGE requests."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from wagtail.contrib.frontend_cache.utils import get_backends

from blog.tasks import frontend_cache_purge_listings
from tests.blog.factories import make_index, make_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def purge_proxy(settings):
    purged = []

    class Handler(BaseHTTPRequestHandler):
        def do_PURGE(self):  # the method name http.server dispatches PURGE requests to
            purged.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WAGTAILFRONTENDCACHE = {
        "proxy": {
            "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
            "LOCATION": f"http://127.0.0.1:{server.server_port}",
        }
    }
    assert get_backends()
    yield purged
    server.shutdown()


def test_publishing_purges_the_post_and_the_listings_that_show_it(purge_proxy):
    index = make_index()
    post = make_post(title="Purged")  # Wagtail purges the post itself as it is published

    frontend_cache_purge_listings(post.pk)

    assert post.url in purge_proxy
    assert {index.url, index.url + "feed/rss/", index.url + "feed/atom/"} <= set(purge_proxy)
    assert "/" in purge_proxy  # the home page lists the newest articles
