"""A domain's DNS health: each expected record looked up and judged, the result kept.

Each line says what should be published (zone-file form), what DNS returned and a status:
ok, wrong (present but not what mail needs), missing, or timeout/servfail when DNS could not
tell. Checks run on demand (the health page) and daily (`flask domains check-dns`).
Storing a check is bookkeeping, not a configuration change, so it is not audited.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from panel.extensions import db
from panel.models import DkimKey, DnsCheck, Domain
from panel.services import spf_check
from panel.services.access import get_visible, require_role, scope
from panel.services.actor import Actor
from panel.services.dkim_keys import domain_keys, record_matches
from panel.services.dns_records import Record, expected_records
from panel.services.domains import STAFF
from panel.services.errors import Invalid
from panel.services.ownership import verify_ownership
from panel.services.resolver import Answer, Outcome, Resolver, resolver
from panel.services.transaction import unit_of_work

log = logging.getLogger(__name__)
OK, WRONG, MISSING = "ok", "wrong", "missing"


@dataclass(frozen=True)
class Line:
    kind: str
    name: str
    rtype: str
    expected: str  # the zone-file line to publish
    found: list[str]  # what DNS returned
    status: str  # ok, wrong, missing, timeout, servfail
    detail: str = ""  # a fact worth showing: the DMARC policy, the SPF result, the key's state


def _judge(record: Record, answer: Answer, good: Callable[[list[str]], bool], detail: str = "") -> Line:
    if answer.failed:
        status = answer.outcome.value
    elif answer.outcome is Outcome.MISSING:
        status = MISSING
    else:
        status = OK if good(answer.texts) else WRONG
    return Line(record.kind, record.name, record.rtype, record.bind(), answer.texts, status, detail)


def _only(answer: Answer, wanted: Callable[[str], bool]) -> tuple[Answer, list[str]]:
    """The answer narrowed to the TXT records `wanted` keeps (SPF and DMARC live among other TXT):
    none kept is a missing record, unless the lookup itself failed."""
    kept = [text for text in answer.texts if wanted(text)]
    return Answer(answer.outcome if kept or answer.failed else Outcome.MISSING, answer.records), kept


def _spf_line(record: Record, lookup: Resolver, domain: Domain) -> Line:
    """OK when the one SPF policy passes the node's address."""
    answer, policies = _only(lookup.lookup(record.name, "TXT"), lambda text: text.lower().split(" ", 1)[0] == "v=spf1")
    line = replace(_judge(record, answer, bool), found=policies)
    if line.status != OK:
        return line
    if len(policies) > 1:
        return replace(line, status=WRONG, detail="permerror: more than one SPF record")
    verdict = spf_check.evaluate(lookup, domain.node.ip, domain.name, domain.node.hostname)
    if verdict.failure is not None:
        return replace(line, status=verdict.failure.value, detail=verdict.explanation)
    passed = verdict.result == "pass"
    detail = f"pass ({domain.node.ip})" if passed else f"{verdict.result}: {verdict.explanation}"
    return replace(line, status=OK if passed else WRONG, detail=detail)


def _names(expected: str) -> Callable[[list[str]], bool]:
    """Whether a host name (MX exchange, PTR target) among the answers is `expected`."""
    return lambda texts: any(text.split()[-1].lower() == expected for text in texts)


def _tag(text: str, name: str) -> str:
    for part in text.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def _dkim_line(record: Record, lookup: Resolver, key: DkimKey) -> Line:
    answer = lookup.lookup(record.name, "TXT")
    return _judge(record, answer, lambda texts: any(record_matches(key, text) for text in texts), key.state.value)


def _dmarc_line(record: Record, lookup: Resolver) -> Line:
    """Any DMARC record is OK; its policy (p=) is shown."""
    answer, policies = _only(lookup.lookup(record.name, "TXT"),
                             lambda text: text.replace(" ", "").upper().startswith("V=DMARC1"))
    line = _judge(record, answer, bool, detail=_tag(policies[0], "p") if policies else "")
    return replace(line, found=policies)


def run_checks(domain: Domain, lookup: Resolver) -> list[Line]:
    """Every check of `domain`, in the order of its expected records."""
    keys = {key.selector: key for key in domain_keys(domain.id)}
    hostname = domain.node.hostname
    lines = []
    for record in expected_records(domain, keys.values()):
        if record.kind == "spf":
            lines.append(_spf_line(record, lookup, domain))
        elif record.kind in ("mx", "ptr"):
            lines.append(_judge(record, lookup.lookup(record.name, record.rtype), _names(hostname)))
        elif record.kind == "dkim":
            lines.append(_dkim_line(record, lookup, keys[record.name.split(".", 1)[0]]))
        elif record.kind == "dmarc":
            lines.append(_dmarc_line(record, lookup))
        elif record.kind in ("autoconfig", "autodiscover"):
            lines.append(_judge(record, _addresses(lookup, record.name), bool))
        else:  # verify
            lines.append(_judge(record, lookup.lookup(record.name, "TXT"), lambda texts: record.value in texts))
    if not keys:  # nothing to publish yet, but mail goes out unsigned: a red line where DKIM goes
        after_spf = next(index for index, line in enumerate(lines) if line.kind == "spf") + 1
        lines.insert(after_spf, Line("dkim", f"_domainkey.{domain.name}", "TXT", "", [], MISSING, "no key"))
    return lines


def _addresses(lookup: Resolver, name: str) -> Answer:
    """A and, failing that, AAAA records: a name "resolves" with either."""
    answer = lookup.lookup(name, "A")
    return lookup.lookup(name, "AAAA") if answer.outcome is Outcome.MISSING else answer


def _store(domain_id: int, lines: list[Line]) -> DnsCheck:
    with unit_of_work():
        check = db.session.scalar(select(DnsCheck).where(DnsCheck.domain_id == domain_id))
        if check is None:
            check = DnsCheck(domain_id=domain_id)
            db.session.add(check)
        check.checked_at = datetime.now(timezone.utc)
        check.results = [asdict(line) for line in lines]
    return check


def check_domain(actor: Actor, domain_id: int) -> DnsCheck:
    """Look up every record of the domain now and keep the result."""
    require_role(actor, *STAFF)
    domain = get_visible(actor, Domain, domain_id)
    return _store(domain.id, run_checks(domain, resolver()))


def last_check(domain_id: int) -> DnsCheck | None:
    return db.session.scalar(select(DnsCheck).where(DnsCheck.domain_id == domain_id))


def check_every_domain(actor: Actor) -> list[tuple[Domain, DnsCheck]]:
    """The daily job: check every domain the actor sees (all, for the operator), and activate
    pending ones whose token has appeared."""
    require_role(actor, *STAFF)
    lookup = resolver()
    results = []
    visible = scope(actor, select(Domain).options(joinedload(Domain.node)).order_by(Domain.name))
    for domain in list(db.session.scalars(visible)):
        lines = run_checks(domain, lookup)
        if any(line.kind == "verify" and line.status == OK for line in lines):
            try:
                verify_ownership(actor, domain.id)
            except Invalid as error:  # the record vanished between the two lookups
                log.warning("ownership of %s not confirmed: %s", domain.name, error)
        results.append((domain, _store(domain.id, lines)))
    return results
