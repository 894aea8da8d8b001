"""Server-side encryption for the secrets we must be able to recover.

Two Fernet keys, each in a file generated in instance/ on first use:
- `APOP_KEY_FILE` encrypts APOP shared secrets; maild gets the same file (`--apop-key-file`)
  and decrypts the token the bundle carries. The clear secret is never stored anywhere.
- `STORAGE_KEY_FILE` encrypts data kept only by the panel, such as TLS private keys at rest.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from flask import current_app

Purpose = Literal["apop", "storage"]
_SETTINGS: dict[str, str] = {"apop": "APOP_KEY_FILE", "storage": "STORAGE_KEY_FILE"}


def _key(purpose: Purpose) -> bytes:
    path = Path(current_app.config[_SETTINGS[purpose]])
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def encrypt(secret: str, purpose: Purpose = "apop") -> str:
    return Fernet(_key(purpose)).encrypt(secret.encode()).decode("ascii")


def decrypt(token: str, purpose: Purpose = "apop") -> str:
    return Fernet(_key(purpose)).decrypt(token.encode("ascii")).decode()
