"""Fixtures shared by the maild tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.maild.dns_server import DnsServer


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    """A loopback DNS server that knows no names: the SPF check of incoming mail gets NXDOMAIN at
    once instead of waiting on a real resolver. A module needing records defines its own `dns`."""
    with DnsServer({}).running() as server:
        yield server
