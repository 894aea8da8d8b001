"""maild's usage reports into the database: mailbox counters, daily samples, traffic, warnings.

A report (format: `maild/usage.py`, docs/usage.md) arrives from the local state directory
(`flask usage collect`) or from a remote node through `POST /api/nodes/<name>/usage` with that
node's token. A node only ever updates its own mailboxes and domains: ids it does not host are
ignored. Counters are updated in bulk (one executemany), samples upserted per mailbox and day.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Integer, Subquery, Table, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from panel.extensions import db
from panel.models import Domain, DomainTraffic, Mailbox, Node, Role, UsageSample
from panel.services import audit
from panel.services.access import get_visible, require_role
from panel.services.actor import Actor
from panel.services.errors import Invalid, NotFound
from panel.services.transaction import unit_of_work

BATCH = 5000  # rows per executemany: bounded memory, few round trips


@dataclass(frozen=True)
class Report:
    """A validated report: every number a non-negative int, every date a real date."""

    node: str
    day: date
    mailboxes: list[tuple[int, int, int]]  # id, bytes, messages
    traffic: list[tuple[str, date, int, int]]  # domain, day, in, out
    cleanup: list[tuple[int, int, int]]  # id, messages freed, bytes freed
    warnings: list[tuple[int, int]]  # id, level


@dataclass(frozen=True)
class Applied:
    mailboxes: int
    samples: int
    ignored: int  # ids or domains the node does not host


def _count(value: Any, maximum: int = 2**31 - 1) -> int:
    """A non-negative int that fits its column (message counts: INTEGER; sizes: BIGINT)."""
    if type(value) is not int or not 0 <= value <= maximum:
        raise ValueError(f"expected an integer from 0 to {maximum}")
    return value


def _size(value: Any) -> int:
    return _count(value, 2**63 - 1)


def _rows(data: Mapping[str, Any], key: str, width: int) -> list[list[Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or any(not isinstance(row, list) or len(row) != width for row in rows):
        raise ValueError(f"{key}: expected a list of {width}-item lists")
    return rows


def parse_report(raw: bytes | str) -> Report:
    """Check a report's shape; Invalid with the reason if anything is off (nothing is applied)."""
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("node"), str):
            raise ValueError("not a version 1 usage report")
        day = datetime.fromisoformat(str(data.get("generated"))).date()
        return Report(
            node=data["node"], day=day,
            mailboxes=[(_count(a), _size(b), _count(c)) for a, b, c in _rows(data, "mailboxes", 3)],
            traffic=[(str(name), date.fromisoformat(str(when)), _count(a), _count(b))
                     for name, when, a, b in _rows(data, "traffic", 4)],
            cleanup=[(_count(a), _count(b), _size(c)) for a, b, c in _rows(data, "cleanup", 3)],
            warnings=[(_count(a), _count(b)) for a, b in _rows(data, "warnings", 2)],
        )
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise Invalid("report", _l("Not a usage report: %(reason)s", reason=str(error))) from None


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _batches(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start:start + BATCH]


def _arrays(batch: Sequence[dict[str, Any]], types: Mapping[str, Any]) -> Subquery:
    """PostgreSQL: the rows as parallel arrays unnested into a table, so a batch is one statement
    (an executemany there costs a round trip per row)."""
    return select(*(func.unnest(bindparam(name, [row[name] for row in batch], type_=ARRAY(kind))).label(name)
                    for name, kind in types.items())).subquery()


def _upsert(table: Table, rows: Sequence[dict[str, Any]], keys: list[str], replace: list[str], add: list[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: `replace` columns take the new value, `add` ones sum."""
    for batch in _batches(rows):
        if _postgres():
            source = _arrays(batch, {name: table.c[name].type for name in batch[0]})
            stmt = postgresql.insert(table).from_select(list(batch[0]), select(source))
        else:
            stmt = sqlite.insert(table)
        values = {name: stmt.excluded[name] for name in replace}
        values.update({name: table.c[name] + stmt.excluded[name] for name in add})
        upsert = stmt.on_conflict_do_update(index_elements=keys, set_=values)
        db.session.execute(upsert, None if _postgres() else batch)


def _update_counters(counters: Sequence[dict[str, Any]]) -> None:
    """Set used bytes and messages; a mailbox back under 80% has its warning re-armed."""
    for batch in _batches(counters):
        source: Any = _arrays(batch, {"b_id": Integer(), "b_bytes": BigInteger(), "b_count": Integer()}).c \
            if _postgres() else {name: bindparam(name) for name in ("b_id", "b_bytes", "b_count")}
        below_first_level = source["b_bytes"] * 100 < Mailbox.quota_bytes * 80
        changed = (Mailbox.used_bytes != source["b_bytes"]) | (Mailbox.message_count != source["b_count"])
        stmt = (update(Mailbox).where(Mailbox.id == source["b_id"], changed)  # unchanged rows cost no write
                .values(used_bytes=source["b_bytes"], message_count=source["b_count"],
                        quota_warning=case((below_first_level, 0), else_=Mailbox.quota_warning))
                .execution_options(synchronize_session=False))
        db.session.connection().execute(stmt, None if _postgres() else batch)


def apply_report(node: Node, report: Report) -> Applied:
    """Write one report of `node` (the caller commits)."""
    hosted = set(db.session.scalars(select(Mailbox.id).join(Domain, Mailbox.domain_id == Domain.id)
                                    .where(Domain.node_id == node.id)))
    counters = [{"b_id": id_, "b_bytes": used, "b_count": count}
                for id_, used, count in report.mailboxes if id_ in hosted]
    _update_counters(counters)
    warned = [{"b_id": id_, "b_level": level} for id_, level in report.warnings if id_ in hosted]
    if warned:
        db.session.connection().execute(
            update(Mailbox).where(Mailbox.id == bindparam("b_id")).values(quota_warning=bindparam("b_level"))
            .execution_options(synchronize_session=False), warned)
    freed = {id_: (messages, size) for id_, messages, size in report.cleanup if id_ in hosted}
    samples = [{"mailbox_id": id_, "day": report.day, "used_bytes": used, "message_count": count,
                "freed_messages": freed.get(id_, (0, 0))[0], "freed_bytes": freed.get(id_, (0, 0))[1]}
               for id_, used, count in report.mailboxes if id_ in hosted]
    _upsert(UsageSample.__table__, samples, ["mailbox_id", "day"], ["used_bytes", "message_count"],
            ["freed_messages", "freed_bytes"])
    domains = {name: id_ for name, id_ in db.session.execute(select(Domain.name, Domain.id).where(Domain.node_id == node.id))}
    traffic = [{"domain_id": domains[name], "day": day, "messages_in": count_in, "messages_out": count_out}
               for name, day, count_in, count_out in report.traffic if name in domains]
    _upsert(DomainTraffic.__table__, traffic, ["domain_id", "day"], [], ["messages_in", "messages_out"])
    ignored = len(report.mailboxes) - len(counters) + len(report.traffic) - len(traffic)
    return Applied(mailboxes=len(counters), samples=len(samples), ignored=ignored)


def receive(node_name: str, token: str, raw: bytes) -> Applied:
    """A report pushed by a remote node over the API, authenticated by the node's token."""
    node = db.session.scalar(select(Node).where(Node.name == node_name))
    if node is None or not node.usage_token_hash or not hmac.compare_digest(node.usage_token_hash, token_hash(token)):
        raise NotFound(_l("Unknown node or wrong token."))
    report = parse_report(raw)
    if report.node != node.name:
        raise Invalid("node", _l("The report is for another node."))
    with unit_of_work():
        return apply_report(node, report)


def outbox_reports(data_dir: Path) -> Iterator[Path]:
    """Report files maild left in its state directory, oldest first."""
    yield from sorted((data_dir / "usage" / "outbox").glob("[0-9]*.json"))


def collect(data_dir: Path) -> list[tuple[Path, Applied | Invalid]]:
    """Apply every waiting report of this machine's maild and delete it; a bad one is kept aside."""
    nodes = {node.name: node for node in db.session.scalars(select(Node))}
    results: list[tuple[Path, Applied | Invalid]] = []
    for path in outbox_reports(data_dir):
        try:
            report = parse_report(path.read_bytes())
            node = nodes.get(report.node)
            if node is None:
                raise Invalid("node", _l("No node named %(name)s.", name=report.node))
            with unit_of_work():
                results.append((path, apply_report(node, report)))
            path.unlink()
        except Invalid as error:
            path.rename(path.with_suffix(".rejected"))
            results.append((path, error))
    return results


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_node_token(actor: Actor, node_id: int) -> str:
    """A new usage token for a remote node (shown once; only its hash is kept)."""
    require_role(actor, Role.ADMIN)
    node = get_visible(actor, Node, node_id)
    token = secrets.token_urlsafe(32)
    with unit_of_work():
        node.usage_token_hash = token_hash(token)
        audit.record(actor, "node.usage_token", node)
    return token
