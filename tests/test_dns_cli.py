"""The DNS commands: a DKIM rotation driven from the shell, publishing what `domains zone` prints."""
from __future__ import annotations

import json

from flask import Flask

from panel.models import DomainStatus, Role
from panel.services import domains
from tests.dns_support import publish, serving
from tests.factories import Factory

ENGLISH = {"LANG": "en_US.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}


def test_dkim_rotation_from_the_command_line(app: Flask, make: Factory) -> None:
    domain = make.domain(name="shell.example")
    domains.set_domain_status(make.system, domain.id, DomainStatus.PENDING)
    runner = app.test_cli_runner()

    def run(*args: str) -> str:
        result = runner.invoke(args=["domains", *args], env=ENGLISH)
        assert result.exit_code == 0, result.output
        return result.stdout

    with serving(app, {}) as server:
        first = json.loads(run("dkim-new", "shell.example", "--algorithm", "ed25519-sha256", "--json"))
        refused = runner.invoke(args=["domains", "dkim-switch", "shell.example"], env=ENGLISH)
        assert refused.exit_code == 1 and "DNS has no such record" in refused.output
        assert "private" not in json.dumps(first) and first["record"].startswith("v=DKIM1; k=ed25519; p=")

        publish(server, run("zone", "shell.example"))
        assert json.loads(run("dkim-switch", "shell.example", "--json"))["state"] == "active"
        assert json.loads(run("verify", "shell.example", "--json"))["status"] == "active"
        second = json.loads(run("dkim-new", "shell.example", "--json"))
        publish(server, run("zone", "shell.example"))
        run("dkim-switch", "shell.example")
        states = {key["selector"]: key["state"] for key in json.loads(run("dkim-keys", "shell.example", "--json"))}
        assert states == {first["selector"]: "retired", second["selector"]: "active"}

        run("dkim-delete", "shell.example", first["selector"])
        assert [key["selector"] for key in json.loads(run("dkim-keys", "shell.example", "--json"))] == [second["selector"]]
        checks = json.loads(run("check-dns", "shell.example", "--json"))
    # The node's own address is the provider's record, not in the domain's zone: those CNAMEs dangle.
    assert checks[0]["domain"] == "shell.example"
    assert checks[0]["problems"] == ["autoconfig: missing", "autodiscover: missing"]


def test_check_dns_as_a_customer_checks_only_their_domains(app: Flask, make: Factory) -> None:
    mine = make.domain(name="mine.example")
    make.domain(name="theirs.example")
    staff = make.user(Role.CUSTOMER, customer=mine.customer)
    with serving(app, {}):
        result = app.test_cli_runner().invoke(args=["domains", "check-dns", "--as", staff.email, "--json"], env=ENGLISH)
    assert result.exit_code == 0, result.output
    assert [check["domain"] for check in json.loads(result.stdout)] == ["mine.example"]
