"""Consent categories: one-click unsubscribe per category (RFC 8058), a tampered token changes
nothing, and members choose their categories on the account page."""

import pytest
from django.test import Client
from django.urls import reverse

from portal import consent
from portal.models import ConsentCategory, ConsentOptOut
from tests.factories import MemberFactory

NEWS = ConsentCategory.ASSOCIATION_NEWS


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.mark.django_db
def test_one_click_post_without_cookies_or_csrf_unsubscribes_from_that_category_only():
    url = consent.unsubscribe_url("Ana@Example.org", NEWS)
    assert url.startswith("http")
    client = Client(enforce_csrf_checks=True)  # a mail provider's server: no cookie, no token
    response = client.post(
        _path(url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not consent.allows("ana@example.org", NEWS)
    assert consent.allows("ana@example.org", ConsentCategory.NEW_ARTICLES)
    # A second click is harmless.
    assert client.post(_path(url)).status_code == 200
    assert ConsentOptOut.objects.count() == 1


@pytest.mark.django_db
def test_a_get_only_asks():
    url = consent.unsubscribe_url("bo@example.org", ConsentCategory.CONFERENCE_NEWS)
    page = Client().get(_path(url))
    assert page.status_code == 200
    assert "Stop conference news?" in page.content.decode()
    assert consent.allows("bo@example.org", ConsentCategory.CONFERENCE_NEWS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: "x" + t,  # the value
        lambda t: t.split(":")[0],  # no signature at all
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_token_is_a_400_and_changes_nothing(tamper):
    token = consent.unsubscribe_token("cy@example.org", NEWS)
    path = reverse("consent-unsubscribe", kwargs={"token": tamper(token)})
    for method in ("get", "post"):
        response = getattr(Client(), method)(path)
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert not ConsentOptOut.objects.exists()


@pytest.mark.django_db
def test_a_token_for_another_category_or_address_cannot_be_forged():
    import django.core.signing as signing

    forged = signing.Signer(salt="some.other.salt").sign_object(["new_articles", "d@example.org"])
    with pytest.raises(signing.BadSignature):
        consent.token_read(forged)
    wrong_kind = signing.Signer(salt="portal.consent.unsubscribe").sign_object(
        ["receipts", "d@x.org"]
    )
    with pytest.raises(signing.BadSignature):
        consent.token_read(wrong_kind)


@pytest.mark.django_db
def test_members_choose_their_categories_on_the_account_page(client):
    member = MemberFactory(email="dee@example.org")
    client.force_login(member)
    page = client.get(reverse("membership:account")).content.decode()
    assert "Mail from us" in page
    assert page.count('type="checkbox" name="category"') == 3
    assert page.count(" checked") == 3
    response = client.post(reverse("consent-preferences"), {"category": ["new_articles"]})
    assert response.status_code == 302
    assert not consent.allows(member, NEWS)
    assert not consent.allows(member, ConsentCategory.CONFERENCE_NEWS)
    assert consent.allows(member, ConsentCategory.NEW_ARTICLES)
    page = client.get(reverse("membership:account")).content.decode()
    assert page.count(" checked") == 1
    # Everything back on.
    client.post(
        reverse("consent-preferences"),
        {"category": ["new_articles", "association_news", "conference_news"]},
    )
    assert consent.opted_out_by(member) == set()
    # A category that does not exist is a 400 and changes nothing.
    assert client.post(reverse("consent-preferences"), {"category": ["spam"]}).status_code == 400
    assert consent.opted_out_by(member) == set()


@pytest.mark.django_db
def test_the_preferences_form_needs_a_login(client):
    response = client.post(reverse("consent-preferences"), {"category": []})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not ConsentOptOut.objects.exists()
