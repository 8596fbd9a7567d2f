"""The one place the rest of the portal asks about membership.

Blog, conferences and discussions call these functions and never read membership tables
themselves, so the rules of who counts as a member live here alone:

- A person is an active member while their own membership is active or in grace, or while they
  hold a seat on a practice membership that is active or in grace. Complimentary memberships
  count. Staff are not members unless they have a membership of their own.
- "Active or in grace" also means "not past `access_ends_at`", so access ends on time even if
  the beat task that moves states runs late.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from portal.cache import may_use_admin, register_local_copy, shared_cache

from .models import Membership, Seat

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser
    from django.db.models import QuerySet
    from django.http import HttpRequest


class PriceTier(models.TextChoices):
    """The price list that applies to a user (conferences store the value on an order)."""

    MEMBER = "member", "Member"
    NON_MEMBER = "non_member", "Non-member"


# The names other apps and their tests use for the tiers.
MEMBER = PriceTier.MEMBER
NON_MEMBER = PriceTier.NON_MEMBER

# Opens the conference check-in screen and nothing else of the conference staff pages.
CHECK_IN_PERMISSION = "conferences.check_in_attendee"


class SecondFactor(models.TextChoices):
    """What a request to a staff area lacks (staff_second_factor)."""

    OK = "ok", "Nothing"
    NOT_SET_UP = "not_set_up", "An authenticator set up on the account"
    NOT_USED = "not_used", "A second factor used in this session"


def _membership_condition(at: datetime | None = None) -> Q:
    """A condition on users: holds live member access at `at` (now). Two EXISTS subqueries on
    indexed columns, so it stays cheap to filter and join on for tens of thousands of users."""
    live = Membership.objects.live(at)
    own = live.filter(user=OuterRef("pk"), practice__isnull=True)
    seat = Seat.objects.filter(
        user=OuterRef("pk"),
        removed_at__isnull=True,
        membership__in=live.filter(practice__isnull=False).values("pk"),
    )
    return Q(Exists(own)) | Q(Exists(seat))


def is_active_member(user: AbstractUser | AnonymousUser | None) -> bool:
    """True when the user may use member benefits right now (active or in grace)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    # The same rule as _membership_condition, asked from the memberships' side for one user:
    # it runs on every members-only page and every checkout, and this shape costs half the
    # time to build and run of filtering all users by the two EXISTS subqueries.
    return (
        Membership.objects.live()
        .filter(
            Q(user_id=user.pk, practice__isnull=True)
            | Q(practice__isnull=False, seats__user_id=user.pk, seats__removed_at__isnull=True)
        )
        .exists()
    )


def can_read_members_only(user: AbstractUser | AnonymousUser | None) -> bool:
    """Whether members-only content may be shown to this user.

    Active members may; so may staff and editors with admin access, who must be able to
    check what they publish.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser or may_use_admin(user):
        return True
    return is_active_member(user)


def price_tier(user: AbstractUser | AnonymousUser | None) -> PriceTier:
    """The price list that applies to this user."""
    return PriceTier.MEMBER if is_active_member(user) else PriceTier.NON_MEMBER


def active_members() -> QuerySet[AbstractUser]:
    """Users who are active members right now, as a queryset other apps can filter and join on."""
    return get_user_model().objects.filter(_membership_condition(timezone.now()), is_active=True)


def lapsed_members(months: int) -> QuerySet[AbstractUser]:
    """Users whose member access ended in the last `months` months and who are not members
    now: their own membership lapsed or was canceled, its access end within the window."""
    since = timezone.now() - timedelta(days=round(30.44 * months))
    ended = Membership.objects.filter(
        user=OuterRef("pk"),
        practice__isnull=True,
        state__in=(Membership.State.LAPSED, Membership.State.CANCELED),
        access_ends_at__gte=since,
        access_ends_at__lte=timezone.now(),
    )
    return (
        get_user_model()
        .objects.filter(Exists(ended), is_active=True)
        .exclude(_membership_condition(timezone.now()))
    )


def plan_members(plan_id: int) -> QuerySet[AbstractUser]:
    """Active members whose access comes from a live membership on this plan (their own, or
    a seat on a practice's)."""
    live = Membership.objects.live().filter(plan_id=plan_id)
    own = live.filter(user=OuterRef("pk"), practice__isnull=True)
    seat = Seat.objects.filter(
        user=OuterRef("pk"),
        removed_at__isnull=True,
        membership__in=live.filter(practice__isnull=False).values("pk"),
    )
    return get_user_model().objects.filter(Q(Exists(own)) | Q(Exists(seat)), is_active=True)


def practice_admins() -> QuerySet[AbstractUser]:
    """The admins (buyers) of live practice memberships."""
    live = Membership.objects.live().filter(user=OuterRef("pk"), practice__isnull=False)
    return get_user_model().objects.filter(Exists(live), is_active=True)


# -- Elections ----------------------------------------------------------------------------------

# How a practice membership votes, as each election sets it: its designated voter alone (the
# practice admin unless another seat holder is named), or every holder of a seat.
PRACTICE_DESIGNATED_VOTER = "designated"
PRACTICE_EVERY_SEAT = "every_seat"

# What voter_standing answers.
VOTER_OK = "ok"
VOTER_NOT_A_MEMBER = "not_member"
VOTER_NON_VOTING_PLAN = "non_voting_plan"
VOTER_NOT_DESIGNATED = "not_designated"


def _voting_condition(at: datetime, practice_rule: str) -> Q:
    """A condition on users: held a voting membership at `at`. Own memberships on a voting
    plan; seats on a live practice membership on a voting plan, all of them or only the
    designated voter's (the admin's when none is named), as `practice_rule` says."""
    live = Membership.objects.live(at).filter(plan__is_voting=True)
    own = live.filter(user=OuterRef("pk"), practice__isnull=True)
    seats = Seat.objects.filter(
        user=OuterRef("pk"),
        removed_at__isnull=True,
        membership__in=live.filter(practice__isnull=False).values("pk"),
    )
    if practice_rule == PRACTICE_DESIGNATED_VOTER:
        seats = seats.filter(
            Q(membership__designated_voter=OuterRef("pk"))
            | Q(membership__designated_voter__isnull=True, membership__user=OuterRef("pk"))
        )
    return Q(Exists(own)) | Q(Exists(seats))


def voting_members(at: datetime, practice_rule: str) -> QuerySet[AbstractUser]:
    """Users who may vote in an election with its cut-off at `at`: active users with a voting
    membership live at that moment (see _voting_condition).

    "Live at `at`" is the membership's state now with its access end compared to `at`
    (MembershipQuerySet.live), so the elections app freezes its voter roll at the cut-off
    rather than asking about a date long past."""
    return get_user_model().objects.filter(_voting_condition(at, practice_rule), is_active=True)


def voter_standing(
    user: AbstractUser | AnonymousUser | None, at: datetime, practice_rule: str
) -> str:
    """Why `user` may or may not vote with a cut-off at `at`: VOTER_OK, VOTER_NOT_A_MEMBER (no
    live membership then: lapsed, canceled, never joined), VOTER_NON_VOTING_PLAN, or
    VOTER_NOT_DESIGNATED (a practice seat when only the designated voter votes)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return VOTER_NOT_A_MEMBER
    users = get_user_model().objects.filter(pk=user.pk)
    if users.filter(_voting_condition(at, practice_rule)).exists():
        return VOTER_OK
    if users.filter(_voting_condition(at, PRACTICE_EVERY_SEAT)).exists():
        return VOTER_NOT_DESIGNATED
    if users.filter(_membership_condition(at)).exists():
        return VOTER_NON_VOTING_PLAN
    return VOTER_NOT_A_MEMBER


def may_vote(user: AbstractUser | AnonymousUser | None, at: datetime, practice_rule: str) -> bool:
    """True when `user` held a voting membership at the cut-off `at` (voter_standing)."""
    return voter_standing(user, at, practice_rule) == VOTER_OK


def may_stand(user: AbstractUser | AnonymousUser | None) -> bool:
    """Whether `user` may be nominated for office: current members only (any plan)."""
    return is_active_member(user)


# -- Staff areas ---------------------------------------------------------------------------------


def may_reach_staff_area(user: AbstractUser | AnonymousUser | None) -> bool:
    """Whether any staff area could open for this user: the Wagtail admin (editors, page and
    list moderators, staff), the Django admin (staff), or the conference staff pages (staff,
    check-in staff). Everyone it holds for needs a second factor there (staff_second_factor)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return (
        user.is_staff
        or user.is_superuser
        or may_use_admin(user)
        or user.has_perm(CHECK_IN_PERMISSION)
    )


def may_check_in(user: AbstractUser | AnonymousUser | None) -> bool:
    """Whether the user may check attendees in (staff, or the check-in role)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.has_perm(CHECK_IN_PERMISSION)


def staff_second_factor(request: HttpRequest) -> SecondFactor:
    """The one rule for staff areas: whoever may reach one has an authenticator set up and has
    used it in this session (allauth's authentication records), not just a password.

    Users who may reach no staff area are OK here; the staff views themselves turn them away.
    """
    user = getattr(request, "user", None)
    if not settings.STAFF_MFA_REQUIRED or not may_reach_staff_area(user):
        return SecondFactor.OK
    if not is_mfa_enabled(user):
        return SecondFactor.NOT_SET_UP
    records = get_authentication_records(request, user)
    if not any(record.get("method") == "mfa" for record in records):
        return SecondFactor.NOT_USED
    return SecondFactor.OK


# -- Readers of cached pages ---------------------------------------------------------------------

READER_VERSION_KEY = "membership:reader-version"
READER_SECONDS = 3600

# What a signed-in reader's pages depend on besides the content: the tier decides the body of a
# members-only article; editors (and staff) get the user bar and their own links, so their pages
# are never cached.
READER_MEMBER = "member"
READER_NON_MEMBER = "non_member"
READER_EDITOR = "editor"


@dataclass(frozen=True)
class Reader:
    """The signed-in person behind a session, as page chrome needs them: the tier and the name.
    Kept in the shared cache per user (see reader_for_request)."""

    user_id: int
    tier: str
    name: str
    auth_hash: str  # the user's session hash: a changed password ends every other session


class _LocalReaders:
    """This process's copy of the reader version and of the Readers it answered lately, so a
    page view usually costs no round trip for who is reading. The version is re-read from the
    shared cache at most every PAGE_CACHE_GENERATION_CHECK_SECONDS, as the content generation
    is: a change made in this process shows here at once, one made in another within that."""

    size = 4096

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.version: int | None = None
        self.checked_at = 0.0
        self.readers: dict[object, tuple[int, Reader, float]] = {}

    def current_version(self) -> int:
        interval = getattr(settings, "PAGE_CACHE_GENERATION_CHECK_SECONDS", 0.5)
        now = time.monotonic()
        if self.version is None or now - self.checked_at >= interval:
            self.version = shared_cache().get(READER_VERSION_KEY) or 0
            self.checked_at = now
        return self.version

    def set_version(self, version: int) -> None:
        with self.lock:
            self.version = version
            self.checked_at = time.monotonic()
            self.readers.clear()

    def put(self, user_id: object, entry: tuple[int, Reader, float]) -> None:
        with self.lock:
            if len(self.readers) >= self.size:
                self.readers.clear()
            self.readers[user_id] = entry


_local_readers = _LocalReaders()


def reader_version() -> int:
    """The version every cached Reader is kept under; readers_changed starts a new one."""
    return _local_readers.current_version()


def forget_local_readers() -> None:
    """Drop this process's Readers and version (for tests, which empty the shared cache)."""
    with _local_readers.lock:
        _local_readers.version = None
        _local_readers.readers.clear()


def _new_reader_version() -> None:
    version = time.time_ns()
    shared_cache().set(READER_VERSION_KEY, version, None)
    _local_readers.set_version(version)


def readers_changed() -> None:
    """Forget every cached Reader, in every process: memberships, seats, users, groups or
    permissions changed. Now, and again after the commit, so a request reading between the
    change and the commit cannot keep the old answer under the new version."""
    _new_reader_version()
    transaction.on_commit(_new_reader_version)


def _reader_of(user: AbstractUser) -> tuple[Reader, float]:
    """The Reader for `user` and until when it holds (the earliest end of their member access)."""
    horizon = time.time() + READER_SECONDS
    if user.is_staff or user.is_superuser or may_use_admin(user):
        tier = READER_EDITOR
    else:
        live = Membership.objects.live().filter(
            Q(user_id=user.pk, practice__isnull=True)
            | Q(practice__isnull=False, seats__user_id=user.pk, seats__removed_at__isnull=True)
        )
        found = live.aggregate(count=models.Count("pk"), ends=models.Min("access_ends_at"))
        tier = READER_MEMBER if found["count"] else READER_NON_MEMBER
        if found["ends"] is not None:
            horizon = min(horizon, found["ends"].timestamp())
    name = user.get_full_name() or user.email
    return Reader(user.pk, tier, name, user.get_session_auth_hash()), horizon


def reader_for_request(request: HttpRequest) -> Reader | None:
    """Who is signed in on this request's session, without a database query while the cached
    answer holds: None for no one (or someone the session no longer admits, whom Django's own
    authentication then handles). The answer is dropped when memberships, seats, the user,
    groups or permissions change (readers_changed) and when member access reaches its end."""
    session = request.session
    user_id = session.get(SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY)
    if user_id is None or not session_hash:
        return None
    version = _local_readers.current_version()
    now = time.time()
    entry = _local_readers.readers.get(user_id)
    if entry is None or entry[0] != version or entry[2] <= now:
        cache = shared_cache()
        key = _reader_key(user_id)
        entry = cache.get(key)
        if entry is None or entry[0] != version or entry[2] <= now:
            user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
            if user is None:
                return None
            reader, until = _reader_of(user)
            entry = (version, reader, until)
            cache.set(key, entry, max(1, int(until - now)))
        _local_readers.put(user_id, entry)
    reader = entry[1]
    if not constant_time_compare(reader.auth_hash, session_hash):
        return None
    return reader


def _reader_key(user_id: object) -> str:
    return f"membership:reader:{user_id}"


def _readers_changed_handler(sender: object, **kwargs: object) -> None:
    if str(kwargs.get("action", "post_")).startswith("post_"):
        readers_changed()


# A sign-in saves the user's last_login alone: nothing a Reader holds.
_NOT_READER_FIELDS = frozenset({"last_login"})


def _user_saved(sender: object, instance: AbstractUser, **kwargs: Any) -> None:
    # A name, password or standing changed: every process must forget its copy, hence the
    # version rather than one key.
    fields = kwargs.get("update_fields")
    if fields is not None and set(fields) <= _NOT_READER_FIELDS:
        return
    readers_changed()


def connect_reader_signals() -> None:
    register_local_copy(forget_local_readers)
    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="readers-user")
    post_delete.connect(_user_saved, sender=user_model, dispatch_uid="readers-user-d")
    for model in (Membership, Seat, Group):
        post_save.connect(_readers_changed_handler, sender=model, dispatch_uid=f"readers-{model}")
        post_delete.connect(
            _readers_changed_handler, sender=model, dispatch_uid=f"readers-d-{model}"
        )
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            _readers_changed_handler, sender=through, dispatch_uid=f"readers-m2m-{through}"
        )
