"""The demo library and course: in place, words read, and a second load adds nothing."""

import os

import pytest
from django.core.management import call_command

from courses.demo import SLUG
from courses.models import CoursePage
from library.models import LibraryDocument

pytestmark = pytest.mark.django_db


def test_demo_library_and_course_load_once(demo_site):
    documents = LibraryDocument.objects.all()
    assert documents.count() == 4
    assert {d.text_status for d in documents} == {LibraryDocument.TextStatus.READ}
    assert documents.filter(members_only=True).count() == 2
    course = CoursePage.objects.get(slug=SLUG)
    assert course.live and course.members_only and course.hours() == {"CRMS": 1.5}

    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert LibraryDocument.objects.count() == 4
    assert CoursePage.objects.count() == 1
