"""`flask --app wsgi ...` commands: operators' and scripts' door to the same services."""
from __future__ import annotations

from flask import Flask

from panel.bundle.cli import bundle_group
from panel.cli.setup import setup_command


def register_cli(app: Flask) -> None:
    app.cli.add_command(setup_command)
    app.cli.add_command(bundle_group)
