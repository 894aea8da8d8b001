"""SNI on every TLS listener, as `openssl s_client` sees it, and renewal picked up on reload."""
from __future__ import annotations

import dataclasses
import imaplib
import re
import socket
import ssl
import subprocess

import pytest

from maild.config import TlsCertificate
from tests.maild.support import node_config, running_daemon
from tests.pki import Pki, key_pem, pem

NODE, ALPHA, BETA = "mx.tegami.test", "mail.alpha.example", "mail.beta.example"
# listener kind -> openssl s_client arguments that reach TLS on it
LISTENERS = {
    "mx": ["-starttls", "smtp"], "submission": ["-starttls", "smtp"], "submissions": [],
    "imap": ["-starttls", "imap"], "imaps": [], "pop3": ["-starttls", "pop3"], "pop3s": [],
}


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


def certificate(pki: Pki, *names: str) -> TlsCertificate:
    leaf, key = pki.leaf(list(names))
    return TlsCertificate(names, pem(leaf) + pem(pki.intermediate), key_pem(key))


def served_name(port: int, servername: str, extra: list[str]) -> str:
    """The subject CN of the certificate the listener presents for `servername`."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", servername, *extra],
        input=b"", capture_output=True, timeout=30)
    match = re.search(rb"subject=\s*CN\s*=\s*(\S+)", result.stdout)
    assert match, result.stdout.decode(errors="replace")[-2000:]
    return match.group(1).decode()


def test_each_listener_serves_the_certificate_for_the_asked_name(pki, tmp_path):
    tls = (certificate(pki, NODE), certificate(pki, ALPHA), certificate(pki, BETA, "*.beta.example"))
    config = node_config(kinds=tuple(LISTENERS), hostname=NODE, tls=tls)
    with running_daemon(config, tmp_path) as maild:
        for kind, extra in LISTENERS.items():
            port = maild.port(kind)
            assert served_name(port, ALPHA, extra) == ALPHA, kind
            assert served_name(port, "imap.beta.example", extra) == BETA, kind
            assert served_name(port, "unknown.example", extra) == NODE, kind


def test_renewed_certificate_is_served_after_reload_and_open_connections_carry_on(pki, tmp_path):
    config = node_config(kinds=("imaps",), hostname=ALPHA, tls=(certificate(pki, ALPHA),))
    context = ssl.create_default_context(cadata=pem(pki.root))
    context.check_hostname = False  # connecting to 127.0.0.1; the chain is still verified
    with running_daemon(config, tmp_path) as maild:
        port = maild.port("imaps")
        open_session = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context)
        first = open_session.sock.getpeercert(binary_form=True)
        renewed = dataclasses.replace(config.server, tls=(certificate(pki, ALPHA),))
        maild.swap(dataclasses.replace(config, serial=config.serial + 1, server=renewed))
        fresh = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context)
        assert fresh.sock.getpeercert(binary_form=True) != first
        assert open_session.noop()[0] == "OK"  # the open connection is unaffected
        fresh.logout()
        open_session.logout()


@pytest.mark.parametrize(("kind", "greeting", "prelude", "starttls", "injected"), [
    ("mx", b"220", b"EHLO client.example\r\n", b"STARTTLS\r\n", b"RSET\r\n"),
    ("submission", b"220", b"EHLO client.example\r\n", b"STARTTLS\r\n", b"RSET\r\n"),
    ("imap", b"* OK", b"", b"a1 STARTTLS\r\n", b"a2 NOOP\r\n"),
    ("pop3", b"+OK", b"", b"STLS\r\n", b"NOOP\r\n"),
])
def test_plaintext_pipelined_after_starttls_is_never_executed(pki, tmp_path, kind, greeting, prelude,
                                                               starttls, injected):
    """STARTTLS command injection (CVE-2011-0411 and kin): bytes sent in clear after the
    STARTTLS command must not be answered inside the TLS session."""
    config = node_config(kinds=(kind,), hostname=NODE, tls=(certificate(pki, NODE),))
    with running_daemon(config, tmp_path) as maild, socket.create_connection(("127.0.0.1", maild.port(kind)), timeout=10) as raw:
        assert raw.recv(4096).startswith(greeting)
        if prelude:
            raw.sendall(prelude)
            _read_reply(raw)
        raw.sendall(starttls + injected)  # one segment: the injection attempt
        _read_reply(raw)  # the STARTTLS answer: go-ahead, or a refusal of the pipelined command
        context = ssl.create_default_context(cadata=pem(pki.root))
        context.check_hostname = False
        try:
            with context.wrap_socket(raw, server_hostname=NODE) as tls:
                tls.settimeout(1.5)
                try:
                    answered = tls.recv(4096)
                except (TimeoutError, ssl.SSLError, ConnectionError):
                    answered = b""
        except (ssl.SSLError, ConnectionError):
            answered = b""  # refusing the handshake is also a safe answer
    assert answered == b"", f"{kind} answered injected plaintext inside TLS: {answered!r}"


def _read_reply(sock: socket.socket) -> bytes:
    """One complete reply: SMTP multiline until 'NNN ', else one line."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) > 1 and (not lines[-2][:3].isdigit() or lines[-2][3:4] == b" "):
            return data
