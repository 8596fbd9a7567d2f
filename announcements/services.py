"""Every write about announcements, and the recipients a segment means.

The send goes through the discussions send ledger (discussions/services/ledger.py): rows
claimed in batches, one SMTP connection per batch, each row marked sent just before the server
takes the copy, stale claims returned by the sweep. So a worker killed mid-send leaves exactly
one copy per recipient, as for list mail.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formataddr
from typing import TYPE_CHECKING, Any

from bs4 import BeautifulSoup
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from wagtail.rich_text import expand_db_html

from conferences.models import Attendee, Order
from discussions.models import Subscription
from discussions.services.ledger import (
    Ledger,
    ledger_claim,
    ledger_due,
    ledger_return_stale,
    ledger_send,
)
from membership import access
from portal import consent
from portal.mail import render_email

from .models import Announcement, AnnouncementDelivery

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

LEDGER = Ledger(AnnouncementDelivery, "announcement_id")
CONTENT_FIELDS = [
    "subject",
    "body",
    "category",
    "segment",
    "lapsed_months",
    "plan",
    "conference",
    "mailing_list",
    "send_at",
]
# Markers rendered once into the message and swapped per recipient in its bytes.
NAME_TEXT = "GUILDHALL-NAME-TEXT"
NAME_HTML = "GUILDHALL-NAME-HTML"
RCPT = "guildhall-rcpt@invalid.example"
TOKEN = "GUILDHALL-CONSENT-TOKEN"  # noqa: S105 - a marker, not a secret


class Refusal(Exception):
    """A step the announcement's state or segment does not allow; the message says why."""


# --- who ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str  # lower-cased
    name: str  # first name for the greeting, may be empty
    user_id: int | None


def segment_check(announcement: Announcement) -> None:
    """Raise ValidationError when the segment lacks what it needs (a plan, a conference...)."""
    needs = {
        Announcement.Segment.PLAN: ("plan", "Choose the plan."),
        Announcement.Segment.CONFERENCE: ("conference", "Choose the conference."),
        Announcement.Segment.LIST: ("mailing_list", "Choose the discussion list."),
    }
    need = needs.get(announcement.segment)  # type: ignore[call-overload]
    if need and getattr(announcement, f"{need[0]}_id") is None:
        raise ValidationError({need[0]: need[1]})
    if announcement.segment == Announcement.Segment.LAPSED and not announcement.lapsed_months:
        raise ValidationError({"lapsed_months": "Give a number of months, 1 or more."})


def _segment_rows(announcement: Announcement) -> Iterator[tuple[int | None, str, str]]:
    """(user id, email, first name) for everyone the segment names, before consent."""
    segment = announcement.segment
    users: Any = None
    if segment == Announcement.Segment.ACTIVE:
        users = access.active_members()
    elif segment == Announcement.Segment.LAPSED:
        users = access.lapsed_members(announcement.lapsed_months)
    elif segment == Announcement.Segment.PLAN and announcement.plan_id:
        users = access.plan_members(announcement.plan_id)
    elif segment == Announcement.Segment.PRACTICE_ADMINS:
        users = access.practice_admins()
    elif segment == Announcement.Segment.LIST and announcement.mailing_list_id:
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.filter(
            is_active=True,
            pk__in=Subscription.objects.filter(
                mailing_list_id=announcement.mailing_list_id, delivery_disabled_at__isnull=True
            ).values("user_id"),
        )
    elif segment == Announcement.Segment.CONFERENCE and announcement.conference_id:
        # Attendees of confirmed orders; many have no account, so the address is the key.
        yield from (
            Attendee.objects.filter(
                order__conference_id=announcement.conference_id, order__status=Order.Status.PAID
            )
            .values_list("order__owner_id", "email", "first_name")
            .iterator(chunk_size=2000)
        )
        return
    if users is not None:
        yield from users.exclude(email="").values_list("pk", "email", "first_name").iterator(2000)


def _recipients(announcement: Announcement) -> Iterator[Recipient]:
    refused = consent.opted_out(announcement.category)
    seen: set[str] = set()
    for user_id, email, name in _segment_rows(announcement):
        key = (email or "").strip().lower()
        if not key or key in refused or key in seen:
            continue
        seen.add(key)
        yield Recipient(email=key, name=_one_line(name), user_id=user_id)


def recipients(announcement: Announcement) -> list[Recipient]:
    """Everyone the announcement goes to: the segment, one entry per address, minus the
    addresses that turned its consent category off."""
    return list(_recipients(announcement))


def has_recipients(announcement: Announcement) -> bool:
    """Whether the segment matches anyone, without counting them all."""
    return next(_recipients(announcement), None) is not None


def recipient_count(announcement: Announcement) -> int:
    return len(recipients(announcement))


def _one_line(text: str) -> str:
    return " ".join((text or "").split())[:80]


# --- the state machine ----------------------------------------------------------------------


def _locked(announcement_id: int) -> Announcement:
    return Announcement.objects.select_for_update().get(pk=announcement_id)


def announcement_save(*, announcement: Announcement, actor: AbstractUser) -> Announcement:
    """Save an edit of the content, under the row lock, only while draft or scheduled.

    The instance came from a form that read the row earlier; writing only the content fields
    keeps a stale state from being written back (which would send a second time)."""
    segment_check(announcement)
    if announcement.pk is None:
        announcement.created_by = actor
        announcement.save()
        return announcement
    with transaction.atomic():
        current = _locked(announcement.pk)
        if not current.is_editable:
            raise Refusal(
                f"This announcement is {current.get_state_display().lower()}: it cannot change."
            )
        announcement.state = current.state
        announcement.save(update_fields=CONTENT_FIELDS)
    return announcement


def announcement_schedule(*, announcement_id: int, actor: AbstractUser) -> Announcement:
    """draft → scheduled, at its send time (now when empty). Refused when the segment matches
    no one. Due at once: the dispatch is queued when the transaction commits."""
    from .tasks import announcement_dispatch  # cycle: tasks import services

    with transaction.atomic():
        announcement = _locked(announcement_id)
        if not announcement.is_editable:
            raise Refusal(
                f"This announcement is already {announcement.get_state_display().lower()}."
            )
        try:
            segment_check(announcement)
        except ValidationError as exc:
            raise Refusal(" ".join(exc.messages)) from exc
        if not has_recipients(announcement):
            raise Refusal("The segment matches no one, so there is nobody to send it to.")
        announcement.state = Announcement.State.SCHEDULED
        announcement.send_at = announcement.send_at or timezone.now()
        announcement.scheduled_by = actor
        announcement.save(update_fields=["state", "send_at", "scheduled_by"])
        if announcement.send_at <= timezone.now():
            transaction.on_commit(lambda: announcement_dispatch.delay(announcement_id))
    return announcement


def announcement_unschedule(*, announcement_id: int) -> Announcement:
    """scheduled → draft, while sending has not started."""
    with transaction.atomic():
        announcement = _locked(announcement_id)
        if announcement.state != Announcement.State.SCHEDULED:
            raise Refusal(f"This announcement is {announcement.get_state_display().lower()}.")
        announcement.state = Announcement.State.DRAFT
        announcement.save(update_fields=["state"])
    return announcement


def announcement_dispatch(*, announcement_id: int) -> int:
    """scheduled → sending, once: write one ledger row per recipient and queue the batches.

    Under the row lock, and only from `scheduled` at or after the send time, so a retried
    task, a second beat tick or an edit racing the send time finds `sending` and does nothing.
    Returns the number of rows written."""
    from .tasks import send_announcement_batch  # cycle: tasks import services

    now = timezone.now()
    with transaction.atomic():
        announcement = _locked(announcement_id)
        if announcement.state != Announcement.State.SCHEDULED or (
            announcement.send_at and announcement.send_at > now
        ):
            return 0
        rows = [
            AnnouncementDelivery(
                announcement_id=announcement.pk,
                recipient_id=r.user_id,
                email=r.email,
                name=r.name,
                next_attempt_at=now,
            )
            for r in recipients(announcement)
        ]
        AnnouncementDelivery.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        announcement.state = Announcement.State.SENDING if rows else Announcement.State.SENT
        announcement.started_at = now
        announcement.sent_at = None if rows else now
        announcement.save(update_fields=["state", "started_at", "sent_at"])
        batches = math.ceil(len(rows) / settings.DISCUSSIONS_BATCH_SIZE)
        transaction.on_commit(
            lambda: [send_announcement_batch.delay(announcement_id) for _ in range(batches)]
        )
    return len(rows)


def _finish_if_done(announcement_id: int) -> None:
    """sending → sent once no row is left to send (failures count as done)."""
    open_rows = AnnouncementDelivery.objects.filter(
        announcement_id=announcement_id,
        status__in=(AnnouncementDelivery.Status.PENDING, AnnouncementDelivery.Status.CLAIMED),
    )
    if not open_rows.exists():
        Announcement.objects.filter(pk=announcement_id, state=Announcement.State.SENDING).update(
            state=Announcement.State.SENT, sent_at=timezone.now()
        )


def announcement_send_batch(*, announcement_id: int, limit: int | None = None) -> int:
    """Claim one batch of ledger rows and send each its copy over one connection."""
    announcement = Announcement.objects.filter(pk=announcement_id).first()
    if announcement is None or announcement.state != Announcement.State.SENDING:
        return 0
    rows = ledger_claim(
        LEDGER, parent_id=announcement_id, limit=limit or settings.DISCUSSIONS_BATCH_SIZE
    )
    # Someone who turned the category off after the rows were written hears nothing more.
    refused = consent.opted_out(announcement.category, [r.email for r in rows])
    if refused:
        AnnouncementDelivery.objects.filter(
            pk__in=[r.pk for r in rows if r.email in refused]
        ).update(
            status=AnnouncementDelivery.Status.FAILED, last_error="unsubscribed before the send"
        )
        rows = [r for r in rows if r.email not in refused]
    sent = 0
    if rows:
        prepared = _prepared_for(announcement)
        envelope_from = settings.DEFAULT_FROM_EMAIL
        sent = ledger_send(
            LEDGER,
            rows,
            copy=lambda row: (envelope_from, prepared.for_recipient(row)),
            first_try_at=announcement.started_at,
        )
    _finish_if_done(announcement_id)
    return sent


def announcements_tick(*, claim_timeout: int | None = None) -> dict[str, int]:
    """The beat's minute: dispatch what came due, return stale claims of dead workers, queue
    batches for rows whose time came, and close announcements with nothing left."""
    from .tasks import announcement_dispatch, send_announcement_batch  # cycle

    due = list(
        Announcement.objects.filter(
            state=Announcement.State.SCHEDULED, send_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    for pk in due:
        announcement_dispatch.delay(pk)
    timeout = settings.DISCUSSIONS_CLAIM_TIMEOUT if claim_timeout is None else claim_timeout
    returned = ledger_return_stale(LEDGER, timeout=timeout)
    batches = 0
    for pk, count in ledger_due(LEDGER).items():
        for _ in range(min(math.ceil(count / settings.DISCUSSIONS_BATCH_SIZE), 20)):
            send_announcement_batch.delay(pk)
            batches += 1
    for pk in Announcement.objects.filter(state=Announcement.State.SENDING).values_list(
        "pk", flat=True
    ):
        _finish_if_done(pk)
    return {"dispatched": len(due), "returned": returned, "batches": batches}


# --- what -----------------------------------------------------------------------------------


def body_html(announcement: Announcement) -> str:
    """The rich text as mail HTML: internal links expanded and made absolute. No images or
    embeds are allowed in the editor, and nothing is added that reports an open or a click."""
    soup = BeautifulSoup(expand_db_html(announcement.body), "html.parser")
    for link in soup.find_all("a", href=True):
        href = str(link["href"])
        if href.startswith("/") and not href.startswith("//"):
            link["href"] = f"{settings.SITE_URL}{href}"
    return str(soup)


def body_text(html: str) -> str:
    """A plain-text rendering of the mail HTML: paragraphs, list items, links as "text (url)"."""
    soup = BeautifulSoup(html, "html.parser")
    for link in soup.find_all("a", href=True):
        text = link.get_text(" ", strip=True)
        href = str(link["href"])
        link.replace_with(f"{text} ({href})" if text and text != href else href)
    for item in soup.find_all("li"):
        item.insert(0, "- ")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = []
    for block in soup.find_all(["p", "h2", "h3", "li", "hr"]):
        text = " ".join(block.get_text().split())
        if block.name == "hr":
            text = "----"
        elif block.name in ("h2", "h3"):
            text = text.upper()
        blocks.append(text)
    if not blocks:
        blocks = [" ".join(soup.get_text(" ").split())]
    return "\n\n".join(b for b in blocks if b)


def greeting(name: str) -> str:
    return f"Dear {name}," if name else "Hello,"


def _context(
    announcement: Announcement, *, name_text: str, name_html: str, unsubscribe: str
) -> dict:
    html = body_html(announcement)
    return {
        "announcement": announcement,
        "body_html": html,
        "body_text": body_text(html),
        "greeting_text": name_text,
        "greeting_html": name_html,
        "unsubscribe_url": unsubscribe,
        "category_label": announcement.get_category_display(),
        "manage_url": f"{settings.SITE_URL}/membership/account/",
    }


def preview_context(announcement: Announcement, user: AbstractUser) -> dict:
    """What Wagtail's preview shows: the HTML part as this staff member would get it."""
    return {
        **_context(
            announcement,
            name_text=greeting(user.first_name),
            name_html=escape(greeting(user.first_name)),
            unsubscribe=consent.unsubscribe_url(user, announcement.category),
        ),
        "site_url": settings.SITE_URL,
        "site_name": settings.WAGTAIL_SITE_NAME,
        "association_name": settings.ASSOCIATION_NAME,
        "subject": announcement.subject,
    }


def _email(announcement: Announcement, *, to: str, name: str, token_url: str, subject: str = ""):
    unsubscribe = token_url
    list_id = announcement.category.replace("_", "-")
    headers = {
        "List-Id": f"{announcement.get_category_display()} <{list_id}.{settings.LIST_DOMAIN}>",
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
        "Message-ID": f"<announcement-{announcement.pk}@{settings.LIST_DOMAIN}>",
    }
    return render_email(
        template="announcements/email/announcement",
        subject=subject or announcement.subject,
        to=[to],
        context=_context(
            announcement,
            name_text=name if name == NAME_TEXT else greeting(name),
            name_html=name if name == NAME_TEXT else escape(greeting(name)),
            unsubscribe=unsubscribe,
        ),
        headers=headers,
    )


@dataclass
class Prepared:
    """An announcement rendered once; each copy differs by its address, name and token."""

    announcement: Announcement
    data: bytes

    def for_recipient(self, row: AnnouncementDelivery) -> bytes:
        token = consent.unsubscribe_token(row.email, self.announcement.category)
        name = greeting(row.name)
        return (
            self.data.replace(TOKEN.encode(), token.encode())
            .replace(RCPT.encode(), row.email.encode())
            .replace(NAME_TEXT.encode(), name.encode())
            .replace(NAME_HTML.encode(), escape(name).encode())
        )


@dataclass
class _PerRecipient(Prepared):
    def for_recipient(self, row: AnnouncementDelivery) -> bytes:
        email = _email(
            self.announcement,
            to=row.email,
            name=row.name,
            token_url=consent.unsubscribe_url(row.email, self.announcement.category),
        )
        data: bytes = email.message().as_bytes()
        return data


_PREPARED: dict[tuple[int, object], Prepared] = {}


def _prepared_for(announcement: Announcement) -> Prepared:
    """The rendering, once per process and send: content cannot change once sending started,
    so every batch this worker takes reuses it (a render costs about as much as 50 copies)."""
    key = (announcement.pk, announcement.started_at)
    if key not in _PREPARED:
        if len(_PREPARED) > 16:
            _PREPARED.clear()
        _PREPARED[key] = announcement_prepare(announcement)
    return _PREPARED[key]


def announcement_prepare(announcement: Announcement) -> Prepared:
    """Render the message once with markers, so each copy is a few byte replacements.

    The markers must come out verbatim; when the body was encoded (quoted-printable or base64
    for very long lines) or a part is declared 7-bit, copies are rendered one by one instead.
    """
    token_url = consent.unsubscribe_url("marker@invalid.example", announcement.category)
    token_url = token_url.replace(
        consent.unsubscribe_token("marker@invalid.example", announcement.category), TOKEN
    )
    email = _email(announcement, to=RCPT, name=NAME_TEXT, token_url=token_url)
    email.alternatives = [  # the HTML part's marker differs: names are escaped there
        type(alt)(alt.content.replace(NAME_TEXT, NAME_HTML), alt.mimetype)
        if isinstance(alt.content, str)
        else alt
        for alt in email.alternatives
    ]
    data: bytes = email.message().as_bytes()
    intact = (
        data.count(NAME_TEXT.encode()) == 1
        and data.count(NAME_HTML.encode()) == 1
        and data.count(TOKEN.encode()) == 3  # header, text footer, HTML footer
        and b"Content-Transfer-Encoding: 7bit" not in data
        and b"Content-Transfer-Encoding: quoted-printable" not in data
        and b"Content-Transfer-Encoding: base64" not in data
    )
    if not intact:
        return _PerRecipient(announcement=announcement, data=b"")
    return Prepared(announcement=announcement, data=data)


def announcement_test_message(*, announcement: Announcement, user: AbstractUser):
    """The copy `user` would get, marked as a test, to their own address."""
    return _email(
        announcement,
        to=user.email,
        name=user.first_name,
        token_url=consent.unsubscribe_url(user, announcement.category),
        subject=f"[Test] {announcement.subject}",
    )


def recipient_address(row: AnnouncementDelivery) -> str:
    return formataddr((row.name, row.email)) if row.name else row.email


def deliveries(announcement: Announcement, *, status: str = "", q: str = ""):
    """The ledger rows staff see: who got it, when, and what went wrong."""
    rows = AnnouncementDelivery.objects.filter(announcement=announcement).order_by("email")
    if status:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(Q(email__icontains=q) | Q(name__icontains=q))
    return rows
