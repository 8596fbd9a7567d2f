"""Inbound mail: route an address, store the raw bytes, then ingest them into the archive."""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import re
import traceback
from dataclasses import dataclass
from email.message import Message as PyMessage
from typing import TYPE_CHECKING, Any

import flufl.bounce
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename

from .. import mailauth, mailparse
from ..models import (
    Attachment,
    BannedSender,
    Bounce,
    InboundMessage,
    MailingList,
    Message,
    Subscription,
)
from .common import bounce_address_read, is_moderator, moderation_token_read
from .moderation import message_approve, message_reject
from .posting import attachment_allowed, message_create

if TYPE_CHECKING:
    from celery import Task
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

# Bounce scoring after Mailman 3: a hard bounce scores 1, a soft one 0.5, at most one bounce
# counts per day (one outage bounces many posts), the score resets after a quiet week, and
# delivery stops at the threshold. Policy rejections (5.7.x: DMARC, spam filters) say nothing
# about the mailbox, so they are recorded but never scored.
BOUNCE_SCORE: dict[str, float] = {
    Bounce.Kind.HARD: 1.0,
    Bounce.Kind.SOFT: 0.5,
    Bounce.Kind.POLICY: 0.0,
}
BOUNCE_DISABLE_AT = 3.0
BOUNCE_QUIET_RESET = dt.timedelta(days=7)


@dataclass(frozen=True)
class Route:
    mailing_list: MailingList
    kind: str  # "post", "bounce", "moderate" or "reply" (private, to a post's author)
    detail: str = ""  # bounces: the VERP-encoded recipient; moderate and reply: the token


def inbound_route(*, rcpt_to: str) -> Route | None:
    """Which list and purpose an envelope recipient names, or None (the listener says 550)."""
    local, _, domain = rcpt_to.strip().strip("<>").lower().rpartition("@")
    if domain != settings.LIST_DOMAIN.lower() or not local:
        return None
    kind, detail, slug = "post", "", local
    if "+reply-" in local:
        slug, _, detail = local.partition("+reply-")
        kind = "reply"
    elif "-bounces" in local:
        slug, _, rest = local.partition("-bounces")
        kind, detail = "bounce", rest.lstrip("+")
    elif "-moderate+" in local:
        slug, _, detail = local.partition("-moderate+")
        kind = "moderate"
    mailing_list = MailingList.objects.filter(slug=slug, is_active=True).first()
    return Route(mailing_list, kind, detail) if mailing_list else None


def inbound_refusal(*, rcpt_to: str) -> str | None:
    """The listener's answer to RCPT TO when it is not "250": unknown address, or a private
    reply address that is forged, expired or names an author we cannot reach."""
    from .private_reply import Refused, private_reply_target

    route = inbound_route(rcpt_to=rcpt_to)
    if route is None:
        return "550 5.1.1 No such list here"
    if route.kind == "reply":
        try:
            private_reply_target(route.mailing_list, route.detail)
        except Refused as exc:
            return str(exc)
    return None


def inbound_data_refusal(*, raw: bytes, mail_from: str, rcpt_to: str, peer: str) -> str | None:
    """The listener's answer after DATA when a private reply must be refused (the same
    checks as a post: proven sender, may read the list, no patient data, attachments), so
    the sending server bounces it to its real sender; None to store it as usual."""
    from .private_reply import Refused, private_reply_check

    route = inbound_route(rcpt_to=rcpt_to)
    if route is None or route.kind != "reply":
        return None
    try:
        private_reply_check(
            mailing_list=route.mailing_list,
            detail=route.detail,
            msg=mailparse.parse(raw),
            mail_from=mail_from,
            peer=peer,
        )
    except Refused as exc:
        log.info("Private reply to %s refused: %s", rcpt_to, exc)
        return str(exc)
    return None


def inbound_store(*, raw: bytes, mail_from: str, rcpt_to: str, peer: str = "") -> InboundMessage:
    """Keep the message exactly as received, then queue ingestion after the commit.

    The listener answers 250 only once this returns. If the broker is down the row is still
    safe: the sweeper ingests rows left in "received".
    """
    from ..tasks import inbound_ingest  # cycle: tasks import services

    with transaction.atomic():
        inbound = InboundMessage.objects.create(
            raw=raw,
            mail_from=mailparse.storable(mail_from)[:500],
            rcpt_to=mailparse.storable(rcpt_to)[:500],
            peer=mailparse.storable(peer)[:100],
        )
        transaction.on_commit(lambda: _enqueue(inbound_ingest, inbound.pk))
    return inbound


def _enqueue(task: Task[Any, Any], pk: int) -> None:
    try:
        task.delay(pk)
    except Exception:
        log.exception("Could not queue %s(%s); the sweeper will pick it up", task.name, pk)


def _finish(inbound: InboundMessage, status: str, detail: str = "") -> InboundMessage:
    inbound.status = status
    inbound.detail = mailparse.storable(detail)[:5000]
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["status", "detail", "processed_at"])
    return inbound


def inbound_ingest(*, inbound_id: int) -> InboundMessage | None:
    """Parse a stored message and post, hold, discard or process it as a bounce.

    Runs at most once per row (the status is checked under a row lock). Never raises on bad
    mail: a message that cannot be processed stays stored with status "failed", the error in
    `detail`, and the sender is told. A database error (deadlock, lost connection) leaves the
    row "received" for the sweeper instead.
    """
    from ..tasks import send_failure_notice  # cycle: tasks import services

    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.select_for_update().filter(pk=inbound_id).first()
            if inbound is None:
                # Deleted since it was queued (an admin purge): nothing left to do.
                log.warning("Inbound #%s no longer exists; nothing to ingest", inbound_id)
                return None
            if inbound.status != InboundMessage.Status.RECEIVED:
                return inbound
            return _ingest(inbound)
    except OperationalError:
        # A deadlock or a lost connection says nothing about the message: it stays
        # "received", and the sweeper ingests it again in a few minutes.
        log.exception("Ingest of inbound #%s hit a database error; will retry", inbound_id)
        return None
    except Exception:
        error = traceback.format_exc()
        log.exception("Ingest of inbound #%s failed", inbound_id)
        with transaction.atomic():
            inbound = InboundMessage.objects.select_for_update().get(pk=inbound_id)
            if inbound.status == InboundMessage.Status.RECEIVED:
                _finish(inbound, InboundMessage.Status.FAILED, error)
                transaction.on_commit(lambda: send_failure_notice.delay(inbound_id))
        return inbound


def _ingest(inbound: InboundMessage, *, release: bool = False) -> InboundMessage:
    Status = InboundMessage.Status
    route = inbound_route(rcpt_to=inbound.rcpt_to)
    if route is None:
        return _finish(inbound, Status.DISCARDED, "No such list (any more).")
    msg = mailparse.parse(bytes(inbound.raw))
    mailing_list = route.mailing_list
    if route.kind == "bounce":
        return bounce_process(
            inbound=inbound, mailing_list=mailing_list, verp=route.detail, msg=msg
        )

    # A moderator who releases a discarded message has looked at it: the checks that discard
    # (loops, auto-replies, duplicates) do not apply a second time.
    if not release:
        # Our own mail coming back (a subscriber's forward, an MTA loop): never post it again.
        if mailing_list.address in mailparse.header(msg, "X-Loop").lower() or (
            f"<{mailing_list.list_id}>" in mailparse.header(msg, "List-Id").lower()
        ):
            return _finish(inbound, Status.DISCARDED, "Loop: this list's own mail came back.")
        reason = mailparse.auto_reply_reason(msg, inbound.mail_from)
        if reason:
            # Never posted and never answered, so two robots cannot talk to each other
            # forever. Only RFC 3834 proof gets here; the discarded log can release it.
            return _finish(inbound, Status.DISCARDED, f"Auto-reply: {reason}.")
    if route.kind == "moderate":
        return moderation_by_email(inbound=inbound, route=route, msg=msg)
    if route.kind == "reply":
        return _private_reply(inbound, route)

    from_name, from_email = mailparse.address(msg, "From")
    if not from_email:
        from_email = mailparse.storable(inbound.mail_from.strip("<>").lower())
    if not from_email:
        return _finish(inbound, Status.REJECTED, "No sender address.")
    if BannedSender.objects.filter(mailing_list=mailing_list, email__iexact=from_email).exists():
        return _finish(inbound, Status.REJECTED, f"{from_email} is banned from this list.")
    message_id = (mailparse.message_ids(mailparse.header(msg, "Message-ID")) or [""])[0][:500]

    content = mailparse.body(msg)
    subject = mailparse.header(msg, "Subject")
    # Strip our own tag so "Re: [Billing and Coding] X" archives as "Re: X".
    subject = (
        subject.replace(f"{mailing_list.subject_tag} ", "")
        .replace(mailing_list.subject_tag, "")
        .strip()
        or "(no subject)"
    )[:300]
    dropped = []
    kept = []
    for filename, ctype, payload in content.attachments:
        if attachment_allowed(filename, ctype, len(payload)):
            kept.append((filename, ctype, payload))
        else:
            dropped.append(f"{filename} ({ctype}, {len(payload):,} bytes)")
    text = content.text
    if dropped:
        text += "\n\n[Attachments not kept: " + "; ".join(dropped) + "]"
    text = mailparse.storable(text)
    if not release and message_id and _is_duplicate(mailing_list, message_id, subject, text):
        return _finish(inbound, Status.DISCARDED, f"Duplicate of {message_id}.")

    address = (
        EmailAddress.objects.filter(email__iexact=from_email, verified=True)
        .select_related("user")
        .first()
    )
    user = address.user if address else None
    verdict = mailauth.sender_verdict(msg, from_email=from_email, peer=inbound.peer)
    extra = []
    if not text.strip() and not kept:
        extra.append("Empty message")
    hint = "" if release else mailparse.auto_reply_hint(msg, text)
    if hint:
        extra.append(f"Possible auto-reply ({hint})")
    message = message_create(
        mailing_list=mailing_list,
        user=user,
        from_name=from_name or (user.get_full_name() if user else ""),
        from_email=from_email,
        subject=subject,
        text=text,
        html=content.html,
        message_id=message_id,
        in_reply_to=(mailparse.message_ids(mailparse.header(msg, "In-Reply-To")) or [""])[0],
        references=" ".join(mailparse.message_ids(mailparse.header(msg, "References"))),
        inbound=inbound,
        extra_hold_reasons=extra,
        sender_verified=verdict.trusted,
        sender_check=verdict.reason,
        attachments=kept,
    )
    for filename, ctype, payload in kept:
        safe_name = attachment_filename(filename, ctype)
        Attachment.objects.create(
            message=message,
            file=ContentFile(payload, name=safe_name),
            filename=safe_name,
            content_type=ctype[:120],
            size=len(payload),
        )
    if message.status == Message.Status.HELD:
        return _finish(inbound, Status.HELD, message.hold_reason)
    return _finish(inbound, Status.POSTED)


def _private_reply(inbound: InboundMessage, route: Route) -> InboundMessage:
    from .private_reply import Refused, private_reply_relay

    try:
        reply = private_reply_relay(inbound=inbound, route_detail=route.detail)
    except Refused as exc:
        # The listener refused what it could at DATA; this is what changed since (the
        # address expired meanwhile): nothing is relayed, and the reason is kept.
        return _finish(inbound, InboundMessage.Status.REJECTED, f"Private reply refused: {exc}")
    return _finish(
        inbound,
        InboundMessage.Status.POSTED,
        f"Private reply to the author of #{reply.message_id} relayed.",
    )


def _is_duplicate(mailing_list: MailingList, message_id: str, subject: str, text: str) -> bool:
    """The same message again (an MTA's retry, a cross-post bounced back): the same id and the
    same subject and text. Another message reusing an id (some programs do) is a new post."""
    return Message.objects.filter(
        mailing_list=mailing_list, message_id=message_id, subject=subject, body_text=text
    ).exists()


def attachment_filename(filename: str, content_type: str) -> str:
    """A name safe to show and store for an attachment: the sender's where it is usable, else
    "attachment" with the same extension (or one for the type), at most 200 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    try:
        safe = get_valid_filename(name)
    except SuspiciousFileOperation:
        safe = ""
    stem, dot, ext = safe.rpartition(".")
    if not dot:
        stem, ext = safe, ""
    if not re.fullmatch(r"[A-Za-z0-9]{1,10}", ext):
        ext = (mimetypes.guess_extension(content_type or "") or "").lstrip(".")
    if not stem.strip("._-"):
        stem = "attachment"
    suffix = f".{ext}" if ext else ""
    return stem[: 200 - len(suffix)] + suffix


_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
# Where a bounce stops describing the failure and starts quoting the returned message.
_RETURNED_MESSAGE = re.compile(
    r"^-{2,}\s*(?:forwarded message|original message|this is a copy|below this line|"
    r"undelivered message|returned message)|^content-type: message/",
    re.I | re.M,
)


def _report_codes(msg: PyMessage) -> tuple[str, list[str]]:
    """(the first RFC 3464 Status, every enhanced status code in the Diagnostic-Code fields
    and the human-readable text) of a delivery report; never raises."""
    status, codes = "", []
    try:
        parts = list(msg.walk())
    except Exception:
        parts = []
    for part in parts:
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        # A well-formed report is a list of header blocks; a broken one may be a bare string,
        # whose characters are no blocks at all.
        if not isinstance(payload, list):
            continue
        for block in payload:
            if not isinstance(block, PyMessage):
                continue
            try:
                value = str(block.get("Status", "") or "").split()
                diagnostic = str(block.get("Diagnostic-Code", "") or "")
            except (AttributeError, IndexError, TypeError, ValueError):
                continue
            if value and not status:
                status = value[0]
            codes += _STATUS_CODE.findall(diagnostic)
    text = mailparse.body(msg).text
    match = _RETURNED_MESSAGE.search(text)
    codes += _STATUS_CODE.findall(text[: match.start() if match else 8000][:8000])
    return status, codes


def bounce_kind(msg: PyMessage) -> tuple[str, str]:
    """(kind, status code) of a delivery report, or ("", "") when nothing in it says.

    A generic Status (Gmail writes "5.0.0" for a 5.7.1 spam block) is refined by the codes in
    the Diagnostic-Code and the human text: any 5.7.x there makes it a policy rejection.
    """
    try:
        temporary, permanent = flufl.bounce.all_failures(msg)
    except Exception:
        # A detector tripping over a broken report must not lose the bounce.
        log.exception("flufl.bounce could not read a report")
        temporary, permanent = frozenset(), frozenset()
    status, codes = _report_codes(msg)
    if not status.startswith(("4.", "5.")) and codes:
        status = codes[0]
    policy = next((code for code in codes if code.startswith("5.7.")), "")
    if status.startswith("5.7"):
        return Bounce.Kind.POLICY, status
    if policy and (status.startswith("5.") or (permanent and not status)):
        return Bounce.Kind.POLICY, policy
    if status.startswith("5.") or (permanent and not status.startswith("4.")):
        return Bounce.Kind.HARD, status
    if status.startswith("4.") or temporary:
        return Bounce.Kind.SOFT, status
    return "", ""


def bounce_process(
    *, inbound: InboundMessage, mailing_list: MailingList, verp: str, msg: PyMessage
) -> InboundMessage:
    """Score a bounce that came back to a VERP address; disable delivery when it adds up.

    Only addresses we made count (bounce_address carries a keyed hash); a report to any other
    is logged and ignored, so forged bounces cannot stop a member's mail. Mail to a good VERP
    address is a bounce for that subscriber even when no parser understands it (as Mailman 3
    treats it), scored soft; only a vacation notice sent there is not.
    """
    if not verp:
        return _finish(inbound, InboundMessage.Status.DISCARDED, "Bounce without a VERP address.")
    email = bounce_address_read(mailing_list, verp)
    if email is None:
        log.warning("Bounce to unverifiable VERP address %r on %s ignored", verp, mailing_list.slug)
        return _finish(
            inbound, InboundMessage.Status.DISCARDED, "Bounce to a VERP address we did not make."
        )
    kind, status = bounce_kind(msg)
    detail = ""
    if not kind:
        if mailparse.is_away_notice(msg, mailparse.body(msg).text):
            return _finish(
                inbound,
                InboundMessage.Status.DISCARDED,
                f"Away notice from {email} to the bounce address, not a bounce.",
            )
        kind, detail = Bounce.Kind.SOFT, "unparsed report to the VERP address"
    subscription = bounce_record(
        mailing_list=mailing_list,
        email=email,
        kind=kind,
        status_code=status,
        detail=detail,
        inbound=inbound,
    )
    summary = f"{kind} bounce for {email} ({status or detail or 'no status'})"
    if subscription is not None and subscription.delivery_disabled_at:
        summary += "; delivery disabled"
    return _finish(inbound, InboundMessage.Status.BOUNCE, summary)


def bounce_record(
    *,
    mailing_list: MailingList,
    email: str,
    kind: str,
    status_code: str = "",
    detail: str = "",
    inbound: InboundMessage | None = None,
) -> Subscription | None:
    """Record a bounce and update the subscription's score; returns the subscription if any."""
    now = timezone.now()
    with transaction.atomic():
        subscription = (
            # of=self: PostgreSQL cannot lock the outer-joined address rows the OR below needs.
            Subscription.objects.select_for_update(of=("self",))
            .filter(mailing_list=mailing_list)
            .filter(Q(user__email__iexact=email) | Q(user__emailaddress__email__iexact=email))
            .first()
        )
        Bounce.objects.create(
            subscription=subscription,
            mailing_list=mailing_list,
            email=email,
            kind=kind,
            status_code=status_code[:20],
            detail=detail[:500],
            inbound=inbound,
        )
        if subscription is None or kind == Bounce.Kind.POLICY:
            return subscription
        last = subscription.last_bounce_at
        if last and now - last > BOUNCE_QUIET_RESET:
            subscription.bounce_score = 0
        if last is None or timezone.localdate(last) != timezone.localdate(now):
            subscription.bounce_score += BOUNCE_SCORE[kind]
            subscription.last_bounce_at = now
        if subscription.bounce_score >= BOUNCE_DISABLE_AT and not subscription.delivery_disabled_at:
            subscription.delivery_disabled_at = now
            subscription.disabled_reason = (
                f"Mail to {email} kept bouncing ({status_code or kind}); delivery is paused."
            )
        subscription.save()
    return subscription


def moderation_by_email(*, inbound: InboundMessage, route: Route, msg: PyMessage) -> InboundMessage:
    """A moderator answered a held-post notice: "approve", or "reject" with an optional note.

    The token in the address names the message and is checked; the sender must be one of the
    list's moderators from a verified address, and the mail must prove that sender (our MTA's
    DMARC/DKIM/SPF verdict, see mailauth), since anyone can write a moderator's From line.
    Anything else is recorded and ignored.
    """
    Status = InboundMessage.Status
    pk = moderation_token_read(route.detail)
    # A forged token reads as None; filter(pk=None) would only match nothing by accident.
    message = (
        None
        if pk is None
        else Message.objects.filter(pk=pk, mailing_list=route.mailing_list).first()
    )
    if message is None:
        return _finish(inbound, Status.REJECTED, "Moderation reply with a bad token.")
    _name, sender = mailparse.address(msg, "From")
    address = EmailAddress.objects.filter(email__iexact=sender, verified=True).first()
    moderator = address.user if address else None
    if moderator is None or not is_moderator(moderator, route.mailing_list):
        return _finish(inbound, Status.REJECTED, f"{sender} may not moderate this list.")
    verdict = mailauth.sender_verdict(msg, from_email=sender, peer=inbound.peer)
    if not verdict.trusted:
        log.warning("Moderation reply for #%s from %s not verified: %s", pk, sender, verdict.reason)
        return _finish(
            inbound,
            Status.REJECTED,
            f"Moderation reply from {sender} not verified: {verdict.reason}.",
        )
    lines = [
        line.strip()
        for line in mailparse.body(msg).text.splitlines()
        if line.strip() and not line.lstrip().startswith(">")
    ]
    verb, _, note = (lines[0] if lines else "").partition(" ")
    verb = verb.lower().strip(".:,!")
    if verb in {"approve", "approved", "yes", "ok"}:
        message_approve(message=message, moderator=moderator)
        return _finish(inbound, Status.DISCARDED, f"Moderator {sender} approved #{message.pk}.")
    if verb in {"reject", "rejected", "no"}:
        note = " ".join([note, *lines[1:3]]).strip()
        message_reject(message=message, moderator=moderator, note=note)
        return _finish(inbound, Status.DISCARDED, f"Moderator {sender} rejected #{message.pk}.")
    return _finish(inbound, Status.DISCARDED, "Moderation reply without approve or reject.")


def inbound_release(*, inbound_id: int, moderator: User) -> InboundMessage:
    """Process a discarded message as a post after all (a moderator's call in the discarded
    log); it then takes the normal path and may still be held. Acts once: a second release,
    or one of a row no longer discarded, changes nothing.

    Raises PermissionDenied when `moderator` may not moderate the list it was sent to, and
    ValueError when it was not sent to a list's posting address.
    """
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=inbound_id)
        if inbound.status != InboundMessage.Status.DISCARDED:
            return inbound
        route = inbound_route(rcpt_to=inbound.rcpt_to)
        if route is None or route.kind != "post":
            raise ValueError("Only mail to a list's posting address can be released.")
        if not is_moderator(moderator, route.mailing_list):
            raise PermissionDenied
        was = inbound.detail
        inbound = _ingest(inbound, release=True)
        inbound.detail = mailparse.storable(
            f"{inbound.detail}\nReleased by {moderator} from the discarded log; "
            f"it had been discarded: {was}"
        ).strip()[:5000]
        inbound.save(update_fields=["detail"])
    log.info("Inbound #%s released by %s: %s", inbound_id, moderator, inbound.status)
    return inbound
