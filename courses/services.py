"""Taking a course: lessons marked done, the quiz graded on the server under the enrollment's
row lock, and completion granting the course's hours and a certificate through education's
ledger (both idempotent, so a retried or doubled completion changes nothing)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from education.models import Certificate, SourceKind
from education.services import certificate_issue, credit_grant
from membership.access import can_read_members_only

from .models import CourseCredit, CoursePage, Enrollment, LessonProgress, QuizAttempt

logger = logging.getLogger(__name__)


class CourseRefusal(Exception):
    """What the member asked cannot be done; str(exc) says why, in words for them."""


@dataclass(frozen=True)
class QuizResult:
    attempt: QuizAttempt
    attempts_left: int
    completed: bool


def may_take(user: AbstractUser | AnonymousUser | None, course: CoursePage) -> bool:
    """Signed in, and for a members-only course, let in by membership.access."""
    if user is None or not user.is_authenticated:
        return False
    return not course.members_only or can_read_members_only(user)


def course_ref(course: CoursePage) -> str:
    """The course's key in the credit ledger and on its certificates."""
    return f"course:{course.pk}"


def _enrollment_locked(*, member: Any, course: CoursePage) -> Enrollment:
    Enrollment.objects.get_or_create(course=course, member=member)
    # The lock every writer of this member's progress takes (FOR UPDATE on PostgreSQL; SQLite
    # already serializes writing transactions): two quiz posts at once count one at a time.
    return Enrollment.objects.select_for_update().get(course=course, member=member)


def lesson_complete(*, member: Any, course: CoursePage, lesson_id: str) -> Enrollment:
    """Mark one lesson done (again is a no-op); completes the course when nothing is left."""
    if not may_take(member, course):
        raise CourseRefusal("This course is for members.")
    if lesson_id not in course.lesson_ids:
        raise CourseRefusal("That lesson is not part of this course.")
    with transaction.atomic():
        enrollment = _enrollment_locked(member=member, course=course)
        LessonProgress.objects.get_or_create(enrollment=enrollment, lesson_id=lesson_id)
        _complete_if_done(enrollment, course)
    return enrollment


def grade(course: CoursePage, answers: Mapping[str, list[str]]) -> tuple[int, dict[str, list[int]]]:
    """(percent right, the answers as kept) for answers {question block id: [choice index]}.
    Anything that is not a question of this quiz or a choice of it is ignored; a question
    is right when exactly its correct choices were picked."""
    right, kept = 0, {}
    questions = list(course.quiz)
    for block in questions:
        choices = block.value["choices"]
        picked = set()
        for raw in answers.get(block.id, [])[: len(choices)]:
            if str(raw).isdigit() and int(raw) < len(choices):
                picked.add(int(raw))
        kept[block.id] = sorted(picked)
        correct = {i for i, choice in enumerate(choices) if choice["correct"]}
        if picked == correct:
            right += 1
    percent = round(100 * right / len(questions)) if questions else 100
    return percent, kept


def quiz_submit(*, member: Any, course: CoursePage, answers: Mapping[str, list[str]]) -> QuizResult:
    """Grade one attempt. Raises CourseRefusal when the quiz is already passed, or when the
    member has used every attempt staff allowed: attempts are rows counted under the
    enrollment's lock, so no replay or parallel post gets one more."""
    if not may_take(member, course):
        raise CourseRefusal("This course is for members.")
    if not course.has_quiz:
        raise CourseRefusal("This course has no quiz.")
    with transaction.atomic():
        enrollment = _enrollment_locked(member=member, course=course)
        if enrollment.quiz_passed_at is not None:
            raise CourseRefusal("You have already passed this quiz.")
        used = enrollment.attempts.count()
        allowed = course.max_attempts + enrollment.extra_attempts
        if used >= allowed:
            raise CourseRefusal(
                "You have used all your attempts at this quiz. Contact us if you need another."
            )
        score, kept = grade(course, answers)
        passed = score >= course.pass_mark
        attempt = QuizAttempt.objects.create(
            enrollment=enrollment, number=used + 1, score=score, passed=passed, answers=kept
        )
        if passed:
            enrollment.quiz_passed_at = attempt.submitted_at
            enrollment.save(update_fields=["quiz_passed_at"])
        completed = _complete_if_done(enrollment, course)
    logger.info(
        "course %s quiz attempt %s by member %s: %s%%", course.pk, used + 1, member.pk, score
    )
    return QuizResult(attempt=attempt, attempts_left=allowed - used - 1, completed=completed)


def _complete_if_done(enrollment: Enrollment, course: CoursePage) -> bool:
    """Inside the lock: when every lesson is done and the quiz (if any) passed, record the
    completion and grant its hours and certificate. True once the course is complete."""
    if enrollment.completed_at is not None:
        return True
    done = set(enrollment.lessons.values_list("lesson_id", flat=True))
    if not set(course.lesson_ids) <= done:
        return False
    if course.has_quiz and enrollment.quiz_passed_at is None:
        return False
    enrollment.completed_at = timezone.now()
    enrollment.save(update_fields=["completed_at"])
    course_award(enrollment=enrollment, course=course)
    return True


def course_award(*, enrollment: Enrollment, course: CoursePage) -> Certificate | None:
    """The hours and the certificate of a completed course; running it again grants nothing
    new (credit_grant and certificate_issue are keyed by member, source and type)."""
    earned_on = timezone.localdate(enrollment.completed_at)
    hours = {}
    credits = CourseCredit.objects.filter(page=course).select_related("credit_type")
    for credit in credits:
        credit_grant(
            member=enrollment.member,
            source_kind=SourceKind.COURSE,
            source_ref=course_ref(course),
            credit_type=credit.credit_type,
            hours=credit.hours,
            earned_on=earned_on,
            title=course.title,
            provider="Self-paced course",
        )
        hours[credit.credit_type.code] = credit.hours
    if not hours:
        return None
    certificate, _ = certificate_issue(
        member=enrollment.member,
        source_kind=SourceKind.COURSE,
        source_ref=course_ref(course),
        title=course.title,
        hours=hours,
        earned_on=earned_on,
        event_title="Self-paced course",
        items=[block.value["title"] for block in course.lessons],
    )
    return certificate


def course_certificate(*, member: Any, course: CoursePage) -> Certificate | None:
    return Certificate.objects.filter(
        member=member,
        source_kind=SourceKind.COURSE,
        source_ref=course_ref(course),
        revoked_at__isnull=True,
    ).first()
