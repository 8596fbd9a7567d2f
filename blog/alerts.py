"""Following the blog by email: new-article alerts, each article or a weekly roundup.

Anyone may follow with double opt-in (a signed link confirms the address, nothing goes out
before); a signed-in member with a verified address follows in one click. An article's alerts
are handed out once, the first time it goes live (by an editor's Publish or Wagtail's
scheduled publishing, which both send `page_published`): an `ArticleAlertRun` row per
article, then one `ArticleAlert` ledger row per subscriber, each mail sent once through
portal.sendonce. Members-only articles send their teaser (title and intro) only. Every mail
carries RFC 8058 one-click unsubscribe. The alert subscription is itself the consent to this
kind of mail (no site-wide consent categories exist yet).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from portal import consent
from portal.mail import render_email

from .models import (
    ArticleAlert,
    ArticleAlertRun,
    ArticleAlertSubscription,
    ArticleRoundup,
    BlogCategory,
    BlogPostPage,
)

if TYPE_CHECKING:
    from django.core.mail import EmailMultiAlternatives

log = logging.getLogger(__name__)

CONFIRM_SALT = "blog.follow-confirm"
UNSUBSCRIBE_SALT = "blog.follow-unsubscribe"
CONFIRM_MAX_AGE = dt.timedelta(days=7)
Frequency = ArticleAlertSubscription.Frequency


# --- tokens -----------------------------------------------------------------------------------


def confirm_token(subscription: ArticleAlertSubscription) -> str:
    return signing.dumps([subscription.pk, subscription.email], salt=CONFIRM_SALT, compress=False)


def unsubscribe_token(subscription: ArticleAlertSubscription) -> str:
    """Signed, never expiring (RFC 8058 links must just work), bound to pk and address."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(f"{subscription.pk}:{subscription.email}")


def _from_token(pk: Any, email: Any) -> ArticleAlertSubscription | None:
    if not isinstance(pk, int) or not isinstance(email, str):
        raise signing.BadSignature("malformed")
    return ArticleAlertSubscription.objects.filter(pk=pk, email=email).first()


def confirm_token_read(token: str) -> ArticleAlertSubscription | None:
    """The subscription a confirmation link names (None: gone since); raises
    signing.BadSignature, or SignatureExpired after CONFIRM_MAX_AGE."""
    value = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    if not isinstance(value, list) or len(value) != 2:
        raise signing.BadSignature("malformed")
    return _from_token(*value)


def unsubscribe_token_read(token: str) -> ArticleAlertSubscription | None:
    value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    pk, _, email = value.partition(":")
    if not pk.isdigit() or len(pk) > 18:
        raise signing.BadSignature("malformed")
    return _from_token(int(pk), email)


# --- following --------------------------------------------------------------------------------


def _apply(
    subscription: ArticleAlertSubscription,
    categories: list[BlogCategory],
    frequency: str,
) -> None:
    subscription.all_categories = not categories
    subscription.frequency = frequency
    subscription.save()
    subscription.categories.set(categories)


def follow_request(
    *, email: str, categories: list[BlogCategory], frequency: str
) -> ArticleAlertSubscription:
    """Anyone's request: stored unconfirmed and a confirmation link mailed (once per request).

    An address already confirmed is left as it is and gets no mail: this form must not let a
    stranger change, or learn, someone else's choices (the page says the same either way).
    """
    from .tasks import send_follow_confirmation  # cycle: tasks import this module

    if frequency not in Frequency.values:
        raise ValueError(f"unknown frequency {frequency!r}")
    email = email.strip().lower()
    with transaction.atomic():
        subscription, _ = ArticleAlertSubscription.objects.select_for_update().get_or_create(
            email=email
        )
        if subscription.confirmed_at:
            return subscription
        _apply(subscription, categories, frequency)
        ArticleAlertSubscription.objects.filter(pk=subscription.pk).update(confirm_sent_at=None)
        transaction.on_commit(lambda: send_follow_confirmation.delay(subscription.pk))
    return subscription


def member_address(user: Any) -> str | None:
    """A signed-in person's verified primary address, which proves itself: no opt-in mail."""
    if user is None or not user.is_authenticated:
        return None
    address = (
        EmailAddress.objects.filter(user=user, verified=True)
        .order_by("-primary", "pk")
        .values_list("email", flat=True)
        .first()
    )
    return str(address).lower() if address else None


def follow_member(
    *, user: Any, categories: list[BlogCategory], frequency: str
) -> ArticleAlertSubscription:
    """One click from a signed-in account with a verified address: confirmed at once."""
    email = member_address(user)
    if email is None:
        raise ValueError("No verified address to send to.")
    if frequency not in Frequency.values:
        raise ValueError(f"unknown frequency {frequency!r}")
    with transaction.atomic():
        subscription, _ = ArticleAlertSubscription.objects.select_for_update().get_or_create(
            email=email
        )
        subscription.user = user
        subscription.confirmed_at = subscription.confirmed_at or timezone.now()
        _apply(subscription, categories, frequency)
    return subscription


def follow_confirm(subscription: ArticleAlertSubscription) -> ArticleAlertSubscription:
    """The address owner's click on the emailed link. Idempotent."""
    ArticleAlertSubscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


def follow_stop(subscription: ArticleAlertSubscription) -> None:
    """Unsubscribe: the row goes, and with it every alert still unsent. Idempotent."""
    ArticleAlertSubscription.objects.filter(pk=subscription.pk).delete()


# --- alerts -----------------------------------------------------------------------------------


def _site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _wants(queryset: Any, page: BlogPostPage) -> Any:
    """Subscriptions whose choice covers the article's category."""
    if page.category_id is None:
        return queryset.filter(all_categories=True)
    return queryset.filter(Q(all_categories=True) | Q(categories=page.category_id)).distinct()


def _is_public(page: BlogPostPage) -> bool:
    """Live and under no view restriction (a private page is nobody's new article)."""
    return bool(page.live) and not page.get_view_restrictions().exists()


def alerts_fan_out(*, page_id: int) -> int:
    """Hand out the alerts of an article that has just gone live, once.

    The first call records the run; every call (a retry, a second publish) adds ledger rows
    only for subscribers confirmed before that first run, so a later edit and republish
    sends nothing new, and queues the unsent ones. Returns the rows created.
    """
    from .tasks import send_article_alert  # cycle: tasks import this module

    page = BlogPostPage.objects.filter(pk=page_id).first()
    if page is None or not _is_public(page):
        return 0
    with transaction.atomic():
        run, _ = ArticleAlertRun.objects.get_or_create(page=page)
        subscribers = _wants(
            ArticleAlertSubscription.objects.filter(
                frequency=Frequency.EACH, confirmed_at__lte=run.created_at
            ),
            page,
        ).values_list("pk", flat=True)
        rows = [ArticleAlert(page=page, subscription_id=pk) for pk in subscribers]
        created = ArticleAlert.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        unsent = list(
            ArticleAlert.objects.filter(page=page, sent_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        transaction.on_commit(lambda: [send_article_alert.delay(pk) for pk in unsent])
    log.info("Article #%s went live: %s alerts queued", page_id, len(unsent))
    return len(created)


def _article(page: BlogPostPage) -> dict[str, Any]:
    """What a mail says of an article: a members-only one only its teaser."""
    return {
        "title": page.title,
        "intro": page.intro,
        "url": page.full_url or _site_url(page.url or "/"),
        "members_only": page.members_only,
        "text": "" if page.members_only else page.public_body_text,
        "category": page.category.name if page.category_id and page.category else "",
    }


def social_links() -> list[dict[str, str]]:
    """The association's profiles from the site settings (the site footer's), for mail."""
    from portal.models import NavigationSettings

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        return []
    links = []
    for block in NavigationSettings.for_site(site).social_links:
        value = block.value
        page = value.get("page")
        url = page.full_url if page else value.get("url", "")
        if url and url.startswith(("https://", "http://")):
            links.append({"label": value.get("label", ""), "url": url})
    return links


def _mail(
    subscription: ArticleAlertSubscription, *, template: str, subject: str, context: dict
) -> EmailMultiAlternatives:
    unsubscribe_url = _site_url(
        reverse("blog:follow-unsubscribe", kwargs={"token": unsubscribe_token(subscription)})
    )
    return render_email(
        template=template,
        subject=subject,
        to=[subscription.email],
        context={
            **context,
            "unsubscribe_url": unsubscribe_url,
            "manage_url": _site_url(reverse("blog:follow")),
            "social_links": social_links(),
        },
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "Precedence": "bulk",
        },
    )


def _consents(subscription: ArticleAlertSubscription) -> bool:
    """An address that refused the "new articles" category anywhere (its account page, another
    mail's one-click link) gets no alert even while its subscription stands."""
    if consent.allows(subscription.email, consent.ConsentCategory.NEW_ARTICLES):
        return True
    log.info("Alert to subscription #%s dropped: opted out of new articles", subscription.pk)
    return False


def alert_build(alert: ArticleAlert) -> EmailMultiAlternatives | None:
    if not _consents(alert.subscription):
        return None
    page = BlogPostPage.objects.select_related("category").filter(pk=alert.page_id).first()
    if page is None or not _is_public(page):
        return None  # unpublished since: nothing to announce
    article = _article(page)
    return _mail(
        alert.subscription,
        template="blog/email/article_alert",
        subject=f"New article: {page.title}",
        context={"articles": [article]},
    )


def confirmation_build(subscription: ArticleAlertSubscription) -> EmailMultiAlternatives | None:
    if subscription.confirmed_at:
        return None
    url = _site_url(reverse("blog:follow-confirm", kwargs={"token": confirm_token(subscription)}))
    return render_email(
        template="portal/email/notice",
        subject=f"Confirm: new articles from {settings.ASSOCIATION_NAME}",
        to=[subscription.email],
        context={
            "heading": "Please confirm your address",
            "body": (
                "Someone, probably you, asked for mail about new articles to this address. "
                "Open the link to confirm; nothing is sent until you do. The link works for "
                "7 days. If it was not you, ignore this mail."
            ),
            "action_url": url,
            "action_label": "Confirm and follow",
        },
        headers={"Auto-Submitted": "auto-generated"},
    )


def week_start(now: dt.datetime) -> dt.datetime:
    """Monday 00:00 (site time) of the week before the one `now` is in: the roundup's week."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=today.weekday() + 7)


def roundups_prepare(*, now: dt.datetime | None = None) -> list[int]:
    """Ledger rows for last week's roundup, one per weekly subscriber (safe to run twice)."""
    start = week_start(now or timezone.now())
    rows = [
        ArticleRoundup(subscription_id=pk, week_start=start)
        for pk in ArticleAlertSubscription.objects.filter(
            frequency=Frequency.WEEKLY, confirmed_at__isnull=False
        ).values_list("pk", flat=True)
    ]
    ArticleRoundup.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return list(
        ArticleRoundup.objects.filter(week_start=start, sent_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


def roundup_build(roundup: ArticleRoundup) -> EmailMultiAlternatives | None:
    """The articles that went live in the week and that the subscriber follows; none: no
    mail (recorded like a send)."""
    subscription = roundup.subscription
    if not _consents(subscription):
        return None
    end = roundup.week_start + dt.timedelta(days=7)
    page_ids = ArticleAlertRun.objects.filter(
        created_at__gte=roundup.week_start, created_at__lt=end
    ).values_list("page_id", flat=True)
    followed = set(subscription.categories.values_list("pk", flat=True))
    pages = [
        page
        for page in BlogPostPage.objects.filter(pk__in=page_ids)
        .select_related("category")
        .order_by("first_published_at", "pk")
        if _is_public(page) and (subscription.all_categories or page.category_id in followed)
    ]
    if not pages:
        return None
    return _mail(
        subscription,
        template="blog/email/article_alert",
        subject=f"This week's articles from {settings.ASSOCIATION_NAME}",
        context={"articles": [_article(page) for page in pages], "roundup": True},
    )


def connect() -> None:
    """Queue an article's alerts when Wagtail publishes it (an editor, or scheduled go-live)."""
    from wagtail.signals import page_published

    page_published.connect(_published, sender=BlogPostPage, dispatch_uid="blog-article-alerts")


def _published(sender: Any, instance: BlogPostPage, **kwargs: Any) -> None:
    from .tasks import article_alerts_fan_out  # cycle: tasks import this module

    page_id = instance.pk
    transaction.on_commit(lambda: article_alerts_fan_out.delay(page_id))
