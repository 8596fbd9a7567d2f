"""Every write the elections app makes goes through these functions.

Split by stage: `common` (refusals, the audit log), `nominations`, `voting` (the roll, the
ballot, the one-ballot rule), `closing` (the close, the count, the export) and `mail` (the
four mails, each once per person through the MailLedger).
"""

from .closing import election_close, election_export
from .common import Refusal, audit
from .mail import mail_queue, mail_send_pending
from .nominations import nomination_create, nomination_respond, nomination_review
from .voting import (
    ballot_cast,
    ballot_change,
    ballot_parse,
    link_for,
    roll_freeze,
    user_from_link,
    voter_check,
)

__all__ = [
    "Refusal",
    "audit",
    "ballot_cast",
    "ballot_change",
    "ballot_parse",
    "election_close",
    "election_export",
    "link_for",
    "mail_queue",
    "mail_send_pending",
    "nomination_create",
    "nomination_respond",
    "nomination_review",
    "roll_freeze",
    "user_from_link",
    "voter_check",
]
