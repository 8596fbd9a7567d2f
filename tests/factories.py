"""factory_boy factories shared by every app's tests."""

from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from membership.models import Membership, Plan, Practice, Seat
from portal.models import Testimonial

TEST_PASSWORD = "correct-horse-battery"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # base32; compute codes with totp_code() below


def totp_code(secret: str = TOTP_SECRET) -> str:
    """The current authenticator-app code for a TOTP secret (what a staff member would type)."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    counter = int(timezone.now().timestamp()) // 30
    return format_hotp_value(hotp_value(secret, counter))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        """A verified primary address, as allauth requires before login (pass False to skip)."""
        if create and extracted is not False:
            EmailAddress.objects.get_or_create(
                user=self, email=self.email, defaults={"verified": True, "primary": True}
            )
            self.save()


class StaffFactory(UserFactory):
    """Staff as the portal allows them: with an authenticator app (TOTP_SECRET) set up, since
    staff need two-factor authentication to reach the admin. Pass `totp=False` to skip it."""

    is_staff = True

    @factory.post_generation
    def totp(self, create, extracted, **kwargs):
        if create and extracted is not False:
            from allauth.mfa.totp.internal.auth import TOTP

            TOTP.activate(self, TOTP_SECRET)


class PlanFactory(factory.django.DjangoModelFactory):
    """The Individual plan unless told otherwise (reused, not duplicated, by slug)."""

    class Meta:
        model = Plan
        django_get_or_create = ("slug",)

    name = "Individual"
    slug = factory.LazyAttribute(lambda p: p.name.lower().replace(" ", "-").replace("/", "-"))
    kind = Plan.Kind.INDIVIDUAL
    yearly_price_cents = 19500
    description = "For one practice manager."
    benefits = "Members-only articles\nThe national email network\nMember conference pricing"
    seats = 1


class PracticePlanFactory(PlanFactory):
    name = "Practice"
    kind = Plan.Kind.PRACTICE
    yearly_price_cents = 49500
    seats = 5
    description = "For a practice: up to five staff."


class MembershipFactory(factory.django.DjangoModelFactory):
    """An active personal membership, paid through a year from now (no Stripe objects)."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    state = Membership.State.ACTIVE
    started_at = factory.LazyFunction(timezone.now)
    current_period_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=365))
    access_ends_at = factory.LazyAttribute(
        lambda m: m.current_period_end + timedelta(days=30) if m.current_period_end else None
    )


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Faker("company")
    city = "Chicago"
    state = "IL"


class PracticeMembershipFactory(MembershipFactory):
    """An active practice membership; its admin (`user`) holds the first seat."""

    class Meta:
        skip_postgeneration_save = True

    plan = factory.SubFactory(PracticePlanFactory)
    practice = factory.SubFactory(PracticeFactory)

    @factory.post_generation
    def admin_seat(self, create, extracted, **kwargs):
        if create:
            Seat.objects.create(
                membership=self,
                email=self.user.email,
                user=self.user,
                invited_by=self.user,
                accepted_at=timezone.now(),
            )


class MemberFactory(UserFactory):
    """A user who is an active member according to membership.access.

    Every app's tests make members through this factory, so when membership rules change only
    this factory changes. It gives the user an active personal membership on the Individual
    plan; pass `membership__state="grace"` (or another state) to vary it.
    """

    membership = factory.RelatedFactory(MembershipFactory, factory_related_name="user")


class TestimonialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Testimonial

    quote = factory.Faker("paragraph", nb_sentences=2)
    name = factory.Faker("name")
    title = "Practice Manager"
    practice = factory.Faker("company")


# --- Conferences ----------------------------------------------------------------------------


def conference_index():
    """The conference index page under the site root, made once."""
    from wagtail.models import Page, Site

    from conferences.models import ConferenceIndexPage

    index = ConferenceIndexPage.objects.first()
    if index:
        return index
    site = Site.objects.filter(is_default_site=True).first()
    parent = site.root_page if site else Page.get_first_root_node()
    index = ConferenceIndexPage(title="Conferences", slug="conferences")
    parent.add_child(instance=index)
    return index


class ConferencePageFactory(factory.django.DjangoModelFactory):
    """A published conference page two months ahead (Wagtail pages are added to a parent)."""

    class Meta:
        model = "conferences.ConferencePage"

    title = factory.Sequence(lambda n: f"NORM Annual Conference {2027 + n}")
    slug = factory.Sequence(lambda n: f"annual-conference-{n}")
    start_date = factory.LazyFunction(lambda: _today() + _days(60))
    end_date = factory.LazyAttribute(lambda o: o.start_date + _days(1))
    venue_name = "Hyatt Regency Chicago"
    venue_address = "151 E Wacker Dr, Chicago, IL 60601"
    capacity = 300

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        parent = kwargs.pop("parent", None) or conference_index()
        page = model_class(*args, **kwargs)
        parent.add_child(instance=page)
        return page


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "conferences.TicketType"

    conference = factory.SubFactory(ConferencePageFactory)
    name = "Full conference"
    kind = "full"
    member_price_cents = 49_500
    non_member_price_cents = 69_500


class SessionFactory(factory.django.DjangoModelFactory):
    """A break-out on the conference's first day at 10:30 (parallel ones share the time)."""

    class Meta:
        model = "conferences.Session"

    conference = factory.SubFactory(ConferencePageFactory)
    title = factory.Sequence(lambda n: f"Break-out {n}")
    kind = "breakout"
    starts_at = factory.LazyAttribute(lambda o: _at(o.conference.start_date, 10, 30))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + _days(0, hours=1))
    room = "Room A"
    capacity = 40


class DiscountCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "conferences.DiscountCode"

    conference = factory.SubFactory(ConferencePageFactory)
    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = "percent"
    value = 20


class AccessCodeFactory(factory.django.DjangoModelFactory):
    """A code unlocking hidden ticket types: AccessCodeFactory(ticket_types=[exhibitor])."""

    class Meta:
        model = "conferences.AccessCode"

    conference = factory.SubFactory(ConferencePageFactory)
    code = factory.Sequence(lambda n: f"EXHIBIT{n}")
    max_uses = 5

    @factory.post_generation
    def ticket_types(self, create, extracted, **kwargs):
        if create and extracted:
            self.ticket_types.set(extracted)


def _today():
    from django.utils import timezone

    return timezone.localdate()


def _days(days, hours=0):
    from datetime import timedelta

    return timedelta(days=days, hours=hours)


def _at(day, hour, minute=0):
    from datetime import datetime, time

    from django.utils import timezone

    return timezone.make_aware(datetime.combine(day, time(hour, minute)))
