"""``python -m connectors.console``: the municipality's console, as ``gateway connect
municipality console``."""

from connectors.console.command import console

console(prog_name="python -m connectors.console")
