"""Importing members from a CSV: Wild Apricot's or CiviCRM's member export, or our template.

The file is read as a stream (never whole into memory), in batches of `BATCH_SIZE` rows; each
batch is one transaction of bulk reads and writes. A row matches a person by email address
(trimmed, lower case, against accounts and allauth's addresses). What the row says is compared
with what is stored, so a second run of the same file reports every row "unchanged" and
writes nothing. Rows that cannot be imported are skipped with the reason; nothing of them is
written. Cells are only ever stored as text (a cell "=1+1" is a name, not a sum), and the CSV
report makes such cells inert for spreadsheets.

New accounts have no usable password: members claim them through allauth's password reset
(`--send-invitations` mails each a link, through the notice ledger, once).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import secrets
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import IO, TYPE_CHECKING, Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from portal.spreadsheet import safe_cell

from ..models import Membership, Notice, Plan, Practice, Seat, StateChange
from .billing import _BILLING
from .common import MembershipError, State, grace_days
from .notices import notice_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

BATCH_SIZE = 1000
CHUNK = 64 * 1024

# The fields a row can set, in the order the admin page lists them.
FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "plan": "Plan",
    "status": "Status",
    "start": "Member since",
    "end": "Paid through",
    "practice": "Practice",
    "practice_admin": "Practice admin email (for a seat on their practice)",
}

# Column headings, as each system exports them, in order of preference (compared after
# lower-casing, "_" read as a space and runs of spaces collapsed). Wild Apricot: its contact
# export's system fields; its bundles are our practices ("Member bundle ID or email" names the
# bundle coordinator). CiviCRM: the membership export's field titles.
HEADINGS: dict[str, list[str]] = {
    "email": ["email", "e-mail", "email address", "primary email"],
    "first_name": ["first name", "firstname", "given name"],
    "last_name": ["last name", "lastname", "surname", "family name"],
    "plan": ["plan", "membership level", "membership type", "level"],
    "status": ["status", "membership status", "member status"],
    "start": ["member since", "start date", "join date", "membership start date"],
    "end": [
        "paid through",
        "end date",
        "renewal due",
        "membership expiration date",
        "membership end date",
        "expiration date",
    ],
    "practice": ["practice", "practice name", "organization", "current employer"],
    "practice_admin": [
        "practice admin email",
        "member bundle id or email",
        "membership bundle id or email",
        "bundle id or email",
    ],
}

FORMATS = {
    "wild_apricot": ("Wild Apricot", {"e-mail", "membership level", "renewal due"}),
    "civicrm": ("CiviCRM", {"membership type", "membership expiration date"}),
    "template": ("Guildhall template", {"plan", "paid through"}),
}

# Status words of the three sources, compared lower case without spaces, "-" or "_".
STATUSES: dict[str, State] = {
    "active": State.ACTIVE,
    "current": State.ACTIVE,  # CiviCRM
    "new": State.ACTIVE,  # CiviCRM: joined, paid
    "pendingrenewal": State.ACTIVE,  # Wild Apricot: still a member until the renewal date
    "grace": State.GRACE,
    "ingrace": State.GRACE,
    "lapsed": State.LAPSED,
    "expired": State.LAPSED,  # CiviCRM
    "pending": State.PENDING,
    "pendingnew": State.PENDING,  # Wild Apricot
    "pendingpayment": State.PENDING,
    "canceled": State.CANCELED,
    "cancelled": State.CANCELED,
    "suspended": State.CANCELED,  # Wild Apricot
    "deceased": State.CANCELED,  # CiviCRM
}

DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d-%b-%Y",
)
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?( ?[AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


ENCODING_NAMES = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252 (Latin-1)", "latin-1": "Latin-1"}


def encoding_name(encoding: str) -> str:
    return ENCODING_NAMES.get(encoding, encoding)


class ImportRefused(MembershipError):
    """The whole file cannot be imported (too big, not a CSV, no email column)."""


class Outcome:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass
class RowResult:
    row: int  # the row number a spreadsheet shows (the heading is row 1)
    email: str
    outcome: str
    detail: str = ""


@dataclass
class ImportReport:
    source: str
    encoding: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    invitations: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {
            o: self.count(o)
            for o in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.SKIPPED)
        }

    def summary(self) -> str:
        c = self.counts
        return (
            f"{len(self.rows)} rows: {c['created']} created, {c['updated']} updated, "
            f"{c['unchanged']} unchanged, {c['skipped']} skipped "
            f"({'a preview, nothing saved' if self.dry_run else 'saved'}; read as "
            f"{self.source}, {encoding_name(self.encoding)})"
        )


@dataclass
class Inspection:
    """What the admin page shows before an import: the headings and the suggested mapping."""

    encoding: str
    headings: list[str]
    mapping: dict[str, int]  # field -> column index
    source: str
    sample: list[list[str]]

    @property
    def encoding_name(self) -> str:
        return encoding_name(self.encoding)


# --- reading the file ---------------------------------------------------------------------


def _size(stream: IO[bytes]) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        here = stream.tell()
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(here)
        return size


def max_bytes() -> int:
    return int(getattr(settings, "MEMBER_IMPORT_MAX_BYTES", 20 * 1024 * 1024))


def check_size(size: int) -> None:
    limit = max_bytes()
    if size > limit:
        raise ImportRefused(
            f"The file is {size / 1_048_576:.1f} MB; imports take at most "
            f"{limit / 1_048_576:.0f} MB. Split it into smaller files and import each."
        )
    if size == 0:
        raise ImportRefused("The file is empty.")


def detect_encoding(stream: IO[bytes]) -> str:
    """UTF-8 (with or without a byte-order mark) when every byte decodes as such, else
    Windows-1252 (Excel's "CSV" on Windows), else Latin-1, which decodes anything. Reads the
    stream in chunks and rewinds it."""
    stream.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    ok_utf8 = ok_cp1252 = True
    while chunk := stream.read(CHUNK):
        if ok_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                ok_utf8 = False
        if ok_cp1252 and not ok_utf8:
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError:
                ok_cp1252 = False
        if not ok_utf8 and not ok_cp1252:
            break
    if ok_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            ok_utf8 = False
    stream.seek(0)
    if ok_utf8:
        return "utf-8-sig"
    # cp1252 was only checked from the first chunk that failed UTF-8; check it from the start.
    if _decodes(stream, "cp1252"):
        return "cp1252"
    return "latin-1"


def _decodes(stream: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)


def _records(stream: IO[bytes], encoding: str) -> Generator[list[str]]:
    """The CSV's records as lists of text, streamed; a broken file raises ImportRefused."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        # Excel writes ";" where the decimal mark is a comma, and some exports use tabs: the
        # heading line's commonest separator decides.
        first = text.readline()
        delimiter = max(",;\t", key=first.count)
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter)
        try:
            for record in reader:
                yield [_CONTROL.sub("", cell) for cell in record]
        except csv.Error as exc:
            raise ImportRefused(
                f"Row {reader.line_num} is not valid CSV ({exc}); nothing after it was read."
            ) from exc
    finally:
        text.detach()


def _heading_key(heading: str) -> str:
    return " ".join(heading.replace("\ufeff", "").replace("_", " ").lower().split())


def suggest_mapping(headings: list[str]) -> tuple[dict[str, int], str]:
    """Which column feeds which field, by the headings the three sources use, and which
    source the headings look like."""
    keys = [_heading_key(h) for h in headings]
    mapping: dict[str, int] = {}
    for name, names in HEADINGS.items():
        for candidate in names:
            if candidate in keys and keys.index(candidate) not in mapping.values():
                mapping[name] = keys.index(candidate)
                break
    present = set(keys)
    source = next(
        (label for label, marks in FORMATS.values() if marks <= present),
        "CSV with its own headings",
    )
    return mapping, source


def inspect(stream: IO[bytes], *, sample_rows: int = 5) -> Inspection:
    """Headings, encoding, the suggested mapping and a few rows, for the mapping step."""
    check_size(_size(stream))
    encoding = detect_encoding(stream)
    records = _records(stream, encoding)
    headings = next(records, None)
    if not headings or not any(h.strip() for h in headings):
        raise ImportRefused("The file has no heading row.")
    sample = [r for _, r in zip(range(sample_rows), records, strict=False)]
    records.close()
    mapping, source = suggest_mapping(headings)
    return Inspection(encoding, [h.strip() for h in headings], mapping, source, sample)


# --- one row ------------------------------------------------------------------------------


class RowError(Exception):
    pass


@dataclass
class Row:
    number: int
    email: str
    first_name: str
    last_name: str
    plan: Plan | None
    state: str
    started_at: datetime | None
    period_end: datetime | None
    practice: str
    admin_email: str  # set on a seat row: the practice admin whose practice it joins


def normalize_email(value: str) -> str:
    return get_user_model().objects.normalize_email(value.strip()).lower()


def _email(value: str, what: str) -> str:
    email = normalize_email(value)
    if not email:
        raise RowError(f"no {what}")
    try:
        validate_email(email)
    except ValidationError:
        raise RowError(f"{what} {value.strip()[:80]!r} is not an email address") from None
    return email


def parse_date(value: str) -> date | None:
    """A date as the three sources write it; "" and Wild Apricot's "NEVER" are none."""
    text = _TIME_TAIL.sub("", value.strip())
    if not text or text.upper() == "NEVER":
        return None
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 1900 <= parsed.year <= 2200:
            return parsed
    raise ValueError(value)


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min)).astimezone(UTC)


def _day_end(d: date) -> datetime:
    # The same end-of-day moment a complimentary grant uses. In UTC, as the database gives it
    # back, so adding the grace days is the same arithmetic as access_end()'s.
    return timezone.make_aware(datetime.combine(d, time.max)).astimezone(UTC)


def _text(value: str, limit: int, what: str) -> str:
    value = " ".join(value.split())
    if len(value) > limit:
        raise RowError(f"{what} is longer than {limit} characters")
    return value


def _plan_lookup() -> dict[str, Plan]:
    plans: dict[str, Plan] = {}
    for plan in Plan.objects.all():
        plans.setdefault(plan.slug.lower(), plan)
        plans.setdefault(" ".join(plan.name.lower().split()), plan)
    return plans


def parse_row(number: int, cells: dict[str, str], plans: dict[str, Plan]) -> Row:
    """One record's fields checked and converted; RowError says why it cannot be imported."""
    email = _email(cells.get("email", ""), "email address")
    first = _text(cells.get("first_name", ""), 150, "the first name")
    last = _text(cells.get("last_name", ""), 150, "the last name")
    practice = _text(cells.get("practice", ""), 160, "the practice name")
    admin_raw = cells.get("practice_admin", "").strip()
    admin_email = ""
    if admin_raw and normalize_email(admin_raw) != email:
        # Wild Apricot's bundle column may hold the coordinator's user id, which means nothing
        # here; only an email address names a practice admin.
        admin_email = _email(admin_raw, "practice admin email")
    dates: dict[str, date | None] = {}
    for name, label in (("start", "member since date"), ("end", "paid-through date")):
        raw = cells.get(name, "")
        try:
            dates[name] = parse_date(raw)
        except ValueError:
            raise RowError(
                f"{label} {raw.strip()[:40]!r} is not a date (write YYYY-MM-DD or MM/DD/YYYY)"
            ) from None
    start, end = dates["start"], dates["end"]
    if start and end and end < start:
        raise RowError("the paid-through date is before the member since date")
    if admin_email:  # a seat: the practice's plan, status and dates are the admin's row's
        return Row(number, email, first, last, None, "", None, None, practice, admin_email)
    plan_raw = " ".join(cells.get("plan", "").lower().split())
    if not plan_raw:
        raise RowError("no plan")
    plan = plans.get(plan_raw)
    if plan is None:
        known = ", ".join(sorted({p.name for p in plans.values()}))
        raise RowError(f"unknown plan {cells.get('plan', '').strip()[:60]!r} (plans here: {known})")
    status_raw = cells.get("status", "")
    status_key = re.sub(r"[\s_\-]", "", status_raw.lower())
    if not status_key:
        state = State.ACTIVE if end and end >= timezone.localdate() else State.LAPSED
    elif status_key in STATUSES:
        state = STATUSES[status_key]
    else:
        raise RowError(f"unknown status {status_raw.strip()[:40]!r}")
    if state in (State.ACTIVE, State.GRACE) and end is None:
        raise RowError(f"a {state.label.lower()} membership needs a paid-through date")
    if plan.is_practice and not practice:
        raise RowError(f"{plan.name} is a practice plan: the row needs a practice name")
    return Row(
        number,
        email,
        first,
        last,
        plan,
        state,
        _day_start(start) if start else None,
        _day_end(end) if end else None,
        practice,
        "",
    )


def membership_terms(row: Row) -> dict[str, Any]:
    """The membership fields a row sets; the same rule as `access_end` for a paid one."""
    end = row.period_end
    terms: dict[str, Any] = {
        "state": row.state,
        "current_period_end": end,
        "grace_started_at": None,
        "access_ends_at": None,
    }
    if row.state == State.ACTIVE:
        terms["access_ends_at"] = end + grace_days() if end else None
    elif row.state == State.GRACE:
        terms["grace_started_at"] = end
        terms["access_ends_at"] = end + grace_days() if end else None
    elif row.state in (State.LAPSED, State.CANCELED):
        terms["access_ends_at"] = end
    if row.started_at is not None:
        terms["started_at"] = row.started_at
    return terms


# --- the import ---------------------------------------------------------------------------


@dataclass
class _Run:
    report: ImportReport
    plans: dict[str, Plan]
    actor: User | None
    label: str
    send_invitations: bool
    seen: dict[str, int] = field(default_factory=dict)
    seats: list[Row] = field(default_factory=list)


def import_members(
    stream: IO[bytes],
    *,
    mapping: dict[str, int] | None = None,
    dry_run: bool = False,
    send_invitations: bool = False,
    actor: User | None = None,
    label: str = "CSV import",
) -> ImportReport:
    """Import the members a CSV lists and report on every row (see the module's docstring).

    `mapping` says which column feeds which field (by index); without it the headings decide.
    A dry run does all the work inside a transaction that is rolled back, so its report is
    exactly what the real run would say, and it sends nothing. Raises ImportRefused when the
    file as a whole cannot be read."""
    check_size(_size(stream))
    encoding = detect_encoding(stream)
    records = _records(stream, encoding)
    headings = next(records, None)
    if not headings:
        raise ImportRefused("The file has no heading row.")
    suggested, source = suggest_mapping(headings)
    mapping = suggested if mapping is None else mapping
    if "email" not in mapping:
        raise ImportRefused("No column holds email addresses: map one to Email.")
    if any(not 0 <= index < len(headings) for index in mapping.values()):
        raise ImportRefused("The mapping names a column the file does not have.")
    run = _Run(
        report=ImportReport(source=source, encoding=encoding, dry_run=dry_run),
        plans=_plan_lookup(),
        actor=actor,
        label=label[:120],
        send_invitations=send_invitations and not dry_run,
    )
    if dry_run:
        # One transaction around every batch, rolled back: the batches' own become savepoints.
        with transaction.atomic():
            _import_all(run, records, mapping)
            transaction.set_rollback(True)
    else:
        _import_all(run, records, mapping)
    run.report.rows.sort(key=lambda r: r.row)
    return run.report


def _import_all(run: _Run, records: Iterator[list[str]], mapping: dict[str, int]) -> None:
    batch: list[Row] = []
    for offset, record in enumerate(records):
        number = offset + 2
        if not any(cell.strip() for cell in record):
            continue  # blank lines (a trailing one, or spacing) are not rows
        cells = {name: record[i] if i < len(record) else "" for name, i in mapping.items()}
        try:
            row = parse_row(number, cells, run.plans)
        except RowError as exc:
            email = normalize_email(cells.get("email", ""))[:254]
            run.report.rows.append(RowResult(number, email, Outcome.SKIPPED, str(exc)))
            continue
        first = run.seen.setdefault(row.email, number)
        if first != number:
            run.report.rows.append(
                RowResult(number, row.email, Outcome.SKIPPED, f"the same email as row {first}")
            )
            continue
        if row.admin_email:
            run.seats.append(row)  # after every practice in the file exists
            continue
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            _commit_batch(run, batch)
            batch = []
    if batch:
        _commit_batch(run, batch)
    for start in range(0, len(run.seats), BATCH_SIZE):
        _commit_batch(run, run.seats[start : start + BATCH_SIZE], seats=True)


def _commit_batch(run: _Run, rows: list[Row], *, seats: bool = False) -> None:
    with transaction.atomic():  # one transaction per batch
        results = _seat_batch(run, rows) if seats else _member_batch(run, rows)
    run.report.rows.extend(results)


def _users_by_email(emails: Iterable[str]) -> dict[str, User]:
    """Accounts for these (lower-case) addresses: by the account's email or any allauth one."""
    wanted = list(set(emails))
    model = get_user_model()
    found: dict[str, User] = {
        u.email_lower: u
        for u in model.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=wanted)
    }
    missing = [e for e in wanted if e not in found]
    if missing:
        pairs = (
            EmailAddress.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=missing)
            .values_list("email_lower", "user_id")
        )
        by_id = dict(pairs)
        users = model.objects.in_bulk(set(by_id.values()))
        for email, user_id in by_id.items():
            if user_id in users:
                found[email] = users[user_id]
    return found


def _accounts(rows: list[Row]) -> tuple[dict[str, User], set[str], set[str]]:
    """Find or create the account of every row; returns them by email, the emails whose
    account is new, and those whose name changed."""
    User = get_user_model()
    users = _users_by_email(r.email for r in rows)
    new_rows = [r for r in rows if r.email not in users]
    taken = set(
        User.objects.filter(username__in=[r.email for r in new_rows]).values_list(
            "username", flat=True
        )
    )
    fresh = [
        User(
            username=r.email if len(r.email) <= 150 and r.email not in taken else _username(),
            email=r.email,
            first_name=r.first_name,
            last_name=r.last_name,
            password=make_password(None),  # unusable: claimed through a password reset
        )
        for r in new_rows
    ]
    User.objects.bulk_create(fresh)
    if not all(u.pk for u in fresh):  # a database that does not return ids
        ids = dict(
            User.objects.filter(email__in=[u.email for u in fresh]).values_list("email", "pk")
        )
        for u in fresh:
            u.pk = ids[u.email]
    EmailAddress.objects.bulk_create(
        EmailAddress(user_id=u.pk, email=u.email, primary=True, verified=False) for u in fresh
    )
    created = {u.email for u in fresh}
    users.update({u.email: u for u in fresh})
    renamed: set[str] = set()
    changed = []
    for r in rows:
        user = users[r.email]
        if r.email in created:
            continue
        first = r.first_name or user.first_name
        last = r.last_name or user.last_name
        if (first, last) != (user.first_name, user.last_name):
            user.first_name, user.last_name = first, last
            changed.append(user)
            renamed.add(r.email)
    User.objects.bulk_update(changed, ["first_name", "last_name"])
    return users, created, renamed


def _username() -> str:
    return f"member-{secrets.token_hex(8)}"


_TERM_FIELDS = ("state", "current_period_end", "grace_started_at", "access_ends_at", "started_at")


def _member_batch(run: _Run, rows: list[Row]) -> list[RowResult]:
    users, created_users, renamed = _accounts(rows)
    user_ids = [users[r.email].pk for r in rows]
    existing: dict[tuple[int, bool], Membership] = {}
    # Locked: a webhook applying Stripe's state to one of them waits for this batch.
    for m in (
        Membership.objects.select_for_update(of=("self",))
        .filter(user_id__in=user_ids)
        .select_related("practice")
        .order_by("-pk")
    ):
        existing[(m.user_id, m.practice_id is not None)] = m  # the oldest one wins
    results: list[RowResult] = []
    to_create: list[tuple[Row, Membership]] = []
    to_update: list[Membership] = []
    practices_renamed: list[Practice] = []
    history: list[StateChange] = []
    touched: list[tuple[Row, Membership]] = []
    for r in rows:
        if r.plan is None:  # member rows always name one; seat rows never come here
            raise ValueError(f"row {r.number} has no plan")
        user = users[r.email]
        found = existing.get((user.pk, r.plan.is_practice))
        terms = membership_terms(r)
        if found is None:
            m = Membership(user=user, plan=r.plan, **terms)
            to_create.append((r, m))
            detail = f"{r.plan.name}, {State(r.state).label.lower()}"
            outcome = Outcome.CREATED
        elif found.stripe_subscription_id and found.stripe_subscription_status in _BILLING:
            results.append(
                RowResult(
                    r.number,
                    r.email,
                    Outcome.SKIPPED,
                    "this membership is billed through Stripe; change it there",
                )
            )
            if r.email in created_users or r.email in renamed:
                results[-1].detail += " (the name was updated)"
            continue
        else:
            m = found
            changes = [name for name, value in terms.items() if getattr(m, name) != value] + (
                ["plan"] if m.plan_id != r.plan.pk else []
            )
            if r.plan.is_practice and m.practice and m.practice.name != r.practice:
                m.practice.name = r.practice
                practices_renamed.append(m.practice)
                changes.append("practice")
            before = m.state
            for name, value in terms.items():
                setattr(m, name, value)
            m.plan = r.plan
            if changes:
                m.updated_at = timezone.now()
                to_update.append(m)
                if before != m.state:
                    history.append(_change(run, m, before))
            if changes or r.email in renamed:
                outcome = Outcome.UPDATED
                detail = ", ".join(
                    _LABELS.get(c, c) for c in (changes + (["name"] if r.email in renamed else []))
                )
            else:
                outcome, detail = Outcome.UNCHANGED, ""
        results.append(RowResult(r.number, r.email, outcome, detail))
        touched.append((r, m))
    practices = [Practice(name=r.practice) for r, _ in to_create if r.plan and r.plan.is_practice]
    Practice.objects.bulk_create(practices)
    pending = iter(practices)
    for r, m in to_create:
        if r.plan and r.plan.is_practice:
            m.practice = next(pending)
    Membership.objects.bulk_create([m for _, m in to_create])
    Seat.objects.bulk_create(
        Seat(
            membership=m,
            email=r.email,
            user=m.user,
            invited_by=m.user,
            accepted_at=timezone.now(),
        )
        for r, m in to_create
        if m.practice is not None
    )
    history.extend(_change(run, m, "") for _, m in to_create)
    Membership.objects.bulk_update(to_update, ["plan", *_TERM_FIELDS, "updated_at"])
    Practice.objects.bulk_update(practices_renamed, ["name"])
    StateChange.objects.bulk_create(history)
    _invite(run, [(r.email, m) for r, m in touched], users)
    return results


_LABELS = {
    "state": "status",
    "current_period_end": "paid through",
    "grace_started_at": "grace start",
    "access_ends_at": "access end",
    "started_at": "member since",
    "plan": "plan",
    "practice": "practice name",
}


def _change(run: _Run, m: Membership, before: str) -> StateChange:
    return StateChange(
        membership=m,
        from_state=before,
        to_state=m.state,
        actor=run.actor,
        reason=f"imported ({run.label})"[:300],
    )


def _seat_batch(run: _Run, rows: list[Row]) -> list[RowResult]:
    """Seat rows: a place on the practice membership their admin holds (in this file or
    already here), while the plan has seats left."""
    users, created_users, renamed = _accounts(rows)
    admins = _users_by_email(r.admin_email for r in rows)
    practices = {
        m.user_id: m
        for m in Membership.objects.select_for_update(of=("self",))
        .filter(user_id__in=[u.pk for u in admins.values()], practice__isnull=False)
        .select_related("plan", "practice")
        .order_by("-pk")
    }
    open_seats: dict[int, set[str]] = {}
    for membership_id, email in Seat.objects.filter(
        membership__in=practices.values(), removed_at__isnull=True
    ).values_list("membership_id", "email"):
        open_seats.setdefault(membership_id, set()).add(email.lower())
    results: list[RowResult] = []
    new_seats: list[Seat] = []
    touched: list[tuple[str, Membership]] = []
    for r in rows:
        admin = admins.get(r.admin_email)
        m = practices.get(admin.pk) if admin else None
        name_note = " (the name was updated)" if r.email in renamed else ""
        if m is None:
            results.append(
                RowResult(
                    r.number,
                    r.email,
                    Outcome.SKIPPED,
                    f"{r.admin_email} has no practice membership to give a seat on" + name_note,
                )
            )
            continue
        taken = open_seats.setdefault(m.pk, set())
        if r.email in taken:
            outcome = Outcome.UPDATED if r.email in renamed else Outcome.UNCHANGED
            detail = "name" if r.email in renamed else ""
            results.append(RowResult(r.number, r.email, outcome, detail))
            touched.append((r.email, m))
            continue
        if len(taken) >= m.plan.seats:
            results.append(
                RowResult(
                    r.number,
                    r.email,
                    Outcome.SKIPPED,
                    f"all {m.plan.seats} seats of {m.practice_name} are taken" + name_note,
                )
            )
            continue
        taken.add(r.email)
        new_seats.append(
            Seat(
                membership=m,
                email=r.email,
                user=users[r.email],
                invited_by=m.user,
                accepted_at=timezone.now(),
            )
        )
        outcome = Outcome.CREATED if r.email in created_users else Outcome.UPDATED
        results.append(RowResult(r.number, r.email, outcome, f"a seat on {m.practice_name}"))
        touched.append((r.email, m))
    Seat.objects.bulk_create(new_seats)
    _invite(run, touched, users)
    return results


def _invite(run: _Run, rows: list[tuple[str, Membership]], users: dict[str, User]) -> None:
    """With --send-invitations: one mail (through the ledger, once ever) to every imported
    person who has not claimed their account yet, with a link to set a password."""
    if not run.send_invitations:
        return
    for email, m in rows:
        user = users[email]
        if user.has_usable_password() or user.last_login is not None:
            continue
        run.report.invitations += notice_queue(
            membership=m, kind=Notice.Kind.ACCOUNT_INVITE, key=f"user-{user.pk}", to_email=email
        )


# --- the report ---------------------------------------------------------------------------


def write_report(report: ImportReport, out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["Row", "Email", "Outcome", "Detail"])
    for r in report.rows:
        writer.writerow([r.row, safe_cell(r.email), r.outcome, safe_cell(r.detail)])
