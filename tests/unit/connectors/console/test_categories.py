"""The console offers what the contract says, read from the schemas and the policy (#27)."""

from __future__ import annotations

from connectors.municipality.console import categories


def test_the_consent_form_offers_every_category_that_only_consent_releases() -> None:
    assert categories.by_consent() == (
        "family", "education", "work_experience", "languages", "interests", "health",
        "casemanager_notes", "attendance", "language_levels", "exams", "modules", "signals",
    )  # fmt: skip


def test_the_purposes_are_the_declarations_own() -> None:
    expected = ("brede-intake", "pip", "voortgang", "ontzorgen", "participatie")
    assert categories.purposes() == expected


def test_a_dossier_shows_categories_in_the_schemas_order() -> None:
    assert categories.in_order("progress-report") == [
        "enrolment", "attendance", "language_levels", "exams", "modules", "hours", "signals",
    ]  # fmt: skip
    assert categories.in_order("handover-profile")[:2] == ["identity", "placement"]
    assert categories.in_order("no-such-type") == []
