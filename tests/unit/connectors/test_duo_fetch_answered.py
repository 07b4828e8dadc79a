"""``duo-fetch``'s file of answered notifications after a run killed while writing it: the
cut-off line is asked again, the next run starts, and what it writes is read back."""

from __future__ import annotations

from pathlib import Path

from connectors.municipality.duo_fetch import Answered


def test_a_cut_off_line_is_asked_again_and_what_follows_it_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "answered.jsonl"
    Answered(path).keep(["b-1"])
    with path.open("a", encoding="utf-8") as out:
        out.write('{"berichtId": "b-')  # killed mid-line
    answered = Answered(path)  # starts (it stopped on the cut-off line before)
    assert answered.ids == {"b-1"}
    answered.keep(["b-2", "b-3"])
    assert Answered(path).ids == {"b-1", "b-2", "b-3"}  # not glued to the cut-off line
