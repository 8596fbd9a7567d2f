"""factory_boy factories shared by every app's tests."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from portal.models import Testimonial

TEST_PASSWORD = "correct-horse-battery"


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
    is_staff = True


class MemberFactory(UserFactory):
    """A user who is an active member according to membership.access.

    Every app's tests make members through this factory, so when membership rules change only
    this factory changes. (Until membership billing exists, access treats staff as members.)
    """

    is_staff = True


class TestimonialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Testimonial

    quote = factory.Faker("paragraph", nb_sentences=2)
    name = factory.Faker("name")
    title = "Practice Manager"
    practice = factory.Faker("company")
