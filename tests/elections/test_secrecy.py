"""Who voted and how are stored apart: read from the models' _meta and from the database's
own introspection, nothing ties a ballot to a voter: no user column, no time, no
auto-increment key or sequence, no default ordering by arrival, no table pointing at both."""

import uuid

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, models

from elections import services
from elections.models import Ballot, Participation
from tests.elections.conftest import add_candidate, add_office, form, make_election
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

TIME_FIELDS = (models.DateTimeField, models.DateField, models.TimeField, models.DurationField)


def test_the_ballot_model_has_nothing_that_names_or_dates_a_voter():
    fields = {f.name: f for f in Ballot._meta.get_fields()}
    assert set(fields) == {"id", "election", "receipt_code", "choices"}
    user_model = get_user_model()
    for field in fields.values():
        assert not isinstance(field, TIME_FIELDS), field
        assert not (
            field.is_relation and field.related_model is not apps.get_model("elections", "Election")
        ), field
        assert field.related_model is not user_model
    pk = Ballot._meta.pk
    assert isinstance(pk, models.UUIDField) and not isinstance(pk, models.AutoField)
    # uuid4 is random; uuid1 would carry the time it was made.
    assert pk.default is uuid.uuid4
    assert Ballot._meta.ordering == ["receipt_code"]
    assert not Ballot._meta.get_latest_by


def test_no_model_links_a_voter_to_a_ballot_or_a_receipt():
    for model in apps.get_models():
        if model is Ballot:
            continue
        for field in model._meta.get_fields():
            if not field.concrete:
                continue  # reverse accessors (Election.ballots) are not columns
            assert getattr(field, "related_model", None) is not Ballot, (model, field)
            if model._meta.app_label != "payments":  # payments' receipts are for money paid
                assert "receipt" not in field.name, (model, field)
    participation_fields = {f.name for f in Participation._meta.get_fields()}
    assert participation_fields == {"id", "election", "user", "voted_at", "changes"}


def test_the_database_table_matches_no_sequence_no_time_no_user_column():
    table = Ballot._meta.db_table
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
        sequences = connection.introspection.get_sequences(cursor, table)
        constraints = connection.introspection.get_constraints(cursor, table)
    columns = {col.name for col in description}
    assert columns == {"id", "election_id", "receipt_code", "choices"}
    if connection.vendor == "postgresql":
        assert sequences == []  # no serial/identity column: nothing numbers ballots in order
    else:  # SQLite names its primary key here whatever its type; a UUID is stored as text
        id_type = next(col.type_code for col in description if col.name == "id")
        assert "int" not in str(id_type).lower()
    foreign = {name: c["foreign_key"] for name, c in constraints.items() if c["foreign_key"]}
    assert [target[0] for target in foreign.values()] == ["elections_election"]


def test_a_stored_ballot_holds_nothing_of_its_voter():
    election = make_election("voting")
    office = add_office(election)
    candidate = add_candidate(office, "Ada")
    voter = MemberFactory(email="secret.voter@example.org")
    receipt = services.ballot_cast(
        election=election, user=voter, data=form(**{f"office-{office.pk}": candidate.key})
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Ballot._meta.db_table}")  # noqa: S608 - our table name
        row = " ".join(str(v) for v in cursor.fetchone())
    assert receipt in row
    assert "secret.voter" not in row and f" {voter.pk} " not in f" {row} "
    assert Participation.objects.get(election=election).user == voter
