"""What maild's one-shot commands (quota recalc, cleanup, usage report, archive purge) share.

They run beside the daemon on the same node: its bundle and state directory as options, an
unreadable bundle or an unknown mailbox told to the operator on stderr (exit status 2 and 1).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from maild.bundle import BundleError, load_bundle
from maild.config import Config, Mailbox

BAD_BUNDLE = 2
NO_SUCH_MAILBOX = 1


def add_node_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`--bundle DIR --data DIR`, as the daemon itself takes them."""
    parser.add_argument("--bundle", required=True, type=Path, help="this node's bundle directory")
    parser.add_argument("--data", required=True, type=Path, help="maild's state directory")
    return parser


def load_config(bundle: Path) -> Config | None:
    """The bundle's Config; None, with the reason printed, when it cannot be read."""
    try:
        return load_bundle(bundle)
    except BundleError as error:
        print(f"maild: cannot read the bundle: {error}", file=sys.stderr)
        return None


@dataclass(frozen=True)
class MailboxCommand:
    """A command run on some (or all) of the node's mailboxes, its arguments checked."""

    args: argparse.Namespace
    config: Config
    mailboxes: list[Mailbox]


def parse_mailbox_command(prog: str, description: str, argv: list[str]) -> MailboxCommand | int:
    """`prog --bundle DIR --data DIR [ADDRESS ...]` parsed, its bundle read and its mailboxes
    found; the exit status instead when the bundle or a mailbox is not there."""
    parser = add_node_arguments(argparse.ArgumentParser(prog=prog, description=description))
    parser.add_argument("addresses", nargs="*", metavar="ADDRESS", help="only these mailboxes (default: all)")
    args = parser.parse_args(argv)
    config = load_config(args.bundle)
    if config is None:
        return BAD_BUNDLE
    mailboxes = _chosen_mailboxes(config, args.addresses)
    if mailboxes is None:
        return NO_SUCH_MAILBOX
    return MailboxCommand(args, config, mailboxes)


def _chosen_mailboxes(config: Config, addresses: Sequence[str]) -> list[Mailbox] | None:
    """The mailboxes named by `addresses` (all of them when none is named); None, with the
    unknown addresses printed, when any is not hosted here."""
    unknown = [address for address in addresses if config.mailbox(address) is None]
    if unknown:
        print(f"maild: no such mailbox: {', '.join(unknown)}", file=sys.stderr)
        return None
    wanted = {address.lower() for address in addresses}
    return [box for box in config.mailboxes.values() if not wanted or box.address.lower() in wanted]
