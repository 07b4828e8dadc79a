"""The newcomer's access report: plain sentences in Dutch and English, escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.domain import report

COA, LEIDEN, AUDITOR = "00000001003214345000", "00000001002220647000", "00000001800866472000"
PARTIES = {COA: "COA", LEIDEN: "Gemeente <Leiden>", AUDITOR: "Auditdienst"}


def _entry(event: str, actor: str, **extra: object) -> dict[str, object]:
    return {
        "entry": {
            "event": event,
            "actor": actor,
            "time": "2026-11-23T10:15:00.000000Z",
            "type": extra.pop("type", None),
            **extra,
        }
    }


ENTRIES = [
    _entry("message.accepted", COA, type="handover-profile"),
    _entry("message.refused", COA, type="handover-profile", reason="replay"),
    _entry(
        "delivery.pulled",
        LEIDEN,
        type="handover-profile",
        categories_delivered=["identity", "education"],
        categories_withheld=["health"],
        basis={"identity": "legal:Wi2021-art6", "education": "consent:decl-1"},
    ),
    _entry("consent.withdrawn", LEIDEN),
    _entry("audit.read", AUDITOR),
    _entry("key.registered", COA),  # administration: not shown to a newcomer
]


def test_report_says_who_received_what_on_which_basis_in_both_languages() -> None:
    html = report.render("1234567890", ENTRIES, PARTIES, datetime(2026, 11, 23, tzinfo=UTC))
    assert "COA stuurde uw overdrachtsdossier (blauwe map)." in html
    assert "COA sent your handover file (blue folder)." in html
    assert "het bericht was te oud" in html
    assert (
        "ontving uw overdrachtsdossier (blauwe map) (onderdelen: identiteit, opleiding), "
        "op grond van de wet (Wi2021-art6); uw toestemming, verklaring decl-1. "
        "Niet gegeven: gezondheid."
    ) in html
    assert "Withheld: health." in html
    assert "legde vast dat u uw toestemming introk" in html
    assert "Auditdienst looked at the log about you." in html
    assert "kid:" not in html and html.count("<tr><td>") == 2 * 5
    assert "Gemeente &lt;Leiden&gt;" in html and "<Leiden>" not in html
    assert '<section lang="nl">' in html and '<section lang="en">' in html


def test_a_newcomer_without_entries_is_told_so() -> None:
    html = report.render("1234567890", [], PARTIES, datetime(2026, 11, 23, tzinfo=UTC))
    assert (
        "Er is niets over u vastgelegd." in html and "Nothing has been recorded about you." in html
    )


def test_the_report_says_the_recipient_was_told_of_the_withdrawal() -> None:
    told = {
        "event": "notice.delivered",
        "actor": "m",
        "type": "consent-withdrawn",
        "categories_withheld": ["health", "education"],
    }
    assert report.describe(told, {"m": "Leiden"}, 0) == (
        "Leiden kreeg bericht dat u uw toestemming introk: gezondheid, opleiding mag Leiden "
        "niet meer gebruiken."
    )
    assert "Leiden was told that you withdrew your consent" in str(
        report.describe(told, {"m": "Leiden"}, 1)
    )
    pulled = {"event": "delivery.pulled", "actor": "m", "type": "consent-withdrawn"}
    assert report.describe(pulled, {"m": "Leiden"}, 0) is None


def test_the_report_names_the_plan_and_the_brief_in_plain_words() -> None:
    names = {"m": "Leiden", "p": "Taalschool X"}
    planned = {"event": "message.accepted", "actor": "m", "type": "integration-plan"}
    briefed = {
        "event": "delivery.pulled",
        "actor": "p",
        "type": "provider-brief",
        "categories_delivered": ["plan"],
    }
    assert report.describe(planned, names, 0) == "Leiden stelde uw plan vast."
    assert report.describe(briefed, names, 0) == (
        "Taalschool X kreeg de samenvatting van uw plan: route, niveau, uren."
    )
    kept_back = {**briefed, "categories_delivered": []}
    assert report.describe(kept_back, names, 0) is None


def test_the_report_lists_regie_reads() -> None:
    read = {"event": "regie.read", "actor": "m"}
    assert report.describe(read, {"m": "Leiden"}, 0) == (
        "Leiden bekeek de voortgang van uw inburgering."
    )
