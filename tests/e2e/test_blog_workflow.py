"""An editor writes an article in the Wagtail admin and submits it; a moderator approves it
with a comment; readers then find it on the index, in the feeds and in search. Every page on
the way passes axe-core and fits its viewport (tests/e2e/page_checks.py), the reader's pages
at desk and phone size."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model
from django.db import OperationalError
from playwright.sync_api import expect
from wagtail.images import get_image_model
from wagtail.models import TaskState

from blog.models import BlogIndexPage, BlogPostPage
from tests.conftest import screenshot, wait_for
from tests.e2e.page_checks import PHONE, assert_page_sound
from tests.factories import TOTP_SECRET, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "Closing the Books Faster Each Month"
QUOTE = "A month-end checklist turned our worst week into an ordinary one."


def log_in(page, email, password):
    """Log in as an editor or moderator would: password, then a code from their authenticator
    app, which the admin requires (set up here with tests.factories.TOTP_SECRET)."""
    user = get_user_model().objects.get(email=email)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, TOTP_SECRET)
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    assert_page_sound(page)
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', password)
    page.press('input[name="password"]', "Enter")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    assert_page_sound(page)
    page.fill('input[name="code"]', totp_code())
    page.press('input[name="code"]', "Enter")
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def settled(page, query):
    """Run an ORM query once the browser is idle. The shared in-memory SQLite database refuses
    a read while a live-server thread writes, so a locked table means "ask again"."""
    page.wait_for_load_state("networkidle")

    def attempt():
        try:
            return query()
        except OperationalError:
            return None

    return wait_for(attempt, message="the database never settled")


def insert_block(page, label):
    page.get_by_role("button", name="Insert a block").last.click()
    page.get_by_role("option", name=label, exact=True).click()


def test_editor_submits_moderator_approves_and_readers_find_the_post(
    browser_page, demo_site, settings
):
    # Autosave and editing-session pings write in the background while the test clicks; the
    # test database is an in-memory SQLite one whose table locks refuse concurrent writers.
    settings.WAGTAIL_AUTOSAVE_INTERVAL = 0
    settings.WAGTAIL_EDITING_SESSION_PING_INTERVAL = 3_600_000
    page = browser_page
    index = BlogIndexPage.objects.get()
    # The image chooser shows thumbnails; make them now, so that the live server's threads do
    # not all write renditions at once into the test's shared in-memory SQLite database.
    for image in get_image_model().objects.all():
        image.get_rendition("max-165x165")

    log_in(page, "editor@norm.local", "demo-editor-pass")
    page.goto(f"/admin/pages/add/blog/blogpostpage/{index.pk}/")
    page.fill("#id_title", TITLE)
    page.fill("#id_intro", "A short checklist that takes the drama out of month-end close.")
    insert_block(page, "Heading")
    page.fill("#body-0-value", "Start with the bank")
    insert_block(page, "Image")
    # The featured image has a "Choose an image" button too: wait until the new block's own
    # chooser exists, so that `.last` is the block's and not the featured image's.
    page.locator("#body-1-value-image").wait_for(state="attached")
    page.get_by_role("button", name="Choose an image").last.click()
    choice = page.locator(".modal a.image-choice").first
    choice.wait_for(state="visible")
    choice.click()
    page.locator(".modal").first.wait_for(state="hidden")
    page.fill("#body-1-value-alt_text", "A bar chart of closing times")
    insert_block(page, "Quote")
    page.fill("#body-2-value-quote", QUOTE)
    page.fill("#body-2-value-attribution", "Practice administrator, Ohio")
    # The chooser fills the block's hidden input once its "chosen" response arrives.
    expect(page.locator('input[name="body-1-value-image"]')).not_to_have_value("")
    # What search engines show; Wagtail's own checker asks for it before publishing.
    page.get_by_role("tab", name="Promote").click()
    page.fill("#id_search_description", "A month-end close checklist for practice managers.")
    page.get_by_role("tab", name="Content").click()
    assert_page_sound(page)
    screenshot(page, "blog-admin-editor-compose")
    # "Submit to Moderators approval" sits in the save button's drop-down menu.
    page.eval_on_selector('button[name="action-submit"]', "button => button.click()")
    page.wait_for_url(re.compile(r"/admin/pages/\d+/"))
    post = settled(page, lambda: BlogPostPage.objects.filter(title=TITLE).first())
    assert not post.live
    assert settled(page, lambda: post.current_workflow_state) is not None

    log_in(page, "moderator@norm.local", "demo-moderator-pass")
    page.goto("/admin/")
    assert_page_sound(page)
    page.goto(f"/admin/pages/{post.pk}/edit/")
    assert_page_sound(page)
    page.eval_on_selector(
        'button[data-workflow-action-name="approve"][data-workflow-action-modal-url]',
        "button => button.click()",
    )
    page.fill('.modal textarea[name="comment"]', "Clear and useful. Publishing it.")
    page.locator('.modal button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/pages/"))
    assert settled(page, lambda: BlogPostPage.objects.get(pk=post.pk).live)
    comment = settled(page, lambda: TaskState.objects.filter(comment__startswith="Clear").first())
    assert comment.status == TaskState.STATUS_APPROVED

    page.context.clear_cookies()
    page.goto("/articles/")
    page.get_by_role("link", name=TITLE).first.wait_for()
    assert_page_sound(page)
    rss = page.request.get("/articles/feed/rss/").text()
    atom = page.request.get("/articles/feed/atom/").text()
    assert TITLE in rss and TITLE in atom
    page.goto("/articles/search/?q=month-end")
    assert page.locator(".blog-result", has_text="Closing the Books").count() == 1
    assert_page_sound(page)

    page.get_by_role("link", name=re.compile("Closing the Books")).click()
    page.wait_for_url("**/articles/closing-the-books-faster-each-month/")
    expect(page.get_by_role("heading", name="Start with the bank")).to_be_visible()
    assert page.locator("figure.blog-figure picture img").get_attribute("alt") == (
        "A bar chart of closing times"
    )
    assert page.locator("figure.blog-quote blockquote").inner_text() == QUOTE
    assert_page_sound(page)
    screenshot(page, "blog-post-after-approval")
    # The reader on a phone: the new article and the index it sits in.
    page.set_viewport_size(PHONE)
    assert_page_sound(page)
    screenshot(page, "blog-post-after-approval-phone")
    page.goto("/articles/")
    assert_page_sound(page)
