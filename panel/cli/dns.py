"""`domains check-dns` (the daily job for cron) and `domains verify`: DNS from the command line."""
from __future__ import annotations

import click

from panel.cli import lookup
from panel.cli.command import operator_command
from panel.cli.domains import domains
from panel.models import DnsCheck, Domain
from panel.services import dns_health, ownership
from panel.services.actor import Actor


@domains.command("check-dns")
@click.argument("reference", metavar="[NAME|ID]", required=False)
@operator_command
def check_dns(actor: Actor, reference: str | None) -> list[DnsCheck]:
    """Check the DNS records of one domain, or of every domain (daily, from cron); pending
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
