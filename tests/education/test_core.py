"""The credit ledger and certificates: a grant is idempotent, a certificate is issued once per
source, revoked and reissued, and `/verify/<number>/` tells valid, revoked and forged apart."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from pypdf import PdfReader

from education import documents, services
from education.models import Certificate, CreditRecord, CreditType
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _issue(member, **kwargs):
    defaults = {
        "member": member,
        "source_kind": "conference",
        "source_ref": "conference:1",
        "title": "NORM Annual Conference 2026",
        "hours": {"CRMS": Decimal("3.5"), "CEU": Decimal("2")},
        "earned_on": date(2026, 10, 2),
        "items": ["Coding update", "Prior authorizations"],
        "mail": False,
    }
    defaults.update(kwargs)
    return services.certificate_issue(**defaults)


def test_credit_types_are_data():
    assert set(CreditType.objects.values_list("code", flat=True)) >= {"CRMS", "CMPM", "CEU"}


def test_a_grant_is_idempotent():
    member = UserFactory()
    crms = CreditType.objects.get(code="CRMS")
    args = {
        "member": member,
        "source_kind": "session",
        "source_ref": "session:7",
        "credit_type": crms,
        "hours": Decimal("1.5"),
        "earned_on": date(2026, 10, 1),
        "title": "Coding update",
    }
    first, created = services.credit_grant(**args)
    again, created_again = services.credit_grant(**{**args, "hours": Decimal("9")})
    assert created and not created_again
    assert again.pk == first.pk and again.hours == Decimal("1.50")
    assert CreditRecord.objects.count() == 1


def test_a_grant_refuses_nonsense():
    with pytest.raises(services.Refusal):
        services.credit_grant(
            member=UserFactory(),
            source_kind="bogus",
            source_ref="x",
            credit_type=CreditType.objects.first(),
            hours=Decimal("1"),
            earned_on=date(2026, 1, 1),
            title="x",
        )


def test_certificate_issued_once_per_source():
    member = UserFactory(first_name="Maria", last_name="Lopez")
    first, created = _issue(member)
    again, created_again = _issue(member)
    assert created and not created_again and first.pk == again.pk
    assert first.holder_name == "Maria Lopez"
    assert first.hours == {"CRMS": "3.50", "CEU": "2.00"}
    assert first.number.startswith("CE-") and len(first.number) == 13


def test_verify_valid_revoked_forged(client):
    member = UserFactory(first_name="Maria", last_name="Lopez")
    certificate, _ = _issue(member)
    page = client.get(f"/verify/{certificate.number}/")
    assert page.status_code == 200
    assert b"Valid" in page.content and b"Maria Lopez" in page.content
    assert b"CRMS: 3.50" in page.content

    assert client.get(f"/verify/{certificate.number.lower()}/").status_code == 200

    forged = client.get("/verify/CE-AAAAAAAAAA/")
    assert forged.status_code == 404 and b"Not valid" in forged.content
    for junk in ["x" * 300, "CE-%3Cscript%3E", "%20"]:
        response = client.get(f"/verify/{junk}/")
        assert response.status_code == 404 and b"Not valid" in response.content

    services.certificate_revoke(certificate=certificate, by=StaffFactory(), reason="Wrong name")
    revoked = client.get(f"/verify/{certificate.number}/")
    assert revoked.status_code == 200 and b"Revoked" in revoked.content
    assert b"Valid:" not in revoked.content


def test_reissue_revokes_and_issues_a_new_number():
    staff = StaffFactory()
    certificate, _ = _issue(UserFactory())
    new = services.certificate_reissue(certificate=certificate, by=staff, holder_name="María López")
    certificate.refresh_from_db()
    assert not certificate.is_valid and new.is_valid
    assert new.number != certificate.number and new.reissued_from == certificate
    assert new.holder_name == "María López" and new.hours == certificate.hours
    with pytest.raises(services.Refusal):
        services.certificate_reissue(certificate=certificate, by=staff)
    assert Certificate.objects.filter(revoked_at__isnull=True).count() == 1


def test_certificate_pdf_holds_the_facts():
    certificate, _ = _issue(UserFactory(first_name="Maria", last_name="Lopez"))
    text = "".join(
        page.extract_text()
        for page in PdfReader(BytesIO(documents.certificate_pdf(certificate))).pages
    )
    for expected in [
        "Maria Lopez",
        "NORM Annual Conference 2026",
        "CRMS",
        "3.50",
        certificate.number,
        f"/verify/{certificate.number}/",
        "Coding update",
    ]:
        assert expected in text


def test_only_the_member_and_staff_open_the_pdf(client):
    member = UserFactory()
    certificate, _ = _issue(member)
    url = f"/education/certificates/{certificate.number}.pdf"
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
