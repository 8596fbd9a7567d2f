"""What every elections service shares: the refusal it raises, and the staff audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import AuditEntry, Election

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Refusal(Exception):
    """A request the rules turn down. Nothing was written; the view answers `status` with
    `message`, which is meant for the person who asked."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def audit(
    *, election: Election, actor: User | AnonymousUser | None, action: str, detail: str = ""
) -> AuditEntry:
    """Record a staff (or scheduled, actor None) action on an election. Never records a
    person's choices: nothing that knows them calls this."""
    return AuditEntry.objects.create(
        election=election,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        detail=detail[:500],
    )
