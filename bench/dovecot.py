"""Debian's Dovecot as the reference server of the benches: one user, a copy of a Maildir, TLS.

    with dovecot_server(work, source_maildir, cert, key, "imap", IMAP_SERVICE) as server:
        ... server.port, server.pids() ...

Needs root (Dovecot drops to `MAIL_USER` to open the mail) and the protocol's Debian package.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MAIL_USER = "nobody"
STOP_TIMEOUT = 30.0

_CONF = """\
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/dovecot.log
protocols = {protocol}
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
mail_location = maildir:{maildir}
default_login_user = dovenull
default_internal_user = dovecot
{service}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={work}/home
}}
"""


@dataclass(frozen=True)
class Dovecot:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> list[int]:
        """The master and its children (login and mail processes)."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        return [self.process.pid, *map(int, children)]


@contextmanager
def dovecot_server(work: Path, source: Path, cert: Path, key: Path, protocol: str, service: str, port: int,
                   password: str, wait: Callable[[int, subprocess.Popen[bytes]], None]) -> Iterator[Dovecot]:
    """Dovecot serving a copy of `source` for any user with `password`; `service` is the protocol's
    service/listener block (with its TLS `port`), `wait(port, process)` returns once it answers."""
    if shutil.which("dovecot") is None:
        raise SystemExit(f"needs Debian's dovecot-{protocol}d (apt-get install dovecot-{protocol}d)")
    maildir = work / "Maildir"
    shutil.copytree(source, maildir)
    for directory in ("run", "state", "home"):
        (work / directory).mkdir(mode=0o755)
    owner = pwd.getpwnam(MAIL_USER)  # Dovecot will not open mail as root
    for path in [work / "home", maildir, *maildir.rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    conf = work / "dovecot.conf"
    conf.write_text(_CONF.format(work=work, protocol=protocol, cert=cert, key=key, maildir=maildir, service=service,
                                 password=password, uid=owner.pw_uid, gid=owner.pw_gid))
    process = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    log = work / "dovecot.log"
    try:
        wait(port, process)
        yield Dovecot(port, process, log)
    except BaseException:
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(STOP_TIMEOUT)
