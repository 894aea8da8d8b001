"""DKIM keys per domain, rotated without a gap in signing.

A new key starts `pending`: its record is shown for the owner to publish. Signing switches to it
only once DNS serves that record (checked through the panel's resolver); the key it replaces
becomes `retired` and stays published, so mail signed with it still verifies while in transit,
until an admin or the owner deletes it. Selectors are `tg<yyyymm><n>`, unique per domain.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from panel.extensions import db
from panel.models import Customer, DkimKey, DkimState, Domain
from panel.services import audit, secrets
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.dns_records import not_published_message
from panel.services.domains import STAFF
from panel.services.errors import Invalid, NotFound
from panel.services.resolver import Answer, Resolver, resolver
from panel.services.transaction import lock, unit_of_work

ALGORITHMS = ("rsa-sha256", "ed25519-sha256")
RSA_BITS = 2048


def record_name(domain_name: str, selector: str) -> str:
    return f"{selector}._domainkey.{domain_name}"


def _tags(text: str) -> dict[str, str]:
    """A DKIM key record's tags (RFC 6376 3.6.1), whitespace inside values removed."""
    tags = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip()] = "".join(value.split())
    return tags


def record_matches(key: DkimKey, text: str) -> bool:
    """Whether a published TXT record carries exactly this key."""
    tags = _tags(text)
    return tags.get("p") == key.public_key and tags.get("k", "rsa") == key.key_type


def published_answer(lookup: Resolver, domain_name: str, key: DkimKey) -> tuple[Answer, bool]:
    """What DNS serves at the key's name, and whether one of those records is this key."""
    answer = lookup.lookup(record_name(domain_name, key.selector), "TXT")
    return answer, any(record_matches(key, text) for text in answer.texts)


def _key_pair(algorithm: str) -> tuple[str, str]:
    """(private key PKCS#8 PEM, public key as the record's p= value)."""
    private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if algorithm == "rsa-sha256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem.decode("ascii"), base64.b64encode(public).decode("ascii")


def _next_selector(domain_id: int, now: datetime) -> str:
    prefix = f"tg{now:%Y%m}"
    taken = set(db.session.scalars(
        select(DkimKey.selector).where(DkimKey.domain_id == domain_id, DkimKey.selector.startswith(prefix))))
    number = len(taken) + 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def private_key_pem(key: DkimKey) -> str:
    """The clear private key, for the bundle writer only."""
    return secrets.decrypt(key.private_key_encrypted, "storage")


def visible_key(actor: Actor, key_id: int) -> DkimKey:
    """The key if the actor may see its domain; NotFound otherwise."""
    key = db.session.get(DkimKey, key_id)
    if key is None:
        raise NotFound(_l("Not found."))
    get_visible(actor, Domain, key.domain_id)
    return key


def domain_keys(domain_id: int) -> list[DkimKey]:
    """The domain's keys, newest first."""
    return list(db.session.scalars(select(DkimKey).where(DkimKey.domain_id == domain_id)
                                   .order_by(DkimKey.created_at.desc(), DkimKey.id.desc())))


def create_key(actor: Actor, domain_id: int, algorithm: str = "rsa-sha256") -> DkimKey:
    """Generate a pending key for the owner to publish; one pending key at a time."""
    require_role(actor, *STAFF)
    if algorithm not in ALGORITHMS:
        raise Invalid("algorithm", _l("Choose RSA or Ed25519."))
    get_visible(actor, Domain, domain_id)
    private_pem, public = _key_pair(algorithm)  # slow for RSA: before any lock is taken
    with unit_of_work():
        domain = get_visible(actor, Domain, domain_id)
        lock(Customer, domain.customer_id)
        if db.session.scalar(select(func.count(DkimKey.id)).where(
                DkimKey.domain_id == domain.id, DkimKey.state == DkimState.PENDING)):
            raise Invalid("algorithm", _l("A new key is already waiting to be published: switch to it or delete it first."))
        key = DkimKey(domain_id=domain.id, selector=_next_selector(domain.id, datetime.now(timezone.utc)),
                      algorithm=algorithm, private_key_encrypted=secrets.encrypt(private_pem, "storage"),
                      public_key=public, state=DkimState.PENDING)
        db.session.add(key)
        audit.record(actor, "dkim.create", key, customer_id=domain.customer_id, domain=domain.name,
                     selector=key.selector, algorithm=algorithm)
    return key


def _locked_key(actor: Actor, key_id: int) -> tuple[DkimKey, Domain]:
    """The key, re-read after locking its customer: state changes of one domain's keys queue up."""
    key = visible_key(actor, key_id)
    domain = db.session.get_one(Domain, key.domain_id)
    lock(Customer, domain.customer_id)
    db.session.refresh(key)
    return key, domain


def _require_pending(key: DkimKey) -> None:
    if key.state is not DkimState.PENDING:
        raise Invalid(None, _l("Only a new key can be switched to."))


def activate_key(actor: Actor, key_id: int) -> DkimKey:
    """Sign with a pending key from now on, once DNS serves its record; the active key retires."""
    require_role(actor, *STAFF)
    key = visible_key(actor, key_id)
    _require_pending(key)
    domain_name = db.session.get_one(Domain, key.domain_id).name
    answer, matches = published_answer(resolver(), domain_name, key)
    if not matches:
        raise Invalid(None, not_published_message(answer, record_name(domain_name, key.selector)))
    with unit_of_work():
        key, domain = _locked_key(actor, key_id)
        _require_pending(key)
        now = datetime.now(timezone.utc)
        db.session.execute(update(DkimKey).where(DkimKey.domain_id == domain.id, DkimKey.state == DkimState.ACTIVE)
                           .values(state=DkimState.RETIRED, retired_at=now))
        key.state, key.activated_at = DkimState.ACTIVE, now
        audit.record(actor, "dkim.activate", key, customer_id=domain.customer_id, domain=domain.name,
                     selector=key.selector)
    return key


def delete_key(actor: Actor, key_id: int) -> None:
    """Remove a retired (or never used) key; the signing key cannot go."""
    require_role(actor, *STAFF)
    with unit_of_work():
        key, domain = _locked_key(actor, key_id)
        if key.state is DkimState.ACTIVE:
            raise Invalid(None, _l("This key signs the domain's mail: switch to a new key before deleting it."))
        audit.record(actor, "dkim.delete", key, customer_id=domain.customer_id, domain=domain.name,
                     selector=key.selector, state=key.state.value)
        db.session.delete(key)
