"""Daily and weekly digests: one mail per subscriber per list, only when there is news."""

from __future__ import annotations

import datetime as dt

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from membership.access import active_members
from portal.mail import render_email

from ..models import Digest, Message, Subscription
from .common import bounce_address, new_message_id, site_url, unsubscribe_token

PERIODS = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}


def digests_prepare(*, frequency: str, now: dt.datetime | None = None) -> list[int]:
    """Create a Digest ledger row for every subscriber in `frequency` mode with news.

    Each subscription's digest covers messages published since the end of its last digest
    (or one period back for a new subscriber) up to `now`. Subscriptions with nothing new are
    skipped and not advanced. The row is unique per (subscription, period end), so beat
    firing twice creates nothing twice. Returns the new Digest ids to send.
    """
    if frequency not in PERIODS:
        raise ValueError(f"unknown digest frequency {frequency!r}")
    now = now or timezone.now()
    created = []
    subscriptions = Subscription.objects.filter(
        mode=frequency,
        delivery_disabled_at__isnull=True,
        user__in=active_members(),
    ).select_related("mailing_list")
    for subscription in subscriptions:
        since = subscription.digest_covered_until or now - PERIODS[frequency]
        count = Message.objects.filter(
            mailing_list=subscription.mailing_list,
            status=Message.Status.PUBLISHED,
            published_at__gt=since,
            published_at__lte=now,
        ).count()
        if not count:
            continue
        try:
            with transaction.atomic():
                digest = Digest.objects.create(
                    subscription=subscription,
                    period_end=now,
                    message_count=count,
                    message_id=new_message_id("digest"),
                )
                Subscription.objects.filter(pk=subscription.pk).update(digest_covered_until=now)
        except IntegrityError:
            continue
        created.append(digest.pk)
    return created


def digest_build(*, digest: Digest) -> EmailMultiAlternatives:
    """The digest mail: a table of contents, then each message in full, text and HTML."""
    subscription = digest.subscription
    mailing_list = subscription.mailing_list
    since = (
        Digest.objects.filter(subscription=subscription, period_end__lt=digest.period_end)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    ) or digest.period_end - PERIODS.get(subscription.mode, PERIODS["weekly"])
    messages = list(
        Message.objects.filter(
            mailing_list=mailing_list,
            status=Message.Status.PUBLISHED,
            published_at__gt=since,
            published_at__lte=digest.period_end,
        )
        .select_related("thread")
        .order_by("thread__last_activity_at", "published_at")
    )
    token = unsubscribe_token(list_pk=mailing_list.pk, user_pk=subscription.user_id)
    unsubscribe_url = site_url(reverse("discussions:unsubscribe", kwargs={"token": token}))
    label = "Daily" if subscription.mode == Subscription.Mode.DAILY else "Weekly"
    email = render_email(
        template="discussions/email/digest",
        subject=f"{mailing_list.subject_tag} {label} digest, "
        f"{date_format(timezone.localdate(digest.period_end))} ({len(messages)} messages)",
        to=[subscription.user.email],
        context={
            "mailing_list": mailing_list,
            "messages": messages,
            "label": label,
            "archive_url": site_url(mailing_list.get_absolute_url()),
            "unsubscribe_url": unsubscribe_url,
            "manage_url": site_url(reverse("discussions:subscriptions")),
            "site_url_prefix": site_url(""),
        },
        headers={
            "Message-ID": digest.message_id,
            "List-Id": f"{mailing_list.name} <{mailing_list.list_id}>",
            "List-Post": f"<mailto:{mailing_list.address}>",
            "List-Archive": f"<{site_url(mailing_list.get_absolute_url())}>",
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Precedence": "list",
            "X-Loop": mailing_list.address,
        },
        reply_to=[mailing_list.address],
    )
    email.from_email = bounce_address(mailing_list, subscription.user.email)
    email.extra_headers["From"] = f'"{mailing_list.name}" <{mailing_list.address}>'
    return email
