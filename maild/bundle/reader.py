"""Loading and validating a bundle into one immutable `Config`; anything doubtful is refused."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from maild.bundle.codec import ALIAS_CODEC, DOMAIN_CODEC, MAILBOX_CODEC, SERVER_CODEC, Mismatch, RecordCodec
from maild.bundle.layout import (
    ALIASES, CONTENT_FILES, DOMAINS, MAILBOXES, MANIFEST, SERVER, BundleError, StaleBundle, resolve,
)
from maild.config import SCHEMA_VERSION, Config, Domain, Server

T = TypeVar("T")
LISTENER_KINDS = frozenset({"mx", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"})
DOMAIN_STATUSES = frozenset({"active", "pending", "suspended"})


def load_bundle(path: str | os.PathLike[str], newer_than: int | None = None) -> Config:
    """Read the bundle at `path` (a node directory with `current`, or a version directory).

    Raises `BundleError` saying why when it is incomplete, corrupt, of an unknown schema or
    inconsistent, and `StaleBundle` when its serial is not above `newer_than` (the running one).
    """
    version = resolve(path)
    manifest_bytes = _read(version, MANIFEST)
    manifest = _parse(MANIFEST, manifest_bytes)
    if type(manifest) is not dict:
        raise BundleError(f"{MANIFEST}: expected an object")
    schema = manifest.get("schema")
    if schema != SCHEMA_VERSION or type(schema) is not int:
        raise BundleError(f"unsupported schema {schema!r}: this maild reads schema {SCHEMA_VERSION}")
    serial = manifest.get("serial")
    if type(serial) is not int or serial <= 0:
        raise BundleError(f"{MANIFEST}: serial must be a positive integer, got {serial!r}")
    if newer_than is not None and serial <= newer_than:
        raise StaleBundle(serial, newer_than)
    files = manifest.get("files")
    if type(files) is not dict:
        raise BundleError(f"{MANIFEST}: 'files' must be an object")
    content = {name: _parse(name, _verified(version, name, files.get(name))) for name in CONTENT_FILES}
    server = _decode(SERVER, SERVER_CODEC, content[SERVER])
    domains = _decode_list(DOMAINS, DOMAIN_CODEC, content[DOMAINS])
    mailboxes = _decode_list(MAILBOXES, MAILBOX_CODEC, content[MAILBOXES])
    aliases = _decode_list(ALIASES, ALIAS_CODEC, content[ALIASES])
    if manifest.get("node") != server.node:
        raise BundleError(f"{MANIFEST} names node {manifest.get('node')!r} but {SERVER} is for {server.node!r}")
    _check_server(server)
    _check_domains(domains)
    domain_map = _index(DOMAINS, domains, lambda d: d.name)
    return Config(
        schema=schema,
        serial=serial,
        checksum=hashlib.sha256(manifest_bytes).hexdigest(),
        server=server,
        domains=domain_map,
        mailboxes=_index(MAILBOXES, mailboxes, lambda m: f"{m.local_part.lower()}@{m.domain}", domain_map),
        aliases=_index(ALIASES, aliases, lambda a: a.source.lower(), domain_map),
    )


def _read(version: Path, name: str) -> bytes:
    try:
        return (version / name).read_bytes()
    except FileNotFoundError:
        raise BundleError(f"missing file {name} in {version}") from None
    except OSError as exc:
        raise BundleError(f"cannot read {version / name}: {exc.strerror}") from None


def _parse(name: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:  # also UnicodeDecodeError
        raise BundleError(f"{name} is not valid JSON: {exc}") from None


def _verified(version: Path, name: str, entry: Any) -> bytes:
    """The file's bytes, if they are exactly what the manifest announced."""
    if type(entry) is not dict or type(entry.get("bytes")) is not int or type(entry.get("sha256")) is not str:
        raise BundleError(f"{MANIFEST}: no valid size and sha256 for {name}")
    body = _read(version, name)
    if len(body) != entry["bytes"]:
        raise BundleError(f"{name} has {len(body)} bytes, the manifest says {entry['bytes']} (partial write?)")
    if hashlib.sha256(body).hexdigest() != entry["sha256"]:
        raise BundleError(f"{name}: checksum mismatch")
    return body


def _decode(name: str, codec: RecordCodec[T], data: Any) -> T:
    try:
        return codec.decode(data)
    except Mismatch as exc:
        raise BundleError(f"{name}: {exc}") from None


def _decode_list(name: str, codec: RecordCodec[T], data: Any) -> list[T]:
    if type(data) is not list:
        raise BundleError(f"{name}: expected a list")
    decode = codec.decode
    records = []
    for index, item in enumerate(data):
        try:
            records.append(decode(item))
        except Mismatch as exc:
            raise BundleError(f"{name}[{index}]: {exc}") from None
    return records


def _check_server(server: Server) -> None:
    for listener in server.listeners:
        if listener.kind not in LISTENER_KINDS:
            raise BundleError(f"{SERVER}: unknown listener kind {listener.kind!r}")
        if not 0 < listener.port < 65536:
            raise BundleError(f"{SERVER}: listener {listener.kind} has port {listener.port}")


def _check_domains(domains: list[Domain]) -> None:
    for domain in domains:
        if domain.name != domain.name.lower():
            raise BundleError(f"{DOMAINS}: {domain.name} is not lower-case")
        if domain.status not in DOMAIN_STATUSES:
            raise BundleError(f"{DOMAINS}: {domain.name}: unknown status {domain.status!r}")


def _index(name: str, records: list[T], key: Callable[[T], str],
           domains: dict[str, Domain] | None = None) -> dict[str, T]:
    """`records` by `key`, refusing duplicates and (given `domains`) addresses of other domains."""
    index: dict[str, T] = {}
    for record in records:
        address = key(record)
        if address in index:
            raise BundleError(f"{name}: {address} appears twice")
        if domains is not None and address.rpartition("@")[2] not in domains:
            raise BundleError(f"{name}: {address} is in no domain of this bundle")
        index[address] = record
    return index
