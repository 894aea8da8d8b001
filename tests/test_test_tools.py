"""In CI, the real clients and servers the suite drives are installed, so none of their tests skip."""
from __future__ import annotations

import os
import shutil

import pytest

TOOLS = ("chromium", "swaks", "fetchmail", "mbsync", "pebble", "openssl")


@pytest.mark.skipif(not os.environ.get("CI"), reason="outside CI a developer may lack some tools")
@pytest.mark.parametrize("tool", TOOLS)
def test_tool_installed_by_make_test(tool):
    assert shutil.which(tool), f"{tool} missing: add its package to scripts/install-test-deps"
