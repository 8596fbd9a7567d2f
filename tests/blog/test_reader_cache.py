"""The page cache for signed-in readers: a page is kept per tier (non-member, member), never per
person; each reader's own parts (name, logout form and its CSRF token) are filled in for each
response; and a lapse, a new membership, a publish or a permission change shows at once."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from blog.cache import READER_HIT_HEADER, page_cache_clear
from membership.models import Membership
from tests.blog.factories import SECRET, default_body, make_index, make_post
from tests.factories import MemberFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

USERBAR = "wagtail-userbar"
JOIN_CALL = "The rest of this article is for NORM members"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    page_cache_clear()
    yield
    cache.clear()
    page_cache_clear()


@pytest.fixture
def locked_post():
    return make_post(title="Salary survey highlights", members_only=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csrf_token_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_two_members_and_a_non_member_each_get_their_own_page(locked_post):
    ada = signed_in(MemberFactory(first_name="Ada", last_name="Quintessa"))
    bo = signed_in(MemberFactory(first_name="Bo", last_name="Marchetti"))
    cy = signed_in(UserFactory(first_name="Cy", last_name="Outsider"))

    pages = {}
    for name, client in (("ada", ada), ("bo", bo), ("cy", cy)):
        first = client.get(locked_post.url)
        again = client.get(locked_post.url)
        pages[name] = (first, again)

    # The first member fills the members' page; the second is served it, with her own name.
    assert pages["ada"][0][READER_HIT_HEADER] == "miss"
    assert pages["bo"][0][READER_HIT_HEADER] == "hit"
    assert pages["cy"][0][READER_HIT_HEADER] == "miss"  # another tier, another page
    assert all(again[READER_HIT_HEADER] == "hit" for _, again in pages.values())
    for name, own, others in (
        ("ada", "Ada Quintessa", ["Bo Marchetti", "Cy Outsider"]),
        ("bo", "Bo Marchetti", ["Ada Quintessa", "Cy Outsider"]),
        ("cy", "Cy Outsider", ["Ada Quintessa", "Bo Marchetti"]),
    ):
        for response in pages[name]:
            html = response.content.decode()
            assert own in html
            assert not any(other in html for other in others)
            assert "private" in response["Cache-Control"]
            assert "<!--reader-account" not in html
    for name in ("ada", "bo"):
        assert all(SECRET in r.content.decode() for r in pages[name])
    assert all(SECRET not in r.content.decode() for r in pages["cy"])
    assert all(JOIN_CALL in r.content.decode() for r in pages["cy"])
    tokens = [csrf_token_of(r.content.decode()) for pair in pages.values() for r in pair]
    assert len(set(tokens)) == len(tokens)  # a fresh token in every response


def test_a_members_cached_page_never_reaches_an_anonymous_reader(client, locked_post):
    member = signed_in(MemberFactory(first_name="Ada", last_name="Quintessa"))
    member.get(locked_post.url)
    assert member.get(locked_post.url)[READER_HIT_HEADER] == "hit"

    html = client.get(locked_post.url).content.decode()

    assert "Ada Quintessa" not in html and SECRET not in html
    assert "Log in" in html


def test_a_hit_costs_no_query_and_its_logout_form_works(locked_post, django_assert_num_queries):
    member = MemberFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.get(locked_post.url)
    make_index()  # warm what the index route would read

    with django_assert_num_queries(0):
        response = client.get(locked_post.url)

    assert response[READER_HIT_HEADER] == "hit"
    token = csrf_token_of(response.content.decode())
    logout = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert logout.status_code == 302
    html = client.get(locked_post.url).content.decode()
    assert SECRET not in html and "Log in" in html


def assert_cached_per_tier_not_per_person(url):
    ada = signed_in(MemberFactory(first_name="Ada", last_name="Quintessa"))
    bo = signed_in(MemberFactory(first_name="Bo", last_name="Marchetti"))
    assert ada.get(url)[READER_HIT_HEADER] == "miss"
    response = bo.get(url)
    assert response[READER_HIT_HEADER] == "hit"
    html = response.content.decode()
    assert "Bo Marchetti" in html and "Ada Quintessa" not in html


def test_the_index_is_cached_per_tier_too():
    index = make_index()
    make_post(title="Open article")
    assert_cached_per_tier_not_per_person(index.url)


def test_the_home_page_is_cached_per_tier_too(demo_site):
    assert_cached_per_tier_not_per_person("/")


def test_a_lapse_shows_at_once(locked_post):
    member = MemberFactory()
    client = signed_in(member)
    assert SECRET in client.get(locked_post.url).content.decode()
    assert SECRET in client.get(locked_post.url).content.decode()

    membership = Membership.objects.get(user=member)
    membership.state = Membership.State.LAPSED
    membership.save()

    html = client.get(locked_post.url).content.decode()
    assert SECRET not in html and JOIN_CALL in html


def test_access_ends_on_time_without_any_save(locked_post):
    member = UserFactory()
    MembershipFactory(user=member, access_ends_at=timezone.now() + timedelta(seconds=1.5))
    client = signed_in(member)
    assert SECRET in client.get(locked_post.url).content.decode()
    assert client.get(locked_post.url)[READER_HIT_HEADER] == "hit"

    time.sleep(1.6)

    assert SECRET not in client.get(locked_post.url).content.decode()


def test_a_new_membership_shows_at_once(locked_post):
    user = UserFactory()
    client = signed_in(user)
    client.get(locked_post.url)
    assert SECRET not in client.get(locked_post.url).content.decode()

    MembershipFactory(user=user)

    assert SECRET in client.get(locked_post.url).content.decode()


def test_a_publish_shows_at_once(locked_post, django_capture_on_commit_callbacks):
    client = signed_in(MemberFactory())
    client.get(locked_post.url)
    assert client.get(locked_post.url)[READER_HIT_HEADER] == "hit"

    with django_capture_on_commit_callbacks(execute=True):
        locked_post.body = default_body(secret="Freshly published wording")
        locked_post.save_revision().publish()

    html = client.get(locked_post.url).content.decode()
    assert "Freshly published wording" in html


def test_a_permission_change_shows_at_once(locked_post):
    user = UserFactory()
    client = signed_in(user)
    client.get(locked_post.url)
    assert SECRET not in client.get(locked_post.url).content.decode()
    editors = Group.objects.get(name="Editors")

    user.groups.add(editors)
    html = client.get(locked_post.url).content.decode()
    assert USERBAR in html and SECRET in html
    assert READER_HIT_HEADER not in client.get(locked_post.url)  # editors are never cached

    user.groups.remove(editors)
    html = client.get(locked_post.url).content.decode()
    assert USERBAR not in html and SECRET not in html


def test_a_name_change_shows_at_once(locked_post):
    user = MemberFactory(first_name="Ada", last_name="Quintessa")
    client = signed_in(user)
    client.get(locked_post.url)

    user.first_name = "Adelaide"
    user.save()

    html = client.get(locked_post.url).content.decode()
    assert "Adelaide Quintessa" in html


def test_a_password_change_elsewhere_ends_the_session(locked_post):
    user = MemberFactory()
    client = signed_in(user)
    client.get(locked_post.url)
    assert client.get(locked_post.url)[READER_HIT_HEADER] == "hit"

    user.set_password("a new and long passphrase")
    user.save()

    html = client.get(locked_post.url).content.decode()
    assert SECRET not in html and "Log in" in html


def test_a_pending_message_is_shown_not_replayed(locked_post):
    client = signed_in(MemberFactory())
    client.get(locked_post.url)
    client.cookies.load({"messages": "x"})

    assert READER_HIT_HEADER not in client.get(locked_post.url)


def test_pages_never_cached_still_show_the_readers_own_links(locked_post):
    client = signed_in(MemberFactory(first_name="Ada", last_name="Quintessa"))

    for url in ("/articles/search/?q=survey", "/membership/account/", "/no-such-page/"):
        response = client.get(url)
        html = response.content.decode()
        assert READER_HIT_HEADER not in response
        assert "<!--reader-account" not in html, url
        assert "Ada Quintessa" in html and "Log out" in html, url
