"""Search by title, description and the file's own words; a members-only file's words are
searched only for those who may download it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from library.selectors import documents_search
from tests.factories import MemberFactory, UserFactory

from .helpers import category, make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    public = make_document(
        title="Intake form",
        members_only=False,
        filename="intake.pdf",
        lines=["List every medication, including supplements."],
    )
    locked = make_document(
        title="Appeal letter",
        members_only=True,
        filename="appeal.docx",
        description="For a denied prior authorization.",
        lines=["The patient has failed methotrexate at therapeutic doses."],
    )
    return public, locked


def _titles(response) -> str:
    return response.content.decode()


def test_anyone_finds_a_public_pdf_by_its_text(client, shelf):
    html = _titles(client.get(reverse("library:index"), {"q": "supplements"}))
    assert "Intake form" in html
    assert "1 document found" in html


def test_member_finds_a_members_only_docx_by_its_text(client, shelf):
    client.force_login(MemberFactory())
    html = _titles(client.get(reverse("library:index"), {"q": "methotrexate"}))
    assert "Appeal letter" in html


@pytest.mark.parametrize("role", ["anonymous", "non-member"])
def test_non_members_never_find_members_only_words(client, shelf, role):
    if role == "non-member":
        client.force_login(UserFactory())
    html = _titles(client.get(reverse("library:index"), {"q": "methotrexate"}))
    assert "Appeal letter" not in html
    assert "0 documents found" in html
    # ...but its title and description are public, so they find it by those.
    assert "Appeal letter" in _titles(client.get(reverse("library:index"), {"q": "denied"}))


def test_search_within_a_category(shelf):
    public, _locked = shelf
    forms = category("Forms")
    public.category = forms
    public.save()
    found = documents_search(user=MemberFactory(), query="form", category=forms)
    assert found == [public]


@pytest.mark.parametrize(
    "params",
    [
        {"q": '"'},
        {"q": "x" * 5000},
        {"q": "supplements", "page": "999999999"},
        {"page": "-1"},
        {"category": "no-such-shelf"},
        {"category": "x" * 500, "q": "a"},
    ],
)
def test_odd_queries_answer_200(client, shelf, params):
    assert client.get(reverse("library:index"), params).status_code == 200
