"""Privacy guard: spot what looks like protected health information before a post fans out.

Practice managers talk about billing, staffing and payers all day, so the guard must let codes
(CPT 99214, ICD-10 M05.79, HCPCS J0129), the practice's own NPI and tax id, vendors' phone
numbers, prices, staff names and meeting dates through, and stop identifiers of a patient: a
date of birth, a Social Security, Medicare (MBI), member, policy, record or account number, a
patient's name, a name beside a date of service, a pasted EOB or claim line, a patient's phone,
address or email. It is a net, not a proof: a hit holds the post for the sender to edit or a
moderator to release; it never rewrites what people wrote.

Shapes, not sentences: each check pairs an identifier's shape (the MBI's CMS layout, SSN
groups, a date in any common writing) with the words that make it a person's (DOB, member ID,
"Pt:", "claim for", a date-of-service column), after the pattern recognizers of Microsoft
Presidio and similar detectors, without their language models. `masked` and `masked_excerpt`
give mail something to quote that repeats no identifier.
"""

from __future__ import annotations

import html
import io
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

import docx
import openpyxl
import pypdf

log = logging.getLogger(__name__)

_I = re.IGNORECASE

# --- dates ----------------------------------------------------------------------------------
_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
# A date a person could be found by: 3/4/61, 03-04-1961, 03.04.1961, 1961-03-04, March 4, 1961,
# Mar-04-1961, 4 March 1961, 4th of March, 1961, 04-Mar-1961, 19610304.
_FULL_DATE = (
    r"(?<![\d/.-])(?:"
    r"\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}"
    r"|(?:19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}"
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    rf"|{_MON}\.?[ -]{_DAY},?[ -]{_YEAR}"
    rf"|{_DAY}(?: of)?[ -]{_MON}\.?,?[ -]{_YEAR}"
    r")(?![\d/])"
)
# Also what a service date often is in a post: 3/4, March 4, 12/09.
_ANY_DATE = (
    rf"(?:{_FULL_DATE}|(?<![\d/.$-])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?![\d/.])"
    rf"|\b{_MON}\.? {_DAY}\b)"
)

# --- names ----------------------------------------------------------------------------------
# A capitalised word or an EOB's all-caps word; whether it is a name is decided in _is_name.
_WORD = (
    r"(?:(?:Mc|Mac|O'|O\u2019|D'|De|Di|Van|Von)?[A-Z][a-z]+(?:[-'\u2019][A-Z]?[a-z]+)?"
    r"|[A-Z]{2,}(?:[-'\u2019][A-Z]+)?)"
)
_NAME = rf"(?:(?:[A-Z]\.[ \t]*){{1,2}}{_WORD}|{_WORD}(?:[ \t]+[A-Z]\.?)?(?:[ \t]+{_WORD})?)"
_LAST_FIRST = rf"{_WORD},[ \t]*(?:{_WORD}(?:[ \t]+[A-Z]\.?(?![\w]))?|[A-Z]\.(?![\w]))"
_HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx)\.?"

# Capitalised words that follow "patient", "claim for" and the like without being a name:
# products, departments, payers, drugs, form words, places and the words that start a sentence.
_NOT_NAMES = frozenset(
    """
    cpc crc cpb coc cpma ccs rhia rhit cmpe facmpe mba mha cpa phd jd
    a an the this that these those it its he she his her him they them their we our us you your
    i me my mine who whom which what when where why how and or but if so then also any all each
    every some no not yes one two is was are be been has have had do does did will would can
    could should may might must shall here there now today yesterday tomorrow please thanks
    thank hi hello dear regards best cheers sincerely re fw fwd fyi asap note update question
    portal access financial services service experience responsibility responsibilities advocate
    advocates satisfaction care coordinator coordinators intake navigator navigation education
    registration safety relations engagement account accounts statement statements balance
    balances survey surveys day days week weeks month flow assistance program programs liaison
    representative representatives rep reps center centre office offices team teams forms form
    packet packets kiosk kiosks app apps line lines list lists information info portion portions
    payment payments pay plan plans check checkin check-in scheduling schedule schedules
    appointments appointment visit visits records record chart charts volume volumes count
    counts mix panel panels population populations load loads demographics demographic
    identifier identifiers id ids number numbers name names complaints complaint feedback
    reminders reminder letter letters notice notices history patient patients pt pts member
    members subscriber subscribers insured beneficiary beneficiaries claimant guarantor provider
    providers physician physicians doctor staff rights bill billing billed bills claim claims
    eob eobs era eras remit remits denial denials appeal appeals refund refunds auth auths
    authorization authorizations referral referrals portal's protected health hipaa phi pii data
    privacy security medicare medicaid medigap aetna cigna humana anthem bcbs blue cross shield
    united unitedhealthcare uhc optum tricare kaiser molina centene wellcare ambetter caresource
    buckeye highmark cms mac novitas noridian palmetto wps cgs first coast availity waystar
    trizetto change healthcare express scripts caremark accredo cvs walgreens part advantage
    supplement supplemental secondary primary tertiary commercial payer payers insurance humira
    enbrel remicade inflectra renflexis avsola orencia actemra rituxan simponi aria cimzia
    stelara cosentyx taltz xeljanz rinvoq olumiant otezla kevzara benlysta saphnelo krystexxa
    prolia evenity reclast methotrexate plaquenil kenalog solumedrol infusion infusions
    injection injections biologic biologics biosimilar biosimilars drug drugs new old next last
    prior previous current same other another established existing monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august september
    october november december jan feb mar apr jun jul aug sep sept oct nov dec dos dob mrn ssn
    mbi npi tin ein cpt icd hcpcs ndc pos dx rx er ed icu pt pa np md do dr rn ma lpn pm am inc
    llc pc pllc ltd co corp group groups practice practices clinic clinics hospital hospitals
    suite floor street st avenue ave road rd drive dr lane ln court ct north south east west
    county city state ohio texas california florida illinois michigan indiana kentucky georgia
    virginia carolina york jersey pennsylvania tennessee arizona colorado washington oregon
    nevada dayton akron columbus toledo canton cleveland cincinnati chicago nashville boston
    norm rheumatology arthritis lupus gout
    """.split()  # noqa: SIM905 - a word list reads better as lines of text
)

# Spared by masked() as well: words that open subjects and sentences and identify nobody.
# States and their postal codes: "Portland, ME 4/4/2025" is a place beside a date.
_PLACES = frozenset(
    """
    alabama alaska arizona arkansas california colorado connecticut delaware florida georgia
    hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts
    michigan minnesota mississippi missouri montana nebraska nevada hampshire jersey mexico york
    carolina dakota ohio oklahoma oregon pennsylvania rhode island tennessee texas utah vermont
    virginia washington wisconsin wyoming columbia dc al ak az ar ca co ct de fl ga hi ia ks ky
    la md mn ms mo mt ne nv nh nj nm ny nc nd oh ok pa ri sc sd tn tx ut vt va wa wv wi wy usa
    """.split()  # noqa: SIM905 - a word list reads better as lines of text
)
_COMMON_CAPS = _NOT_NAMES | frozenset(
    """
    welcome congratulations congrats attention reminder notice morning afternoon evening
    everyone folks friends colleagues okay ok sure however again finally meanwhile
    unfortunately fortunately honestly anyway otherwise agreed right
    about after again against agenda alert all anybody anyone anything are around ask asking
    attached attaching awaiting before being below best billing both bulk but by call called
    calling can't cannot changes checking confused correct coverage coding could dealing does
    doesn't don't done during either else ending even ever fax faxed few finally fixing follow
    following for from getting give going good got great had has hasn't having help helping
    hoping however i'm i've if in into issue issues just keep know late latest let like looking
    lost made make making many maybe meeting missing more most much need needed needs never
    not nothing off okay on once only open other our out over paper per perhaps pending quick
    quickly rather really received reminder request required resent reviewing same scanned
    second sent several since so sorry still such sure than that's there's these thing things
    think third this those though through to too try trying unable under until up upcoming
    urgent us used using very waiting want wanted was wasn't well were what's whether while
    why will with within without won't working would wrong
    """.split()  # noqa: SIM905 - a word list reads better as lines of text
)


def _is_name(text: str) -> bool:
    """True when each word of `text` could be a person's name (not a product, payer or month)."""
    words = [w for w in re.split(r"[\s,]+", text) if w and not re.fullmatch(r"[A-Z]\.?", w)]
    if not words:
        return False
    for word in words:
        key = word.lower().strip(".'\u2019")
        if key.endswith(("'s", "\u2019s")):
            key = key[:-2]
        if key in _COMMON_CAPS or key in _PLACES or len(key) < 2:
            return False
    return True


# --- identifiers ----------------------------------------------------------------------------
# Medicare Beneficiary Identifier, CMS layout: 1 digit 1-9, 2 letter, 3 letter or digit,
# 4 digit, 5 letter, 6 letter or digit, 7 digit, 8-9 letters, 10-11 digits; letters exclude
# S, L, O, I, B and Z. Cards print it as 1EG4-TE5-MK73; claims carry it without dashes.
_MBI_L = "AC-HJKMNP-RT-Y"
_MBI = re.compile(
    rf"(?<![A-Za-z0-9])[1-9][{_MBI_L}][{_MBI_L}0-9]\d([- ]?)[{_MBI_L}][{_MBI_L}0-9]\d\1"
    rf"[{_MBI_L}]{{2}}\d{{2}}(?![A-Za-z0-9])",
    _I,
)
# Written with dashes, spaces or dots. Never issued: area 000, 666, 9xx; group 00; serial 0000.
_SSN_SHAPE = r"(?!000|666|9\d\d)\d{3}([- .])(?!00)\d{2}\1(?!0000)\d{4}"
_SSN_BARE = re.compile(rf"(?<![\d$.,/-]){_SSN_SHAPE}(?![\d-]|\.\d)")
_SSN_WORDS = (
    r"(?:ssn'?s?|ss#|ss ?no\.?|soc(?:ial)? sec(?:urity)?(?: (?:number|no\.?|num|#))?"
    r"|(?:his|her|their|patient'?s|pt'?s|the) social)"
)
_SSN_CONTEXT = re.compile(
    rf"\b{_SSN_WORDS}(?:[^\n\d.;!?]|\.(?=\s*\d)){{0,30}}?"
    r"(?:\d{3}[- .]?\d{2}[- .]?\d{4}|(?:last (?:4|four)|ending(?: in)?|ends in)\D{0,12}\d{4}"
    r"|(?:x{3}|\*{3})[- ]?(?:x{2}|\*{2})[- ]?\d{4})"
    r"(?!\d)",
    _I,
)
# Filler between a label and its value: "is", ":", "#", "on the card is", "of".
_GAP = (
    r"(?:[ \t]*(?:[:#=\u2013-]|\bis\b|\bwas\b|\bof\b|\bon (?:file|the card)(?: is)?"
    r"|\breads\b|\bshows\b)?[ \t]*){1,4}"
)
_ID_VALUE = r"(?=[A-Z0-9-]*\d(?:[A-Z -]*\d){4})[A-Z]{0,4}-?\d[A-Z0-9]*(?:[- ][A-Z0-9]+){0,3}"
_MEMBER_ID = re.compile(
    r"\b(?:(?:member|subscriber|insured|insurance|ins|beneficiary|medicare|medicaid|plan"
    r"|health plan|card|policy(?!\s+(?:hr|handbook)))'?s?[ \t]*(?:id|identifier|number|no\.?"
    r"|num|#)|mbi|hicn|hic(?: number| no\.?| #)?|(?:her|his|their|the member'?s|patient'?s|pt'?s)"
    r"[ \t]+id|insured id|id ?#)"
    rf"{_GAP}(?P<value>{_ID_VALUE})",
    _I,
)
# A bare "ID: ..." counts in a post about a payer or a patient, with six digits or more.
_BARE_ID = re.compile(rf"\bID\b{_GAP}(?P<value>{_ID_VALUE})", _I)
_MRN = re.compile(
    r"\b(?:mrn|med(?:ical)? rec(?:ord)?s?\.?(?: (?:number|no\.?|num|#))?|chart(?: (?:number|no\.?"
    r"|num|#|id))|(?:patient|pt\.?)(?: (?:id|number|no\.?|#|account|acct\.?)"
    r"(?: (?:number|no\.?|#))?)"
    r"|acct\.?(?: (?:number|no\.?|#))?|account (?:#|no\.?)|guarantor(?: (?:id|account|#))"
    r"|icn|claim (?:#|no\.?|number|control number)"
    r"|(?:encounter|visit|rx|prescription|accession|specimen|case) (?:#|no\.?|number|id))"
    rf"{_GAP}(?P<value>[A-Z]{{0,3}}-?\d[\d-]{{4,}})",
    _I,
)
_DOB = re.compile(
    r"\b(?:d\.?o\.?b\.?|date of birth|birth ?date|birthday|b-?day|born(?: on)?)"
    rf"(?:[^\n\d.;!?]|\.(?=\s*\d)){{0,24}}?(?:{_FULL_DATE}|{_MON}\.? {_DAY}\b"
    r"|(?<!\d)(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:19|20)\d{2}(?!\d)"
    r"|(?<![\d/])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?![\d/]))",
    _I,
)
# Ages over 89 are identifiers on their own (HIPAA safe harbor); any age with a date of service.
_AGE = r"\b(?P<age>\d{1,3})[- ]?(?:yo|y/o|y\.o\.|years?[- ]old|year-old)\b"
_OLD_AGE = re.compile(
    rf"{_AGE}|\bage[d ]? ?(?P<age2>\d{{2,3}})\b|\b(?P<age3>\d{{2,3}}) years? of age", _I
)
_AGE_AND_DATE = re.compile(rf"{_AGE}[^\n]{{0,60}}?{_ANY_DATE}", _I)

_PHONE = (
    r"(?<!\d)(?:\+?1[ .-]?)?\(?(?!8(?:00|33|44|55|66|77|88)\b)\d{3}\)?[ .-]?\d{3}[ .-]\d{4}(?!\d)"
)
_STREET = (
    r"\b\d{1,6}[ \t]+(?:[NSEW]\.?[ \t]+)?(?:[A-Z][a-z]+[ \t]+){1,3}(?:St|Street|Ave|Avenue|Rd|"
    r"Road|Blvd|Boulevard|Ln|Lane|Dr|Drive|Ct|Court|Way|Pl|Place|Ter|Terrace|Cir|Circle|Pkwy|"
    r"Parkway|Hwy|Highway|Trl|Trail)\b\.?"
)
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"

# Words that make a name a patient's.
_PATIENT_MARK = (
    r"(?:(?i:patient|pt|claimant|beneficiary|insured|subscriber|member)(?i:'s)?(?i:[ \t]+name)?"
    r"(?:[ \t]*[:#]|[ \t]+[-\u2013])[ \t]*"
    r"|(?i:patient|pt\.?|pts?\.)(?:,?[ \t]+(?i:named|is|was|called))?,?[ \t]+"
    r"(?:" + _HONORIFIC + r"[ \t]+)?|(?i:patient|pt|member|subscriber|insured|beneficiary)[ \t]+"
    r"(?i:name)[ \t]*[:#-]?[ \t]*)"
)
_PATIENT_NAME = re.compile(rf"(?<![\w-]){_PATIENT_MARK}(?P<name>{_LAST_FIRST}|{_NAME})")
# "Claim for Dorothy Fields", "appeal for Mr. Okonkwo", "records of Lydia Grant".
_ABOUT = re.compile(
    r"\b(?i:claims?|eobs?|eras?|statements?|bills?|balance|refund|appeal|denial|"
    r"authorization|auth|referral|charts?|records?|labs?|results?|eligibility|reprocess(?:ing)?"
    r"|request|subpoena|callback|copay|visit)[ \t]+(?i:for|on|of|from)[ \t]+"
    rf"(?:(?P<hon>{_HONORIFIC})[ \t]+(?P<name1>{_NAME})|(?P<name2>{_LAST_FIRST}|{_NAME}))"
)
# "Frank Delgado's claim", "Mr. Haddad's DOB", "Hector's chart number".
_POSSESSIVE = re.compile(
    rf"(?:(?P<hon>{_HONORIFIC})[ \t]+)?(?P<name>{_NAME})['\u2019]s?[ \t]+(?:\w+[ \t]+)?"
    r"(?i:claims?|eob|dob|date of birth|mrn|chart|balance|statement|appointment|infusion|"
    r"account|acct|insurance|medicare|medicaid|labs?|records?|secondary|primary|ssn|social|"
    r"member|subscriber|policy|copay|refund|bill|visit|referral|auth)\b"
)
_HONORIFIC_NAME = re.compile(rf"\b{_HONORIFIC}[ \t]+(?P<name>{_NAME})")
# "patient coordinator", "Patient Access": a staff role or a department, not a patient.
_NOT_A_ROLE = (
    r"(?![ \t]+(?:coordinator|advocate|access|services|financial|relations|experience|portal"
    r"|navigator|liaison|representative|care|intake|registration|satisfaction|safety)s?\b)"
)
# What makes an honorific or a full name a patient's in the same sentence.
_CLINICAL = re.compile(
    r"\b(?:dos|date of service|dates of service|service dates?|svc date|seen|admitted"
    r"|discharged|no-?show(?:ed)?|diagnosed|dx|(?:his|her)(?: [\w/.'-]+)? (?:chart|bill|balance"
    r"|statement|copay|labs|refund|visit|infusion|appointment|records|claim|eob)|missed (?:his|her)"
    rf"|(?:is|as) a patient\b{_NOT_A_ROLE}|patient of ours|our patient\b{_NOT_A_ROLE}"
    r"|infusions?\b(?=[^.]*\b(?:his|her)\b))",
    _I,
)
_SERVICE_WORD = re.compile(
    r"\b(?:dos|date(?:\(s\))?s? of service|service dates?|svc date|from date)\b", _I
)
_FULL_NAME = re.compile(
    rf"(?<![\w.])(?P<name>{_WORD}[ \t]+(?:[A-Z]\.?[ \t]+)?{_WORD})(?![\w'\u2019])"
)
_LAST_FIRST_RE = re.compile(
    rf"(?<![\w,])(?P<name>{_LAST_FIRST})(?![\w'\u2019])"
    r"(?!,[ \t]*(?:and\b|&|[A-Z]))(?![ \t]+(?:and\b|&))"
)
_DATE_RE = re.compile(_ANY_DATE, _I)
_FULL_DATE_RE = re.compile(_FULL_DATE, _I)
_PHONE_RE = re.compile(_PHONE)
_STREET_RE = re.compile(_STREET)
_CONTACT = re.compile(
    r"\b(?:her|his|their|patient'?s|pt'?s)[ \t]+(?:(?:home|cell|mobile|mailing)[ \t]+)?"
    rf"(?:phone(?: number)?|cell|number|e-?mail(?: address)?|address)(?:[ \t]+(?:is|on file is))?"
    rf"[ \t]*:?[ \t]*(?:{_PHONE}|{_EMAIL}|{_STREET})",
    _I,
)
_LIVES = re.compile(
    rf"\b(?:lives|living|resides|residing|home address|address on file|address of record|"
    rf"mailing address)\b[^\n.]{{0,20}}?{_STREET}",
    _I,
)
_PATIENT_WORD = re.compile(rf"\b(?:patient|pt)s?\b{_NOT_A_ROLE}", _I)
# A pasted table: a header naming a person column and a date-of-service column.
_TABLE_PERSON = re.compile(
    r"\b(?:patient|pt|member|subscriber|insured|beneficiary|claimant|last|name)\b", _I
)
_TABLE_DATE = re.compile(
    r"\b(?:dos|dob|date of birth|dates? of service|service dates?|svc date|from date|birth ?date"
    r"|visit date)\b",
    _I,
)
# "Name: Lucia Ferraro" in a post that also speaks of a payer or a diagnosis.
_NAME_LABEL = re.compile(rf"(?im:^[ \t>\"]*(?:full )?name[ \t]*[:=-][ \t]*)(?P<name>{_NAME})")
_HEALTH_CONTEXT = re.compile(
    r"\b(?:insurance|payer|plan|medicare|medicaid|dx|diagnosis|dos|dob|mrn|claim|pa|auth|"
    r"infusion|copay|deductible|member id)\b",
    _I,
)
# What a claim line carries besides a name and a date: a procedure code or an amount.
_CODE_OR_AMOUNT = re.compile(r"(?<![\w.])(?:\d{5}|[A-V]\d{4}|\$\d[\d,]*(?:\.\d\d)?)(?![\w])")


@dataclass(frozen=True)
class Finding:
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.excerpt}"


def _sentences(text: str) -> Iterable[tuple[int, str]]:
    """(offset, sentence) pieces; abbreviations like "Mr." and "Pt." split harmlessly."""
    start = 0
    for piece in re.split(r"(?<=[!?])\s+|(?<=[^.A-Z][a-z]{2}\.)\s+|\n", text):
        offset = text.find(piece, start)
        if offset < 0:
            offset = start
        yield offset, piece
        start = offset + len(piece)


# Numbers that are the practice's or a vendor's, not a patient's: "our malpractice policy
# number", "Tax ID#", "HR policy", "Vendor ID#". Only the two words before the label count.
_PRACTICE_OWN = re.compile(
    r"\b(?:our|my|hr|handbook|personnel|employee|staff|compliance|pto|malpractice|liability"
    r"|cyber|umbrella|business|property|workers'?|tax|provider|group|vendor|supplier|employer"
    r"|federal|npi|tin|ein|zoom|meeting|order|invoice|customer|payer|payor|submitter"
    r"|receiver|clearinghouse|edi|taxonomy|license|licence|dea|clia|ptan|webinar|login|user)\b",
    _I,
)
_PATIENT_OWN = re.compile(r"\b(?:patient|pt|her|his|their|member|subscriber)'?s?\b", _I)


def _practice_own(text: str, label_start: int) -> bool:
    before = re.search(r"(?:[\w'-]+\W+){0,2}$", text[max(0, label_start - 40) : label_start])
    words = before.group(0) if before else ""
    return bool(_PRACTICE_OWN.search(words)) and not _PATIENT_OWN.search(words)


def _spans(text: str) -> Iterable[tuple[str, int, int]]:
    for match in _MBI.finditer(text):
        yield "Medicare number (MBI)", match.start(), match.end()
    for match in _SSN_BARE.finditer(text):
        yield "Social Security number", match.start(), match.end()
    for match in _SSN_CONTEXT.finditer(text):
        yield "Social Security number", match.start(), match.end()
    for match in _DOB.finditer(text):
        if not re.search(r"(?:19|00)00(?!\d)", match.group(0)[-5:]):  # 1/1/1900: a placeholder
            yield "date of birth", match.start(), match.end()
    for match in _MEMBER_ID.finditer(text):
        if _practice_own(text, match.start()):
            continue
        if sum(c.isdigit() for c in match.group("value")) < 5:
            continue
        if re.match(r"(?:19|20)\d{2}-\d{1,4}$", match.group("value")):
            continue
        yield "member or policy ID", match.start(), match.end()
    for match in _BARE_ID.finditer(text):
        digits = sum(c.isdigit() for c in match.group("value"))
        if digits >= 6 and not _practice_own(text, match.start()) and _HEALTH_CONTEXT.search(text):
            yield "member or policy ID", match.start(), match.end()
    for match in _MRN.finditer(text):
        if sum(c.isdigit() for c in match.group("value")) >= 5:
            yield "record or account number", match.start(), match.end()
    for match in _OLD_AGE.finditer(text):
        age = int(match.group("age") or match.group("age2") or match.group("age3"))
        if 90 <= age <= 125:
            yield "age over 89", match.start(), match.end()
    for match in _AGE_AND_DATE.finditer(text):
        yield "age with a date of service", match.start(), match.end()
    for match in _PATIENT_NAME.finditer(text):
        if _is_name(match.group("name")):
            yield "patient name", match.start(), match.end()
    for match in _ABOUT.finditer(text):
        name = match.group("name1") or match.group("name2")
        two_words = len(re.findall(r"[A-Za-z]{2,}", name)) >= 2
        if _is_name(name) and (match.group("hon") or two_words):
            yield "patient name", match.start(), match.end()
    for match in _POSSESSIVE.finditer(text):
        name = match.group("name")
        if _is_name(name) and (match.group("hon") or " " in name.strip() or _CLINICAL.search(text)):
            yield "patient name", match.start(), match.end()
    for match in _CONTACT.finditer(text):
        if _PATIENT_WORD.search(text) or _CLINICAL.search(text):
            yield "patient contact details", match.start(), match.end()
    for match in _LIVES.finditer(text):
        yield "patient address", match.start(), match.end()
    for match in _NAME_LABEL.finditer(text):
        if _is_name(match.group("name")) and _HEALTH_CONTEXT.search(text):
            yield "patient name", match.start(), match.end()
    yield from _sentence_spans(text)
    yield from _table_spans(text)


def _sentence_spans(text: str) -> Iterable[tuple[str, int, int]]:
    """Names that a date of service, a clinical word or a patient's phone make a patient's."""
    for offset, sentence in _sentences(text):
        if not sentence.strip():
            continue
        names = [
            m
            for m in (*_HONORIFIC_NAME.finditer(sentence), *_FULL_NAME.finditer(sentence))
            if _is_name(m.group("name"))
        ]
        if names and _CLINICAL.search(sentence):
            first = names[0]
            yield "patient name with a visit", offset + first.start(), offset + first.end()
        if re.search(rf"\bpatient(?:'s)?\b{_NOT_A_ROLE}", sentence, _I):
            for street in _STREET_RE.finditer(sentence):
                yield "patient address", offset + street.start(), offset + street.end()
        if names and _PATIENT_WORD.search(sentence):
            for phone in _PHONE_RE.finditer(sentence):
                yield "patient phone number", offset + phone.start(), offset + phone.end()
            for street in _STREET_RE.finditer(sentence):
                yield "patient address", offset + street.start(), offset + street.end()
        for match in _LAST_FIRST_RE.finditer(sentence):
            if not _is_name(match.group("name")):
                continue
            rest = sentence[match.end() : match.end() + 70]
            before = sentence[max(0, match.start() - 70) : match.start()]
            if _DATE_RE.search(rest) or _SERVICE_WORD.search(rest + before):
                yield "name beside a date", offset + match.start(), offset + match.end()
        if names and _FULL_DATE_RE.search(sentence) and _CODE_OR_AMOUNT.search(sentence):
            first = names[0]
            yield "name on a claim line", offset + first.start(), offset + first.end()
        if _SERVICE_WORD.search(sentence) and names:
            first = names[0]
            yield "name beside a date of service", offset + first.start(), offset + first.end()


def _table_spans(text: str) -> Iterable[tuple[str, int, int]]:
    """A pasted remit, EOB or export: a header with person and date columns, then a data row."""
    lines = text.splitlines(keepends=True)
    offset = 0
    for index, line in enumerate(lines):
        columns = re.split(r"\t|\||,|\s{2,}", line)
        if (
            len(columns) >= 3
            and _TABLE_PERSON.search(line)
            and _TABLE_DATE.search(line)
            and not _DATE_RE.search(line)
        ):
            row_offset = offset + len(line)
            for row in lines[index + 1 : index + 6]:
                if _DATE_RE.search(row) and re.search(r"[A-Za-z]{2,}", row):
                    yield "pasted claim or EOB line", row_offset, row_offset + len(row)
                    break
                row_offset += len(row)
        offset += len(line)


def phi_scan(text: str) -> list[Finding]:
    """Every passage of `text` that looks like protected health information, masked."""
    text = text or ""
    findings = []
    seen = set()
    for kind, start, end in _spans(text):
        if (kind, start) in seen:
            continue
        seen.add((kind, start))
        findings.append(Finding(kind, masked(text[start:end])[:80]))
    return findings


def phi_summary(findings: list[Finding], where: str = "") -> str:
    kinds = sorted({finding.kind for finding in findings})
    place = f" in {where}" if where else ""
    return f"Possible patient information{place} (" + ", ".join(kinds) + ")"


# --- masking for mail -----------------------------------------------------------------------
_MASK_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")


def masked(text: str) -> str:
    """`text` with every digit, email address and name-like word blotted out.

    Used for anything mail quotes from a post (subjects, excerpts, notes): it keeps the shape
    of a sentence so a reader knows what it is about, but no identifier survives it, including
    those the guard did not recognise. Lower-case words and common capitalised ones stay.
    """
    text = re.sub(_EMAIL, "[email]", text or "")
    text = re.sub(r"\d", "•", text)

    def blot(match: re.Match) -> str:
        word = match.group(0)
        if word[0].islower() or word.lower().strip("'\u2019") in _COMMON_CAPS or word in {"I", "A"}:
            return word
        if word.isupper() and len(word) <= 5 and word.lower() in _COMMON_CAPS:
            return word
        return word[0] + "…"

    text = _MASK_WORD.sub(blot, text)
    # Lower-case MBIs and ids keep their letters after the digits go: blot mixed tokens whole.
    text = re.sub(r"\S*•\S*", lambda m: "•" * min(len(m.group(0)), 6), text)
    return text


def masked_excerpt(text: str, limit: int = 240) -> str:
    """The first `limit` characters of `text`, masked, on one line."""
    flat = " ".join((text or "").split())
    excerpt = masked(flat[: limit + 40])
    return excerpt[:limit] + ("…" if len(flat) > limit else "")


# --- side doors: attachments ----------------------------------------------------------------
# Text pulled from one attachment is capped; an office file that inflates past this is not read.
MAX_EXTRACTED_CHARS = 2_000_000
MAX_UNZIPPED_BYTES = 50_000_000

TEXT_TYPES = {"text/plain", "text/csv", "text/tab-separated-values"}
PDF_TYPES = {"application/pdf"}
DOCX_TYPES = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PPTX_TYPES = {"application/vnd.openxmlformats-officedocument.presentationml.presentation"}
ODT_TYPES = {"application/vnd.oasis.opendocument.text"}
# Binary Office formats no well-kept pure-Python library reads: held as unchecked.
LEGACY_TYPES = {"application/msword", "application/vnd.ms-excel"}


class Unreadable(Exception):
    """An attachment of a kind the guard reads, that it could not read (damaged, encrypted)."""


def _kind(filename: str, content_type: str) -> str:
    ext = filename.lower().rpartition(".")[2] if "." in filename else ""
    ctype = content_type.lower()
    if ctype in TEXT_TYPES or ext in {"txt", "csv", "tsv"}:
        return "text"
    if ctype in PDF_TYPES or ext == "pdf":
        return "pdf"
    if ctype in DOCX_TYPES or ext == "docx":
        return "docx"
    if ctype in XLSX_TYPES or ext in {"xlsx", "xlsm"}:
        return "xlsx"
    if ctype in PPTX_TYPES or ext == "pptx":
        return "pptx"
    if ctype in ODT_TYPES or ext == "odt":
        return "odt"
    if ctype in LEGACY_TYPES or ext in {"doc", "xls"}:
        return "legacy"
    return ""


def _xml_text(payload: bytes, members: str, paragraph_end: str) -> str:
    """Text runs of the zipped XML parts whose names match `members`, one paragraph a line.
    Tags are stripped, not parsed, so no entity in a hostile file is ever expanded."""
    chunks = []
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        for name in sorted(archive.namelist()):
            if re.fullmatch(members, name):
                xml = archive.read(name).decode("utf-8", errors="replace")
                xml = re.sub(paragraph_end, "\n", xml)
                chunks.append(html.unescape(re.sub(r"<[^>]+>", "", xml)))
    return "\n".join(chunks)


def _check_zip(payload: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise Unreadable("inflates past the size the guard reads")
    except zipfile.BadZipFile as exc:
        raise Unreadable("not a valid Office file") from exc


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return f"{value.month}/{value.day}/{value.year}"
    return str(value)


def attachment_text(filename: str, content_type: str, payload: bytes) -> str | None:
    """The text of a txt, csv, PDF, DOCX, XLSX, PPTX or ODT attachment; None for kinds it does
    not read (images). Raises Unreadable for a file of a kind it reads but
    cannot open, so the caller can hold rather than let it through unchecked."""
    kind = _kind(filename or "", content_type or "")
    if not kind:
        return None
    if kind == "legacy":
        raise Unreadable("a legacy Office file the guard cannot read; send it as PDF or DOCX")
    try:
        if kind == "text":
            for charset in ("utf-8-sig", "cp1252"):
                try:
                    return payload.decode(charset)[:MAX_EXTRACTED_CHARS]
                except UnicodeDecodeError:
                    continue
            return payload.decode("latin-1")[:MAX_EXTRACTED_CHARS]
        if kind == "pdf":
            reader = pypdf.PdfReader(io.BytesIO(payload))
            if reader.is_encrypted and not reader.decrypt(""):
                raise Unreadable("encrypted PDF")
            chunks, size = [], 0
            for page in reader.pages:
                chunk = page.extract_text() or ""
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_EXTRACTED_CHARS:
                    break
            return "\n".join(chunks)[:MAX_EXTRACTED_CHARS]
        _check_zip(payload)
        if kind == "pptx":
            found = _xml_text(payload, r"ppt/(?:slides|notesSlides)/\w+\.xml", r"</a:p>")
            return found[:MAX_EXTRACTED_CHARS]
        if kind == "odt":
            found = _xml_text(payload, r"content\.xml", r"</text:(?:p|h)>|<text:tab/>")
            return found[:MAX_EXTRACTED_CHARS]
        if kind == "docx":
            document = docx.Document(io.BytesIO(payload))
            lines = [p.text for p in document.paragraphs]
            for table in document.tables:
                for row in table.rows:
                    lines.append("\t".join(cell.text for cell in row.cells))
            for section in document.sections:
                for part in (section.header, section.footer):
                    lines.extend(p.text for p in part.paragraphs)
            return "\n".join(lines)[:MAX_EXTRACTED_CHARS]
        workbook = openpyxl.load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
        try:
            lines, size = [], 0
            for sheet in workbook.worksheets:
                for row in sheet.iter_rows(values_only=True):
                    line = "\t".join(_cell(v) for v in row).rstrip("\t")
                    lines.append(line)
                    size += len(line)
                    if size > MAX_EXTRACTED_CHARS:
                        break
            return "\n".join(lines)[:MAX_EXTRACTED_CHARS]
        finally:
            workbook.close()
    except Unreadable:
        raise
    except Exception as exc:
        # Not the file name: it may be a patient's.
        log.info("An attachment (%s) could not be read: %s", content_type, exc)
        raise Unreadable(f"could not be read ({type(exc).__name__})") from exc


def phi_scan_parts(
    *, html_text: str = "", attachments: Iterable[tuple[str, str, bytes]] = ()
) -> list[str]:
    """Hold reasons for what the text part does not show: the HTML part's text and readable
    attachments. An attachment of a kind the guard reads that cannot be opened is a reason too:
    unchecked is not the same as clean."""
    reasons = []
    findings = phi_scan(html_text) if html_text else []
    if findings:
        reasons.append(phi_summary(findings, "the HTML part"))
    for filename, content_type, payload in attachments:
        try:
            extracted = attachment_text(filename, content_type, payload)
        except Unreadable as exc:
            reasons.append(f"Attachment could not be checked for patient information: {exc}")
            continue
        # A file name can say as much as its contents: "Smith_John_DOS_3-4-25.pdf".
        name = re.sub(r"[_+]", " ", filename or "")
        findings = phi_scan(f"{name}\n{extracted or ''}")
        if findings:
            reasons.append(phi_summary(findings, "an attachment"))
    return reasons
