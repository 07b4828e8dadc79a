"""The newcomer's own copy: plain sentences in four languages, Dutch time, no acknowledgements."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain import catalogues
from gateway.domain.report import words
from gateway.files import report as report_files

COA, LEIDEN, AUDITOR = "00000001003214345000", "00000001002220647000", "00000001800866472000"
PARTIES = {COA: "COA", LEIDEN: "Gemeente <Leiden>", AUDITOR: "Auditdienst"}
DECLARATION = "5b0c7a9e-1111-4222-8333-944455556666"
render = report_files.renderer().render


def _entry(
    event: str, actor: str, time: str = "2026-11-23T10:15:00.000000Z", **extra: object
) -> dict[str, dict[str, object]]:
    return {
        "entry": {
            "event": event,
            "actor": actor,
            "time": time,
            "type": extra.pop("type", None),
            **extra,
        }
    }


ENTRIES = [
    _entry("message.accepted", COA, type="handover-profile"),
    _entry("message.refused", COA, type="handover-profile", reason="replay"),
    _entry(
        "consent.recorded",
        LEIDEN,
        "2026-11-22T09:00:00.000000Z",
        reason=f"declaration:{DECLARATION}",
    ),
    _entry(
        "delivery.pulled",
        LEIDEN,
        "2026-11-23T23:30:00.000000Z",
        type="handover-profile",
        categories_delivered=["identity", "education"],
        categories_withheld=["health"],
        basis={"identity": "legal:Wi2021-art6", "education": f"consent:{DECLARATION}"},
    ),
    _entry("delivery.acknowledged", LEIDEN, type="handover-profile"),
    _entry("delivery.acknowledged", LEIDEN, type="handover-profile"),
    _entry("consent.withdrawn", LEIDEN, reason=f"data-subject:{DECLARATION}"),
    _entry("notice.delivered", LEIDEN, type="consent-withdrawn", categories_withheld=["education"]),
    _entry("audit.read", AUDITOR),
    _entry("key.registered", COA),  # administration: not shown to a newcomer
]
MADE = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _rows(html: str) -> int:
    return html.count('<td class="when">')


def test_the_dutch_report_in_words_dutch_time_and_no_acknowledgements() -> None:
    html = render("1234567890", ENTRIES, PARTIES, MADE, "nl")
    assert '<html lang="nl" dir="ltr">' in html
    assert "COA stuurde uw overdrachtsdossier (blauwe map)." in html
    assert "het bericht was te oud" in html
    assert "Gemeente &lt;Leiden&gt; ontving uw overdrachtsdossier (blauwe map)." in html
    assert "Op grond van de Wet inburgering 2021, artikel 6: identiteit." in html
    assert "Met uw toestemming van 22 november 2026, 10:00: opleiding." in html
    assert "Niet gegeven: gezondheid." in html
    assert "24 november 2026, 00:30" in html  # 23:30 UTC is past midnight in Amsterdam
    assert "kreeg bericht dat u uw toestemming introk" in html
    assert "Autoriteit Persoonsgegevens" in html and "functionaris gegevensbescherming" in html
    assert _rows(html) == 7  # no acknowledgements, no key administration
    assert "<Leiden>" not in html and DECLARATION not in html and "Wi2021-art6" not in html
    assert 'class="review"' not in html


@pytest.mark.parametrize("language", ["en", "ar", "tr"])
def test_every_language_says_the_same_rows(language: str) -> None:
    html = render("1234567890", ENTRIES, PARTIES, MADE, language, "Gemeente Leiden, 071")
    assert _rows(html) == 7
    assert "Gemeente Leiden, 071" in html
    assert (f'dir="{"rtl" if language == "ar" else "ltr"}"') in html
    assert ('class="review"' in html) == (language in ("ar", "tr"))


def test_english_and_arabic_words() -> None:
    english = render("1234567890", ENTRIES, PARTIES, MADE, "en")
    assert "By law (the Civic Integration Act 2021 (Wet inburgering 2021), article 6)" in english
    arabic = render("1234567890", ENTRIES, PARTIES, MADE, "ar")
    assert "من تلقّى أيّ بيانات عنك؟" in arabic and "الصحة" in arabic


def _reads(
    count: int, first: str = "2026-12-06T09:15:00", event: str = "regie.read"
) -> list[dict[str, dict[str, object]]]:
    start = datetime.fromisoformat(first).replace(tzinfo=UTC)
    return [
        _entry(event, LEIDEN, (start + timedelta(seconds=6 * i)).strftime(TIME), reason="progress")
        for i in range(count)
    ]


TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def test_eleven_progress_reads_on_one_day_are_one_line_with_a_count() -> None:
    entries = [*_reads(11), _entry("audit.read", AUDITOR, "2026-12-06T09:30:00.000000Z")]
    html = render("1234567890", entries, PARTIES, MADE, "nl")
    assert _rows(html) == 2
    assert (
        "Gemeente &lt;Leiden&gt; bekeek de voortgang van uw inburgering, 11 keer op 6 december."
        in html
    )
    assert "6 december 2026, 10:15\u201310:16" in html  # the first and the last, Dutch time
    assert "Auditdienst bekeek het logboek over u." in html  # once: as it always read
    english = render("1234567890", entries, PARTIES, MADE, "en")
    assert "looked at the progress of your integration, 11 times on December 6." in english


def test_reads_are_counted_per_dutch_day_and_per_party_and_other_lines_stay_apart() -> None:
    entries = [
        *_reads(2, "2026-12-06T22:58:00"),  # 23:58 in Amsterdam: 6 December
        *_reads(3, "2026-12-06T23:01:00"),  # 00:01 in Amsterdam: 7 December
        _entry("regie.read", COA, "2026-12-06T23:05:00.000000Z"),
        _entry("consent.recorded", LEIDEN, "2026-12-06T23:06:00.000000Z"),
        _entry("consent.recorded", LEIDEN, "2026-12-06T23:07:00.000000Z"),
    ]
    html = render("1234567890", entries, PARTIES, MADE, "nl")
    assert "2 keer op 6 december" in html and "3 keer op 7 december" in html
    assert "COA bekeek de voortgang van uw inburgering." in html
    assert html.count("legde uw toestemming vast") == 2  # not a read: each its own line
    assert _rows(html) == 5


def test_the_same_delivery_pulled_again_is_one_line_with_its_parts() -> None:
    pulled = ENTRIES[3]["entry"]
    again = [{"entry": {**pulled, "time": f"2026-11-23T23:{m}:00.000000Z"}} for m in (30, 40)]
    html = render("1234567890", [ENTRIES[2], *again], PARTIES, MADE, "nl")
    assert "ontving uw overdrachtsdossier (blauwe map), 2 keer op 24 november." in html
    assert html.count("Niet gegeven: gezondheid.") == 1
    assert _rows(html) == 2


@pytest.mark.parametrize(
    ("language", "count", "said"),
    [
        ("ar", 2, "\u0645\u0631\u062a\u064a\u0646"),  # the dual, without the number
        ("ar", 3, "3 \u0645\u0631\u0627\u062a"),
        ("ar", 11, "11 \u0645\u0631\u0629"),
        ("tr", 11, "11 kez"),
        ("nl", 2, "2 keer"),
    ],
)
def test_a_count_in_the_plural_form_of_each_language(language: str, count: int, said: str) -> None:
    html = render("1234567890", _reads(count), PARTIES, MADE, language)
    assert _rows(html) == 1 and said in html


def test_every_catalogue_translates_every_message() -> None:
    ids = {v for k, v in vars(words).items() if k.isupper() and isinstance(v, str)}
    ids |= {
        m
        for k, v in vars(words).items()
        if k.isupper() and isinstance(v, dict)
        for m in v.values()
        if isinstance(m, str)
    }
    for language in ("nl", "ar", "tr"):
        found = report_files.catalogue(language)
        for message_id in ids:
            message = found.get(message_id)
            assert message is not None and message.string and not message.fuzzy, message_id
            fields = set(re.findall(r"{(\w+)}", message_id))
            assert set(re.findall(r"{(\w+)}", str(message.string))) == fields, message_id
        assert catalogues.needs_review(found) == (language != "nl")


def test_every_catalogue_has_every_plural_form_of_a_count() -> None:
    for language in ("nl", "ar", "tr"):
        found = report_files.catalogue(language)
        for one, many in words.REPEATED.values():
            message = found.get(one)
            assert message is not None and message.id == (one, many) and not message.fuzzy, one
            forms = message.string
            assert isinstance(forms, tuple | list), one  # a plural's forms
            assert len(forms) == found.num_plurals and all(forms), one
            fields = set(re.findall(r"{(\w+)}", many))
            for form in forms:
                assert set(re.findall(r"{(\w+)}", form)) | {"count"} == fields, form


def test_a_newcomer_without_entries_is_told_so() -> None:
    html = render("1234567890", [], PARTIES, MADE, "nl")
    assert "Er is niets over u vastgelegd." in html
    assert "Er is nog niets over u aan iemand gegeven." in html
