"""DNS from the command line: `domains check-dns` (the daily job for cron), `verify`, `zone`,
and DKIM key rotation (`dkim-keys`, `dkim-new`, `dkim-switch`, `dkim-delete`)."""
from __future__ import annotations

import click
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.domains import domains
from panel.cli.output import Deleted
from panel.models import DkimKey, DkimState, DnsCheck, Domain
from panel.services import dkim_keys, dns_health, ownership
from panel.services.actor import Actor
from panel.services.dns_records import zone_snippet
from panel.services.errors import NotFound


@domains.command("check-dns")
@click.argument("reference", metavar="[NAME|ID]", required=False)
@operator_command
def check_dns(actor: Actor, reference: str | None) -> list[DnsCheck]:
    """Check the DNS records of one domain, or of every domain you see (daily, from cron); pending
    domains whose ownership record has appeared become active."""
    if reference is None:
        return [check for _domain, check in dns_health.check_every_domain(actor)]
    return [dns_health.check_domain(actor, lookup.domain(actor, reference).id)]


@domains.command("verify")
@click.argument("reference", metavar="NAME|ID")
@operator_command
def verify(actor: Actor, reference: str) -> Domain:
    """Activate a pending domain whose _tegami-verify TXT record is published."""
    return ownership.verify_ownership(actor, lookup.domain(actor, reference).id)


@domains.command("zone")
@click.argument("reference", metavar="NAME|ID")
@operator_command
def zone(actor: Actor, reference: str) -> None:
    """Print every DNS record the domain should publish (BIND zone-file lines)."""
    domain = lookup.domain(actor, reference)
    click.echo(zone_snippet(domain, dkim_keys.domain_keys(domain.id)), nl=False)


@domains.command("dkim-keys")
@click.argument("reference", metavar="NAME|ID")
@operator_command
def list_keys(actor: Actor, reference: str) -> list[DkimKey]:
    """The domain's DKIM keys, newest first, with the record each needs published."""
    return dkim_keys.domain_keys(lookup.domain(actor, reference).id)


@domains.command("dkim-new")
@click.argument("reference", metavar="NAME|ID")
@click.option("--algorithm", type=click.Choice(dkim_keys.ALGORITHMS), default="rsa-sha256", show_default=True)
@operator_command
def new_key(actor: Actor, reference: str, algorithm: str) -> DkimKey:
    """Create a new key to publish; signing switches to it with dkim-switch once DNS shows it."""
    return dkim_keys.create_key(actor, lookup.domain(actor, reference).id, algorithm)


def _key(actor: Actor, reference: str, selector: str | None) -> DkimKey:
    """The domain's key with this selector, or without one its new (pending) key."""
    for key in dkim_keys.domain_keys(lookup.domain(actor, reference).id):
        if key.selector == selector or (selector is None and key.state is DkimState.PENDING):
            return key
    raise NotFound(_("No such DKIM key.") if selector else _("This domain has no new DKIM key."))


@domains.command("dkim-switch")
@click.argument("reference", metavar="NAME|ID")
@operator_command
def switch_key(actor: Actor, reference: str) -> DkimKey:
    """Sign with the new key from now on (refused until DNS serves its record); the old one retires."""
    return dkim_keys.activate_key(actor, _key(actor, reference, None).id)


@domains.command("dkim-delete")
@click.argument("reference", metavar="NAME|ID")
@click.argument("selector")
@operator_command
def delete_key(actor: Actor, reference: str, selector: str) -> Deleted:
    """Delete a retired or unused key (the signing key cannot be deleted)."""
    key = _key(actor, reference, selector)
    dkim_keys.delete_key(actor, key.id)
    return Deleted(key.id, selector)
