"""Attendees: substitutions and check-in at the desk."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..models import Attendee, Order, random_code
from .common import (
    RegistrationError,
)


def attendee_substitute(
    *,
    attendee_id: int,
    by_user: User,
    first_name: str,
    last_name: str,
    email: str,
    practice: str = "",
    dietary_needs: str = "",
    accessibility_needs: str = "",
) -> Attendee:
    """Put another person in an attendee's seat, before the conference's cut-off.

    The seat, ticket type and break-outs stay; the ticket code changes so the old QR code no
    longer admits anyone, and the new attendee gets their own confirmation.
    """
    # local: conferences.tasks imports the services at module level
    from .. import tasks

    with transaction.atomic():
        attendee = (
            Attendee.objects.select_for_update()
            .select_related("order__conference")
            .get(pk=attendee_id)
        )
        order = attendee.order
        if order.owner_id != by_user.pk and not by_user.is_staff:
            raise PermissionError("Only the person who placed the order can change attendees.")
        if order.status != Order.Status.PAID:
            raise RegistrationError("Only confirmed orders can change attendees.")
        if not order.conference.substitution_allowed(timezone.localdate()):
            raise RegistrationError("The deadline for substitutions has passed.")
        attendee.first_name = first_name.strip()
        attendee.last_name = last_name.strip()
        attendee.email = email.strip()
        attendee.practice = practice.strip()
        attendee.dietary_needs = dietary_needs.strip()
        attendee.accessibility_needs = accessibility_needs.strip()
        attendee.ticket_code = random_code()
        attendee.checked_in_at = None
        attendee.save()
        transaction.on_commit(lambda: tasks.send_attendee_ticket.delay(attendee.pk))
    return attendee


@dataclass
class CheckIn:
    attendee: Attendee
    already: bool


def attendee_check_in(*, conference_id: int, ticket_code: str, by_user: User) -> CheckIn:
    """Mark a confirmed attendee as arrived; reports when they were already checked in.

    Raises RegistrationError for an unknown code or an order that is not confirmed.
    """
    code = ticket_code.strip().upper()
    with transaction.atomic():
        attendee = (
            Attendee.objects.select_for_update(of=("self",))
            .select_related("order", "ticket_type")
            .filter(ticket_code=code, order__conference_id=conference_id)
            .first()
        )
        if attendee is None:
            raise RegistrationError(f"No ticket {code} for this conference.")
        if attendee.order.status != Order.Status.PAID:
            raise RegistrationError(
                f"{attendee.full_name}'s order is {attendee.order.get_status_display().lower()}."
            )
        if attendee.checked_in_at:
            return CheckIn(attendee=attendee, already=True)
        attendee.checked_in_at = timezone.now()
        attendee.checked_in_by = by_user
        attendee.save(update_fields=["checked_in_at", "checked_in_by"])
    return CheckIn(attendee=attendee, already=False)
