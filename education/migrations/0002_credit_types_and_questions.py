"""The credit types NORM's members keep, and the default session survey. Both are data staff
edit afterwards; this only gives a new site a sensible start."""

from django.db import migrations

CREDIT_TYPES = [
    ("CRMS", "Certified Rheumatology Practice Management Specialist", 10),
    ("CMPM", "Certified Medical Practice Manager", 20),
    ("CEU", "General continuing-education unit", 30),
]

QUESTIONS = [
    ("The session met its stated objectives.", "rating", True, 10),
    ("The speakers knew the subject and presented it clearly.", "rating", True, 20),
    ("I can use what I learned in my practice.", "rating", True, 30),
    ("What would have made this session better?", "comment", False, 40),
]


def forwards(apps, schema_editor):
    CreditType = apps.get_model("education", "CreditType")
    for code, name, order in CREDIT_TYPES:
        CreditType.objects.get_or_create(code=code, defaults={"name": name, "sort_order": order})
    Question = apps.get_model("education", "EvaluationQuestion")
    if not Question.objects.filter(conference__isnull=True).exists():
        for text, kind, required, order in QUESTIONS:
            Question.objects.create(text=text, kind=kind, required=required, sort_order=order)


class Migration(migrations.Migration):
    dependencies = [("education", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
