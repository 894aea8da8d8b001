"""`maild cleanup`, `maild usage report` and `maild usage push`: usage work from the command line.

    maild cleanup --bundle DIR --data DIR [ADDRESS ...]      apply the domains' cleanup policies now
    maild usage report --bundle DIR --data DIR              write a full usage report now
    maild usage push --data DIR --url URL --token-file F    send waiting reports to a remote panel

`push` is for a node whose panel is elsewhere: each report in `<data>/usage/outbox` is POSTed
to `URL` (the panel's `/api/nodes/<name>/usage`) with the node's token, and deleted once the
panel accepted it; a refused or failed one stays for the next run. Run it from cron.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.error
import urllib.request
from pathlib import Path

from maild import cleanup
from maild.bundle import ConfigHolder
from maild.commands import BAD_BUNDLE, add_node_arguments, load_config, parse_mailbox_command
from maild.store import Store
from maild.usage import Reporter

PUSH_TIMEOUT = 30.0


def cleanup_main(argv: list[str]) -> int:
    command = parse_mailbox_command("maild cleanup", "apply the domains' cleanup policies now", argv)
    if isinstance(command, int):
        return command
    store = Store(command.args.data / "mail", claims=False)

    async def run() -> None:
        results = await cleanup.clean(store, command.config, command.mailboxes)
        for address, freed in sorted(results.items()):
            print(f"{address}: {freed.messages} messages, {freed.bytes} bytes freed")
        await Reporter(ConfigHolder(command.config), store, command.args.data).report()

    asyncio.run(run())
    return 0


def report_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="maild usage report", description="write a full usage report now")
    args = add_node_arguments(parser).parse_args(argv)
    config = load_config(args.bundle)
    if config is None:
        return BAD_BUNDLE
    path = asyncio.run(Reporter(ConfigHolder(config), Store(args.data / "mail", claims=False), args.data).report(full=True))
    print(path)
    return 0


def push_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="maild usage push", description="send usage reports to a remote panel")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--url", required=True, help="https://panel.example/api/nodes/NODE/usage")
    parser.add_argument("--token-file", required=True, type=Path, help="file holding the node's usage token")
    args = parser.parse_args(argv)
    token = args.token_file.read_text(encoding="utf-8").strip()
    outbox = args.data / "usage" / "outbox"
    failed = 0
    for report in sorted(outbox.glob("[0-9]*.json")):
        request = urllib.request.Request(args.url, data=report.read_bytes(), method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT):
                report.unlink()
        except (urllib.error.URLError, OSError) as error:
            print(f"maild: {report.name} not sent: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
