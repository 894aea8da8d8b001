"""Server-side encryption for the one secret we must be able to recover: the APOP shared secret.

The key is a Fernet key in `APOP_KEY_FILE` (generated in instance/ on first use). maild gets the
same key file (`--apop-key-file`) and decrypts the token the bundle carries; the clear secret is
never stored or written anywhere.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from flask import current_app


def _key() -> bytes:
    path = Path(current_app.config["APOP_KEY_FILE"])
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def encrypt(secret: str) -> str:
    return Fernet(_key()).encrypt(secret.encode()).decode("ascii")


def decrypt(token: str) -> str:
    return Fernet(_key()).decrypt(token.encode("ascii")).decode()
