"""Membership's Celery tasks: thin wrappers that load rows and call a service.

Each is safe to run twice: a Checkout Session is applied from Stripe's current state, notices
go through portal.sendonce against their sent time, Stripe cancellations of an already
canceled subscription are a no-op.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from payments import gateway
from portal.mail import render_email
from portal.retry import SMTP_RETRY, STRIPE_RETRY
from portal.sendonce import send_once_stamped

from . import services
from .models import Notice, Plan, Seat

log = logging.getLogger(__name__)


@shared_task(**STRIPE_RETRY)
def checkout_session_sync(session_id: str) -> None:
    """Apply a membership Checkout Session now (the success page asks; the webhook also will)."""
    session = gateway.retrieve_checkout_session(session_id)
    if session.metadata.get("kind") == gateway.MEMBERSHIP_KIND:
        services.membership_apply_checkout(session)


@shared_task(**STRIPE_RETRY)
def subscription_cancel(subscription_id: str) -> None:
    gateway.cancel_subscription(subscription_id)


@shared_task(**STRIPE_RETRY)
def customer_email_sync(user_id: int) -> int:
    return services.membership_customer_email_sync(user_id=user_id)


@shared_task(**STRIPE_RETRY)
def plan_sync_stripe(plan_id: int) -> None:
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is not None:
        services.plan_sync_stripe(plan=plan)


@shared_task(**STRIPE_RETRY)
def plan_sync(plan_id: int) -> None:
    """Old name of plan_sync_stripe, kept for messages queued before the rename (a plan saved
    just before a deploy). Remove once no worker can hold one."""
    plan_sync_stripe(plan_id)


@shared_task
def memberships_advance() -> int:
    return services.memberships_advance()


@shared_task
def reminders_queue() -> int:
    return services.reminders_queue()


_SUBJECTS = {
    Notice.Kind.WELCOME: "Welcome to {name}",
    Notice.Kind.RENEWAL_30: "Your {name} membership renews in 30 days",
    Notice.Kind.RENEWAL_7: "Your {name} membership ends in a week",
    Notice.Kind.PAYMENT_FAILED: "We could not collect your {name} dues",
    Notice.Kind.GRACE_WARNING: "Your {name} membership is about to lapse",
    Notice.Kind.LAPSED: "Your {name} membership has lapsed",
    Notice.Kind.SEAT_INVITE: "You're invited to join {name} with your practice",
    Notice.Kind.ACCOUNT_INVITE: "Your {name} account is ready: set your password",
}


@shared_task(**SMTP_RETRY)
def send_notice(notice_id: int) -> bool:
    """Send one ledger notice unless it was sent already. True when this call sent it."""
    return send_once_stamped(Notice, notice_id, "sent_at", lambda: _notice_mail(notice_id))


def _notice_mail(notice_id: int) -> EmailMultiAlternatives | None:
    """The notice's mail, or None when there is nothing to send (recorded as sent)."""
    notice = (
        Notice.objects.select_related(
            "membership__user", "membership__plan", "membership__practice"
        )
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        return None
    m = notice.membership
    context = {"membership": m, "user": m.user, "plan": m.plan, "notice": notice}
    if notice.kind == Notice.Kind.SEAT_INVITE:
        seat = Seat.objects.filter(pk=int(notice.key.removeprefix("seat-"))).first()
        if seat is None or seat.removed_at is not None:
            return None  # withdrawn before it went out
        context["seat"] = seat
    if notice.kind in (Notice.Kind.RENEWAL_30, Notice.Kind.RENEWAL_7):
        # Signed now, for the period as it stands when the mail goes out.
        token = services.renewal_token(m)
        context["renew_url"] = (
            f"{settings.SITE_URL}{reverse('membership:renew', args=[token])}"
            if token
            else f"{settings.SITE_URL}{reverse('membership:join')}"
        )
    if notice.kind == Notice.Kind.ACCOUNT_INVITE:
        invited = get_user_model().objects.filter(pk=int(notice.key.removeprefix("user-"))).first()
        link = services.account_claim_link(invited.pk) if invited else None
        if invited is None or link is None:
            return None  # claimed (a password set, or logged in) before it went out
        context.update(user=invited, claim_url=link)  # a seat's mail greets the seat holder
    return render_email(
        template=f"membership/email/{notice.kind}",
        subject=_SUBJECTS[notice.kind].format(name=settings.WAGTAIL_SITE_NAME),
        to=[notice.to_email],
        context=context,
    )


@shared_task(**SMTP_RETRY)
def send_account_mail(
    subject: str, body: str, html: str, from_email: str, to: list[str], headers: dict
) -> None:
    """Mail allauth rendered in a request (verification, password reset), sent from here."""
    message = EmailMultiAlternatives(subject, body, from_email, to, headers=headers)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
