"""Server TLS: one SSLContext per certificate (TLS 1.2 minimum, modern ciphers, no compression).

The bundle's certificates come first (the first is the default); when it has none, a self-signed
certificate for the node's hostname is generated once into the data directory and reused.
Every listener hands connections the default context; its SNI callback switches each handshake
to the context whose certificate covers the name the client asked for (customers' own mail
hostnames), falling back to the node's certificate for unknown names or no name at all.
"""
from __future__ import annotations

import asyncio.sslproto
import datetime
import logging
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maild.config import Config, TlsCertificate

# Forward-secret AEAD suites only for TLS 1.2 (TLS 1.3 suites are always modern).
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"
SELF_SIGNED_DAYS = 3650
# asyncio's TLS transport preallocates a 256 KiB read buffer per connection (SSLProtocol.max_size),
# so 1,000 idle IMAP clients would hold 250 MB in buffers alone (about 106 MB in all with this).
# A TLS record is at most 16 KiB: 32 KiB reads cost no throughput.
TLS_READ_BUFFER = 32 * 1024

log = logging.getLogger(__name__)


def limit_read_buffers() -> None:
    """Cap every TLS connection's read buffer; asyncio only has a process-wide setting, so the
    daemon applies it once at start, for all its listeners (STARTTLS and implicit TLS alike)."""
    asyncio.sslproto.SSLProtocol.max_size = TLS_READ_BUFFER


def log_failed_handshake(peer: object, error: BaseException | None) -> None:
    """One INFO line for a handshake that failed or was abandoned (`error` None: the peer hung up).

    Scanners and outdated clients cause these all day on every TLS port: they are the client's
    failure, so no traceback and nothing above INFO. `peer` is the transport's `peername`.
    """
    address = peer[0] if isinstance(peer, tuple) and peer else peer
    if error is None:
        reason = "connection closed"
    elif isinstance(error, ssl.SSLError) and error.reason:
        reason = error.reason  # e.g. UNSUPPORTED_PROTOCOL, WRONG_VERSION_NUMBER, HTTP_REQUEST
    else:
        reason = str(error) or type(error).__name__
    log.info("TLS handshake failed from %s: %s", address, reason)


def covers(names: tuple[str, ...], hostname: str) -> bool:
    """Whether certificate `names` cover `hostname`; a wildcard stands for exactly one label."""
    hostname = hostname.lower().rstrip(".")
    for name in names:
        name = name.lower()
        if name == hostname:
            return True
        if name.startswith("*.") and "." in hostname and hostname.split(".", 1)[1] == name[2:]:
            return True
    return False


@dataclass(frozen=True)
class ServerTls:
    """The contexts built from one Config; `default` serves clients that give no known name."""

    contexts: tuple[tuple[TlsCertificate, ssl.SSLContext], ...]

    def __post_init__(self) -> None:
        self.default.sni_callback = self._choose

    @property
    def default(self) -> ssl.SSLContext:
        return self.contexts[0][1]

    def for_name(self, hostname: str | None) -> ssl.SSLContext:
        """The context whose certificate covers `hostname` (exact names before wildcards)."""
        if hostname:
            for exact in (True, False):
                for certificate, context in self.contexts:
                    names = tuple(n for n in certificate.names if n.startswith("*.") != exact)
                    if covers(names, hostname):
                        return context
        return self.default

    def _choose(self, connection: ssl.SSLObject | ssl.SSLSocket, hostname: str | None,
                _context: ssl.SSLContext) -> None:
        chosen = self.for_name(hostname)
        if chosen is not self.default:
            connection.context = chosen


def server_context(certificate: TlsCertificate) -> ssl.SSLContext:
    """A server context for one certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    # ssl loads keys only from files: a private temporary file, removed straight after.
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=True) as pem:
        os.chmod(pem.name, 0o600)
        pem.write(certificate.key_pem.strip() + "\n" + certificate.cert_pem.strip() + "\n")
        pem.flush()
        context.load_cert_chain(pem.name)
    return context


def self_signed(data_dir: Path, hostname: str) -> TlsCertificate:
    """The node's self-signed certificate, generated into `data_dir/tls` on first use."""
    tls_dir = data_dir / "tls"
    cert_path, key_path = tls_dir / "self-signed.crt", tls_dir / "self-signed.key"
    if cert_path.exists() and key_path.exists():
        return TlsCertificate((hostname,), cert_path.read_text(), key_path.read_text())
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert_pem)
    return TlsCertificate((hostname,), cert_pem, key_pem)


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by the owner only, atomically (a crash never leaves half a key)."""
    partial = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def server_tls(config: Config, data_dir: Path) -> ServerTls:
    """Contexts for the bundle's certificates, or for the generated self-signed one."""
    certificates = config.server.tls or (self_signed(data_dir, config.server.hostname),)
    return ServerTls(tuple((certificate, server_context(certificate)) for certificate in certificates))


class TlsCache:
    """Contexts for the running Config, rebuilt only when its certificates or hostname change."""

    def __init__(self) -> None:
        self._key: tuple[tuple[TlsCertificate, ...], str] | None = None
        self._tls: ServerTls | None = None

    def get(self, config: Config, data_dir: Path) -> ServerTls:
        key = (config.server.tls, config.server.hostname)
        if self._tls is None or key != self._key:
            self._tls, self._key = server_tls(config, data_dir), key
        return self._tls
