"""Certificates: issued once per member and source, revoked and reissued by staff, mailed once.

A certificate copies what it says when issued (name, event, hours, sessions), so it reads the
same on paper and on `/verify/<number>/` for as long as it is valid.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Certificate, CreditType
from .common import Refusal

log = logging.getLogger(__name__)


def _hours_json(hours: Mapping[str, Decimal]) -> dict[str, str]:
    """{"CRMS": "3.50"} in credit-type order, leaving out zero hours."""
    order = {code: i for i, code in enumerate(CreditType.objects.values_list("code", flat=True))}
    kept = {code: Decimal(h) for code, h in hours.items() if Decimal(h) > 0}
    return {
        code: f"{kept[code]:.2f}" for code in sorted(kept, key=lambda c: (order.get(c, 999), c))
    }


def certificate_issue(
    *,
    member: Any,
    source_kind: str,
    source_ref: str,
    title: str,
    hours: Mapping[str, Decimal],
    earned_on: date,
    event_title: str = "",
    items: Iterable[str] = (),
    holder_name: str = "",
    reissued_from: Certificate | None = None,
    mail: bool = True,
) -> tuple[Certificate, bool]:
    """The member's valid certificate for this source, issued now if there is none;
    (certificate, created). Idempotent: the partial unique constraint allows one valid
    certificate per member and source, so a second call (bulk issue run twice) finds it.
    A new certificate is mailed once, after commit (`send_certificate`)."""
    existing = Certificate.objects.filter(
        member=member, source_kind=source_kind, source_ref=source_ref, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    hours_json = _hours_json(hours)
    if not hours_json:
        raise Refusal("A certificate needs hours of at least one credit type.")
    name = holder_name.strip() or member.get_full_name() or member.email
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                member=member,
                holder_name=name[:200],
                title=title[:200],
                event_title=event_title[:200],
                source_kind=source_kind,
                source_ref=source_ref,
                hours=hours_json,
                items=list(items),
                earned_on=earned_on,
                reissued_from=reissued_from,
            )
    except IntegrityError:
        return (
            Certificate.objects.get(
                member=member,
                source_kind=source_kind,
                source_ref=source_ref,
                revoked_at__isnull=True,
            ),
            False,
        )
    log.info("certificate %s issued to member %s for %s", certificate.number, member.pk, title)
    if mail:
        from .. import tasks  # local: tasks imports these services

        pk = certificate.pk
        transaction.on_commit(lambda: tasks.send_certificate.delay(pk))
    return certificate, True


def certificate_revoke(*, certificate: Certificate, by: Any, reason: str) -> Certificate:
    """Mark a certificate revoked: `/verify/` then says so. Revoking twice changes nothing."""
    reason = reason.strip()
    if not reason:
        raise Refusal("Say why the certificate is revoked.")
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = by
            locked.revoke_reason = reason[:300]
            locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
            log.info(
                "certificate %s revoked by %s: %s", locked.number, getattr(by, "pk", None), reason
            )
    return locked


def certificate_reissue(
    *, certificate: Certificate, by: Any, holder_name: str = "", reason: str = ""
) -> Certificate:
    """Revoke a certificate and issue its replacement (a new number; the name corrected
    where staff give one), in one transaction. A certificate is reissued only once."""
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if hasattr(locked, "reissued_as"):
            raise Refusal(f"{locked.number} was already reissued as {locked.reissued_as.number}.")
        if locked.revoked_at is None:
            certificate_revoke(
                certificate=locked, by=by, reason=reason or "Reissued with a new number."
            )
        new, _ = certificate_issue(
            member=locked.member,
            source_kind=locked.source_kind,
            source_ref=locked.source_ref,
            title=locked.title,
            hours={code: Decimal(h) for code, h in locked.hours.items()},
            earned_on=locked.earned_on,
            event_title=locked.event_title,
            items=locked.items,
            holder_name=holder_name or locked.holder_name,
            reissued_from=locked,
        )
    return new


def certificate_lookup(number: str) -> Certificate | None:
    """The certificate a typed or scanned number names, or None (forged, mistyped)."""
    cleaned = number.strip().upper()
    if not cleaned or len(cleaned) > 20:
        return None
    return Certificate.objects.filter(number=cleaned).first()
