"""An election in Chromium: a member nominates a colleague, the colleague accepts, staff
approve, a voter votes from the signed link in their mail, keeps the receipt, the election
closes and the results page confirms the receipt was counted. Every page is checked with
axe-core and for overflow at desk (1280x800) and phone (390x844) sizes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from elections import services
from elections.models import Election, Nomination, Office
from tests.conftest import screenshot
from tests.e2e.page_checks import assert_page_sound
from tests.elections.conftest import add_candidate, add_office, make_election
from tests.factories import TEST_PASSWORD, MemberFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = {"desk": (1280, 800), "phone": (390, 844)}


def check(page, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert_page_sound(page)
        screenshot(page, f"elections-{name}-{size}")
    page.set_viewport_size({"width": 1280, "height": 800})


def log_in(page, email):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_nominate_accept_vote_receipt_close_results(browser_page, demo_site):
    page = browser_page
    election = make_election("nominations", title="Board of directors 2027")
    office = add_office(election, "President", method=Office.Method.RANKED)
    add_candidate(office, "Dana")
    nominator = MemberFactory(first_name="Nora", last_name="Nominator")
    nominee = MemberFactory(first_name="Ned", last_name="Nominee", email="ned@example.org")
    voter = MemberFactory(first_name="Vera", last_name="Voter")

    log_in(page, nominator.email)
    page.goto(f"/elections/{election.slug}/")
    check(page, "detail-nominations")
    page.get_by_role("link", name="Nominate a member").click()
    page.get_by_label("Nominee's email").fill(nominee.email)
    check(page, "nominate")
    page.get_by_role("button", name="Send the nomination").click()
    page.wait_for_url(f"**/elections/{election.slug}/")
    assert "Waiting for the nominee to accept" in page.content()

    log_in(page, nominee.email)
    page.goto(f"/elections/{election.slug}/")
    page.get_by_role("link", name="Answer the nomination").click()
    page.get_by_label("I accept and will stand").check()
    page.get_by_label("Candidate statement").fill("Ten years running a busy practice.")
    check(page, "respond")
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url(f"**/elections/{election.slug}/")

    nomination = Nomination.objects.get(nominee=nominee)
    assert nomination.status == Nomination.Status.AWAITING_STAFF
    services.nomination_review(nomination=nomination, staff=StaffFactory(), approve=True)

    # The calendar moves on: voting is open, the roll frozen at the cut-off.
    now = timezone.now()
    Election.objects.filter(pk=election.pk).update(
        nominations_close_at=now - timedelta(days=3),
        eligibility_cutoff=now - timedelta(days=2),
        voting_open_at=now - timedelta(days=1),
        voting_close_at=now + timedelta(days=5),
    )
    election.refresh_from_db()
    link = f"/elections/{election.slug}/vote/link/{services.link_for(election, voter)}/"

    page.context.clear_cookies()
    page.goto(link)
    assert "Ned Nominee" in page.content()
    page.get_by_label("Choice 1").select_option(label="Ned Nominee")
    page.get_by_label("Choice 2").select_option(label="Dana Candidate")
    check(page, "ballot")
    page.get_by_role("button", name="Cast my ballot").click()
    receipt = page.locator("#receipt-code").inner_text().strip()
    assert len(receipt) == 14
    check(page, "receipt")

    page.goto(link)  # the link a second time
    assert "voted in this election already" in page.content()
    check(page, "link-used")

    Election.objects.filter(pk=election.pk).update(voting_close_at=timezone.now())
    from elections.tasks import elections_tick

    elections_tick()
    page.goto(f"/elections/{election.slug}/results/")
    page.get_by_label("Receipt code").fill(receipt)
    page.get_by_role("button", name="Check").click()
    assert "was counted" in page.locator("#receipt-result").inner_text()
    assert "Elected: Ned Nominee" in page.content()
    check(page, "results")
