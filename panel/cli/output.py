"""What commands print: JSON for scripts, aligned tables for people. Secrets never appear."""
from __future__ import annotations

import enum
import json
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import click
from flask_babel import gettext as _
from sqlalchemy import inspect

from panel.models import (
    Alias, Certificate, Customer, DkimKey, DnsCheck, Domain, Mailbox, Node, Plan, Reseller, ResellerPlan, User,
)
from panel.services.limits import format_bytes

# Columns never printed, in JSON or in tables: internal ones, and anything that names a secret
# (password hashes, APOP secrets, private keys, tokens), including columns added later.
INTERNAL = frozenset({"lock_version"})
SECRET_WORDS = ("password", "secret", "private", "hash", "token", "encrypted")


def _hidden(key: str) -> bool:
    return key in INTERNAL or any(word in key for word in SECRET_WORDS)

# Derived values added to a model's columns (addresses in stored IDNA and in display form).
EXTRAS: dict[type, Callable[[Any], dict[str, Any]]] = {
    Reseller: lambda r: {"allowance": r.reseller_plan.name},
    Customer: lambda c: {"plan": c.plan.name},
    Domain: lambda d: {"display_name": d.display_name},
    Mailbox: lambda m: {"address": m.email, "display_address": m.display_email},
    Alias: lambda a: {"source": a.source, "display_source": a.display_source,
                      "catch_all": a.is_catch_all,
                      "destinations": [d.address for d in a.destinations]},
    DnsCheck: lambda c: {"domain": c.domain.display_name, "problems": c.problems},
    DkimKey: lambda k: {"record": k.record_value},
}

# Relationships EXTRAS read, loaded for a whole list in one query each rather than once per row.
EXTRA_LOADS: dict[type, tuple[Any, ...]] = {
    Reseller: (Reseller.reseller_plan,),
    Customer: (Customer.plan,),
    Alias: (Alias.destinations,),
}

# What a list shows as a table; JSON always carries every field.
TABLE_COLUMNS: dict[type, tuple[str, ...]] = {
    Plan: ("id", "name", "tier", "reseller_id", "max_domains", "max_mailboxes", "max_aliases",
           "storage_bytes", "max_quota_bytes", "price_per_mailbox", "currency"),
    ResellerPlan: ("id", "name", "max_customers", "max_domains", "max_mailboxes", "max_aliases",
                   "storage_bytes"),
    Reseller: ("id", "name", "reseller_plan_id", "allowance"),
    Customer: ("id", "name", "reseller_id", "plan_id", "plan"),
    Node: ("id", "name", "hostname", "ip", "tier", "max_mailboxes", "storage_bytes", "customer_id",
           "enabled"),
    Domain: ("id", "display_name", "customer_id", "node_id", "status"),
    Mailbox: ("id", "display_address", "quota_bytes", "used_bytes", "enabled"),
    Alias: ("id", "display_source", "destinations"),
    User: ("id", "email", "name", "role", "reseller_id", "customer_id", "is_active"),
    Certificate: ("id", "source", "hostnames", "issuer", "not_after", "auto_renew", "last_error"),
    DnsCheck: ("domain", "checked_at", "problems"),
    DkimKey: ("id", "selector", "algorithm", "state", "created_at"),
}


@dataclass(frozen=True)
class Deleted:
    """The result of a delete command: what went, named as the operator gave it."""

    id: int
    label: str


def record(obj: Any) -> dict[str, Any]:
    """A model object as a JSON-ready dict: its columns (minus secrets) and derived values."""
    values = {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs
              if not _hidden(attr.key)}
    extras = EXTRAS.get(type(obj))
    if extras is not None:
        values.update(extras(obj))
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value


def _is_limit(key: str) -> bool:
    return key.startswith("max_") or key.endswith("_bytes") or key == "sends_per_hour"


def cell(key: str, value: Any) -> str:
    """One value as a person reads it: sizes with units, None as `unlimited` for limits."""
    if value is None:
        return _("unlimited") if _is_limit(key) else "-"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int) and key.endswith("_bytes"):
        return format_bytes(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide characters (例え.jp) take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, *rows]
    widths = [max(_width(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(text + " " * (width - _width(text))
                               for text, width in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def emit(result: Any, as_json: bool) -> None:
    """Print a command's result: an object, a list of objects, a `Deleted`, or nothing."""
    if result is None:
        return
    if isinstance(result, Deleted):
        data: Any = {"id": result.id, "deleted": True}
        text = _("Deleted %(label)s (id %(id)d).", label=result.label, id=result.id)
    elif isinstance(result, Iterable):
        data, text = _listing(list(result))
    else:
        data = record(result)
        text = _table(["field", "value"], [[key, cell(key, value)] for key, value in data.items()])
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


def _listing(objects: list[Any]) -> tuple[list[dict[str, Any]], str]:
    records = [record(obj) for obj in objects]
    if not objects:
        return records, _("No entries.")
    columns = TABLE_COLUMNS[type(objects[0])]
    header = [column.removeprefix("display_") for column in columns]
    return records, _table(header, [[cell(c, rec[c]) for c in columns] for rec in records])
