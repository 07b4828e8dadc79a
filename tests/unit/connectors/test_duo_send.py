"""duo-send's state file and how it takes DUO's answers, without a gateway or a DUO.

The state file must know the same request again (and only that), hold no
BSN, name the DUO it is about, and give each new message to DUO a berichtId
of its own; DUO's answers must end as its documents say: 2xx kept as
accepted, 403 kept as refused with DUO's words, 400/404 failing that request
alone, 503 and 401 stopping the run.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from connectors.municipality import duo, duo_send
from gateway.errors import BadRequest, Conflict

BSN, OTHER = "999990019", "999990020"
LEIDEN, DUO = "00000001002220647000", "00000001800000000000"
URL = "https://duo.example/v1"
SECRET = b"\x01" * 32
PIP = {"dagtekeningPip": "2026-11-20", "leerroute": "B", "niveau": "B1"}


def state(path: Path, url: str = URL, doel: str = DUO) -> duo_send.State:
    return duo_send.State(path, SECRET, url, LEIDEN, doel)


def answer(status: int, body: Any = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    return response


class FakeDuo(duo_send.Duo):
    """Answers each request with the next of ``answers``; keeps what was sent."""

    def __init__(self, *answers: requests.Response | Exception) -> None:
        super().__init__(URL, LEIDEN, DUO, requests.Session())
        self.answers, self.sent = list(answers), list[tuple[str, str]]()

    def send(self, operation: duo.Operation, bsn: str, body: Any,
             bericht_id: str) -> requests.Response:  # fmt: skip
        self.sent.append((operation.operation_id, bericht_id))
        given = self.answers.pop(0)
        if isinstance(given, Exception):
            raise given
        return given


def test_the_same_request_is_known_again_and_a_changed_one_is_not(tmp_path: Path) -> None:
    kept = state(tmp_path / "s.jsonl")
    key, digest = kept.key(duo.PIP, BSN), kept.digest(duo.PIP, PIP)
    assert kept.unchanged(key, digest) is None
    kept.keep(key, {"digest": digest, "berichtId": "b1", "outcome": "accepted", "answer": None})
    assert kept.unchanged(key, digest) is not None
    assert kept.unchanged(key, kept.digest(duo.PIP, {**PIP, "niveau": "A2"})) is None
    assert kept.key(duo.PIP, OTHER) != key
    assert kept.key(duo.HOURS["participation"], BSN) != key
    kept.close()

    again = state(tmp_path / "s.jsonl")  # another run, the same file
    assert again.unchanged(key, digest) is not None
    assert again.key(duo.PIP, BSN) == key
    again.close()
    assert BSN.encode() not in (tmp_path / "s.jsonl").read_bytes()
    other_key = duo_send.State(tmp_path / "o.jsonl", b"\x02" * 32, URL, LEIDEN, DUO)
    assert other_key.key(duo.PIP, BSN) != key  # nobody without the secret finds the key
    other_key.close()


def test_a_half_written_line_is_skipped_and_the_newest_record_wins(tmp_path: Path) -> None:
    kept = state(tmp_path / "s.jsonl")
    key = kept.key(duo.PIP, BSN)
    for n in (1, 2):
        kept.keep(key, {"digest": f"d{n}", "berichtId": f"b{n}", "outcome": "accepted"})
    kept.close()
    with open(tmp_path / "s.jsonl", "a") as fh:
        fh.write('{"key": "' + key + '", "digest": "d3", "ber')  # killed mid-line
    again = state(tmp_path / "s.jsonl")
    assert again.latest[key]["digest"] == "d2"
    again.close()


def test_a_state_file_of_another_duo_is_refused(tmp_path: Path) -> None:
    state(tmp_path / "s.jsonl").close()
    with pytest.raises(Conflict, match="give --state a new file"):
        state(tmp_path / "s.jsonl", url="https://duo-acceptatie.example/v1")
    with pytest.raises(Conflict):
        state(tmp_path / "s.jsonl", doel="00000001800000000001")
    state(tmp_path / "s.jsonl", url=URL + "/").close()  # the same base URL


def test_each_new_message_has_a_berichtid_of_its_own(tmp_path: Path) -> None:
    kept = state(tmp_path / "s.jsonl")
    key, changed = kept.key(duo.PIP, BSN), {**PIP, "niveau": "A2"}
    first = kept.bericht_id(key, duo.PIP, BSN, PIP, LEIDEN, DUO)
    assert first == duo.bericht_id_for(SECRET, duo.PIP, BSN, PIP, LEIDEN, DUO)  # duo-export's
    assert kept.bericht_id(key, duo.PIP, BSN, PIP, LEIDEN, DUO) == first  # unanswered: the same
    kept.keep(key, {"digest": "a", "berichtId": first, "outcome": "accepted"})
    second = kept.bericht_id(key, duo.PIP, BSN, changed, LEIDEN, DUO)
    kept.keep(key, {"digest": "b", "berichtId": second, "outcome": "accepted"})
    back = kept.bericht_id(key, duo.PIP, BSN, PIP, LEIDEN, DUO)  # A, B, then A again
    assert len({first, second, back}) == 3
    kept.close()


def test_duos_answers_are_taken_as_its_documents_say(tmp_path: Path) -> None:
    kept, run = state(tmp_path / "s.jsonl"), duo_send.Run()
    refusal = [{"fouttekst": f"Persoon {BSN}: dagtekening voor start inburgeringsplicht"}]
    fake = FakeDuo(answer(201), answer(403, refusal), answer(400), answer(503))
    hours: list[tuple[duo.Operation, dict[str, Any]]] = [
        (op, {"uren": 5}) for op in duo.HOURS.values()
    ]
    for operation, body in [(duo.PIP, PIP), *hours]:
        duo_send._send_one(fake, kept, run, ("V123", BSN), operation, body)
    assert (run.sent, run.refused, run.not_sent) == (1, 1, 1)  # the 503: not taken
    assert run.refusals[0].texts == ["Persoon [BSN]: dagtekening voor start inburgeringsplicht"]
    assert run.failures == [
        "V123 uren-participatieactiviteiten: DUO answered HTTP 400 "
        "(Fout verzoek: the request is not as DUO's document says)"
    ]
    assert run.stopped and "HTTP 503 (Service niet beschikbaar" in run.stopped
    assert BSN not in run.stopped
    outcomes = {r["operation"]: r["outcome"] for r in kept.latest.values()}
    assert outcomes == {"postPipByBsn": "accepted",
                        "updateUrenParticipatieAlsTaallesByBsn": "refused",
                        "updateUrenParticipatieactiviteiten": "sent",  # 400: not taken
                        "updateUrenTaallesEnKnmByBSN": "sent"}  # fmt: skip

    again = duo_send.Run()  # the next run: only what was not taken is sent
    fake = FakeDuo(answer(200), answer(200))
    for operation, body in [(duo.PIP, PIP), *hours]:
        duo_send._send_one(fake, kept, again, ("V123", BSN), operation, body)
    assert (again.sent, again.unchanged, again.refused) == (2, 2, 0)
    assert [r.earlier for r in again.refusals] == [True]
    assert [op for op, _ in fake.sent] == ["updateUrenParticipatieactiviteiten",
                                           "updateUrenTaallesEnKnmByBSN"]  # fmt: skip
    kept.close()
    assert BSN not in (tmp_path / "s.jsonl").read_text()


def test_no_answer_at_all_stops_the_run(tmp_path: Path) -> None:
    kept, run = state(tmp_path / "s.jsonl"), duo_send.Run()
    fake = FakeDuo(duo_send.DuoStopped("DUO at https://duo.example/v1 unreachable"))
    duo_send._send_one(fake, kept, run, ("V123", BSN), duo.PIP, PIP)
    assert run.stopped == "DUO at https://duo.example/v1 unreachable" and run.not_sent == 1
    assert [r["outcome"] for r in kept.latest.values()] == ["sent"]  # sent, no answer
    kept.close()


@pytest.mark.parametrize(
    ("body", "texts"),
    [
        ([{"fouttekst": "a"}, {"fouttekst": "b", "extra": 1}], ["a", "b"]),
        ({"fouttekst": "one"}, ["one"]),
        (None, ["HTTP 403 without a Foutmelding (DUO: niet geautoriseerd)"]),
        ([{"fouttekst": "x" * 300}], ["x" * 200]),
    ],
)
def test_duos_words_are_read_from_its_foutmeldingen(body: Any, texts: list[str]) -> None:
    assert duo_send.foutteksten(answer(403, body), BSN) == texts


@pytest.mark.parametrize("url", ["duo.example/v1", "ftp://duo.example", "https://duo.example?x=1"])
def test_a_duo_url_that_is_not_one_is_named(url: str) -> None:
    with pytest.raises(BadRequest, match="--duo-url"):
        duo_send.check_duo_url(url)
    assert duo_send.check_duo_url("https://duo.example/v1/") == "https://duo.example/v1"


def test_a_body_sent_and_never_answered_is_not_taken_for_duos_copy(tmp_path: Path) -> None:
    """A accepted; B sent, DUO took it but its answer was lost (the run stopped); the plan
    corrected back to A: A is sent again (DUO may hold B), as a new message. B again
    after a lost answer is the very same message (its berichtId)."""
    kept = state(tmp_path / "s.jsonl")
    back = {**PIP, "niveau": "A2"}
    fake = FakeDuo(answer(201), duo_send.DuoStopped("DUO unreachable: no answer in 30 s"),
                   answer(201), duo_send.DuoStopped("no answer"), answer(201))  # fmt: skip
    for body in (PIP, back, PIP):
        duo_send._send_one(fake, kept, duo_send.Run(), ("V123", BSN), duo.PIP, body)
    first, lost, again = (bericht for _, bericht in fake.sent)
    assert len(fake.sent) == 3 and len({first, lost, again}) == 3
    for _ in range(2):  # B once more, its answer lost again, then answered
        duo_send._send_one(fake, kept, duo_send.Run(), ("V123", BSN), duo.PIP, back)
    assert fake.sent[3][1] == fake.sent[4][1]  # the very same message, sent again
    kept.close()
    reopened = state(tmp_path / "s.jsonl")
    assert [r["outcome"] for r in reopened.latest.values()] == ["accepted"]
    reopened.close()


def test_a_line_cut_off_by_a_killed_run_loses_nothing_written_after_it(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    kept = state(path)
    duo_send._send_one(FakeDuo(answer(201)), kept, duo_send.Run(), ("V123", BSN), duo.PIP, PIP)
    kept.close()
    with path.open("a", encoding="utf-8") as out:
        out.write('{"key": "cut off')  # the run killed while writing
    changed = {**PIP, "niveau": "A2"}
    kept = state(path)
    duo_send._send_one(FakeDuo(answer(201)), kept, duo_send.Run(), ("V123", BSN), duo.PIP, changed)
    kept.close()
    reopened, run = state(path), duo_send.Run()
    duo_send._send_one(FakeDuo(), reopened, run, ("V123", BSN), duo.PIP, changed)
    assert run.unchanged == 1  # the record after the cut-off line was read back
    reopened.close()


class _Redirecting(BaseHTTPRequestHandler):
    """A DUO (127.0.0.1) that answers every POST with a redirect to a page that says 200."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *_: Any) -> None:
        return None

    def do_POST(self) -> None:
        self.seen.append(("POST", self.path))
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(302)
        self.send_header("Location", "/onderhoud")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_redirect_is_not_followed_nor_taken_for_duos_acceptance(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1"
        api = duo_send.Duo(url, LEIDEN, DUO, requests.Session())
        kept, run = duo_send.State(tmp_path / "s.jsonl", SECRET, url, LEIDEN, DUO), duo_send.Run()
        duo_send._send_one(api, kept, run, ("V123", BSN), duo.PIP, PIP)
        kept.close()
    finally:
        server.shutdown()
        server.server_close()
    assert _Redirecting.seen == [("POST", f"/v1/personen/{BSN}/PIP")]  # no GET elsewhere
    assert run.sent == 0 and run.failures == ["V123 pip: DUO answered HTTP 302 (not an answer "
                                              "its documents list)"]  # fmt: skip
