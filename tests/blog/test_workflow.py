"""Editors submit, Moderators approve or reject with a comment, and go-live dates are honoured
by the Celery beat job."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError
from django.utils import timezone
from wagtail.models import Page, TaskState, WorkflowState

from blog.models import BlogPostPage
from tests.blog.factories import make_index, make_post
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _member_of(group_name):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=group_name))
    return user


def test_migration_makes_editors_and_moderators_with_the_right_rights():
    editor, moderator = _member_of("Editors"), _member_of("Moderators")
    post = make_post(publish=False)

    editor_perms = post.permissions_for_user(editor)
    moderator_perms = post.permissions_for_user(moderator)

    assert editor.has_perm("wagtailadmin.access_admin")
    assert editor_perms.can_edit() and not editor_perms.can_publish()
    assert moderator_perms.can_edit() and moderator_perms.can_publish()
    assert editor.has_perm("blog.add_author") and moderator.has_perm("blog.change_blogcategory")
    workflow = Page.get_first_root_node().get_workflow()
    assert workflow is not None
    task = workflow.tasks.get().specific
    assert list(task.groups.values_list("name", flat=True)) == ["Moderators"]


def test_moderator_rejects_with_a_comment_and_the_post_stays_unpublished():
    editor, moderator = _member_of("Editors"), _member_of("Moderators")
    post = make_post(publish=False)
    post.save_revision(user=editor)
    post.get_workflow().start(post, editor)
    post.refresh_from_db()

    task_state = post.current_workflow_task_state
    task_state.task.specific.on_action(
        task_state, moderator, "reject", comment="Please add a source for the figures."
    )

    task_state.refresh_from_db()
    assert task_state.status == TaskState.STATUS_REJECTED
    assert task_state.comment == "Please add a source for the figures."
    assert WorkflowState.objects.get(base_content_type__isnull=False).status == "needs_changes"
    assert not BlogPostPage.objects.get(pk=post.pk).live


@pytest.mark.django_db(transaction=True)
def test_beat_job_publishes_a_post_whose_go_live_time_has_come(celery_worker):
    from portal.tasks import publish_scheduled

    make_index()
    post = make_post(title="Embargoed", publish=False)
    post.go_live_at = timezone.now() + datetime.timedelta(hours=1)
    revision = post.save_revision()
    revision.publish()  # with a go-live date ahead this only schedules it
    revision.refresh_from_db()
    assert revision.approved_go_live_at is not None
    assert not BlogPostPage.objects.get(pk=post.pk).live
    # An hour passes: move the go-live time back instead.
    past = timezone.now() - datetime.timedelta(seconds=1)
    revision.approved_go_live_at = past
    revision.content["go_live_at"] = past.isoformat()
    revision.save(update_fields=["approved_go_live_at", "content"])

    publish_scheduled.delay()

    def published():
        # The worker thread writes to the same in-memory SQLite database, whose table locks
        # refuse a read meanwhile: that means "not yet".
        try:
            return BlogPostPage.objects.get(pk=post.pk).live
        except OperationalError:
            return False

    wait_for(published, timeout=30, message="the beat job did not publish the post")


def test_beat_schedule_runs_the_publishing_job_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["wagtail-publish-scheduled"]

    assert entry["task"] == "portal.tasks.publish_scheduled"
    assert entry["schedule"] <= 60


def test_moderation_mail_is_sent_by_a_job_after_the_commit_not_in_the_request(celery_worker):
    from django.core import mail
    from django.db import transaction
    from wagtail.signals import task_submitted

    from blog.tasks import moderation_notify

    # Our handler holds Wagtail's dispatch_uid, so Wagtail's in-request sender never connected.
    receivers = [r for r in task_submitted.receivers if r[0][0] == MODERATION_SUBMITTED_UID]
    ((_key, receiver, *_rest),) = receivers
    assert "_queue_moderation_mail" in receiver.__qualname__
    editor, moderator = _member_of("Editors"), _member_of("Moderators")
    post = make_post(publish=False)
    post.save_revision(user=editor)
    mail.outbox.clear()

    with transaction.atomic():
        post.get_workflow().start(post, editor)
        assert mail.outbox == []  # nothing sent while the editor's request is still running

    sent = wait_for(
        lambda: [m for m in mail.outbox if moderator.email in m.to],
        message="the moderator was never told about the submission",
    )
    assert post.title in sent[0].subject
    # A second delivery of the same job sends nothing more.
    task_state = TaskState.objects.get(workflow_state__base_content_type__isnull=False)
    assert not moderation_notify(
        "task_submission_email_notifier", task_state._meta.label, task_state.pk, editor.pk
    )
    assert len([m for m in mail.outbox if moderator.email in m.to]) == 1


MODERATION_SUBMITTED_UID = "group_approval_task_submitted_email_notification"


def test_moderation_mail_wears_the_sites_mail_design(django_capture_on_commit_callbacks):
    from django.core import mail

    from blog.tasks import moderation_notify

    editor, moderator = _member_of("Editors"), _member_of("Moderators")
    post = make_post(publish=False, title="Coding audits")
    post.save_revision(user=editor)
    with django_capture_on_commit_callbacks(execute=False):
        post.get_workflow().start(post, editor)
    mail.outbox.clear()
    task_state = TaskState.objects.get(workflow_state__base_content_type__isnull=False)

    moderation_notify(
        "task_submission_email_notifier", task_state._meta.label, task_state.pk, editor.pk
    )

    [sent] = [m for m in mail.outbox if moderator.email in m.to]
    html = sent.alternatives[0].content
    assert "Coding audits" in html
    assert "background:#1f4e8c" in html and ">NORM</td>" in html  # the portal's mail header
    assert "email-header.jpg" not in html  # Wagtail's own banner
    assert "National Organization of Rheumatology Managers" in html
