"""Demo lists for NORM, subscriptions for the demo users and a few archived threads.

Archive rows are written directly (no fan-out), so loading the demo never sends mail.
Idempotent: lists are matched by slug, threads are only added to a list that has none.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from . import mailparse
from .models import MailingList, Message, Subscription, Thread
from .services.common import new_message_id

LISTS = [
    (
        "network",
        "NORM Network",
        "The general network: ask anything about running a rheumatology practice and peers "
        "across the country answer.",
        "members",
        False,
    ),
    (
        "billing",
        "Billing and Coding",
        "Claims, CPT and ICD-10 coding, prior authorizations, payer policies and denials.",
        "members",
        False,
    ),
    (
        "hr",
        "HR and Staffing",
        "Hiring, retention, staffing ratios, salaries and training for practice teams.",
        "members",
        False,
    ),
    (
        "compliance",
        "Compliance and HIPAA",
        "Privacy, security, OSHA and audits. New members' first posts are reviewed.",
        "members",
        True,
    ),
]

# (list slug, subject, [(author email, days ago, body)])
THREADS = [
    (
        "billing",
        "How do you handle prior authorizations for biologics?",
        [
            (
                "member@norm.local",
                3,
                "We are at three weeks on average per biologic approval and patients are "
                "getting frustrated. Does anyone have a workflow that actually moves faster?\n\n"
                "Thanks,\nMaria\n--\nMaria Lopez, Practice Manager",
            ),
            (
                "practice@norm.local",
                2,
                "We moved PAs to a dedicated coordinator and submit through the payer portals "
                "the day the script arrives. Average is now 6 days.\n\n"
                "On Mon, Maria Lopez wrote:\n> We are at three weeks on average per biologic "
                "approval and patients are getting frustrated.\n\nPriya",
            ),
            (
                "moderator@norm.local",
                1,
                "Same here. Keep a shared checklist of each payer's required labs; most of our "
                "delays were missing TB results.\n\nSent from my iPhone",
            ),
        ],
    ),
    (
        "hr",
        "Front desk staffing ratios for a 4-physician practice",
        [
            (
                "practice@norm.local",
                5,
                "We run 3 front desk FTEs for 4 physicians and it feels thin on infusion days. "
                "What ratios do you use?",
            ),
            (
                "member@norm.local",
                4,
                "We have 1 FTE per physician plus a float who also covers phones.",
            ),
        ],
    ),
    (
        "network",
        "Welcome to the NORM Network",
        [
            (
                "staff@norm.local",
                10,
                "Write to network@lists.norm.local to reach every member who subscribed. "
                "Please never include patient details: posts that look like they contain them "
                "are held for you to edit.",
            ),
        ],
    ),
]

DEMO_SUBSCRIPTIONS = {
    "member@norm.local": {"network": "every", "billing": "every", "hr": "daily"},
    "practice@norm.local": {"network": "weekly", "billing": "every", "hr": "every"},
    "moderator@norm.local": {"network": "every", "compliance": "every", "billing": "web"},
    "staff@norm.local": {"network": "every"},
}


def load(stdout) -> None:
    User = get_user_model()
    users = {u.email: u for u in User.objects.filter(email__endswith="@norm.local")}
    lists = {}
    for order, (slug, name, description, posting, first_posts) in enumerate(LISTS):
        lists[slug], _ = MailingList.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "posting": posting,
                "moderate_first_posts": first_posts,
                "sort_order": order,
            },
        )
    moderator = users.get("moderator@norm.local")
    if moderator:
        for mailing_list in lists.values():
            mailing_list.moderators.add(moderator)
    for email, modes in DEMO_SUBSCRIPTIONS.items():
        if email in users:
            for slug, mode in modes.items():
                Subscription.objects.get_or_create(
                    user=users[email], mailing_list=lists[slug], defaults={"mode": mode}
                )
    for slug, subject, posts in THREADS:
        mailing_list = lists[slug]
        if mailing_list.threads.exists():
            continue
        _thread(mailing_list, subject, posts, users)
    stdout.write(f"Discussion lists: {', '.join(m.address for m in lists.values())}")


def _thread(mailing_list, subject, posts, users) -> None:
    now = timezone.now()
    started = now - dt.timedelta(days=posts[0][1])
    thread = Thread.objects.create(
        mailing_list=mailing_list,
        subject=subject,
        normalized_subject=mailparse.normalize_subject(subject),
        started_by=users.get(posts[0][0]),
        created_at=started,
        last_activity_at=now - dt.timedelta(days=posts[-1][1]),
        message_count=len(posts),
    )
    parent = None
    for index, (email, days_ago, body) in enumerate(posts):
        user = users.get(email)
        when = now - dt.timedelta(days=days_ago)
        parent = Message.objects.create(
            mailing_list=mailing_list,
            thread=thread,
            parent=parent,
            author=user,
            from_name=user.get_full_name() if user else "",
            from_email=email,
            subject=subject if index == 0 else f"Re: {subject}",
            list_message_id=new_message_id(),
            in_reply_to=parent.list_message_id if parent else "",
            references=parent.list_message_id if parent else "",
            body_text=body,
            status=Message.Status.PUBLISHED,
            source=Message.Source.EMAIL,
            created_at=when,
            published_at=when,
        )
