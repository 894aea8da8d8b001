"""One outbound SMTP delivery (smtplib; blocking, so the worker runs it in a thread).

Hops are tried in order until one takes the transaction: a refused or dropped connection, a
greeting or EHLO that is not 2xx, or a 4xx to MAIL FROM moves on to the next hop. Once a server
has answered MAIL FROM, its replies are final for this attempt: each RCPT reply decides its
recipient, and the reply to the end of DATA decides all accepted ones.

STARTTLS is used whenever the server offers it, opportunistically (RFC 7435: encrypted but not
authenticated, as Postfix's `may` level); if the TLS handshake fails, the same hop is retried in
plain text rather than leaving the mail stuck.
"""
from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl

import dns.exception
import dns.name

from maild.queue.outcome import CONNECTION_LOST, NO_ANSWER, SMTPUTF8_REQUIRED, Outcome
from maild.queue.routing import Hop

log = logging.getLogger("maild.queue")


CONNECT_TIMEOUT = 30.0  # seconds for the TCP connection and the greeting (Postfix: smtp_connect_timeout)


def _opportunistic_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


TLS = _opportunistic_tls()


class _NextHop(Exception):
    """This hop cannot take the transaction now; `outcome` says why."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.diagnostic)
        self.outcome = outcome


class _TlsFailed(Exception):
    """The STARTTLS handshake failed: retry this hop without TLS."""


def crlf(data: bytes) -> bytes:
    """Line ends as SMTP wants them (a bare LF becomes CRLF)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def deliver(hops: list[Hop], helo: str, sender: str, recipients: list[str], data: bytes,
            timeout: float) -> dict[str, Outcome]:
    """Send `data` to `recipients` through the first hop that takes it: an outcome per recipient."""
    failures: list[Outcome] = []
    for hop in hops:
        try:
            try:
                return _session(hop, helo, sender, recipients, data, timeout, starttls=True)
            except _TlsFailed:
                return _session(hop, helo, sender, recipients, data, timeout, starttls=False)
        except _NextHop as skip:
            log.info("queue: %s: %s", hop, skip.outcome.diagnostic)
            failures.append(skip.outcome)
    # Every hop refused the session: temporary if any hop might take it later.
    temporary = [outcome for outcome in failures if not outcome.permanent]
    outcome = (temporary or failures)[-1]
    return {recipient: outcome for recipient in recipients}


def _session(hop: Hop, helo: str, sender: str, recipients: list[str], data: bytes, timeout: float,
             *, starttls: bool) -> dict[str, Outcome]:
    try:
        client = smtplib.SMTP(hop.address, hop.port, local_hostname=helo,
                              timeout=min(timeout, CONNECT_TIMEOUT))
    except smtplib.SMTPConnectError as refused:  # a greeting other than 220
        raise _NextHop(Outcome.from_reply(refused.smtp_code, refused.smtp_error, hop.name)) from None
    except OSError as error:  # refused, timed out, unreachable
        raise _NextHop(Outcome(NO_ANSWER, f"connect to {hop}: {error}", hop.name)) from None
    assert client.sock is not None
    client.sock.settimeout(timeout)  # the longer limit for commands and DATA from here on
    try:
        _greet(client, hop, starttls)
        return _transaction(client, hop, sender, recipients, data)
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):  # the outcome is already known
            client.quit()
        client.close()


def _greet(client: smtplib.SMTP, hop: Hop, starttls: bool) -> None:
    """EHLO (HELO for old servers) and STARTTLS when offered; _NextHop when this hop will not do."""
    try:
        code, text = client.ehlo()
        if code != 250:
            code, text = client.helo()
            if code != 250:
                raise _NextHop(Outcome.from_reply(code, text, hop.name))
        if starttls and client.has_extn("starttls"):
            try:
                code, text = client.starttls(context=TLS)
                if code == 220:
                    client.ehlo()
            except OSError as error:  # ssl.SSLError, or the server dropping us mid-handshake
                log.warning("queue: %s: TLS failed (%s), retrying in plain text", hop, error)
                raise _TlsFailed from error
    except OSError as error:  # dropped or timed out; smtplib's errors are OSErrors too
        raise _NextHop(Outcome(NO_ANSWER, f"conversation with {hop} failed: {error}", hop.name)) from None


def _mail_options(client: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> list[str]:
    """SIZE, BODY=8BITMIME and SMTPUTF8 as the message needs and the server offers."""
    options = [f"SIZE={len(data)}"] if client.has_extn("size") else []
    if not data.isascii() and client.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    if not all(address.isascii() for address in (sender, *recipients)):
        options.append("SMTPUTF8")
    return options


def wire_address(address: str) -> str:
    """`address` with an internationalised domain as A-labels (例え.jp -> xn--r8jz45g.jp), so that
    only a non-ASCII local part needs a server offering SMTPUTF8."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{dns.name.from_text(domain).to_text(omit_final_dot=True)}"
    except (dns.exception.DNSException, UnicodeError):
        return address  # not a valid IDN: sent as it is, which needs SMTPUTF8


def _transaction(client: smtplib.SMTP, hop: Hop, sender: str, recipients: list[str],
                 data: bytes) -> dict[str, Outcome]:
    sender = wire_address(sender)
    wire = {recipient: wire_address(recipient) for recipient in recipients}
    options = _mail_options(client, sender, list(wire.values()), data)
    if "SMTPUTF8" in options and not client.has_extn("smtputf8"):
        refusal = Outcome(SMTPUTF8_REQUIRED, f"{hop.name} does not support SMTPUTF8 addresses", hop.name)
        return {recipient: refusal for recipient in recipients}
    results: dict[str, Outcome] = {}
    try:
        code, text = client.mail(sender, options)
        if code // 100 == 4:
            raise _NextHop(Outcome.from_reply(code, text, hop.name))
        if code != 250:
            refusal = Outcome.from_reply(code, text, hop.name)
            return {recipient: refusal for recipient in recipients}
        accepted = []
        for recipient in recipients:
            code, text = client.rcpt(wire[recipient])
            results[recipient] = Outcome.from_reply(code, text, hop.name)
            if code in (250, 251):
                accepted.append(recipient)
        if not accepted:
            return results
        try:
            code, text = client.data(crlf(data))
            final = Outcome.from_reply(code, text, hop.name)
        except smtplib.SMTPDataError as refused:  # DATA itself refused (not 354)
            final = Outcome.from_reply(refused.smtp_code, refused.smtp_error, hop.name)
        results.update((recipient, final) for recipient in accepted)
        return results
    except OSError as error:  # dropped mid-transaction: nothing was delivered
        lost = Outcome(CONNECTION_LOST, f"lost connection with {hop}: {error}", hop.name)
        return {recipient: _keep_refusal(results.get(recipient), lost) for recipient in recipients}


def _keep_refusal(outcome: Outcome | None, lost: Outcome) -> Outcome:
    """A permanent RCPT refusal stands even if the connection drops later; anything else is lost."""
    return outcome if outcome is not None and outcome.permanent else lost
