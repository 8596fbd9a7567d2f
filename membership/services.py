"""Every write to membership state: joining, Stripe's view of a subscription, the clock,
seats, complimentary grants, notices and account deletion.

Stripe's state is applied, never its story: webhook handlers re-read the subscription and
`membership_apply_subscription` makes our row match it, so duplicate and out-of-order events
end in the same place. Slow work (Stripe calls that may wait, mail) is queued with
`transaction.on_commit`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from payments import gateway

from .models import (
    MemberProfile,
    Membership,
    Notice,
    Payment,
    Plan,
    Practice,
    Seat,
    StateChange,
)

log = logging.getLogger(__name__)
State = Membership.State

# Stripe renews at the period end and tells us a little later; don't call that a lapse.
RENEWAL_SLACK = timedelta(hours=24)


class MembershipError(Exception):
    """A request that membership rules refuse; the message may be shown to the user."""


# --- reading helpers used by services and views -------------------------------------------------


def membership_for_user(user) -> Membership | None:
    """The membership this person manages: their own, or the practice's they administer."""
    if not user.is_authenticated:
        return None
    rows = list(Membership.objects.filter(user=user).select_related("plan", "practice"))
    if not rows:
        return None
    rows.sort(key=lambda m: (not m.is_live, m.practice_id is None, -m.pk))
    return rows[0]


def seat_membership_for_user(user) -> Membership | None:
    """The practice membership the user holds a seat on (as staff, not as admin), if any."""
    seat = (
        Seat.objects.filter(user=user, removed_at__isnull=True)
        .exclude(membership__user=user)
        .select_related("membership__plan", "membership__practice")
        .order_by("-pk")
        .first()
    )
    return seat.membership if seat else None


def grace_days() -> timedelta:
    return timedelta(days=settings.MEMBERSHIP_GRACE_DAYS)


# --- state ---------------------------------------------------------------------------------------


def _record(membership: Membership, from_state: str, *, reason: str, actor=None) -> None:
    if from_state != membership.state:
        StateChange.objects.create(
            membership=membership,
            from_state=from_state,
            to_state=membership.state,
            actor=actor,
            reason=reason[:300],
        )


def _on_enter(membership: Membership, from_state: str, *, key: str) -> None:
    """Notices that a change of state sends (each once, through the ledger)."""
    to = membership.state
    if to == from_state:
        return
    if to in Membership.LIVE_STATES and from_state not in Membership.LIVE_STATES:
        notice_queue(membership=membership, kind=Notice.Kind.WELCOME, key=key)
    elif to == State.LAPSED:
        notice_queue(membership=membership, kind=Notice.Kind.LAPSED, key=key)


def _lock(pk: int) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",)).select_related("plan", "user").get(pk=pk)
    )


# --- joining -------------------------------------------------------------------------------------


def membership_prepare(
    *,
    user,
    plan: Plan,
    practice_name: str = "",
    practice_city: str = "",
    practice_state: str = "",
) -> Membership:
    """The membership row a checkout pays for: the person's own (or their practice's for a
    practice plan), created pending if new, with the chosen plan unless it is live already.

    Raises MembershipError when the person is already an active member on another plan or
    their email address is not verified.
    """
    if not EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists():
        raise MembershipError("Please verify your email address before paying dues.")
    if not plan.is_active:
        raise MembershipError("That plan is no longer offered.")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, practice__isnull=not plan.is_practice)
            .first()
        )
        if membership is None and plan.is_practice:
            if not practice_name.strip():
                raise MembershipError("Please give your practice's name.")
            practice = Practice.objects.create(
                name=practice_name.strip(), city=practice_city, state=practice_state
            )
            membership = practice_membership_create(admin=user, practice=practice, plan=plan)
            _record(membership, "", reason="practice membership started at checkout")
        elif membership is None:
            membership = Membership.objects.create(user=user, plan=plan)
            _record(membership, "", reason="membership started at checkout")
        if (
            membership.state == State.ACTIVE
            and not membership.is_complimentary
            and membership.stripe_subscription_id
            and membership.auto_renew
        ):
            raise MembershipError("Your membership is active and renews automatically.")
        if membership.plan_id != plan.pk:
            if membership.is_live and membership.plan.kind != plan.kind:
                raise MembershipError("Your membership is active on another kind of plan.")
            membership.plan = plan
            membership.save(update_fields=["plan", "updated_at"])
    return membership


def plan_sync_stripe(*, plan: Plan) -> Plan:
    """Make Stripe's Product and yearly Price match the plan (calls Stripe; safe to repeat)."""
    product_id, price_id = gateway.plan_sync(
        product_id=plan.stripe_product_id or f"guildhall_plan_{plan.pk}",
        name=f"{settings.WAGTAIL_SITE_NAME} membership: {plan.name}",
        description=plan.description,
        active=plan.is_active,
        amount_cents=plan.yearly_price_cents,
        lookup_key=plan.lookup_key,
        metadata={"plan": str(plan.pk), "kind": plan.kind},
        idempotency_prefix=f"plan-{plan.pk}",
    )
    Plan.objects.filter(pk=plan.pk).update(
        stripe_product_id=product_id,
        stripe_price_id=price_id,
        stripe_synced_cents=plan.yearly_price_cents,
    )
    plan.stripe_product_id, plan.stripe_price_id = product_id, price_id
    plan.stripe_synced_cents = plan.yearly_price_cents
    return plan


def practice_membership_create(*, admin, practice: Practice, plan: Plan) -> Membership:
    """A new (pending) membership for `practice`, bought by `admin`, who holds its first seat."""
    membership = Membership.objects.create(user=admin, practice=practice, plan=plan)
    Seat.objects.create(
        membership=membership,
        email=admin.email,
        user=admin,
        invited_by=admin,
        accepted_at=timezone.now(),
    )
    return membership


def membership_customer(*, membership: Membership) -> str:
    """The Stripe Customer for this membership, created once (calls Stripe)."""
    if membership.stripe_customer_id:
        return membership.stripe_customer_id
    user = membership.user
    name = membership.practice.name if membership.practice_id else user.get_full_name()
    customer_id = gateway.customer_upsert(
        email=user.email,
        name=name or user.email,
        metadata={"membership": str(membership.pk), "user": str(user.pk)},
        idempotency_key=f"membership-{membership.pk}-customer",
    )
    Membership.objects.filter(pk=membership.pk, stripe_customer_id="").update(
        stripe_customer_id=customer_id
    )
    membership.stripe_customer_id = customer_id
    return customer_id


def membership_customer_email_sync(*, user_id: int) -> int:
    """Give the Stripe Customers this person pays through their current email address, so
    receipts and card reminders follow an email change. Reads the address now, so a late or
    repeated run sends the newest one. Calls Stripe; returns how many customers it updated."""
    updated = 0
    memberships = Membership.objects.filter(user_id=user_id).exclude(stripe_customer_id="")
    for membership in memberships.select_related("user", "practice"):
        user = membership.user
        name = membership.practice.name if membership.practice_id else user.get_full_name()
        gateway.customer_upsert(
            customer_id=membership.stripe_customer_id,
            email=user.email,
            name=name or user.email,
            metadata={"membership": str(membership.pk), "user": str(user.pk)},
            idempotency_key=f"membership-{membership.pk}-customer-email",
        )
        updated += 1
    return updated


def membership_checkout(
    *, membership: Membership, success_url: str, cancel_url: str
) -> gateway.CheckoutSessionRef:
    """A Checkout Session (subscription mode) for the membership's plan. Calls Stripe, so
    views call it outside any transaction. Raises GatewayError."""
    plan = membership.plan
    if plan.needs_stripe_sync:
        plan = plan_sync_stripe(plan=plan)
    customer_id = membership_customer(membership=membership)
    # A second click (same membership, plan, price, state history and day) gets the session
    # opened by the first; after any change of state, or the next day, a new one.
    changes = membership.history.count()
    return gateway.create_subscription_checkout(
        customer_id=customer_id,
        price_id=plan.stripe_price_id,
        metadata={"membership": str(membership.pk), "plan": str(plan.pk)},
        client_reference_id=f"membership-{membership.pk}",
        idempotency_key=(
            f"membership-{membership.pk}-checkout-{plan.pk}-{plan.stripe_price_id}"
            f"-{changes}-{timezone.now():%Y%m%d}"
        ),
        success_url=success_url,
        cancel_url=cancel_url,
    )


# --- applying Stripe's state ----------------------------------------------------------------------

_PAID_STRIPE = {"active", "trialing"}
_LIVE_STRIPE = {*_PAID_STRIPE, "past_due", "unpaid"}


def _membership_for_subscription(sub: gateway.SubscriptionData) -> Membership | None:
    pk = sub.metadata.get("membership")
    query = Q(stripe_subscription_id=sub.id)
    if pk and pk.isdigit():
        query |= Q(pk=int(pk))
    found = Membership.objects.filter(query).order_by("pk").values_list("pk", flat=True).first()
    return _lock(found) if found else None


def payment_record(*, membership: Membership, invoice: gateway.InvoiceData) -> Payment:
    """Upsert the dues payment for a Stripe invoice: paid, or open after a failed attempt.
    A refund recorded earlier is kept."""
    existing = Payment.objects.filter(stripe_invoice_id=invoice.id).first()
    if existing and existing.status in {Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED}:
        status = existing.status
    elif invoice.status == "paid":
        status = Payment.Status.PAID
    else:
        status = Payment.Status.FAILED
    user = membership.user
    defaults = {
        "membership": membership,
        "stripe_payment_intent_id": invoice.payment_intent or "",
        "number": invoice.number,
        "status": status,
        "amount_cents": invoice.amount_paid if invoice.status == "paid" else invoice.amount_due,
        "currency": invoice.currency,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "paid_at": invoice.paid_at,
        "created_at": invoice.created,
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf_url": invoice.invoice_pdf,
        "billed_name": invoice.customer_name or user.get_full_name(),
        "billed_email": invoice.customer_email or user.email,
    }
    payment, _ = Payment.objects.update_or_create(stripe_invoice_id=invoice.id, defaults=defaults)
    return payment


def membership_apply_subscription(
    sub: gateway.SubscriptionData, invoice: gateway.InvoiceData | None = None
) -> Membership | None:
    """Make the membership match Stripe's current view of its subscription.

    Idempotent and order-proof: it reads no event history, only the subscription (and the
    invoice, recorded as a payment). A subscription that is not the membership's current one
    only takes over when the current one has ended, so a late event about an old subscription
    never undoes a rejoin.
    """
    with transaction.atomic():
        membership = _membership_for_subscription(sub)
        if membership is None:
            log.warning("subscription %s names no membership we know", sub.id)
            return None
        failing = sub.status in {"past_due", "unpaid", "canceled"}
        for inv in {i.id: i for i in (invoice, sub.latest_invoice) if i}.values():
            if inv.subscription in (None, sub.id) and (
                inv.status == "paid" or (inv.status == "open" and failing)
            ):
                payment_record(membership=membership, invoice=inv)
        current = membership.stripe_subscription_id
        if current and current != sub.id:
            # A new subscription takes over only when it is paid for and the current one is not
            # (a rejoin, or a renewal by Checkout while in grace); the one it replaces is ended.
            current_paid = membership.stripe_subscription_status in _PAID_STRIPE
            if current_paid or sub.status not in _PAID_STRIPE:
                return membership
            if membership.stripe_subscription_status in _LIVE_STRIPE:
                _queue_subscription_cancel(current)
        before = membership.state
        membership.stripe_subscription_id = sub.id
        membership.stripe_subscription_status = sub.status
        membership.stripe_customer_id = sub.customer or membership.stripe_customer_id
        membership.current_period_end = sub.current_period_end
        now = timezone.now()
        reason = f"Stripe subscription {sub.id} is {sub.status}"
        if sub.status in {"active", "trialing"}:
            membership.state = State.ACTIVE
            membership.is_complimentary = False
            membership.auto_renew = not (sub.cancel_at_period_end or sub.cancel_at)
            membership.grace_started_at = None
            membership.access_ends_at = (sub.current_period_end or now) + grace_days()
            membership.started_at = membership.started_at or now
        elif sub.status in {"past_due", "unpaid"}:
            if membership.state != State.GRACE or membership.grace_started_at is None:
                failed = sub.latest_invoice
                membership.grace_started_at = failed.created if failed else now
            membership.state = State.GRACE
            membership.auto_renew = True
            membership.access_ends_at = membership.grace_started_at + grace_days()
            reason = f"renewal payment failed (subscription {sub.id} is {sub.status})"
        elif sub.status == "canceled":
            membership.auto_renew = False
            ended = sub.ended_at or now
            natural_end = sub.current_period_end and ended >= sub.current_period_end - RENEWAL_SLACK
            if membership.state == State.GRACE and membership.grace_started_at:
                reason = f"subscription {sub.id} ended after failed payments"
            elif natural_end or sub.cancellation_reason == "payment_failed":
                membership.state = State.GRACE
                membership.grace_started_at = ended
                reason = f"subscription {sub.id} ended at the end of its period"
            elif membership.state != State.LAPSED:
                membership.state = State.CANCELED
                membership.access_ends_at = ended
                reason = f"subscription {sub.id} was canceled before its period ended"
            if membership.state == State.GRACE:
                membership.access_ends_at = membership.grace_started_at + grace_days()
        else:  # incomplete, incomplete_expired, paused: nothing paid for yet
            membership.save()
            return membership
        refunded = _dues_refunded(membership, sub) if sub.status in _LIVE_STRIPE else None
        if refunded is not None:
            membership.state = State.CANCELED
            membership.auto_renew = False
            membership.access_ends_at = refunded.refunded_at or now
            reason = (
                f"dues refunded in full (invoice {refunded.number or refunded.stripe_invoice_id})"
            )
            _end_stripe_subscription(membership)
        _settle_by_clock(membership, now)
        if membership.state == State.LAPSED and before != State.LAPSED:
            reason = "grace period over"
        membership.save()
        _record(membership, before, reason=reason)
        _on_enter(membership, before, key=sub.id)
        if membership.state == State.GRACE and before != State.GRACE and sub.status != "canceled":
            notice_queue(
                membership=membership,
                kind=Notice.Kind.PAYMENT_FAILED,
                key=f"{membership.grace_started_at:%Y-%m-%d}",
            )
    return membership


def _settle_by_clock(membership: Membership, now: datetime) -> None:
    """A state that the clock has already moved on from (a replayed or very late event)."""
    if membership.state == State.GRACE and membership.access_ends_at <= now:
        membership.state = State.LAPSED


def membership_apply_checkout(session: gateway.CheckoutSessionData) -> None:
    """Checkout handler for kind "membership": apply the subscription the session created."""
    if session.status != "complete" or not session.subscription:
        return
    membership_apply_subscription(gateway.retrieve_subscription(session.subscription))


def membership_apply_refund(charge: gateway.ChargeData) -> None:
    """Refund handler for dues: record the refund on its payment, then re-apply the
    subscription, which ends the membership when its current dues were refunded in full.
    Order-proof: a refund that arrives before its invoice fetches the customer's invoices."""
    if not charge.payment_intent:
        return
    payment = Payment.objects.filter(stripe_payment_intent_id=charge.payment_intent).first()
    if payment is None and charge.customer:
        holder = Membership.objects.filter(stripe_customer_id=charge.customer).first()
        if holder is not None:
            with transaction.atomic():
                holder = _lock(holder.pk)
                for invoice in gateway.list_invoices(charge.customer):
                    if invoice.status == "paid":
                        payment_record(membership=holder, invoice=invoice)
            payment = Payment.objects.filter(stripe_payment_intent_id=charge.payment_intent).first()
    if payment is None:
        log.info("refund of %s matches no dues payment", charge.id)
        return
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.amount_refunded_cents = charge.amount_refunded_cents
        payment.refunded_at = max((r.created for r in charge.refunds if r.created), default=None)
        payment.status = (
            Payment.Status.REFUNDED if charge.refunded else Payment.Status.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["amount_refunded_cents", "refunded_at", "status"])
    membership = payment.membership
    if membership.stripe_subscription_id:
        membership_apply_subscription(
            gateway.retrieve_subscription(membership.stripe_subscription_id)
        )


def _dues_refunded(membership: Membership, sub: gateway.SubscriptionData) -> Payment | None:
    """The payment for the subscription's current invoice, if it was refunded in full."""
    if sub.latest_invoice is None:
        return None
    return Payment.objects.filter(
        membership=membership,
        stripe_invoice_id=sub.latest_invoice.id,
        status=Payment.Status.REFUNDED,
    ).first()


def _queue_subscription_cancel(subscription_id: str) -> None:
    from .tasks import subscription_cancel

    transaction.on_commit(lambda: subscription_cancel.delay(subscription_id))


def _end_stripe_subscription(membership: Membership) -> None:
    """Stop billing a membership that ended on our side (lapse, refund, cancel, deletion)."""
    if membership.stripe_subscription_id and membership.stripe_subscription_status in _LIVE_STRIPE:
        _queue_subscription_cancel(membership.stripe_subscription_id)


# --- the clock -----------------------------------------------------------------------------------


def memberships_advance(*, now: datetime | None = None) -> int:
    """Move memberships along as time passes: active past its period (and not renewed) into
    grace, grace past its end into lapsed, complimentary past its end into lapsed.
    Returns how many changed. Safe to run at any time and any number of times."""
    now = now or timezone.now()
    changed = 0
    due = Membership.objects.filter(
        Q(state=State.ACTIVE, is_complimentary=True, access_ends_at__lte=now)
        | Q(state=State.ACTIVE, is_complimentary=False, current_period_end__lte=now - RENEWAL_SLACK)
        | Q(state=State.GRACE, access_ends_at__lte=now)
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            m = _lock(pk)
            before = m.state
            if m.state == State.ACTIVE and m.is_complimentary and m.access_ends_at <= now:
                m.state = State.LAPSED
                reason = "complimentary membership ended"
            elif (
                m.state == State.ACTIVE
                and m.current_period_end
                and m.current_period_end <= now - RENEWAL_SLACK
            ):
                m.state = State.GRACE
                m.grace_started_at = m.current_period_end
                m.access_ends_at = m.grace_started_at + grace_days()
                reason = "membership period ended without renewal"
                _settle_by_clock(m, now)
            elif m.state == State.GRACE and m.access_ends_at <= now:
                m.state = State.LAPSED
                reason = "grace period over"
            else:
                continue
            m.save()
            _record(m, before, reason=reason)
            _on_enter(m, before, key=f"{m.grace_started_at or now:%Y-%m-%d}")
            if m.state == State.LAPSED:
                _end_stripe_subscription(m)
            changed += 1
    return changed


def reminders_queue(*, now: datetime | None = None) -> int:
    """Queue renewal reminders (30 and 7 days ahead, members without auto-renew) and the last
    grace warning. The ledger makes each one go out once, however often this runs."""
    now = now or timezone.now()
    queued = 0
    days = sorted(settings.MEMBERSHIP_RENEWAL_REMINDER_DAYS, reverse=True)
    kinds = {30: Notice.Kind.RENEWAL_30, 7: Notice.Kind.RENEWAL_7}
    for index, ahead in enumerate(days):
        kind = kinds.get(ahead, Notice.Kind.RENEWAL_30)
        closer = days[index + 1] if index + 1 < len(days) else 0
        window = Membership.objects.filter(
            state=State.ACTIVE,
            auto_renew=False,
            current_period_end__gt=now + timedelta(days=closer),
            current_period_end__lte=now + timedelta(days=ahead),
        )
        for m in window.select_related("user"):
            queued += notice_queue(membership=m, kind=kind, key=f"{m.current_period_end:%Y-%m-%d}")
    warn = timedelta(days=settings.MEMBERSHIP_GRACE_WARNING_DAYS)
    for m in Membership.objects.filter(
        state=State.GRACE, access_ends_at__gt=now, access_ends_at__lte=now + warn
    ).select_related("user"):
        queued += notice_queue(
            membership=m, kind=Notice.Kind.GRACE_WARNING, key=f"{m.grace_started_at:%Y-%m-%d}"
        )
    return queued


# --- notices -------------------------------------------------------------------------------------


def notice_queue(*, membership: Membership, kind: str, key: str, to_email: str = "") -> bool:
    """Add a notice to the ledger and send it after commit; False if it was queued before."""
    to_email = to_email or membership.user.email
    notice, created = Notice.objects.get_or_create(
        membership=membership, kind=kind, key=key[:80], defaults={"to_email": to_email}
    )
    if created:
        from .tasks import send_notice

        transaction.on_commit(lambda: send_notice.delay(notice.pk))
    return created


# --- staff actions -------------------------------------------------------------------------------


def membership_grant_complimentary(
    *, user, plan: Plan, ends_at: datetime, actor, reason: str
) -> Membership:
    """Give a person free membership until `ends_at`; recorded with who and why."""
    if ends_at <= timezone.now():
        raise MembershipError("The end date must be in the future.")
    with transaction.atomic():
        m = Membership.objects.select_for_update().filter(user=user, practice__isnull=True).first()
        if m is None:
            m = Membership.objects.create(user=user, plan=plan)
            _record(m, "", reason="complimentary membership created")
        if m.is_live and not m.is_complimentary:
            raise MembershipError("This person already has a paid membership.")
        before = m.state
        m.plan = plan
        m.state = State.ACTIVE
        m.is_complimentary = True
        m.auto_renew = False
        m.current_period_end = ends_at
        m.access_ends_at = ends_at
        m.grace_started_at = None
        m.started_at = m.started_at or timezone.now()
        m.save()
        StateChange.objects.create(
            membership=m,
            from_state=before,
            to_state=m.state,
            actor=actor,
            reason=f"complimentary until {ends_at:%Y-%m-%d}: {reason}"[:300],
        )
        _on_enter(m, before, key=f"comp-{ends_at:%Y-%m-%d}")
    return m


def membership_cancel(*, membership: Membership, actor, reason: str) -> Membership:
    """End a membership now (staff action); its Stripe subscription is canceled too."""
    with transaction.atomic():
        m = _lock(membership.pk)
        before = m.state
        m.state = State.CANCELED
        m.access_ends_at = timezone.now()
        m.auto_renew = False
        m.save()
        StateChange.objects.create(
            membership=m, from_state=before, to_state=m.state, actor=actor, reason=reason[:300]
        )
        _end_stripe_subscription(m)
    return m


# --- practice seats ------------------------------------------------------------------------------


def seats_in_use(membership: Membership) -> int:
    return membership.seats.filter(removed_at__isnull=True).count()


def seat_invite(*, membership: Membership, email: str, invited_by) -> Seat:
    """Invite a staff member to the practice membership by email (one open seat per address).

    Raises MembershipError when the inviter is not the practice admin, the membership is not
    live or every seat is taken.
    """
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    with transaction.atomic():
        m = _lock(membership.pk)
        if not m.practice_id or m.user_id != invited_by.pk:
            raise MembershipError("Only the practice admin can invite staff.")
        if not m.is_live:
            raise MembershipError("The practice membership is not active.")
        if seats_in_use(m) >= m.plan.seats:
            raise MembershipError(f"All {m.plan.seats} seats are in use.")
        if m.seats.filter(removed_at__isnull=True, email__iexact=email).exists():
            raise MembershipError(f"{email} already has a seat or an invitation.")
        seat = Seat.objects.create(membership=m, email=email, invited_by=invited_by)
        notice_queue(
            membership=m, kind=Notice.Kind.SEAT_INVITE, key=f"seat-{seat.pk}", to_email=email
        )
    return seat


def seat_accept(*, seat: Seat, user) -> Seat:
    """The invited person takes the seat; their verified email must be the invited one."""
    with transaction.atomic():
        seat = Seat.objects.select_for_update().get(pk=seat.pk)
        if seat.removed_at is not None:
            raise MembershipError("This invitation was withdrawn.")
        if seat.user_id == user.pk:
            return seat
        if seat.user_id is not None:
            raise MembershipError("This invitation has already been accepted.")
        if not EmailAddress.objects.filter(
            user=user, email__iexact=seat.email, verified=True
        ).exists():
            raise MembershipError(
                f"This invitation is for {seat.email}. Log in with that address to accept it."
            )
        seat.user = user
        seat.accepted_at = timezone.now()
        seat.save(update_fields=["user", "accepted_at"])
    return seat


def seat_remove(*, seat: Seat, actor) -> Seat:
    """Take a seat (or an invitation) back; the person loses member access at once."""
    with transaction.atomic():
        seat = (
            Seat.objects.select_for_update(of=("self",))
            .select_related("membership")
            .get(pk=seat.pk)
        )
        if seat.membership.user_id != actor.pk:
            raise MembershipError("Only the practice admin can remove staff.")
        if seat.user_id == actor.pk:
            raise MembershipError("The practice admin keeps their own seat.")
        if seat.removed_at is None:
            seat.removed_at = timezone.now()
            seat.save(update_fields=["removed_at"])
    return seat


# --- profile and account --------------------------------------------------------------------------


def account_delete(*, user) -> None:
    """Delete a person's account but keep the financial records.

    The user row stays (payments and state history point at it) but loses everything that
    identifies them: name, email addresses, profile, MFA, password. Their membership ends and
    the Stripe subscription is canceled; payments keep the billed name and email for the books.
    """
    from allauth.mfa.models import Authenticator

    with transaction.atomic():
        for m in Membership.objects.filter(user=user).select_for_update():
            if m.state not in {State.LAPSED, State.CANCELED}:
                before = m.state
                m.state = State.CANCELED
                m.access_ends_at = timezone.now()
                m.auto_renew = False
                m.save()
                _record(m, before, reason="account deleted by its owner", actor=user)
                _end_stripe_subscription(m)
        Seat.objects.filter(user=user, removed_at__isnull=True).update(removed_at=timezone.now())
        MemberProfile.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        user.username = f"deleted-{user.pk}"
        user.email = ""
        user.first_name = user.last_name = ""
        user.is_active = False
        user.is_staff = user.is_superuser = False
        user.set_unusable_password()
        user.save()
        user.groups.clear()
