"""Whether a domain's SPF policy authorises an address: pyspf's evaluation, our resolver.

pyspf reads DNS through one module-level function, which maild replaces for its own use;
overriding the query's `dns` method instead keeps the panel's lookups apart from maild's and
lets a DNS failure be told apart (timeout, SERVFAIL) from a policy that says no.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import spf

from panel.services.resolver import Outcome, Resolver

LOOKUP_SECONDS = 20  # for the whole evaluation, includes and redirects together


@dataclass(frozen=True)
class SpfResult:
    result: str  # pass, fail, softfail, neutral, none, permerror, temperror (RFC 7208)
    explanation: str
    failure: Outcome | None  # for temperror: the DNS outcome that caused it


class _Query(spf.query):  # type: ignore[misc]
    def __init__(self, lookup: Resolver, ip: str, domain: str, helo: str) -> None:
        super().__init__(i=ip, s=f"postmaster@{domain}", h=helo, querytime=LOOKUP_SECONDS)
        self.lookup = lookup
        self.failure: Outcome | None = None

    def dns(self, name: str, qtype: str, cnames: Any = None, ignore_void: bool = False) -> list[Any]:
        """pyspf's lookup contract: the records' values (cached per query), void lookups counted."""
        key = (str(name).rstrip(".").lower(), qtype)
        if key not in self.cache:
            answer = self.lookup.lookup(key[0], qtype)
            if answer.failed:
                self.failure = answer.outcome
                raise spf.TempError(f"DNS {answer.outcome.value} for {key[0]}")
            self.cache[key] = [_value(qtype, record) for record in answer.records]
        result: list[Any] = self.cache[key]
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result


def _value(qtype: str, record: Any) -> Any:
    """A record in the shape pyspf's own lookups give it."""
    if qtype in ("A", "AAAA"):
        return record.address
    if qtype == "MX":
        return record.preference, record.exchange
    if qtype == "PTR":
        return record.target.to_text(True)
    return record.strings  # TXT, SPF


def evaluate(lookup: Resolver, ip: str, domain: str, helo: str) -> SpfResult:
    """The SPF result for mail from `domain` sent by `ip` (introducing itself as `helo`)."""
    query = _Query(lookup, ip, domain, helo)
    result, _code, explanation = query.check()
    return SpfResult(result, explanation, query.failure if result == "temperror" else None)
