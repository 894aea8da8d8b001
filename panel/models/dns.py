"""What the panel keeps about a domain's DNS: its DKIM keys and the last health check."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.models.base import Base, UTCDateTime, utcnow
from panel.models.mail import Domain


class DkimState(str, enum.Enum):
    """A key's life: published but not yet used, signing, kept published after a rotation."""

    PENDING = "pending"
    ACTIVE = "active"
    RETIRED = "retired"


class DkimKey(Base):
    """One DKIM key pair of a domain; at most one is active (the one maild signs with)."""

    __tablename__ = "dkim_key"
    __table_args__ = (UniqueConstraint("domain_id", "selector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), index=True)
    selector: Mapped[str] = mapped_column(String(63))
    algorithm: Mapped[str] = mapped_column(String(16))  # "rsa-sha256" or "ed25519-sha256"
    # PKCS#8 PEM, Fernet-encrypted with the "storage" key; never shown to anyone.
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)  # the p= value of the DNS record (base64)
    state: Mapped[DkimState] = mapped_column(
        Enum(DkimState, native_enum=False, length=16), default=DkimState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def key_type(self) -> str:
        """The k= tag: "rsa" or "ed25519"."""
        return self.algorithm.partition("-")[0]

    @property
    def record_value(self) -> str:
        """The TXT record to publish at `<selector>._domainkey.<domain>`."""
        return f"v=DKIM1; k={self.key_type}; p={self.public_key}"


class DnsCheck(Base):
    """The last DNS health check of a domain: one row per domain, replaced by each check."""

    __tablename__ = "dns_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), unique=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One dict per line: key, name, type, expected, found, status, detail (services/dns_health.py).
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    domain: Mapped[Domain] = relationship()

    @property
    def problems(self) -> list[str]:
        """`kind: status` of every line that is not OK."""
        return [f"{line['kind']}: {line['status']}" for line in self.results if line["status"] != "ok"]
