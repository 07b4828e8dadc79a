"""``gateway connect coa SOURCE``: COA sends its export as handover profiles.

``--format jws`` (the default) sends version 1, a JWS the gateway cuts and signs again;
``--format sd-jwt`` sends version 2, one SD-JWT COA signs once (issue #32), which the
gateway forwards cut by leaving disclosures out, so a municipality verifies COA's own
signature over every category it gets.
"""

from __future__ import annotations

from typing import Any

import click

from connectors.common.commands import sending_command

FORMATS = {"jws": 1, "sd-jwt": 2}
"""``--format`` → the handover profile's version"""


def _send_export(*args: Any, form: str, **kwargs: Any) -> Any:
    from connectors.coa.handover import send_export

    return send_export(*args, version=FORMATS[form], **kwargs)


coa = sending_command(
    "coa",
    "Send a COA export (CSV or JSON Lines) as handover profiles; resumable. With --format "
    "sd-jwt each profile is version 2: one SD-JWT COA signs once, each category a disclosure "
    "(health's members each their own); the gateway forwards only the disclosures a "
    "municipality may have, and the municipality verifies COA's signature itself.",
    _send_export,
    own=(
        click.option(
            "--format",
            "form",
            type=click.Choice(sorted(FORMATS)),
            default="jws",
            show_default=True,
            help="jws: version 1, a JWS the gateway cuts and signs anew; sd-jwt: version 2, "
            "COA's SD-JWT, which the municipality verifies against COA's key itself",
        ),
    ),
)
