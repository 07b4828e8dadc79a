"""``python -m connectors.municipality.console``: the municipality's console, as ``gateway
connect municipality console``."""

from connectors.municipality.console.command import console

console(prog_name="python -m connectors.municipality.console")
