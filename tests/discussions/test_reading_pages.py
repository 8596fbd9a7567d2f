"""The discussion pages a member reads: search grouped by thread, the thread's follow and mute
choices, one Save for every list's delivery, and dates as people say them."""

import datetime as dt

import pytest
from django.utils import timezone

from discussions import services
from discussions.models import Subscription, ThreadPreference
from discussions.templatetags.discussions_dates import human_date
from tests.factories import MemberFactory, UserFactory

from .helpers import make_list, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing():
    return make_list()


@pytest.fixture
def thread(billing):
    question = services.message_post_web(
        user=MemberFactory(first_name="Maria", last_name="Lopez"),
        mailing_list=billing,
        subject="Prior authorizations for <biologics>",
        text="How do you handle authorization renewals?",
    )
    services.message_post_web(
        user=MemberFactory(first_name="Dev", last_name="Patel"),
        mailing_list=billing,
        subject="",
        text=(
            "We renew every authorization a month early.\n\n"
            "--\nDev Patel\nBilling lead, signature-only-word\n\n"
            "On Monday Maria wrote:\n> How do you handle quoted-only-word renewals?\n"
        ),
        parent=question,
    )
    return question.thread


def test_search_groups_matches_by_thread_and_marks_them_safely(client, billing, thread):
    client.force_login(MemberFactory())

    page = client.get("/discussions/search/", {"q": "authorisation"}).content.decode()

    assert "2 messages found in 1 thread" in page
    assert page.count('class="card dx-result"') == 1
    # The subject is escaped, then marked; the UK spelling found the US one.
    assert "Prior <mark>authorizations</mark> for &lt;biologics&gt;" in page
    assert "We renew every <mark>authorization</mark> a month early." in page


def test_search_snippets_leave_out_quotes_and_signatures(client, billing, thread):
    client.force_login(MemberFactory())

    page = client.get("/discussions/search/", {"q": "renew"}).content.decode()

    assert "<mark>renew</mark> every" in page
    assert "signature-only-word" not in page
    assert "quoted-only-word" not in page


def test_search_with_no_results_helps(client, billing, thread):
    client.force_login(MemberFactory())

    page = client.get("/discussions/search/", {"q": "xylophone"}).content.decode()

    assert "0 messages found" in page
    assert "Nothing matches “xylophone”" in page
    assert "Check the spelling" in page
    assert f'href="{billing.get_absolute_url()}"' in page


def test_search_escapes_the_query_it_echoes(client, billing, thread):
    client.force_login(MemberFactory())

    page = client.get("/discussions/search/", {"q": "<script>x</script>"}).content.decode()

    assert "<script>x</script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    ("state", "pressed"),
    [(None, []), ("follow", ["Follow by email"]), ("mute", ["Mute this thread"])],
)
def test_a_thread_always_offers_both_follow_and_mute(client, billing, thread, state, pressed):
    member = MemberFactory()
    if state:
        services.thread_preference_set(user=member, thread=thread, state=state)
    client.force_login(member)

    page = client.get(thread.get_absolute_url()).content.decode()

    for label in ("Follow by email", "Mute this thread"):
        is_pressed = "true" if label in pressed else "false"
        assert f'aria-pressed="{is_pressed}">{label}</button>' in page


def test_unpressing_the_choice_in_force_clears_it(client, billing, thread):
    member = MemberFactory()
    client.force_login(member)
    url = f"/discussions/{billing.slug}/{thread.pk}/preference/"

    client.post(url, {"state": "follow"})
    client.post(url, {"state": "mute"})
    assert ThreadPreference.objects.get(user=member).state == "mute"
    client.post(url, {"state": ""})
    assert not ThreadPreference.objects.filter(user=member).exists()


def test_one_save_keeps_every_lists_change(client, billing):
    hr = make_list(name="HR", slug="hr")
    member = MemberFactory()
    subscribe(hr, member, mode="every")
    client.force_login(member)

    page = client.get("/discussions/subscriptions/").content.decode()
    assert page.count("Save all settings") == 1

    response = client.post(
        "/discussions/subscriptions/", {f"mode-{billing.slug}": "daily", "mode-hr": "weekly"}
    )

    assert response.status_code == 302
    modes = dict(Subscription.objects.filter(user=member).values_list("mailing_list__slug", "mode"))
    assert modes == {billing.slug: "daily", "hr": "weekly"}
    client.post("/discussions/subscriptions/", {f"mode-{billing.slug}": "daily", "mode-hr": ""})
    modes = dict(Subscription.objects.filter(user=member).values_list("mailing_list__slug", "mode"))
    assert modes == {billing.slug: "daily"}


def test_one_save_by_a_non_member_changes_nothing(client, billing):
    hr = make_list(name="HR", slug="hr")
    lapsed = subscribe(hr, UserFactory(), mode="daily")
    client.force_login(lapsed.user)

    response = client.post(
        "/discussions/subscriptions/", {"mode-hr": "", f"mode-{billing.slug}": "every"}
    )

    assert response.status_code == 403
    assert Subscription.objects.get(pk=lapsed.pk).mode == "daily"


def test_an_unknown_mode_is_refused_without_a_change(client, billing):
    member = MemberFactory()
    client.force_login(member)

    response = client.post("/discussions/subscriptions/", {f"mode-{billing.slug}": "hourly"})

    assert response.status_code == 302
    assert not Subscription.objects.filter(user=member).exists()


def test_dates_read_as_people_say_them(settings):
    settings.TIME_ZONE = "UTC"
    now = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)
    at = dt.datetime(2026, 11, 21, 12, 52, tzinfo=dt.UTC)

    with timezone.override("UTC"):
        assert human_date(at, now) == "Yesterday, 12:52 PM"
        assert human_date(at.replace(day=22), now) == "Today, 12:52 PM"
        assert human_date(at.replace(month=3), now) == "Mar 21, 12:52 PM"
        assert human_date(at.replace(year=2025), now) == "Nov 21, 2025"
