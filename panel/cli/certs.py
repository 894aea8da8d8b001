"""`certs`: TLS certificates, and `certs renew` for a daily cron job or systemd timer."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.models import Certificate
from panel.services import acme, certificates
from panel.services.actor import Actor

certs = AppGroup("certs", help="TLS certificates for node and customer host names.")
CUSTOMER = click.option("--customer", "customer_id", type=int, metavar="ID",
                        help="The customer it belongs to (default: the provider's own).")


@certs.command("list")
@operator_command
def list_certificates(actor: Actor) -> list[Certificate]:
    """Certificates you may see, soonest expiry first."""
    return lookup.visible(actor, select(Certificate).order_by(Certificate.not_after.is_(None), Certificate.not_after))


@certs.command("upload")
@click.argument("hostnames", nargs=-1, required=True)
@click.option("--cert", "cert_file", type=click.File("r"), required=True, help="PEM chain, server certificate first.")
@click.option("--key", "key_file", type=click.File("r"), required=True, help="Unencrypted PEM private key.")
@CUSTOMER
@operator_command
def upload(actor: Actor, hostnames: tuple[str, ...], cert_file, key_file, customer_id: int | None) -> Certificate:  # type: ignore[no-untyped-def]
    """Add a certificate and key after checking them for HOSTNAMES."""
    return certificates.upload_certificate(actor, cert_file.read(), key_file.read(), list(hostnames), customer_id)


@certs.command("self-signed")
@click.argument("hostnames", nargs=-1, required=True)
@CUSTOMER
@operator_command
def self_signed(actor: Actor, hostnames: tuple[str, ...], customer_id: int | None) -> Certificate:
    """Generate a self-signed certificate (for trials) for HOSTNAMES."""
    return certificates.create_self_signed(actor, list(hostnames), customer_id)


@certs.command("acme")
@click.argument("hostnames", nargs=-1, required=True)
@CUSTOMER
@operator_command
def issue(actor: Actor, hostnames: tuple[str, ...], customer_id: int | None) -> Certificate:
    """Obtain a certificate from the ACME CA (HTTP-01 answered by this panel); it renews itself."""
    return acme.issue_certificate(actor, list(hostnames), customer_id)


@certs.command("renew")
@operator_command
def renew(actor: Actor) -> list[Certificate]:
    """Renew ACME certificates that expire within the renewal window; exit 1 if any failed."""
    results = acme.renew_due(actor)
    failures = [(certificate, error) for certificate, error in results if error]
    for certificate, error in failures:
        click.echo(_("Renewal of %(names)s failed: %(error)s", names=", ".join(certificate.hostnames),
                     error=error), err=True)
    if failures:
        raise click.exceptions.Exit(1)
    return [certificate for certificate, _error in results]
