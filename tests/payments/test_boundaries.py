"""Payments sits below the capabilities: it imports none of them, it alone imports `stripe`,
and portal (below it) reaches its URLs by a string, not an import. Read from the source."""

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
CAPABILITIES = {"blog", "conferences", "discussions", "elections", "membership"}
PRODUCT_APPS = ["portal", "payments", *sorted(CAPABILITIES)]


def _imports(path: Path) -> set[str]:
    """The top-level package of every module `path` imports, at any depth in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _modules(app: str) -> list[Path]:
    return sorted((ROOT / app).rglob("*.py"))


def test_payments_imports_no_capability():
    offending = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & CAPABILITIES)
        for path in _modules("payments")
        if _imports(path) & CAPABILITIES
    }
    assert offending == {}


def test_portal_imports_neither_payments_nor_a_capability():
    above = CAPABILITIES | {"payments"}
    offending = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & above)
        for path in _modules("portal")
        if _imports(path) & above
    }
    assert offending == {}


def test_only_the_payments_gateway_imports_stripe():
    importers = [
        str(path.relative_to(ROOT))
        for app in PRODUCT_APPS
        for path in _modules(app)
        if "stripe" in _imports(path)
    ]
    assert importers == ["payments/gateway.py"]


def test_stripe_events_are_payments_own_and_keep_their_table():
    model = apps.get_model("payments", "StripeEvent")
    assert model._meta.db_table == "membership_stripeevent"
    assert "stripeevent" not in {
        m._meta.model_name for m in apps.get_app_config("membership").get_models()
    }
