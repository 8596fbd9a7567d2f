"""The signed link staff hand a speaker to read their session's evaluation results: a
signature over the session and speaker ids (nothing stored), like the attendees' ticket links.
The results behind it are anonymous counts and comments."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from conferences.models import Session, Speaker

SALT = "education.speaker-results"


def results_token(session: Session, speaker: Speaker) -> str:
    return signing.Signer(salt=SALT).sign_object({"s": session.pk, "p": speaker.pk})


def results_url(session: Session, speaker: Speaker) -> str:
    return settings.SITE_URL + reverse(
        "education:speaker-results", args=[results_token(session, speaker)]
    )


def read_results_token(token: str) -> tuple[Session, Speaker] | None:
    if not token or len(token) > 200:
        return None
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
        session_id, speaker_id = int(data["s"]), int(data["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    session = Session.objects.select_related("conference").filter(pk=session_id).first()
    if session is None:
        return None
    speaker = session.speakers.filter(pk=speaker_id).first()
    if speaker is None:
        return None  # no longer a speaker of this session: the link opens nothing
    return session, speaker
