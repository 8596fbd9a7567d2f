"""The four mails an election sends: the call for nominations, the opening, one reminder to
those who have not voted, and the results. Each goes to a person at most once.

Promises:
- mail_queue writes one MailLedger row per (election, kind, person) under a unique
  constraint, so queuing twice (a beat task run twice) claims nobody twice.
- mail_send_pending sends each unsent row through portal.sendonce: claimed first, sent with
  no database lock held, then marked; a row another worker has claimed is left to it.
- A reminder is re-checked when sent: someone who voted meanwhile is skipped, not mailed.
- The opening mail and the reminder carry the voter's personal signed link; no mail ever
  holds a receipt code or a choice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from membership import access
from portal.mail import render_email
from portal.sendonce import SendInProgress, send_once

from ..models import Election, Elector, MailLedger, Participation
from .voting import link_for

if TYPE_CHECKING:
    from django.core.mail import EmailMultiAlternatives
    from django.db.models import QuerySet

log = logging.getLogger(__name__)

SUBJECTS: dict[str, str] = {
    MailLedger.Kind.CALL_FOR_NOMINATIONS: "Nominations are open: {title}",
    MailLedger.Kind.OPENING: "Voting is open: {title}",
    MailLedger.Kind.REMINDER: "Reminder: you have not voted yet in {title}",
    MailLedger.Kind.RESULTS: "Results: {title}",
}


def _recipients(election: Election, kind: str) -> QuerySet[Any, int]:
    if kind == MailLedger.Kind.CALL_FOR_NOMINATIONS:
        return access.active_members().values_list("pk", flat=True)
    electors = Elector.objects.filter(election=election).values_list("user_id", flat=True)
    if kind == MailLedger.Kind.REMINDER:
        voted = Participation.objects.filter(election=election).values("user_id")
        electors = electors.exclude(user_id__in=voted)
    return electors


def mail_queue(election: Election, kind: str) -> int:
    """Claim one ledger row per recipient of `kind` (see the module docstring); returns how
    many rows this call added."""
    before = MailLedger.objects.filter(election=election, kind=kind).count()
    MailLedger.objects.bulk_create(
        [
            MailLedger(election=election, kind=kind, user_id=pk)
            for pk in _recipients(election, kind)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return MailLedger.objects.filter(election=election, kind=kind).count() - before


def _message(row: MailLedger) -> EmailMultiAlternatives:
    election = row.election
    url = settings.SITE_URL + reverse("elections:detail", args=[election.slug])
    context = {"election": election, "user": row.user, "election_url": url}
    if row.kind in {MailLedger.Kind.OPENING, MailLedger.Kind.REMINDER}:
        context["vote_url"] = settings.SITE_URL + reverse(
            "elections:vote-link", args=[election.slug, link_for(election, row.user)]
        )
    if row.kind == MailLedger.Kind.RESULTS:
        context["results_url"] = settings.SITE_URL + reverse(
            "elections:results", args=[election.slug]
        )
    return render_email(
        template=f"elections/email/{row.kind}",
        subject=SUBJECTS[row.kind].format(title=election.title),
        to=[row.user.email],
        context=context,
    )


def mail_send_pending(election: Election, kind: str, *, limit: int = 200) -> int:
    """Send up to `limit` unsent rows of `kind` through portal.sendonce; returns how many
    were sent. A row another worker is sending right now is left to it."""
    pending = list(
        MailLedger.objects.filter(election=election, kind=kind, sent_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in pending:
        try:
            sent += _send_row(pk)
        except SendInProgress:
            continue
    return sent


def _send_row(pk: int) -> bool:
    row = MailLedger.objects.select_related("user", "election").get(pk=pk)
    # Re-checked at send time: someone who voted since the reminder was queued is skipped.
    skipped = (
        row.kind == MailLedger.Kind.REMINDER
        and Participation.objects.filter(election_id=row.election_id, user_id=row.user_id).exists()
    )
    unsent = MailLedger.objects.filter(pk=pk, sent_at__isnull=True)
    return send_once(
        f"elections.mailledger:{pk}",
        lambda: None if skipped or not row.user.email else _message(row),
        is_sent=lambda: not unsent.exists(),
        mark_sent=lambda: unsent.update(sent_at=timezone.now(), skipped=skipped),
    )
