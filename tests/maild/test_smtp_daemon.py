"""The maild command line: start-up checks, listener overrides, clean stop, quota recount."""
from __future__ import annotations

import asyncio
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maild.bundle import ConfigHolder
from maild.config import Listener
from maild.daemon import Daemon, UnknownListener
from maild.runtime import Runtime
from maild.store import Store
from tests.maild.dns_server import DnsServer
from tests.maild.support import MaildProcess, RecordingQueue, free_port, mailbox, node_config, stored_messages

TIMEOUT = 20


def maild(*args: str) -> list[str]:
    return [sys.executable, "-m", "maild", *args]


def test_missing_bundle_refuses_to_start_with_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(maild("--bundle", str(tmp_path / "none"), "--data", str(tmp_path / "data")),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 2
    assert "cannot start" in result.stderr and "Traceback" not in result.stderr


def test_unknown_listener_kind_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(maild("--bundle", "b", "--data", "d", "--listen", "gopher=127.0.0.1:70"),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 2 and "expected kind=host:port" in result.stderr


def test_listen_overrides_the_bundle_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    process = MaildProcess(node_config(mailboxes=[mailbox("bob@example.test")]), tmp_path, kinds=("mx",))
    port = free_port()
    daemon = subprocess.Popen(maild("--bundle", str(process.bundle_dir), "--data", str(process.data_dir),
                                    "--listen", f"mx=127.0.0.1:{port}"), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as smtp:
                    assert smtp.noop()[0] == 250
                break
            except OSError:
                assert time.monotonic() < deadline, "maild did not listen on the --listen address"
                time.sleep(0.05)
        daemon.send_signal(signal.SIGTERM)
        _, log = daemon.communicate(timeout=TIMEOUT)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(TIMEOUT)
    assert daemon.returncode == 0
    assert f"listening: mx on 127.0.0.1 port {port}" in log and "stopped" in log
    assert f"port {process.ports['mx']}" not in log  # the bundle's own listener was not opened


def test_quota_recalc_recounts_usage_from_the_files(tmp_path: Path, dns: DnsServer) -> None:
    bob = mailbox("bob@example.test")
    process = MaildProcess(node_config(mailboxes=[bob], resolver=(dns.address,)), tmp_path, kinds=("mx",))
    with process, smtplib.SMTP("127.0.0.1", process.ports["mx"], timeout=TIMEOUT) as smtp:
        for n in range(3):
            smtp.sendmail("a@sender.test", [bob.address], b"Subject: %d\r\n\r\nbody\r\n" % n)
    maildir = process.data_dir / "mail" / "example.test" / "bob" / "Maildir"
    expected = sum(len(message) for message in stored_messages(maildir))
    (maildir / "maildirsize").write_text("0S,0C\n999999 77\n")
    result = subprocess.run(maild("quota", "recalc", "--bundle", str(process.bundle_dir), "--data", str(process.data_dir)),
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"bob@example.test: {expected} bytes in 3 messages\n"
    unknown = subprocess.run(maild("quota", "recalc", "--bundle", str(process.bundle_dir), "--data", str(process.data_dir),
                                   "nobody@example.test"), capture_output=True, text=True, timeout=TIMEOUT)
    assert unknown.returncode == 1 and "no such mailbox: nobody@example.test" in unknown.stderr


def test_a_listener_kind_without_a_server_stops_start_up(tmp_path: Path) -> None:
    config = node_config(mailboxes=[mailbox("bob@example.test")], kinds=("mx",))
    runtime = Runtime(ConfigHolder(config), Store(tmp_path / "mail"), RecordingQueue(), tmp_path)
    daemon = Daemon(runtime, [Listener("mx", "127.0.0.1", 0), Listener("gopher", "127.0.0.1", 0)])
    with pytest.raises(UnknownListener, match="gopher"):
        asyncio.run(daemon.start())
