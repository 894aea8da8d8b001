"""Mail servers running maild, each fed its own config bundle."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.models.base import Base, IDNAName, UTCDateTime, utcnow
from panel.models.enums import Tier


class Node(Base):
    __tablename__ = "node"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    hostname: Mapped[str] = mapped_column(IDNAName)
    ip: Mapped[str] = mapped_column(String(45))
    tier: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=16))
    max_mailboxes: Mapped[int | None] = mapped_column(Integer)
    storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # SHA-256 of the token a remote node's `maild usage push` sends (services/usage_reports.py).
    usage_token_hash: Mapped[str | None] = mapped_column(String(64))
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
