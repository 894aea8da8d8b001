"""Every route x every role x another tenant's objects: nothing leaks, nothing changes.

New routes are covered automatically: each integer URL argument is filled with the id of the
foreign tenant's object of that kind (by argument name, else by blueprint); a route whose
argument cannot be mapped fails the test until a mapping is added here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select

from panel.extensions import db
from panel.models import ArchiveHold, AuditEvent, Base, Role
from panel.services import app_passwords, certificates, dkim_keys
from panel.services.actor import Actor
from tests.conftest import login
from tests.factories import Factory

MARKER = "zqx"  # every foreign object's name carries it; no page may show it to another tenant

# URL argument name (or blueprint name for a bare `id`) -> key in World.foreign
ARGUMENT_KINDS = {
    "plan_id": "plan", "plans": "plan",
    "allowance_id": "allowance", "allowances": "allowance",
    "reseller_id": "reseller", "resellers": "reseller",
    "customer_id": "customer", "customers": "customer",
    "node_id": "node", "nodes": "node",
    "domain_id": "domain", "domains": "domain",
    "mailbox_id": "mailbox", "mailboxes": "mailbox",
    "alias_id": "alias", "aliases": "alias",
    "user_id": "user", "users": "user",
    "event_id": "event", "audit": "event",
    "certificate_id": "certificate", "certificates": "certificate",
    "hold_id": "hold",
    "app_password_id": "app_password",
    "dkim_key_id": "dkim_key",
    "entry": "entry",  # an archive entry number: only reachable through its (foreign) domain_id
}
# Routes that are public or about the session itself, not about a tenant's objects.
NOT_TENANT_DATA = {"static", "bootstrap.static", "auth.login", "auth.logout", "set_language", "acme.challenge",
                   "auth.stop_acting"}


@dataclass
class World:
    foreign: dict[str, int]
    logins: dict[str, str]


def build_world(make: Factory) -> World:
    """Two resellers, each with a customer, domain, mailbox, alias and staff; tenant 2 is foreign."""
    make.node(name="node-shared")
    tenants = []
    for tag in ("own", MARKER):
        allowance = make.allowance(name=f"Allowance {tag}")
        reseller = make.reseller(allowance)
        reseller.name = f"Reseller {tag}"
        reseller_staff = make.user(Role.RESELLER, reseller=reseller, email=f"r-{tag}@staff.test")
        plan = make.plan(Actor.for_user(reseller_staff), name=f"Plan {tag}")
        customer = make.customer(plan, reseller)
        customer.name = f"Customer {tag}"
        customer_staff = make.user(Role.CUSTOMER, customer=customer, email=f"c-{tag}@staff.test")
        customer_staff.auditor = True  # reaches the archive pages, which must still show only its own
        domain = make.domain(customer, name=f"{tag}-domain.example")
        mailbox = make.mailbox(domain, f"{tag}box")
        alias = make.alias(domain, f"{tag}alias", [f"{tag}box@{tag}-domain.example"])
        db.session.commit()
        tenants.append(dict(reseller=reseller, reseller_staff=reseller_staff, plan=plan,
                            customer=customer, customer_staff=customer_staff, domain=domain,
                            mailbox=mailbox, alias=alias, allowance=allowance))
    own, foreign = tenants
    certificate = certificates.create_self_signed(Actor.system(), [f"mail.{MARKER}-domain.example"],
                                                  foreign["customer"].id)
    node = make.node(name=f"{MARKER}-node", hostname=f"{MARKER}.tegami.test", enabled=False)
    hold = ArchiveHold(domain_id=foreign["domain"].id, first_entry=1, entries=1, reason=f"{MARKER} case")
    db.session.add(hold)
    db.session.commit()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.customer_id == foreign["customer"].id)
                               .order_by(AuditEvent.id.desc())).first()
    return World(
        foreign={"plan": foreign["plan"].id, "allowance": foreign["allowance"].id,
                 "reseller": foreign["reseller"].id, "customer": foreign["customer"].id,
                 "node": node.id, "domain": foreign["domain"].id, "mailbox": foreign["mailbox"].id,
                 "alias": foreign["alias"].id, "user": foreign["customer_staff"].id, "event": event.id,
                 "app_password": app_passwords.create_app_password(
                     Actor.for_mailbox(foreign["mailbox"]), foreign["mailbox"].id, f"{MARKER} phone")[0].id,
                 "certificate": certificate.id, "entry": 1, "hold": hold.id,
                 "dkim_key": dkim_keys.create_key(Actor.system(), foreign["domain"].id, "ed25519-sha256").id},
        logins={"reseller": own["reseller_staff"].email, "customer": own["customer_staff"].email,
                "mailbox": own["mailbox"].email, "acting_reseller": own["reseller_staff"].email,
                "own_customer_id": str(own["customer"].id)},
    )


def fingerprint() -> dict[str, int]:
    """Row counts of every table: a foreign POST that changed anything shows up here."""
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables if table.name != "audit_event"}


def urls_for(app: Flask, foreign: dict[str, int]) -> list[tuple[str, str, set[str]]]:
    """(endpoint, url, methods) for every route, integer arguments filled with foreign ids."""
    result = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_TENANT_DATA:
            continue
        values: dict[str, object] = {}
        for name, converter in rule._converters.items():  # noqa: SLF001 (werkzeug exposes no public list)
            if type(converter).__name__ != "IntegerConverter":
                values[name] = "x"
                continue
            kind = ARGUMENT_KINDS.get(name) or (ARGUMENT_KINDS.get(rule.endpoint.split(".")[0]) if name == "id" else None)
            assert kind, f"{rule.rule}: map URL argument {name!r} to a kind in ARGUMENT_KINDS"
            values[name] = foreign[kind]
        path = rule.rule
        for name, value in values.items():
            path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", str(value), path)
        result.append((rule.endpoint, path, set(rule.methods or ()) - {"HEAD", "OPTIONS"}))
    return result


ROLES = ["reseller", "customer", "mailbox", "acting_reseller"]


@pytest.mark.parametrize("role", ROLES)
def test_no_route_leaks_or_changes_another_tenants_objects(app, make, client, role):
    world = build_world(make)
    login(client, world.logins[role])
    if role == "acting_reseller":
        assert client.post(f"/act-as/{world.logins['own_customer_id']}").status_code == 302
    before = fingerprint()
    problems = []
    for endpoint, url, methods in urls_for(app, world.foreign):
        targets_foreign = any(str(value) in url.split("/") for value in world.foreign.values())
        for method in sorted(methods):
            response = client.open(url, method=method, data={})
            body = response.get_data(as_text=True).lower()
            if MARKER in body:
                problems.append(f"{method} {url} ({endpoint}) shows foreign data")
            if targets_foreign and response.status_code not in (403, 404, 405):
                problems.append(f"{method} {url} ({endpoint}) answered {response.status_code}")
    db.session.expire_all()
    assert fingerprint() == before, "a request changed data"
    assert not problems, "\n".join(problems)
