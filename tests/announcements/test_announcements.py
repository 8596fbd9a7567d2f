"""Announcements: segments, the state machine, and the send through the ledger to a real SMTP
server by a real Celery worker."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from announcements import services
from announcements.models import Announcement, AnnouncementDelivery
from conferences.models import Attendee, Order
from discussions.models import Subscription
from membership.models import Membership
from portal import consent
from portal.models import ConsentCategory
from tests.conftest import wait_for
from tests.discussions.helpers import make_list
from tests.factories import (
    MemberFactory,
    MembershipFactory,
    PlanFactory,
    PracticeMembershipFactory,
    StaffFactory,
    TicketTypeFactory,
    UserFactory,
)

BODY = (
    '<p>Our <b>annual meeting</b> is on Dec 9. <a href="/conferences/">Details</a>.</p>'
    "<ul><li>Agenda</li><li>Dues vote</li></ul>"
)


def _announcement(**kwargs) -> Announcement:
    defaults = {"subject": "Annual meeting", "body": BODY}
    defaults.update(kwargs)
    return Announcement.objects.create(**defaults)


def _emails(announcement) -> set[str]:
    return {r.email for r in services.recipients(announcement)}


@pytest.mark.django_db
def test_each_segment_names_the_right_people():
    active = MemberFactory(username="active")
    lapsed = UserFactory(username="lapsed")
    MembershipFactory(
        user=lapsed,
        state=Membership.State.LAPSED,
        access_ends_at=timezone.now() - timedelta(days=40),
    )
    long_gone = UserFactory(username="longgone")
    MembershipFactory(
        user=long_gone,
        state=Membership.State.LAPSED,
        access_ends_at=timezone.now() - timedelta(days=400),
    )
    practice = PracticeMembershipFactory(user=UserFactory(username="padmin"))
    other_plan = PlanFactory(name="Student")
    student = UserFactory(username="student")
    MembershipFactory(user=student, plan=other_plan)
    UserFactory(username="nobody")

    assert _emails(_announcement()) == {
        "active@example.org",
        "padmin@example.org",
        "student@example.org",
    }
    assert _emails(_announcement(segment="lapsed", lapsed_months=3)) == {"lapsed@example.org"}
    assert _emails(_announcement(segment="lapsed", lapsed_months=24)) == {
        "lapsed@example.org",
        "longgone@example.org",
    }
    assert _emails(_announcement(segment="plan", plan=other_plan)) == {"student@example.org"}
    assert _emails(_announcement(segment="plan", plan=practice.plan)) == {"padmin@example.org"}
    assert _emails(_announcement(segment="practice_admins")) == {"padmin@example.org"}

    ticket = TicketTypeFactory()
    paid = Order.objects.create(
        conference=ticket.conference,
        owner=active,
        email=active.email,
        status="paid",
        price_tier="member",
    )
    held = Order.objects.create(
        conference=ticket.conference,
        owner=lapsed,
        email=lapsed.email,
        status="held",
        price_tier="member",
    )
    for order, email in ((paid, "Guest@Clinic.example"), (paid, active.email), (held, "x@y.org")):
        Attendee.objects.create(
            order=order, ticket_type=ticket, first_name="Ana", last_name="Ruiz", email=email
        )
    assert _emails(_announcement(segment="conference", conference=ticket.conference)) == {
        "guest@clinic.example",
        "active@example.org",
    }

    billing = make_list()
    Subscription.objects.create(user=student, mailing_list=billing, mode="every")
    assert _emails(_announcement(segment="list", mailing_list=billing)) == {"student@example.org"}
    assert active.email in _emails(_announcement())
    consent.opt_out(active, ConsentCategory.ASSOCIATION_NEWS)
    assert active.email not in _emails(_announcement())
    assert active.email in _emails(_announcement(category=ConsentCategory.CONFERENCE_NEWS))


@pytest.mark.django_db
def test_a_segment_matching_no_one_cannot_be_scheduled():
    staff = StaffFactory()
    announcement = _announcement(segment="practice_admins")
    with pytest.raises(services.Refusal, match="matches no one"):
        services.announcement_schedule(announcement_id=announcement.pk, actor=staff)
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.DRAFT


@pytest.mark.django_db
def test_an_edit_after_the_send_started_changes_nothing_and_sends_nothing_more():
    MemberFactory.create_batch(3)
    staff = StaffFactory()
    announcement = _announcement(send_at=timezone.now() - timedelta(minutes=1))
    stale = Announcement.objects.get(pk=announcement.pk)  # an edit form opened before the send
    services.announcement_schedule(announcement_id=announcement.pk, actor=staff)
    assert services.announcement_dispatch(announcement_id=announcement.pk) == 3
    stale.subject = "Changed after the send time"
    stale.send_at = timezone.now() + timedelta(hours=1)
    with pytest.raises(services.Refusal):
        services.announcement_save(announcement=stale, actor=staff)
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.SENDING
    assert announcement.subject == "Annual meeting"
    # A second dispatch (a retried task, the next beat tick) writes nothing.
    assert services.announcement_dispatch(announcement_id=announcement.pk) == 0
    assert AnnouncementDelivery.objects.count() == 3


@pytest.mark.django_db
def test_a_scheduled_announcement_waits_for_its_time():
    MemberFactory()
    staff = StaffFactory()
    announcement = _announcement(send_at=timezone.now() + timedelta(hours=2))
    services.announcement_schedule(announcement_id=announcement.pk, actor=staff)
    assert services.announcement_dispatch(announcement_id=announcement.pk) == 0
    announcement.refresh_from_db()
    assert announcement.state == Announcement.State.SCHEDULED
    # Still editable before its time; the edit keeps it scheduled.
    announcement.subject = "Annual meeting, new room"
    services.announcement_save(announcement=announcement, actor=staff)
    announcement.refresh_from_db()
    assert (announcement.state, announcement.subject) == ("scheduled", "Annual meeting, new room")


def test_the_worker_sends_one_personalised_copy_to_each_recipient(
    smtp_server, celery_worker, settings
):
    settings.DISCUSSIONS_BATCH_SIZE = 2
    members = [
        MemberFactory(username="ana", first_name="Ana María"),
        MemberFactory(username="bo", first_name="Bo <b>"),
        MemberFactory(username="cy", first_name=""),
    ]
    refused = MemberFactory(username="refused")
    consent.opt_out(refused, ConsentCategory.ASSOCIATION_NEWS)
    staff = StaffFactory()
    announcement = _announcement()
    services.announcement_schedule(announcement_id=announcement.pk, actor=staff)

    mails = smtp_server.wait_for(3)
    wait_for(
        lambda: Announcement.objects.get(pk=announcement.pk).state == "sent",
        message="the announcement was not marked sent",
    )
    copies = Counter(r for m in mails for r in m.rcpt_tos)
    assert copies == Counter({m.email: 1 for m in members})
    by_rcpt = {m.rcpt_tos[0]: m.message for m in mails}
    ana = by_rcpt["ana@example.org"]
    assert ana["To"] == "ana@example.org"
    assert ana["Subject"] == "Annual meeting"
    unsubscribe = ana["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("https://") or unsubscribe.startswith(settings.SITE_URL)
    assert ana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = ana.get_body(("plain",)).get_content()
    html = ana.get_body(("html",)).get_content()
    assert text.startswith("Dear Ana María,")
    assert "annual meeting is on Dec 9" in text
    assert f"Details ({settings.SITE_URL}/conferences/)" in text
    assert "- Agenda" in text
    assert "Dear Ana María," in html
    assert f'href="{settings.SITE_URL}/conferences/"' in html
    assert "<img" not in html  # no tracking pixel, no image at all
    assert unsubscribe in text and unsubscribe in html.replace("&amp;", "&")
    assert consent.token_read(unsubscribe.rstrip("/").rsplit("/", 1)[1]) == (
        "ana@example.org",
        "association_news",
    )
    assert "Dear Bo &lt;b&gt;," in by_rcpt["bo@example.org"].get_body(("html",)).get_content()
    assert by_rcpt["cy@example.org"].get_body(("plain",)).get_content().startswith("Hello,")
    rows = AnnouncementDelivery.objects.filter(announcement=announcement)
    assert sorted(rows.values_list("email", "status")) == sorted((m.email, "sent") for m in members)
    # The tick later finds nothing to do: no second copy.
    services.announcements_tick(claim_timeout=0)
    assert len(smtp_server.received) == 3


@pytest.mark.django_db
def test_a_copy_rendered_once_matches_one_rendered_for_the_recipient():
    member = MemberFactory(username="dee", first_name="Dee")
    announcement = _announcement(state="sending")
    row = AnnouncementDelivery.objects.create(
        announcement=announcement, recipient=member, email=member.email, name="Dee"
    )
    prepared = services.announcement_prepare(announcement)
    assert type(prepared) is services.Prepared  # the fast path, not the fallback
    fast = prepared.for_recipient(row)
    slow = services._PerRecipient(announcement=announcement, data=b"").for_recipient(row)

    def normal(data: bytes) -> bytes:
        return b"\n".join(
            line
            for line in data.splitlines()
            if not line.startswith((b"Date:", b"--")) and b"boundary=" not in line
        )

    assert normal(fast) == normal(slow)
