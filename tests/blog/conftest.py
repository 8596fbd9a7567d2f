import pytest
from wagtail.models import Site

from blog.cache import page_cache_clear
from portal.models import NavigationSettings


@pytest.fixture(autouse=True)
def site_navigation(db):
    """The site's navigation settings row, which Wagtail otherwise creates on the first page
    view: creating it starts a new page-cache generation mid-test."""
    NavigationSettings.for_site(Site.objects.get(is_default_site=True))
    page_cache_clear()
