"""Aliases and catch-alls."""
from __future__ import annotations

import pytest

from panel.services import aliases
from panel.services.actor import Actor
from panel.services.errors import Invalid


def test_catch_all_and_multiple_destinations(make):
    domain = make.domain()
    box = make.mailbox(domain, "sales")
    alias = make.alias(domain, "*", [box.email, "Partner@Example.ORG", box.email])
    assert alias.is_catch_all and alias.source == f"@{domain.name}"
    assert [d.address for d in alias.destinations] == [box.email, "partner@example.org"]


def test_alias_cannot_shadow_a_mailbox_or_another_alias(make):
    domain = make.domain()
    make.mailbox(domain, "info")
    with pytest.raises(Invalid) as refused:
        make.alias(domain, "info")
    assert refused.value.field == "local_part"
    make.alias(domain, "sales")
    with pytest.raises(Invalid):
        make.alias(domain, "SALES")


def test_destination_in_own_domain_must_exist(make):
    domain = make.domain()
    with pytest.raises(Invalid) as refused:
        make.alias(domain, "team", [f"nobody@{domain.name}"])
    assert "nobody@" in str(refused.value)


def test_alias_to_itself_and_empty_destinations_are_refused(make):
    domain = make.domain()
    make.mailbox(domain, "a")
    with pytest.raises(Invalid):
        make.alias(domain, "loop", [f"loop@{domain.name}"])
    with pytest.raises(Invalid):
        aliases.create_alias(Actor.system(), domain.id, "empty", ["  ", ""])


def test_a_chain_of_aliases_back_to_its_start_is_refused(make):
    domain = make.domain()
    box = make.mailbox(domain, "a")
    first = make.alias(domain, "first", [box.email])
    second = make.alias(domain, "second", [first.source])
    make.alias(domain, "third", [second.source])
    with pytest.raises(Invalid) as refused:
        aliases.update_alias(Actor.system(), first.id, [f"third@{domain.name}", box.email])
    assert refused.value.field == "destinations"
    assert f"first@{domain.name} would come back to it through third@{domain.name}" in str(refused.value)
    # A chain that ends in a mailbox, or leaves the node, is fine however long.
    aliases.update_alias(Actor.system(), first.id, [box.email, "out@elsewhere.example"])


def test_update_replaces_destinations(make):
    domain = make.domain()
    alias = make.alias(domain, "x", ["one@elsewhere.example", "two@elsewhere.example"])
    updated = aliases.update_alias(Actor.system(), alias.id, ["two@elsewhere.example", "three@elsewhere.example"])
    assert [d.address for d in updated.destinations] == ["two@elsewhere.example", "three@elsewhere.example"]
