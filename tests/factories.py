"""Test data built through the services, so fixtures obey the same rules as users do."""
from __future__ import annotations

from itertools import count
from typing import Any

from sqlalchemy import func, select

from panel.extensions import db
from panel.models import Alias, Customer, Domain, DomainStatus, Mailbox, Node, Plan, Reseller, ResellerPlan, Role, Tier, User
from panel.services import aliases, customers, domains, mailboxes, nodes, plans, resellers, users
from panel.services.actor import Actor

_serial = count(1)


class Factory:
    """`make.customer()`, `make.mailbox(domain)` ...: each call creates a fresh, valid object."""

    PASSWORD = "correct horse battery"

    def __init__(self) -> None:
        self.system = Actor.system("tests")

    def _n(self) -> int:
        return next(_serial)

    def node(self, **spec: Any) -> Node:
        n = self._n()
        values = {"name": f"node{n}", "hostname": f"mx{n}.tegami.test", "ip": f"192.0.2.{n % 250 + 1}"} | spec
        return nodes.create_node(self.system, nodes.NodeSpec(**values))

    def plan(self, actor: Actor | None = None, **spec: Any) -> Plan:
        return plans.create_plan(actor or self.system, plans.PlanSpec(name=spec.pop("name", f"Plan {self._n()}"), **spec))

    def allowance(self, **spec: Any) -> ResellerPlan:
        return plans.create_allowance(self.system, plans.AllowanceSpec(name=spec.pop("name", f"Allowance {self._n()}"), **spec))

    def reseller(self, allowance: ResellerPlan | None = None, **spec: Any) -> Reseller:
        allowance = allowance or self.allowance(**spec)
        return resellers.create_reseller(self.system, f"Reseller {self._n()}", allowance.id)

    def customer(self, plan: Plan | None = None, reseller: Reseller | None = None,
                 actor: Actor | None = None) -> Customer:
        if plan is None:
            plan = self.plan(self.staff_actor(reseller) if reseller else None)
        return customers.create_customer(actor or self.system, f"Customer {self._n()}", plan.id,
                                         reseller.id if reseller else None)

    def user(self, role: Role, *, customer: Customer | None = None, reseller: Reseller | None = None,
             email: str | None = None) -> User:
        email = email or f"{role.value}{self._n()}@staff.test"
        return users.create_user(self.system, email, self.PASSWORD, role,
                                 customer_id=customer.id if customer else None,
                                 reseller_id=reseller.id if reseller else None)

    def staff_actor(self, reseller: Reseller | None = None, customer: Customer | None = None) -> Actor:
        """An Actor for a new staff user of this reseller or customer (admin if neither)."""
        if reseller is not None:
            return Actor.for_user(self.user(Role.RESELLER, reseller=reseller))
        if customer is not None:
            return Actor.for_user(self.user(Role.CUSTOMER, customer=customer))
        return Actor.for_user(self.user(Role.ADMIN))

    def domain(self, customer: Customer | None = None, name: str | None = None) -> Domain:
        if customer is None:
            customer = self.customer()
        if customer.plan.tier is Tier.SHARED and not db.session.scalar(
                select(func.count(Node.id)).where(Node.tier == Tier.SHARED)):
            self.node()
        return domains.create_domain(self.system, name or f"d{self._n()}.example", customer.id,
                                     status=DomainStatus.ACTIVE)

    def mailbox(self, domain: Domain | None = None, local_part: str | None = None,
                quota_bytes: int | None = None) -> Mailbox:
        domain = domain or self.domain()
        return mailboxes.create_mailbox(self.system, domain.id, local_part or f"user{self._n()}",
                                        quota_bytes, self.PASSWORD)

    def alias(self, domain: Domain | None = None, local_part: str | None = None,
              destinations: list[str] | None = None) -> Alias:
        domain = domain or self.domain()
        return aliases.create_alias(self.system, domain.id, local_part if local_part is not None else f"alias{self._n()}",
                                    destinations or ["someone@elsewhere.example"])
