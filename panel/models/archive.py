"""Legal holds on archive search results: entries a purge must keep although they are old."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.models.base import Base, UTCDateTime, utcnow


class ArchiveHold(Base):
    """A search's result set in one domain placed under legal hold.

    Purges only ever remove the oldest entries of a domain's chain, so keeping every entry from
    `first_entry` on keeps the whole result set (and the chain still verifies).
    """

    __tablename__ = "archive_hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"), index=True)
    first_entry: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    query: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
