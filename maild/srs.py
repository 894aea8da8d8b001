"""Sender Rewriting Scheme: the envelope sender of mail this node forwards.

Forwarded with its original sender, a message fails the receiver's SPF check (that sender's
domain does not list this node) and is refused or filed as spam. So mail an alias or a
mailbox's forwarding sends on leaves with a sender in the forwarding domain, whose SPF record
names this node:

    SRS0=HHHHHH=TT=orig-domain=orig-local@forwarding-domain

TT is the day (base32, modulo 1024) and HHHHHH a keyed hash of the rest, so only this node
makes addresses it will accept back. A bounce to one is accepted at RCPT when its hash is right
and it is at most MAX_AGE_DAYS old, and goes on to the original sender. A sender that is
already another forwarder's SRS0 address becomes SRS1, naming that forwarder instead of nesting
(`SRS1=HHHHHH=first-forwarder==hash=TT=domain=local@us`); its bounce goes back to the first
forwarder, which reverses its own part. The null sender and senders in domains hosted here are
never rewritten: their bounces need no help and their SPF already names this node.

The key is 32 random bytes in `<data>/srs.key`, made on first start. Copy it to every node
(before they start) to let any of them take back addresses another made, e.g. after a domain
moves.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

KEY_FILE_NAME = "srs.key"
MAX_AGE_DAYS = 21  # the customary limit: longer than any queue retries a bounce
HASH_LENGTH = 6  # base32 characters: 30 bits, so guessing an address to relay through is hopeless
_DAY = 86400
_STAMP_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class InvalidAddress(ValueError):
    """An SRS address this node did not make, altered, or made too long ago."""


def _stamp(day: int) -> str:
    day %= 1024
    return _STAMP_ALPHABET[day >> 5] + _STAMP_ALPHABET[day & 31]


def _stamp_day(stamp: str) -> int:
    upper = stamp.upper()
    if len(upper) != 2 or any(char not in _STAMP_ALPHABET for char in upper):
        raise InvalidAddress("bad timestamp")
    return (_STAMP_ALPHABET.index(upper[0]) << 5) | _STAMP_ALPHABET.index(upper[1])


def is_srs(address: str) -> bool:
    """Whether the local part of `address` has the form of an SRS address (made here or not)."""
    return address[:5].upper() in ("SRS0=", "SRS1=")


class Srs:
    """Rewrites senders for forwarding and reverses bounce addresses, with this node's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def load(cls, data_dir: Path) -> Srs:
        """The key in `<data_dir>/srs.key`, written there (mode 0600) if there is none yet."""
        path = data_dir / KEY_FILE_NAME
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes().strip()
            if len(key) < 32:
                raise ValueError(f"{path} holds no usable SRS key (expected 64 hex digits)") from None
            return cls(key)
        key = secrets.token_hex(32).encode("ascii")
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        return cls(key)

    def _hash(self, *parts: str) -> str:
        digest = hmac.new(self._key, "=".join(parts).lower().encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii")[:HASH_LENGTH]

    def _check(self, given: str, *parts: str) -> None:
        if not hmac.compare_digest(given.upper().encode("ascii", "replace"), self._hash(*parts).encode("ascii")):
            raise InvalidAddress("bad hash")

    def forward(self, sender: str, domain: str, now: float | None = None) -> str:
        """The address to forward mail from `sender` with, in `domain` (this node's)."""
        local, _, sender_domain = sender.rpartition("@")
        tag = local[:5].upper()
        if tag == "SRS0=" and local[5:]:
            return self._srs1(sender_domain, local[5:], domain)
        parts = _srs1_parts(local) if tag == "SRS1=" else None
        if parts is not None:  # a malformed one is wrapped like any other sender
            return self._srs1(parts[1], parts[2], domain)
        stamp = _stamp(int((time.time() if now is None else now) // _DAY))
        return f"SRS0={self._hash(stamp, sender_domain, local)}={stamp}={sender_domain}={local}@{domain}"

    def _srs1(self, first: str, rest: str, domain: str) -> str:
        return f"SRS1={self._hash(first, rest)}={first}=={rest}@{domain}"

    def reverse(self, address: str, now: float | None = None) -> str:
        """Where a bounce to `address` (an SRS address made here) goes; InvalidAddress if not ours."""
        local = address.rpartition("@")[0]
        tag = local[:5].upper()
        if tag == "SRS1=":
            parts = _srs1_parts(local)
            if parts is None:
                raise InvalidAddress("malformed SRS1 address")
            given, first, rest = parts
            self._check(given, first, rest)
            return f"SRS0={rest}@{first}"
        if tag != "SRS0=":
            raise InvalidAddress("not an SRS address")
        fields = local[5:].split("=", 3)
        if len(fields) != 4 or not all(fields):
            raise InvalidAddress("malformed SRS0 address")
        given, stamp, domain, original_local = fields
        today = int((time.time() if now is None else now) // _DAY)
        if (today - _stamp_day(stamp)) % 1024 > MAX_AGE_DAYS:
            raise InvalidAddress("expired")
        self._check(given, stamp, domain, original_local)
        return f"{original_local}@{domain}"


def _srs1_parts(local: str) -> tuple[str, str, str] | None:
    """(hash, first forwarder, its SRS0 part without the tag) of an SRS1 local part, if well formed."""
    given, _, tail = local[5:].partition("=")
    first, separator, rest = tail.partition("==")
    if not given or not first or not separator or not rest:
        return None
    return given, first, rest
