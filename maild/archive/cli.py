"""`maild archive verify|purge`: the operator's commands (the running daemon also purges once a day)."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from maild.archive.capture import ARCHIVE_DIR
from maild.archive.journal import domains
from maild.archive.retention import purge_all
from maild.archive.verify import verify
from maild.commands import BAD_BUNDLE, add_node_arguments, load_config


def _verify(args: argparse.Namespace) -> int:
    root = args.data / ARCHIVE_DIR
    names = [args.domain.lower()] if args.domain else domains(root)
    if any("/" in name or name.startswith(".") for name in names):
        print(f"maild: not a domain name: {args.domain}", file=sys.stderr)
        return 2
    failed = False
    for name in names:
        report = verify(root, name)
        print(f"{name}: {report.entries} entries, {'OK' if report.ok else 'TAMPERED'}")
        for problem in report.problems:
            print(f"  {problem}")
        failed = failed or not report.ok
    return 1 if failed else 0


def _purge(args: argparse.Namespace) -> int:
    config = load_config(args.bundle)
    if config is None:
        return BAD_BUNDLE
    for line in purge_all(args.data / ARCHIVE_DIR, config, datetime.now(UTC)):
        print(line)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="maild archive", description="the compliance archive")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check every entry's hash and the chain")
    check.add_argument("--data", required=True, type=Path, help="maild's state directory")
    check.add_argument("--domain", help="only this domain (default: all)")
    check.set_defaults(run=_verify)
    retention = commands.add_parser("purge", help="remove entries past their domain's retention")
    add_node_arguments(retention)
    retention.set_defaults(run=_purge)
    args = parser.parse_args(argv)
    return int(args.run(args))
