"""Quiz posts at once from one member cannot get past the attempt limit: the enrollment row
lock serializes them and the count of attempt rows decides (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from courses import services
from courses.demo import SLUG
from courses.models import CoursePage, QuizAttempt
from tests.factories import MemberFactory

from .test_courses import answers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


def test_parallel_quiz_posts_use_one_attempt_each_and_never_pass_the_limit(demo_site):
    course = CoursePage.objects.get(slug=SLUG)
    course.max_attempts = 2
    course.save_revision().publish()
    course = CoursePage.objects.get(pk=course.pk)
    member = MemberFactory()
    wrong = {key[2:]: value for key, value in answers(course, right=False).items()}
    right = {key[2:]: value for key, value in answers(course, right=True).items()}
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def post(index: int) -> None:
        try:
            barrier.wait()
            # The first posts fail the quiz; the later "replays" carry the right answers.
            result = services.quiz_submit(
                member=member, course=course, answers=wrong if index % 2 else right
            )
            outcomes.append("passed" if result.attempt.passed else "failed")
        except services.CourseRefusal:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    attempts = list(QuizAttempt.objects.filter(enrollment__member=member).order_by("number"))
    assert len(outcomes) == THREADS
    assert [a.number for a in attempts] == list(range(1, len(attempts) + 1))
    assert 1 <= len(attempts) <= 2
    assert outcomes.count("refused") == THREADS - len(attempts)
    # At most one attempt passed, and nothing after a pass was graded.
    assert sum(a.passed for a in attempts) <= 1
    if any(a.passed for a in attempts):
        assert attempts[-1].passed
