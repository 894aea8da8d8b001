"""Declarative base, naming conventions and the column types shared by all models."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def to_idna(name: str) -> str:
    """Lower-case ASCII (punycode) form of a domain name; raises ValueError if invalid."""
    name = name.strip().rstrip(".").lower()
    if not name:
        raise ValueError("empty domain name")
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"invalid domain name: {name}") from exc


def to_unicode(name: str) -> str:
    """Display form of a stored IDNA domain name."""
    try:
        return name.encode("ascii").decode("idna")
    except UnicodeError:
        return name


class IDNAName(TypeDecorator[str]):
    """A domain name stored lower-case IDNA (punycode) whatever form it was given in."""

    impl = String(253)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return to_idna(value) if value is not None else None
