"""The contract's schemas and policy: the catalog of validators the gateway judges
messages by, and the schema documents themselves, as shipped with this package.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``). The files are read by ``gateway.files.schemas`` and checked by the
domain, so a tool validates exactly as the gateway does.
"""

from __future__ import annotations

from gateway.domain.schemas import BodySchema, Catalog
from gateway.files.schemas import load_catalog, schema, schema_dir

__all__ = ["BodySchema", "Catalog", "load_catalog", "schema", "schema_dir"]
