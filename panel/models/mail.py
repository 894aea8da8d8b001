"""Domains, mailboxes and aliases: what a customer configures and maild serves."""
from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.models.accounts import Customer
from panel.models.base import Base, IDNAName, UTCDateTime, to_unicode, utcnow
from panel.models.enums import DomainStatus
from panel.models.nodes import Node


class Domain(Base):
    __tablename__ = "domain"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(IDNAName, unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"), index=True)
    # Cleanup policy in days (maild expunges old Trash/Junk, archives old INBOX); None: the plan's.
    trash_days: Mapped[int | None] = mapped_column(Integer)
    archive_days: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[DomainStatus] = mapped_column(
        Enum(DomainStatus, native_enum=False, length=16), default=DomainStatus.PENDING
    )
    # The owner proves control by publishing it at _tegami-verify.<name> (services/ownership.py).
    verify_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    # Set by an admin for litigation: the archive keeps everything past the plan's retention.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()
    node: Mapped[Node] = relationship()

    @property
    def display_name(self) -> str:
        return to_unicode(self.name)


class Mailbox(Base):
    __tablename__ = "mailbox"
    __table_args__ = (UniqueConstraint("domain_id", "local_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), index=True)
    local_part: Mapped[str] = mapped_column(String(64), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    quota_bytes: Mapped[int] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    apop_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # APOP needs a secret the server can recompute: Fernet-encrypted, only while APOP is on.
    apop_secret: Mapped[str | None] = mapped_column(Text)
    # Reported by maild (usage issue); zero until the first report arrives.
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # The quota warning level (80 or 95) maild last sent; 0 once usage falls back below 80%.
    quota_warning: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Self-service: forwarding (IDNA addresses) and the vacation auto-reply maild sends.
    forward_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    forward_keep_copy: Mapped[bool] = mapped_column(Boolean, default=True)
    vacation_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    vacation_subject: Mapped[str] = mapped_column(String(200), default="")
    vacation_body: Mapped[str] = mapped_column(Text, default="")
    vacation_start: Mapped[date | None] = mapped_column(Date)
    vacation_end: Mapped[date | None] = mapped_column(Date)
    vacation_interval_days: Mapped[int] = mapped_column(Integer, default=7)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    domain: Mapped[Domain] = relationship()

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.domain.name}"

    @property
    def display_email(self) -> str:
        return f"{self.local_part}@{self.domain.display_name}"

    @property
    def used_percent(self) -> float:
        return 100.0 * self.used_bytes / self.quota_bytes if self.quota_bytes else 0.0


class AppPassword(Base):
    """A separate password for one mail client, revocable on its own; only its hash is kept."""

    __tablename__ = "app_password"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mailbox: Mapped[Mailbox] = relationship()


class Alias(Base):
    """`local_part@domain` (or the catch-all `@domain`, local part '') -> destinations."""

    __tablename__ = "alias"
    __table_args__ = (UniqueConstraint("domain_id", "local_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), index=True)
    local_part: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    domain: Mapped[Domain] = relationship()
    destinations: Mapped[list[AliasDestination]] = relationship(
        cascade="all, delete-orphan", order_by="AliasDestination.id"
    )

    @property
    def is_catch_all(self) -> bool:
        return self.local_part == ""

    @property
    def source(self) -> str:
        return f"{self.local_part}@{self.domain.name}"

    @property
    def display_source(self) -> str:
        return f"{self.local_part}@{self.domain.display_name}"


class AliasDestination(Base):
    __tablename__ = "alias_destination"
    __table_args__ = (UniqueConstraint("alias_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alias_id: Mapped[int] = mapped_column(ForeignKey("alias.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320))
