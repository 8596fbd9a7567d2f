"""Every write the discussions app makes goes through these functions.

Split by stage: `inbound` (route, store, ingest, bounces), `posting` (checks, threading,
publishing), `delivery` (fan-out ledger and batches), `members` (subscriptions, thread
preferences), `moderation` and `digests`.
"""

from .delivery import (
    deliveries_claim,
    deliveries_send_batch,
    deliveries_sweep,
    list_message_prepare,
    message_fan_out,
    recipients_for,
)
from .digests import digest_build, digests_prepare
from .inbound import (
    bounce_process,
    bounce_record,
    inbound_data_refusal,
    inbound_ingest,
    inbound_refusal,
    inbound_release,
    inbound_route,
    inbound_store,
)
from .members import (
    invitation_accept,
    invitation_create,
    invitation_read,
    invitation_token,
    join_request_create,
    join_request_decide,
    may_join_directly,
    subscription_cancel,
    subscription_set,
    subscription_unsubscribe,
    thread_preference_set,
)
from .moderation import message_approve, message_reject, sender_ban
from .posting import (
    find_parent,
    hold_reasons,
    message_confirm,
    message_create,
    message_post_web,
    message_publish,
)
from .private_reply import (
    Refused,
    private_reply_address,
    private_reply_web,
)

__all__ = [
    "Refused",
    "bounce_process",
    "bounce_record",
    "deliveries_claim",
    "deliveries_send_batch",
    "deliveries_sweep",
    "digest_build",
    "digests_prepare",
    "find_parent",
    "hold_reasons",
    "inbound_data_refusal",
    "inbound_ingest",
    "inbound_refusal",
    "inbound_release",
    "inbound_route",
    "inbound_store",
    "invitation_accept",
    "invitation_create",
    "invitation_read",
    "invitation_token",
    "join_request_create",
    "join_request_decide",
    "list_message_prepare",
    "may_join_directly",
    "message_approve",
    "message_confirm",
    "message_create",
    "message_fan_out",
    "message_post_web",
    "message_publish",
    "message_reject",
    "private_reply_address",
    "private_reply_web",
    "recipients_for",
    "sender_ban",
    "subscription_cancel",
    "subscription_set",
    "subscription_unsubscribe",
    "thread_preference_set",
]
