"""Demo: the courses index and one members-only course, with lessons that link library
documents, a three-question quiz and 1.5 CRMS hours."""

from __future__ import annotations

import uuid
from decimal import Decimal

from wagtail.models import Site

from education.models import CreditType
from library.models import LibraryDocument

from .models import CourseCredit, CourseIndexPage, CoursePage

SLUG = "prior-authorization-basics"


def _text(html: str) -> dict:
    return {"type": "text", "value": html, "id": str(uuid.uuid4())}


def _lesson(title: str, body: list[dict]) -> dict:
    return {"type": "lesson", "value": {"title": title, "body": body}, "id": str(uuid.uuid4())}


def _question(text: str, choices: list[tuple[str, bool]]) -> dict:
    return {
        "type": "question",
        "value": {
            "question": text,
            "choices": [{"text": t, "correct": ok} for t, ok in choices],
        },
        "id": str(uuid.uuid4()),
    }


def load(stdout) -> None:
    home = Site.objects.get(is_default_site=True).root_page
    index = CourseIndexPage.objects.first()
    if index is None:
        index = CourseIndexPage(
            title="Courses",
            slug="courses",
            intro="Self-paced courses that earn continuing-education hours.",
        )
        home.add_child(instance=index)
        index.save_revision().publish()
    if CoursePage.objects.filter(slug=SLUG).exists():
        return
    lessons = [
        _lesson(
            "Why requests are denied",
            [
                _text(
                    "<p>Most denials come from three gaps: a missing diagnosis code, no record "
                    "of step therapy, and an expired authorization on a refill.</p>"
                )
            ],
        ),
        _lesson(
            "Building the appeal",
            [
                _text(
                    "<p>Cite the plan's own policy, attach the chart notes and list every drug "
                    "tried with dates and doses.</p>"
                )
            ],
        ),
        _lesson(
            "Tracking and follow-up",
            [_text("<p>Log every request with its reference number and a follow-up date.</p>")],
        ),
    ]
    letter = LibraryDocument.objects.filter(title="Prior authorization appeal letter").first()
    if letter is not None:
        lessons[1]["value"]["body"].append(
            {
                "type": "document",
                "value": {"document": letter.pk, "note": "A letter to start from."},
                "id": str(uuid.uuid4()),
            }
        )
    course = CoursePage(
        title="Prior authorization basics",
        slug=SLUG,
        intro="How payers decide, how to appeal a denial and how to keep requests moving: "
        "three short lessons and a quiz.",
        members_only=True,
        lessons=lessons,
        quiz=[
            _question(
                "What most often gets a biologic request denied?",
                [
                    ("No record of step therapy", True),
                    ("The patient's age", False),
                    ("Submitting by fax", False),
                ],
            ),
            _question(
                "What belongs in an appeal?",
                [
                    ("The plan's own policy", True),
                    ("The chart notes", True),
                    ("The practice's fee schedule", False),
                ],
            ),
            _question(
                "What should every logged request have?",
                [("A reference number and a follow-up date", True), ("A sticky note", False)],
            ),
        ],
        pass_mark=67,
        max_attempts=3,
    )
    course.credits = [
        CourseCredit(credit_type=CreditType.objects.get(code="CRMS"), hours=Decimal("1.50"))
    ]
    index.add_child(instance=course)
    course.save_revision().publish()
    stdout.write("Courses: demo course in place.")
