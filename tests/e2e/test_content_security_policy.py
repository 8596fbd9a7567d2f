"""The Content-Security-Policy blocks nothing the portal itself needs: public pages, a member's
pages, conference registration, the discussion archive and the Wagtail and Django admins load
in Chromium without a single violation."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from blog.models import BlogPostPage
from conferences.models import ConferencePage
from discussions.models import MailingList, Thread
from membership.access import may_reach_staff_area
from tests.conftest import second_factor_client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Runs before any page script; Playwright injects it outside the page's policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


def log_in(page, live_server, email):
    user = get_user_model().objects.get(email=email)
    # Past the second factor where the account can reach a staff area, as staff sign in.
    if may_reach_staff_area(user):
        client = second_factor_client(user)
    else:
        client = Client()
        client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def violations_on(page, paths):
    messages = []
    page.on(
        "console",
        lambda msg: messages.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(RECORD_VIOLATIONS)
    found = {}
    for path in paths:
        messages.clear()
        response = page.goto(path)
        assert response.status < 400, f"{path} answered {response.status}"
        assert "Content-Security-Policy" in {k.title() for k in response.headers}, path
        page.wait_for_load_state("networkidle")
        seen = page.evaluate("window.__cspViolations") + messages
        if seen:
            found[path] = seen
    return found


def test_public_and_member_pages_load_without_csp_violations(browser_page, live_server, demo_site):
    article = BlogPostPage.objects.live().first()
    conference = ConferencePage.objects.live().first()
    mailing_list = MailingList.objects.first()
    thread = Thread.objects.filter(mailing_list=mailing_list).first()
    public = ["/", "/articles/", article.url, conference.url, "/membership/", "/membership/join/"]
    page = browser_page

    assert violations_on(page, public) == {}

    log_in(page, live_server, "member@norm.local")
    member = [
        article.url,
        "/membership/account/",
        "/membership/directory/",
        f"/conferences/{conference.pk}/register/",
        "/discussions/",
        mailing_list.get_absolute_url(),
        *([thread.get_absolute_url()] if thread else []),
        "/membership/welcome/",
        "/accounts/email/",
    ]
    assert violations_on(page, member) == {}


def test_wagtail_and_django_admin_load_without_csp_violations(
    browser_page, live_server, demo_site, settings
):
    settings.WAGTAIL_AUTOSAVE_INTERVAL = 0
    settings.WAGTAIL_EDITING_SESSION_PING_INTERVAL = 3_600_000
    article = BlogPostPage.objects.live().first()
    page = browser_page
    log_in(page, live_server, "staff@norm.local")

    found = violations_on(
        page,
        [
            "/admin/",
            f"/admin/pages/{article.pk}/edit/",
            f"/admin/pages/{article.get_parent().pk}/",
            "/admin/images/",
            "/django-admin/",
            # An editor's view of the site, with Wagtail's user bar.
            article.url,
        ],
    )

    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())
