"""Pure checks and builders for TLS material (no database): what an upload must satisfy.

Every refusal names the problem in words a customer can act on. The system trust store is read
from `TLS_TRUST_FILE` (Debian's bundle by default); roots included in the upload also count.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from flask_babel import lazy_gettext as _l

from panel.services.errors import Invalid

DEFAULT_TRUST_FILE = "/etc/ssl/certs/ca-certificates.crt"
ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1)
MIN_RSA_BITS = 2048

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class CheckedChain:
    """A validated chain: leaf first, and the facts the panel shows about it."""

    certificates: list[x509.Certificate]
    names: list[str]
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str

    @property
    def pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.certificates)


def load_key(pem: str, field: str = "key_pem") -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise Invalid(field, _l("The private key is not an unencrypted PEM key.")) from None
    check_key_strength(key, field)
    return key  # type: ignore[return-value]


def check_key_strength(key: object, field: str) -> None:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise Invalid(field, _l("The RSA key has %(bits)d bits; at least 2048 are needed.", bits=key.key_size))
        return
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ALLOWED_CURVES):
            raise Invalid(field, _l("Only the P-256 and P-384 elliptic curves are accepted."))
        return
    raise Invalid(field, _l("Only RSA and elliptic-curve (P-256, P-384) keys are accepted."))


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.get_values_for_type(x509.DNSName)]


def covers(names: list[str], hostname: str) -> bool:
    """Whether a SAN list covers `hostname` (a wildcard stands for exactly one label)."""
    hostname = hostname.lower()
    for name in names:
        if name == hostname:
            return True
        if name.startswith("*.") and hostname.count(".") == name.count(".") and fnmatch.fnmatchcase(hostname, name):
            return True
    return False


def _public_bytes(key: object) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def _trusted_roots(trust_file: str) -> list[x509.Certificate]:
    path = Path(trust_file)
    return x509.load_pem_x509_certificates(path.read_bytes()) if path.exists() else []


def check_chain(chain_pem: str, key: PrivateKey | None, hostnames: list[str], *,
                now: dt.datetime | None = None, trust_file: str = DEFAULT_TRUST_FILE,
                field: str = "cert_pem") -> CheckedChain:
    """Validate a PEM chain (leaf first) for `hostnames`; raise Invalid naming the first problem."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        certificates = x509.load_pem_x509_certificates(chain_pem.encode())
    except ValueError:
        raise Invalid(field, _l("This is not a PEM certificate (it should start with -----BEGIN CERTIFICATE-----).")) from None
    leaf = certificates[0]
    if key is not None and _public_bytes(key.public_key()) != _public_bytes(leaf.public_key()):
        if any(_public_bytes(key.public_key()) == _public_bytes(c.public_key()) for c in certificates[1:]):
            raise Invalid(field, _l("The chain is out of order: the server's own certificate must come first."))
        raise Invalid("key_pem", _l("The private key does not belong to this certificate."))
    check_key_strength(leaf.public_key(), field)
    for certificate in certificates:
        if certificate.not_valid_before_utc > now:
            raise Invalid(field, _l("A certificate in the chain is not valid before %(date)s.",
                                    date=certificate.not_valid_before_utc.date().isoformat()))
        if certificate.not_valid_after_utc < now:
            raise Invalid(field, _l("A certificate in the chain expired on %(date)s.",
                                    date=certificate.not_valid_after_utc.date().isoformat()))
    if leaf.issuer == leaf.subject:
        _check_signed_by(leaf, leaf, field)
    for child, parent in zip(certificates, certificates[1:]):
        _check_signed_by(child, parent, field)
    names = _names(leaf)
    for hostname in hostnames:
        if not covers(names, hostname):
            raise Invalid("hostnames", _l("The certificate does not cover %(name)s (it covers: %(names)s).",
                                          name=hostname, names=", ".join(names) or "-"))
    _check_trusted(certificates, hostnames, now, trust_file, field)
    return CheckedChain(
        certificates=certificates, names=names, issuer=leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc, not_after=leaf.not_valid_after_utc,
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
    )


def _check_signed_by(child: x509.Certificate, parent: x509.Certificate, field: str) -> None:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        raise Invalid(field, _l("The chain is out of order: each certificate must be followed by its issuer.")) from None


def _check_trusted(certificates: list[x509.Certificate], hostnames: list[str], now: dt.datetime,
                   trust_file: str, field: str) -> None:
    """The chain must end at a root the server trusts, or a root included in the upload."""
    last = certificates[-1]
    included_root = last.issuer == last.subject
    if included_root and len(certificates) == 1:
        return  # a self-signed certificate is its own root; its signature was checked above
    roots = [last] if included_root else _trusted_roots(trust_file)
    if not roots:
        raise Invalid(field, _l("The chain is incomplete: add the intermediate and root certificates."))
    intermediates = certificates[1:-1] if included_root else certificates[1:]
    verifier = (x509.verification.PolicyBuilder().store(x509.verification.Store(roots)).time(now)
                .build_server_verifier(x509.verification.DNSName(hostnames[0] if hostnames else _names(certificates[0])[0])))
    try:
        verifier.verify(certificates[0], intermediates)
    except x509.verification.VerificationError:
        raise Invalid(field, _l("The chain is incomplete or not trusted: add the intermediate and root certificates.")) from None


def new_key(kind: str = "rsa") -> PrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" \
        else ec.generate_private_key(ec.SECP256R1())


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def self_signed(key: PrivateKey, names: list[str], days: int = 365) -> str:
    """A self-signed leaf for trials: clients will warn, but traffic is encrypted."""
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def csr(key: PrivateKey, names: list[str]) -> str:
    """A certificate signing request for a commercial CA."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()
