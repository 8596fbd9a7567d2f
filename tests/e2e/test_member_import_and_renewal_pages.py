"""The member import admin page and the renewal link's pages in Chromium, at desk and phone
size: no overflow, and axe-core finds nothing in what we draw (the renewal pages whole; in the
admin, our import sections, since Wagtail's chrome is Wagtail's)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from membership import services
from tests.conftest import screenshot, second_factor_client
from tests.e2e.page_checks import AXE, DESK, PHONE, assert_page_sound, describe, overflow_px
from tests.factories import MembershipFactory, PlanFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = (
    "e-Mail,First name,Last name,Membership level,Membership status,Member since,Renewal due\n"
    "new@example.org,Nia,Long-Surname-That-Goes-On,Individual,Active,3/1/2019,12/31/2027\n"
    "bad@example.org,Bea,Date,Individual,Active,3/1/2019,31/31/2027\n"
    '=HYPERLINK("http://x"),X,Y,Gold,Active,,\n'
)


def _axe(page, selector: str) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        f"async () => await window.axe.run({{include: [['{selector}']]}}, "
        "{resultTypes: ['violations']})"
    )
    return result["violations"]


def test_the_import_page_reads_on_a_desk_and_a_phone(browser_page, live_server, tmp_path, settings):
    settings.MEMBER_IMPORT_DIR = str(tmp_path)
    PlanFactory()
    client = second_factor_client(StaffFactory(is_superuser=True))
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/admin/membership-tools/import/")
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "export.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
    )
    page.get_by_role("button", name="Upload and map the columns").click()
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Preview").wait_for()
    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        violations = _axe(page, ".member-import-report")
        assert not violations, describe(violations)
        assert overflow_px(page) <= 0, f"the import page overflows at {size}"
        screenshot(page, f"member-import-preview-{suffix}")


def test_the_renewal_pages_read_on_a_desk_and_a_phone(browser_page, live_server):
    member = MembershipFactory(current_period_end=timezone.now() + timedelta(days=7))
    token = services.renewal_token(member)
    page = browser_page
    for size, suffix in ((DESK, "desk"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.goto(f"/membership/renew/{token}/")
        page.get_by_role("heading", name="Renew your Individual membership").wait_for()
        assert_page_sound(page)
        screenshot(page, f"renew-open-{suffix}")
        response = page.goto(f"/membership/renew/{token}x/")
        assert response.status == 404
        assert_page_sound(page)
        screenshot(page, f"renew-invalid-{suffix}")
