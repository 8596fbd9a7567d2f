"""What the conference service tests share: a conference with room, its full ticket, and the
attendee spec a checkout takes. Test modules that need a differently shaped conference define
their own `conference` fixture, which takes precedence here."""

import pytest

from conferences.services import AttendeeSpec
from tests.factories import ConferencePageFactory, TicketTypeFactory


def spec(ticket_type, *sessions, name="Ana"):
    return AttendeeSpec(
        first_name=name,
        last_name="Diaz",
        email=f"{name.lower()}@clinic.example",
        ticket_type_id=ticket_type.pk,
        session_ids=[s.pk for s in sessions],
    )


@pytest.fixture
def conference():
    return ConferencePageFactory(capacity=100)


@pytest.fixture
def full_ticket(conference):
    return TicketTypeFactory(conference=conference)
