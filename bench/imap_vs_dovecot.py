"""IMAP speed and memory: maild against Dovecot on the same generated Maildir, over IMAPS.

    .venv/bin/python bench/imap_vs_dovecot.py [--messages 10000] [--size 2048] [--idle 1000]

Needs root and Debian's dovecot-imapd. Both servers get a copy of one generated Maildir and run
as their own processes (maild as `python -m maild`). The client is a minimal IMAP reader in this
process (it parses literals, nothing more), the same for both, so client cost stays small and
equal. A first session per server builds its index (printed as the cold login); then each
operation runs `--repeat` times and the best time is kept:

- LOGIN+SELECT latency (a new TLS connection each time),
- FETCH 1:* (FLAGS ENVELOPE),
- FETCH 1:1000 BODY.PEEK[] (full bodies of 1,000 messages),
- UID SEARCH HEADER Message-ID (one header of every message),
- STORE 1:1000 +FLAGS/-FLAGS (\\Flagged), alternating so every run changes flags.

Then `--idle` connections log in, select INBOX and sit in IDLE while the server's memory is read
from /proc (PSS, summed over Dovecot's processes; target: 1,000 idle connections under 150 MB
for maild). POP3 RETR has its own
script, bench/pop3_retr.py. Prints one row per server and maild/Dovecot throughput ratios
(target: >= 0.5x on each).
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dovecot import dovecot_server  # noqa: E402
from pop3_retr import PASSWORD, USER, generate_maildir  # noqa: E402

from maild.tls import self_signed  # noqa: E402
from tests.maild.support import MaildProcess, free_port, insecure_context, mailbox, node_config  # noqa: E402

START_TIMEOUT = 30.0
OPERATIONS = ("login+select", "fetch flags envelope", "fetch 1000 bodies", "uid search header", "store 1000")


class ImapClient:
    """Just enough IMAP to time commands: reads each response to its tagged line, literals included."""

    def __init__(self, port: int) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.sock = insecure_context().wrap_socket(raw)
        self.buffer = b""
        self.counter = 0
        self._line()  # greeting

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._fill()
        line, self.buffer = self.buffer[:end + 2], self.buffer[end + 2:]
        return line

    def _skip(self, size: int) -> None:
        while len(self.buffer) < size:
            self._fill()
        self.buffer = self.buffer[size:]

    def command(self, text: str) -> int:
        """Send a command, read all of its response; the number of bytes received."""
        self.counter += 1
        tag = f"b{self.counter}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        received = 0
        while True:
            line = self._line()
            received += len(line)
            while line.endswith(b"}\r\n") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
                self._skip(size)
                received += size
                line = self._line()
                received += len(line)
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text!r} failed: {line!r}")
                return received

    def start_idle(self) -> None:
        self.sock.sendall(b"i IDLE\r\n")
        if not self._line().startswith(b"+"):
            raise RuntimeError("IDLE refused")

    def close(self) -> None:
        self.sock.close()


def login(port: int) -> ImapClient:
    client = ImapClient(port)
    client.command(f'LOGIN "{USER}" "{PASSWORD}"')
    client.command("SELECT INBOX")
    return client


@dataclass
class Result:
    server: str
    cold: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    idle_mb: float | None = None


def best(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages split among the processes sharing them (fair to
    Dovecot's process per session; the same as RSS for maild's single process)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no Pss")


def measure(name: str, port: int, repeat: int, idle: int, pids: Callable[[], list[int]]) -> Result:
    result = Result(name)
    started = time.perf_counter()
    login(port).close()
    result.cold = time.perf_counter() - started
    result.seconds["login+select"] = best(repeat, lambda: login(port).close())
    client = login(port)
    result.seconds["fetch flags envelope"] = best(repeat, lambda: client.command("FETCH 1:* (FLAGS ENVELOPE)"))
    result.seconds["fetch 1000 bodies"] = best(repeat, lambda: client.command("FETCH 1:1000 BODY.PEEK[]"))
    result.seconds["uid search header"] = best(
        repeat, lambda: client.command('UID SEARCH HEADER Message-ID "<4321@remote.test>"'))
    flips = iter(["+", "-"] * repeat)
    result.seconds["store 1000"] = best(repeat, lambda: client.command(f"STORE 1:1000 {next(flips)}FLAGS (\\Flagged)"))
    client.close()
    if idle:
        before = sum(pss_mb(pid) for pid in pids())
        sessions = []
        for _ in range(idle):
            session = login(port)
            session.start_idle()
            sessions.append(session)
        time.sleep(1)
        result.idle_mb = sum(pss_mb(pid) for pid in pids())
        print(f"{name}: memory (PSS) {before:.0f} MB before, {result.idle_mb:.0f} MB with {idle} idle sessions", file=sys.stderr)
        for session in sessions:
            session.close()
    return result


def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            ImapClient(port).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("IMAP server did not start") from None
            time.sleep(0.1)


def run_maild(work: Path, source: Path, repeat: int, idle: int) -> Result:
    config = node_config(mailboxes=[mailbox(USER, PASSWORD, quota_bytes=10**10)], kinds=("imaps",))
    process = MaildProcess(config, work, kinds=("imaps",))
    shutil.copytree(source, work / "data" / "mail" / "bench.test" / "bench" / "Maildir")
    with process:
        assert process.process is not None
        pid = process.process.pid
        return measure("maild", process.ports["imaps"], repeat, idle, lambda: [pid])


IMAP_SERVICE = """\
default_process_limit = {sessions}
default_client_limit = {sessions}
protocol imap {{
  mail_max_userip_connections = {sessions}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}"""


def run_dovecot(work: Path, source: Path, cert: Path, key: Path, repeat: int, idle: int) -> Result:
    port = free_port()
    service = IMAP_SERVICE.format(sessions=idle + 100, port=port)
    with dovecot_server(work, source, cert, key, "imap", service, port, PASSWORD, wait_for) as server:
        return measure("dovecot", port, repeat, idle, server.pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=2048, help="bytes per message (about)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=int, default=1000, help="idle IDLE sessions for the memory check (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imap-bench-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # Dovecot's unprivileged processes reach their sockets through it
        source = root / "source"
        generate_maildir(source, args.messages, args.size)
        self_signed(root / "cert", "localhost")
        cert, key = root / "cert" / "tls" / "self-signed.crt", root / "cert" / "tls" / "self-signed.key"
        (root / "maild").mkdir()
        (root / "dovecot").mkdir(mode=0o755)
        ours = run_maild(root / "maild", source, args.repeat, args.idle)
        theirs = run_dovecot(root / "dovecot", source, cert, key, args.repeat, args.idle)
    print(f"{'server':8} {'cold login s':>12} " + " ".join(f"{op + ' ms':>22}" for op in OPERATIONS)
          + f" {'idle MB':>12}")
    for r in (ours, theirs):
        rss = f"{r.idle_mb:12.0f}" if r.idle_mb is not None else f"{'-':>12}"
        print(f"{r.server:8} {r.cold:12.2f} " + " ".join(f"{1000 * r.seconds[op]:22.1f}" for op in OPERATIONS)
              + f" {rss}")
    ratios = ", ".join(f"{op} {theirs.seconds[op] / ours.seconds[op]:.2f}x" for op in OPERATIONS)
    print(f"maild throughput relative to Dovecot (target >= 0.5x): {ratios}")
    if ours.idle_mb is not None:
        print(f"maild with {args.idle} idle IMAP sessions: {ours.idle_mb:.0f} MB (target < 150 MB)")


if __name__ == "__main__":
    main()
