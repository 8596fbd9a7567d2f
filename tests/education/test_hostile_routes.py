"""Education's routes under the site-wide hostile walker's own machinery, on the demo site,
for the roles that matter here: a quicker check than the full walk (which covers these
routes too, tests/portal/test_hostile_input.py), so a change here is tried at once."""

import pytest

from tests.portal.test_hostile_input import (
    SKIP_PATHS,
    Walk,
    _fill,
    _known_values,
    _patterns,
    client_for,
)

pytestmark = pytest.mark.django_db

OURS = ("verify/", "education/", "conferences/%(conference_id)s/staff/ce/")


@pytest.mark.parametrize("role", ["anonymous", "member", "check-in staff", "staff"])
def test_education_routes_never_answer_5xx(role, demo_site, settings):
    settings.PAGE_CACHE_ENABLED = False
    known = _known_values([])
    assert known["number"] and known["token"], "the demo has certificates and attendees"
    walk = Walk(client_for(role))
    urls, hostile = set(), set()
    for template, params in _patterns():
        if not template.startswith(OURS) or SKIP_PATHS.search(template):
            continue
        plain, odd = _fill(template, params, known)
        urls.update(plain)
        hostile.update(odd)
    assert len(urls) >= 14
    for url in sorted(urls):
        walk.visit(url)
    for url in sorted(hostile):
        walk.send("get", url)
    assert not walk.failures, walk.report()
