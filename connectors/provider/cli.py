"""``gateway connect provider …``: send progress reports, pull the briefs of plans."""

from __future__ import annotations

from typing import Any

import click

from connectors.common.commands import pull_command, sending_command
from connectors.common.options import DefaultGroup
from connectors.common.sinks import brief_file


@click.group("provider", cls=DefaultGroup, default_command="send")
def provider() -> None:
    """A provider: send progress reports (``provider SOURCE`` is ``provider send SOURCE``),
    pull the briefs of the plans of your newcomers."""


def _send_reports(*args: Any, **kwargs: Any) -> Any:
    from connectors.provider.reports import send_reports

    return send_reports(*args, **kwargs)


provider.add_command(
    sending_command(
        "send",
        "Send progress reports: an export (CSV, JSON Lines) or one report (.json); resumable.",
        _send_reports,
    )
)
provider.add_command(
    pull_command("Verify, keep, then acknowledge every brief of a plan in your inbox.", brief_file)
)
