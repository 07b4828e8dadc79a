"""The rules DUO's M2M API enforces on an integration plan's combinations, so that a
municipality's tool refuses a plan before the gateway (or DUO) would.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``). The implementation is the gateway's own (``gateway.domain.plans``).
"""

from __future__ import annotations

from gateway.domain.plans import check_combination

__all__ = ["check_combination"]
