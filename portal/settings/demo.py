"""The demo association's identity, for `make run` (local.py) and the test suite (test.py).

base.py reads the association's names from the environment, so these are put in the
environment before it runs. The demo's content (home page, brand, navigation) is written by
`manage.py load_demo` (portal/demo.py).
"""

import os

DEMO_ASSOCIATION = {
    "ASSOCIATION_NAME": "National Organization of Rheumatology Managers",
    "ASSOCIATION_SHORT_NAME": "NORM",
    "ASSOCIATION_MAIL_DOMAIN": "norm.local",
}


def use_demo_association(*, override: bool) -> None:
    """Name the demo association in the environment: where nothing else is named
    (`override=False`, for `make run`), or always (`override=True`, for the tests, whose
    assertions are about NORM whatever the developer's shell exports)."""
    for name, value in DEMO_ASSOCIATION.items():
        if override:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)
