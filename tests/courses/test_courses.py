"""Taking the demo course: lessons, the quiz and its attempt limit, completion earning hours on
the transcript and a certificate anyone can verify; who may take a members-only course."""

from __future__ import annotations

import pytest

from courses import services
from courses.demo import SLUG
from courses.models import CoursePage, Enrollment, QuizAttempt
from education.models import Certificate, CreditRecord
from tests.conftest import second_factor_client
from tests.factories import MemberFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

LESSON_TEXT = "Cite the plan's own policy"


@pytest.fixture
def course(demo_site):
    return CoursePage.objects.get(slug=SLUG)


def answers(course: CoursePage, *, right: bool) -> dict[str, list[str]]:
    data = {}
    for block in course.quiz:
        choices = block.value["choices"]
        picked = [str(i) for i, c in enumerate(choices) if c["correct"] == right]
        data[f"q-{block.id}"] = picked
    return data


def lesson_url(course: CoursePage, lesson_id: str) -> str:
    return course.url + course.reverse_subpage("lesson-done", args=[lesson_id])


def quiz_url(course: CoursePage) -> str:
    return course.url + course.reverse_subpage("quiz")


def test_completion_puts_the_hours_on_the_transcript_with_a_certificate(client, course):
    member = MemberFactory(first_name="Dana", last_name="Whitfield")
    client.force_login(member)

    for lesson_id in course.lesson_ids:
        assert client.post(lesson_url(course, lesson_id)).status_code == 302
    response = client.post(quiz_url(course), answers(course, right=True), follow=True)
    assert "You passed with 100%" in response.content.decode()
    assert "Course complete" in response.content.decode()

    record = CreditRecord.objects.get(member=member)
    assert (record.credit_type.code, str(record.hours)) == ("CRMS", "1.50")
    assert record.source_ref == f"course:{course.pk}"
    transcript = client.get("/education/transcript/").content.decode()
    assert "Prior authorization basics" in transcript
    assert "1.50" in transcript or "1.5" in transcript
    certificate = Certificate.objects.get(member=member)
    assert certificate.hours == {"CRMS": "1.50"}
    verify = client.get(f"/verify/{certificate.number}/").content.decode()
    assert "Dana Whitfield" in verify and "Prior authorization basics" in verify

    # Completing again, or awarding again, grants nothing new.
    enrollment = Enrollment.objects.get(member=member)
    services.course_award(enrollment=enrollment, course=course)
    client.post(lesson_url(course, course.lesson_ids[0]))
    assert CreditRecord.objects.filter(member=member).count() == 1
    assert Certificate.objects.filter(member=member).count() == 1


def test_quiz_before_the_lessons_does_not_complete_the_course(client, course):
    member = MemberFactory()
    client.force_login(member)
    client.post(quiz_url(course), answers(course, right=True))
    enrollment = Enrollment.objects.get(member=member)
    assert enrollment.quiz_passed_at is not None and enrollment.completed_at is None
    assert not CreditRecord.objects.filter(member=member).exists()
    for lesson_id in course.lesson_ids:
        client.post(lesson_url(course, lesson_id))
    enrollment.refresh_from_db()
    assert enrollment.completed_at is not None
    assert CreditRecord.objects.filter(member=member).count() == 1


def test_no_pass_by_replaying_answers_after_the_attempt_limit(client, course):
    member = MemberFactory()
    client.force_login(member)
    for lesson_id in course.lesson_ids:
        client.post(lesson_url(course, lesson_id))

    for _ in range(course.max_attempts):
        response = client.post(quiz_url(course), answers(course, right=False), follow=True)
        assert "You scored 0%" in response.content.decode()
    assert "You have no attempts left" in response.content.decode()

    replay = client.post(quiz_url(course), answers(course, right=True))
    assert replay.status_code == 409
    assert "used all your attempts" in replay.content.decode()
    assert QuizAttempt.objects.filter(enrollment__member=member).count() == course.max_attempts
    enrollment = Enrollment.objects.get(member=member)
    assert enrollment.quiz_passed_at is None and enrollment.completed_at is None
    assert not CreditRecord.objects.filter(member=member).exists()
    page = client.get(course.url).content.decode()
    assert "Submit answers" not in page


def test_a_passed_quiz_cannot_be_submitted_again(client, course):
    client.force_login(MemberFactory())
    client.post(quiz_url(course), answers(course, right=True))
    again = client.post(quiz_url(course), answers(course, right=False))
    assert again.status_code == 409
    assert QuizAttempt.objects.count() == 1


def _client(role: str, client):
    if role == "anonymous":
        return client
    if role == "staff":
        return second_factor_client(StaffFactory())
    client.force_login(MemberFactory() if role == "member" else UserFactory())
    return client


@pytest.mark.parametrize(
    ("role", "reads", "post_status"),
    [
        ("anonymous", False, 302),
        ("non-member", False, 403),
        ("member", True, 302),
        ("staff", True, 302),
    ],
)
def test_members_only_course_per_role(client, course, role, reads, post_status):
    browser = _client(role, client)
    html = browser.get(course.url).content.decode()
    assert "Prior authorization basics" in html
    assert "Building the appeal" in html  # lesson titles are public
    assert (LESSON_TEXT in html) is reads
    assert ("Submit answers" in html) is reads
    response = browser.post(lesson_url(course, course.lesson_ids[0]))
    assert response.status_code == post_status
    if role == "anonymous":
        assert response["Location"].startswith("/accounts/login/")
    assert Enrollment.objects.exists() is reads
    quiz = browser.post(quiz_url(course), answers(course, right=True))
    assert QuizAttempt.objects.exists() is reads
    assert quiz.status_code in {302, 403}


def test_public_course_is_readable_by_anyone(client, course):
    course.members_only = False
    course.save_revision().publish()
    html = client.get(course.url).content.decode()
    assert LESSON_TEXT in html
    assert "to save your progress" in html


@pytest.mark.parametrize(
    "data",
    [
        {"q-nope": ["0"]},
        {"q-x": ["-1", "99999999999999999999", "a\u202e"]},
        {},
    ],
)
def test_odd_quiz_posts_are_graded_never_fail(client, course, data):
    client.force_login(MemberFactory())
    for block in course.quiz:
        data.setdefault(f"q-{block.id}", ["7", "-3", "x" * 300, "0"])
    response = client.post(quiz_url(course), data)
    assert response.status_code == 302
    assert QuizAttempt.objects.get().passed is False


def test_odd_lesson_ids_and_methods(client, course):
    client.force_login(MemberFactory())
    assert client.post(lesson_url(course, "no-such-lesson")).status_code == 404
    assert client.get(quiz_url(course)).status_code == 405
    assert client.get(lesson_url(course, course.lesson_ids[0])).status_code == 405


def test_staff_grant_an_extra_attempt_in_the_admin(client, course):
    member = MemberFactory()
    client.force_login(member)
    for _ in range(course.max_attempts):
        client.post(quiz_url(course), answers(course, right=False))
    assert client.post(quiz_url(course), answers(course, right=True)).status_code == 409

    enrollment = Enrollment.objects.get(member=member)
    admin = second_factor_client(StaffFactory(is_superuser=True))
    listing = admin.get("/admin/course_progress/")
    assert listing.status_code == 200
    assert f"/admin/course_progress/edit/{enrollment.pk}/" in listing.content.decode()
    edit = admin.post(f"/admin/course_progress/edit/{enrollment.pk}/", {"extra_attempts": "1"})
    assert edit.status_code == 302

    assert client.post(quiz_url(course), answers(course, right=True)).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.quiz_passed_at is not None
    assert client.post(quiz_url(course), answers(course, right=False)).status_code == 409
    for role_client in (client,):  # a member cannot reach the admin at all
        assert role_client.get("/admin/course_progress/").status_code in {302, 403}
