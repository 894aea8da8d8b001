"""SRS return addresses: made and taken back with this node's key, nothing else gets through."""
from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maild.srs import MAX_AGE_DAYS, InvalidAddress, Srs, is_srs, rewritable

DAY = 86400.0
NOW = 1_795_000_000.0
SRS = Srs(b"0123456789abcdef" * 4)

local_parts = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="@"), min_size=1,
                      max_size=40).filter(lambda local: not is_srs(local))  # those become SRS1: tested below
domains = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True)


@given(local=local_parts, domain=domains)
def test_any_sender_comes_back_unchanged(local: str, domain: str) -> None:
    sender = f"{local}@{domain}"
    return_address = SRS.forward(sender, "fwd.example.jp", now=NOW)
    assert return_address.endswith("@fwd.example.jp")
    assert SRS.reverse(return_address, now=NOW) == sender
    assert SRS.reverse(return_address.upper(), now=NOW).lower() == sender.lower()  # case may change in transit


def test_return_addresses_are_good_for_max_age_days() -> None:
    return_address = SRS.forward("alice@sender.test", "fwd.test", now=NOW)
    assert SRS.reverse(return_address, now=NOW + MAX_AGE_DAYS * DAY) == "alice@sender.test"
    with pytest.raises(InvalidAddress, match="expired"):
        SRS.reverse(return_address, now=NOW + (MAX_AGE_DAYS + 1) * DAY)
    assert SRS.reverse(return_address, now=NOW - DAY) == "alice@sender.test"  # a node's clock a day behind
    with pytest.raises(InvalidAddress, match="expired"):
        SRS.reverse(return_address, now=NOW - 2 * DAY)


def test_the_day_counter_wraps_without_breaking_young_addresses() -> None:
    late_in_cycle = (1020 + 1024 * 20_000) * DAY  # day 1020 of a 1024-day cycle
    return_address = SRS.forward("alice@sender.test", "fwd.test", now=late_in_cycle)
    assert SRS.reverse(return_address, now=late_in_cycle + 10 * DAY) == "alice@sender.test"  # day 6 of the next
    with pytest.raises(InvalidAddress, match="expired"):
        SRS.reverse(return_address, now=late_in_cycle + 30 * DAY)


def test_an_address_works_only_in_the_domain_it_was_made_for() -> None:
    return_address = SRS.forward("alice@sender.test", "customer-a.test", now=NOW)
    with pytest.raises(InvalidAddress, match="hash"):
        SRS.reverse(return_address.replace("@customer-a.test", "@customer-b.test"), now=NOW)


@pytest.mark.parametrize("altered", [
    lambda address: address.replace("=sender.test=", "=sender.tes=t"),  # the same characters, split elsewhere
    lambda address: address.replace("alice@", "mallory@"),
    lambda address: address.replace("=sender.test=", "=victim.test="),
    lambda address: address[:5] + ("A" if address[5] != "A" else "B") + address[6:],  # the hash
])
def test_altered_return_addresses_are_refused(altered) -> None:  # type: ignore[no-untyped-def]
    return_address = SRS.forward("alice@sender.test", "fwd.test", now=NOW)
    with pytest.raises(InvalidAddress):
        SRS.reverse(altered(return_address), now=NOW)


def test_another_key_does_not_take_our_addresses() -> None:
    return_address = SRS.forward("alice@sender.test", "fwd.test", now=NOW)
    with pytest.raises(InvalidAddress, match="hash"):
        Srs(b"another key of enough length!!!!").reverse(return_address, now=NOW)


@pytest.mark.parametrize("address", ["alice@fwd.test", "SRS0=@fwd.test", "SRS0=a=b=c@fwd.test",
                                     "SRS0=ABCDEF=!!=d.test=a@fwd.test", "SRS1=x@fwd.test", "SRS1=ABCDEF=a.test=b@fwd.test"])
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidAddress):
        SRS.reverse(address, now=NOW)


def test_forwarding_twice_names_the_first_forwarder_instead_of_nesting() -> None:
    first = Srs(b"the first forwarder's key, long!").forward("alice@sender.test", "first.test", now=NOW)
    ours = SRS.forward(first, "fwd.test", now=NOW)
    assert ours.startswith("SRS1=") and ours.count("SRS") == 1
    assert SRS.reverse(ours, now=NOW) == first
    again = SRS.forward(ours.replace("@fwd.test", "@third.test"), "fwd.test", now=NOW)
    assert SRS.reverse(again, now=NOW) == first  # a third hop still leads back to the first forwarder


def test_a_sender_that_looks_like_srs_but_is_not_is_wrapped_whole() -> None:
    for sender in ("srs1=nonsense@sender.test", "SRS0=@sender.test"):
        return_address = SRS.forward(sender, "fwd.test", now=NOW)
        assert return_address.startswith("SRS0=")
        assert SRS.reverse(return_address, now=NOW) == sender


@pytest.mark.parametrize(("sender", "plain"), [
    ("alice.smith+tag@sender.test", True),
    ('"john doe"@sender.test', False),  # a quoted local part cannot sit inside another one
    ("al@[192.0.2.1]", False),
    ("a..b@sender.test", False),
])
def test_only_plain_addresses_are_rewritten(sender: str, plain: bool) -> None:
    assert rewritable(sender) is plain


def test_the_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = Srs.load(data)
    key_file = data / "srs.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    return_address = made.forward("alice@sender.test", "fwd.test")
    assert Srs.load(data).reverse(return_address) == "alice@sender.test"  # after a restart
    assert [path.name for path in data.iterdir()] == ["srs.key"]  # no temporary file left behind
    key_file.write_text("short\n")
    with pytest.raises(ValueError, match="no usable SRS key"):
        Srs.load(data)


def test_daemons_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        loaded = list(pool.map(lambda _: Srs.load(tmp_path), range(8)))
    return_address = loaded[0].forward("alice@sender.test", "fwd.test")
    assert {srs.reverse(return_address) for srs in loaded} == {"alice@sender.test"}
