"""Failed TLS handshakes on every listener: one INFO line each in maild's log, no traceback, and
the daemon serves the next client as usual.

Regression: a TLS 1.1 client on the SMTPS port logged aiosmtpd's AssertionError from
`SMTP.connection_lost` ("Exception in callback"), and one on the IMAPS port "Task exception was
never retrieved"; internet scanners would fill the log with them.
"""
from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.maild.support import HOST, MaildProcess, insecure_context, mailbox, node_config

USER = "bob@example.test"
PASSWORD = "correct horse"
TIMEOUT = 20.0
IMPLICIT = ("submissions", "imaps", "pop3s")
# The plaintext dialogue up to the server's go-ahead for TLS: (what to send, reply line to wait for).
SMTP_STARTTLS = ((b"", b"220 "), (b"EHLO scanner.test\r\n", b"250 "), (b"STARTTLS\r\n", b"220 "))
STARTTLS: dict[str, tuple[tuple[bytes, bytes], ...]] = {
    "mx": SMTP_STARTTLS,
    "submission": SMTP_STARTTLS,
    "imap": ((b"", b"* OK"), (b"a STARTTLS\r\n", b"a OK")),
    "pop3": ((b"", b"+OK"), (b"STLS\r\n", b"+OK")),
}
CLIENT = "127.0.0.2"  # another loopback address: these lines are told apart from the start-up probes
HANDSHAKE_FAILED = f"TLS handshake failed from {CLIENT}"


@pytest.fixture
def maild(tmp_path: Path) -> Iterator[MaildProcess]:
    """`python -m maild` with every listener kind, logging to a file as in production."""
    config = node_config(mailboxes=[mailbox(USER, PASSWORD)], kinds=())
    with MaildProcess(config, tmp_path, kinds=(*IMPLICIT, *STARTTLS)) as process:
        yield process


def connect(maild: MaildProcess, kind: str) -> socket.socket:
    """A connection to `kind` at the point where the server waits for the client's TLS ClientHello."""
    sock = socket.create_connection((HOST, maild.ports[kind]), timeout=TIMEOUT, source_address=(CLIENT, 0))
    if kind in STARTTLS:
        with sock.makefile("rb") as replies:
            for command, awaited in STARTTLS[kind]:
                sock.sendall(command)
                line = replies.readline()
                while not line.startswith(awaited):
                    assert line, f"{kind} hung up before {awaited!r}"
                    line = replies.readline()
    return sock


def send_garbage(sock: socket.socket) -> None:
    """Plain text where a ClientHello belongs (an HTTP scanner); the server hangs up."""
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert sock.recv(4096) == b""


def offer_tls_1_1(sock: socket.socket) -> None:
    """A real ClientHello for TLS 1.1 at most: maild requires 1.2, so the handshake fails."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the point is an outdated client
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL 3 send a TLS 1.1 hello at all
    with pytest.raises(OSError):  # the server's protocol_version alert, or a reset
        context.wrap_socket(sock).close()


def hang_up(sock: socket.socket) -> None:
    """The client closes where its ClientHello should come (a port scan)."""


ATTEMPTS: dict[str, Callable[[socket.socket], None]] = {
    "garbage": send_garbage, "tls-1.1": offer_tls_1_1, "hang-up": hang_up,
}


def log_after_stop(maild: MaildProcess) -> str:
    """maild's whole log once it has stopped, so nothing it handled is missing from it."""
    assert maild.stop() == 0
    return maild.log_path.read_text()


def log_in_everywhere(maild: MaildProcess) -> None:
    """Ordinary TLS clients log in on every listener (MX: EHLO after STARTTLS)."""
    context = insecure_context()
    with smtplib.SMTP_SSL(HOST, maild.ports["submissions"], timeout=TIMEOUT, context=context) as smtp:
        smtp.login(USER, PASSWORD)
    for kind in ("mx", "submission"):
        with smtplib.SMTP(HOST, maild.ports[kind], timeout=TIMEOUT) as smtp:
            smtp.starttls(context=context)
            assert smtp.ehlo()[0] == 250
            if kind == "submission":
                smtp.login(USER, PASSWORD)
    imaps = imaplib.IMAP4_SSL(HOST, maild.ports["imaps"], ssl_context=context, timeout=TIMEOUT)
    assert imaps.login(USER, PASSWORD)[0] == "OK"
    imaps.logout()
    imap = imaplib.IMAP4(HOST, maild.ports["imap"], timeout=TIMEOUT)
    imap.starttls(ssl_context=context)
    assert imap.login(USER, PASSWORD)[0] == "OK"
    imap.logout()
    pop3s = poplib.POP3_SSL(HOST, maild.ports["pop3s"], timeout=TIMEOUT, context=context)
    pop3s.user(USER)
    assert pop3s.pass_(PASSWORD).startswith(b"+OK")
    pop3s.quit()
    pop3 = poplib.POP3(HOST, maild.ports["pop3"], timeout=TIMEOUT)
    pop3.stls(context)
    pop3.user(USER)
    assert pop3.pass_(PASSWORD).startswith(b"+OK")
    pop3.quit()


def test_failed_tls_handshakes_log_one_info_line_each_and_maild_serves_on(maild: MaildProcess) -> None:
    kinds = (*IMPLICIT, *STARTTLS)
    for kind in kinds:
        for attempt in ATTEMPTS.values():
            with connect(maild, kind) as sock:
                attempt(sock)
    log_in_everywhere(maild)
    log = log_after_stop(maild)
    for bad in ("Traceback", "Exception in callback", "never retrieved", " ERROR ", " WARNING "):
        assert bad not in log
    failures = [line for line in log.splitlines() if HANDSHAKE_FAILED in line]
    assert len(failures) == len(kinds) * len(ATTEMPTS)
    assert all(" INFO maild.tls: " in line for line in failures)
    assert sum("UNSUPPORTED_PROTOCOL" in line for line in failures) == len(kinds)
