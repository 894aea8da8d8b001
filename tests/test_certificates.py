"""Certificate upload validation, self-signed certificates and CSRs."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import func, select, text

from panel.extensions import db
from panel.models import Certificate, CertificateSource
from panel.services import certificates, secrets
from panel.services.actor import Actor
from panel.services.errors import Invalid
from tests.pki import NOW, Pki, key_pem, pem

ADMIN = Actor.system("tests")
HOST = "mail.example.jp"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.create()


@pytest.fixture
def trusted(app, pki, tmp_path):
    """The test root is a root the server trusts."""
    trust = tmp_path / "roots.pem"
    trust.write_text(pem(pki.root))
    app.config["TLS_TRUST_FILE"] = str(trust)
    return pki


def upload(chain: str, key, hostnames=(HOST,), customer_id=None):  # type: ignore[no-untyped-def]
    return certificates.upload_certificate(ADMIN, chain, key if isinstance(key, str) else key_pem(key),
                                           list(hostnames), customer_id)


def stored() -> int:
    return db.session.scalar(select(func.count(Certificate.id)))


def test_valid_chain_is_stored_with_its_facts_and_an_encrypted_key(ctx, trusted):
    leaf, key = trusted.leaf([HOST, "*.example.jp"])
    certificate = upload(pem(leaf) + pem(trusted.intermediate), key)
    assert certificate.names == [HOST, "*.example.jp"] and certificate.hostnames == [HOST]
    assert certificate.issuer == "CN=Test Intermediate"
    assert certificate.not_after.date() == leaf.not_valid_after_utc.date()
    raw = db.session.execute(text("SELECT key_encrypted FROM certificate")).scalar()
    assert "PRIVATE KEY" not in raw
    assert certificates.private_key_pem(certificate) == key_pem(key)


def test_chain_that_includes_its_own_root_is_accepted(ctx, pki):
    leaf, key = pki.leaf([HOST])
    upload(pem(leaf) + pem(pki.intermediate) + pem(pki.root), key)
    assert stored() == 1


def test_wildcard_covers_one_label_only(ctx, trusted):
    leaf, key = trusted.leaf(["*.example.jp"])
    with pytest.raises(Invalid) as refused:
        upload(pem(leaf) + pem(trusted.intermediate), key, ["a.b.example.jp"])
    assert refused.value.field == "hostnames"
    upload(pem(leaf) + pem(trusted.intermediate), key, ["imap.example.jp"])


REFUSALS = {
    "garbage": (lambda p: ("hello", rsa.generate_private_key(public_exponent=65537, key_size=2048)), "PEM"),
    "key_mismatch": (lambda p: (pem(p.leaf([HOST])[0]) + pem(p.intermediate),
                                rsa.generate_private_key(public_exponent=65537, key_size=2048)), "does not belong"),
    "out_of_order": (lambda p: _chain(p, order=lambda leaf, inter: inter + leaf), "out of order"),
    "incomplete": (lambda p: _chain(p, order=lambda leaf, inter: leaf), "incomplete"),
    "expired": (lambda p: _chain(p, not_before=NOW - dt.timedelta(days=100), not_after=NOW - dt.timedelta(days=1)), "expired"),
    "not_yet_valid": (lambda p: _chain(p, not_before=NOW + dt.timedelta(days=2)), "not valid before"),
    "names": (lambda p: _chain(p, names=["other.example.jp"]), "does not cover"),
    "weak_rsa": (lambda p: _chain(p, key=rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),
    "curve": (lambda p: _chain(p, key=ec.generate_private_key(ec.SECP521R1())), "P-256"),
}


def _chain(pki, order=lambda leaf, inter: leaf + inter, names=(HOST,), key=None, **validity):  # type: ignore[no-untyped-def]
    leaf, key = pki.leaf(list(names), key=key, **validity)
    return order(pem(leaf), pem(pki.intermediate)), key


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_validation_failure_has_a_clear_message_and_stores_nothing(ctx, trusted, case):
    build, expected = REFUSALS[case]
    chain, key = build(trusted)
    with pytest.raises(Invalid) as refused:
        upload(chain, key)
    assert expected in str(refused.value)
    assert stored() == 0


def test_customer_hostnames_must_be_in_its_domains(make, trusted):
    domain = make.domain(name="example.jp")
    staff = make.staff_actor(customer=domain.customer)
    with pytest.raises(Invalid) as refused:
        certificates.create_self_signed(staff, ["mail.someone-else.example"])
    assert refused.value.field == "hostnames"
    certificate = certificates.create_self_signed(staff, [HOST])
    assert certificate.customer_id == domain.customer_id and certificate.source is CertificateSource.SELF_SIGNED
    leaf = x509.load_pem_x509_certificate(certificate.cert_pem.encode())
    assert leaf.issuer == leaf.subject


def test_csr_then_the_cas_certificate_completes_it(ctx, trusted):
    pending = certificates.create_csr(ADMIN, [HOST])
    assert pending.cert_pem is None
    request = x509.load_pem_x509_csr(pending.csr_pem.encode())
    assert request.is_signature_valid
    key = secrets.decrypt(pending.key_encrypted, "storage")
    leaf, _ = trusted.leaf([HOST], key=load_pem_private_key(key.encode(), password=None))
    with pytest.raises(Invalid):  # a certificate for another key
        certificates.complete_csr(ADMIN, pending.id, pem(trusted.leaf([HOST])[0]) + pem(trusted.intermediate))
    done = certificates.complete_csr(ADMIN, pending.id, pem(leaf) + pem(trusted.intermediate))
    assert done.fingerprint and done.names == [HOST]
