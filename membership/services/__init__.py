"""Every write to membership state: joining, Stripe's view of a subscription, the clock,
seats, complimentary grants, notices and account deletion.

Split by subject: `joining` (the membership a checkout pays for, Stripe Customer, Price and
Checkout Session), `billing` (Stripe's subscriptions, invoices and refunds applied to our
rows), `clock` (grace, lapse and reminders as time passes), `notices` (the mail ledger),
`invoices` (dues on numbered invoices, paying by
invoice), `staff` (complimentary grants, cancellations), `seats` (practice seats), `importing`
(members from a CSV), `renewal` (the signed link in renewal reminders) and `account`
(deletion, claiming an imported account). `common` holds what they share. Slow work (Stripe
calls that may wait, mail) is queued with `transaction.on_commit`.
"""

from .account import account_claim_link, account_delete, account_verify_after_reset
from .billing import (
    membership_apply_checkout,
    membership_apply_refund,
    membership_apply_subscription,
    payment_record,
)
from .clock import memberships_advance, reminders_queue
from .common import (
    RENEWAL_SLACK,
    MembershipError,
    grace_days,
    membership_for_user,
    seat_membership_for_user,
)
from .importing import ImportRefused, import_members
from .invoices import (
    membership_invoice_paid,
    membership_invoice_part_paid,
    membership_pay_by_invoice,
)
from .joining import (
    membership_checkout,
    membership_customer,
    membership_customer_email_sync,
    membership_prepare,
    plan_sync_stripe,
    practice_membership_create,
)
from .notices import notice_queue
from .renewal import LinkState, RenewalLink, renewal_read, renewal_token
from .seats import seat_accept, seat_invite, seat_remove, seats_in_use
from .staff import membership_cancel, membership_grant_complimentary

__all__ = [
    "RENEWAL_SLACK",
    "ImportRefused",
    "LinkState",
    "MembershipError",
    "RenewalLink",
    "account_claim_link",
    "account_delete",
    "account_verify_after_reset",
    "grace_days",
    "import_members",
    "membership_apply_checkout",
    "membership_apply_refund",
    "membership_apply_subscription",
    "membership_cancel",
    "membership_checkout",
    "membership_customer",
    "membership_customer_email_sync",
    "membership_for_user",
    "membership_grant_complimentary",
    "membership_invoice_paid",
    "membership_invoice_part_paid",
    "membership_pay_by_invoice",
    "membership_prepare",
    "memberships_advance",
    "notice_queue",
    "payment_record",
    "plan_sync_stripe",
    "practice_membership_create",
    "reminders_queue",
    "renewal_read",
    "renewal_token",
    "seat_accept",
    "seat_invite",
    "seat_membership_for_user",
    "seat_remove",
    "seats_in_use",
]
