"""`plans` (what customers buy) and `allowances` (reseller plans: what resellers may sell)."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from panel.cli import lookup
from panel.cli.crud import add_delete_command, add_list_command, add_spec_commands
from panel.cli.params import COUNT, LIMIT, MONEY, SIZE, SIZE_OR_UNLIMITED
from panel.cli.specs import SpecOption
from panel.models import Plan, ResellerPlan, Tier
from panel.services import plans as service
from panel.services.plans import AllowanceSpec, PlanSpec

plans = AppGroup("plans", help="Customer plans: limits, tier and price. Limits take a number or 'unlimited'.")
allowances = AppGroup("allowances", help="Reseller plans: the limits a reseller shares out among its customers.")


def shared_limits(counted: str) -> tuple[SpecOption, ...]:
    """The limits plans and reseller plans both set (how they are `counted` differs)."""
    return (
        SpecOption("max_domains", "--max-domains", f"Domains, {counted}.", LIMIT),
        SpecOption("max_mailboxes", "--max-mailboxes", f"Mailboxes, {counted}.", LIMIT),
        SpecOption("max_aliases", "--max-aliases", f"Aliases, {counted}.", LIMIT),
        SpecOption("storage_bytes", "--storage", f"Sum of mailbox quotas (500M, 10G, ...), {counted}.",
                   SIZE_OR_UNLIMITED),
    )


TIERS = click.Choice([tier.value for tier in Tier])
PLAN_OPTIONS = (
    SpecOption("tier", "--tier", "shared: pooled mail servers; dedicated: one server per customer.", TIERS),
    *shared_limits("per customer"),
    SpecOption("max_quota_bytes", "--max-quota", "Largest quota of one mailbox.", SIZE_OR_UNLIMITED),
    SpecOption("default_quota_bytes", "--default-quota", "Quota of a mailbox created without one.", SIZE),
    SpecOption("max_message_bytes", "--max-message-size", "Largest message accepted.", SIZE),
    SpecOption("sends_per_hour", "--sends-per-hour", "Outgoing messages per hour per mailbox.", LIMIT),
    SpecOption("archiving", "--archiving/--no-archiving", "Journal all mail in and out."),
    SpecOption("archive_retention_days", "--retention-days", "Days archived mail is kept.", COUNT),
    SpecOption("allow_apop", "--apop/--no-apop", "Allow APOP logins over POP3."),
    SpecOption("price_per_mailbox", "--price-per-mailbox", "Monthly price per mailbox.", MONEY),
    SpecOption("setup_fee", "--setup-fee", "One-time set-up fee.", MONEY),
    SpecOption("currency", "--currency", "Three-letter currency code."),
)
ALLOWANCE_OPTIONS = (
    SpecOption("max_customers", "--max-customers", "Customers the reseller may have.", LIMIT),
    *shared_limits("summed over all its customers' plans"),
)

find_plan = lookup.finder(Plan)
add_spec_commands(plans, PlanSpec, PLAN_OPTIONS, find=find_plan, create=service.create_plan,
                  update=service.update_plan, what="plan")
add_list_command(plans, Plan, Plan.reseller_id, Plan.name, what="plans")
add_delete_command(plans, find=find_plan, remove=service.delete_plan,
                   describe=lambda plan: _("plan %(name)s", name=plan.name))

find_allowance = lookup.finder(ResellerPlan, ResellerPlan.name)
add_spec_commands(allowances, AllowanceSpec, ALLOWANCE_OPTIONS, find=find_allowance,
                  create=service.create_allowance, update=service.update_allowance, what="reseller plan")
add_list_command(allowances, ResellerPlan, ResellerPlan.name, what="reseller plans")
add_delete_command(allowances, find=find_allowance, remove=service.delete_allowance, metavar="ID|NAME",
                   describe=lambda allowance: _("reseller plan %(name)s", name=allowance.name))
