"""The DNS records a hosted domain should publish, in the copy-paste form a zone file takes.

Pure data from the database rows (no lookups): the health page shows each as "expected", and the
downloadable zone snippet is all of them, in BIND syntax.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from panel.models import DkimKey, Domain, DomainStatus, Node
from panel.services.resolver import Answer, Outcome, reverse_name

TTL = 3600
TXT_CHUNK = 255  # longest character-string in a TXT record (RFC 1035 3.3)
VERIFY_LABEL = "_tegami-verify"


@dataclass(frozen=True)
class Record:
    """`kind` names the check: verify, mx, spf, dkim, dmarc, autoconfig, autodiscover, ptr."""

    kind: str
    name: str  # absolute, without the final dot
    rtype: str
    value: str  # TXT: the text; MX/CNAME/PTR: target host names without the final dot

    def rdata(self) -> str:
        if self.rtype == "TXT":
            chunks = [self.value[i:i + TXT_CHUNK] for i in range(0, len(self.value), TXT_CHUNK)] or [""]
            return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)
        if self.rtype == "MX":
            preference, _, host = self.value.partition(" ")
            return f"{preference} {host}."
        return f"{self.value}."

    def bind(self) -> str:
        """One zone-file line."""
        return f"{self.name}. {TTL} IN {self.rtype} {self.rdata()}"


def ownership_record(domain: Domain) -> Record:
    return Record("verify", f"{VERIFY_LABEL}.{domain.name}", "TXT", f"tegami-verify={domain.verify_token}")


def spf_value(node: Node) -> str:
    """Authorise the domain's MX hosts and the node's own address; refuse everyone else."""
    mechanism = "ip6" if ":" in node.ip else "ip4"
    return f"v=spf1 mx {mechanism}:{node.ip} -all"


def dkim_record(domain: Domain, key: DkimKey) -> Record:
    return Record("dkim", f"{key.selector}._domainkey.{domain.name}", "TXT", key.record_value)


def expected_records(domain: Domain, keys: Iterable[DkimKey]) -> list[Record]:
    """Every record of the domain, in the order the health page lists its checks.

    The ownership record only while the domain is pending; every key still kept (pending,
    active, retired) stays published.
    """
    node = domain.node
    records = [ownership_record(domain)] if domain.status is DomainStatus.PENDING else []
    records += [
        Record("mx", domain.name, "MX", f"10 {node.hostname}"),
        Record("spf", domain.name, "TXT", spf_value(node)),
        *(dkim_record(domain, key) for key in keys),
        Record("dmarc", f"_dmarc.{domain.name}", "TXT", f"v=DMARC1; p=none; rua=mailto:postmaster@{domain.name}"),
        Record("autoconfig", f"autoconfig.{domain.name}", "CNAME", node.hostname),
        Record("autodiscover", f"autodiscover.{domain.name}", "CNAME", node.hostname),
        Record("ptr", reverse_name(node.ip), "PTR", node.hostname),
    ]
    return records


def zone_snippet(domain: Domain, keys: Iterable[DkimKey]) -> str:
    """The records as BIND zone-file lines; the PTR belongs in the reverse zone of the node's address."""
    lines = [f"; {_l('Mail records for %(domain)s, served by %(node)s', domain=domain.name, node=domain.node.hostname)}"]
    for record in expected_records(domain, keys):
        if record.kind == "ptr":
            lines.append(f"; {_l('In the reverse zone of %(ip)s (ask whoever runs that address):', ip=domain.node.ip)}")
        lines.append(record.bind())
    return "\n".join(lines) + "\n"


def not_published_message(answer: Answer, name: str) -> str:
    """Why a record could not be confirmed, without calling a DNS failure "missing"."""
    if answer.outcome is Outcome.TIMEOUT:
        return str(_l("The DNS lookup of %(name)s timed out; try again later.", name=name))
    if answer.outcome is Outcome.SERVFAIL:
        return str(_l("The DNS servers failed to answer for %(name)s (SERVFAIL); try again later.", name=name))
    if answer.outcome is Outcome.MISSING:
        return str(_l("DNS has no such record at %(name)s yet. Publish it, then try again once it is visible.",
                      name=name))
    return str(_l("The record at %(name)s is not the expected one.", name=name))
