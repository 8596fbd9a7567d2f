"""Every write registration makes: orders, seats, payment, waitlist, cancellation, check-in.

Each service is keyword-only, runs in one transaction and queues slow work (mail, Stripe
refunds) with transaction.on_commit, so a task never sees a row that was rolled back.

Split by stage: `orders` (creating an order and taking its seats), `paying` (Checkout, a
payment confirmed, seats retaken after a lapsed hold), `holds` (unpaid holds that lapse),
`cancellation` (cancellation, refunds and the policy in words), `invoicing` (numbered
invoices, credit notes, paying by invoice), `attendees` (substitution,
check-in) and `waitlist`; `common` holds the errors and the helpers they share.
"""

from .attendees import CheckIn, attendee_check_in, attendee_substitute
from .cancellation import describe_refund_policy, order_cancel, order_refund_amount, refund_send
from .common import (
    BUSY_MESSAGE,
    AttendeeSpec,
    HoldLapsed,
    PaymentAmountMismatch,
    RegistrationBusy,
    RegistrationError,
    SeatsAvailable,
    SoldOut,
    UnpaidOrderExists,
)
from .holds import order_expire_holds
from .invoicing import invoice_allowed, order_documents, order_invoice_paid, order_pay_by_invoice
from .orders import order_create
from .paying import order_checkout_completed, order_checkout_start, order_mark_paid
from .waitlist import (
    attendee_take_breakout_offer,
    waitlist_join,
    waitlist_join_breakout,
    waitlist_lapse_offers,
    waitlist_offer_seats,
)

__all__ = [
    "BUSY_MESSAGE",
    "AttendeeSpec",
    "CheckIn",
    "HoldLapsed",
    "PaymentAmountMismatch",
    "RegistrationBusy",
    "RegistrationError",
    "SeatsAvailable",
    "SoldOut",
    "UnpaidOrderExists",
    "attendee_check_in",
    "attendee_substitute",
    "attendee_take_breakout_offer",
    "describe_refund_policy",
    "invoice_allowed",
    "order_cancel",
    "order_checkout_completed",
    "order_checkout_start",
    "order_create",
    "order_documents",
    "order_expire_holds",
    "order_invoice_paid",
    "order_mark_paid",
    "order_pay_by_invoice",
    "order_refund_amount",
    "refund_send",
    "waitlist_join",
    "waitlist_join_breakout",
    "waitlist_lapse_offers",
    "waitlist_offer_seats",
]
