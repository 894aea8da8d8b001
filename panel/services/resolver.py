"""The panel's one door to DNS: a dnspython resolver configured from the app.

`DNS_NAMESERVERS` ("ip" or "ip:port" strings; empty means the system's resolvers) and
`DNS_TIMEOUT` (seconds per lookup) come from the app config, so tests point every lookup at a
loopback server. Answers tell a missing record apart from a server that timed out or failed:
a broken nameserver must never be reported to the customer as "you have not published it".
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.name
import dns.resolver
import dns.reversename
from flask import current_app

DEFAULT_TIMEOUT = 5.0


class Outcome(str, enum.Enum):
    OK = "ok"
    MISSING = "missing"  # NXDOMAIN or no record of that type (NODATA)
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"  # every nameserver answered with an error


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    records: tuple[Any, ...] = ()  # dnspython rdata objects, only when OK

    @property
    def failed(self) -> bool:
        """A lookup that could not say whether the record exists."""
        return self.outcome in (Outcome.TIMEOUT, Outcome.SERVFAIL)

    @property
    def texts(self) -> list[str]:
        """The records as they would appear in a zone file (TXT strings joined, names without the dot)."""
        return [record_text(record) for record in self.records]


def record_text(record: Any) -> str:
    if hasattr(record, "strings"):
        return b"".join(record.strings).decode("utf-8", "replace")
    return str(record.to_text()).rstrip(".")


class Resolver:
    """Lookups through the configured nameservers, each bounded by `timeout` seconds in all."""

    def __init__(self, nameservers: list[str] | tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT) -> None:
        if nameservers:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [_host(server) for server in nameservers]
            self._resolver.nameserver_ports = {_host(s): int(s.rpartition(":")[2]) for s in nameservers if _host(s) != s}
        else:
            self._resolver = dns.resolver.Resolver()
        self._resolver.lifetime = timeout

    def lookup(self, name: str, rdtype: str) -> Answer:
        """`rdtype` records at `name` (absolute; CNAMEs followed)."""
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:  # not a valid DNS name (a hostile record pointing anywhere)
            return Answer(Outcome.MISSING)
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return Answer(Outcome.MISSING)
        except dns.exception.Timeout:
            return Answer(Outcome.TIMEOUT)
        except dns.exception.DNSException:  # every server failed, or answered something unusable
            return Answer(Outcome.SERVFAIL)
        return Answer(Outcome.OK, tuple(answer))

    def reverse(self, ip: str) -> Answer:
        """PTR records of an IPv4 or IPv6 address."""
        return self.lookup(reverse_name(ip), "PTR")


def reverse_name(ip: str) -> str:
    return str(dns.reversename.from_address(ip)).rstrip(".")


def _host(server: str) -> str:
    """`1.2.3.4:5353` -> `1.2.3.4`; a bare address (IPv6 has several colons) stays as it is."""
    return server.rpartition(":")[0] if server.count(":") == 1 else server


def resolver() -> Resolver:
    """The resolver the app is configured with."""
    config = current_app.config
    return Resolver(config.get("DNS_NAMESERVERS") or (), float(config.get("DNS_TIMEOUT") or DEFAULT_TIMEOUT))
