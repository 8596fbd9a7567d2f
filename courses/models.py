"""Self-paced courses as Wagtail pages: lessons and an optional quiz as StreamField data, the
hours a completion earns, and each member's progress (enrollment, lessons done, quiz
attempts). The rules live in courses/services.py; who may take a members-only course is
membership.access's answer."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from .blocks import LessonBlock, QuestionBlock


class CourseIndexPage(Page):
    """The list of courses."""

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["portal.HomePage"]
    subpage_types = ["courses.CoursePage"]
    max_count = 1

    class Meta:
        verbose_name = "courses index"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["courses"] = CoursePage.objects.live().public().child_of(self).order_by("title")
        return context


class CoursePage(RoutablePageMixin, Page):
    """One course: lessons in order, then an optional quiz; completing it earns its hours
    (education's credit ledger) and a certificate."""

    intro = models.TextField(max_length=600, help_text="What the course covers, for everyone.")
    members_only = models.BooleanField(
        default=True,
        help_text="Only active members can take the course; everyone sees its title, intro "
        "and lesson titles.",
    )
    lessons = StreamField([("lesson", LessonBlock())], min_num=1)
    quiz = StreamField([("question", QuestionBlock())], blank=True)
    pass_mark = models.PositiveSmallIntegerField(
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The share of questions to answer right, in percent.",
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many times a member may submit the quiz.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("intro"),
        FieldPanel("members_only"),
        FieldPanel("lessons"),
        MultiFieldPanel(
            [FieldPanel("quiz"), FieldPanel("pass_mark"), FieldPanel("max_attempts")],
            heading="Quiz",
        ),
        InlinePanel("credits", label="Hours earned", min_num=1),
    ]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["courses.CourseIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = "course"

    def clean(self):
        super().clean()
        for block in self.quiz:
            if not any(choice["correct"] for choice in block.value["choices"]):
                raise ValidationError(
                    {"quiz": f"Mark the right answer of “{block.value['question']}”."}
                )

    # -- helpers ---------------------------------------------------------------------------

    @property
    def lesson_ids(self) -> list[str]:
        return [block.id for block in self.lessons]

    @property
    def has_quiz(self) -> bool:
        return len(self.quiz) > 0

    def hours(self) -> dict[str, Decimal]:
        """{"CRMS": Decimal("1.50"), ...}: what completing this course earns."""
        return {c.credit_type.code: c.hours for c in self.credits.select_related("credit_type")}

    def get_context(self, request, *args, **kwargs):
        from .views import course_context  # views import these models

        context = super().get_context(request, *args, **kwargs)
        context.update(course_context(request, self))
        return context

    @path("lessons/<str:lesson_id>/done/", name="lesson-done")
    def lesson_done_route(self, request, lesson_id: str):
        from .views import lesson_done

        return lesson_done(request, self, lesson_id)

    @path("quiz/", name="quiz")
    def quiz_route(self, request):
        from .views import quiz_submit

        return quiz_submit(request, self)


class CourseCredit(Orderable):
    """Hours of one credit type that completing the course earns."""

    page = ParentalKey(CoursePage, on_delete=models.CASCADE, related_name="credits")
    credit_type = models.ForeignKey(
        "education.CreditType", on_delete=models.PROTECT, related_name="+"
    )
    hours = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.25")), MaxValueValidator(Decimal("100"))],
    )

    panels = [FieldPanel("credit_type"), FieldPanel("hours")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["page", "credit_type"], name="course_credit_once")
        ]


class Enrollment(models.Model):
    """A member's progress through one course; its row is the lock quiz attempts take."""

    course = models.ForeignKey(CoursePage, on_delete=models.CASCADE, related_name="enrollments")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_enrollments"
    )
    started_at = models.DateTimeField(default=timezone.now)
    quiz_passed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    extra_attempts = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(20)],
        help_text="Quiz attempts staff grant this member beyond the course's limit.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "member"], name="one_enrollment_per_course")
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.course}"

    def attempts_used(self) -> int:
        return self.attempts.count()

    attempts_used.short_description = "attempts used"  # type: ignore[attr-defined]

    @property
    def attempts_allowed(self) -> int:
        return self.course.max_attempts + self.extra_attempts


class LessonProgress(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="lessons")
    lesson_id = models.CharField(max_length=64)
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "lesson_id"], name="lesson_done_once")
        ]

    def __str__(self) -> str:
        return f"lesson {self.lesson_id} of {self.enrollment}"


class QuizAttempt(models.Model):
    """One submitted quiz, graded on the server; numbered per enrollment, so the limit is a
    count of rows, never a number the browser sends."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField(help_text="Percent of questions answered right.")
    passed = models.BooleanField()
    answers = models.JSONField(default=dict)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "number"], name="attempt_number_once")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.enrollment}: {self.score}%"
