"""The inbound listener over a real socket, as Postfix talks to it: per-recipient LMTP
replies, envelopes it must refuse for good, lines longer than RFC 5321's, and the Postfix
recipient map that keeps unknown addresses out at RCPT time."""

import smtplib

import pytest
from django.core.management import call_command
from django.db import connection

from discussions.management.commands.postfix_map import recipient_query
from discussions.models import InboundMessage, MailingList
from discussions.services import inbound_route

from .helpers import listener, make_list, send


@pytest.fixture
def no_queue(monkeypatch):
    """No worker here: keep ingest jobs out of the shared test broker."""
    import discussions.services.inbound as inbound

    monkeypatch.setattr(inbound, "_enqueue", lambda task, pk: None)


def _lists(count: int) -> list[MailingList]:
    slugs = ["billing", "hr", "compliance"]
    return [make_list(slug=slug, name=slug.title()) for slug in slugs[:count]]


def _lmtp_transaction(port: int, rcpts: list[str], data: bytes) -> list[int]:
    """Speak LMTP by hand (smtplib's LMTP.sendmail reads one reply) and return the reply
    codes after DATA; a missing reply times out and fails the test."""
    with smtplib.LMTP("127.0.0.1", port, timeout=5) as client:
        client.ehlo()
        assert client.mail("a@example.org")[0] == 250
        for rcpt in rcpts:
            assert client.rcpt(rcpt)[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(data + b"\r\n.\r\n")
        codes = [client.getreply()[0] for _ in rcpts]
        # The next command gets its own answer: nothing was left over from DATA.
        assert client.noop()[0] == 250
    return codes


@pytest.mark.parametrize("count", [2, 3])
def test_lmtp_refuses_an_oversized_message_once_per_recipient(transactional_db, no_queue, count):
    lists = _lists(count)
    with listener(lmtp=True, size_limit=2000) as (_h, port):
        codes = _lmtp_transaction(
            port, [m.address for m in lists], b"Subject: big\r\n\r\n" + b"x" * 5000
        )
    assert codes == [552] * count
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("count", [2, 3])
def test_lmtp_answers_each_recipient_on_its_own_when_one_copy_cannot_be_stored(
    transactional_db, no_queue, monkeypatch, count
):
    import discussions.services.inbound as inbound

    lists = _lists(count)
    create = inbound.InboundMessage.objects.create

    def fail_for_hr(**kwargs):
        if kwargs["rcpt_to"].startswith("hr@"):
            raise RuntimeError("disk full")
        return create(**kwargs)

    monkeypatch.setattr(inbound.InboundMessage.objects, "create", fail_for_hr)
    with listener(lmtp=True) as (_h, port):
        codes = _lmtp_transaction(port, [m.address for m in lists], b"Subject: hi\r\n\r\nhello\r\n")
    assert codes == [250, 451, 250][:count]
    stored = sorted(InboundMessage.objects.values_list("rcpt_to", flat=True))
    assert stored == sorted(m.address for m in lists if m.slug != "hr")


def test_lmtp_accepts_a_120000_character_header_line_for_every_recipient(
    transactional_db, no_queue
):
    lists = _lists(3)
    data = b"Subject: long\r\nX-Junk: " + b"y" * 120_000 + b"\r\n\r\nhello\r\n"
    with listener(lmtp=True) as (_h, port):
        codes = _lmtp_transaction(port, [m.address for m in lists], data)
    assert codes == [250, 250, 250]
    assert InboundMessage.objects.count() == 3


def test_long_header_line_is_accepted_over_smtp_and_ingested(transactional_db, no_queue):
    from discussions.services import inbound_ingest

    billing = make_list()
    data = b"From: a@example.org\r\nSubject: Long " + b"z" * 120_000 + b"\r\n\r\nhello\r\n"
    with listener() as (_h, port):
        send(port, "a@example.org", billing.address, data)
    inbound = InboundMessage.objects.get()
    assert bytes(inbound.raw).replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")
    inbound_ingest(inbound_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == "held"
    assert inbound.message.subject.startswith("Long zzz")


@pytest.mark.parametrize(
    ("sender", "rcpt"),
    [
        ("a\x00b@example.org", "billing@lists.norm.local"),
        ("a@example.org", "billing\x00@lists.norm.local"),
    ],
)
def test_a_nul_byte_in_the_envelope_is_refused_for_good(transactional_db, sender, rcpt):
    make_list()
    with listener() as (_h, port), smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.ehlo()
        code, _ = client.docmd(f"MAIL FROM:<{sender}>")
        if code == 250:
            code, _ = client.docmd(f"RCPT TO:<{rcpt}>")
    assert 500 <= code < 600
    assert not InboundMessage.objects.exists()


# --- the Postfix recipient map --------------------------------------------------------------


def _postfix_lookup(address: str) -> bool:
    """What Postfix's pgsql table does with the query: %u and %d replaced by the SQL-escaped
    local part and domain (pgsql_table(5)); a row means the address exists."""
    local, _, domain = address.lower().rpartition("@")
    query = recipient_query().replace("%u", local.replace("'", "''"))
    query = query.replace("%d", domain.replace("'", "''"))
    with connection.cursor() as cursor:
        cursor.execute(query.replace("%", "%%"))
        return cursor.fetchone() is not None


@pytest.mark.postgres
@pytest.mark.django_db
def test_postfix_map_accepts_exactly_the_addresses_the_listener_routes():
    make_list()
    make_list(slug="hr", name="HR", is_active=False)
    addresses = [
        "billing@lists.norm.local",
        "BILLING@lists.norm.local",
        "billing-bounces+0123456789-maria=example.org@lists.norm.local",
        "billing-bounces@lists.norm.local",
        "billing-moderate+12-abcdef@lists.norm.local",
        "billing-moderate@lists.norm.local",
        "hr@lists.norm.local",
        "hr-bounces+0123456789-a=b.org@lists.norm.local",
        "nosuchlist@lists.norm.local",
        "billing@example.org",
        "bill@lists.norm.local",
        "billingx@lists.norm.local",
        "o'brien@lists.norm.local",
    ]
    for address in addresses:
        assert _postfix_lookup(address) == (inbound_route(rcpt_to=address) is not None), address
    assert _postfix_lookup("billing@lists.norm.local")
    assert not _postfix_lookup("nosuchlist@lists.norm.local")
    # A list made a moment ago counts at once: Postfix asks the database every time.
    make_list(slug="compliance", name="Compliance")
    assert _postfix_lookup("compliance@lists.norm.local")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postfix_map_command_prints_a_pgsql_table(capsys):
    call_command("postfix_map")
    out = capsys.readouterr().out
    assert "query = SELECT 'OK' FROM discussions_mailinglist" in out
    assert f"dbname = {connection.settings_dict['NAME']}" in out
    assert "password = SET-ME" in out
