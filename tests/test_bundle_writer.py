"""The panel writes each node's bundle by itself after every committed change, and only then."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from maild.bundle import load_bundle
from maild.config import Config, Listener
from panel.bundle.build import listeners_from_env
from panel.extensions import db
from panel.models import Mailbox, Node, Tier
from panel.services import certificates, domains, mailboxes, plans, secrets
from panel.services.errors import Invalid, LimitExceeded
from panel.services.transaction import unit_of_work
from tests.factories import Factory


def bundle(app: Flask, node: Node) -> Config:
    return load_bundle(Path(app.config["BUNDLE_DIR"]) / node.name)


def current_version(app: Flask, node: Node) -> str:
    return os.readlink(Path(app.config["BUNDLE_DIR"]) / node.name / "current")


def test_creating_a_mailbox_writes_its_nodes_bundle_with_the_hash(app: Flask, make: Factory) -> None:
    domain = make.domain(name="example.jp")
    mailbox = make.mailbox(domain, "taro")
    config = bundle(app, domain.node)
    served = config.mailbox("taro@example.jp")
    assert served is not None and served.password_hash == mailbox.password_hash
    assert served.password_hash.startswith("$argon2")
    plan = domain.customer.plan
    assert (served.quota_bytes, served.max_message_bytes, served.sends_per_hour, served.enabled) == \
        (plan.default_quota_bytes, plan.max_message_bytes, plan.sends_per_hour, True)
    assert config.domains["example.jp"].status == "active"
    assert config.server.node == domain.node.name and config.server.hostname == domain.node.hostname
    assert {(listener.kind, listener.port) for listener in config.server.listeners} >= {("mx", 2525), ("imaps", 1993)}


def test_a_mailbox_created_again_at_its_address_is_told_apart(app: Flask, make: Factory) -> None:
    domain = make.domain(name="example.jp")
    deleted = make.mailbox(domain, "taro")
    before = bundle(app, domain.node).mailbox("taro@example.jp")
    mailboxes.delete_mailbox(make.system, deleted.id)
    again = make.mailbox(domain, "taro")
    after = bundle(app, domain.node).mailbox("taro@example.jp")
    assert before is not None and after is not None and after.id == again.id
    # SQLite may hand the newest deleted row's id to the next one: the creation time still differs.
    assert after.created > before.created > 0


def test_password_change_reaches_the_bundle(app: Flask, make: Factory) -> None:
    mailbox = make.mailbox()
    before = bundle(app, mailbox.domain.node)
    mailboxes.set_password(make.system, mailbox.id, "a brand new passphrase")
    after = bundle(app, mailbox.domain.node)
    assert after.serial > before.serial
    assert after.mailbox(mailbox.email).password_hash == mailbox.password_hash != \
        before.mailbox(mailbox.email).password_hash


def test_apop_secret_travels_encrypted(app: Flask, make: Factory) -> None:
    mailbox = make.mailbox(make.domain(make.customer(make.plan(allow_apop=True))))
    assert bundle(app, mailbox.domain.node).mailbox(mailbox.email).apop_secret is None
    mailboxes.set_apop(make.system, mailbox.id, True, Factory.PASSWORD)
    token = bundle(app, mailbox.domain.node).mailbox(mailbox.email).apop_secret
    assert token is not None and Factory.PASSWORD not in token
    assert secrets.decrypt(token) == Factory.PASSWORD


def test_certificates_reach_the_nodes_that_serve_them(app: Flask, make: Factory) -> None:
    domain = make.domain(name="example.jp")
    node = domain.node
    other = make.node()
    provider = certificates.create_self_signed(make.system, [node.hostname], key_type="ec")
    customer = certificates.create_self_signed(make.system, ["mail.example.jp"], domain.customer_id, key_type="ec")
    certificates.create_csr(make.system, ["pending.example.jp"], domain.customer_id, key_type="ec")
    served = bundle(app, node).server.tls
    assert [c.names for c in served] == [(node.hostname,), ("mail.example.jp",)]  # the node's own first
    assert served[0].cert_pem == provider.cert_pem and "PRIVATE KEY" in served[0].key_pem
    assert served[1].key_pem == certificates.private_key_pem(customer)
    assert bundle(app, other).server.tls == ()
    certificates.delete_certificate(make.system, customer.id)
    assert [c.names for c in bundle(app, node).server.tls] == [(node.hostname,)]


def test_refused_service_call_writes_nothing(app: Flask, make: Factory) -> None:
    domain = make.domain(make.customer(make.plan(max_mailboxes=1)))
    make.mailbox(domain, "first")
    version = current_version(app, domain.node)
    with pytest.raises(LimitExceeded):
        make.mailbox(domain, "second")
    assert current_version(app, domain.node) == version
    assert bundle(app, domain.node).mailbox(f"second@{domain.name}") is None


def test_rolled_back_flush_is_forgotten(app: Flask, make: Factory) -> None:
    domain = make.domain()
    version = current_version(app, domain.node)
    with pytest.raises(RuntimeError), unit_of_work():
        db.session.add(Mailbox(domain=domain, local_part="ghost", password_hash="x", quota_bytes=1))
        db.session.flush()
        raise RuntimeError("refused after the flush")
    db.session.commit()
    assert current_version(app, domain.node) == version
    assert bundle(app, domain.node).mailbox(f"ghost@{domain.name}") is None


def test_node_name_cannot_escape_the_bundle_directory(app: Flask, make: Factory,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(Invalid) as refused:  # the service refuses such a name outright
        make.node(name="../escape")
    assert refused.value.field == "name"
    db.session.add(Node(name="../escape", hostname="mx.escape.test", ip="192.0.2.9", tier=Tier.SHARED))
    db.session.commit()  # a row that bypassed the service still cannot escape
    assert not (Path(app.config["BUNDLE_DIR"]).parent / "escape").exists()
    assert "cannot name a bundle directory" in caplog.text


def test_two_nodes_get_separate_bundles(app: Flask, make: Factory) -> None:
    first_node, second_node = make.node(), make.node()
    first = make.domain(name="first.example")
    make.mailbox(first, "a")
    second = make.domain(name="second.example")
    make.mailbox(second, "b")
    assert {first.node_id, second.node_id} == {first_node.id, second_node.id}
    first_bundle, second_bundle = bundle(app, first.node), bundle(app, second.node)
    assert list(first_bundle.mailboxes) == ["a@first.example"] and list(first_bundle.domains) == ["first.example"]
    assert list(second_bundle.mailboxes) == ["b@second.example"] and list(second_bundle.domains) == ["second.example"]


def test_domain_moved_to_another_node_leaves_the_old_bundle(app: Flask, make: Factory) -> None:
    domain = make.domain(name="moving.example")
    make.mailbox(domain, "a")
    old, new = domain.node, make.node()
    domain.node_id = new.id
    db.session.commit()
    assert not bundle(app, old).mailboxes
    assert list(bundle(app, new).mailboxes) == ["a@moving.example"]


def test_deleting_a_domain_removes_its_mailboxes_and_aliases(app: Flask, make: Factory) -> None:
    domain = make.domain(name="gone.example")
    make.mailbox(domain, "a")
    make.alias(domain, "", ["a@gone.example"])
    assert "@gone.example" in bundle(app, domain.node).aliases
    node = domain.node
    domains.delete_domain(make.system, domain.id)
    config = bundle(app, node)
    assert not config.domains and not config.mailboxes and not config.aliases


def test_plan_change_rewrites_the_bundles_of_its_customers(app: Flask, make: Factory) -> None:
    mailbox = make.mailbox()
    plan = mailbox.domain.customer.plan
    spec = plans.PlanSpec(name=plan.name, sends_per_hour=5, max_message_bytes=plan.max_message_bytes,
                          default_quota_bytes=plan.default_quota_bytes)
    plans.update_plan(make.system, plan.id, spec)
    assert bundle(app, mailbox.domain.node).mailbox(mailbox.email).sends_per_hour == 5


def test_usage_counters_do_not_rewrite_bundles(app: Flask, make: Factory) -> None:
    mailbox = make.mailbox()
    version = current_version(app, mailbox.domain.node)
    mailbox.used_bytes = 4096
    db.session.execute(update(Mailbox).where(Mailbox.id == mailbox.id).values(message_count=3))
    db.session.commit()
    assert current_version(app, mailbox.domain.node) == version


def test_bulk_update_of_bundled_column_rewrites_the_bundle(app: Flask, make: Factory) -> None:
    mailbox = make.mailbox()
    db.session.execute(update(Mailbox).where(Mailbox.id == mailbox.id).values(enabled=False))
    db.session.commit()
    assert bundle(app, mailbox.domain.node).mailbox(mailbox.email).enabled is False


def test_cli_rewrites_every_nodes_bundle(app: Flask, make: Factory) -> None:
    nodes = [make.node(), make.node()]
    before = {node.name: bundle(app, node).serial for node in nodes}
    result = app.test_cli_runner().invoke(args=["bundle", "write"])
    assert result.exit_code == 0, result.output
    for node in nodes:
        serial = bundle(app, node).serial
        assert serial > before[node.name] and f"{node.name}: serial {serial}" in result.output


def test_listeners_and_server_settings_come_from_app_config(app: Flask, make: Factory) -> None:
    listeners = (Listener("mx", "127.0.0.1", 40025),)
    app.config.update(MAILD_LISTENERS=listeners, MAILD_SERVER={"smarthost": "127.0.0.1:2626"})
    node = make.node()
    config = bundle(app, node)
    assert config.server.listeners == listeners and config.server.smarthost == "127.0.0.1:2626"


def test_environment_overrides_the_development_ports() -> None:
    listeners = listeners_from_env({"TEGAMI_MX_PORT": "25", "TEGAMI_MAILD_HOST": "0.0.0.0"})
    assert Listener("mx", "0.0.0.0", 25) in listeners and Listener("pop3s", "0.0.0.0", 1995) in listeners
    with pytest.raises(ValueError, match="TEGAMI_IMAP_PORT must be a port number"):
        listeners_from_env({"TEGAMI_IMAP_PORT": "imap"})
