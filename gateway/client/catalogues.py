"""gettext catalogues read straight from their ``.po`` files (Babel), no build step; a
catalogue whose header says ``NEEDS_REVIEW`` was translated without a native speaker.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``). Read by ``gateway.files.catalogues``, parsed by ``gateway.domain``.
"""

from __future__ import annotations

from gateway.domain.catalogues import NEEDS_REVIEW, compiled, needs_review
from gateway.files.catalogues import read

__all__ = ["NEEDS_REVIEW", "compiled", "needs_review", "read"]
