"""membership_apply_subscription, one row of its transition table at a time.

Each case puts a membership in a state, hands the service a subscription as the gateway reads
it from Stripe (where Stripe stands: paid, retrying a failed renewal, ended at its period end,
ended early, never paid) and checks the state, the grace start, the end of access, renewal and
the history row that come out. The expectations are written out here, not read from the table.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from membership import services
from membership.models import Membership, Notice, StateChange
from membership.services.billing import TRANSITIONS, Side
from payments import gateway
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
State = Membership.State
Status = gateway.SubscriptionStatus
GRACE = timedelta(days=30)  # MEMBERSHIP_GRACE_DAYS
SUB = "sub_table1"

NOW = timezone.now()
PERIOD_END = NOW + timedelta(days=365)
FAILED_AT = NOW - timedelta(days=2)
ENDED_AT = NOW - timedelta(hours=1)
OLD_GRACE = NOW - timedelta(days=5)


def _membership(state):
    """A membership on SUB in `state`, as the other services leave one."""
    fields = {
        State.PENDING: {"started_at": None, "current_period_end": None, "access_ends_at": None},
        State.ACTIVE: {"current_period_end": NOW + timedelta(days=200), "auto_renew": True},
        State.GRACE: {"grace_started_at": OLD_GRACE, "access_ends_at": OLD_GRACE + GRACE},
        State.LAPSED: {
            "grace_started_at": NOW - timedelta(days=60),
            "access_ends_at": NOW - timedelta(days=30),
        },
        State.CANCELED: {"access_ends_at": NOW - timedelta(days=10)},
    }[state]
    return MembershipFactory(
        state=state, stripe_subscription_id=SUB, stripe_customer_id="cus_table1", **fields
    )


def _invoice(status):
    return gateway.InvoiceData(
        id="in_table1",
        number="T-0001",
        status=status,
        billing_reason="subscription_cycle",
        customer="cus_table1",
        customer_email="",
        customer_name="",
        subscription=SUB,
        payment_intent="pi_table1",
        amount_due=19500,
        amount_paid=0 if status == gateway.InvoiceStatus.OPEN else 19500,
        currency="usd",
        created=FAILED_AT,
        paid_at=None,
        period_start=None,
        period_end=None,
        hosted_invoice_url="",
        invoice_pdf="",
    )


def _subscription(side):
    """A subscription the gateway could return, standing where `side` says."""
    fields = {
        Side.PAID: {"status": Status.ACTIVE, "current_period_end": PERIOD_END},
        Side.RETRYING: {
            "status": Status.PAST_DUE,
            "current_period_end": NOW - timedelta(days=2),
            "latest_invoice": _invoice(gateway.InvoiceStatus.OPEN),
        },
        # Past the last retry, the variant that leaves the subscription unpaid; the variant
        # that cancels it is _gave_up_by_canceling() below.
        Side.GAVE_UP: {
            "status": Status.UNPAID,
            "current_period_end": NOW + timedelta(days=340),
            "latest_invoice": _invoice(gateway.InvoiceStatus.OPEN),
        },
        Side.ENDED_AT_PERIOD_END: {
            "status": Status.CANCELED,
            "current_period_end": ENDED_AT,
            "ended_at": ENDED_AT,
        },
        Side.ENDED_EARLY: {
            "status": Status.CANCELED,
            "current_period_end": NOW + timedelta(days=100),
            "ended_at": ENDED_AT,
        },
        Side.NOT_STARTED: {"status": Status.INCOMPLETE, "current_period_end": PERIOD_END},
    }[side]
    return gateway.SubscriptionData(
        id=SUB,
        customer="cus_table1",
        metadata={},
        current_period_start=None,
        cancel_at_period_end=False,
        cancel_at=None,
        canceled_at=fields.get("ended_at"),
        cancellation_reason=None,
        price_ids=(),
        **{"ended_at": None, "latest_invoice": None, **fields},
    )


KEEP = object()  # the value the membership had before
# (side, state before) -> (state after, grace start, end of access, auto-renew, history reason)
ROWS = {
    **{
        (Side.PAID, before): (State.ACTIVE, None, PERIOD_END + GRACE, True, "is active")
        for before in State
    },
    (Side.RETRYING, State.PENDING): (State.GRACE, FAILED_AT, FAILED_AT + GRACE, True, "failed"),
    (Side.RETRYING, State.ACTIVE): (State.GRACE, FAILED_AT, FAILED_AT + GRACE, True, "failed"),
    (Side.RETRYING, State.GRACE): (State.GRACE, OLD_GRACE, OLD_GRACE + GRACE, True, None),
    (Side.RETRYING, State.LAPSED): (State.GRACE, FAILED_AT, FAILED_AT + GRACE, True, "failed"),
    (Side.RETRYING, State.CANCELED): (State.GRACE, FAILED_AT, FAILED_AT + GRACE, True, "failed"),
    (Side.GAVE_UP, State.PENDING): (State.GRACE, FAILED_AT, FAILED_AT + GRACE, False, "stopped"),
    (Side.GAVE_UP, State.ACTIVE): (State.GRACE, FAILED_AT, FAILED_AT + GRACE, False, "stopped"),
    (Side.GAVE_UP, State.GRACE): (State.GRACE, OLD_GRACE, OLD_GRACE + GRACE, False, None),
    (Side.GAVE_UP, State.LAPSED): (State.LAPSED, KEEP, KEEP, False, None),
    (Side.GAVE_UP, State.CANCELED): (State.CANCELED, KEEP, KEEP, False, None),
    **{
        (Side.ENDED_AT_PERIOD_END, before): (
            State.GRACE,
            ENDED_AT,
            ENDED_AT + GRACE,
            False,
            "ended at the end of its period",
        )
        for before in (State.PENDING, State.ACTIVE, State.LAPSED, State.CANCELED)
    },
    (Side.ENDED_AT_PERIOD_END, State.GRACE): (
        State.GRACE,
        OLD_GRACE,
        OLD_GRACE + GRACE,
        False,
        None,
    ),
    (Side.ENDED_EARLY, State.PENDING): (State.CANCELED, None, ENDED_AT, False, "before its period"),
    (Side.ENDED_EARLY, State.ACTIVE): (State.CANCELED, None, ENDED_AT, False, "before its period"),
    (Side.ENDED_EARLY, State.GRACE): (State.GRACE, OLD_GRACE, OLD_GRACE + GRACE, False, None),
    (Side.ENDED_EARLY, State.LAPSED): (State.LAPSED, KEEP, KEEP, False, None),
    (Side.ENDED_EARLY, State.CANCELED): (State.CANCELED, None, ENDED_AT, False, None),
    **{(Side.NOT_STARTED, before): (before, KEEP, KEEP, KEEP, None) for before in State},
}


def test_the_rows_here_are_the_table_rows():
    """Every row of the service's table has its case here, and nothing else is in the table."""
    assert set(TRANSITIONS) == {key for key in ROWS if key[0] != Side.NOT_STARTED}


@pytest.mark.parametrize(("side", "before"), list(ROWS), ids=lambda v: str(v))
def test_transition(side, before):
    state, grace_start, access_ends, auto_renew, reason = ROWS[side, before]
    m = _membership(before)
    was = Membership.objects.get(pk=m.pk)
    sub = _subscription(side)

    services.membership_apply_subscription(sub)

    m.refresh_from_db()
    assert m.state == state
    assert m.grace_started_at == (was.grace_started_at if grace_start is KEEP else grace_start)
    assert m.access_ends_at == (was.access_ends_at if access_ends is KEEP else access_ends)
    assert m.auto_renew == (was.auto_renew if auto_renew is KEEP else auto_renew)
    # Stripe's fields are copied in every row.
    assert (m.stripe_subscription_status, m.current_period_end) == (
        sub.status,
        sub.current_period_end,
    )
    history = list(StateChange.objects.filter(membership=m))
    if state == before:
        assert history == []
    else:
        assert [(h.from_state, h.to_state) for h in history] == [(before, state)]
        assert reason in history[0].reason
    failed_notice = Notice.objects.filter(membership=m, kind=Notice.Kind.PAYMENT_FAILED)
    assert failed_notice.exists() == (
        side in (Side.RETRYING, Side.GAVE_UP) and state == State.GRACE != before
    )


def _gave_up_by_canceling():
    """Past the last retry, the variant that cancels: weeks after the failed renewal, with
    the failed invoice left open and the reason payment_failed."""
    return gateway.SubscriptionData(
        **{
            **_subscription(Side.GAVE_UP).__dict__,
            "status": Status.CANCELED,
            "ended_at": ENDED_AT,
            "canceled_at": ENDED_AT,
            "cancellation_reason": gateway.CancellationReason.PAYMENT_FAILED,
        }
    )


@pytest.mark.parametrize("before", [State.PENDING, State.ACTIVE, State.GRACE, State.LAPSED])
def test_stripe_canceling_for_nonpayment_is_the_same_row_as_unpaid(before):
    """Both ends of Stripe's retries give the same state, grace start and end of access: grace
    runs from the failed renewal (not from Stripe's last try), a lapsed membership stays lapsed
    and nothing renews."""
    state, grace_start, access_ends, auto_renew, _ = ROWS[Side.GAVE_UP, before]
    m = _membership(before)
    was = Membership.objects.get(pk=m.pk)
    sub = _gave_up_by_canceling()
    assert services.billing.stripe_side(sub, NOW) == Side.GAVE_UP

    services.membership_apply_subscription(sub)

    m.refresh_from_db()
    assert (m.state, m.auto_renew) == (state, auto_renew)
    assert m.grace_started_at == (was.grace_started_at if grace_start is KEEP else grace_start)
    assert m.access_ends_at == (was.access_ends_at if access_ends is KEEP else access_ends)
    assert m.stripe_subscription_status == Status.CANCELED


def test_paying_the_open_invoice_after_stripe_gave_up_restores_the_membership():
    """An unpaid subscription whose open invoice the member pays becomes active again."""
    m = _membership(State.GRACE)
    services.membership_apply_subscription(_subscription(Side.GAVE_UP))
    m.refresh_from_db()
    assert (m.state, m.auto_renew) == (State.GRACE, False)

    services.membership_apply_subscription(_subscription(Side.PAID))

    m.refresh_from_db()
    assert (m.state, m.auto_renew, m.grace_started_at) == (State.ACTIVE, True, None)


def test_a_grace_without_a_start_date_counts_as_active():
    """Only a grace period with a start can be kept; one without starts at the failed invoice."""
    m = _membership(State.GRACE)
    Membership.objects.filter(pk=m.pk).update(grace_started_at=None)

    services.membership_apply_subscription(_subscription(Side.RETRYING))

    m.refresh_from_db()
    assert (m.state, m.grace_started_at, m.access_ends_at) == (
        State.GRACE,
        FAILED_AT,
        FAILED_AT + GRACE,
    )


def test_a_replayed_failure_past_its_grace_lapses():
    """The clock has already ended the grace a very late past-due event would start."""
    m = _membership(State.ACTIVE)
    sub = _subscription(Side.RETRYING)
    late = gateway.SubscriptionData(
        **{**sub.__dict__, "latest_invoice": None},
    )
    Membership.objects.filter(pk=m.pk).update(state=State.GRACE, grace_started_at=NOW - 2 * GRACE)

    services.membership_apply_subscription(late)

    m.refresh_from_db()
    assert (m.state, m.access_ends_at) == (State.LAPSED, NOW - GRACE)
    assert StateChange.objects.get(membership=m).reason == "grace period over"
