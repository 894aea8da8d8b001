"""MX routing against the loopback DNS server: order, fallbacks, and which failures are permanent."""
from __future__ import annotations

import pytest

from maild.config import Server
from maild.queue.routing import Hop, RouteError, Router
from tests.maild.dns_server import DnsServer, Records
from tests.maild.queue_net import async_test, mx

PORT = 2525


async def route(records: Records, domain: str, **server: object) -> list[Hop]:
    async with DnsServer(records) as dns:
        router = Router(Server(node="n", hostname="mx.origin.test", listeners=(), resolver=(dns.address,),
                               outbound_port=PORT, **server))  # type: ignore[arg-type]
        return await router.route(domain)


async def refusal(records: Records, domain: str) -> tuple[str, str]:
    with pytest.raises(RouteError) as error:
        await route(records, domain)
    return error.value.outcome.status, error.value.outcome.diagnostic


@async_test
async def test_mx_hosts_come_in_preference_order_ipv4_first() -> None:
    hops = await route({
        "dest.test": mx((30, "c.dest.test"), (10, "a.dest.test"), (20, "b.dest.test")),
        "a.dest.test": {"A": "127.0.0.1", "AAAA": "::1"},
        "b.dest.test": {"A": "127.0.0.2"},
        "c.dest.test": {"AAAA": "::3"},
    }, "Dest.Test")
    assert [str(hop) for hop in hops] == [
        "a.dest.test[127.0.0.1]:2525", "a.dest.test[::1]:2525", "b.dest.test[127.0.0.2]:2525",
        "c.dest.test[::3]:2525",
    ]


@async_test
async def test_mx_host_without_address_is_skipped() -> None:
    hops = await route({"dest.test": mx((10, "gone.dest.test"), (20, "b.dest.test")),
                        "b.dest.test": {"A": "127.0.0.2"}}, "dest.test")
    assert hops == [Hop("b.dest.test", "127.0.0.2", PORT)]


@async_test
async def test_large_mx_answer_is_fetched_over_tcp() -> None:
    hosts = [(index, f"host-with-a-rather-long-name-{index}.dest.test") for index in range(40)]
    records: dict[str, object] = {"dest.test": mx(*hosts)}
    records.update({name: {"A": f"127.0.1.{index}"} for index, name in hosts})
    hops = await route(records, "dest.test")  # type: ignore[arg-type]
    assert [hop.address for hop in hops] == [f"127.0.1.{index}" for index in range(10)]  # first 10 of 40


@async_test
async def test_address_literal_needs_no_dns() -> None:
    assert await route({}, "[127.0.0.9]") == [Hop("[127.0.0.9]", "127.0.0.9", PORT)]
    assert await route({}, "[IPv6:::1]") == [Hop("[IPv6:::1]", "::1", PORT)]


@async_test
async def test_smarthost_name_is_resolved_and_its_port_used() -> None:
    hops = await route({"relay.test": {"A": "127.0.0.5"}}, "anything.test", smarthost="relay.test:2526")
    assert hops == [Hop("relay.test", "127.0.0.5", 2526)]


@pytest.mark.parametrize(("records", "domain", "status"), [
    pytest.param({"dest.test": mx((0, ""))}, "dest.test", "5.1.10", id="null-mx"),
    pytest.param({}, "dest.test", "5.1.2", id="nxdomain"),
    pytest.param({"dest.test": {"TXT": '"no mail here"'}}, "dest.test", "5.1.2", id="no-mx-no-address"),
    pytest.param({}, "[not-an-ip]", "5.1.2", id="bad-literal"),
    pytest.param({"dest.test": mx((10, "gone.dest.test"))}, "dest.test", "4.4.3", id="mx-host-unresolvable"),
])
@async_test
async def test_unroutable_domains_fail_with_the_right_status(records: Records, domain: str, status: str) -> None:
    assert (await refusal(records, domain))[0] == status


@async_test
async def test_servfail_is_a_temporary_failure() -> None:
    async with DnsServer({"dest.test": mx((10, "mx.dest.test"))}) as dns:
        dns.failing.add("dest.test")
        router = Router(Server(node="n", hostname="h", listeners=(), resolver=(dns.address,)))
        with pytest.raises(RouteError) as error:
            await router.route("dest.test")
    assert error.value.outcome.status == "4.4.3"
    assert not error.value.outcome.permanent
