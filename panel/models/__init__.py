"""Typed SQLAlchemy models. Plain data: no DNS, file or network I/O here."""
from panel.models.accounts import Customer, Reseller, ResellerPlan, User
from panel.models.archive import ArchiveHold
from panel.models.audit import AuditEvent
from panel.models.base import Base
from panel.models.certificates import AcmeAccount, AcmeChallenge, Certificate
from panel.models.dns import DkimKey, DkimState, DnsCheck
from panel.models.enums import CertificateSource, DomainStatus, Role, Tier
from panel.models.mail import Alias, AliasDestination, AppPassword, Domain, Mailbox
from panel.models.nodes import Node
from panel.models.plans import Plan
from panel.models.usage import DomainTraffic, UsageSample

__all__ = [
    "ArchiveHold",
    "AcmeAccount", "AcmeChallenge", "AppPassword", "Certificate", "CertificateSource", "Alias", "AliasDestination", "AuditEvent", "Base", "Customer", "DkimKey", "DkimState", "DnsCheck", "Domain", "DomainStatus",
    "Mailbox", "Node", "Plan", "Reseller", "ResellerPlan", "Role", "Tier", "User",
    "DomainTraffic", "UsageSample",
]
