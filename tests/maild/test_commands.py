"""maild's one-shot commands tell the operator about a bad bundle or an unknown mailbox alike."""
from __future__ import annotations

from pathlib import Path

import pytest

from maild.__main__ import main
from tests.maild.support import MaildProcess, mailbox, node_config


@pytest.mark.parametrize("command", [["quota", "recalc"], ["cleanup"], ["usage", "report"], ["archive", "purge"]])
def test_unreadable_bundle_exits_2_with_the_reason(command: list[str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*command, "--bundle", str(tmp_path / "missing"), "--data", str(tmp_path / "data")])
    assert status == 2
    assert "maild: cannot read the bundle: " in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", [["quota", "recalc"], ["cleanup"]])
def test_unknown_mailbox_exits_1_naming_it_and_touches_nothing(command: list[str], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    node = MaildProcess(node_config(mailboxes=[mailbox("bob@example.test")]), tmp_path, kinds=())
    status = main([*command, "--bundle", str(node.bundle_dir), "--data", str(node.data_dir),
                   "BOB@example.test", "nobody@example.test"])
    assert status == 1
    assert capsys.readouterr().err == "maild: no such mailbox: nobody@example.test\n"
    assert not node.data_dir.exists()
