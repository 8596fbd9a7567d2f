"""Following the blog by email, with the real SMTP server and a real Celery worker: double
opt-in, one click for members, an alert once when an article goes live (scheduled go-live
included), the teaser only for members-only articles, chosen categories, the weekly roundup,
RFC 8058 one-click unsubscribe, and share links without third-party scripts."""

import datetime as dt
import re
import time

from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Revision

from blog import alerts
from blog.models import ArticleAlert, ArticleAlertRun, ArticleAlertSubscription, ArticleRoundup
from portal import consent
from tests.conftest import wait_for
from tests.factories import MemberFactory

from .factories import SECRET, make_category, make_index, make_post

LINK = re.compile(r"https?://\S+/follow/(?:confirm|unsubscribe)/[^/\s]+/")


def _confirmed(email, **fields):
    return ArticleAlertSubscription.objects.create(
        email=email, confirmed_at=timezone.now() - dt.timedelta(minutes=1), **fields
    )


def _text(mail):
    return mail.message.get_body(("plain",)).get_content()


def test_anyone_follows_with_double_opt_in_and_gets_each_article_once(
    celery_worker, smtp_server, client
):
    make_index()
    response = client.post(
        reverse("blog:follow"), {"email": "Reader@Example.org", "frequency": "each"}
    )
    assert response.status_code == 200 and b"Check your inbox" in response.content
    confirmation = smtp_server.wait_for(1)[0]
    assert confirmation.rcpt_tos == ["reader@example.org"]
    link = LINK.search(_text(confirmation)).group(0)
    path = link.split("://", 1)[1].partition("/")[2]
    # Not confirmed yet: an article going live now sends nothing to this address.
    make_post(title="Before the click")
    wait_for(lambda: ArticleAlertRun.objects.count() == 1)
    assert client.get("/" + path).status_code == 200  # a button, not the confirmation
    assert ArticleAlertSubscription.objects.get().confirmed_at is None
    assert client.get("/" + path[:-4] + "xx/").status_code == 404
    assert client.post("/" + path).status_code == 200
    assert ArticleAlertSubscription.objects.get().confirmed_at is not None

    post = make_post(title="Staffing ratios that work", intro="What we learned.")
    alert = smtp_server.wait_for(2)[1]
    assert alert.rcpt_tos == ["reader@example.org"]
    assert alert.message["Subject"] == "New article: Staffing ratios that work"
    assert alert.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/follow/unsubscribe/" in alert.message["List-Unsubscribe"]
    assert SECRET in _text(alert)  # a public article: its text comes along
    wait_for(lambda: ArticleAlert.objects.filter(sent_at__isnull=False).count() == 1)
    # Edited and published again, or its job run twice: no second mail.
    post.intro = "What we learned, revised."
    post.save_revision().publish()
    alerts.alerts_fan_out(page_id=post.pk)
    wait_for(lambda: ArticleAlertRun.objects.count() == 2)
    time.sleep(1.5)
    assert len(smtp_server.received) == 2


def test_members_only_articles_send_the_teaser_and_categories_choose(celery_worker, smtp_server):
    coding, staffing = make_category("Coding"), make_category("Staffing")
    everything = _confirmed("all@example.org")
    chose_coding = _confirmed("coding@example.org", all_categories=False)
    chose_coding.categories.set([coding])
    chose_staffing = _confirmed("staffing@example.org", all_categories=False)
    chose_staffing.categories.set([staffing])
    _confirmed("weekly@example.org", frequency="weekly")
    make_post(title="Modifier 25 in 2027", members_only=True, category=coding, intro="Teaser.")
    received = smtp_server.wait_for(2)
    wait_for(lambda: ArticleAlert.objects.filter(sent_at__isnull=False).count() == 2)
    assert sorted(m.rcpt_tos[0] for m in received) == [everything.email, chose_coding.email]
    for mail in received:
        text = _text(mail)
        assert "Teaser." in text and "Members-only article" in text
        assert SECRET not in text
        assert SECRET not in mail.message.get_body(("html",)).get_content()


def test_an_address_that_refused_new_articles_gets_no_alert(celery_worker, smtp_server):
    # The consent category is honoured by this sender too, whichever page refused it.
    make_index()
    _confirmed("keeps@example.org")
    _confirmed("refused@example.org")
    consent.opt_out("refused@example.org", consent.ConsentCategory.NEW_ARTICLES)
    make_post(title="Prior authorization in 2027")
    received = smtp_server.wait_for(1)
    wait_for(lambda: ArticleAlert.objects.filter(sent_at__isnull=False).count() == 2)
    time.sleep(1)
    assert [m.rcpt_tos for m in received] == [["keeps@example.org"]]
    assert len(smtp_server.received) == 1


def test_a_scheduled_article_alerts_when_it_goes_live(celery_worker, smtp_server):
    _confirmed("reader@example.org")
    post = make_post(title="Scheduled piece", publish=False)
    post.go_live_at = timezone.now() + dt.timedelta(seconds=3)
    revision = post.save_revision()
    revision.publish()  # scheduled: not live yet
    post.refresh_from_db()
    assert not post.live
    call_command("publish_scheduled", verbosity=0)  # too early: nothing
    assert Revision.objects.get(pk=revision.pk).approved_go_live_at
    time.sleep(3.5)
    assert smtp_server.received == []
    call_command("publish_scheduled", verbosity=0)
    mail = smtp_server.wait_for(1)[0]
    assert mail.message["Subject"] == "New article: Scheduled piece"
    call_command("publish_scheduled", verbosity=0)
    wait_for(lambda: ArticleAlert.objects.filter(sent_at__isnull=False).count() == 1)
    assert len(smtp_server.received) == 1


def test_one_click_unsubscribe_without_a_session_and_a_tampered_token_changes_nothing(db):
    kept = _confirmed("kept@example.org")
    leaving = _confirmed("leaving@example.org")
    url = reverse("blog:follow-unsubscribe", kwargs={"token": alerts.unsubscribe_token(leaving)})
    client = Client(enforce_csrf_checks=True)  # as a mail provider posts: no cookie, no token
    tampered = url.replace("leaving", "kept")
    assert client.post(tampered, {"List-Unsubscribe": "One-Click"}).status_code == 404
    forged = reverse("blog:follow-unsubscribe", kwargs={"token": f"{kept.pk}:kept@example.org:abc"})
    assert client.post(forged, {"List-Unsubscribe": "One-Click"}).status_code == 404
    assert ArticleAlertSubscription.objects.count() == 2
    assert client.get(url).status_code == 200  # a link scanner: only a button
    assert ArticleAlertSubscription.objects.count() == 2
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert list(ArticleAlertSubscription.objects.all()) == [kept]
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200  # again


def test_a_member_follows_in_one_click_with_no_opt_in_mail(celery_worker, smtp_server, client):
    make_index()
    coding = make_category("Coding")
    member = MemberFactory()
    client.force_login(member)
    page = client.get(reverse("blog:follow"))
    assert page.status_code == 200 and b'name="email"' not in page.content
    response = client.post(
        reverse("blog:follow"), {"frequency": "weekly", "categories": [coding.pk]}
    )
    assert response.status_code == 302
    subscription = ArticleAlertSubscription.objects.get()
    assert (subscription.email, subscription.user, subscription.frequency) == (
        member.email,
        member,
        "weekly",
    )
    assert subscription.confirmed_at and list(subscription.categories.all()) == [coding]
    assert not subscription.all_categories
    # A stranger cannot change a confirmed address's choices from the public form.
    client.logout()
    client.post(reverse("blog:follow"), {"email": member.email, "frequency": "each"})
    subscription.refresh_from_db()
    assert subscription.frequency == "weekly"
    time.sleep(1)
    assert smtp_server.received == []
    assert client.post(reverse("blog:follow"), {"email": "x", "frequency": "?"}).status_code == 400
    for bad in ("99999999999999999999", "'\"<x>", "-1"):
        response = client.post(
            reverse("blog:follow"),
            {"email": "a@example.org", "frequency": "each", "categories": bad},
        )
        assert response.status_code == 400
    assert ArticleAlertSubscription.objects.count() == 1


def test_the_weekly_roundup_goes_once_with_last_weeks_articles(celery_worker, smtp_server):
    from blog.tasks import article_roundups_prepare

    weekly = _confirmed("weekly@example.org", frequency="weekly")
    first = make_post(title="First of the week")
    second = make_post(title="Second of the week")
    wait_for(lambda: ArticleAlertRun.objects.count() == 2)
    start = alerts.week_start(timezone.now())
    ArticleAlertRun.objects.update(created_at=start + dt.timedelta(days=2))
    assert smtp_server.received == []  # weekly: nothing per article
    article_roundups_prepare.delay()
    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == [weekly.email]
    text = _text(mail)
    assert first.title in text and second.title in text
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    wait_for(lambda: ArticleRoundup.objects.filter(sent_at__isnull=False).count() == 1)
    article_roundups_prepare.delay()
    time.sleep(1.5)
    assert len(smtp_server.received) == 1


def test_share_links_are_plain_links(client):
    post = make_post(title="Share me")
    content = client.get(post.url).content.decode()
    share = content[content.index('class="blog-share"') :]
    share = share[: share.index("</nav>")]
    for host in ("linkedin.com", "facebook.com", "x.com", "bsky.app", "mailto:"):
        assert host in share
    assert "<script" not in share
    assert 'src="https://' not in content
