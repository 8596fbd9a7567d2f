"""Session attendance, evaluations and the rules that grant hours and certificates."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from conferences import tickets
from education import services
from education.models import (
    Certificate,
    CreditRecord,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationSubmission,
    SessionAttendance,
    SessionRule,
)

from .conftest import make_attendee

pytestmark = pytest.mark.django_db


def _door(conference, session):
    return reverse("education:staff-door", args=[conference.pk, session.pk])


def _ticket(attendee):
    return reverse("conferences:attendee-ticket", args=[tickets.attendee_token(attendee)])


def _self(attendee, session):
    return reverse("education:self-check-in", args=[tickets.attendee_token(attendee), session.pk])


def _evaluation(attendee, session):
    return reverse("education:evaluation", args=[tickets.attendee_token(attendee), session.pk])


def _end(session):
    """The session is over: evaluations open, the programme may be over."""
    session.starts_at = timezone.now() - timedelta(hours=2)
    session.ends_at = timezone.now() - timedelta(minutes=1)
    session.save()


def _answers(session):
    return {
        f"q{q.pk}": "4" if q.kind == "rating" else "More examples, please."
        for q in services.questions_for(session)
    }


# --- Door check-in --------------------------------------------------------------------------


def test_door_scan_then_already_checked_in(mfa_client, door_staff, conference, plenary, attendee):
    client = mfa_client(door_staff)
    first = client.post(_door(conference, plenary), {"code": attendee.ticket_code})
    assert first.status_code == 200
    assert b"Checked in" in first.content and b"Maria Lopez" in first.content
    second = client.post(_door(conference, plenary), {"code": attendee.ticket_code.lower()})
    assert b"Already checked in" in second.content
    assert SessionAttendance.objects.filter(session=plenary, attendee=attendee).count() == 1
    # The rule (check-in) is met: the hours are on the ledger once.
    assert {(r.credit_type.code, r.hours) for r in CreditRecord.objects.all()} == {
        ("CRMS", Decimal("1.50")),
        ("CEU", Decimal("1.00")),
    }


def test_door_accepts_the_scanned_ticket_link(
    mfa_client, door_staff, conference, plenary, attendee
):
    client = mfa_client(door_staff)
    link = tickets.ticket_url(attendee)
    response = client.post(_door(conference, plenary), {"code": link})
    assert b"Checked in" in response.content
    forged = client.post(_door(conference, plenary), {"code": link[:-3] + "xyz/"})
    assert forged.status_code == 400


def test_door_refusals(mfa_client, door_staff, conference, ticket_type, plenary):
    client = mfa_client(door_staff)
    unknown = client.post(_door(conference, plenary), {"code": "NOSUCHCODE"})
    assert unknown.status_code == 409 and b"No ticket NOSUCHCODE" in unknown.content
    held = make_attendee(conference, ticket_type, status="held")
    response = client.post(_door(conference, plenary), {"code": held.ticket_code})
    assert response.status_code == 409 and b"awaiting payment" in response.content
    assert client.post(_door(conference, plenary), {"code": "x" * 20}).status_code == 400
    assert not SessionAttendance.objects.exists()


def test_camera_scan_lands_on_the_door_the_phone_is_at(
    mfa_client, door_staff, conference, plenary, attendee
):
    client = mfa_client(door_staff)
    client.get(_door(conference, plenary))
    response = client.get(_ticket(attendee))
    assert response.status_code == 302
    assert response["Location"] == _door(conference, plenary) + f"?code={attendee.ticket_code}"
    page = client.get(response["Location"])
    assert f"Check in {attendee.first_name}".encode() in page.content


def test_walk_in_to_a_breakout_counts_only_with_a_free_seat(
    conference, ticket_type, breakout, door_staff
):
    picked = make_attendee(conference, ticket_type, breakout)
    walk_in = make_attendee(conference, ticket_type)
    # One seat, taken by the attendee who picked it: the walk-in is turned away.
    with pytest.raises(services.Refusal, match="is full"):
        services.door_check_in(session=breakout, ticket_code=walk_in.ticket_code, by=door_staff)
    assert (
        services.door_check_in(
            session=breakout, ticket_code=picked.ticket_code, by=door_staff
        ).already
        is False
    )
    breakout.capacity = 3
    breakout.save()
    assert (
        services.door_check_in(
            session=breakout, ticket_code=walk_in.ticket_code, by=door_staff
        ).already
        is False
    )
    # A walk-in takes a seat too: the next one still fits (3), a fourth would not.
    other = make_attendee(conference, ticket_type)
    services.door_check_in(session=breakout, ticket_code=other.ticket_code, by=door_staff)
    fourth = make_attendee(conference, ticket_type)
    with pytest.raises(services.Refusal, match="is full"):
        services.door_check_in(session=breakout, ticket_code=fourth.ticket_code, by=door_staff)


@pytest.mark.parametrize("role", ["anonymous", "non_member", "member"])
def test_door_and_staff_pages_refuse_others(
    client, mfa_client, request, role, conference, plenary, attendee
):
    pages = [
        _door(conference, plenary),
        reverse("education:staff-sessions", args=[conference.pk]),
        reverse("education:staff-results", args=[conference.pk, plenary.pk]),
        reverse("education:staff-room-code", args=[conference.pk, plenary.pk]),
    ]
    if role != "anonymous":
        client = mfa_client(request.getfixturevalue(role))
    for url in pages:
        response = client.get(url)
        assert response.status_code in {302, 403}, url
        if role == "anonymous":
            assert "/accounts/login/" in response["Location"]
    response = client.post(_door(conference, plenary), {"code": attendee.ticket_code})
    assert response.status_code in {302, 403}
    assert not SessionAttendance.objects.exists()


def test_check_in_staff_reach_the_door_not_the_results(
    mfa_client, door_staff, staff, conference, plenary
):
    client = mfa_client(door_staff)
    assert client.get(_door(conference, plenary)).status_code == 200
    assert client.get(reverse("education:staff-sessions", args=[conference.pk])).status_code == 200
    results = reverse("education:staff-results", args=[conference.pk, plenary.pk])
    assert client.get(results).status_code == 403
    assert mfa_client(staff).get(results).status_code == 200


def test_staff_pages_need_the_second_factor(client, staff, conference, plenary):
    client.force_login(staff)
    response = client.get(_door(conference, plenary))
    assert response.status_code == 302 and "reauthenticate" in response["Location"]


# --- Self check-in with the room code -------------------------------------------------------


def test_self_check_in_with_the_room_code(client, plenary, attendee):
    response = client.post(_self(attendee, plenary), {"code": " rheum7 "}, follow=True)
    assert "You are checked in" in response.content.decode()
    again = client.post(_self(attendee, plenary), {"code": "RHEUM7"}, follow=True)
    assert "already checked in" in again.content.decode()
    assert SessionAttendance.objects.get().method == "self"


def test_wrong_code_is_refused_and_guessing_is_limited(client, plenary, attendee):
    for _ in range(5):
        response = client.post(_self(attendee, plenary), {"code": "WRONG1"}, follow=True)
        assert "not the code shown in the room" in response.content.decode()
    locked = client.post(_self(attendee, plenary), {"code": "RHEUM7"}, follow=True)
    assert "Too many wrong codes" in locked.content.decode()
    assert not SessionAttendance.objects.exists()


def test_self_check_in_outside_the_window_is_refused(client, plenary, attendee):
    rule = SessionRule.objects.get(session=plenary)
    plenary.starts_at = timezone.now() + timedelta(hours=1)
    plenary.ends_at = timezone.now() + timedelta(hours=2)
    plenary.save()
    early = client.post(_self(attendee, plenary), {"code": rule.room_code}, follow=True)
    assert "opens at" in early.content.decode()
    _end(plenary)
    late = client.post(_self(attendee, plenary), {"code": rule.room_code}, follow=True)
    assert "closed at" in late.content.decode()
    assert not SessionAttendance.objects.exists()


def test_self_check_in_bad_input(client, plenary, breakout, attendee):
    token = tickets.attendee_token(attendee)
    assert client.post(_self(attendee, plenary), {}).status_code == 302
    assert client.post(_self(attendee, plenary), {"code": "x" * 50}).status_code == 302
    assert client.get(_self(attendee, plenary)).status_code == 405
    forged = reverse("education:self-check-in", args=[token[:-4] + "abcd", plenary.pk])
    assert client.post(forged, {"code": "RHEUM7"}).status_code == 404
    other_conference = reverse("education:self-check-in", args=[token, 999999])
    assert client.post(other_conference, {"code": "RHEUM7"}).status_code == 404
    # A break-out without a rule has no room code.
    response = client.post(_self(attendee, breakout), {"code": "ANY"}, follow=True)
    assert "no self check-in" in response.content.decode()
    assert not SessionAttendance.objects.exists()


# --- Evaluations and rules -------------------------------------------------------------------


def test_rule_needs_the_evaluation_then_certificate(client, plenary, attendee, breakout):
    SessionRule.objects.filter(session=plenary).update(rule="check-in+evaluation")
    services.self_check_in(session=plenary, attendee=attendee, code="RHEUM7")
    assert not CreditRecord.objects.exists()  # rule not met yet
    with pytest.raises(services.Refusal, match="last session"):
        services.conference_certificate(attendee)

    # Before the session ends the evaluation is not open.
    early = client.get(_evaluation(attendee, plenary), follow=True)
    assert "opens when the session ends" in early.content.decode()

    _end(plenary)
    _end(breakout)
    with pytest.raises(services.Refusal, match="No continuing-education hours"):
        services.conference_certificate(attendee)
    page = client.get(_evaluation(attendee, plenary))
    assert page.status_code == 200
    assert client.post(_evaluation(attendee, plenary), {}).status_code == 400
    assert not EvaluationSubmission.objects.exists()
    response = client.post(_evaluation(attendee, plenary), _answers(plenary), follow=True)
    assert "Thank you for evaluating" in response.content.decode()
    assert CreditRecord.objects.count() == 2

    certificate = services.conference_certificate(attendee, mail=False)
    assert certificate.hours == {"CRMS": "1.50", "CEU": "1.00"}
    assert certificate.items == [plenary.title]
    assert services.conference_certificate(attendee, mail=False).pk == certificate.pk


def test_one_evaluation_per_session(client, plenary, attendee):
    services.self_check_in(session=plenary, attendee=attendee, code="RHEUM7")
    _end(plenary)
    assert client.post(_evaluation(attendee, plenary), _answers(plenary)).status_code == 302
    answers = EvaluationAnswer.objects.count()
    second = client.post(_evaluation(attendee, plenary), _answers(plenary), follow=True)
    assert "already evaluated" in second.content.decode()
    with pytest.raises(services.Refusal):
        services.evaluation_submit(session=plenary, attendee=attendee, answers={})
    assert EvaluationSubmission.objects.count() == 1
    assert EvaluationAnswer.objects.count() == answers
    # Answers carry no attendee: nothing links them to who sent them.
    assert "attendee" not in {f.name for f in EvaluationAnswer._meta.get_fields()}


def test_not_checked_in_cannot_evaluate(client, plenary, attendee):
    _end(plenary)
    response = client.post(_evaluation(attendee, plenary), _answers(plenary), follow=True)
    assert "checked in at the session" in response.content.decode()
    assert not EvaluationSubmission.objects.exists()


def test_evaluation_rejects_out_of_range_ratings(client, plenary, attendee):
    services.self_check_in(session=plenary, attendee=attendee, code="RHEUM7")
    _end(plenary)
    bad = _answers(plenary)
    rating = EvaluationQuestion.objects.filter(kind="rating").first()
    for value in ["0", "6", "abc", "4.5", "\u0664"]:
        bad[f"q{rating.pk}"] = value
        assert client.post(_evaluation(attendee, plenary), bad).status_code == 400
    assert not EvaluationSubmission.objects.exists()


def test_results_are_anonymous_counts_for_staff_and_speakers(
    client, mfa_client, staff, conference, plenary, ticket_type
):
    from education import links
    from tests.factories import MemberFactory

    speaker = conference.speakers.create(name="Dr. Ada Obi")
    plenary.speakers.add(speaker)
    for _ in range(3):
        someone = make_attendee(conference, ticket_type, user=MemberFactory())
        services.self_check_in(session=plenary, attendee=someone, code="RHEUM7")
    _end(plenary)
    for someone in plenary.ce_attendance.all():
        services.evaluation_submit(
            session=plenary,
            attendee=someone.attendee,
            answers={
                q.pk: 5 if q.kind == "rating" else "Great" for q in services.questions_for(plenary)
            },
        )
    staff_page = mfa_client(staff).get(
        reverse("education:staff-results", args=[conference.pk, plenary.pk])
    )
    body = staff_page.content.decode()
    assert "3 evaluations" in body and "<svg" in body and "Great" in body
    url = links.results_url(plenary, speaker)
    speaker_page = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert speaker_page.status_code == 200 and "Dr. Ada Obi" in speaker_page.content.decode()
    for someone in plenary.ce_attendance.all():
        assert someone.attendee.full_name not in body
    assert client.get(reverse("education:speaker-results", args=["forged:sig"])).status_code == 404


def test_bulk_issue_is_idempotent(conference, ticket_type, plenary, breakout, attendee):
    services.self_check_in(session=plenary, attendee=attendee, code="RHEUM7")
    other = make_attendee(conference, ticket_type)
    services.session_check_in(session=plenary, attendee=other, method="staff")
    never_came = make_attendee(conference, ticket_type)
    assert services.certificates_issue(conference) == 0  # the programme is not over
    _end(plenary)
    _end(breakout)
    assert services.certificates_issue(conference) == 2
    assert services.certificates_issue(conference) == 2
    assert Certificate.objects.count() == 2
    assert not Certificate.objects.filter(member=never_came.order.owner).exists()


def test_ticket_page_shows_check_in_evaluation_and_certificate(client, plenary, attendee):
    page = client.get(_ticket(attendee)).content.decode()
    assert "Code shown in the room" in page
    services.self_check_in(session=plenary, attendee=attendee, code="RHEUM7")
    _end(plenary)
    page = client.get(_ticket(attendee)).content.decode()
    assert "Evaluate this session" in page and "Get your certificate" in page
