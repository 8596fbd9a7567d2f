"""The `demo_site` fixture puts back a snapshot of `load_demo`: it must equal a real load."""

import os

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from wagtail.models import Page

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _contents():
    return {
        "rows": {m._meta.label: m._base_manager.count() for m in apps.get_models()},
        "pages": sorted(Page.objects.values_list("url_path", "title", "live", "numchild")),
        # Salts differ from one load to the next; which accounts can sign in does not.
        "users": sorted(
            (u.email, u.is_staff, u.has_usable_password()) for u in get_user_model().objects.all()
        ),
    }


def test_the_snapshot_writes_what_load_demo_writes(demo_snapshot):
    with transaction.atomic():
        with open(os.devnull, "w") as devnull:
            call_command("load_demo", stdout=devnull)
        loaded = _contents()
        transaction.set_rollback(True)
    migrated = _contents()

    assert demo_snapshot.restore()
    restored = _contents()

    assert restored == loaded
    assert restored != migrated


def test_the_demo_loaded_on_the_snapshot_adds_nothing(demo_site):
    before = _contents()["rows"]
    with open(os.devnull, "w") as devnull:
        call_command("load_demo", stdout=devnull)
    assert _contents()["rows"] == before


def test_the_snapshot_writes_nothing_over_a_row_a_test_made_first(demo_snapshot):
    user_model = get_user_model()
    taken = demo_snapshot.added[user_model._meta.label_lower][0]
    UserFactory(pk=taken, email="first@example.org")
    before = _contents()

    assert not demo_snapshot.restore()
    assert _contents() == before
    assert user_model.objects.get(pk=taken).email == "first@example.org"
