"""Joining: the membership a checkout pays for, its Stripe Customer, Price and Checkout Session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments import gateway

from ..models import Membership, Plan, Practice, Seat
from .common import MembershipError, State, _record

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def membership_prepare(
    *,
    user: User,
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


def practice_membership_create(*, admin: User, practice: Practice, plan: Plan) -> Membership:
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
    name = membership.practice.name if membership.practice else user.get_full_name()
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
        name = membership.practice.name if membership.practice else user.get_full_name()
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
