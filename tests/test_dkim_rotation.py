"""DKIM key rotation: switching waits for DNS; old and new selectors both verify during the overlap."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from flask import Flask
from flask_babel import force_locale

from maild.bundle import load_bundle
from maild.config import DkimKey as BundleDkimKey
from maild.smtp.signing import dkim_signature
from panel.extensions import db
from panel.models import DkimKey, DkimState
from panel.services import dkim_keys
from panel.services.dns_records import zone_snippet
from panel.services.errors import Invalid, NotFound
from tests.dns_support import dkim_dnsfunc, publish, serving
from tests.factories import Factory

MESSAGE = (b"From: taro@rotate.example\r\nTo: hanako@example.jp\r\nSubject: rotation\r\n"
           b"Date: Sat, 28 Nov 2026 12:00:00 +0900\r\nMessage-ID: <r1@rotate.example>\r\n\r\nhello\r\n")


@pytest.fixture(autouse=True)
def in_english(ctx: None) -> Iterator[None]:
    with force_locale("en"):
        yield


def signed_with(key: DkimKey, domain: str) -> bytes:
    """MESSAGE signed the way maild signs it, with `key`."""
    bundle_key = BundleDkimKey(key.selector, key.algorithm, dkim_keys.private_key_pem(key))
    return asyncio.run(dkim_signature(MESSAGE, domain, bundle_key)) + MESSAGE


def signing_selector(app: Flask, node_name: str, domain: str) -> str | None:
    """The selector of the key the node's bundle tells maild to sign with."""
    key = load_bundle(Path(app.config["BUNDLE_DIR"]) / node_name).domains[domain].dkim
    return key.selector if key else None


def test_rotation_switches_only_once_dns_shows_the_new_key(app: Flask, make: Factory) -> None:
    domain = make.domain(name="rotate.example")
    node = domain.node.name
    with serving(app, {}) as server:
        old = dkim_keys.create_key(make.system, domain.id)
        assert old.selector.startswith("tg") and old.state is DkimState.PENDING
        with pytest.raises(Invalid, match="no such record"):
            dkim_keys.activate_key(make.system, old.id)
        assert signing_selector(app, node, "rotate.example") is None
        publish(server, zone_snippet(domain, [old]))
        dkim_keys.activate_key(make.system, old.id)
        assert signing_selector(app, node, "rotate.example") == old.selector

        new = dkim_keys.create_key(make.system, domain.id, "ed25519-sha256")
        assert new.selector != old.selector
        with pytest.raises(Invalid, match="already waiting"):
            dkim_keys.create_key(make.system, domain.id)
        with pytest.raises(Invalid, match="no such record"):
            dkim_keys.activate_key(make.system, new.id)
        server.records = {**server.records, f"{new.selector}._domainkey.rotate.example": {"TXT": ['"v=DKIM1; k=ed25519; p=AAAA"']}}
        with pytest.raises(Invalid, match="not the expected one"):
            dkim_keys.activate_key(make.system, new.id)
        assert db.session.get(DkimKey, old.id).state is DkimState.ACTIVE
        assert signing_selector(app, node, "rotate.example") == old.selector

        del server.records[f"{new.selector}._domainkey.rotate.example"]
        publish(server, zone_snippet(domain, [new]).split("\n", 1)[1])
        dkim_keys.activate_key(make.system, new.id)
        db.session.expire_all()
        assert (db.session.get(DkimKey, old.id).state, db.session.get(DkimKey, new.id).state) == (
            DkimState.RETIRED, DkimState.ACTIVE)
        assert signing_selector(app, node, "rotate.example") == new.selector

        # The overlap: mail signed with either key, still in transit, verifies.
        dnsfunc = dkim_dnsfunc(server)
        for key in (old, new):
            signed = signed_with(key, "rotate.example")
            assert f"s={key.selector};".encode() in signed
            assert dkim.verify(signed, dnsfunc=dnsfunc), key.selector

        with pytest.raises(Invalid, match="switch to a new key"):
            dkim_keys.delete_key(make.system, new.id)
        dkim_keys.delete_key(make.system, old.id)
        assert [key.selector for key in dkim_keys.domain_keys(domain.id)] == [new.selector]
        assert signing_selector(app, node, "rotate.example") == new.selector


def test_another_customers_staff_cannot_touch_the_keys(app: Flask, make: Factory) -> None:
    domain = make.domain(name="mine.example")
    key = dkim_keys.create_key(make.system, domain.id, "ed25519-sha256")
    stranger = make.staff_actor(customer=make.customer())
    for action in (lambda: dkim_keys.create_key(stranger, domain.id), lambda: dkim_keys.activate_key(stranger, key.id),
                   lambda: dkim_keys.delete_key(stranger, key.id)):
        with pytest.raises(NotFound):
            action()
    assert [k.id for k in dkim_keys.domain_keys(domain.id)] == [key.id]
