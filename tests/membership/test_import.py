"""Importing members from a CSV: the service, the command and the messy files staff bring."""

import csv
import io
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils.timezone import localtime

from membership.models import Membership, Notice, Seat, StateChange
from membership.services import importing
from tests.factories import (
    MembershipFactory,
    PlanFactory,
    PracticePlanFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

User = get_user_model()

MESSY = (
    "email,first_name,last_name,plan,status,member_since,paid_through,practice,practice_admin_email\r\n"
    " Ada.Lovelace@Example.ORG ,Ada,Lovelace,Individual,active,2019-03-01,2027-02-28,,\r\n"
    "ada.lovelace@example.org,Ada,Again,Individual,active,2019-03-01,2027-02-28,,\r\n"
    "bad-date@example.org,Bea,Date,Individual,active,2019-03-01,31/31/2027,,\r\n"
    "unknown-plan@example.org,Una,Plan,Platinum,active,2019-03-01,2027-02-28,,\r\n"
    '=HYPERLINK("http://evil"),X,Y,Individual,active,,2027-02-28,,\r\n'
    "formula@example.org,=1+1,@SUM(A1),Individual,active,,2027-02-28,,\r\n"
    "grace.hopper@example.org,Grace,Hopper,Practice,active,06/15/2021,06/14/2027,"
    "Hopper Family Medicine,\r\n"
    "alan.turing@example.org,Alan,Turing,,,,,,grace.hopper@example.org\r\n"
    "edith.clarke@example.org,Édith,Clarke,individual,Expired,2015-01-10,2025-01-09,,\r\n"
    "nobody@example.org,No,Body,Individual,active,,,,\r\n"
    "\r\n"
)


@pytest.fixture
def plans():
    return PlanFactory(), PracticePlanFactory()


def _run(data: bytes, **kwargs):
    return importing.import_members(io.BytesIO(data), **kwargs)


def _outcomes(report):
    return {r.row: (r.email, r.outcome, r.detail) for r in report.rows}


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-8", "latin-1"], ids=["utf8-bom", "utf8", "latin1"]
)
def test_a_messy_file_is_reported_row_by_row_and_nothing_wrong_is_imported(plans, encoding):
    data = MESSY.encode(encoding)

    dry = _run(data, dry_run=True)

    assert User.objects.count() == 0 and Membership.objects.count() == 0  # rolled back
    rows = _outcomes(dry)
    assert rows[2] == ("ada.lovelace@example.org", "created", "Individual, active")
    assert rows[3][1:] == ("skipped", "the same email as row 2")
    assert rows[4][1] == "skipped" and "'31/31/2027' is not a date" in rows[4][2]
    assert rows[5][1] == "skipped" and "unknown plan 'Platinum'" in rows[5][2]
    assert rows[6][1] == "skipped" and "is not an email address" in rows[6][2]
    assert rows[7][1] == "created"
    assert rows[8][1] == "created"
    assert rows[9] == ("alan.turing@example.org", "created", "a seat on Hopper Family Medicine")
    assert rows[10][1] == "created"
    assert rows[11][1] == "skipped" and "needs a paid-through date" in rows[11][2]
    assert 12 not in rows  # the blank line is not a row
    assert dry.counts == {"created": 5, "updated": 0, "unchanged": 0, "skipped": 5}
    # Latin-1 letters are Windows-1252 ones too, which Excel on Windows writes.
    assert dry.encoding == ("cp1252" if encoding == "latin-1" else "utf-8-sig")

    real = _run(data)

    assert [(r.row, r.outcome, r.detail) for r in real.rows] == [
        (r.row, r.outcome, r.detail) for r in dry.rows
    ]
    ada = User.objects.get(email="ada.lovelace@example.org")
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert not ada.has_usable_password()
    assert EmailAddress.objects.filter(user=ada, verified=False, primary=True).exists()
    m = Membership.objects.get(user=ada)
    assert m.state == "active" and m.is_live and not m.auto_renew
    assert localtime(m.current_period_end).date().isoformat() == "2027-02-28"
    assert m.access_ends_at == m.current_period_end + timedelta(days=30)
    assert localtime(m.started_at).date().isoformat() == "2019-03-01"
    formula = User.objects.get(email="formula@example.org")
    assert (formula.first_name, formula.last_name) == ("=1+1", "@SUM(A1)")  # text, as written
    grace = Membership.objects.get(user__email="grace.hopper@example.org")
    assert grace.practice.name == "Hopper Family Medicine"
    assert set(Seat.objects.filter(membership=grace).values_list("email", flat=True)) == {
        "grace.hopper@example.org",
        "alan.turing@example.org",
    }
    assert Seat.objects.get(email="alan.turing@example.org").user.email == "alan.turing@example.org"
    edith = Membership.objects.get(user__email="edith.clarke@example.org")
    assert edith.state == "lapsed" and not edith.is_live
    assert edith.user.first_name == "Édith"
    assert StateChange.objects.filter(reason__startswith="imported").count() == 4
    assert not Notice.objects.exists()  # no mail unless asked

    again = _run(data)

    assert again.counts == {"created": 0, "updated": 0, "unchanged": 5, "skipped": 5}
    assert User.objects.count() == 5 and Seat.objects.count() == 2
    assert StateChange.objects.count() == 4


def test_an_update_changes_what_the_file_says_and_keeps_the_rest(plans):
    member = MembershipFactory(
        user=UserFactory(email="known@example.org", first_name="Kay"), state="lapsed"
    )
    data = b"Email,Plan,Status,Paid through\nKNOWN@example.org,Individual,active,2027-05-01\n"

    report = _run(data)

    assert _outcomes(report)[2][:2] == ("known@example.org", "updated")
    assert "status" in report.rows[0].detail
    member.refresh_from_db()
    assert member.state == "active" and member.user.first_name == "Kay"
    assert member.user.has_usable_password()  # an existing account keeps its password
    assert _run(data).counts["unchanged"] == 1


def test_a_membership_billed_through_stripe_is_left_to_stripe(plans):
    MembershipFactory(
        user=UserFactory(email="paying@example.org"),
        stripe_subscription_id="sub_123",
        stripe_subscription_status="active",
    )
    report = _run(
        b"email,plan,status,paid_through\npaying@example.org,Individual,lapsed,2020-01-01\n"
    )

    assert report.rows[0].outcome == "skipped"
    assert "billed through Stripe" in report.rows[0].detail
    assert Membership.objects.get().state == "active"


def test_seats_stop_at_the_plans_seats(plans):
    plans[1].seats = 2
    plans[1].save()
    data = (
        b"email,plan,status,paid_through,practice,practice_admin_email\n"
        b"boss@example.org,Practice,active,2027-01-01,Clinic,\n"
        b"one@example.org,,,,,boss@example.org\n"
        b"two@example.org,,,,,boss@example.org\n"
        b"orphan@example.org,,,,,nobody@example.org\n"
    )

    rows = _outcomes(_run(data))

    assert rows[3][1] == "created"
    assert rows[4][1] == "skipped" and rows[4][2] == "all 2 seats of Clinic are taken"
    assert rows[5][1] == "skipped" and "has no practice membership" in rows[5][2]
    assert Seat.objects.count() == 2


def test_wild_apricot_and_civicrm_exports_are_mapped_by_their_headings(plans):
    from django.conf import settings

    folder = settings.BASE_DIR / "membership" / "import_templates"
    wa = importing.import_members((folder / "wild_apricot_example.csv").open("rb"))
    assert wa.source == "Wild Apricot"
    assert wa.counts == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 0}
    civi = importing.import_members((folder / "civicrm_example.csv").open("rb"))
    assert civi.source == "CiviCRM"
    assert civi.counts == {"created": 0, "updated": 0, "unchanged": 3, "skipped": 0}
    template = importing.import_members((folder / "members.csv").open("rb"))
    assert template.source == "Guildhall template"
    assert template.counts["unchanged"] == 4
    assert Membership.objects.get(user__email="edith.clarke@example.org").state == "lapsed"


def test_a_file_above_the_limit_is_refused_before_reading(plans, tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.write(b"email,plan\n")
        out.truncate(50 * 1024 * 1024)  # 50 MB

    with pytest.raises(CommandError, match=r"The file is 50.0 MB; imports take at most 20 MB"):
        call_command("import_members", str(big))
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"name,plan\nAda,Individual\n", "No column holds email addresses"),
        (b"email,plan\n" + b'"' + b"x" * 200_000 + b'"\n', "is not valid CSV"),
    ],
    ids=["empty", "no-email-column", "giant-cell"],
)
def test_files_that_cannot_be_read_are_refused_with_a_reason(plans, data, message):
    with pytest.raises(importing.ImportRefused, match=message):
        _run(data)
    assert not User.objects.exists()


def test_the_command_prints_every_row_and_writes_a_formula_safe_report(plans, tmp_path):
    source = tmp_path / "members.csv"
    source.write_bytes(MESSY.encode("utf-8-sig"))
    report = tmp_path / "report.csv"
    out = io.StringIO()

    call_command("import_members", str(source), "--dry-run", f"--report={report}", stdout=out)

    text = out.getvalue()
    assert "row 2 ada.lovelace@example.org created: Individual, active" in text
    assert "row 3 ada.lovelace@example.org skipped: the same email as row 2" in text
    assert "Dry run. 10 rows: 5 created, 0 updated, 0 unchanged, 5 skipped" in text
    assert not User.objects.exists()
    rows = list(csv.reader(report.open(newline="")))
    assert rows[0] == ["Row", "Email", "Outcome", "Detail"]
    assert rows[5][:3] == ["6", '\'=hyperlink("http://evil")', "skipped"]  # inert in a sheet


def test_invitations_are_sent_only_when_asked_and_once(
    plans, tmp_path, celery_worker, smtp_server, client
):
    source = tmp_path / "members.csv"
    source.write_bytes(MESSY.encode())

    call_command("import_members", str(source), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_members", str(source), "--send-invitations", stdout=out)

    assert "5 invitations queued." in out.getvalue()
    mails = smtp_server.wait_for(5)
    alan = next(m for m in mails if m.rcpt_tos == ["alan.turing@example.org"])
    body = alan.message.get_body(("plain",)).get_content()
    assert body.startswith("Dear Alan,")
    link = next(word for word in body.split() if "/accounts/password/reset/key/" in word)
    call_command("import_members", str(source), "--send-invitations", stdout=out)
    assert "0 invitations queued." in out.getvalue()

    # Claiming: the link sets a password, which also verifies the one address; then log in.
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = client.get("/" + path, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else "/" + path,
        {"password1": "a-long-new-passphrase", "password2": "a-long-new-passphrase"},
    )
    assert response.status_code == 302
    alan_user = User.objects.get(email="alan.turing@example.org")
    assert alan_user.has_usable_password()
    assert EmailAddress.objects.get(user=alan_user).verified
    assert client.login(username=alan_user.username, password="a-long-new-passphrase")
    assert len(smtp_server.received) == 5  # the third run sent nothing
