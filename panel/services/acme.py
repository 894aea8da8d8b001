"""Certificates from an ACME CA (RFC 8555) with HTTP-01 challenges answered by the panel.

Issuance spans network round trips, so it is not one transaction: the challenges are committed
first (the CA fetches them from /.well-known/acme-challenge/ on another request), then the
certificate is stored, or the failure is recorded on the certificate for the UI.
"""
from __future__ import annotations

import datetime as dt

import josepy
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from flask_babel import lazy_gettext as _l
from requests import RequestException
from sqlalchemy import delete, select

from panel.extensions import db
from panel.models import AcmeAccount, AcmeChallenge, Certificate, CertificateSource, Role
from panel.services import audit, certificate_checks as checks, secrets
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.certificates import STAFF, apply_chain, certificate_owner, check_hostnames, verify_chain
from panel.services.errors import Invalid, ServiceError
from panel.services.transaction import unit_of_work

USER_AGENT = "tegami-panel"


class AcmeFailed(Invalid):
    """The CA refused or could not be reached; the message says why."""

    def __init__(self, message: object) -> None:
        super().__init__(None, message)


def _network(key: josepy.JWKRSA, account: messages.RegistrationResource | None = None) -> client.ClientNetwork:
    bundle = current_app.config.get("ACME_CA_BUNDLE")
    return client.ClientNetwork(key, account=account, user_agent=USER_AGENT,
                                verify_ssl=bundle or True)  # type: ignore[arg-type]


def _client() -> tuple[client.ClientV2, josepy.JWKRSA]:
    """A client on the provider's account, registering the account on first use."""
    url = current_app.config["ACME_DIRECTORY_URL"]
    account = db.session.scalar(select(AcmeAccount).where(AcmeAccount.directory_url == url))
    if account is None:
        key = josepy.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        network = _network(key)
        acme = client.ClientV2(client.ClientV2.get_directory(url, network), net=network)
        email = current_app.config["ACME_EMAIL"]
        registration = acme.new_account(messages.NewRegistration.from_data(
            email=email or None, terms_of_service_agreed=True))
        with unit_of_work():
            db.session.add(AcmeAccount(directory_url=url, email=email, uri=registration.uri,
                                       key_encrypted=secrets.encrypt(key.json_dumps(), "storage")))
        return acme, key
    key = josepy.JWKRSA.json_loads(secrets.decrypt(account.key_encrypted, "storage"))
    network = _network(key, messages.RegistrationResource(uri=account.uri, body=messages.Registration()))
    return client.ClientV2(client.ClientV2.get_directory(url, network), net=network), key


def _obtain(hostnames: list[str]) -> tuple[checks.PrivateKey, str]:
    """A new key and the full chain the CA issued for it."""
    key = checks.new_key("rsa")
    tokens: list[str] = []
    try:
        acme, account_key = _client()
        order = acme.new_order(crypto_util.make_csr(checks.key_pem(key).encode(), hostnames))
        answers = []
        with unit_of_work():
            for authorization in order.authorizations:
                if authorization.body.status == messages.STATUS_VALID:
                    continue  # the CA reuses a recent validation of this name
                challenge = next((c for c in authorization.body.challenges
                                  if isinstance(c.chall, challenges.HTTP01)), None)
                if challenge is None:
                    raise AcmeFailed(_l("The CA offered no HTTP-01 challenge."))
                response, validation = challenge.response_and_validation(account_key)
                tokens.append(challenge.chall.encode("token"))
                db.session.merge(AcmeChallenge(token=tokens[-1], key_authorization=validation))
                answers.append((challenge, response))
        for challenge, response in answers:
            acme.answer_challenge(challenge, response)
        deadline = dt.datetime.now() + dt.timedelta(seconds=current_app.config["ACME_TIMEOUT"])
        order = acme.poll_and_finalize(order, deadline)
    except (errors.Error, messages.Error, RequestException) as exc:
        raise AcmeFailed(_l("The certificate authority refused: %(reason)s", reason=_reason(exc))) from exc
    finally:
        with unit_of_work():
            db.session.execute(delete(AcmeChallenge).where(AcmeChallenge.token.in_(tokens)))
    return key, order.fullchain_pem


def _reason(exc: Exception) -> str:
    if isinstance(exc, errors.ValidationError):
        return "; ".join(str(a.body.challenges[0].error or "") for a in exc.failed_authzrs) or str(exc)
    return str(exc) or type(exc).__name__


def issue_certificate(actor: Actor, hostnames: list[str], customer_id: int | None = None) -> Certificate:
    """Order a certificate now; it renews itself `ACME_RENEW_DAYS` before expiry."""
    require_role(actor, *STAFF)
    owner = certificate_owner(actor, customer_id)
    names = check_hostnames(owner, hostnames)
    key, chain_pem = _obtain(names)
    with unit_of_work():
        certificate = Certificate(customer_id=owner, source=CertificateSource.ACME, hostnames=names,
                                  auto_renew=True, key_encrypted=secrets.encrypt(checks.key_pem(key), "storage"))
        apply_chain(certificate, verify_chain(chain_pem, key, names))
        db.session.add(certificate)
        audit.record(actor, "certificate.acme", certificate, customer_id=owner, hostnames=names,
                     fingerprint=certificate.fingerprint)
    return certificate


def renew(actor: Actor, certificate_id: int) -> Certificate:
    """Replace key and chain from the CA; on failure keep the old ones and record why."""
    require_role(actor, *STAFF)
    certificate = get_visible(actor, Certificate, certificate_id)
    if certificate.source is not CertificateSource.ACME:
        raise Invalid(None, _l("Only certificates from the ACME CA renew automatically; upload the new one."))
    try:
        key, chain_pem = _obtain(certificate.hostnames)
        checked = verify_chain(chain_pem, key, certificate.hostnames)
    except ServiceError as exc:
        with unit_of_work():
            certificate.last_error = str(exc.message)
            audit.record(actor, "certificate.renew_failed", certificate, customer_id=certificate.customer_id,
                         error=certificate.last_error)
        raise
    with unit_of_work():
        certificate.key_encrypted = secrets.encrypt(checks.key_pem(key), "storage")
        apply_chain(certificate, checked)
        audit.record(actor, "certificate.renew", certificate, customer_id=certificate.customer_id,
                     fingerprint=certificate.fingerprint)
    return certificate


def due_for_renewal(now: dt.datetime | None = None) -> list[Certificate]:
    now = now or dt.datetime.now(dt.timezone.utc)
    limit = now + dt.timedelta(days=current_app.config["ACME_RENEW_DAYS"])
    return list(db.session.scalars(select(Certificate).where(
        Certificate.source == CertificateSource.ACME, Certificate.auto_renew.is_(True),
        Certificate.not_after < limit).order_by(Certificate.not_after)))


def renew_due(actor: Actor, now: dt.datetime | None = None) -> list[tuple[Certificate, str | None]]:
    """Renew every ACME certificate within the renewal window; (certificate, error or None) each."""
    require_role(actor, Role.ADMIN)
    results: list[tuple[Certificate, str | None]] = []
    for certificate in due_for_renewal(now):
        try:
            results.append((renew(actor, certificate.id), None))
        except ServiceError as exc:
            results.append((certificate, str(exc.message)))
    return results


def challenge_answer(token: str) -> str | None:
    """The key authorization for an HTTP-01 token, while an order is in progress."""
    return db.session.scalar(select(AcmeChallenge.key_authorization).where(AcmeChallenge.token == token))
