"""The pages added for committee lists, private replies and following the blog, in Chromium at
desk and phone size: axe-core finds nothing and nothing overflows. Screenshots go to
var/screenshots/ for a person to look at."""

import pytest

from discussions.models import JoinRequest, MailingList
from discussions.services import message_post_web
from tests.conftest import screenshot
from tests.discussions.helpers import make_list, subscribe
from tests.e2e.page_checks import DESK, PHONE, assert_page_sound
from tests.factories import TEST_PASSWORD, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _login(page, email):
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_new_pages_are_sound_at_desk_and_phone_size(browser_page):
    from tests.blog.factories import make_category, make_post

    board = make_list(
        name="Board", slug="board", description="The board.", joining=MailingList.Joining.REQUEST
    )
    moderator = MemberFactory(first_name="Mo", last_name="Derator")
    board.moderators.add(moderator)
    subscribe(board, moderator)
    author = MemberFactory(first_name="Ann", last_name="Author")
    subscribe(board, author)
    post = message_post_web(user=author, mailing_list=board, subject="Budget", text="Agenda.")
    JoinRequest.objects.create(user=MemberFactory(), mailing_list=board, note="Treasurer")
    asker = MemberFactory()
    make_category("Coding")
    article = make_post(title="Share this article")

    page = browser_page
    pages = [("follow-anonymous", "/follow/"), ("article-share", article.url)]
    visits = [(None, pages)]
    visits.append(
        (
            moderator.email,
            [
                ("list-members", "/discussions/board/members/"),
                (
                    "reply-to-author",
                    f"/discussions/board/{post.thread_id}/{post.pk}/reply-to-author/",
                ),
                ("thread-with-reply-button", post.thread.get_absolute_url()),
                ("follow-member", "/follow/"),
            ],
        )
    )
    visits.append((asker.email, [("join-by-request", "/discussions/board/")]))
    for email, urls in visits:
        if email:
            page.context.clear_cookies()
            _login(page, email)
        for name, url in urls:
            for size_name, size in (("desk", DESK), ("phone", PHONE)):
                page.set_viewport_size(size)
                page.goto(url)
                assert page.locator("h1").count() >= 1, url
                screenshot(page, f"lists-{name}-{size_name}")
                assert_page_sound(page)
