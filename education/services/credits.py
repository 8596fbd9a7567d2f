"""The credit ledger: granting hours, once per member, source and credit type."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from ..models import CreditRecord, CreditType, SourceKind
from .common import Refusal

log = logging.getLogger(__name__)


def credit_grant(
    *,
    member: Any,
    source_kind: str,
    source_ref: str,
    credit_type: CreditType,
    hours: Decimal,
    earned_on: date,
    title: str,
    provider: str = "",
    entered_by: Any = None,
) -> tuple[CreditRecord, bool]:
    """Record `hours` of `credit_type` for `member` from one source; (record, created).

    Idempotent: a second grant for the same member, source and type returns the first row
    unchanged (a retried task, a second scan, a bulk issue run twice), so hours never double.
    """
    if source_kind not in SourceKind.values:
        raise Refusal(f"Unknown source {source_kind!r}.")
    hours = Decimal(hours)
    if hours <= 0:
        raise Refusal("Hours must be more than zero.")
    key = {
        "member": member,
        "source_kind": source_kind,
        "source_ref": source_ref,
        "credit_type": credit_type,
    }
    existing = CreditRecord.objects.filter(**key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            record = CreditRecord.objects.create(
                **key,
                hours=hours,
                earned_on=earned_on,
                title=title[:200],
                provider=provider[:200],
                entered_by=entered_by,
            )
    except IntegrityError:
        # Another worker granted it between our read and our insert: theirs stands.
        return CreditRecord.objects.get(**key), False
    log.info(
        "credit granted: %s %s to member %s from %s %s",
        hours,
        credit_type.code,
        getattr(member, "pk", member),
        source_kind,
        source_ref,
    )
    return record, True


def outside_credit_enter(
    *,
    member: Any,
    reference: str,
    title: str,
    provider: str,
    credit_type: CreditType,
    hours: Decimal,
    earned_on: date,
    by: Any,
) -> tuple[CreditRecord, bool]:
    """Hours staff enter for an outside event (a webinar, another society's meeting)."""
    reference = reference.strip()[:60]
    if not reference:
        raise Refusal("Give the outside event a reference, such as its date and name.")
    return credit_grant(
        member=member,
        source_kind=SourceKind.OUTSIDE,
        source_ref=f"outside:{reference}",
        credit_type=credit_type,
        hours=hours,
        earned_on=earned_on,
        title=title,
        provider=provider,
        entered_by=by,
    )
