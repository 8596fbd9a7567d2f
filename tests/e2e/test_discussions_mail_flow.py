"""The email network end to end in a browser: a question and a reply sent by email over SMTP
appear threaded in the archive; members post, follow and manage delivery from the web."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from discussions.models import Message
from tests.conftest import screenshot, wait_for
from tests.discussions.helpers import listener, make_list, raw_mail, send, subscribe
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import TEST_PASSWORD, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, user):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill('input[name="login"]', user.email)
    page.fill('input[name="password"]', TEST_PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_email_question_and_email_reply_show_threaded_in_the_archive(
    browser_page, celery_worker, smtp_server
):
    billing = make_list(description="Claims, CPT and ICD-10 coding, prior authorizations.")
    author = MemberFactory(first_name="Maria", last_name="Lopez")
    replier = MemberFactory(first_name="Dev", last_name="Patel")
    for user in (author, replier):
        subscribe(billing, user)

    with listener() as (_host, port):
        send(
            port,
            author.email,
            billing.address,
            raw_mail(
                sender=author.email,
                to=billing.address,
                body="We are at three weeks per biologic approval. How do you handle prior "
                "authorizations?\n\nThanks,\nMaria\n--\nMaria Lopez, Practice Manager\n",
            ),
        )
        first = smtp_server.wait_for(2)[0].message
        reply = raw_mail(
            sender=replier.email,
            to=billing.address,
            name="Dev Patel",
            subject=f"Re: {first['Subject']}",
            body="A dedicated coordinator and same-day portal submissions: 6 days on average."
            "\n\nOn Monday, Maria Lopez wrote:\n> We are at three weeks per biologic "
            "approval.\n",
            headers={"In-Reply-To": first["Message-ID"], "References": first["Message-ID"]},
        )
        send(port, replier.email, billing.address, reply)
        smtp_server.wait_for(4)
    wait_for(lambda: Message.objects.filter(status="published").count() == 2)

    page = browser_page
    log_in(page, replier)
    page.goto(billing.get_absolute_url())
    row = page.locator(".dx-thread").first
    assert "Prior authorizations for biologics" in row.inner_text()
    assert "2 messages" in row.inner_text()
    assert "Maria Lopez, Dev Patel" in row.inner_text()
    screenshot(page, "discussions-archive")

    row.get_by_role("link").click()
    posts = page.locator(".dx-post")
    expect(posts).to_have_count(2)
    assert "in reply to" in posts.nth(1).inner_text()
    quoted = posts.nth(1).locator("details")
    expect(quoted.locator("pre")).to_be_hidden()
    quoted.locator("summary").click()
    assert "three weeks" in quoted.locator("pre").inner_text()
    screenshot(page, "discussions-thread")

    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"thread page is {overflow}px wider than a 360px screen"
    screenshot(page, "discussions-thread-mobile")


def check_both_sizes(page, name):
    """assert_page_sound and a screenshot at desk and phone size, back at desk afterwards."""
    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert_page_sound(page)
        screenshot(page, f"{name}-{suffix}")
    page.set_viewport_size(DESK)


def test_member_posts_follows_gets_a_digest_and_unsubscribes(browser_page, demo_site, smtp_server):
    from discussions import services
    from discussions.models import MailingList, Subscription
    from discussions.tasks import send_digest

    page = browser_page
    member = MemberFactory(first_name="Ana", last_name="Reyes")
    log_in(page, member)
    page.goto("/discussions/")
    expect(page.get_by_role("link", name="Billing and Coding")).to_be_visible()
    check_both_sizes(page, "discussions-index")
    page.get_by_role("link", name="Billing and Coding").click()
    page.get_by_role("button", name="Subscribe by email").click()
    expect(page.locator(".dx-badge")).to_contain_text("You get: Every message")
    check_both_sizes(page, "discussions-archive")
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Subject").fill("Modifier 25 on infusion days")
    page.get_by_label("Message").fill("Do your payers accept 25 with 96413 on the same day?")
    check_both_sizes(page, "discussions-new-thread")
    page.get_by_role("button", name="Post to the list").click()
    expect(page.get_by_role("heading", name="Modifier 25 on infusion days")).to_be_visible()

    # The "Posted" message and the new post are both in view, neither under the sticky header.
    header_bottom = page.locator(".site-header").bounding_box()["height"]
    post_box = page.locator(".dx-post:target").bounding_box()
    flash_box = page.get_by_role("status").filter(has_text="Posted.").bounding_box()
    for box in (post_box, flash_box):
        assert header_bottom - 1 <= box["y"] < DESK["height"], (box, header_bottom)
    follow = page.get_by_role("button", name="Follow by email")
    mute = page.get_by_role("button", name="Mute this thread")
    expect(follow).to_be_visible()
    expect(mute).to_be_visible()
    check_both_sizes(page, "discussions-thread")
    follow.click()
    expect(page.get_by_role("button", name="Follow by email")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.get_by_role("button", name="Mute this thread")).to_be_visible()

    # One Save keeps the changes made in two lists.
    page.goto("/discussions/subscriptions/")
    page.get_by_label("Delivery for Billing and Coding").select_option("daily")
    page.get_by_label("Delivery for HR and Staffing").select_option("weekly")
    check_both_sizes(page, "discussions-subscriptions")
    page.get_by_role("button", name="Save all settings").click()
    expect(page.get_by_role("status")).to_contain_text("Billing and Coding: daily digest")
    expect(page.get_by_role("status")).to_contain_text("HR and Staffing: weekly digest")
    modes = dict(Subscription.objects.filter(user=member).values_list("mailing_list__name", "mode"))
    assert modes["Billing and Coding"] == "daily" and modes["HR and Staffing"] == "weekly"

    # Someone replies; the daily digest goes out over SMTP and carries an unsubscribe link.
    billing = MailingList.objects.get(name="Billing and Coding")
    services.message_post_web(
        user=MemberFactory(first_name="Dev", last_name="Patel"),
        mailing_list=billing,
        subject="Biologics buy and bill",
        text="Who still buys and bills infliximab?",
    )
    for digest_id in services.digests_prepare(frequency="daily"):
        send_digest(digest_id)
    [digest] = [m for m in smtp_server.wait_for(1) if member.email in m.rcpt_tos]
    assert "Daily digest" in digest.message["Subject"]
    link = re.search(r"<(https?://[^>]+)>", digest.message["List-Unsubscribe"]).group(1)
    page.goto(urlsplit(link).path)  # the link names SITE_URL; the browser has the live server
    expect(page.get_by_role("heading", level=1)).to_contain_text("Unsubscribe from Billing")
    check_both_sizes(page, "discussions-unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    check_both_sizes(page, "discussions-unsubscribed")
    assert not Subscription.objects.filter(user=member, mailing_list=billing).exists()
