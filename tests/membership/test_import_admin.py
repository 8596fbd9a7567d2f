"""The member import page in the Wagtail admin: every role, the steps, hostile uploads."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from membership.models import Membership
from tests.conftest import second_factor_client
from tests.factories import (
    MemberFactory,
    PlanFactory,
    PracticePlanFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/admin/membership-tools/import/"
CSV = (
    b"\xef\xbb\xbfe-Mail,First name,Membership level,Membership status,Renewal due\r\n"
    b"new@example.org,Nia,Individual,Active,12/31/2027\r\n"
    b"new@example.org,Nia,Individual,Active,12/31/2027\r\n"
    b"odd@example.org,Odd,Gold,Active,12/31/2027\r\n"
)


@pytest.fixture(autouse=True)
def _folder(settings, tmp_path):
    settings.MEMBER_IMPORT_DIR = str(tmp_path / "imports")
    PlanFactory()
    PracticePlanFactory()


@pytest.fixture
def staff():
    user = StaffFactory()
    user.user_permissions.add(
        Permission.objects.get(codename="add_membership"),
        Permission.objects.get(codename="access_admin"),
    )
    return second_factor_client(user)


def _upload(client, data=CSV, name="export.csv"):
    return client.post(URL, {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_each_role_sees_the_page_only_with_the_permission_and_the_second_factor():
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "login" in anonymous.url
    outsider = Client()
    outsider.force_login(UserFactory())
    assert outsider.get(URL).status_code in (302, 403)
    member = Client()
    member.force_login(MemberFactory())
    assert member.get(URL).status_code in (302, 403)
    no_factor = Client()
    no_factor.force_login(StaffFactory(is_superuser=True))
    response = no_factor.get(URL)
    assert response.status_code == 302 and "/admin/" not in response.url  # second factor first
    editor = StaffFactory()
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    refused = second_factor_client(editor).get(URL)  # Wagtail sends a refusal to its home
    assert refused.status_code == 302 and refused.url == "/admin/"
    assert second_factor_client(StaffFactory(is_superuser=True)).get(URL).status_code == 200


def test_upload_map_preview_import_and_report(staff):
    response = _upload(staff)
    assert response.status_code == 302
    mapping_url = response.url
    page = staff.get(mapping_url)
    assert page.status_code == 200
    assert "Read as Wild Apricot" in page.content.decode()
    form = dict(page.context["form"].initial)
    assert form["email"] == "0" and form["plan"] == "2"

    preview = staff.post(mapping_url, {**form, "action": "preview"})
    text = preview.content.decode()
    assert "3 rows: 1 created, 0 updated, 0 unchanged, 2 skipped (a preview, nothing saved" in text
    assert "the same email as row 2" in text and "unknown plan" in text
    assert not Membership.objects.exists()

    done = staff.post(mapping_url, {**form, "action": "import"})
    assert "1 created" in done.content.decode()
    assert Membership.objects.get().user.email == "new@example.org"
    report = staff.get(mapping_url + "report.csv")
    assert report.status_code == 200
    assert report["Content-Disposition"].startswith("attachment")
    body = b"".join(report.streaming_content).decode()
    assert "3,new@example.org,skipped,the same email as row 2" in body

    again = staff.post(mapping_url, {**form, "action": "import"})
    assert "0 created, 0 updated, 1 unchanged, 2 skipped" in again.content.decode()


def test_another_session_cannot_open_an_upload(staff):
    mapping_url = _upload(staff).url
    other = StaffFactory(is_superuser=True)
    assert second_factor_client(other).get(mapping_url).status_code == 404
    assert second_factor_client(other).get(mapping_url + "report.csv").status_code == 404
    assert staff.get(URL + "not-a-token/").status_code == 404
    assert staff.get(URL + "0" * 32 + "/").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),
        # Readable as a CSV of sorts: the mapping step then asks which column holds emails.
        (b"\x00\x01\x02binary\xff\xfe", "This field is required."),
        (b"name,plan\nAda,Individual\n", "This field is required."),
    ],
    ids=["empty", "binary", "no-email"],
)
def test_hostile_uploads_get_a_clear_message_and_import_nothing(staff, data, message):
    response = _upload(staff, data)
    if response.status_code == 302:  # readable as CSV: the mapping step refuses to go on
        response = staff.post(response.url, {"action": "import"})
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Membership.objects.exists()


def test_a_file_above_the_limit_is_refused(staff, settings):
    settings.MEMBER_IMPORT_MAX_BYTES = 1024
    response = _upload(staff, CSV + b"x@example.org,X,Individual,Active,12/31/2027\r\n" * 40)
    assert response.status_code == 200
    assert "imports take at most" in response.content.decode()
    folder = Path(settings.MEMBER_IMPORT_DIR)
    assert not folder.exists() or not list(folder.glob("*.csv"))  # nothing of it kept


def test_a_mapping_naming_no_email_column_is_a_form_error(staff):
    mapping_url = _upload(staff).url
    response = staff.post(mapping_url, {"email": "", "action": "import"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    response = staff.post(mapping_url, {"email": "99", "action": "import"})
    assert response.status_code == 200 and not Membership.objects.exists()
