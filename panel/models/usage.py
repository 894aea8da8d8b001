"""Usage history kept from maild's reports: one sample per mailbox and day, traffic per domain and day."""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from panel.models.base import Base


class UsageSample(Base):
    """A mailbox's storage on one day (the last report of the day wins) and what cleanup freed."""

    __tablename__ = "usage_sample"
    __table_args__ = (UniqueConstraint("mailbox_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    freed_messages: Mapped[int] = mapped_column(Integer, default=0)
    freed_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class DomainTraffic(Base):
    """Messages delivered into (`messages_in`) and sent out from (`messages_out`) a domain on one day."""

    __tablename__ = "domain_traffic"
    __table_args__ = (UniqueConstraint("domain_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    messages_in: Mapped[int] = mapped_column(Integer, default=0)
    messages_out: Mapped[int] = mapped_column(Integer, default=0)
