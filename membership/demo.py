"""Demo membership: the three plans, active memberships for the demo member and the demo
practice admin, and a few colleagues in the directory.

Nothing here calls Stripe, so `load_demo` works before the stand-in runs: plans get their Stripe
Product and Price the first time someone checks out, and the demo memberships are paid through a
year from now without a subscription (their billing page offers renewal through Checkout).
"""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from . import services
from .models import MemberProfile, Membership, Plan, Practice, Seat, StateChange

PLANS = [
    # slug, name, kind, cents, seats, voting, description, benefits
    (
        "individual",
        "Individual",
        Plan.Kind.INDIVIDUAL,
        19500,
        1,
        True,
        "For one practice manager or administrator.",
        "Members-only articles and salary surveys\nThe national email network\n"
        "The member directory\nMember pricing at the annual conference\nA vote in NORM elections",
    ),
    (
        "practice",
        "Practice",
        Plan.Kind.PRACTICE,
        49500,
        5,
        True,
        "Enroll your practice: up to five staff, each a full member, one renewal date.",
        "Everything in Individual, for up to 5 staff\nOne invoice and one renewal date\n"
        "Add and remove staff yourself\nMember pricing for your whole team",
    ),
    (
        "affiliate-vendor",
        "Affiliate / Vendor",
        Plan.Kind.INDIVIDUAL,
        39500,
        1,
        False,
        "For consultants, vendors and industry partners who serve rheumatology practices.",
        "Members-only articles\nThe national email network\nMember conference pricing\nNon-voting",
    ),
]

COLLEAGUES = [
    # email, first, last, title, practice, city, state
    ("denise.carter@demo.norm.local", "Denise", "Carter", "Practice Administrator",
     "Blue Ridge Arthritis Associates", "Asheville", "NC"),
    ("marcus.nguyen@demo.norm.local", "Marcus", "Nguyen", "Office Manager",
     "Lakeshore Rheumatology", "Chicago", "IL"),
    ("alicia.romero@demo.norm.local", "Alicia", "Romero", "Director of Operations",
     "Desert Sun Rheumatology Center", "Tucson", "AZ"),
    ("grace.okoye@demo.norm.local", "Grace", "Okoye", "Billing Manager",
     "Capital Arthritis & Rheumatology", "Silver Spring", "MD"),
    ("tom.becker@demo.norm.local", "Tom", "Becker", "Practice Manager",
     "Prairie Rheumatology", "Omaha", "NE"),
]  # fmt: skip


def load(stdout) -> None:
    plans = _plans()
    User = get_user_model()
    member = User.objects.filter(email="member@norm.local").first()
    if member is not None:
        _personal(member, plans["individual"])
        _profile(member, "Practice Manager", "Gulf Coast Rheumatology", "Houston", "TX")
    admin = User.objects.filter(email="practice@norm.local").first()
    if admin is not None:
        _practice(admin, plans["practice"])
        _profile(admin, "Practice Administrator", "Riverside Rheumatology", "Springfield", "IL")
    for email, first, last, title, practice, city, state in COLLEAGUES:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                username=email.split("@")[0], email=email, first_name=first, last_name=last
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        _personal(user, plans["individual"])
        _profile(user, title, practice, city, state)
    stdout.write(
        "Membership: 3 plans; member@ and practice@ are active members (no Stripe call made)."
    )


def _plans() -> dict[str, Plan]:
    found = {}
    for order, (slug, name, kind, cents, seats, voting, description, benefits) in enumerate(PLANS):
        plan, _ = Plan.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "yearly_price_cents": cents,
                "seats": seats,
                "is_voting": voting,
                "description": description,
                "benefits": benefits,
                "sort_order": order,
            },
        )
        found[slug] = plan
    return found


def _activate(membership: Membership) -> None:
    if membership.state == Membership.State.ACTIVE:
        return
    now = timezone.now()
    before = membership.state
    membership.state = Membership.State.ACTIVE
    membership.started_at = now - timedelta(days=200)
    membership.current_period_end = now + timedelta(days=165)
    membership.access_ends_at = membership.current_period_end + timedelta(days=30)
    membership.save()
    StateChange.objects.create(
        membership=membership, from_state=before, to_state=membership.state, reason="demo data"
    )


def _personal(user, plan: Plan) -> None:
    membership, _ = Membership.objects.get_or_create(
        user=user, practice__isnull=True, defaults={"plan": plan}
    )
    _activate(membership)


def _practice(admin, plan: Plan) -> None:
    membership = Membership.objects.filter(user=admin, practice__isnull=False).first()
    if membership is None:
        practice = Practice.objects.create(
            name="Riverside Rheumatology", city="Springfield", state="IL", specialty="Rheumatology"
        )
        membership = services.practice_membership_create(admin=admin, practice=practice, plan=plan)
        # An invitation not yet accepted, so the seats table shows both kinds.
        Seat.objects.create(
            membership=membership, email="frontdesk@riverside.example", invited_by=admin
        )
    _activate(membership)


def _profile(user, title, practice, city, state) -> None:
    MemberProfile.objects.get_or_create(
        user=user,
        defaults={
            "job_title": title,
            "practice_name": practice,
            "city": city,
            "state": state,
            "specialty": "Rheumatology",
            "in_directory": True,
        },
    )
