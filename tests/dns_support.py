"""Panel DNS tests: a loopback DNS server the panel's resolver is pointed at, and zone helpers."""
from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask

from panel.services.resolver import Resolver
from tests.maild.dns_server import DnsServer

Zone = dict[str, dict[str, list[str]]]


@contextmanager
def serving(app: Flask, zone: Zone) -> Iterator[DnsServer]:
    """`zone` served on loopback, the app's resolver pointed at it (tests change `.records` live)."""
    with DnsServer(zone).running() as server:
        app.config.update(DNS_NAMESERVERS=[server.address], DNS_TIMEOUT=5.0)
        yield server


@contextmanager
def silent_nameserver(app: Flask) -> Iterator[None]:
    """A nameserver that never answers: every lookup times out (quickly, for the test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        app.config.update(DNS_NAMESERVERS=[f"127.0.0.1:{sock.getsockname()[1]}"], DNS_TIMEOUT=0.3)
        yield


def publish(server: DnsServer, snippet: str) -> None:
    """Add the records of a BIND zone snippet (`name ttl IN type rdata` lines) to the server."""
    records = {name: {rtype: list(values) for rtype, values in types.items()} for name, types in server.records.items()}
    for line in snippet.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        name, _ttl, _class, rtype, rdata = line.split(None, 4)
        records.setdefault(name.rstrip(".").lower(), {}).setdefault(rtype, []).append(rdata)
    server.records = records


def dkim_dnsfunc(server: DnsServer) -> Callable[..., bytes | None]:
    """dkimpy's `dnsfunc`: TXT records read from the loopback server."""
    lookup = Resolver([server.address], 5.0)

    def txt(name: bytes, timeout: float = 5.0) -> bytes | None:
        texts = lookup.lookup(name.decode().rstrip("."), "TXT").texts
        return texts[0].encode() if texts else None

    return txt
