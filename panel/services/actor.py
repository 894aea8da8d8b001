"""Who is acting: passed first to every service so permission and audit are never implicit."""
from __future__ import annotations

from dataclasses import dataclass, replace

from panel.models import Customer, Mailbox, Role, User


@dataclass(frozen=True)
class Actor:
    """The effective identity for one request or command.

    `role`, `customer_id` and `reseller_id` decide what is visible. When an admin or reseller
    acts as a customer, `role` becomes CUSTOMER while `real_role` and `user_id` still name the
    person, so the audit trail shows both.
    """

    role: Role
    label: str
    user_id: int | None = None
    reseller_id: int | None = None
    customer_id: int | None = None
    mailbox_id: int | None = None
    real_role: Role | None = None
    ip: str | None = None

    @property
    def acting_as(self) -> bool:
        return self.real_role is not None and self.real_role != self.role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """The operator at the command line or a scheduled job: full rights."""
        return cls(role=Role.ADMIN, label=label, real_role=Role.ADMIN)

    @classmethod
    def for_user(cls, user: User, ip: str | None = None) -> Actor:
        return cls(
            role=user.role,
            label=user.email,
            user_id=user.id,
            reseller_id=user.reseller_id,
            customer_id=user.customer_id,
            real_role=user.role,
            ip=ip,
        )

    @classmethod
    def for_mailbox(cls, mailbox: Mailbox, ip: str | None = None) -> Actor:
        return cls(
            role=Role.MAILBOX,
            label=mailbox.email,
            customer_id=mailbox.domain.customer_id,
            mailbox_id=mailbox.id,
            real_role=Role.MAILBOX,
            ip=ip,
        )

    def as_customer(self, customer: Customer) -> Actor:
        """The same person seen as `customer`; callers check the right to do so first."""
        return replace(self, role=Role.CUSTOMER, customer_id=customer.id)
