"""One spelling on every page and in every mail: US English ("program", "enroll",
"authorization", "canceled"). Looks through what people read: the templates, the demo content
loaders and the site's wording of allauth (locale/); code comments are not checked."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# -ise words that are the same in US English.
SAME_IN_US = set(
    """advertise advise advised advises advising apprise arise arises arising bruise chastise
    comprise comprised comprises comprising compromise concise cruise demise despise devise
    devised devising disguise enterprise enterprises excise exercise exercised exercises
    expertise franchise improvise incise likewise merchandise noise otherwise paradise poise
    praise praised precise premise premises promise promised promises raise raised raises
    raising reprise revise revised revises revising rise rises sunrise supervise supervised
    supervises supervising surmise surprise surprised surprises televise treatise unwise
    wise""".split()  # noqa: SIM905 (a word list reads better as words)
)
UK_WORDS = re.compile(
    r"\b([a-z]+(?:is(?:e|es|ed|ing)|isation|isations)|programmes?|enrol|enrols|enrolment"
    r"|cancelled|cancelling|colours?|behaviours?|favour(?:ite|s|ed)?|honour(?:s|ed)?|centres?"
    r"|centred|licence|catalogue|analysed?|judgement|cheques?|defence|practis(?:e|es|ed|ing))\b",
    re.IGNORECASE,
)


def readable_files():
    yield from (ROOT / "templates").rglob("*.html")
    yield from (ROOT / "templates").rglob("*.txt")
    yield from ROOT.glob("*/demo.py")
    yield from (ROOT / "locale").rglob("*.po")


def uk_words(text: str) -> set[str]:
    found = set()
    for match in UK_WORDS.finditer(text):
        word = match.group(0).lower()
        if word.endswith(("ise", "ises", "ised", "ising")) and word in SAME_IN_US:
            continue
        if word.endswith(("ise", "ises", "ised", "ising")):
            # -ize words only: "organise", "authorised", "recognising", not "exercise".
            stem = re.sub(r"is(e|es|ed|ing)$", "", word)
            if len(stem) < 4 or word in SAME_IN_US:
                continue
        found.add(word)
    return found


def string_literals(source: str) -> str:
    """The strings a demo loader puts on pages (not its names, comments or docstrings)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    )


def test_pages_mail_and_demo_content_use_us_spelling():
    problems = []
    for path in readable_files():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            text = string_literals(text)
        if path.suffix == ".po":
            # allauth's own English is the msgid; the site's words are the msgstr.
            text = "\n".join(line for line in text.splitlines() if line.startswith("msgstr"))
        if words := uk_words(text):
            problems.append(f"{path.relative_to(ROOT)}: {', '.join(sorted(words))}")
    assert not problems, "UK spellings (the site writes US English):\n" + "\n".join(problems)


def test_the_spelling_check_finds_uk_words_and_passes_us_ones():
    assert uk_words("Our programme: enrol, the organisation authorised it, cancelled.") == {
        "programme",
        "enrol",
        "organisation",
        "authorised",
        "cancelled",
    }
    assert uk_words("Our program: enroll, the organization authorized it, canceled.") == set()
    assert uk_words("Exercise your expertise; raise a surprise, otherwise advise.") == set()
