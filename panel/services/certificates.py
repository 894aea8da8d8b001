"""TLS certificates: upload, self-signed, CSR; the provider's for node hostnames, a customer's
for mail hostnames under its own domains."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from panel.extensions import db
from panel.models import Certificate, CertificateSource, Customer, Domain, Role
from panel.services import audit, certificate_checks as checks, secrets, validation
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid
from panel.services.transaction import unit_of_work

STAFF = (Role.ADMIN, Role.RESELLER, Role.CUSTOMER)
MAX_NAMES = 50


def certificate_owner(actor: Actor, customer_id: int | None) -> int | None:
    """Customers own their certificates; admins choose (None: the provider's own)."""
    if actor.role is Role.CUSTOMER:
        return actor.customer_id
    if customer_id is not None:
        return get_visible(actor, Customer, customer_id).id
    require_role(actor, Role.ADMIN)
    return None


def check_hostnames(owner: int | None, hostnames: list[str]) -> list[str]:
    """Validated host names; a customer's must lie in one of its domains."""
    cleaned = []
    for raw in hostnames:
        if raw.strip():
            name = validation.domain_name(raw.strip().removeprefix("*."), "hostnames")
            cleaned.append(("*." if raw.strip().startswith("*.") else "") + name)
    if not cleaned:
        raise Invalid("hostnames", _l("Enter at least one host name."))
    if len(cleaned) > MAX_NAMES:
        raise Invalid("hostnames", _l("At most %(n)d host names.", n=MAX_NAMES))
    if owner is not None:
        domains = set(db.session.scalars(select(Domain.name).where(Domain.customer_id == owner)))
        for name in cleaned:
            bare = name.removeprefix("*.")
            if not any(bare == d or bare.endswith("." + d) for d in domains):
                raise Invalid("hostnames", _l("%(name)s is not in one of your domains.", name=name))
    return list(dict.fromkeys(cleaned))


def _store(actor: Actor, owner: int | None, source: CertificateSource, key: checks.PrivateKey,
           hostnames: list[str], chain: checks.CheckedChain | None = None, csr_pem: str | None = None) -> Certificate:
    certificate = Certificate(
        customer_id=owner, source=source, hostnames=hostnames, csr_pem=csr_pem,
        key_encrypted=secrets.encrypt(checks.key_pem(key), "storage"),
    )
    if chain is not None:
        apply_chain(certificate, chain)
    else:
        certificate.names = list(hostnames)
    db.session.add(certificate)
    audit.record(actor, f"certificate.{source.value}", certificate, customer_id=owner, hostnames=hostnames,
                 fingerprint=certificate.fingerprint)
    return certificate


def apply_chain(certificate: Certificate, chain: checks.CheckedChain) -> None:
    certificate.cert_pem = chain.pem
    certificate.names = chain.names
    certificate.issuer = chain.issuer
    certificate.not_before = chain.not_before
    certificate.not_after = chain.not_after
    certificate.fingerprint = chain.fingerprint
    certificate.last_error = None


def verify_chain(chain_pem: str, key: checks.PrivateKey, hostnames: list[str]) -> checks.CheckedChain:
    return checks.check_chain(chain_pem, key, hostnames, trust_file=current_app.config["TLS_TRUST_FILE"])


def upload_certificate(actor: Actor, cert_pem: str, key_pem: str, hostnames: list[str],
                       customer_id: int | None = None) -> Certificate:
    """Accept a chain and key only if every check passes; nothing is stored otherwise."""
    require_role(actor, *STAFF)
    with unit_of_work():
        owner = certificate_owner(actor, customer_id)
        names = check_hostnames(owner, hostnames)
        key = checks.load_key(key_pem)
        chain = verify_chain(cert_pem, key, names)
        return _store(actor, owner, CertificateSource.UPLOAD, key, names, chain)


def create_self_signed(actor: Actor, hostnames: list[str], customer_id: int | None = None,
                       key_type: str = "rsa") -> Certificate:
    require_role(actor, *STAFF)
    with unit_of_work():
        owner = certificate_owner(actor, customer_id)
        names = check_hostnames(owner, hostnames)
        key = checks.new_key(key_type)
        chain = verify_chain(checks.self_signed(key, names), key, names)
        return _store(actor, owner, CertificateSource.SELF_SIGNED, key, names, chain)


def create_csr(actor: Actor, hostnames: list[str], customer_id: int | None = None,
               key_type: str = "rsa") -> Certificate:
    """A new key and its CSR; the certificate the CA returns is added with `complete_csr`."""
    require_role(actor, *STAFF)
    with unit_of_work():
        owner = certificate_owner(actor, customer_id)
        names = check_hostnames(owner, hostnames)
        key = checks.new_key(key_type)
        return _store(actor, owner, CertificateSource.CSR, key, names, csr_pem=checks.csr(key, names))


def complete_csr(actor: Actor, certificate_id: int, cert_pem: str) -> Certificate:
    require_role(actor, *STAFF)
    with unit_of_work():
        certificate = get_visible(actor, Certificate, certificate_id)
        if certificate.csr_pem is None:
            raise Invalid("cert_pem", _l("This certificate was not created from a signing request."))
        key = checks.load_key(private_key_pem(certificate))
        apply_chain(certificate, verify_chain(cert_pem, key, certificate.hostnames))
        audit.record(actor, "certificate.complete", certificate, customer_id=certificate.customer_id,
                     fingerprint=certificate.fingerprint)
        return certificate


def delete_certificate(actor: Actor, certificate_id: int) -> None:
    require_role(actor, *STAFF)
    with unit_of_work():
        certificate = get_visible(actor, Certificate, certificate_id)
        audit.record(actor, "certificate.delete", certificate, customer_id=certificate.customer_id,
                     hostnames=certificate.hostnames)
        db.session.delete(certificate)


def private_key_pem(certificate: Certificate) -> str:
    """The clear key, for the bundle writer and renewal only; never shown to a user."""
    return secrets.decrypt(certificate.key_encrypted, "storage")
