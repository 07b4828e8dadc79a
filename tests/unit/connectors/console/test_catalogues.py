"""Every text the console shows has its Dutch translation, and code lists read as words."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from connectors.auditor.console import views as audit_views
from connectors.consoles import i18n
from connectors.municipality.console import labels
from gateway.domain.audit.events import EVENTS

CONNECTORS = Path(i18n.__file__).parents[1]
CONSOLES = [
    CONNECTORS / "consoles",  # what both share: web, templates
    CONNECTORS / "municipality" / "console",
    CONNECTORS / "auditor" / "console",
]


def extracted() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for folder in CONSOLES:
        for _, _, message, _, _ in extract_from_dir(
            folder,
            method_map,
            options,
            keywords={"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)},
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_console_folder_is_read() -> None:
    assert all(folder.is_dir() for folder in CONSOLES)
    assert len(extracted()) > 400  # 449 distinct when the consoles were regrouped by party


def test_every_message_has_a_dutch_translation() -> None:
    catalogue = i18n.catalogue("nl")
    missing = [m for m in extracted() if not ((found := catalogue.get(m)) and found.string)]
    assert missing == []
    assert not any(m.fuzzy for m in catalogue if m.id)


def test_code_lists_read_in_dutch() -> None:
    i18n.set_language("nl")
    assert labels.value("in-azc", "housing_status") == "in een azc"
    assert labels.country("ERI") == "Eritrea" and labels.country("SYR") == "Syrië"
    assert labels.language("ar") == "Arabisch" and labels.language("tir") == "Tigrinya"
    assert labels.category("health") == "Gezondheid"
    i18n.set_language("en")
    assert labels.country("SYR") == "Syria" and labels.category("health") == "Health"


def test_the_auditor_console_says_every_event_in_words() -> None:
    assert set(audit_views.WORDS) == set(EVENTS)
