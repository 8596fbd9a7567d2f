"""Privacy guard: spot what looks like protected health information before a post fans out.

Practice managers talk about billing, staffing and payers all day, so the guard must let codes
(CPT 99214, ICD-10 M05.79, J0129), phone numbers, dollar amounts and meeting dates through, and
stop identifiers of a person: a date of birth, a medical record, Social Security or payer member
number, or a patient's name beside a date of service. It is a net, not a proof: a hit holds the
post for the sender to edit or a moderator to release; it never rewrites what people wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Numeric and written dates: 03/04/1961, 3-4-61, 1961-03-04, March 4, 1961, 4 Mar 1961.
_MONTHS = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|{_MONTHS}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"
    rf"|\d{{1,2}} {_MONTHS}\.? \d{{4}})"
)
_FLAGS = re.IGNORECASE

_DOB = re.compile(
    rf"\b(?:d\.?o\.?b\.?|date of birth|birth ?date|born(?: on)?)\s*[:#-]?\s*{_DATE}", _FLAGS
)
_MRN = re.compile(
    r"\b(?:mrn|medical record(?: number| no\.?| #)?|chart (?:number|no\.?|#))\s*[:#]?\s*"
    r"[A-Z]{0,3}\d[\d-]{4,}",
    _FLAGS,
)
_SSN = re.compile(
    r"\b(?:(?:ssn|social security(?: number| no\.?| #)?)\s*[:#]?\s*\d{3}-?\d{2}-?\d{4}"
    r"|(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-]))",
    _FLAGS,
)
_MEMBER_ID = re.compile(
    r"\b(?:member|subscriber|policy|insurance|medicare|medicaid|mbi|hicn)"
    r"(?: id| number| no\.?| #)+\s*[:#]?\s*(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{6,}",
    _FLAGS,
)
# "Patient Jane Doe ... 03/04/2025", "pt. John Smith seen on DOS 3/4/25", "Mrs. Alvarez, DOS".
_PERSON = (
    r"(?:\b(?i:patient|pt\.?)\s+(?:(?i:named|is|was)\s+)?[A-Z][a-z'\u2019-]+(?:\s+[A-Z][a-z'\u2019-]+)?"
    r"|\b(?:Mr|Mrs|Ms|Miss)\.?\s+[A-Z][a-z'\u2019-]+)"
)
_SERVICE_DATE = rf"(?:\bDOS\b|(?i:date of service)|{_DATE})"
_NAME_AND_DATE = re.compile(
    rf"{_PERSON}[^\n]{{0,80}}?{_SERVICE_DATE}"
    rf"|\b(?:DOS|(?i:date of service))\b[^\n]{{0,40}}?{_PERSON}"
)


@dataclass(frozen=True)
class Finding:
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.excerpt}"


_CHECKS = [
    ("date of birth", _DOB),
    ("medical record number", _MRN),
    ("Social Security number", _SSN),
    ("member or policy ID", _MEMBER_ID),
    ("patient name with a date of service", _NAME_AND_DATE),
]


def _mask(text: str) -> str:
    """Show where the match is without repeating the identifier in logs and notices."""
    return re.sub(r"\d", "•", text.strip())[:80]


def phi_scan(text: str) -> list[Finding]:
    """Every passage of `text` that looks like protected health information, masked."""
    findings = []
    for kind, pattern in _CHECKS:
        for match in pattern.finditer(text or ""):
            findings.append(Finding(kind, _mask(match.group(0))))
    return findings


def phi_summary(findings: list[Finding]) -> str:
    kinds = sorted({finding.kind for finding in findings})
    return "Possible patient information (" + ", ".join(kinds) + ")"
