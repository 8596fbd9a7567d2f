"""Every write the education app makes goes through these functions.

Split by subject: `credits` (the ledger), `certificates` (issue, revoke, reissue, lookup),
`attendance` (door scans and room-code check-in at conference sessions), `evaluations`
(the session survey) and `earning` (a session's rule met: hours, certificates, bulk issue).
"""

from .certificates import (
    certificate_issue,
    certificate_lookup,
    certificate_reissue,
    certificate_revoke,
)
from .common import Refusal
from .credits import credit_grant, outside_credit_enter

__all__ = [
    "Refusal",
    "certificate_issue",
    "certificate_lookup",
    "certificate_reissue",
    "certificate_revoke",
    "credit_grant",
    "outside_credit_enter",
]
