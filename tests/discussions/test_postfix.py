"""Behind a real Postfix (Debian's postfix and postfix-pgsql, which .ci/run installs): the
recipient map `manage.py postfix_map` prints refuses unknown list addresses at RCPT time, and
a multi-recipient delivery over LMTP stores each copy exactly once.

Skipped where Postfix is not installed, we are not root (Postfix's master must start as
root), or the database is not PostgreSQL (the map queries it).
"""

import os
import shutil
import smtplib
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from discussions.management.commands.postfix_map import recipient_query
from discussions.models import InboundMessage
from discussions.services.common import bounce_address
from tests.conftest import free_port, wait_for

from .helpers import listener, make_list

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"


def _postfix_usable() -> str:
    if not Path(POSTFIX).exists():
        return "Postfix is not installed (apt-get install postfix postfix-pgsql)"
    if os.geteuid() != 0:
        return "Postfix's master must be started as root"
    return ""


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(bool(_postfix_usable()), reason=_postfix_usable() or "ok"),
]


@pytest.fixture
def postfix(transactional_db, monkeypatch):
    """A private Postfix instance on a free loopback port, its list domain handed to our LMTP
    listener, its recipient map the one `postfix_map` prints; yields the SMTP port."""
    import discussions.services.inbound as inbound

    # No worker: only what the listener stores matters here.
    monkeypatch.setattr(inbound, "_enqueue", lambda task, pk: None)
    # Under /tmp and world-traversable: Postfix's daemons run as the postfix user.
    root = Path(tempfile.mkdtemp(prefix="guildhall-postfix-", dir="/tmp"))
    root.chmod(0o755)
    etc, spool, data = root / "etc", root / "spool", root / "data"
    for folder in (etc, spool, data):
        folder.mkdir()
    shutil.chown(data, "postfix")
    smtp_port = free_port()
    settings = connection.settings_dict
    with listener(lmtp=True) as (_host, lmtp_port):
        master = Path("/etc/postfix/master.cf").read_text()
        (etc / "master.cf").write_text(
            master.replace(
                "smtp      inet  n       -       y       -       -       smtpd",
                f"127.0.0.1:{smtp_port} inet n - n - - smtpd",
            )
        )
        (etc / "pgsql-lists.cf").write_text(
            f"hosts = {settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}\n"
            f"user = {settings.get('USER') or 'postgres'}\n"
            f"password = {settings.get('PASSWORD') or ''}\n"
            f"dbname = {settings['NAME']}\n"
            f"query = {recipient_query()}\n"
        )
        (etc / "main.cf").write_text(
            "compatibility_level = 3.6\n"
            f"queue_directory = {spool}\ndata_directory = {data}\n"
            "mail_owner = postfix\nsetgid_group = postdrop\n"
            "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
            "myhostname = mx.lists.norm.local\nmydestination =\nmynetworks = 127.0.0.0/8\n"
            f"maillog_file_prefixes = {root}\nmaillog_file = {root}/maillog\n"
            "virtual_mailbox_domains = lists.norm.local\n"
            f"virtual_mailbox_maps = pgsql:{etc}/pgsql-lists.cf\n"
            f"virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}\n"
            "recipient_delimiter = +\n"
        )
        started = subprocess.run(
            [POSTFIX, "-c", str(etc), "start"], capture_output=True, text=True, timeout=60
        )
        log = root / "maillog"
        if started.returncode != 0:
            pytest.fail(f"postfix did not start: {log.read_text() if log.exists() else ''}")
        try:
            wait_for(lambda: _answers(smtp_port), timeout=30, message="postfix did not listen")
            yield smtp_port
        finally:
            subprocess.run([POSTFIX, "-c", str(etc), "stop"], capture_output=True, timeout=60)
            shutil.rmtree(root, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            return client.noop()[0] == 250
    except OSError:
        return False


def _rcpt(port: int, address: str) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        client.ehlo()
        client.mail("maria@valleyrheum.example")
        return client.rcpt(address)[0]


def test_postfix_refuses_unknown_list_addresses_at_rcpt(postfix):
    billing = make_list()
    make_list(slug="hr", name="HR and Staffing", is_active=False)
    assert _rcpt(postfix, billing.address) == 250
    assert _rcpt(postfix, bounce_address(billing, "kim@northclinic.example")) == 250
    assert _rcpt(postfix, "billing-moderate+12-abcdef@lists.norm.local") == 250
    assert _rcpt(postfix, "nosuchlist@lists.norm.local") == 550
    assert _rcpt(postfix, "hr@lists.norm.local") == 550
    # Changes count at once: Postfix asks the database on every lookup.
    make_list(slug="compliance", name="Compliance")
    assert _rcpt(postfix, "compliance@lists.norm.local") == 250


def test_postfix_delivers_a_two_list_message_over_lmtp_once_per_list(postfix):
    billing = make_list()
    hr = make_list(slug="hr", name="HR and Staffing")
    with smtplib.SMTP("127.0.0.1", postfix, timeout=20) as client:
        refused = client.sendmail(
            "maria@valleyrheum.example",
            [billing.address, hr.address],
            b"From: maria@valleyrheum.example\r\nSubject: Both lists\r\n\r\nHello both.\r\n",
        )
    assert refused == {}
    wait_for(lambda: InboundMessage.objects.count() >= 2, timeout=60, message="not delivered")
    rcpts = sorted(InboundMessage.objects.values_list("rcpt_to", flat=True))
    assert rcpts == sorted([billing.address, hr.address])
    assert all(
        b"Hello both." in bytes(r) for r in InboundMessage.objects.values_list("raw", flat=True)
    )
