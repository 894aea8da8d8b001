"""APOP secrets: decrypted only in memory, only to check one digest (RFC 1939 section 7).

APOP needs a secret the server can recompute, so unlike passwords it cannot be a one-way hash.
The bundle carries it encrypted instead, in `Mailbox.apop_secret`:

    apop_secret = Fernet(key).encrypt(secret.encode("utf-8")).decode("ascii")

The panel encrypts with the same key that maild reads from its APOP key file
(`--apop-key-file`, default `<data dir>/apop.key`): one Fernet key, URL-safe base64 of 32 bytes
as `Fernet.generate_key()` writes it (surrounding whitespace ignored); the panel side is
`panel/services/secrets.py`. Without a (valid) key file APOP is unavailable: the POP3 greeting
carries no timestamp and APOP is refused. The file is re-read when it changes. Failed APOP
logins count in the same throttle as password logins. Secrets are never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import socket
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from maild.auth import Authenticator, LoginResult
from maild.config import Config, Mailbox

KEY_FILE_NAME = "apop.key"

log = logging.getLogger("maild.apop")


class KeyFileError(ValueError):
    """The APOP key file exists but holds no usable Fernet key."""


def default_key_file(data_dir: Path) -> Path:
    return data_dir / KEY_FILE_NAME


class ApopKey:
    """The Fernet key that decrypts the bundle's APOP secrets."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as error:
            raise KeyFileError("the APOP key is not a valid Fernet key") from error

    @classmethod
    def load(cls, path: Path) -> ApopKey | None:
        """The key in `path`, or None when the file does not exist (APOP is then off)."""
        try:
            return cls(path.read_bytes().strip())
        except FileNotFoundError:
            return None

    def _secret(self, token: str) -> bytes | None:
        """The clear secret inside `token`, or None if our key did not make it (or it was altered)."""
        try:
            return self._fernet.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return None

    def verify(self, token: str | None, timestamp: str, digest: str) -> bool:
        """Whether `digest` is MD5(timestamp + secret) in lower-case hex, compared in constant time."""
        if token is None:
            return False
        secret = self._secret(token)
        if secret is None:
            return False
        expected = hashlib.md5(timestamp.encode("ascii") + secret, usedforsecurity=False).hexdigest()
        return hmac.compare_digest(expected.encode("ascii"), digest.lower().encode("ascii", "replace"))


class ApopKeyFile:
    """The key file, looked at again whenever it changes.

    The panel creates the key the first time someone turns APOP on, which may well be after
    maild started, so each POP3 connection asks for the current key: one stat() per connection.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._key: ApopKey | None = None

    def current(self) -> ApopKey | None:
        """The key as the file now holds it; None while there is no (valid) key file."""
        try:
            status = self.path.stat()
        except FileNotFoundError:
            self._stamp = self._key = None
            return None
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._key = ApopKey.load(self.path)
            except (OSError, KeyFileError) as error:
                log.error("APOP is off: cannot use the key file %s: %s", self.path, error)
                self._key = None
        return self._key


async def apop_login(authenticator: Authenticator, config: Config, ip: str, key: ApopKey, timestamp: str,
                     username: str, digest: str) -> LoginResult:
    """APOP's `Authenticator.login`: the same throttle per IP and account, the same outcomes."""
    async def verify(mailbox: Mailbox | None) -> bool:
        return mailbox is not None and key.verify(mailbox.apop_secret, timestamp, digest)

    return await authenticator.check(config, ip, username, verify)


def new_timestamp(hostname: str | None = None) -> str:
    """A greeting timestamp unique to one connection: `<pid.random@host>` (RFC 1939 section 7)."""
    return f"<{os.getpid()}.{secrets.token_hex(8)}@{hostname or socket.gethostname()}>"
