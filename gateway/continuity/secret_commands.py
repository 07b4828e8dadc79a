"""``gateway secrets …``: rotating the instance's own secrets (issue #33): being built."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
"""the commands ``gateway.cli`` adds to ``gateway``"""
