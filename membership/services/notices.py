"""The ledger of membership mail: each notice queued once, sent after commit."""

from __future__ import annotations

from django.db import transaction

from ..models import Membership, Notice


def notice_queue(*, membership: Membership, kind: str, key: str, to_email: str = "") -> bool:
    """Add a notice to the ledger and send it after commit; False if it was queued before."""
    to_email = to_email or membership.user.email
    notice, created = Notice.objects.get_or_create(
        membership=membership, kind=kind, key=key[:80], defaults={"to_email": to_email}
    )
    if created:
        from ..tasks import send_notice  # membership.tasks imports membership.services

        transaction.on_commit(lambda: send_notice.delay(notice.pk))
    return created
