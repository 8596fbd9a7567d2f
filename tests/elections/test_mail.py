"""The four election mails go to each person once, through a real worker and a real SMTP
server, however often the beat task runs; the reminder skips those who voted."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from elections import services, tasks
from elections.models import Election, MailLedger
from membership.models import Membership
from tests.elections.conftest import add_candidate, add_office, form, make_election
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _by_kind(smtp_server):
    found: dict[str, list[str]] = {}
    for mail in smtp_server.received:
        subject = str(mail.message["Subject"])
        kind = subject.split(":")[0]
        found.setdefault(kind, []).extend(mail.rcpt_tos)
    return found


def _settle(smtp_server, expected: int):
    smtp_server.wait_for(expected)
    time.sleep(1.0)  # anything doubled would arrive now
    assert len(smtp_server.received) == expected


def test_each_mail_goes_once_per_person(celery_worker, smtp_server):
    now = timezone.now()
    ada = MemberFactory(email="ada@example.org")
    MemberFactory(email="ben@example.org")
    MemberFactory(email="gone@example.org", membership__state=Membership.State.LAPSED)
    election = make_election("nominations", title="Board 2027")

    tasks.elections_tick()
    tasks.elections_tick()
    _settle(smtp_server, 2)
    assert sorted(_by_kind(smtp_server)["Nominations are open"]) == [
        "ada@example.org",
        "ben@example.org",
    ]

    # Voting opens (close in a day, so the reminder is due at once as well).
    office = add_office(election)
    candidate = add_candidate(office, "Cy")  # a member too, now on the roll
    Election.objects.filter(pk=election.pk).update(
        nominations_open_at=now - timedelta(days=5),
        nominations_close_at=now - timedelta(days=3),
        eligibility_cutoff=now - timedelta(days=2),
        voting_open_at=now - timedelta(days=1),
        voting_close_at=now + timedelta(hours=20),
    )
    election.refresh_from_db()
    services.roll_freeze(election)
    services.ballot_cast(
        election=election, user=ada, data=form(**{f"office-{office.pk}": candidate.key})
    )
    tasks.elections_tick()
    tasks.elections_tick()
    _settle(smtp_server, 2 + 3 + 2)
    kinds = _by_kind(smtp_server)
    assert len(kinds["Voting is open"]) == 3
    assert sorted(kinds["Reminder"]) == sorted(["ben@example.org", candidate.nominee.email])
    opening = next(m for m in smtp_server.received if "Voting is open" in str(m.message["Subject"]))
    body = opening.message.get_body(preferencelist=("plain",)).get_content()
    assert "/vote/link/" in body

    Election.objects.filter(pk=election.pk).update(voting_close_at=timezone.now())
    tasks.elections_tick()
    tasks.elections_tick()
    _settle(smtp_server, 7 + 3)
    assert len(_by_kind(smtp_server)["Results"]) == 3
    election.refresh_from_db()
    assert election.closed_at and election.results[str(office.pk)]["elected"] == [candidate.key]
    assert MailLedger.objects.filter(election=election, sent_at__isnull=True).count() == 0
    assert MailLedger.objects.filter(election=election, kind="reminder", skipped=True).count() == 0
