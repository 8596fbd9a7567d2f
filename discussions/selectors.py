"""Read-only queries for the discussion pages (services hold the rules that write)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import SafeString

from portal.search import clean_query
from portal.spelling import variants
from portal.textmatch import excerpt, highlight, terms_pattern

from .models import MailingList, Message, Thread
from .reading import split_body

MAX_WORDS = 8
MAX_MESSAGES = 200
MAX_THREADS = 30
HITS_PER_THREAD = 3


@dataclass
class MessageHit:
    message: Message
    snippet: SafeString


@dataclass
class ThreadHit:
    thread: Thread
    subject: SafeString
    hits: list[MessageHit] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.hits)


@dataclass
class ThreadResults:
    threads: list[ThreadHit]
    message_count: int


def search_threads(*, readable: list[MailingList], query: str) -> ThreadResults:
    """Published messages in `readable` lists matching every word of `query` (in either its
    US or UK spelling), grouped by thread, the thread with the newest match first.

    Snippets come from what each author wrote this time (quotes and signatures folded away, as
    the thread page shows them), with the matched words marked; all of it escaped.
    """
    words = clean_query(query).split()[:MAX_WORDS]
    if not words or not readable:
        return ThreadResults([], 0)
    matches = Q()
    for word in words:
        any_spelling = Q()
        for spelling in variants(word):
            any_spelling |= Q(subject__icontains=spelling) | Q(body_text__icontains=spelling)
        matches &= any_spelling
    messages = list(
        Message.objects.filter(matches, mailing_list__in=readable, status=Message.Status.PUBLISHED)
        .select_related("thread__mailing_list")
        .order_by("-published_at", "-pk")[:MAX_MESSAGES]
    )
    pattern = terms_pattern(" ".join(words))
    grouped: dict[int, ThreadHit] = {}
    for message in messages:
        group = grouped.get(message.thread_id)
        if group is None:
            if len(grouped) >= MAX_THREADS:
                continue
            group = grouped[message.thread_id] = ThreadHit(
                thread=message.thread, subject=highlight(message.thread.subject, pattern)
            )
        group.total += 1
        if len(group.hits) < HITS_PER_THREAD:
            group.hits.append(MessageHit(message, _snippet(message, pattern)))
    return ThreadResults(list(grouped.values()), len(messages))


def _snippet(message: Message, pattern: re.Pattern | None) -> SafeString:
    latest, _folded = split_body(message.body_text)
    text = re.sub(r"\s+", " ", latest).strip()
    found = excerpt(text, pattern)
    if found:
        return found
    # The words matched the subject or the quoted text only: show the start of the reply.
    return highlight(text[:200] + ("…" if len(text) > 200 else ""), pattern)


def posts_by_week(*, lists: list[MailingList], weeks: int = 12) -> list[tuple[str, list[int]]]:
    """Published posts per week (weeks starting Monday, oldest first, this week last), one
    count per list in `lists` order."""
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    starts = [monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    since = timezone.make_aware(dt.datetime.combine(starts[0], dt.time()))
    index = {m.pk: i for i, m in enumerate(lists)}
    counts = {start: [0] * len(lists) for start in starts}
    published = Message.objects.filter(
        mailing_list__in=lists, status=Message.Status.PUBLISHED, published_at__gte=since
    ).values_list("mailing_list_id", "published_at")
    for list_id, at in published:
        day = timezone.localtime(at).date()
        week = day - dt.timedelta(days=day.weekday())
        if week in counts:
            counts[week][index[list_id]] += 1
    return [(f"{start:%b} {start.day}", counts[start]) for start in starts]
