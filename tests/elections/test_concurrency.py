"""One voter, 100 simultaneous submissions, each on its own database connection: exactly one
participation and one ballot (PostgreSQL: the unique constraint and the election row lock).

The test server is shared, and 100 more connections can pass its max_connections: a
submission the server turns away ("too many clients") tries again until it is answered, so
every one of the 100 still reaches the service."""

import threading
import time

import pytest
from django.db import OperationalError, connection

from elections import services
from elections.models import Ballot, Participation
from tests.elections.conftest import add_candidate, add_office, form, make_election
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUBMISSIONS = 100


def test_a_hundred_simultaneous_ballots_from_one_voter_make_exactly_one():
    election = make_election("voting")
    office = add_office(election)
    candidate = add_candidate(office, "Ada")
    voter = MemberFactory()
    services.roll_freeze(election)
    start = threading.Barrier(SUBMISSIONS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit():
        start.wait()
        while True:
            try:
                services.ballot_cast(
                    election=election,
                    user=voter,
                    data=form(**{f"office-{office.pk}": candidate.key}),
                )
                result = "cast"
                break
            except services.Refusal as refusal:
                result = f"refused {refusal.status}"
                break
            except OperationalError as exc:
                if "too many clients" not in str(exc):
                    raise
                connection.close()
                time.sleep(0.05)
            finally:
                connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("cast") == 1
    assert outcomes.count("refused 409") == SUBMISSIONS - 1
    assert Participation.objects.filter(election=election).count() == 1
    assert Ballot.objects.filter(election=election).count() == 1
