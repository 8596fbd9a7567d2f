"""Editors write and submit articles; Moderators approve, reject and publish them.

Wagtail's own first migrations make groups of these names; this one makes sure they exist on
any database, with exactly the rights the editorial workflow needs, and that every page goes
through a "Moderators approval" task before it is published by an editor.
"""

from django.db import migrations

EDITOR_PAGE_PERMS = ["add_page", "change_page"]
MODERATOR_PAGE_PERMS = ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"]
MEDIA_PERMS = {
    ("wagtailimages", "image"): ["add_image", "change_image", "choose_image"],
    ("wagtaildocs", "document"): ["add_document", "change_document", "choose_document"],
}
SNIPPET_MODELS = [("blog", "author"), ("blog", "blogcategory")]


def _permission(apps, app_label, model, codename):
    # Permissions of models created in this same migration run do not exist yet (Django makes
    # them after all migrations), so create them the way Django would.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    action, _, noun = codename.partition("_")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": f"Can {action} {noun}"}
    )
    return permission


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Page = apps.get_model("wagtailcore", "Page")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    WorkflowPage = apps.get_model("wagtailcore", "WorkflowPage")
    Task = apps.get_model("wagtailcore", "Task")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")
    ContentType = apps.get_model("contenttypes", "ContentType")

    editors, _ = Group.objects.get_or_create(name="Editors")
    moderators, _ = Group.objects.get_or_create(name="Moderators")
    access_admin = _permission(apps, "wagtailadmin", "admin", "access_admin")

    root_page = Page.objects.filter(depth=1).order_by("path").first()
    root_collection = Collection.objects.filter(depth=1).order_by("path").first()
    for group, page_perms in ((editors, EDITOR_PAGE_PERMS), (moderators, MODERATOR_PAGE_PERMS)):
        group.permissions.add(access_admin)
        for app_label, model in SNIPPET_MODELS:
            for action in ("add", "change", "delete", "view"):
                group.permissions.add(_permission(apps, app_label, model, f"{action}_{model}"))
        if root_page is not None:
            for codename in page_perms:
                GroupPagePermission.objects.get_or_create(
                    group=group,
                    page=root_page,
                    permission=_permission(apps, "wagtailcore", "page", codename),
                )
        if root_collection is not None:
            for (app_label, model), codenames in MEDIA_PERMS.items():
                for codename in codenames:
                    GroupCollectionPermission.objects.get_or_create(
                        group=group,
                        collection=root_collection,
                        permission=_permission(apps, app_label, model, codename),
                    )
    # Editors never publish directly; take away a publish right an older setup gave them.
    GroupPagePermission.objects.filter(
        group=editors, permission__codename__in=["publish_page", "bypass_workflow_page"]
    ).delete()

    if root_page is None:
        return
    task = GroupApprovalTask.objects.filter(name="Moderators approval").first()
    if task is None:
        task = GroupApprovalTask.objects.create(
            name="Moderators approval",
            active=True,
            content_type=ContentType.objects.get_or_create(
                app_label="wagtailcore", model="groupapprovaltask"
            )[0],
        )
    task.groups.add(moderators)
    workflow, _ = Workflow.objects.get_or_create(
        name="Moderators approval", defaults={"active": True}
    )
    if not WorkflowTask.objects.filter(workflow=workflow, task=Task.objects.get(pk=task.pk)):
        WorkflowTask.objects.create(workflow=workflow, task_id=task.pk, sort_order=0)
    WorkflowPage.objects.update_or_create(page=root_page, defaults={"workflow": workflow})


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0001_initial"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
