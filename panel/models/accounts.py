"""Who logs in to the panel and whom they work for: staff users, resellers, customers."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.models.base import Base, UTCDateTime, utcnow
from panel.models.enums import Role

if TYPE_CHECKING:
    from panel.models.plans import Plan


class ResellerPlan(Base):
    """The allowance the provider sells to a reseller. `None` means unlimited."""

    __tablename__ = "reseller_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    max_customers: Mapped[int | None] = mapped_column(Integer)
    max_domains: Mapped[int | None] = mapped_column(Integer)
    max_mailboxes: Mapped[int | None] = mapped_column(Integer)
    max_aliases: Mapped[int | None] = mapped_column(Integer)
    storage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reseller(Base):
    __tablename__ = "reseller"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    reseller_plan_id: Mapped[int] = mapped_column(ForeignKey("reseller_plan.id"), index=True)
    # Bumped inside every allowance check: the row lock that serialises concurrent creates.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reseller_plan: Mapped[ResellerPlan] = relationship()


class Customer(Base):
    """A tenant: a company that rents mail hosting, from the provider or from a reseller."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("reseller.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reseller: Mapped[Reseller | None] = relationship()
    plan: Mapped[Plan] = relationship()


class User(Base):
    """A staff login: provider admin, reseller staff or customer staff."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    reseller_id: Mapped[int | None] = mapped_column(
        ForeignKey("reseller.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Customer staff only: may search, read and export the customer's mail archive.
    auditor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reseller: Mapped[Reseller | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
