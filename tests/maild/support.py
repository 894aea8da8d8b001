"""Live maild daemons for tests: in a thread of the test process, or as a real subprocess.

Generic over listener kinds, so SMTP, IMAP and POP3 tests share it::

    config = node_config(mailboxes=[mailbox("bob@example.test", "secret")])
    with running_daemon(config, tmp_path, kinds=("mx", "submission")) as maild:
        smtplib.SMTP("127.0.0.1", maild.port("mx"))

    with MaildProcess(config, tmp_path, kinds=("mx",)) as process:   # `python -m maild`
        process.kill()   # SIGKILL, for crash tests; process.start() runs it again

Both bind 127.0.0.1 only and stop what they started at the end of the `with`.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from passlib.hash import bcrypt

from maild.bundle import BundleContent, ConfigHolder, write_bundle
from maild.config import SCHEMA_VERSION, Alias, Config, DkimKey, Domain, Listener, Mailbox, Server
from maild.daemon import Bound, Daemon
from maild.runtime import Runtime
from maild.store import Store

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
_ids = iter(range(1, 1_000_000))


def hash_password(password: str) -> str:
    """A real passlib hash, at the cheapest cost so logins stay fast in tests."""
    return bcrypt.using(rounds=4).hash(password)


def mailbox(address: str, password: str = "secret", *, quota_bytes: int = 100_000_000,
            max_message_bytes: int = 10_000_000, sends_per_hour: int | None = None,
            enabled: bool = True, customer_id: int = 1) -> Mailbox:
    local, _, domain = address.partition("@")
    return Mailbox(id=next(_ids), local_part=local, domain=domain, password_hash=hash_password(password),
                   quota_bytes=quota_bytes, enabled=enabled, customer_id=customer_id,
                   max_message_bytes=max_message_bytes, sends_per_hour=sends_per_hour)


def domain(name: str, *, status: str = "active", dkim: DkimKey | None = None, customer_id: int = 1) -> Domain:
    return Domain(name=name, status=status, customer_id=customer_id, dkim=dkim)


def node_config(*, domains: Iterable[Domain] = (), mailboxes: Iterable[Mailbox] = (), aliases: Iterable[Alias] = (),
                kinds: Iterable[str] = ("mx", "submission", "submissions"), serial: int = 1, **server: object) -> Config:
    """A Config with listeners of `kinds` on port 0 and any Server field overridden by keyword.

    Domains of the mailboxes are added (active) unless given explicitly. The default resolver
    answers nothing (lookups time out): MX tests pass `resolver=(DnsServer(...).address,)`.
    """
    mailboxes = tuple(mailboxes)
    named = {d.name: d for d in domains}
    for box in mailboxes:
        named.setdefault(box.domain, domain(box.domain))
    settings: dict[str, object] = {"node": "node1", "hostname": "mx.tegami.test", "resolver": ("127.0.0.1:9",)}
    settings.update(server)
    listeners = tuple(Listener(kind, HOST, 0) for kind in kinds)
    return Config(
        schema=SCHEMA_VERSION, serial=serial, checksum="test",
        server=Server(listeners=listeners, **settings),  # type: ignore[arg-type]
        domains=named,
        mailboxes={box.address: box for box in mailboxes},
        aliases={alias.source: alias for alias in aliases},
    )


def insecure_context() -> ssl.SSLContext:
    """maild's self-signed certificate on loopback: encryption without verification, tests only."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class RecordingQueue:
    """Stands in for the outbound queue in protocol tests: records what would be sent."""

    queued: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def enqueue(self, sender: str, recipients: list[str], data: bytes) -> str:
        self.queued.append((sender, list(recipients), data))
        return f"q{len(self.queued)}"


@dataclass
class LiveDaemon:
    runtime: Runtime
    bound: list[Bound]
    queue: RecordingQueue
    holder: ConfigHolder

    def port(self, kind: str) -> int:
        return next(b.port for b in self.bound if b.kind == kind)

    def maildir(self, address: str) -> Path:
        config = self.holder.current
        box = config.mailbox(address)
        assert box is not None, address
        return self.runtime.store.maildir(box)

    def swap(self, config: Config) -> None:
        """Put a new Config in force (as a bundle reload would)."""
        self.holder.swap(config)


def stored_messages(maildir: Path) -> list[bytes]:
    """The bytes of every message in a Maildir's new/ and cur/, oldest first."""
    files = [path for sub in ("new", "cur") if (maildir / sub).is_dir() for path in (maildir / sub).iterdir()]
    return [path.read_bytes() for path in sorted(files, key=_arrival)]


def _arrival(path: Path) -> tuple[int, int]:
    """Delivery order: the mtime (an APPEND's internal date), then the per-process counter of the
    Maildir name (`<secs>.M<usecs>P<pid>Q<n>.`): two quick deliveries share one clock tick."""
    counter = re.match(r"\d+\.M\d+P\d+Q(\d+)\.", path.name)
    return path.stat().st_mtime_ns, int(counter.group(1)) if counter else 0


@contextmanager
def running_daemon(config: Config, tmp_path: Path, *, runtime_options: dict[str, object] | None = None) -> Iterator[LiveDaemon]:
    """maild serving `config` in a background thread with its own event loop, until the end."""
    holder = ConfigHolder(config)
    queue = RecordingQueue()
    data_dir = tmp_path / "data"
    runtime = Runtime(holder, Store(data_dir / "mail"), queue, data_dir, **(runtime_options or {}))  # type: ignore[arg-type]
    ready = threading.Event()
    started: dict[str, object] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        started["stop"] = (asyncio.get_running_loop(), stop)
        daemon = Daemon(runtime)
        try:
            started["bound"] = await daemon.start()
        except BaseException as error:
            started["error"] = error
            raise
        finally:
            ready.set()
        try:
            await stop.wait()
        finally:
            await daemon.stop()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="maild", daemon=True)
    thread.start()
    assert ready.wait(START_TIMEOUT), "maild did not start"
    if "error" in started:
        raise RuntimeError("maild failed to start") from started["error"]  # type: ignore[arg-type]
    try:
        yield LiveDaemon(runtime, started["bound"], queue, holder)  # type: ignore[arg-type]
    finally:
        loop, stop = started["stop"]  # type: ignore[misc]
        loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT)


class MaildProcess:
    """`python -m maild` on a bundle written from `config`, with its listeners on free ports."""

    def __init__(self, config: Config, tmp_path: Path, kinds: Iterable[str], options: Iterable[str] = ()) -> None:
        self.options = tuple(options)  # more command-line options, e.g. ("--apop-key-file", path)
        self.ports = {kind: free_port() for kind in kinds}
        listeners = tuple(Listener(kind, HOST, port) for kind, port in self.ports.items())
        self.config = replace(config, server=replace(config.server, listeners=listeners))
        self.bundle_dir = tmp_path / "bundle"
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / "maild.log"
        self.process: subprocess.Popen[bytes] | None = None
        write_bundle(self.bundle_dir, self._content)

    def _content(self) -> BundleContent:
        config = self.config
        return BundleContent(config.server, config.domains.values(), config.mailboxes.values(), config.aliases.values())

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "maild", "--bundle", str(self.bundle_dir), "--data", str(self.data_dir), *self.options],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        for port in self.ports.values():
            while not _accepting(port):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"maild did not start:\n{self.log_path.read_text()}")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up, as in a crash or power loss of the process."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(START_TIMEOUT)

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL if it does not stop); the exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(START_TIMEOUT)

    def __enter__(self) -> MaildProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def kill_under_load(maild: MaildProcess, sender: str, recipient: str,
                    message: Callable[[int, int], tuple[bytes, bytes]], *, clients: int, acked: int) -> list[bytes]:
    """SIGKILL `maild` while `clients` connections send to its MX as fast as they can, once `acked`
    messages got their 250 (or after a minute). `message(client, number)` gives (Message-ID, bytes);
    the result lists the Message-ID of every message acknowledged before the kill."""
    done: list[bytes] = []
    stop = threading.Event()

    def send(client: int) -> None:
        try:
            with smtplib.SMTP(HOST, maild.ports["mx"], timeout=START_TIMEOUT) as smtp:
                for number in itertools.count(1):
                    if stop.is_set():
                        return
                    message_id, data = message(client, number)
                    smtp.sendmail(sender, [recipient], data)
                    done.append(message_id)
        except (smtplib.SMTPException, OSError):
            return  # killed mid-conversation

    threads = [threading.Thread(target=send, args=(client,)) for client in range(clients)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(done) < acked and time.monotonic() < deadline:
            time.sleep(0.01)
        maild.kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(START_TIMEOUT)
        maild.stop()
    return list(done)


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False
