"""Enumerations stored as strings (readable in the database and in the bundle)."""
from __future__ import annotations

import enum


class Role(str, enum.Enum):
    ADMIN = "admin"
    RESELLER = "reseller"
    CUSTOMER = "customer"
    MAILBOX = "mailbox"


class Tier(str, enum.Enum):
    SHARED = "shared"
    DEDICATED = "dedicated"


class DomainStatus(str, enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class CertificateSource(str, enum.Enum):
    UPLOAD = "upload"
    SELF_SIGNED = "self_signed"
    CSR = "csr"
    ACME = "acme"
