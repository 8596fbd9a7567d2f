"""Every write the education app makes goes through these functions.

Split by subject: `credits` (the ledger), `certificates` (issue, revoke, reissue, lookup),
`attendance` (door scans and room-code check-in at conference sessions), `evaluations`
(the session survey) and `earning` (a session's rule met: hours, certificates, bulk issue).
"""

from .attendance import CheckIn, attendee_member, door_check_in, self_check_in, session_check_in
from .certificates import (
    certificate_issue,
    certificate_lookup,
    certificate_reissue,
    certificate_revoke,
)
from .common import Refusal
from .credits import credit_grant, outside_credit_enter
from .earning import (
    attendance_earn,
    certificates_issue,
    conference_certificate,
    conference_ref,
    program_over,
    rule_for,
    session_ref,
)
from .evaluations import (
    evaluation_parse,
    evaluation_results,
    evaluation_state,
    evaluation_submit,
    questions_for,
)

__all__ = [
    "CheckIn",
    "Refusal",
    "attendance_earn",
    "attendee_member",
    "certificate_issue",
    "certificate_lookup",
    "certificate_reissue",
    "certificate_revoke",
    "certificates_issue",
    "conference_certificate",
    "conference_ref",
    "credit_grant",
    "door_check_in",
    "evaluation_parse",
    "evaluation_results",
    "evaluation_state",
    "evaluation_submit",
    "outside_credit_enter",
    "program_over",
    "questions_for",
    "rule_for",
    "self_check_in",
    "session_check_in",
    "session_ref",
]
