"""The transcript (page, PDF, CSV) and the staff tools in the Wagtail admin: certificates
revoked and reissued, hours from outside events."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from education import services
from education.models import Certificate, CreditRecord, CreditType
from tests.factories import MemberFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _grant(member, ref, title, code, hours, on, kind="session"):
    return services.credit_grant(
        member=member,
        source_kind=kind,
        source_ref=ref,
        credit_type=CreditType.objects.get(code=code),
        hours=Decimal(hours),
        earned_on=on,
        title=title,
        provider="NORM Annual Conference",
    )


@pytest.fixture
def history():
    member = MemberFactory(first_name="Maria", last_name="Lopez")
    _grant(member, "session:1", "Coding update", "CRMS", "1.5", date(2025, 4, 10))
    _grant(member, "session:2", '=HYPERLINK("http://x")', "CMPM", "1", date(2026, 4, 9))
    _grant(member, "course:3", "Front desk basics", "CEU", "2", date(2026, 6, 1), kind="course")
    _grant(member, "outside:webinar", "ACR webinar", "CEU", "1", date(2026, 2, 1), kind="outside")
    return member


def test_transcript_page_by_year_with_totals(client, history):
    client.force_login(history)
    body = client.get("/education/transcript/").content.decode()
    assert body.index("2026") < body.index("2025")
    for text in ["Coding update", "Front desk basics", "ACR webinar", "Course", "Outside event"]:
        assert text in body
    assert "2026 totals: CMPM 1.00 · CEU 3.00" in body
    assert "CRMS 1.50 · CMPM 1.00 · CEU 3.00" in body


def test_transcript_pdf_and_csv(client, history):
    client.force_login(history)
    pdf = client.get("/education/transcript.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Maria Lopez" in text and "Coding update" in text and "CEU 3.00" in text
    response = client.get("/education/transcript.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Date", "Source", "Title", "Provider", "Credit type", "Hours"]
    titles = [row[2] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in titles  # never a spreadsheet formula
    assert len(rows) == 5


def test_transcript_is_private(client, history):
    for url in ["/education/transcript/", "/education/transcript.pdf", "/education/transcript.csv"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(MemberFactory())
    assert "Coding update" not in client.get("/education/transcript/").content.decode()
    rows = list(csv.reader(io.StringIO(client.get("/education/transcript.csv").content.decode())))
    assert len(rows) == 1


def test_admin_revoke_and_reissue(mfa_client, history):
    certificate, _ = services.certificate_issue(
        member=history,
        source_kind="conference",
        source_ref="conference:9",
        title="NORM Annual Conference 2025",
        hours={"CRMS": Decimal("1.5")},
        earned_on=date(2025, 4, 11),
        mail=False,
    )
    client = mfa_client(StaffFactory(is_superuser=True))
    url = f"/admin/education/certificates/{certificate.pk}/"
    assert client.get("/admin/education/certificates/?q=lopez").status_code == 200
    assert client.post(url, {"action": "revoke", "reason": ""}).status_code == 400
    assert client.post(url, {"action": "bogus"}).status_code == 400
    assert client.post(url, {"action": "revoke", "reason": "Issued in error"}).status_code == 302
    certificate.refresh_from_db()
    assert not certificate.is_valid and certificate.revoke_reason == "Issued in error"
    response = client.post(url, {"action": "reissue", "holder_name": "Maria L. Lopez"})
    assert response.status_code == 302
    new = Certificate.objects.get(revoked_at__isnull=True)
    assert new.reissued_from == certificate and new.holder_name == "Maria L. Lopez"
    assert client.post(url, {"action": "reissue"}).status_code == 400  # only once


def test_admin_outside_hours(mfa_client, history):
    client = mfa_client(StaffFactory(is_superuser=True))
    data = {
        "member_email": history.email.upper(),
        "title": "AAPM spring meeting",
        "provider": "AAPM",
        "reference": "2026-05 AAPM",
        "credit_type": CreditType.objects.get(code="CMPM").pk,
        "hours": "3.5",
        "earned_on": "2026-05-02",
    }
    assert client.post("/admin/education/outside-hours/", data).status_code == 302
    assert client.post("/admin/education/outside-hours/", data).status_code == 302
    assert (
        CreditRecord.objects.filter(source_kind="outside", title="AAPM spring meeting").count() == 1
    )
    for bad in [{"hours": "-1"}, {"hours": "abc"}, {"member_email": "nobody@x.example"}]:
        assert client.post("/admin/education/outside-hours/", {**data, **bad}).status_code == 400


@pytest.mark.parametrize("who", ["member", "anonymous"])
def test_admin_tools_are_staff_only(client, mfa_client, who, history):
    if who == "member":
        client = mfa_client(history)
    for url in ["/admin/education/certificates/", "/admin/education/outside-hours/"]:
        assert client.get(url).status_code in {302, 403}
