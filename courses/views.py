"""The course page's parts for a reader, and its two forms: a lesson done, a quiz submitted.
Reached through CoursePage's routes; the rules are in courses/services.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render

from membership.access import can_read_members_only

from . import services
from .models import CoursePage, Enrollment


def course_context(request, course: CoursePage) -> dict[str, Any]:
    user = request.user
    preview = getattr(request, "is_preview", False)
    can_read = preview or not course.members_only or can_read_members_only(user)
    enrollment = None
    if user.is_authenticated:
        enrollment = (
            Enrollment.objects.filter(course=course, member=user)
            .prefetch_related("lessons", "attempts")
            .first()
        )
    done = {p.lesson_id for p in enrollment.lessons.all()} if enrollment else set()
    attempts = list(enrollment.attempts.all()) if enrollment else []
    allowed = enrollment.attempts_allowed if enrollment else course.max_attempts
    lessons = [
        {
            "id": block.id,
            "title": block.value["title"],
            "body": block.value["body"],
            "done": block.id in done,
        }
        for block in course.lessons
    ]
    questions = [
        {
            "id": block.id,
            "text": block.value["question"],
            "multiple": sum(1 for c in block.value["choices"] if c["correct"]) > 1,
            "choices": list(enumerate(c["text"] for c in block.value["choices"])),
        }
        for block in course.quiz
    ]
    return {
        "can_read": can_read,
        "may_take": services.may_take(user, course),
        "enrollment": enrollment,
        "lessons": lessons,
        "lessons_done": len(done & set(course.lesson_ids)),
        "all_lessons_done": set(course.lesson_ids) <= done,
        "questions": questions,
        "attempts": attempts,
        "attempts_allowed": allowed,
        "attempts_left": max(
            0,
            course.max_attempts + (enrollment.extra_attempts if enrollment else 0) - len(attempts),
        ),
        "quiz_passed": bool(enrollment and enrollment.quiz_passed_at),
        "completed": bool(enrollment and enrollment.completed_at),
        "certificate": (
            services.course_certificate(member=user, course=course)
            if enrollment and enrollment.completed_at
            else None
        ),
        "hours": course.hours(),
    }


def _refused(request, course: CoursePage, reason: str, status: int):
    return render(
        request, "courses/refused.html", {"page": course, "reason": reason}, status=status
    )


def _gate(request, course: CoursePage):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.is_authenticated:
        return redirect_to_login(course.url)
    if not services.may_take(request.user, course):
        return _refused(request, course, "This course is for members of the association.", 403)
    return None


def lesson_done(request, course: CoursePage, lesson_id: str):
    if (response := _gate(request, course)) is not None:
        return response
    if lesson_id not in course.lesson_ids:
        raise Http404("No such lesson.")
    enrollment = services.lesson_complete(member=request.user, course=course, lesson_id=lesson_id)
    if enrollment.completed_at:
        messages.success(request, "Course complete. Your hours are on your transcript.")
    return redirect(f"{course.url}#lesson-{lesson_id}")


def quiz_submit(request, course: CoursePage):
    if (response := _gate(request, course)) is not None:
        return response
    answers = {block.id: request.POST.getlist(f"q-{block.id}")[:10] for block in course.quiz}
    try:
        result = services.quiz_submit(member=request.user, course=course, answers=answers)
    except services.CourseRefusal as exc:
        return _refused(request, course, str(exc), 409)
    attempt = result.attempt
    if attempt.passed:
        messages.success(
            request,
            f"You passed with {attempt.score}%."
            + (
                " Course complete: your hours are on your transcript."
                if result.completed
                else " Finish the remaining lessons to complete the course."
            ),
        )
    else:
        left = result.attempts_left
        messages.error(
            request,
            f"You scored {attempt.score}%; the pass mark is {course.pass_mark}%. "
            + (
                f"You have {left} attempt{'s' if left != 1 else ''} left."
                if left
                else "You have no attempts left."
            ),
        )
    return redirect(f"{course.url}#quiz")
