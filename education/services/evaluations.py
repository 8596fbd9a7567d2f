"""The session survey: open to those checked in once the session ends, one per attendee and
session, answers stored without the attendee (EvaluationAnswer), results shown only as
counts, averages and the comments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from conferences.models import Attendee, Session

from ..models import EvaluationAnswer, EvaluationQuestion, EvaluationSubmission, SessionAttendance
from .common import Refusal

# How long after a session ends its evaluation stays open.
EVALUATION_DAYS = 30
COMMENT_LIMIT = 2000


def questions_for(session: Session) -> QuerySet[EvaluationQuestion]:
    """The conference's own questions, or the default set when it has none."""
    own = EvaluationQuestion.objects.filter(conference_id=session.conference_id, is_active=True)
    if own.exists():
        return own
    return EvaluationQuestion.objects.filter(conference__isnull=True, is_active=True)


def evaluation_state(session: Session, attendee: Attendee, at: datetime | None = None) -> str:
    """One of "done", "open", "not-yet" (the session has not ended), "closed" or
    "not-attended", now or at the moment `at`."""
    if EvaluationSubmission.objects.filter(session=session, attendee=attendee).exists():
        return "done"
    if not SessionAttendance.objects.filter(session=session, attendee=attendee).exists():
        return "not-attended"
    now = at or timezone.now()
    if now < session.ends_at:
        return "not-yet"
    if now > session.ends_at + timedelta(days=EVALUATION_DAYS):
        return "closed"
    return "open"


REFUSALS = {
    "done": "You already evaluated this session. Thank you.",
    "not-attended": "Evaluations are for attendees checked in at the session.",
    "not-yet": "The evaluation opens when the session ends.",
    "closed": "The evaluation for this session has closed.",
}


def evaluation_parse(
    session: Session, data: Mapping[str, str]
) -> tuple[dict[int, int | str], dict[str, str]]:
    """Answers keyed by question id from posted fields `q<id>`, and errors keyed the same."""
    answers: dict[int, int | str] = {}
    errors: dict[str, str] = {}
    for question in questions_for(session):
        name = f"q{question.pk}"
        raw = (data.get(name) or "").strip()
        if question.kind == EvaluationQuestion.Kind.RATING:
            if not raw:
                if question.required:
                    errors[name] = "Choose a rating from 1 to 5."
                continue
            if raw not in {"1", "2", "3", "4", "5"}:
                errors[name] = "Choose a rating from 1 to 5."
                continue
            answers[question.pk] = int(raw)
        else:
            if len(raw) > COMMENT_LIMIT:
                errors[name] = f"Keep it under {COMMENT_LIMIT} characters."
            elif raw:
                answers[question.pk] = raw
            elif question.required:
                errors[name] = "Write a few words."
    return answers, errors


def evaluation_submit(
    *,
    session: Session,
    attendee: Attendee,
    answers: Mapping[int, int | str],
    at: datetime | None = None,
) -> EvaluationSubmission:
    """Store one evaluation: who (the submission) and what (answers, without who) in one
    transaction, under the one-per-attendee constraint. Then the session's rule may be met.
    `at` is when it was sent (now; the demo's history passes a past moment)."""
    at = at or timezone.now()
    state = evaluation_state(session, attendee, at)
    if state != "open":
        raise Refusal(REFUSALS[state])
    questions = {q.pk: q for q in questions_for(session)}
    try:
        with transaction.atomic():
            submission = EvaluationSubmission.objects.create(
                session=session, attendee=attendee, submitted_at=at
            )
            EvaluationAnswer.objects.bulk_create(
                [
                    EvaluationAnswer(
                        session=session,
                        question=questions[pk],
                        rating=value if isinstance(value, int) else None,
                        comment=value if isinstance(value, str) else "",
                    )
                    for pk, value in answers.items()
                    if pk in questions
                ]
            )
            from .earning import attendance_earn  # local: earning imports evaluations' models

            attendance = SessionAttendance.objects.select_related(
                "session__conference", "attendee__order__owner"
            ).get(session=session, attendee=attendee)
            attendance_earn(attendance)
    except IntegrityError as error:
        raise Refusal(REFUSALS["done"]) from error
    return submission


@dataclass
class QuestionResult:
    question: EvaluationQuestion
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    comments: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(self.counts)

    @property
    def average(self) -> float | None:
        if not self.answered:
            return None
        return sum((i + 1) * n for i, n in enumerate(self.counts)) / self.answered


def evaluation_results(session: Session) -> tuple[int, list[QuestionResult]]:
    """How many evaluated the session, and per question the rating counts or the comments.
    Comments are shown in random-key order, never in the order they came in."""
    submitted = EvaluationSubmission.objects.filter(session=session).count()
    results = {q.pk: QuestionResult(q) for q in questions_for(session)}
    answers = EvaluationAnswer.objects.filter(session=session).select_related("question")
    for answer in answers.order_by("id"):
        result = results.setdefault(answer.question_id, QuestionResult(answer.question))
        if answer.rating:
            result.counts[answer.rating - 1] += 1
        elif answer.comment:
            result.comments.append(answer.comment)
    return submitted, list(results.values())
