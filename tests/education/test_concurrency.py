"""Check-ins at once, each on its own connection (PostgreSQL): phones racing walk-ins for a
break-out's last seats let in exactly as many as fit; one ticket scanned on many phones at
once is one check-in and one grant."""

import threading

import pytest
from django.db import connection

from education import services
from education.models import CreditRecord, SessionAttendance

from .conftest import make_attendee

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(n, work):
    start = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index):
        try:
            start.wait()
            while True:
                try:
                    outcome = work(index)
                    break
                except services.attendance.Busy:
                    continue  # door staff scan again
                except services.Refusal as refusal:
                    outcome = f"refused: {refusal}"
                    break
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_walk_ins_racing_for_the_last_seats(conference, ticket_type, breakout, door_staff):
    breakout.capacity = 8
    breakout.save()
    for _ in range(5):
        make_attendee(conference, ticket_type, breakout)  # 5 picked it: 3 seats left
    walk_ins = [make_attendee(conference, ticket_type) for _ in range(20)]

    def work(index):
        result = services.door_check_in(
            session=breakout, ticket_code=walk_ins[index].ticket_code, by=door_staff
        )
        return "in" if not result.already else "already"

    outcomes = _race(20, work)
    assert outcomes.count("in") == 3, outcomes
    assert sum(o.startswith("refused:") and "is full" in o for o in outcomes) == 17
    assert SessionAttendance.objects.filter(session=breakout).count() == 3


def test_one_ticket_on_many_phones_is_one_check_in(plenary, attendee, door_staff):
    def work(index):
        result = services.door_check_in(
            session=plenary, ticket_code=attendee.ticket_code, by=door_staff
        )
        return "already" if result.already else "in"

    outcomes = _race(12, work)
    assert outcomes.count("in") == 1 and outcomes.count("already") == 11
    assert SessionAttendance.objects.count() == 1
    assert CreditRecord.objects.count() == 2  # CRMS and CEU, once each
