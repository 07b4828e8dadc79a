"""``gateway connect <party> …``: the connectors as commands each party runs.

Every command takes the party's gateway URL, OIN and private JWK from
options or from the environment (``GATEWAY_URL``, ``GATEWAY_OIN``,
``GATEWAY_KEY``), so a scheduled job needs no secrets on its command line.

Exit status: 0 when everything went through; 1 when some rows were refused
or could not be read (the rest went through); 2 when the run stopped early
(gateway away too long, our key refused; run it again to resume) or the
audit log does not verify. Imports no Flask: each party's commands are in
its own ``cli``, and a console is imported by name only when it is run.
"""

from __future__ import annotations

import click

from connectors.auditor.cli import auditor
from connectors.coa.cli import coa
from connectors.common.options import DomainErrorGroup
from connectors.common.receipts_cli import receipts
from connectors.municipality.cli import municipality
from connectors.provider.cli import provider


@click.group(cls=DomainErrorGroup)
def connect() -> None:
    """The connectors each party runs: coa, provider, municipality, auditor; and what any
    sender does with its receipts file after the gateway was restored (receipts)."""


for _party in (coa, provider, municipality, auditor, receipts):
    connect.add_command(_party)
