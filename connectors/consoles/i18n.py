"""Translation catalogues (gettext ``.po`` files, read with Babel) and the reader's language.

The catalogues are read from ``translations/<lang>/LC_MESSAGES/messages.po``
at start and compiled in memory, so there is no build step and no
compiled file to keep in step. Message ids are English; Dutch is the
console's first language (its users are Dutch civil servants), English
the fallback. A catalogue whose header carries the flag ``fuzzy`` (or any
entry so marked) is not trusted: fuzzy entries are not used, and a
catalogue marked as needing review says so on every page.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.support import NullTranslations

from gateway.client import catalogues

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = ("nl", "en")
"""The console's languages, the first the default"""

_current: ContextVar[str] = ContextVar("console_language", default=LANGUAGES[0])


def N_(message: str) -> str:
    """Marks a message id for extraction; translated where it is shown."""
    return message


@functools.cache
def catalogue(language: str) -> Catalog:
    return catalogues.read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)


@functools.cache
def translations(language: str) -> NullTranslations:
    if language == "en" or not (TRANSLATIONS / language).is_dir():
        return NullTranslations()
    return catalogues.compiled(catalogue(language))


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else LANGUAGES[0])


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return str(translations(current_language()).ugettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(translations(current_language()).ungettext(singular, plural, n))


def chosen(requested: str | None, accept: list[tuple[str, float]]) -> str:
    """The language of a page: asked for (``?lang=``, cookie), else the browser's, else Dutch."""
    if requested in LANGUAGES:
        return str(requested)
    for language, _ in sorted(accept, key=lambda pair: -pair[1]):
        base = language.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return LANGUAGES[0]
