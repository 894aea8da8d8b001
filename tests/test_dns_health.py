"""Ownership check, DNS health lines and the zone snippet, against a loopback DNS server."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import force_locale

from panel.extensions import db
from panel.models import Domain, DomainStatus, Role
from panel.services import dkim_keys, dns_health, domains, ownership
from panel.services.actor import Actor
from panel.services.dns_records import zone_snippet
from panel.services.errors import Invalid
from tests.dns_support import publish, serving, silent_nameserver
from tests.factories import Factory


@pytest.fixture(autouse=True)
def in_english(ctx: None) -> Iterator[None]:
    """Service messages in English, whatever the default locale."""
    with force_locale("en"):
        yield


def pending_domain(make: Factory, name: str = "owned.example") -> Domain:
    domain = make.domain(name=name)
    domains.set_domain_status(make.system, domain.id, DomainStatus.PENDING)
    return domain


def statuses(domain: Domain) -> dict[str, str]:
    return {line["kind"]: line["status"] for line in dns_health.check_domain(Actor.system(), domain.id).results}


def ptr_name(domain: Domain) -> str:
    """The reverse name of the domain's node (IPv4): 192.0.2.7 -> 7.2.0.192.in-addr.arpa."""
    return ".".join(reversed(domain.node.ip.split("."))) + ".in-addr.arpa"


def node_address(domain: Domain) -> dict[str, dict[str, list[str]]]:
    """The provider's own record: the node's host name resolves (autoconfig CNAMEs point at it)."""
    return {domain.node.hostname: {"A": [domain.node.ip]}}


def test_domain_stays_pending_until_its_token_is_in_dns(app: Flask, make: Factory) -> None:
    domain = pending_domain(make)
    owner = make.staff_actor(customer=domain.customer)
    with serving(app, {"owned.example": {"TXT": ['"v=spf1 -all"']}}) as server:
        with pytest.raises(Invalid, match="no such record"):
            ownership.verify_ownership(owner, domain.id)
        server.records = {**server.records, "_tegami-verify.owned.example": {"TXT": ['"tegami-verify=wrong"']}}
        with pytest.raises(Invalid, match="not the expected one"):
            ownership.verify_ownership(owner, domain.id)
        assert db.session.get(Domain, domain.id).status is DomainStatus.PENDING

        server.records = {**server.records, "_tegami-verify.owned.example": {
            "TXT": ['"tegami-verify=wrong"', f'"tegami-verify={domain.verify_token}"']}}
        assert ownership.verify_ownership(owner, domain.id).status is DomainStatus.ACTIVE
    db.session.expire_all()
    assert db.session.get(Domain, domain.id).status is DomainStatus.ACTIVE


def test_ownership_refusal_names_servfail_and_timeout(app: Flask, make: Factory) -> None:
    domain = pending_domain(make)
    with serving(app, {}) as server:
        server.failing = {f"_tegami-verify.{domain.name}"}
        with pytest.raises(Invalid, match="SERVFAIL"):
            ownership.verify_ownership(make.system, domain.id)
    with silent_nameserver(app), pytest.raises(Invalid, match="timed out"):
        ownership.verify_ownership(make.system, domain.id)
    assert db.session.get(Domain, domain.id).status is DomainStatus.PENDING


def test_publishing_the_zone_snippet_turns_every_check_green(app: Flask, make: Factory) -> None:
    domain = pending_domain(make, "green.example")
    with serving(app, node_address(domain)) as server:
        publish(server, zone_snippet(domain, []))
        key = dkim_keys.create_key(make.system, domain.id)
        publish(server, zone_snippet(domain, [key]).split("\n", 1)[1])
        dkim_keys.activate_key(make.system, key.id)
        assert statuses(domain) == {kind: "ok" for kind in
                                    ("verify", "mx", "spf", "dkim", "dmarc", "autoconfig", "autodiscover", "ptr")}
        check = dns_health.last_check(domain.id)
        assert check is not None
        dmarc = next(line for line in check.results if line["kind"] == "dmarc")
        assert dmarc["detail"] == "none" and dmarc["found"][0].startswith("v=DMARC1")
        spf = next(line for line in check.results if line["kind"] == "spf")
        assert spf["detail"] == f"pass ({domain.node.ip})"


def test_each_check_goes_red_on_a_wrong_or_missing_record(app: Flask, make: Factory) -> None:
    domain = make.domain(name="red.example")
    other_key = dkim_keys.create_key(make.system, make.domain(name="other.example").id, "ed25519-sha256")
    key = dkim_keys.create_key(make.system, domain.id)
    zone = {
        "red.example": {"MX": ["10 mx.elsewhere.example."], "TXT": ['"v=spf1 ip4:203.0.113.9 -all"']},
        f"{key.selector}._domainkey.red.example": {"TXT": [f'"{other_key.record_value}"']},
        "_dmarc.red.example": {"TXT": ['"not a policy"']},
        "autoconfig.red.example": {"TXT": ['"no address here"']},
        ptr_name(domain): {"PTR": ["mail.elsewhere.example."]},
    }
    with serving(app, zone):
        assert statuses(domain) == {"mx": "wrong", "spf": "wrong", "dkim": "wrong", "dmarc": "missing",
                                    "autoconfig": "missing", "autodiscover": "missing", "ptr": "wrong"}
    spf = next(line for line in dns_health.last_check(domain.id).results if line["kind"] == "spf")
    assert spf["detail"].startswith("fail")


def test_servfail_and_timeout_are_shown_as_such_not_as_missing(app: Flask, make: Factory, login_as, english) -> None:
    domain = make.domain(name="flaky.example")
    client = login_as(make.user(Role.CUSTOMER, customer=domain.customer))
    with serving(app, {"flaky.example": {"MX": [f"10 {domain.node.hostname}."]}}) as server:
        server.failing = {"flaky.example", "_dmarc.flaky.example"}
        assert client.post(f"/dns/{domain.id}/check").status_code == 302
    results = dns_health.last_check(domain.id).results
    assert [line["kind"] for line in results] == ["mx", "spf", "dkim", "dmarc", "autoconfig", "autodiscover", "ptr"]
    lines = {line["kind"]: line["status"] for line in results}
    assert lines["mx"] == lines["spf"] == lines["dmarc"] == "servfail" and lines["dkim"] == "missing"
    assert lines["autoconfig"] == "missing"
    page = client.get(f"/dns/{domain.id}").get_data(as_text=True)
    assert page.count("DNS server failure (SERVFAIL)") == 3

    with silent_nameserver(app):
        assert client.post(f"/dns/{domain.id}/check").status_code == 302
    page = client.get(f"/dns/{domain.id}").get_data(as_text=True)
    assert set(line["status"] for line in dns_health.last_check(domain.id).results) == {"timeout", "missing"}
    assert page.count("DNS timed out") == 6 and "Missing" in page  # the missing one: no DKIM key yet


def test_zone_snippet_download_lists_every_record(app: Flask, make: Factory, login_as) -> None:
    domain = pending_domain(make, "zone.example")
    key = dkim_keys.create_key(make.system, domain.id, "ed25519-sha256")
    client = login_as(make.user(Role.CUSTOMER, customer=domain.customer))
    response = client.get(f"/dns/{domain.id}/zone.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    node = domain.node
    for line in (f"_tegami-verify.zone.example. 3600 IN TXT \"tegami-verify={domain.verify_token}\"",
                 f"zone.example. 3600 IN MX 10 {node.hostname}.",
                 f"zone.example. 3600 IN TXT \"v=spf1 mx ip4:{node.ip} -all\"",
                 f"{key.selector}._domainkey.zone.example. 3600 IN TXT \"v=DKIM1; k=ed25519; p={key.public_key}\"",
                 "_dmarc.zone.example. 3600 IN TXT \"v=DMARC1; p=none; rua=mailto:postmaster@zone.example\"",
                 f"autoconfig.zone.example. 3600 IN CNAME {node.hostname}.",
                 f"autodiscover.zone.example. 3600 IN CNAME {node.hostname}.",
                 f"{ptr_name(domain)}. 3600 IN PTR {node.hostname}."):
        assert line in text.splitlines()


def test_health_page_shows_expected_and_found_records(app: Flask, make: Factory, login_as, english) -> None:
    domain = pending_domain(make, "page.example")
    client = login_as(make.user(Role.CUSTOMER, customer=domain.customer))
    with serving(app, {"page.example": {"MX": ["10 mx.elsewhere.example."]}}):
        client.post(f"/dns/{domain.id}/check")
        page = client.get(f"/dns/{domain.id}").get_data(as_text=True)
        assert f"tegami-verify={domain.verify_token}" in page  # the record to publish
        assert "10 mx.elsewhere.example" in page and f"page.example. 3600 IN MX 10 {domain.node.hostname}." in page
        response = client.post(f"/dns/{domain.id}/verify", follow_redirects=True)
        assert "DNS has no such record at _tegami-verify.page.example yet" in response.get_data(as_text=True)
    assert f"/dns/{domain.id}" in client.get(f"/domains/{domain.id}").get_data(as_text=True)


def test_daily_job_checks_every_domain_and_activates_verified_ones(app: Flask, make: Factory) -> None:
    waiting = pending_domain(make, "waiting.example")
    ready = pending_domain(make, "ready.example")
    with serving(app, {"_tegami-verify.ready.example": {"TXT": [f'"tegami-verify={ready.verify_token}"']}}):
        result = app.test_cli_runner().invoke(args=["domains", "check-dns", "--json"])
    assert result.exit_code == 0, result.output
    assert {row["domain"] for row in json.loads(result.output)} == {"waiting.example", "ready.example"}
    db.session.expire_all()
    assert db.session.get(Domain, ready.id).status is DomainStatus.ACTIVE
    assert db.session.get(Domain, waiting.id).status is DomainStatus.PENDING
    assert dns_health.last_check(waiting.id) is not None


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)  # the judgement does not touch the database
@pytest.mark.parametrize("spf", [
    '"v=spf1 include:loop.hostile.example -all"',  # includes itself forever
    '"v=spf1 include:%{l}.%{zz}bad -all"',  # macros, one invalid
    '"v=spf1 a:' + "x" * 70 + '.example ip4:999.1.1.1 -all"',  # label too long, impossible address
    '"v=spf1 redirect=" "v=spf1 +all"',  # two strings, empty redirect
])
def test_hostile_records_are_judged_not_crashed_on(app: Flask, make: Factory, spf: str) -> None:
    domain = make.domain(name="hostile.example")
    zone = {
        "hostile.example": {"TXT": [spf, '"\\255\\254 binary"']},
        "loop.hostile.example": {"TXT": ['"v=spf1 include:hostile.example -all"']},
        "_dmarc.hostile.example": {"TXT": ['"v=DMARC1"']},
    }
    with serving(app, zone):
        lines = statuses(domain)
    assert lines["spf"] == "wrong" and lines["dmarc"] == "ok"


def test_admin_is_told_how_to_skip_the_ownership_check(app: Flask, make: Factory, login_as, english) -> None:
    domain = pending_domain(make, "skip.example")
    page = login_as(make.user(Role.ADMIN)).get(f"/dns/{domain.id}").get_data(as_text=True)
    assert "As an admin you may skip the check" in page and f"tegami-verify={domain.verify_token}" in page
