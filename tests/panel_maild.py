"""The panel's own maild: `python -m maild` on the bundle the panel writes, for end-to-end tests.

SMTPS (for logins) and IMAPS listen on free loopback ports; `wait_for_serial` waits until the
daemon logs the panel's newest bundle in force.
"""
from __future__ import annotations

import imaplib
import smtplib
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from maild.bundle import load_bundle
from maild.config import Listener
from tests.maild.support import free_port, insecure_context

TIMEOUT = 20.0  # generous: the machine is shared; the reloader itself polls every 0.5 s


def logs_in(port: int, address: str, password: str) -> bool:
    with smtplib.SMTP_SSL("127.0.0.1", port, timeout=TIMEOUT, context=insecure_context()) as smtp:
        try:
            smtp.login(address, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


class PanelMaild:
    """`python -m maild` on the bundle the panel writes for one node, SMTPS and IMAPS on free ports."""

    def __init__(self, app: Flask, tmp_path: Path) -> None:
        self.port = free_port()
        self.imaps_port = free_port()
        app.config["MAILD_LISTENERS"] = (Listener("submissions", "127.0.0.1", self.port),
                                         Listener("imaps", "127.0.0.1", self.imaps_port))
        self.bundle_root = Path(app.config["BUNDLE_DIR"])
        self.data_dir = tmp_path / "maild-data"
        self.log = tmp_path / "maild.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, node_name: str) -> None:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "maild", "--bundle", str(self.bundle_root / node_name),
                 "--data", str(self.data_dir)], stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                with smtplib.SMTP_SSL("127.0.0.1", self.port, timeout=TIMEOUT, context=insecure_context()):
                    return
            except OSError:
                assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
                time.sleep(0.1)

    def wait_for_serial(self, node_name: str) -> float:
        """Seconds until maild logs the panel's newest bundle for `node_name` in force.

        Waiting on the log, not on failed logins, keeps clear of maild's login throttle.
        """
        started = time.monotonic()
        serial = load_bundle(self.bundle_root / node_name).serial
        while f"bundle serial {serial} in force" not in self.log.read_text():
            assert time.monotonic() - started < TIMEOUT, self.log.read_text()
            time.sleep(0.05)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(TIMEOUT)


def imap_login(port: int, address: str, password: str) -> bool:
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=insecure_context(), timeout=TIMEOUT) as imap:
        try:
            imap.login(address, password)
        except imaplib.IMAP4.error:
            return False
        return imap.select("INBOX")[0] == "OK"
