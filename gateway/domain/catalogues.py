"""gettext catalogues read straight from their ``.po`` files (Babel), no build step.

Shared by the newcomer's access report and the consoles. A catalogue whose
header comment says ``NEEDS REVIEW BY A NATIVE SPEAKER`` was translated by
the project's developers without one: it is used (better than no
translation for a newcomer), and every page made with it says so. Fuzzy
entries are never used.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

NEEDS_REVIEW = "NEEDS REVIEW BY A NATIVE SPEAKER"


def read(path: Path, language: str) -> Catalog:
    with open(path, "rb") as fh:
        return read_po(fh, locale=language)


def compiled(catalogue: Catalog) -> NullTranslations:
    data = io.BytesIO()
    write_mo(data, catalogue, use_fuzzy=False)
    data.seek(0)
    return Translations(data)


def needs_review(catalogue: Catalog) -> bool:
    return NEEDS_REVIEW in (catalogue.header_comment or "")
