"""gettext catalogues read from their ``.po`` files and parsed by the domain
(``gateway.domain.catalogues``), which opens no file."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog

from gateway.domain import catalogues


def read(path: Path, language: str) -> Catalog:
    """The catalogue in ``path`` for ``language``; OSError when it cannot be read."""
    return catalogues.parse(path.read_bytes(), language)
