"""``gateway connect coa SOURCE``: COA sends its export as handover profiles."""

from __future__ import annotations

from typing import Any

from connectors.common.commands import sending_command


def _send_export(*args: Any, **kwargs: Any) -> Any:
    from connectors.coa.handover import send_export

    return send_export(*args, **kwargs)


coa = sending_command(
    "coa", "Send a COA export (CSV or JSON Lines) as handover profiles; resumable.", _send_export
)
