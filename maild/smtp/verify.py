"""SPF (pyspf) and DKIM (dkimpy) checks of incoming mail, as an Authentication-Results header.

Both libraries are synchronous and query DNS, so they run in a worker thread, through the node's
configured nameservers (Config.server.resolver) with short timeouts. pyspf has no per-call
resolver argument: its module-level lookup is replaced once by one that reads the resolver from
a context variable, which `asyncio.to_thread` carries into the thread. An SPF check whose DNS
answers are all in the resolver's cache (a sender seen within their TTLs) runs on the event loop
instead: it costs tens of microseconds, less than handing it to a thread and back.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import dkim
import dns.exception
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import spf

from maild.net import split_host_port
from maild.smtp.trace import header_safe

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

LOOKUP_TIMEOUT = 5.0  # seconds per DNS query
_resolver: contextvars.ContextVar[dns.resolver.Resolver] = contextvars.ContextVar("resolver")
SPF_MEMO_ENTRIES = 10_000
SPF_MEMO_SECONDS = 300.0  # the longest a result is reused, whatever its answers' TTLs


@dataclass
class _CacheOnly:
    """A check restricted to cached answers: whether it needed one that was not cached, and
    when the first of those it used expires."""

    missed: bool = False
    expires: float = float("inf")


_cache_only: contextvars.ContextVar[_CacheOnly | None] = contextvars.ContextVar("cache_only", default=None)
_DKIM_TAG = re.compile(rb"(?:^|;)\s*([ds])\s*=\s*([^;\s]+)")


def make_resolver(nameservers: tuple[str, ...]) -> dns.resolver.Resolver:
    """A resolver for the bundle's nameservers (`ip`, `ip:port`, `[v6]:port`), the same syntax
    the outbound queue reads; the system's resolver when none are configured."""
    if not nameservers:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*split_host_port(entry, 53)) for entry in nameservers]
    resolver.lifetime = LOOKUP_TIMEOUT
    return resolver


def _current_resolver() -> dns.resolver.Resolver:
    """The resolver set for this check; the system's for a caller outside `_with_resolver`."""
    return _resolver.get(None) or dns.resolver.get_default_resolver()


class _NotCached(Exception):
    """A cache-only check needed an answer the resolver has not cached."""


def _cached_answer(resolver: dns.resolver.Resolver, name: str, qtype: str) -> dns.resolver.Answer | None:
    """The answer `resolver.resolve(name, qtype)` would take from its cache (an answer, an empty
    answer or NXDOMAIN, each kept for its TTL); None when it would send a query."""
    if resolver.cache is None:
        return None
    qname = dns.name.from_text(name)
    answer = resolver.cache.get((qname, dns.rdatatype.from_text(qtype), dns.rdataclass.IN))
    if answer is not None:
        return answer
    negative = resolver.cache.get((qname, dns.rdatatype.ANY, dns.rdataclass.IN))
    if negative is not None and negative.response.rcode() == dns.rcode.NXDOMAIN:
        return negative
    return None


def _resolve(resolver: dns.resolver.Resolver, name: str, qtype: str, timeout: float) -> Iterable[Any]:
    """The records of `name`/`qtype`: in a cache-only check from the cache alone (never a query
    on the event loop, even if the entry expires meanwhile), otherwise through the resolver."""
    cache_only = _cache_only.get()
    if cache_only is None:
        try:
            return resolver.resolve(name, qtype, lifetime=min(timeout, LOOKUP_TIMEOUT), search=False)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            return ()
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
            raise spf.TempError(f"DNS {error}") from error
    answer = _cached_answer(resolver, name, qtype)
    if answer is None:
        cache_only.missed = True  # noted too: pyspf swallows errors in a few optional lookups
        raise _NotCached(name)
    cache_only.expires = min(cache_only.expires, float(answer.expiration))
    if answer.rrset is None or answer.rrset.rdtype != dns.rdatatype.from_text(qtype):
        return ()  # NXDOMAIN or no data (or, for CNAMEs, nothing past the chain)
    return answer.rrset


def _spf_lookup(name: str, qtype: str, strict: bool = True, timeout: float = LOOKUP_TIMEOUT) -> list[tuple]:
    """pyspf's DNSLookup contract, answered by the resolver of the current context."""
    records: list[tuple] = []
    for rdata in _resolve(_current_resolver(), name, qtype, timeout):
        if qtype in ("A", "AAAA"):
            records.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            records.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            records.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            records.append(((name, qtype), rdata.strings))
    return records


spf.DNSLookup = _spf_lookup


def _dkim_txt(name: bytes | str, timeout: float = LOOKUP_TIMEOUT) -> bytes | None:
    """dkimpy's dnsfunc contract: the TXT record's joined strings, or None."""
    resolver = _current_resolver()
    qname = name.decode() if isinstance(name, bytes) else name
    try:
        answers = resolver.resolve(qname, "TXT", lifetime=min(timeout, LOOKUP_TIMEOUT), search=False)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
        return None
    except dns.exception.Timeout as error:
        raise dkim.DnsTimeoutError(str(error)) from error
    for rdata in answers:
        return b"".join(rdata.strings)
    return None


@dataclass(frozen=True)
class Peer:
    ip: str
    helo: str
    mail_from: str  # "" for the null sender


def check_spf(peer: Peer) -> str:
    """`spf=<result> smtp.mailfrom=...` (RFC 7208; the HELO identity for the null sender)."""
    identity = peer.mail_from or f"postmaster@{peer.helo}"
    prop = f"smtp.mailfrom={identity}" if peer.mail_from else f"smtp.helo={peer.helo}"
    try:
        result, _explanation = spf.check2(i=peer.ip, s=identity, h=peer.helo, timeout=LOOKUP_TIMEOUT * 2)
    except _NotCached:
        raise
    except Exception:
        log.exception("SPF check failed for %s", identity)
        result = "temperror"
    return f"spf={result} {prop}"


def signed(message: bytes) -> bool:
    """Whether the header has a DKIM-Signature field: a cheap test that spares dkimpy's full
    parse of every unsigned message."""
    end = message.find(b"\r\n\r\n")
    header = (message if end < 0 else message[:end + 2]).lower()
    return header.startswith(b"dkim-signature:") or b"\ndkim-signature:" in header


def check_dkim(message: bytes) -> list[str]:
    """One `dkim=...` result per DKIM-Signature (RFC 8601), or `dkim=none` when unsigned."""
    if not signed(message):
        return ["dkim=none"]
    try:
        verifier = dkim.DKIM(message, timeout=int(LOOKUP_TIMEOUT))
        signatures = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    except dkim.DKIMException:
        return ["dkim=permerror (unparsable message)"]
    results: list[str] = []
    for index, signature in enumerate(signatures):
        tags = dict(_DKIM_TAG.findall(signature.replace(b"\r\n", b"")))
        domain = tags.get(b"d", b"").decode("ascii", "replace")
        selector = tags.get(b"s", b"").decode("ascii", "replace")
        try:
            outcome = "pass" if verifier.verify(idx=index, dnsfunc=_dkim_txt) else "fail"
        except dkim.DnsTimeoutError:
            outcome = "temperror"
        except dkim.ValidationError:  # hashes that do not match, or a signature that does not verify
            outcome = "fail"
        except dkim.DKIMException:  # no key, a malformed key or signature: cannot be evaluated
            outcome = "permerror"
        except Exception:  # dkimpy raises assorted errors on hostile signatures
            log.warning("DKIM verification crashed on signature %d", index, exc_info=True)
            outcome = "permerror"
        results.append(f"dkim={outcome} header.d={domain} header.s={selector}")
    return results or ["dkim=none"]


def _with_resolver(check: Callable[[T], R], subject: T, resolver: dns.resolver.Resolver) -> R:
    _resolver.set(resolver)
    return check(subject)


class _SpfMemo:
    """SPF results by resolver and peer, each kept until the first DNS answer it used expires:
    the same answers give the same result, so a repeat sender costs a dictionary lookup."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[dns.resolver.Resolver, Peer], tuple[str, float]] = OrderedDict()

    def get(self, key: tuple[dns.resolver.Resolver, Peer]) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= time.time():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: tuple[dns.resolver.Resolver, Peer], result: str, expires: float) -> None:
        self._entries[key] = (result, min(expires, time.time() + SPF_MEMO_SECONDS))
        self._entries.move_to_end(key)
        if len(self._entries) > SPF_MEMO_ENTRIES:
            self._entries.popitem(last=False)


_spf_memo = _SpfMemo()


def _cached_spf(peer: Peer, resolver: dns.resolver.Resolver) -> tuple[str, float] | None:
    """`check_spf` from cached answers only (run in a context of its own) and when the first of
    them expires; None if it needed a query."""
    cache_only = _CacheOnly()
    _resolver.set(resolver)
    _cache_only.set(cache_only)
    try:
        result = check_spf(peer)
    except _NotCached:
        return None
    return None if cache_only.missed else (result, cache_only.expires)


async def spf_result(peer: Peer, resolver: dns.resolver.Resolver) -> str:
    """The SPF result for a sender (start it at the first accepted RCPT): remembered while its
    DNS answers live, else computed on the loop when the resolver's cache holds every answer it
    needs, else off the loop (which fills the cache for the next message)."""
    key = (resolver, peer)
    remembered = _spf_memo.get(key)
    if remembered is not None:
        return remembered
    cached = contextvars.copy_context().run(_cached_spf, peer, resolver)
    if cached is None:
        return await asyncio.to_thread(_with_resolver, check_spf, peer, resolver)
    result, expires = cached
    if not result.startswith("spf=temperror"):
        _spf_memo.put(key, result, expires)
    return result


async def dkim_results(message: bytes, resolver: dns.resolver.Resolver) -> list[str]:
    """The DKIM results for a message, computed off the loop when it is signed at all."""
    if not signed(message):
        return ["dkim=none"]
    return await asyncio.to_thread(_with_resolver, check_dkim, message, resolver)


def authentication_results(authserv_id: str, results: list[str]) -> bytes:
    """The `Authentication-Results:` header field (CRLF-terminated)."""
    folded = ";\r\n\t".join(header_safe(result) for result in results)
    return f"Authentication-Results: {authserv_id};\r\n\t{folded}\r\n".encode()
