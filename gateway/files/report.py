"""The access report's page: its template and its catalogues, read from the domain's
report package (where they stay, next to the words they translate) and handed to a
``Renderer``, made once per process."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog

from gateway.domain import report
from gateway.files import catalogues


def folder() -> Path:
    """The report package's folder: its template and ``translations/``."""
    return Path(str(resources.files(report)))


def catalogue(language: str) -> Catalog:
    """The report's catalogue for ``language`` (not English: that is the message ids)."""
    return catalogues.read(folder() / report.catalogue_file(language), language)


@functools.cache
def renderer() -> report.Renderer:
    """The report's renderer, its template and catalogues read and compiled once."""
    template = (folder() / report.TEMPLATE).read_text(encoding="utf-8")
    found = {language: catalogue(language) for language in report.LANGUAGES if language != "en"}
    return report.Renderer(template, found)
