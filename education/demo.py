"""Demo content for continuing education: last year's conference with hours per session, its
attendance and evaluations, certificates for the demo member and two colleagues, hours from an
outside event, and hours on this year's sessions. Runs after the conferences demo."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from conferences.models import Attendee, BreakoutChoice, ConferencePage, Order, Session, TicketType

from . import services
from .models import CreditType, SessionCredit, SessionRule

SLUG = "annual-conference-last-year"

# (day, start, end, kind, title, room, {credit code: hours}, rule)
PROGRAMME = [
    (
        0,
        time(8, 30),
        time(9, 45),
        "plenary",
        "Opening plenary: reimbursement outlook",
        "Grand Ballroom",
        {"CRMS": "1.25", "CEU": "1.25"},
        "check-in",
    ),
    (
        0,
        time(10, 15),
        time(11, 30),
        "breakout",
        "Biologics prior authorizations that stick",
        "Room 101",
        {"CRMS": "1.25", "CMPM": "1.25"},
        "check-in+evaluation",
    ),
    (
        0,
        time(10, 15),
        time(11, 30),
        "breakout",
        "Infusion suite scheduling",
        "Room 102",
        {"CMPM": "1.25"},
        "check-in+evaluation",
    ),
    (
        1,
        time(9, 0),
        time(10, 30),
        "plenary",
        "Compliance update: billing and coding",
        "Grand Ballroom",
        {"CRMS": "1.5", "CMPM": "1.5", "CEU": "1.5"},
        "check-in",
    ),
]

ATTENDEES = [
    # (email, first, last, break-out index picked, comment)
    ("member@norm.local", "Maria", "Lopez", 1, "The appeal letter templates alone were worth it."),
    ("practice@norm.local", "Priya", "Shah", 2, "More time for questions, please."),
]


def load(stdout) -> None:
    if ConferencePage.objects.filter(slug=SLUG).exists():
        return
    current = ConferencePage.objects.filter(slug="annual-conference").first()
    if current is None:
        return  # the conferences demo made nothing to hang this on
    _hours_for_this_year(current)
    last_year = _last_year_conference(current)
    sessions = _program(last_year)
    ticket = TicketType.objects.create(
        conference=last_year,
        name="Full conference",
        member_price_cents=45_000,
        non_member_price_cents=65_000,
    )
    users = get_user_model().objects
    for email, first, last, picked, comment in ATTENDEES:
        user = users.filter(email=email).first()
        if user is None:
            continue
        attendee = _attend(last_year, ticket, user, first, last, sessions, picked)
        for session in [s for s in sessions if s.kind == "plenary"] + [sessions[picked]]:
            services.session_check_in(session=session, attendee=attendee, method="door")
            answers = {
                q.pk: (5 if q.kind == "rating" else comment)
                for q in services.questions_for(session)
            }
            services.evaluation_submit(
                session=session,
                attendee=attendee,
                answers=answers,
                at=session.ends_at + timedelta(minutes=20),
            )
        certificate = services.conference_certificate(attendee, mail=False)
        # Demo certificates count as mailed, so a worker started on the demo sends nothing.
        type(certificate).objects.filter(pk=certificate.pk).update(mailed_at=timezone.now())
        type(attendee.ce_attendance.first()).objects.filter(attendee=attendee).update(
            evaluation_mailed_at=timezone.now()
        )
    maria = users.filter(email="member@norm.local").first()
    staff = users.filter(email="staff@norm.local").first()
    if maria is not None:
        services.outside_credit_enter(
            member=maria,
            reference=f"{last_year.start_date.year}-ACR-webinar",
            title="ACR webinar: value-based care in rheumatology",
            provider="American College of Rheumatology",
            credit_type=CreditType.objects.get(code="CEU"),
            hours=Decimal("1.0"),
            earned_on=last_year.start_date - timedelta(days=90),
            by=staff,
        )
    stdout.write(
        f"Continuing education: {last_year.title} with hours and certificates "
        "(log in as member@norm.local, then /education/transcript/)"
    )


def _at(day: date, at: time):
    return timezone.make_aware(datetime.combine(day, at))


def _last_year_conference(current: ConferencePage) -> ConferencePage:
    start = current.start_date - timedelta(days=364)
    conference = ConferencePage(
        title=f"NORM Annual Conference {start.year}",
        slug=SLUG,
        tagline="Last year's conference: the program and its continuing-education hours.",
        start_date=start,
        end_date=start + timedelta(days=1),
        venue_name="Sheraton Grand Phoenix",
        venue_address="340 N 3rd St, Phoenix, AZ 85004",
        capacity=350,
        registration_open=False,
    )
    current.get_parent().add_child(instance=conference)
    conference.save_revision().publish()
    return conference


def _program(conference: ConferencePage) -> list[Session]:
    types = {t.code: t for t in CreditType.objects.all()}
    sessions = []
    for n, (day, begins, ends, kind, title, room, hours, rule) in enumerate(PROGRAMME):
        on = conference.start_date + timedelta(days=day)
        session = Session.objects.create(
            conference=conference,
            title=title,
            kind=kind,
            starts_at=_at(on, begins),
            ends_at=_at(on, ends),
            room=room,
            capacity=50 if kind == "breakout" else None,
            sort_order=n,
        )
        for code, value in hours.items():
            SessionCredit.objects.create(
                session=session, credit_type=types[code], hours=Decimal(value)
            )
        SessionRule.objects.create(session=session, rule=rule)
        sessions.append(session)
    return sessions


def _attend(conference, ticket, user, first, last, sessions, picked) -> Attendee:
    order = Order.objects.create(
        conference=conference,
        owner=user,
        email=user.email,
        status=Order.Status.PAID,
        price_tier="member",
        subtotal_cents=ticket.member_price_cents,
        total_cents=ticket.member_price_cents,
        paid_at=timezone.make_aware(datetime.combine(conference.start_date, time(8)))
        - timedelta(days=40),
    )
    attendee = Attendee.objects.create(
        order=order,
        ticket_type=ticket,
        first_name=first,
        last_name=last,
        email=user.email,
        price_cents=ticket.member_price_cents,
    )
    choice = sessions[picked]
    BreakoutChoice.objects.create(
        attendee=attendee, session=choice, slot_starts_at=choice.starts_at
    )
    return attendee


def _hours_for_this_year(conference: ConferencePage) -> None:
    """Hours and room codes on the coming conference's sessions, for staff to look at."""
    crms, cmpm = CreditType.objects.get(code="CRMS"), CreditType.objects.get(code="CMPM")
    for session in conference.sessions.all():
        hours = Decimal((session.ends_at - session.starts_at).total_seconds() / 3600).quantize(
            Decimal("0.25")
        )
        SessionCredit.objects.get_or_create(
            session=session, credit_type=crms, defaults={"hours": hours}
        )
        if session.is_breakout:
            SessionCredit.objects.get_or_create(
                session=session, credit_type=cmpm, defaults={"hours": hours}
            )
        SessionRule.objects.get_or_create(
            session=session,
            defaults={"rule": "check-in+evaluation" if session.is_breakout else "check-in"},
        )
