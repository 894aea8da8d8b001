"""A throwaway PKI for tests: root CA -> intermediate -> leaf, built with `cryptography`."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.timezone.utc)


def pem(obj: x509.Certificate) -> str:
    return obj.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key) -> str:  # type: ignore[no-untyped-def]
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def issue(subject: str, key, issuer_cert: x509.Certificate | None, issuer_key, *,  # type: ignore[no-untyped-def]
          ca: bool, names: list[str] | None = None, not_before: dt.datetime | None = None,
          not_after: dt.datetime | None = None) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder().subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert else name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - dt.timedelta(days=1))
        .not_valid_after(not_after or NOW + dt.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names or []]),
                                        critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    root: x509.Certificate
    root_key: object
    intermediate: x509.Certificate
    intermediate_key: object

    @classmethod
    def create(cls) -> Pki:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = issue("Test Root", root_key, None, root_key, ca=True)
        intermediate_key = ec.generate_private_key(ec.SECP256R1())
        intermediate = issue("Test Intermediate", intermediate_key, root, root_key, ca=True)
        return cls(root, root_key, intermediate, intermediate_key)

    def leaf(self, names: list[str], key=None, **validity) -> tuple[x509.Certificate, object]:  # type: ignore[no-untyped-def]
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return issue(names[0], key, self.intermediate, self.intermediate_key, ca=False, names=names,
                     **validity), key
