"""TLS certificates for node hostnames (provider) and customers' mail hostnames."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.models.base import Base, UTCDateTime, utcnow
from panel.models.enums import CertificateSource


class Certificate(Base):
    """A key with its certificate chain; `cert_pem` is None while a CSR awaits its certificate.

    The private key is stored only encrypted (`key_encrypted`) and never shown again.
    """

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    source: Mapped[CertificateSource] = mapped_column(Enum(CertificateSource, native_enum=False, length=16))
    # Names the certificate covers (SAN), and the hostnames it is assigned to serve.
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    hostnames: Mapped[list[str]] = mapped_column(JSON, default=list)
    cert_pem: Mapped[str | None] = mapped_column(Text)
    csr_pem: Mapped[str | None] = mapped_column(Text)
    key_encrypted: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(String(500), default="")
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def days_left(self, now: datetime) -> int | None:
        return None if self.not_after is None else (self.not_after - now).days


class AcmeChallenge(Base):
    """An HTTP-01 token the panel answers at /.well-known/acme-challenge/<token> during issuance."""

    __tablename__ = "acme_challenge"

    token: Mapped[str] = mapped_column(String(255), primary_key=True)
    key_authorization: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AcmeAccount(Base):
    """The provider's account at an ACME CA (one per directory URL); its key only encrypted."""

    __tablename__ = "acme_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    directory_url: Mapped[str] = mapped_column(String(500), unique=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    key_encrypted: Mapped[str] = mapped_column(Text)
    uri: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
