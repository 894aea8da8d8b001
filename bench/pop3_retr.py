"""POP3 download speed: maild against Dovecot on the same generated Maildir, over POP3S.

    .venv/bin/python bench/pop3_retr.py [--messages 10000] [--size 2048]

Needs root and Debian's dovecot-pop3d. Both servers get a copy of one generated Maildir and run
as their own processes (maild as `python -m maild`); the client is poplib in this process, the
same for both, over implicit TLS with the same self-signed certificate. A first session per
server builds its index (timed and printed as the cold login); then one session logs in, reads
STAT, LIST and UIDL, RETRs every message and quits; the servers' CPU for that session is read
from /proc (every process of the server, as Dovecot splits TLS and POP3 between two). Prints
one row per server and the maild/Dovecot ratios (target: RETR throughput >= 0.5x Dovecot's).
On a loaded machine trust the CPU column more than the wall-clock ones.
"""
from __future__ import annotations

import argparse
import os
import poplib
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dovecot import dovecot_server  # noqa: E402

from maild.tls import self_signed  # noqa: E402
from tests.maild.support import MaildProcess, free_port, insecure_context, mailbox, node_config  # noqa: E402

USER = "bench@bench.test"
PASSWORD = "bench-password"
TICKS = os.sysconf("SC_CLK_TCK")
REAP_PAUSE = 0.5
START_TIMEOUT = 30.0


@dataclass
class Result:
    server: str
    cold_login: float
    login: float
    listing: float
    retr: float
    messages: int
    octets: int
    cpu: float  # server CPU seconds (all its processes) for the timed session

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu / self.messages

    @property
    def rate(self) -> float:
        return self.messages / self.retr


def generate_maildir(path: Path, messages: int, size: int) -> None:
    """`messages` distinct CRLF messages of about `size` bytes in new/, as a delivery would leave them."""
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    for number in range(messages):
        header = (f"From: sender{number % 97}@remote.test\r\nTo: {USER}\r\nSubject: message {number}\r\n"
                  f"Message-ID: <{number}@remote.test>\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\n").encode()
        data = header + line * max(1, (size - len(header)) // len(line))
        (path / "new" / f"{1_700_000_000 + number}.M{number}P1.bench,S={len(data)}").write_bytes(data)


def wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            poplib.POP3_SSL("127.0.0.1", port, context=insecure_context(), timeout=5).quit()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("POP3 server did not start") from None
            time.sleep(0.1)


def session(port: int) -> tuple[float, float, float, int, int]:
    """(login, STAT+LIST+UIDL, RETR of all) seconds, message count and octets retrieved."""
    started = time.perf_counter()
    client = poplib.POP3_SSL("127.0.0.1", port, context=insecure_context(), timeout=120)
    client.user(USER)
    client.pass_(PASSWORD)
    logged_in = time.perf_counter()
    count, _ = client.stat()
    client.list()
    client.uidl()
    listed = time.perf_counter()
    octets = sum(client.retr(number)[2] for number in range(1, count + 1))
    done = time.perf_counter()
    client.quit()
    return logged_in - started, listed - logged_in, done - listed, count, octets


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of `root`, its live descendants and the children it reaped."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rpartition(")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited while we looked
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= found
        grew = bool(found)
    ticks = sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in tree if pid in stats)
    reaped = int(stats[root][13]) + int(stats[root][14]) if root in stats else 0
    return (ticks + reaped) / TICKS


def measure(name: str, port: int, pid: int) -> Result:
    started = time.perf_counter()
    client = poplib.POP3_SSL("127.0.0.1", port, context=insecure_context(), timeout=600)
    client.user(USER)
    client.pass_(PASSWORD)
    client.stat()
    cold = time.perf_counter() - started
    client.quit()
    before = tree_cpu(pid)
    login, listing, retr, count, octets = session(port)
    time.sleep(REAP_PAUSE)  # let Dovecot's master reap the session's process
    return Result(name, cold, login, listing, retr, count, octets, tree_cpu(pid) - before)


def run_maild(work: Path, source: Path) -> Result:
    config = node_config(mailboxes=[mailbox(USER, PASSWORD)], kinds=("pop3s",))
    process = MaildProcess(config, work, kinds=("pop3s",))
    shutil.copytree(source, work / "data" / "mail" / "bench.test" / "bench" / "Maildir")
    with process:
        assert process.process is not None
        return measure("maild", process.ports["pop3s"], process.process.pid)


POP3_SERVICE = """\
pop3_uidl_format = %08Xu%08Xv
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = {port}
    ssl = yes
  }}
}}"""


def run_dovecot(work: Path, source: Path, cert: Path, key: Path) -> Result:
    port = free_port()
    with dovecot_server(work, source, cert, key, "pop3", POP3_SERVICE.format(port=port), port, PASSWORD,
                        wait_for) as server:
        return measure("dovecot", port, server.process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=2048, help="bytes per message (about)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pop3-bench-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)  # Dovecot's unprivileged processes reach their sockets through it
        source = root / "source"
        generate_maildir(source, args.messages, args.size)
        self_signed(root / "cert", "localhost")  # written to cert/tls/ for Dovecot; maild makes its own
        cert, key = root / "cert" / "tls" / "self-signed.crt", root / "cert" / "tls" / "self-signed.key"
        (root / "maild").mkdir()
        (root / "dovecot").mkdir(mode=0o755)
        results = [run_maild(root / "maild", source), run_dovecot(root / "dovecot", source, cert, key)]
    print(f"{'server':8} {'messages':>8} {'MB':>7} {'cold login s':>12} {'login ms':>9} {'LIST+UIDL ms':>12} "
          f"{'RETR s':>7} {'msg/s':>7} {'CPU us/msg':>10}")
    for r in results:
        print(f"{r.server:8} {r.messages:8d} {r.octets / 1e6:7.1f} {r.cold_login:12.2f} {1000 * r.login:9.1f} "
              f"{1000 * r.listing:12.1f} {r.retr:7.2f} {r.rate:7.0f} {r.cpu_us:10.0f}")
    ours, theirs = results
    print(f"ratio maild/dovecot: RETR throughput {ours.rate / theirs.rate:.2f}x (target >= 0.5x), "
          f"server CPU per message {ours.cpu_us / theirs.cpu_us:.2f}x, "
          f"LIST+UIDL time {ours.listing / theirs.listing:.2f}x, login time {ours.login / theirs.login:.2f}x")


if __name__ == "__main__":
    main()
