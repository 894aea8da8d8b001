"""`maild --bundle DIR --data DIR [--listen kind=host:port ...] [--apop-key-file PATH]`: the daemon.

Refuses to start on a bad bundle (nothing valid to serve yet); once running, a bad new bundle is
logged and the last good one stays in force. SIGTERM or SIGINT stop it cleanly.

`maild archive verify|purge ...`: the compliance archive (maild/archive/cli.py).

`maild quota recalc --bundle DIR --data DIR [ADDRESS ...]` recounts quota usage from the files
(all mailboxes by default). The running daemon keeps its own count until restarted: run it with
the daemon stopped, or restart the daemon after it.

`maild cleanup`, `maild usage report` and `maild usage push`: see `maild.usage_commands`.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from maild import cleanup
from maild.archive import cli as archive_cli
from maild.archive import retention as archive_retention
from maild.archive.capture import ARCHIVE_DIR
from maild.bundle import BundleError, ConfigHolder, load_bundle, watch
from maild.commands import parse_mailbox_command
from maild.config import Listener
from maild.daemon import SERVERS, Daemon, UnknownListener
from maild.queue.worker import Queue
from maild.runtime import Runtime
from maild.srs import Srs
from maild.store import Store
from maild.usage import Reporter
from maild.usage_commands import cleanup_main, push_main, report_main

log = logging.getLogger("maild")
IO_THREADS = 32


def listener(text: str) -> Listener:
    """`kind=host:port` (IPv6 as `[::1]:port`)."""
    kind, equals, address = text.partition("=")
    host, colon, port = address.rpartition(":")
    if not equals or not colon or kind not in SERVERS or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected kind=host:port with kind one of {', '.join(sorted(SERVERS))}")
    return Listener(kind, host.strip("[]"), int(port))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="maild", description="Tegami mail daemon")
    parser.add_argument("--bundle", required=True, type=Path, help="this node's bundle directory (written by the panel)")
    parser.add_argument("--data", required=True, type=Path, help="state directory: mail store, queue, certificates")
    parser.add_argument("--listen", action="append", type=listener, default=[], metavar="KIND=HOST:PORT",
                        help="listen here instead of the bundle's listeners (repeatable)")
    parser.add_argument("--apop-key-file", type=Path, default=None, metavar="PATH",
                        help="the Fernet key the panel encrypts APOP secrets with (default: DATA/apop.key)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser.parse_args(argv)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every command line at INFO; ours summarise each message instead.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLevelName(level)))


async def serve(args: argparse.Namespace) -> None:
    holder = ConfigHolder(load_bundle(args.bundle))
    config = holder.current
    log.info("bundle serial %d for node %s (%s)", config.serial, config.server.node, config.server.hostname)
    args.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = Store(args.data / "mail")
    srs = Srs.load(args.data)
    queue = Queue(args.data / "queue", holder, store=store, srs=srs)
    runtime = Runtime(holder, store, queue, args.data, apop_key_file=args.apop_key_file, srs_key=srs)
    reporter = Reporter(holder, store, args.data)
    daemon = Daemon(runtime, args.listen or None, services=(
        lambda: watch(args.bundle, holder), queue.run, reporter.run, lambda: cleanup.run_daily(holder, store),
        lambda: archive_retention.run_daily(holder, args.data / ARCHIVE_DIR)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Deliveries wait on fsync, not CPU: more of them in flight lets the disk commit them together.
    loop.set_default_executor(ThreadPoolExecutor(IO_THREADS, thread_name_prefix="maild-io"))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await daemon.run(stop)


def recalc(argv: list[str]) -> int:
    command = parse_mailbox_command("maild quota recalc", "recount quota usage from the files", argv)
    if isinstance(command, int):
        return command
    store = Store(command.args.data / "mail", claims=False)

    async def recount() -> None:
        for mailbox in command.mailboxes:
            usage = await store.recalc(mailbox)
            print(f"{mailbox.address}: {usage.bytes} bytes in {usage.messages} messages")

    asyncio.run(recount())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["quota", "recalc"]:
        return recalc(argv[2:])
    if argv[:1] == ["archive"]:
        return archive_cli.main(argv[1:])
    usage_commands = {"cleanup": cleanup_main, "usage report": report_main, "usage push": push_main}
    for words, command in usage_commands.items():
        if argv[:len(words.split())] == words.split():
            return command(argv[len(words.split()):])
    args = parse_args(argv)
    configure_logging(args.log_level)
    try:
        asyncio.run(serve(args))
    except (BundleError, UnknownListener) as error:
        log.error("cannot start: %s", error)
        return 2
    except OSError as error:
        log.error("cannot start: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
