"""The APOP secret's contract between the panel (encrypts) and maild (decrypts and checks digests)."""
from __future__ import annotations

import hashlib
import poplib
from dataclasses import replace
from pathlib import Path

from maild.apop import ApopKey, ApopKeyFile, new_timestamp
from panel import create_app
from panel.services import secrets
from tests.maild.pop3_support import TIMEOUT
from tests.maild.support import MaildProcess, insecure_context, mailbox, node_config

TIMESTAMP = "<1896.697170952@dbc.mtview.ca.us>"  # RFC 1939's example


def digest(timestamp: str, secret: str) -> str:
    return hashlib.md5((timestamp + secret).encode(), usedforsecurity=False).hexdigest()


def panel_token(key_file: Path, secret: str) -> str:
    """What the panel puts in the bundle for a mailbox with APOP on (it creates the key file)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "INSTANCE_PATH": str(key_file.parent), "APOP_KEY_FILE": str(key_file)})
    with app.app_context():
        return secrets.encrypt(secret)


def test_token_the_panel_encrypts_checks_apop_digests_in_maild(tmp_path: Path) -> None:
    key_file = tmp_path / "apop.key"
    token = panel_token(key_file, "tanstaaf")
    key = ApopKey.load(key_file)
    assert key is not None
    assert digest(TIMESTAMP, "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb"  # RFC 1939 section 7
    assert key.verify(token, TIMESTAMP, "c4c9334bac560ecc979e58001b3e22fb")
    assert key.verify(token, TIMESTAMP, "C4C9334BAC560ECC979E58001B3E22FB")  # hex in either case
    assert not key.verify(token, TIMESTAMP, digest(TIMESTAMP, "wrong"))
    assert not key.verify(token, "<other.1@host>", "c4c9334bac560ecc979e58001b3e22fb")  # replayed digest
    assert not key.verify(None, TIMESTAMP, "c4c9334bac560ecc979e58001b3e22fb")
    assert not key.verify(token[:-4] + "AAAA", TIMESTAMP, "c4c9334bac560ecc979e58001b3e22fb")  # altered
    assert not key.verify(token, TIMESTAMP, "\u00e9" * 32)  # non-ASCII digest: refused, no crash


def test_token_from_another_key_is_refused(tmp_path: Path) -> None:
    token = panel_token(tmp_path / "one" / "apop.key", "secret")
    panel_token(tmp_path / "two" / "apop.key", "secret")
    other = ApopKeyFile(tmp_path / "two" / "apop.key").current()
    assert other is not None
    assert not other.verify(token, TIMESTAMP, digest(TIMESTAMP, "secret"))


def test_maild_with_apop_key_file_option_accepts_the_panels_apop_secret(tmp_path: Path) -> None:
    key_file = tmp_path / "instance" / "apop.key"  # the panel's key, outside maild's data directory
    bob = replace(mailbox("bob@example.test"), apop_secret=panel_token(key_file, "tanstaaf"))
    config = node_config(mailboxes=[bob], kinds=("pop3s",))
    with MaildProcess(config, tmp_path, kinds=("pop3s",), options=("--apop-key-file", str(key_file))) as maild:
        client = poplib.POP3_SSL("127.0.0.1", maild.ports["pop3s"], timeout=TIMEOUT, context=insecure_context())
        assert b"<" in client.getwelcome()  # a timestamp: APOP is on
        assert client.apop("bob@example.test", "tanstaaf").startswith(b"+OK")
        client.quit()
    assert not (tmp_path / "data" / "apop.key").exists()


def test_missing_key_file_means_no_key(tmp_path: Path) -> None:
    assert ApopKeyFile(tmp_path / "absent.key").current() is None


def test_greeting_timestamps_are_unique_and_well_formed() -> None:
    stamps = {new_timestamp("mx.tegami.test") for _ in range(100)}
    assert len(stamps) == 100
    assert all(s.startswith("<") and s.endswith("@mx.tegami.test>") for s in stamps)
