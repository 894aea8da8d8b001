"""SMTP acceptance rate and server CPU per message: maild's MX against Postfix delivering to Maildir.

    .venv/bin/python bench/smtp_throughput.py [--messages 2000] [--rounds 3] [--quick]

Needs root and Debian's postfix package (smtp-source comes with it). Load comes from Postfix's
`smtp-source` at concurrency 1, 10 and 50 with 1 KB and 100 KB bodies, one connection per
message. Both servers write every message durably into a Maildir on the same disk: maild through
its store, Postfix through its queue and the virtual(8) delivery agent. A server's CPU is read
from /proc (maild's process; Postfix's master, its live children and the children it reaped) and
counted until the last message is in the Maildir, so Postfix's later delivery is included.

This machine's speed drifts over seconds (a shared host; ext4 slows down for a while after
many files are deleted), so each cell runs several rounds, maild and Postfix alternating and
swapping who goes first, and reports the median of each. Prints the medians with their ranges,
then maild/Postfix ratios of the medians and the range of the per-round ratios (targets:
rate >= 1.0x, CPU <= 1.0x at c=10).
"""
from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.maild.dns_server import DnsServer  # noqa: E402
from tests.maild.support import MaildProcess, free_port, mailbox, node_config  # noqa: E402

SIZES = {"1KB": 1024, "100KB": 100 * 1024}
CONCURRENCY = (1, 10, 50)
RECIPIENT = "bench@bench.test"
TICKS = os.sysconf("SC_CLK_TCK")
DELIVERY_TIMEOUT = 300.0


@dataclass
class Result:
    server: str
    size: str
    concurrency: int
    messages: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.messages


def process_cpu(pid: int, with_children: bool) -> float:
    """CPU seconds of `pid` (user + system), plus its reaped children's when asked."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def tree_cpu(root: int) -> float:
    """CPU seconds of `root`, its reaped children and every live descendant (Postfix's daemons)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError):
                continue
    total, frontier = process_cpu(root, with_children=True), [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                try:
                    total += process_cpu(pid, with_children=True)
                except OSError:
                    continue
                frontier.append(pid)
    return total


def count_files(directory: Path) -> int:
    return sum(1 for _ in directory.iterdir()) if directory.is_dir() else 0


def run_load(port: int, concurrency: int, messages: int, size: int, maildir_new: Path,
             cpu: Callable[[], float], server: str, label: str) -> Result:
    before_files, before_cpu = count_files(maildir_new), cpu()
    started = time.perf_counter()
    subprocess.run(
        ["smtp-source", "-s", str(concurrency), "-m", str(messages), "-l", str(size),
         "-f", "load@source.test", "-t", RECIPIENT, "-M", "source.test", f"127.0.0.1:{port}"],
        check=True, stdout=subprocess.DEVNULL, timeout=DELIVERY_TIMEOUT,
    )
    seconds = time.perf_counter() - started
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while count_files(maildir_new) < before_files + messages:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server}: only {count_files(maildir_new) - before_files} of {messages} delivered")
        time.sleep(0.02)
    return Result(server, label, concurrency, messages, seconds, cpu() - before_cpu)


class Postfix:
    """A private Postfix instance on a loopback port, delivering bench.test to one Maildir."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.etc = root / "etc"
        self.maildir = root / "mail" / "bench" / "Maildir"

    def start(self) -> None:
        owner = pwd.getpwnam("postfix")
        self.etc.mkdir(parents=True)
        (self.root / "spool").mkdir()
        for owned in ("mail", "data"):
            (self.root / owned).mkdir()
            os.chown(self.root / owned, owner.pw_uid, owner.pw_gid)
        (self.etc / "main.cf").write_text("\n".join([
            "compatibility_level = 3.6",
            f"queue_directory = {self.root}/spool",
            f"data_directory = {self.root}/data",
            "meta_directory = /etc/postfix",
            "mail_owner = postfix",
            "setgid_group = postdrop",
            "myhostname = ref.bench.test",
            "mydestination =",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination",
            "virtual_mailbox_domains = bench.test",
            f"virtual_mailbox_base = {self.root}/mail",
            "virtual_mailbox_maps = static:bench/Maildir/",
            f"virtual_uid_maps = static:{owner.pw_uid}",
            f"virtual_gid_maps = static:{owner.pw_gid}",
            "virtual_minimum_uid = 1",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            f"maillog_file = {self.root}/maillog",
            f"maillog_file_prefixes = {self.root}",
            "default_process_limit = 200",
            "message_size_limit = 52428800",
            "virtual_mailbox_limit = 0",
        ]) + "\n")
        services = []
        for line in Path("/etc/postfix/master.cf").read_text().splitlines():
            fields = line.split()
            if line and not line[0].isspace() and not line.startswith("#") and len(fields) >= 8:
                if fields[:2] == ["smtp", "inet"]:
                    fields[0] = f"127.0.0.1:{self.port}"
                fields[4] = "n"  # no chroot: the instance lives in a scratch directory
                line = "  ".join(fields)
            services.append(line)
        (self.etc / "master.cf").write_text("\n".join(services) + "\n")
        subprocess.run(["postfix", "-c", str(self.etc), "check"], check=True)
        subprocess.run(["postfix", "-c", str(self.etc), "start"], check=True)
        pid_file = self.root / "spool" / "pid" / "master.pid"
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("postfix did not start")
            time.sleep(0.1)
        self.master = int(pid_file.read_text().strip())

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.etc), "stop"], check=False)


@dataclass
class Cell:
    """The rounds of one size and concurrency: (maild, Postfix) results, round by round."""

    size: str
    concurrency: int
    rounds: list[tuple[Result, Result]]

    def medians(self, server: int) -> tuple[float, float]:
        results = [pair[server] for pair in self.rounds]
        return statistics.median(r.rate for r in results), statistics.median(r.cpu_ms for r in results)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def report(cells: list[Cell]) -> None:
    print(f"{'size':>6} {'conc':>4} {'server':>8} {'msgs':>6} {'msg/s':>8} {'(range)':>13} {'cpu ms/msg':>10} {'(range)':>11}")
    for cell in cells:
        for server, name in enumerate(("maild", "postfix")):
            results = [pair[server] for pair in cell.rounds]
            rate, cpu = cell.medians(server)
            print(f"{cell.size:>6} {cell.concurrency:>4} {name:>8} {results[0].messages:>6} {rate:>8.1f} "
                  f"{spread([r.rate for r in results]):>13} {cpu:>10.2f} {spread([r.cpu_ms for r in results]):>11}")
    print("\nmaild / postfix (ratio of medians; range of the per-round ratios)")
    for cell in cells:
        (rate, cpu), (reference_rate, reference_cpu) = cell.medians(0), cell.medians(1)
        rates = [ours.rate / theirs.rate for ours, theirs in cell.rounds]
        cpus = [ours.cpu_ms / theirs.cpu_ms for ours, theirs in cell.rounds]
        print(f"{cell.size:>6} c={cell.concurrency:<3} rate {rate / reference_rate:5.2f}x ({spread(rates)})   "
              f"cpu {cpu / reference_cpu:5.2f}x ({spread(cpus)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per 1 KB run (100 KB runs send a third)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each server per cell")
    parser.add_argument("--quick", action="store_true", help="concurrency 10 only")
    args = parser.parse_args()
    for tool in ("smtp-source", "postfix"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install postfix")
    concurrencies = (10,) if args.quick else CONCURRENCY
    cells: list[Cell] = []
    with tempfile.TemporaryDirectory(prefix="smtp-bench-") as scratch, DnsServer({}).running() as dns:
        root = Path(scratch)
        root.chmod(0o755)  # Postfix's unprivileged daemons reach their directories through it
        config = node_config(mailboxes=[mailbox(RECIPIENT, quota_bytes=0, max_message_bytes=50 * 2**20)],
                             resolver=(dns.address,))
        maild = MaildProcess(config, root / "maild", kinds=("mx",))
        postfix = Postfix(root / "postfix", free_port())
        maild.start()
        postfix.start()
        try:
            maild_new = maild.data_dir / "mail" / "bench.test" / "bench" / "Maildir" / "new"
            assert maild.process is not None
            maild_pid = maild.process.pid

            def run_maild(count: int, concurrency: int, size: int, label: str) -> Result:
                return run_load(maild.ports["mx"], concurrency, count, size, maild_new,
                                lambda: process_cpu(maild_pid, with_children=False), "maild", label)

            def run_postfix(count: int, concurrency: int, size: int, label: str) -> Result:
                return run_load(postfix.port, concurrency, count, size, postfix.maildir / "new",
                                lambda: tree_cpu(postfix.master), "postfix", label)

            for label, size in SIZES.items():
                messages = args.messages if size <= 1024 else max(1, args.messages // 3)
                for concurrency in concurrencies:
                    count = messages if concurrency > 1 else max(1, messages // 3)
                    cell = Cell(label, concurrency, [])
                    for number in range(args.rounds):
                        if number % 2 == 0:
                            ours = run_maild(count, concurrency, size, label)
                            theirs = run_postfix(count, concurrency, size, label)
                        else:
                            theirs = run_postfix(count, concurrency, size, label)
                            ours = run_maild(count, concurrency, size, label)
                        cell.rounds.append((ours, theirs))
                    cells.append(cell)
        finally:
            maild.stop()
            postfix.stop()
    report(cells)


if __name__ == "__main__":
    main()
