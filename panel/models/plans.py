"""What a customer buys: limits, archiving, tier and price."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from panel.models.base import Base, UTCDateTime, utcnow
from panel.models.enums import Tier


class Plan(Base):
    """A customer plan owned by the provider (`reseller_id` NULL) or by a reseller.

    Every `max_*`/`*_bytes` limit is `None` for unlimited; zero means zero.
    """

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("reseller_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("reseller.id"), index=True)
    max_domains: Mapped[int | None] = mapped_column(Integer)
    max_mailboxes: Mapped[int | None] = mapped_column(Integer)
    max_aliases: Mapped[int | None] = mapped_column(Integer)
    storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    max_quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    default_quota_bytes: Mapped[int] = mapped_column(BigInteger)
    max_message_bytes: Mapped[int] = mapped_column(BigInteger)
    sends_per_hour: Mapped[int | None] = mapped_column(Integer)
    archiving: Mapped[bool] = mapped_column(Boolean, default=False)
    archive_retention_days: Mapped[int] = mapped_column(Integer, default=0)
    allow_apop: Mapped[bool] = mapped_column(Boolean, default=False)
    # Default cleanup policy of the customers' domains, in days; None: never.
    trash_days: Mapped[int | None] = mapped_column(Integer)
    archive_days: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[Tier] = mapped_column(Enum(Tier, native_enum=False, length=16))
    price_per_mailbox: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    setup_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def monthly_total(self, mailboxes: int) -> Decimal:
        return self.price_per_mailbox * mailboxes
