"""The operators' command line: `flask --app wsgi <group> <command>` over the service layer."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from panel.cli.params import parse_size
from panel.extensions import db
from panel.models import AuditEvent, Customer, Domain, Mailbox, Plan, Role
from panel.services import users
from tests.factories import Factory

GIB = 1024**3
MIB = 1024**2
PASSWORD = "stdin secret 4815"
Cli = Callable[..., Result]


@pytest.fixture
def cli(app: Flask, ctx: None) -> Cli:
    """`cli("plans", "list", input=...)`: run a command in English, as a terminal-less script."""
    runner = app.test_cli_runner()

    # English messages, and `setup` generating its own password and node name whatever the shell set.
    env = {"LANG": "en_US.UTF-8", "LC_ALL": None, "LC_MESSAGES": None,
           "TEGAMI_ADMIN_PASSWORD": None, "TEGAMI_NODE_NAME": None}

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(args=list(args), input=input, env=env)

    return run


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stdout == ""


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_create_then_list_round_trips_json_for_every_group(cli: Cli) -> None:
    allowance = ok_json(cli("allowances", "create", "Gold", "--max-customers", "5", "--storage", "50G", "--json"))
    reseller = ok_json(cli("resellers", "create", "Kanda Hosting", "--allowance", "Gold", "--json"))
    plan = ok_json(cli("plans", "create", "Basic", "--max-mailboxes", "5", "--storage", "5G",
                       "--max-quota", "1G", "--default-quota", "500M", "--price-per-mailbox", "300", "--json"))
    customer = ok_json(cli("customers", "create", "Acme", "--plan", str(plan["id"]), "--json"))
    node = ok_json(cli("nodes", "create", "node1", "--hostname", "mx1.tegami.test", "--ip", "192.0.2.10",
                       "--max-mailboxes", "1000", "--json"))
    domain = ok_json(cli("domains", "create", "例え.jp", "--customer", str(customer["id"]),
                         "--status", "active", "--json"))
    mailbox = ok_json(cli("mailboxes", "create", "Info@例え.jp", "--quota", "1.5M", "--password-stdin",
                          "--json", input=PASSWORD + "\n"))
    alias = ok_json(cli("aliases", "create", "sales@例え.jp", "--to", "info@例え.jp",
                        "--to", "boss@elsewhere.example", "--json"))
    user = ok_json(cli("users", "create", "it@acme.example", "--role", "customer", "--customer",
                       str(customer["id"]), "--password", PASSWORD, "--json"))

    assert reseller["allowance"] == "Gold" and reseller["reseller_plan_id"] == allowance["id"]
    assert allowance["storage_bytes"] == 50 * GIB and allowance["max_domains"] == 10
    assert plan["price_per_mailbox"] == "300.00" and plan["default_quota_bytes"] == 500 * MIB
    assert domain["name"] == "xn--r8jz45g.jp" and domain["display_name"] == "例え.jp"
    assert domain["node_id"] == node["id"] and domain["status"] == "active"
    assert mailbox["address"] == "info@xn--r8jz45g.jp" and mailbox["quota_bytes"] == int(1.5 * MIB)
    assert alias["destinations"] == ["info@xn--r8jz45g.jp", "boss@elsewhere.example"]
    assert user["role"] == "customer" and "password_hash" not in user
    for group, created in [("allowances", allowance), ("resellers", reseller), ("plans", plan),
                           ("customers", customer), ("nodes", node), ("domains", domain),
                           ("mailboxes", mailbox), ("aliases", alias), ("users", user)]:
        listed = ok_json(cli(group, "list", "--json"))
        assert [row["id"] for row in listed] == [created["id"]], group
        assert listed[0] == created, group


def test_list_without_json_prints_an_aligned_table_with_units(cli: Cli, make: Factory) -> None:
    domain = make.domain(make.customer(make.plan(max_domains=2)), name="example.jp")
    make.mailbox(domain, "alice", quota_bytes=500 * MIB)
    make.mailbox(domain, "bob-the-builder", quota_bytes=2 * GIB)
    make.mailbox(make.domain(domain.customer, name="例え.jp"), "carol", quota_bytes=GIB)
    result = cli("mailboxes", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["id", "address", "quota_bytes", "used_bytes", "enabled"]
    assert "alice@example.jp" in rows[0] and "500.0 MiB" in rows[0]
    assert "bob-the-builder@example.jp" in rows[1] and "2.0 GiB" in rows[1]
    assert "carol@例え.jp" in rows[2] and "1.0 GiB" in rows[2]
    # Aligned on screen: the two wide characters of 例え take two columns each.
    assert header.index("quota_bytes") == rows[0].index("500.0") == rows[1].index("2.0 GiB") \
        == rows[2].index("1.0 GiB") + 2


def test_mailbox_password_from_stdin_logs_in_and_is_never_printed(cli: Cli, make: Factory) -> None:
    make.domain(name="example.jp")
    created = cli("mailboxes", "create", "user@example.jp", "--quota", "100M", "--password-stdin",
                  input=PASSWORD + "\r\nignored second line\n")
    assert created.exit_code == 0, created.output
    assert PASSWORD not in created.output
    assert isinstance(users.authenticate("user@example.jp", PASSWORD), Mailbox)

    changed = cli("mailboxes", "passwd", "user@example.jp", "--password-stdin", "--json",
                  input="a whole new secret\n")
    assert changed.exit_code == 0, changed.output
    assert "a whole new secret" not in changed.output and "hash" not in changed.stdout
    assert users.authenticate("user@example.jp", PASSWORD) is None
    assert isinstance(users.authenticate("user@example.jp", "a whole new secret"), Mailbox)


def test_password_needs_exactly_one_source(cli: Cli, make: Factory) -> None:
    make.domain(name="example.jp")
    both = cli("mailboxes", "create", "a@example.jp", "--password", PASSWORD, "--password-stdin", input=PASSWORD)
    neither = cli("mailboxes", "create", "a@example.jp")
    assert both.exit_code == neither.exit_code == 2
    assert "not both" in both.stderr and "--password-stdin" in neither.stderr
    assert count(Mailbox) == 0


def test_password_policy_refusal_exits_1_and_writes_nothing(cli: Cli, make: Factory) -> None:
    make.domain(name="example.jp")
    refused(cli("mailboxes", "create", "a@example.jp", "--password-stdin", input="short\n"),
            "password: The password must have at least 10 characters.")
    assert count(Mailbox) == 0


def test_mailbox_over_plan_limit_exits_1_with_the_message_and_writes_no_row(cli: Cli, make: Factory) -> None:
    customer = make.customer(make.plan(max_mailboxes=1, storage_bytes=None, max_quota_bytes=None))
    make.domain(customer, "example.jp")
    assert cli("mailboxes", "create", "one@example.jp", "--password", PASSWORD).exit_code == 0
    refused(cli("mailboxes", "create", "two@example.jp", "--password", PASSWORD),
            "Plan limit reached: mailboxes is limited to 1.")
    assert count(Mailbox) == 1


def test_quota_over_plan_maximum_is_refused(cli: Cli, make: Factory) -> None:
    make.domain(make.customer(make.plan(max_quota_bytes=GIB)), "example.jp")
    refused(cli("mailboxes", "create", "big@example.jp", "--quota", "1.5GiB", "--password", PASSWORD),
            "quota per mailbox is limited to 1.0 GiB")
    assert count(Mailbox) == 0


def test_acting_as_a_reseller_is_held_to_its_allowance(cli: Cli, make: Factory) -> None:
    reseller = make.reseller(make.allowance(max_customers=1, max_mailboxes=10, storage_bytes=None,
                                            max_domains=None, max_aliases=None))
    staff = make.user(Role.RESELLER, reseller=reseller, email="ops@reseller.example")
    other = make.customer()  # the provider's own customer: invisible to the reseller
    as_staff = ("--as", staff.email)
    plan = ok_json(cli("plans", "create", "Small", "--max-mailboxes", "5", "--storage", "unlimited",
                       "--max-quota", "unlimited", "--max-domains", "unlimited", "--max-aliases", "unlimited",
                       "--json", *as_staff))
    assert plan["reseller_id"] == reseller.id

    first = ok_json(cli("customers", "create", "First", "--plan", str(plan["id"]), "--json", *as_staff))
    assert first["reseller_id"] == reseller.id
    refused(cli("customers", "create", "Second", "--plan", str(plan["id"]), *as_staff),
            "Reseller allowance exceeded: customers would be 2 of 1.")
    refused(cli("plans", "create", "Huge", "--max-mailboxes", "11", *as_staff), "mailboxes")
    refused(cli("plans", "create", "Endless", "--max-mailboxes", "unlimited", *as_staff),
            "so unlimited is not possible")
    refused(cli("nodes", "create", "mine", "--hostname", "mx.reseller.example", "--ip", "192.0.2.9", *as_staff),
            "You are not allowed to do this.")
    refused(cli("customers", "delete", str(other.id), "--yes", *as_staff), f"Not found: {other.id}")
    assert [row["id"] for row in ok_json(cli("customers", "list", "--json", *as_staff))] == [first["id"]]
    assert count(Customer) == 2
    assert db.session.scalar(select(func.count(Plan.id)).where(Plan.reseller_id == reseller.id)) == 1


def test_unknown_objects_say_not_found_and_exit_1(cli: Cli, make: Factory) -> None:
    make.domain(name="example.jp")
    refused(cli("customers", "delete", "999", "--yes"), "Not found: 999")
    refused(cli("plans", "update", "4242", "--max-domains", "2"), "Not found: 4242")
    refused(cli("allowances", "delete", "No such allowance", "--yes"), "Not found: No such allowance")
    refused(cli("mailboxes", "passwd", "nobody@example.jp", "--password", PASSWORD), "Not found: nobody@example.jp")
    refused(cli("aliases", "delete", "@unknown.example", "--yes"), "Not found: unknown.example")
    refused(cli("domains", "status", "99999999999", "active"), "Not found: 99999999999")
    refused(cli("users", "delete", "ghost@staff.test", "--yes"), "Not found: ghost@staff.test")
    refused(cli("plans", "list", "--as", "ghost@staff.test"), "No active staff login ghost@staff.test.")
    refused(cli("mailboxes", "create", "no-at-sign", "--password", PASSWORD), "Enter a full address")


def test_sizes_take_units_and_limits_take_unlimited(cli: Cli) -> None:
    plan = ok_json(cli("plans", "create", "Units", "--storage", "1.5GiB", "--max-quota", "500M",
                       "--default-quota", "262144000", "--max-mailboxes", "unlimited", "--json"))
    assert (plan["storage_bytes"], plan["max_quota_bytes"], plan["default_quota_bytes"]) == \
        (1536 * MIB, 500 * MIB, 250 * MIB)
    assert plan["max_mailboxes"] is None
    for bad in (["--storage", "lots"], ["--max-mailboxes", "-1"], ["--max-aliases", "99999999999"],
                ["--default-quota", "unlimited"], ["--price-per-mailbox", "free"],
                ["--price-per-mailbox", "1e20"], ["--retention-days", "99999999999"], ["--storage", "9" * 30]):
        result = cli("plans", "create", "Bad", *bad)
        assert result.exit_code == 2, (bad, result.output)
        assert bad[0] in result.stderr
    assert count(Plan) == 1


@pytest.mark.parametrize("text, size", [("500M", 500 * MIB), ("2G", 2 * GIB), ("1.5GiB", 1536 * MIB),
                                        ("4096", 4096), ("10 kb", 10240), ("3B", 3)])
def test_parse_size_reads_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "1.5.5G", "-1G", "1e9", "12 apples", "1ib"])
def test_parse_size_rejects_what_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_update_changes_only_the_options_given(cli: Cli) -> None:
    plan = ok_json(cli("plans", "create", "Std", "--max-domains", "3", "--max-aliases", "7", "--json"))
    updated = ok_json(cli("plans", "update", str(plan["id"]), "--max-domains", "unlimited",
                          "--name", "Standard", "--json"))
    assert updated["max_domains"] is None and updated["name"] == "Standard"
    assert {k: v for k, v in updated.items() if k not in ("max_domains", "name")} == \
        {k: v for k, v in plan.items() if k not in ("max_domains", "name")}


def test_mailbox_update_changes_quota_or_state_alone(cli: Cli, make: Factory) -> None:
    make.mailbox(make.domain(name="example.jp"), "a", quota_bytes=100 * MIB)
    disabled = ok_json(cli("mailboxes", "update", "a@example.jp", "--disable", "--json"))
    assert (disabled["enabled"], disabled["quota_bytes"]) == (False, 100 * MIB)
    grown = ok_json(cli("mailboxes", "update", "a@example.jp", "--quota", "1G", "--json"))
    assert (grown["enabled"], grown["quota_bytes"]) == (False, GIB)
    refused(cli("mailboxes", "update", "a@example.jp", "--quota", "0"), "quota: Must be greater than zero.")


def test_customer_set_plan_below_usage_is_refused(cli: Cli, make: Factory) -> None:
    customer = make.customer(make.plan(max_mailboxes=5))
    domain = make.domain(customer, "example.jp")
    make.mailbox(domain)
    make.mailbox(domain)
    tiny = make.plan(max_mailboxes=1)
    refused(cli("customers", "set-plan", str(customer.id), str(tiny.id)), "mailboxes: 2 in use, limit 1")
    roomy = make.plan(max_mailboxes=50)
    moved = ok_json(cli("customers", "set-plan", str(customer.id), str(roomy.id), "--json"))
    assert moved["plan_id"] == roomy.id


def test_domain_delete_says_what_goes_and_needs_a_yes(cli: Cli, make: Factory) -> None:
    domain = make.domain(name="example.jp")
    make.mailbox(domain, "a")
    make.alias(domain, "b")
    declined = cli("domains", "delete", "example.jp", input="n\n")
    assert declined.exit_code == 1
    assert "Delete domain example.jp with its 1 mailboxes and 1 aliases?" in declined.stderr
    assert count(Domain) == 1 and count(Mailbox) == 1
    accepted = ok_json(cli("domains", "delete", "example.jp", "--json", input="y\n"))
    assert accepted == {"id": domain.id, "deleted": True}
    assert count(Domain) == 0 and count(Mailbox) == 0


def test_catch_all_alias_by_at_domain(cli: Cli, make: Factory) -> None:
    domain = make.domain(name="example.jp")
    make.mailbox(domain, "postmaster")
    alias = ok_json(cli("aliases", "create", "@example.jp", "--to", "postmaster@example.jp", "--json"))
    assert alias["catch_all"] is True and alias["source"] == "@example.jp"
    changed = ok_json(cli("aliases", "update", "*@example.jp", "--to", "x@elsewhere.example", "--json"))
    assert changed["id"] == alias["id"] and changed["destinations"] == ["x@elsewhere.example"]
    assert ok_json(cli("aliases", "delete", "@example.jp", "--yes", "--json")) == {"id": alias["id"], "deleted": True}


def test_changes_are_audited_as_the_cli_or_the_acting_user(cli: Cli, make: Factory) -> None:
    customer = make.customer()
    staff = make.user(Role.CUSTOMER, customer=customer, email="it@acme.example")
    make.node()
    ok_json(cli("domains", "create", "acme.example", "--json", "--as", staff.email))
    ok_json(cli("domains", "status", "acme.example", "suspended", "--json"))
    events = db.session.execute(select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.user_id)
                                .where(AuditEvent.action.like("domain.%")).order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("domain.create", "it@acme.example", staff.id),
                                          ("domain.status", "cli", None)]


def test_apop_needs_the_plan_and_the_current_password_and_its_secret_is_never_printed(cli: Cli, make: Factory) -> None:
    closed = make.domain(make.customer(make.plan(allow_apop=False)), "closed.example")
    make.mailbox(closed, "a")
    refused(cli("mailboxes", "apop", "a@closed.example", "--enable", "--password", Factory.PASSWORD),
            "Your plan does not allow APOP.")
    make.mailbox(make.domain(make.customer(make.plan(allow_apop=True)), "open.example"), "b")
    refused(cli("mailboxes", "apop", "b@open.example", "--enable"), "current password")
    enabled = cli("mailboxes", "apop", "b@open.example", "--enable", "--password-stdin", "--json",
                  input=Factory.PASSWORD + "\n")
    mailbox = ok_json(enabled)
    assert mailbox["apop_enabled"] is True
    assert "apop_secret" not in mailbox and Factory.PASSWORD not in enabled.output
    assert ok_json(cli("mailboxes", "apop", "b@open.example", "--disable", "--json"))["apop_enabled"] is False


def test_setup_creates_the_first_admin_and_a_node_once(cli: Cli) -> None:
    first = cli("setup", "--admin-email", "root@provider.example")
    assert first.exit_code == 0, first.output
    assert "First admin created: root@provider.example" in first.stdout
    again = cli("setup", "--admin-email", "root@provider.example")
    assert again.exit_code == 0 and again.stdout == ""
    password = first.stdout.split(" / ", 1)[1].split()[0]
    assert users.authenticate("root@provider.example", password) is not None
    assert [row["name"] for row in ok_json(cli("nodes", "list", "--json"))] == ["node1"]


def test_dedicated_node_is_given_to_a_customer_and_released(cli: Cli, make: Factory) -> None:
    customer = make.customer(make.plan(tier="dedicated"))
    node = ok_json(cli("nodes", "create", "own1", "--hostname", "mx.acme.example", "--ip", "2001:db8::1",
                       "--tier", "dedicated", "--customer", str(customer.id), "--json"))
    assert (node["tier"], node["customer_id"], node["ip"]) == ("dedicated", customer.id, "2001:db8::1")
    refused(cli("nodes", "update", "own1", "--customer", "none"), "A dedicated node belongs to one customer")
    shared = ok_json(cli("nodes", "update", "own1", "--tier", "shared", "--customer", "none", "--json"))
    assert (shared["tier"], shared["customer_id"], shared["hostname"]) == ("shared", None, "mx.acme.example")
    assert cli("nodes", "update", "own1", "--customer", "first").exit_code == 2


def test_customer_staff_cannot_reach_another_customers_mailbox(cli: Cli, make: Factory) -> None:
    mine = make.customer()
    make.mailbox(make.domain(mine, "mine.example"), "me")
    theirs = make.mailbox(make.domain(name="theirs.example"), "them")
    staff = make.user(Role.CUSTOMER, customer=mine, email="it@mine.example")
    refused(cli("mailboxes", "passwd", "them@theirs.example", "--password", "taken over 123", "--as", staff.email),
            "Not found: theirs.example")
    refused(cli("mailboxes", "delete", str(theirs.id), "--yes", "--as", staff.email), f"Not found: {theirs.id}")
    listed = ok_json(cli("mailboxes", "list", "--json", "--as", staff.email))
    assert [row["address"] for row in listed] == ["me@mine.example"]
    assert isinstance(users.authenticate("them@theirs.example", Factory.PASSWORD), Mailbox)
    assert count(Mailbox) == 2
