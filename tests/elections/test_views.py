"""The pages over HTTP, per role: refusals are 4xx with their reason and change nothing;
results and the export appear only at the close; staff see turnout, never choices."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from elections import services
from elections.models import AuditEntry, Ballot, Election, Nomination, Participation
from membership.models import Membership
from tests.elections.conftest import add_candidate, add_office, form, make_election
from tests.factories import MemberFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def voting():
    election = make_election("voting")
    office = add_office(election)
    candidate = add_candidate(office, "Ada")
    return election, office, candidate


def _vote(client, election, office, candidate, url=None):
    url = url or reverse("elections:vote", args=[election.slug])
    return client.post(url, {f"office-{office.pk}": candidate.key})


def test_a_member_votes_by_signed_link_and_the_second_use_is_refused(client, voting):
    election, office, candidate = voting
    voter = MemberFactory()
    url = reverse("elections:vote-link", args=[election.slug, services.link_for(election, voter)])
    assert client.get(url).status_code == 200
    first = _vote(client, election, office, candidate, url)
    assert first.status_code == 200
    receipt = first.context["receipt"]
    assert receipt in first.content.decode()
    assert receipt not in str(dict(client.session))
    again = client.get(url)
    assert again.status_code == 409 and b"voted in this election already" in again.content
    assert _vote(client, election, office, candidate, url).status_code == 409
    assert Ballot.objects.filter(election=election).count() == 1


def test_a_lapsed_member_gets_a_403_with_the_reason(client, voting):
    election, office, candidate = voting
    lapsed = MemberFactory(membership__state=Membership.State.LAPSED)
    client.force_login(lapsed)
    response = _vote(client, election, office, candidate)
    assert response.status_code == 403
    assert b"active on" in response.content
    assert not Participation.objects.exists()


def test_a_tampered_form_gets_a_400_and_changes_nothing(client, voting):
    election, office, _ = voting
    client.force_login(MemberFactory())
    response = client.post(
        reverse("elections:vote", args=[election.slug]), {f"office-{office.pk}": "n999999"}
    )
    assert response.status_code == 400 and b"not a candidate" in response.content
    assert not Ballot.objects.exists()


def test_a_ballot_after_the_close_gets_a_409(client, voting):
    election, office, candidate = voting
    client.force_login(MemberFactory())
    election.voting_close_at = timezone.now() - timedelta(minutes=1)
    election.save()
    response = _vote(client, election, office, candidate)
    assert response.status_code == 409 and b"closed" in response.content
    assert not Ballot.objects.exists()


def test_a_bad_link_gets_a_400(client, voting):
    election, *_ = voting
    response = client.get(reverse("elections:vote-link", args=[election.slug, "forged"]))
    assert response.status_code == 400


def test_no_results_or_export_while_voting_is_open(client, voting):
    election, office, candidate = voting
    client.force_login(MemberFactory())
    _vote(client, election, office, candidate)
    pending = client.get(reverse("elections:results", args=[election.slug]))
    assert pending.status_code == 200 and b"Nobody, staff included" in pending.content
    assert client.get(reverse("elections:export", args=[election.slug])).status_code == 404


def test_results_receipt_check_and_export_after_the_close(client, voting):
    election, office, candidate = voting
    client.force_login(MemberFactory())
    receipt = _vote(client, election, office, candidate).context["receipt"]
    election.voting_close_at = timezone.now()
    election.save()
    services.election_close(election)
    page = client.get(reverse("elections:results", args=[election.slug]), {"receipt": receipt})
    assert page.status_code == 200
    assert b"was counted" in page.content and b"Ada Candidate" in page.content
    export = client.get(reverse("elections:export", args=[election.slug])).json()
    assert export["ballots"][0]["receipt"] == receipt


def test_staff_overview_shows_turnout_not_choices_and_reviews_are_audited(mfa_client, voting):
    election, office, _ = voting
    staff = StaffFactory(is_superuser=True)
    voter = MemberFactory()
    services.ballot_cast(
        election=election,
        user=voter,
        data=form(),  # an abstaining ballot
    )
    pending = add_candidate(office, "Ben", status=Nomination.Status.AWAITING_STAFF)
    client = mfa_client(staff)
    page = client.get(reverse("elections_overview_detail", args=[election.pk]))
    assert page.status_code == 200
    assert "1 of" in page.content.decode()
    receipt = Ballot.objects.get().receipt_code
    assert receipt not in page.content.decode()
    # Voting is open, so the ballot can no longer change: the refusal is shown, nothing moves.
    client.post(reverse("elections_nomination_review", args=[pending.pk]), {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == Nomination.Status.AWAITING_STAFF


def test_staff_approve_before_voting_and_it_is_audited(mfa_client, staff):
    election = make_election("nominations")
    office = add_office(election)
    pending = add_candidate(office, "Ben", status=Nomination.Status.AWAITING_STAFF)
    client = mfa_client(staff)
    response = client.post(
        reverse("elections_nomination_review", args=[pending.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Nomination.Status.APPROVED
    entry = AuditEntry.objects.get(election=election)
    assert entry.actor == staff and entry.action == "nomination approved"


def test_members_cannot_reach_the_staff_overview(client, voting):
    election, *_ = voting
    client.force_login(MemberFactory())
    response = client.get(reverse("elections_overview_detail", args=[election.pk]))
    assert response.status_code in {302, 403}


def test_nominate_accept_flow_over_http(client):
    election = make_election("nominations")
    office = add_office(election)
    nominator, nominee = MemberFactory(), MemberFactory()
    client.force_login(nominator)
    response = client.post(
        reverse("elections:nominate", args=[election.slug]),
        {"office": office.pk, "nominee_email": nominee.email},
    )
    assert response.status_code == 302
    nomination = Nomination.objects.get()
    assert nomination.status == Nomination.Status.AWAITING_NOMINEE
    # Only the nominee may answer.
    assert client.get(reverse("elections:respond", args=[nomination.pk])).status_code == 404
    client.force_login(nominee)
    response = client.post(
        reverse("elections:respond", args=[nomination.pk]),
        {"answer": "accept", "statement": "I will serve."},
    )
    assert response.status_code == 302
    nomination.refresh_from_db()
    assert nomination.status == Nomination.Status.AWAITING_STAFF
    assert nomination.statement == "I will serve."
    again = client.post(reverse("elections:respond", args=[nomination.pk]), {"answer": "decline"})
    assert again.status_code == 409


def test_staff_create_an_election_in_the_admin_and_it_is_audited(mfa_client, staff):
    client = mfa_client(staff)
    start = timezone.now() + timedelta(days=1)

    def when(days):
        return timezone.localtime(start + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")

    fields = {
        "title": "Board 2030",
        "slug": "board-2030",
        "description": "",
        "nominations_open_at": when(0),
        "nominations_close_at": when(5),
        "eligibility_cutoff": when(6),
        "voting_open_at": when(7),
        "voting_close_at": when(14),
        "practice_rule": "every_seat",
    }
    response = client.post(reverse("election_setup:add"), fields)
    assert response.status_code == 302, response.content[:2000]
    election = Election.objects.get(slug="board-2030")
    assert AuditEntry.objects.get(election=election).action == "election created"
    # Dates out of order are refused by the form, and nothing is saved.
    bad = {**fields, "slug": "board-2031", "voting_close_at": when(3)}
    assert client.post(reverse("election_setup:add"), bad).status_code == 200
    assert not Election.objects.filter(slug="board-2031").exists()
