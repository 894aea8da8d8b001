"""Password hashing (passlib from libpass) and the password policy."""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from passlib.context import CryptContext

from panel.services.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 1024
# The most common passwords in public breach lists; refused whatever their length.
COMMON_PASSWORDS = frozenset(
    """123456789012 1234567890 password123 qwertyuiop password1234 1q2w3e4r5t 
    iloveyou123 administrator passwordpassword qwerty123456 abcdefghij 0987654321
    1111111111 0000000000 letmein123 welcome123 changeme123 p@ssw0rd123""".split()
)


@lru_cache(maxsize=4)
def _context(rounds: int | None) -> CryptContext:
    settings = {"argon2__rounds": rounds, "argon2__memory_cost": 1024} if rounds else {}
    # bcrypt stays verifiable so hashes imported from other panels keep working.
    return CryptContext(schemes=["argon2", "bcrypt"], deprecated="auto", **settings)


def context() -> CryptContext:
    return _context(current_app.config.get("PASSWORD_HASH_ROUNDS"))


def check_policy(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(field, _l("The password must have at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise Invalid(field, _l("The password is too long."))
    if password.lower() in COMMON_PASSWORDS:
        raise Invalid(field, _l("This password is too common; choose another."))


def hash_password(password: str) -> str:
    return context().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return context().verify(password, password_hash)
