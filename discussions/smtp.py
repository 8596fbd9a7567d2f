"""The one module that talks SMTP: the inbound listener and the outgoing connection.

Inbound: an aiosmtpd handler (SMTP on loopback for a laptop, LMTP behind Postfix in production)
that refuses unknown recipients with 550, stores each message's raw bytes durably and only then
answers 250, or 451 when storing failed so the sending MTA keeps the message and retries.

Outbound: `Outbox`, one connection per batch. For SMTP it drives the transaction itself so the
ledger row is marked sent *before* the final "." goes out (see `Outbox.send`). Other Django mail
backends (files under var/mail, the test outbox) get the same bytes through Django.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
from collections.abc import Callable
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import mail as django_mail
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.db import close_old_connections

from portal.retry import MailRetryLater

log = logging.getLogger(__name__)


# --- inbound --------------------------------------------------------------------------------


class InboundHandler:
    """aiosmtpd handler: RCPT checks the address, DATA stores the message and enqueues ingest."""

    def __init__(self, *, lmtp: bool = False):
        self.lmtp = lmtp

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if _unsafe_address(address):
            # Permanent: sending it again will not make a NUL byte acceptable.
            return "553 5.1.7 Sender address contains control characters or bad UTF-8"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if _unsafe_address(address):
            return "553 5.1.3 Recipient address contains control characters or bad UTF-8"
        try:
            refusal = await sync_to_async(_address_refusal, thread_sensitive=True)(address)
        except Exception:
            log.exception("Could not look up %s", address)
            return "451 4.3.0 Temporary lookup failure, try again later"
        if refusal:
            # Unknown, or a private reply address that is forged or expired: 550 and why.
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        peer = str(session.peer[0]) if session.peer else ""
        raw = envelope.original_content or envelope.content
        refusals = {}
        for rcpt in envelope.rcpt_tos:
            try:
                # A private reply that fails a post's checks is refused now, so the sending
                # server bounces it to its real sender and it reaches no one.
                refusal = await sync_to_async(_data_refusal, thread_sensitive=True)(
                    raw=raw, mail_from=envelope.mail_from or "", rcpt_to=rcpt, peer=peer
                )
            except Exception:
                log.exception("Could not check the message for %s", rcpt)
                refusal = "451 4.3.0 Could not check the message, try again later"
            if refusal:
                refusals[rcpt] = refusal
        if refusals and not self.lmtp:
            # SMTP has one answer for every recipient: store no copy of a refused message.
            return next(iter(refusals.values()))
        statuses = []
        for rcpt in envelope.rcpt_tos:
            if rcpt in refusals:
                statuses.append(refusals[rcpt])
                continue
            try:
                await sync_to_async(_store, thread_sensitive=True)(
                    raw=raw,
                    mail_from=envelope.mail_from or "",
                    rcpt_to=rcpt,
                    peer=peer,
                )
                statuses.append("250 2.0.0 Message accepted")
            except Exception:
                log.exception("Could not store inbound message for %s", rcpt)
                statuses.append("451 4.3.0 Could not store the message, try again later")
        if self.lmtp:
            # LMTP answers DATA once per accepted recipient (RFC 2033 section 4.2).
            return "\r\n".join(statuses)
        # SMTP has one answer: only say 250 when every copy is safe.
        failed = [s for s in statuses if not s.startswith("250")]
        return failed[0] if failed else statuses[0]


_UNSAFE_ADDRESS = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _unsafe_address(address: str | None) -> bool:
    """Whether an envelope address carries bytes no list address or reply path may hold
    (aiosmtpd hands invalid UTF-8 over as surrogates)."""
    return bool(_UNSAFE_ADDRESS.search(address or ""))


def _address_refusal(address: str) -> str | None:
    close_old_connections()
    from .services import inbound_refusal  # cycle: services.delivery imports this module

    return inbound_refusal(rcpt_to=address)


def _data_refusal(*, raw: bytes, mail_from: str, rcpt_to: str, peer: str) -> str | None:
    close_old_connections()
    from .services import inbound_data_refusal  # cycle: services.delivery imports this module

    return inbound_data_refusal(raw=raw, mail_from=mail_from, rcpt_to=rcpt_to, peer=peer)


def _store(*, raw: bytes, mail_from: str, rcpt_to: str, peer: str) -> None:
    close_old_connections()
    from .services import inbound_store  # cycle: services.delivery imports this module

    inbound_store(raw=raw, mail_from=mail_from, rcpt_to=rcpt_to, peer=peer)


def make_controller(*, host: str, port: int, lmtp: bool, size_limit: int | None = None):
    """An aiosmtpd Controller running our handler in a thread; call .start() and .stop()."""
    limit = size_limit or settings.DISCUSSIONS_MAX_MESSAGE_BYTES
    server_class = LMTP if lmtp else SMTP

    class _Server(server_class):
        # RFC 5321 lets a server refuse lines over 1,000 octets, but real mail has them (a
        # 120,000-character header from a broken program): accept them, since the size limit
        # bounds memory anyway, and let the parser cut what it shows.
        line_length_limit = limit + 2

        async def smtp_DATA(self, arg):
            self._recipients = len(self.envelope.rcpt_tos) if self.envelope else 0
            self._after_354 = False
            try:
                await super().smtp_DATA(arg)
            finally:
                self._recipients = 0

        async def push(self, status):
            text = status.decode() if isinstance(status, bytes) else status
            if getattr(self, "_recipients", 0):
                if text.startswith("354"):
                    self._after_354 = True
                elif self._after_354:
                    if text.startswith(("552", "500 Line too long")):
                        # A line longer than the size limit is a message over it, too.
                        text = (
                            f"552 5.3.4 Message larger than this server's limit ({limit:,} bytes)"
                        )
                    if lmtp and "\r\n" not in text:
                        # aiosmtpd's own refusals after DATA (size, line length) are one
                        # reply; LMTP owes one per accepted recipient (RFC 2033 section 4.2),
                        # or the client waits for the rest and may deliver twice.
                        text = "\r\n".join([text] * self._recipients)
            await super().push(text)

    class _Controller(Controller):
        def factory(self):
            return _Server(
                self.handler,
                data_size_limit=limit,
                enable_SMTPUTF8=True,
                hostname=settings.LIST_DOMAIN,
                ident="Guildhall lists",
            )

    return _Controller(InboundHandler(lmtp=lmtp), hostname=host, port=port)


# --- outbound -------------------------------------------------------------------------------


class TemporaryFailure(Exception):
    """The server said 4xx: keep the row and try again later."""


class PermanentFailure(Exception):
    """The server said 5xx: record it, never retry."""

    def __init__(self, code: int, text: str):
        super().__init__(f"{code} {text}")
        self.code = code


class ConnectionLost(MailRetryLater):
    """The connection broke; nothing after this point in the batch was sent (the SMTP retry
    policy tries the batch again)."""


_EOL = re.compile(rb"\r\n|\n|\r")
_DOT = re.compile(rb"(?m)^\.")


def _smtp_data(data: bytes) -> bytes:
    """CRLF line endings and dot-stuffing (RFC 5321 section 4.5.2), without the terminator."""
    data = _DOT.sub(b"..", _EOL.sub(b"\r\n", data))
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _raise_for(code: int, text: bytes | str) -> None:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if 400 <= code < 500:
        raise TemporaryFailure(f"{code} {text}")
    if code >= 500:
        raise PermanentFailure(code, text)


class Outbox:
    """One outgoing connection for a batch of messages. Use as a context manager."""

    def __init__(self) -> None:
        self.smtp_mode = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
        self._smtp: smtplib.SMTP | None = None
        self._django = None

    def __enter__(self) -> Outbox:
        try:
            if self.smtp_mode:
                self._smtp = self._connect()
            else:
                self._django = django_mail.get_connection()
                self._django.open()
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionLost(str(exc)) from exc
        self._pool: list[smtplib.SMTP] = [self._smtp] if self._smtp is not None else []
        return self

    @staticmethod
    def _connect() -> smtplib.SMTP:
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 60
        smtp = smtplib.SMTP(settings.EMAIL_HOST, settings.EMAIL_PORT, timeout=timeout)
        # The final "." goes out as its own small write after the ledger commit;
        # without TCP_NODELAY, Nagle's algorithm holds it for a delayed ACK (~40 ms).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo_or_helo_if_needed()
        if settings.EMAIL_USE_TLS:
            smtp.starttls()
            smtp.ehlo()
        if settings.EMAIL_HOST_USER:
            smtp.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
        return smtp

    def __exit__(self, *exc_info) -> None:
        for smtp in getattr(self, "_pool", []) or ([self._smtp] if self._smtp else []):
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        if self._django is not None:
            self._django.close()

    def send(
        self, *, envelope_from: str, rcpt: str, data: bytes, commit: Callable[[], None]
    ) -> None:
        """Deliver one message to one recipient; call `commit` just before it becomes final.

        Over SMTP the message only exists for the server once it reads the final ".". We send
        MAIL, RCPT, DATA and the content, call `commit` (which marks the ledger row sent and
        commits), then write the "." and read the answer. A worker killed before `commit` leaves
        the row claimed and the half-sent message is dropped by the server when the socket
        closes, so the sweeper resends it; killed after, the row already says sent. The only
        gap is the microseconds between the commit and one write(). A 4xx/5xx answer after the
        commit is seen by a live worker, which re-marks the row. Raises TemporaryFailure,
        PermanentFailure or ConnectionLost.
        """
        if self._smtp is None:
            message = _RawEmail(envelope_from, rcpt, data)
            commit()
            self._django.send_messages([message])
            return
        smtp = self._smtp
        try:
            code, text = smtp.mail(envelope_from)
            if code != 250:
                smtp.rset()
                _raise_for(code, text)
            code, text = smtp.rcpt(rcpt)
            if code not in (250, 251):
                smtp.rset()
                _raise_for(code, text)
            smtp.putcmd("data")
            code, text = smtp.getreply()
            if code != 354:
                _raise_for(code, text)
            smtp.send(_smtp_data(data))
            commit()
            smtp.send(b".\r\n")
            code, text = smtp.getreply()
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc
        if code != 250:
            _raise_for(code, text)

    def send_group(
        self, items: list[tuple[str, str, bytes]], *, commit: Callable[[list[int]], None]
    ) -> list[Exception | None]:
        """Deliver several messages at once, one connection each; `commit(indexes)` once,
        just before they all become final.

        `items` are (envelope sender, recipient, bytes). Each goes over its own connection of
        this outbox (opened on first use and kept for the batch), and the conversations move
        in step: every MAIL is written before any answer is read, then every RCPT, DATA and
        body. `commit` gets the indexes the server took up to the body, and its one ledger
        write stands for all of them; then every "." goes out. So the ledger waits for one
        round trip per group instead of one per copy, and the safety is that of `send`: killed
        before `commit`, the server drops every half-sent message and the rows stay claimed;
        killed after, they say sent. Returns, per item, None (delivered) or the
        TemporaryFailure / PermanentFailure the server answered. Raises ConnectionLost.
        """
        outcome: list[Exception | None] = [None] * len(items)
        if self._smtp is None:
            for i, (envelope_from, rcpt, data) in enumerate(items):
                commit([i])
                self._django.send_messages([_RawEmail(envelope_from, rcpt, data)])
            return outcome
        try:
            while len(self._pool) < len(items):
                self._pool.append(self._connect())
            pool = self._pool[: len(items)]
            live = list(range(len(items)))

            def step(write: Callable[[int], None], expect: tuple[int, ...]) -> None:
                for i in live:
                    write(i)
                for i in list(live):
                    code, text = pool[i].getreply()
                    if code not in expect:
                        live.remove(i)
                        pool[i].rset()
                        outcome[i] = _failure(code, text)

            step(
                lambda i: pool[i].putcmd("mail", f"FROM:{smtplib.quoteaddr(items[i][0])}"),
                (250,),
            )
            step(
                lambda i: pool[i].putcmd("rcpt", f"TO:{smtplib.quoteaddr(items[i][1])}"), (250, 251)
            )
            step(lambda i: pool[i].putcmd("data"), (354,))
            for i in live:
                pool[i].send(_smtp_data(items[i][2]))
            if live:
                commit(list(live))
            for i in live:
                pool[i].send(b".\r\n")
            for i in live:
                code, text = pool[i].getreply()
                if code != 250:
                    outcome[i] = _failure(code, text)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            # Any broken connection ends the group; the batch's connections are closed.
            raise ConnectionLost(str(exc)) from exc
        return outcome


def _failure(code: int, text: bytes | str) -> Exception:
    try:
        _raise_for(code, text)
    except (TemporaryFailure, PermanentFailure) as exc:
        return exc
    return TemporaryFailure(f"{code} unexpected answer")


class _RawEmail(DjangoEmailMessage):
    """Finished bytes handed to a non-SMTP Django backend (file, locmem, console)."""

    def __init__(self, envelope_from: str, rcpt: str, data: bytes):
        super().__init__(from_email=envelope_from, to=[rcpt])
        self._data = data

    def message(self, **kwargs):
        return message_from_bytes(self._data, policy=policy.SMTP)

    def recipients(self):
        return self.to
