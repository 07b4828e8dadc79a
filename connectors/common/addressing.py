"""Who a row is for: a municipality named by its OIN or by its CBS code.

A COA export knows the municipality of placement by its CBS code
(``GM0546``); the gateway addresses messages by OIN. The directory of
registered parties, fetched once per run, links the two.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.common.client import GatewayClient
from connectors.common.exportfile import RowError

OIN = re.compile(r"^[0-9]{20}$")
CBS_CODE = re.compile(r"^GM[0-9]{4}$")


class Municipalities:
    def __init__(self, parties: list[dict[str, Any]]) -> None:
        self.by_code = {
            p["municipality_code"]: p["oin"]
            for p in parties
            if p.get("role") == "municipality" and p.get("municipality_code")
        }
        self.oins = {p["oin"] for p in parties if p.get("role") == "municipality"}

    @classmethod
    def fetch(cls, client: GatewayClient) -> Municipalities:
        return cls(client.directory("municipality"))

    def oin(self, number: int, field: str, value: object) -> str:
        """The OIN of the municipality ``value`` names. Raises RowError if none is registered."""
        if not isinstance(value, str) or not (OIN.match(value) or CBS_CODE.match(value)):
            raise RowError(number, field, "not an OIN (20 digits) or a CBS code (GM + 4 digits)")
        oin = self.by_code.get(value) if CBS_CODE.match(value) else value
        if oin is None or oin not in self.oins:
            raise RowError(
                number, field, "no municipality with this code or OIN is registered at the gateway"
            )
        return oin
