"""Demo content: next year's annual conference, with a full programme and ticket prices."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from wagtail.models import Site

from .models import (
    AccessCode,
    ConferenceIndexPage,
    ConferencePage,
    DiscountCode,
    Session,
    Speaker,
    Sponsor,
    TicketType,
)

SPEAKERS = [
    (
        "Dr. Helen Marsh",
        "Chief Executive",
        "Great Lakes Rheumatology",
        "Helen has run a 14-physician rheumatology group for twenty years and chairs NORM's practice operations committee.",
    ),
    (
        "James Whitfield",
        "Revenue Cycle Director",
        "Piedmont Arthritis Clinic",
        "James rebuilt his clinic's infusion billing and cut denials by a third; he teaches coding workshops across the South-East.",
    ),
    (
        "Rosa Delgado",
        "Practice Administrator",
        "Sonoran Rheumatology",
        "Rosa leads a multi-site practice in Arizona and writes about staffing, retention and front-desk training.",
    ),
    (
        "Kevin O'Brien",
        "Compliance Officer",
        "Atlantic Health Partners",
        "Kevin advises practices on HIPAA, OIG audits and payer contracts.",
    ),
    (
        "Dr. Aisha Bello",
        "Rheumatologist",
        "Midwest Specialty Care",
        "Aisha speaks on biologics access and patient assistance programs.",
    ),
    (
        "Linda Park",
        "Operations Manager",
        "Pacific Rheumatology Associates",
        "Linda brought her practice onto a new EHR without losing a clinic day.",
    ),
]

# (day index, start, end, kind, title, room, speaker indexes, description)
PROGRAMME = [
    (
        0,
        time(8, 30),
        time(9, 45),
        Session.Kind.PLENARY,
        "Opening plenary: the state of rheumatology practice",
        "Grand Ballroom",
        [0],
        "Where independent rheumatology practices stand on staffing, reimbursement and consolidation, with the NORM member survey results.",
    ),
    (
        0,
        time(10, 15),
        time(11, 30),
        Session.Kind.BREAKOUT,
        "Infusion billing without denials",
        "Salon A",
        [1],
        "J-codes, units, modifiers and the prior-auth paper trail that gets infusions paid the first time.",
    ),
    (
        0,
        time(10, 15),
        time(11, 30),
        Session.Kind.BREAKOUT,
        "Hiring and keeping medical assistants",
        "Salon B",
        [2],
        "Pay bands, career ladders and onboarding that keep MAs past their first year.",
    ),
    (
        0,
        time(10, 15),
        time(11, 30),
        Session.Kind.BREAKOUT,
        "HIPAA risk assessment in a day",
        "Salon C",
        [3],
        "A walk-through of the annual security risk analysis with templates you can take home.",
    ),
    (
        0,
        time(13, 30),
        time(14, 45),
        Session.Kind.PLENARY,
        "Biologics access: working with payers and manufacturers",
        "Grand Ballroom",
        [4],
        "Step therapy, copay accumulators and patient assistance programs from the prescriber's side.",
    ),
    (
        1,
        time(9, 0),
        time(10, 15),
        Session.Kind.BREAKOUT,
        "Prior authorizations that move",
        "Salon A",
        [4, 1],
        "Building a prior-auth team, tracking turnaround and appealing denials.",
    ),
    (
        1,
        time(9, 0),
        time(10, 15),
        Session.Kind.BREAKOUT,
        "Front desk to phone tree: patient access",
        "Salon B",
        [2],
        "Scheduling rules, call center metrics and no-show reduction.",
    ),
    (
        1,
        time(9, 0),
        time(10, 15),
        Session.Kind.BREAKOUT,
        "Switching EHRs without losing a clinic day",
        "Salon C",
        [5],
        "Planning, data migration and template building from a practice that just did it.",
    ),
    (
        1,
        time(11, 0),
        time(12, 15),
        Session.Kind.PLENARY,
        "Closing plenary: leading the practice of 2030",
        "Grand Ballroom",
        [0, 5],
        "Leadership habits for the next five years, and the NORM awards.",
    ),
]

SPONSORS = [
    (
        "Meridian Biologics",
        Sponsor.Tier.PLATINUM,
        "Supporting rheumatology practices with patient access services.",
    ),
    ("ClearClaim Billing", Sponsor.Tier.GOLD, "Revenue cycle management for specialty practices."),
    (
        "InfusionWorks",
        Sponsor.Tier.SILVER,
        "Infusion suite design, chairs and scheduling software.",
    ),
]


def load(stdout) -> None:
    index = _index()
    if ConferencePage.objects.filter(slug="annual-conference").exists():
        return
    start = _next_thursday(timezone.localdate() + timedelta(days=120))
    conference = ConferencePage(
        title=f"NORM Annual Conference {start.year}",
        slug="annual-conference",
        tagline="Two days of plenaries and hands-on break-outs for the people who run rheumatology practices.",
        start_date=start,
        end_date=start + timedelta(days=1),
        venue_name="Hyatt Regency Chicago",
        venue_address="151 E Wacker Dr, Chicago, IL 60601",
        intro="<p>Bring your whole team: practice managers, billing staff and front-desk leads each find a track. Members and their practice staff register at member prices.</p>",
        hotel_details="<p>A room block at the Hyatt Regency Chicago at $219 a night is held until four weeks before the conference. Book with group code <strong>NORM</strong>.</p>",
        travel_details="<p>O'Hare and Midway are 30 minutes away by CTA train. The hotel is a short walk from the Washington/Wabash station; valet parking is $65 a day.</p>",
        capacity=400,
        substitution_cutoff=start - timedelta(days=3),
        full_refund_until=start - timedelta(days=45),
        partial_refund_until=start - timedelta(days=14),
        partial_refund_percent=50,
    )
    index.add_child(instance=conference)
    conference.save_revision().publish()

    speakers = [
        Speaker.objects.create(
            conference=conference,
            name=name,
            job_title=title,
            organization=org,
            bio=bio,
            sort_order=n,
        )
        for n, (name, title, org, bio) in enumerate(SPEAKERS)
    ]
    for n, (day, begins, ends, kind, title, room, who, text) in enumerate(PROGRAMME):
        session = Session.objects.create(
            conference=conference,
            title=title,
            kind=kind,
            starts_at=_at(start + timedelta(days=day), begins),
            ends_at=_at(start + timedelta(days=day), ends),
            room=room,
            description=text,
            capacity=60 if kind == Session.Kind.BREAKOUT else None,
            sort_order=n,
        )
        session.speakers.set(speakers[i] for i in who)
    for n, (name, tier, blurb) in enumerate(SPONSORS):
        Sponsor.objects.create(
            conference=conference,
            name=name,
            tier=tier,
            blurb=blurb,
            url="https://example.org/",
            sort_order=n,
        )

    early = timezone.make_aware(datetime.combine(start - timedelta(days=60), time(23, 59)))
    ticket_types = [
        (
            "Full conference",
            TicketType.Kind.FULL,
            None,
            49_500,
            69_500,
            42_500,
            62_500,
            None,
            True,
            "Both days, every plenary and your choice of break-outs.",
        ),
        (
            "One day: day one",
            TicketType.Kind.DAY,
            start,
            29_500,
            39_500,
            25_500,
            35_500,
            None,
            True,
            "Day one plenaries and break-out.",
        ),
        (
            "One day: day two",
            TicketType.Kind.DAY,
            start + timedelta(days=1),
            29_500,
            39_500,
            25_500,
            35_500,
            None,
            True,
            "Day two plenary and break-out.",
        ),
        (
            "Guest",
            TicketType.Kind.GUEST,
            None,
            12_500,
            12_500,
            None,
            None,
            None,
            False,
            "Meals and the evening reception for a partner or guest.",
        ),
        (
            "Exhibitor",
            TicketType.Kind.EXHIBITOR,
            None,
            0,
            0,
            None,
            None,
            30,
            False,
            "For sponsor staff at the exhibit hall.",
        ),
    ]
    for n, (
        name,
        kind,
        day,
        member,
        non_member,
        eb_member,
        eb_non,
        cap,
        breakouts,
        desc,
    ) in enumerate(ticket_types):
        TicketType.objects.create(
            conference=conference,
            name=name,
            kind=kind,
            day=day,
            description=desc,
            member_price_cents=member,
            non_member_price_cents=non_member,
            early_bird_member_price_cents=eb_member,
            early_bird_non_member_price_cents=eb_non,
            early_bird_until=early if eb_member else None,
            capacity=cap,
            includes_breakouts=breakouts,
            requires_code=kind == TicketType.Kind.EXHIBITOR,
            sort_order=n,
        )
    DiscountCode.objects.create(
        conference=conference,
        code="NORMCOMP",
        kind=DiscountCode.Kind.PERCENT,
        value=100,
        max_uses=20,
    )
    DiscountCode.objects.create(
        conference=conference, code="TEAM10", kind=DiscountCode.Kind.PERCENT, value=10
    )
    exhibitors = AccessCode.objects.create(
        conference=conference,
        code="NORMEXHIBIT",
        max_uses=30,
        note="Demo: sponsor staff at the exhibit hall.",
    )
    exhibitors.ticket_types.set(conference.ticket_types.filter(requires_code=True))
    stdout.write(
        f"Conference: {conference.title} at {conference.url} "
        "(comp code NORMCOMP, exhibitor access code NORMEXHIBIT)"
    )


def _index() -> ConferenceIndexPage:
    index = ConferenceIndexPage.objects.first()
    if index:
        return index
    home = Site.objects.get(is_default_site=True).root_page
    index = ConferenceIndexPage(
        title="Conferences",
        slug="conferences",
        intro="The NORM annual conference: two days of practical sessions for rheumatology practice managers and their teams.",
    )
    home.add_child(instance=index)
    index.save_revision().publish()
    return index


def _next_thursday(day: date) -> date:
    return day + timedelta(days=(3 - day.weekday()) % 7)


def _at(day: date, at: time):
    return timezone.make_aware(datetime.combine(day, at))
