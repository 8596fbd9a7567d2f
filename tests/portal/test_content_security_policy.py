"""The Content-Security-Policy header, directive by directive (the browser test in
tests/e2e/test_content_security_policy.py shows the pages still work under it)."""

import pytest
from django.contrib.auth.models import Group

from blog.models import BlogPostPage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_every_page_forbids_inline_scripts_plugins_and_framing(client, demo_site):
    for url in ["/", "/articles/", "/membership/join/", "/accounts/login/", "/no-such-page/"]:
        csp = policy(client.get(url))

        assert csp["default-src"] == ["'self'"], url
        assert csp["script-src"] == ["'self'"], url
        assert csp["style-src"] == ["'self'"], url
        assert csp["img-src"] == ["'self'", "data:"], url
        assert csp["object-src"] == ["'none'"], url
        assert csp["base-uri"] == ["'self'"], url
        assert csp["frame-ancestors"] == ["'none'"], url


def test_cached_pages_are_replayed_with_the_policy(client, demo_site):
    client.get("/")
    replay = client.get("/")

    assert replay["X-Page-Cache"] == "hit"
    assert policy(replay)["script-src"] == ["'self'"]


def test_forms_may_lead_to_the_stand_ins_checkout_or_to_stripes(client, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_API_BASE = "http://127.0.0.1:12111"
    assert policy(client.get("/accounts/login/"))["form-action"] == [
        "'self'",
        "http://127.0.0.1:12111",
    ]

    settings.STRIPE_SECRET_KEY = "sk_live_made-up-key"
    assert policy(client.get("/accounts/login/"))["form-action"] == [
        "'self'",
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ]


def test_only_the_wagtail_admin_may_run_inline_code(client, mfa_client):
    editor = UserFactory()
    editor.groups.add(Group.objects.get(name="Editors"))
    mfa_client(editor, client)

    wagtail_admin = policy(client.get("/admin/"))
    django_admin = policy(client.get("/django-admin/login/", follow=True))

    assert "'unsafe-inline'" in wagtail_admin["script-src"]
    assert "'unsafe-inline'" not in django_admin["script-src"]


def test_wagtail_preview_may_be_framed_by_the_editor_only(client, demo_site, mfa_client):
    article = BlogPostPage.objects.live().first()
    editor = UserFactory(is_superuser=True, is_staff=True)
    mfa_client(editor, client)

    response = client.get(f"/admin/pages/{article.pk}/edit/preview/?mode=")

    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert policy(response)["frame-ancestors"] == ["'self'"]
