"""US and UK spellings of the same word, so a search for one finds the other.

The portal writes US English ("authorization", "program"), but readers type what they learned
("authorisation", "programme"). Full-text stemming treats the two as different words on both
databases, so a search asks for every spelling of each word it was given. The rules cover the
regular patterns (-ise/-ize, -our/-or, -re/-er, -ogue/-og, doubled l); a short list covers the
words no rule does.
"""

from __future__ import annotations

import re

# (UK, US) endings, tried longest first. Each is applied in both directions.
_ENDINGS = [
    ("isation", "ization"),
    ("isations", "izations"),
    ("ising", "izing"),
    ("ised", "ized"),
    ("ises", "izes"),
    ("ise", "ize"),
    ("yse", "yze"),
    ("ysed", "yzed"),
    ("ysing", "yzing"),
    ("our", "or"),
    ("ours", "ors"),
    ("ourable", "orable"),
    ("oured", "ored"),
    ("ouring", "oring"),
    ("tre", "ter"),
    ("tres", "ters"),
    ("ogue", "og"),
    ("ogues", "ogs"),
    ("elled", "eled"),
    ("elling", "eling"),
    ("eller", "eler"),
    ("ence", "ense"),
]
# Words whose other spelling no ending rule gives (or where a rule would be wrong).
_WORDS = {
    "programme": "program",
    "programmes": "programs",
    "enrol": "enroll",
    "enrols": "enrolls",
    "enrolment": "enrollment",
    "enrolments": "enrollments",
    "fulfil": "fulfill",
    "fulfilment": "fulfillment",
    "paediatric": "pediatric",
    "paediatrics": "pediatrics",
    "orthopaedic": "orthopedic",
    "haematology": "hematology",
    "oestrogen": "estrogen",
    "anaemia": "anemia",
    "oedema": "edema",
    "judgement": "judgment",
    "cheque": "check",
    "grey": "gray",
}
_WORDS.update({us: uk for uk, us in list(_WORDS.items())})
# Short words an ending rule would turn into nonsense or into another word ("four" -> "for").
# fmt: off
_KEEP = {
    "our", "four", "pour", "tour", "your", "hour", "flour", "sour", "dour", "yours", "hours",
    "tours", "fours", "ours", "rise", "wise", "vise", "size", "prize", "seize", "otter", "after",
    "water", "better", "letter", "matter", "litter", "butter", "meter", "dense", "sense", "tense",
    "since", "fence", "hence", "pence", "once", "dog", "log", "fog", "cog", "hog", "jog", "bog",
    "clog", "blog",
}
# fmt: on
_MIN_STEM = 3


def variants(word: str) -> list[str]:
    """`word` (lowercased) first, then its other spellings."""
    word = word.lower()
    found = [word]
    if word in _WORDS:
        found.append(_WORDS[word])
    if word not in _KEEP:
        for uk, us in sorted(_ENDINGS, key=lambda pair: -max(map(len, pair))):
            for have, other in ((uk, us), (us, uk)):
                stem = word[: -len(have)]
                if word.endswith(have) and len(stem) >= _MIN_STEM:
                    found.append(stem + other)
                    break
            else:
                continue
            break
    return list(dict.fromkeys(found))


def search_query(words: str):
    """A Wagtail search query for `words`: every word must match, in any of its spellings."""
    from modelsearch.query import Or, PlainText

    terms = re.findall(r"\w+", words)
    if not terms:
        return None
    query = None
    for term in terms:
        spellings = variants(term)
        part = (
            PlainText(spellings[0])
            if len(spellings) == 1
            else Or([PlainText(spelling) for spelling in spellings])
        )
        query = part if query is None else query & part
    return query
