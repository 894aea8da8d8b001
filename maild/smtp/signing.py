"""DKIM signing of submitted mail with the sender domain's key (dkimpy).

The bundle carries keys as PEM; dkimpy wants PKCS#1 PEM for RSA and the raw base64 seed for
ed25519, so keys are converted once per key and cached.
"""
from __future__ import annotations

import asyncio
import base64
from functools import lru_cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from maild.config import DkimKey

SIGNED_HEADERS = (
    b"from", b"sender", b"reply-to", b"subject", b"date", b"message-id", b"to", b"cc",
    b"mime-version", b"content-type", b"content-transfer-encoding", b"in-reply-to", b"references",
)


@lru_cache(maxsize=256)
def _dkimpy_key(private_key_pem: str) -> bytes:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        return base64.b64encode(raw)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    raise ValueError(f"unsupported DKIM key type {type(key).__name__}")


def _sign(message: bytes, domain: str, key: DkimKey) -> bytes:
    return dkim.sign(
        message,
        key.selector.encode(),
        domain.encode(),
        _dkimpy_key(key.private_key_pem),
        signature_algorithm=key.algorithm.encode(),
        include_headers=[name for name in SIGNED_HEADERS],
        linesep=b"\r\n",
    )


async def dkim_signature(message: bytes, domain: str, key: DkimKey) -> bytes:
    """The `DKIM-Signature:` header field (CRLF-terminated) for `message`, signed off the loop."""
    return await asyncio.to_thread(_sign, message, domain, key)
