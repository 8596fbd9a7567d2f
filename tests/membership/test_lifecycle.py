"""The clock: grace after a period ends, lapse after grace, complimentary terms, reminders sent
once, and account deletion that keeps the books."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from membership import access, services
from membership.models import Membership, Notice, Payment, StateChange
from membership.tasks import memberships_advance, reminders_queue, send_notice
from tests.factories import MemberFactory, MembershipFactory, PlanFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
State = Membership.State


def send_all():
    for pk in Notice.objects.filter(sent_at__isnull=True).values_list("pk", flat=True):
        send_notice(pk)


def test_period_end_without_renewal_moves_to_grace_then_lapses(
    django_capture_on_commit_callbacks,
):
    now = timezone.now()
    m = MembershipFactory(current_period_end=now - timedelta(days=2), auto_renew=False)
    user = m.user

    with django_capture_on_commit_callbacks(execute=False):
        assert memberships_advance() == 1
    m.refresh_from_db()
    assert m.state == State.GRACE
    assert m.grace_started_at == m.current_period_end
    assert access.is_active_member(user)

    with django_capture_on_commit_callbacks(execute=False):
        assert services.memberships_advance(now=now + timedelta(days=29)) == 1
        assert services.memberships_advance(now=now + timedelta(days=29)) == 0
    m.refresh_from_db()
    assert m.state == State.LAPSED
    assert not access.is_active_member(user)
    assert access.price_tier(user) == access.NON_MEMBER
    reasons = list(m.history.order_by("at", "pk").values_list("to_state", "reason"))
    assert reasons == [
        (State.GRACE, "membership period ended without renewal"),
        (State.LAPSED, "grace period over"),
    ]
    send_all()
    assert [msg.subject for msg in mail.outbox] == ["Your NORM membership has lapsed"]


def test_auto_renewing_members_get_a_day_for_stripe_to_report_the_renewal():
    m = MembershipFactory(current_period_end=timezone.now() - timedelta(hours=2), auto_renew=True)

    assert memberships_advance() == 0
    m.refresh_from_db()
    assert m.state == State.ACTIVE


def test_complimentary_membership_ends_on_its_date(django_capture_on_commit_callbacks):
    staff = StaffFactory()
    user = UserFactory()
    ends = timezone.now() + timedelta(days=10)

    with django_capture_on_commit_callbacks(execute=False):
        m = services.membership_grant_complimentary(
            user=user, plan=PlanFactory(), ends_at=ends, actor=staff, reason="speaker 2026"
        )
    assert access.is_active_member(user)
    change = m.history.first()
    assert change.actor == staff
    assert "speaker 2026" in change.reason
    assert Notice.objects.filter(membership=m, kind=Notice.Kind.WELCOME).exists()

    with django_capture_on_commit_callbacks(execute=False):
        services.memberships_advance(now=ends + timedelta(minutes=1))
    m.refresh_from_db()
    assert m.state == State.LAPSED
    assert m.history.first().reason == "complimentary membership ended"


def test_renewal_reminders_go_out_once_at_30_and_7_days(django_capture_on_commit_callbacks):
    now = timezone.now()
    m = MembershipFactory(current_period_end=now + timedelta(days=25), auto_renew=False)
    MembershipFactory(current_period_end=now + timedelta(days=25), auto_renew=True)  # no reminder

    with django_capture_on_commit_callbacks(execute=False):
        assert reminders_queue() == 1
        assert reminders_queue() == 0
        assert services.reminders_queue(now=now + timedelta(days=19)) == 1
        assert services.reminders_queue(now=now + timedelta(days=20)) == 0
    send_all()
    send_all()

    kinds = sorted(Notice.objects.values_list("kind", flat=True))
    assert kinds == [Notice.Kind.RENEWAL_30, Notice.Kind.RENEWAL_7]
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.to == [m.user.email]
    assert "renews in 30 days" in message.subject
    assert message.alternatives[0][1] == "text/html"
    assert "/membership/renew/" in message.body  # the signed renewal link, no login needed


def test_grace_warning_before_the_lapse(django_capture_on_commit_callbacks):
    now = timezone.now()
    m = MembershipFactory(
        state=State.GRACE,
        grace_started_at=now - timedelta(days=25),
        access_ends_at=now + timedelta(days=5),
    )

    with django_capture_on_commit_callbacks(execute=False):
        assert services.reminders_queue() == 1
        assert services.reminders_queue() == 0
    send_all()

    assert Notice.objects.get().kind == Notice.Kind.GRACE_WARNING
    assert mail.outbox[0].to == [m.user.email]
    assert "about to lapse" in mail.outbox[0].subject


def test_a_notice_is_sent_once_even_if_the_task_runs_twice():
    m = MembershipFactory()
    services.notice_queue(membership=m, kind=Notice.Kind.WELCOME, key="x")
    notice = Notice.objects.get()

    assert send_notice(notice.pk) is True
    assert send_notice(notice.pk) is False
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Welcome to NORM"


def test_rejoining_keeps_the_same_membership_and_history():
    m = MembershipFactory(state=State.LAPSED)
    StateChange.objects.create(membership=m, from_state="grace", to_state="lapsed", reason="old")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=m.user).update(verified=True)

    again = services.membership_prepare(user=m.user, plan=m.plan)

    assert again.pk == m.pk
    assert again.history.filter(reason="old").exists()


def test_unverified_email_cannot_pay():
    user = UserFactory(verified_email=False)

    with pytest.raises(services.MembershipError, match="verify"):
        services.membership_prepare(user=user, plan=PlanFactory())


def test_account_deletion_keeps_financial_records(django_capture_on_commit_callbacks):
    member = MemberFactory(first_name="Ada", email="ada@example.org")
    m = member.memberships.get()
    Payment.objects.create(
        membership=m,
        stripe_invoice_id="in_1",
        status=Payment.Status.PAID,
        amount_cents=19500,
        billed_name="Ada Lovelace",
        billed_email="ada@example.org",
    )

    with django_capture_on_commit_callbacks(execute=False):
        services.account_delete(user=member)

    member.refresh_from_db()
    assert not member.is_active
    assert member.email == ""
    assert member.first_name == ""
    assert not member.has_usable_password()
    assert not access.is_active_member(member)
    payment = Payment.objects.get()
    assert (payment.billed_email, payment.amount_cents) == ("ada@example.org", 19500)
    m.refresh_from_db()
    assert m.state == State.CANCELED
    assert m.history.first().reason == "account deleted by its owner"
