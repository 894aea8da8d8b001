"""TLS on the SMTP listeners: modern protocol versions only, the bundle's or a self-signed certificate."""
from __future__ import annotations

import socket
import ssl
from dataclasses import replace
from pathlib import Path

from cryptography import x509

from maild.tls import self_signed, server_context
from tests.maild.support import insecure_context, mailbox, node_config, running_daemon


def served_certificate(port: int, context: ssl.SSLContext) -> tuple[x509.Certificate, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with context.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            return x509.load_der_x509_certificate(der), tls.version() or ""


def test_self_signed_certificate_is_generated_once_and_reused(tmp_path: Path) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], kinds=("submissions",))
    with running_daemon(config, tmp_path) as maild:
        first, version = served_certificate(maild.port("submissions"), insecure_context())
    assert version in ("TLSv1.2", "TLSv1.3")
    assert first.subject.rfc4514_string() == "CN=mx.tegami.test"
    assert (tmp_path / "data" / "tls" / "self-signed.key").stat().st_mode & 0o077 == 0
    with running_daemon(config, tmp_path) as maild:
        again, _ = served_certificate(maild.port("submissions"), insecure_context())
    assert again.fingerprint(again.signature_hash_algorithm) == first.fingerprint(first.signature_hash_algorithm)


def test_bundle_certificate_is_served(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path / "elsewhere", "mail.bundle.test")
    config = node_config(mailboxes=[mailbox("bob@example.test")], kinds=("submissions",), tls=(certificate,))
    with running_daemon(config, tmp_path) as maild:
        served, _ = served_certificate(maild.port("submissions"), insecure_context())
    assert served.subject.rfc4514_string() == "CN=mail.bundle.test"


def test_contexts_allow_tls_1_2_and_up_with_forward_secret_aead_ciphers_only(tmp_path: Path) -> None:
    context = server_context(self_signed(tmp_path, "mx.tegami.test"))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.options & ssl.OP_NO_COMPRESSION
    tls12 = [cipher for cipher in context.get_ciphers() if cipher["protocol"] == "TLSv1.2"]
    assert tls12 and all(cipher["aead"] and cipher["kea"] in ("kx-ecdhe", "kx-dhe") for cipher in tls12)


def test_implicit_tls_serves_a_reloaded_certificate_to_new_connections(tmp_path: Path) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], kinds=("submissions",))
    renewed = self_signed(tmp_path / "renewed", "renewed.tegami.test")
    with running_daemon(config, tmp_path) as maild:
        before, _ = served_certificate(maild.port("submissions"), insecure_context())
        maild.swap(replace(config, serial=2, server=replace(config.server, tls=(renewed,))))
        after, _ = served_certificate(maild.port("submissions"), insecure_context())
    assert before.subject.rfc4514_string() == "CN=mx.tegami.test"
    assert after.subject.rfc4514_string() == "CN=renewed.tegami.test"


def test_failed_handshake_leaves_the_listener_serving(tmp_path: Path) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], kinds=("submissions",))
    with running_daemon(config, tmp_path) as maild:
        with socket.create_connection(("127.0.0.1", maild.port("submissions")), timeout=20) as raw:
            raw.sendall(b"EHLO not-tls\r\n")
            assert not raw.recv(4096).startswith(b"220")  # a TLS alert or EOF: never plaintext SMTP
        served, _ = served_certificate(maild.port("submissions"), insecure_context())
    assert served.subject.rfc4514_string() == "CN=mx.tegami.test"
