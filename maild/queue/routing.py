"""Where mail for a domain goes: MX lookup (RFC 5321 section 5.1) with dnspython's async resolver.

MX hosts are tried in preference order (equal preferences shuffled to spread load); a domain
without MX records falls back to its own A/AAAA (the implicit MX); a null MX (RFC 7505) and a
domain that does not exist are permanent failures; a DNS timeout or SERVFAIL is temporary. An
optional smarthost (`host:port`) takes all mail instead. The resolver comes from
`Server.resolver` ("ip" or "ip:port" entries, empty for the system's resolv.conf) so tests can
point it at a DNS server on loopback; `Server.outbound_port` is the port dialled on MX hosts.
"""
from __future__ import annotations

import asyncio
import ipaddress
import random
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

from maild.config import Server
from maild.net import split_host_port
from maild.queue.outcome import DNS_TEMPORARY, NO_SUCH_DOMAIN, NULL_MX, Outcome

MAX_HOPS = 10  # addresses tried per delivery, like Postfix's smtp_mx_address_limit
DNS_LIFETIME = 20.0  # seconds for one lookup, retries included


@dataclass(frozen=True)
class Hop:
    """One address to try: `name` is the MX host (for logs and Remote-MTA), `address` its IP."""

    name: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}[{self.address}]:{self.port}"


class RouteError(Exception):
    """No address to try now; `outcome` says whether that is permanent or temporary."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.diagnostic)
        self.outcome = outcome


def _ip(text: str) -> str | None:
    """`text` as a normalised IP address, or None when it is a host name."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _resolver(nameservers: tuple[str, ...]) -> dns.asyncresolver.Resolver:
    if not nameservers:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*split_host_port(entry, 53)) for entry in nameservers
        ]
    resolver.lifetime = DNS_LIFETIME
    return resolver


def _temporary(what: str, error: Exception) -> RouteError:
    return RouteError(Outcome(DNS_TEMPORARY, f"DNS lookup of {what} failed: {error}"))


class Router:
    """Routes for one `Server` configuration (build a new one when the config changes)."""

    def __init__(self, server: Server) -> None:
        self.port = server.outbound_port
        self.smarthost = split_host_port(server.smarthost, 25) if server.smarthost else None
        self.resolver = _resolver(server.resolver)

    async def route(self, domain: str) -> list[Hop]:
        """The addresses to try for mail to `domain`, best first; RouteError when there are none."""
        if self.smarthost:
            host, port = self.smarthost
            return await self._hops([host], port, implicit=False)
        if domain.startswith("[") and domain.endswith("]"):
            return [self._literal(domain)]
        try:
            answer = await self.resolver.resolve(domain, "MX")
        except dns.resolver.NXDOMAIN:
            raise RouteError(Outcome(NO_SUCH_DOMAIN, f"domain {domain} does not exist")) from None
        except dns.resolver.NoAnswer:
            return await self._hops([domain], self.port, implicit=True)
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as error:
            raise _temporary(f"MX {domain}", error) from None
        except dns.exception.DNSException as error:  # a malformed name: never deliverable
            raise RouteError(Outcome(NO_SUCH_DOMAIN, f"bad domain {domain}: {error}")) from None
        records = list(answer)
        if any(record.exchange == dns.name.root for record in records):
            raise RouteError(Outcome(NULL_MX, f"domain {domain} accepts no mail (null MX)"))
        random.shuffle(records)
        records.sort(key=lambda record: record.preference)  # stable: equal preferences stay shuffled
        hosts = [record.exchange.to_text(omit_final_dot=True).lower() for record in records]
        return await self._hops(hosts[:MAX_HOPS], self.port, implicit=False)  # a hostile zone lists 1000s

    def _literal(self, domain: str) -> Hop:
        """An address literal such as `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 4.1.3)."""
        text = domain[1:-1]
        address = _ip(text[5:] if text.lower().startswith("ipv6:") else text)
        if address is None:
            raise RouteError(Outcome(NO_SUCH_DOMAIN, f"bad address literal {domain}"))
        return Hop(domain, address, self.port)

    async def _hops(self, hosts: list[str], port: int, *, implicit: bool) -> list[Hop]:
        """Addresses of `hosts` in order (IPv4 first per host); RouteError if none resolves."""
        results = await asyncio.gather(*(self._addresses(host) for host in hosts), return_exceptions=True)
        hops: list[Hop] = []
        temporary: RouteError | None = None
        for host, result in zip(hosts, results):
            if isinstance(result, RouteError):
                temporary = result
            elif isinstance(result, BaseException):
                raise result
            else:
                hops.extend(Hop(host, address, port) for address in result)
        if hops:
            return hops[:MAX_HOPS]
        if temporary is not None:
            raise temporary
        if implicit:
            raise RouteError(Outcome(NO_SUCH_DOMAIN, f"domain {hosts[0]} has no MX and no address"))
        raise RouteError(Outcome(DNS_TEMPORARY, f"no address for mail host(s) {', '.join(hosts)}"))

    async def _addresses(self, host: str) -> list[str]:
        """A then AAAA addresses of `host` (an IP literal is its own address)."""
        literal = _ip(host)
        if literal is not None:
            return [literal]
        addresses: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self.resolver.resolve(host, rdtype)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except (dns.resolver.NoNameservers, dns.exception.Timeout) as error:
                raise _temporary(f"{rdtype} {host}", error) from None
            except dns.exception.DNSException:  # a malformed host name in someone's MX: skip it
                continue
            addresses.extend(record.to_text() for record in answer)
        return addresses
