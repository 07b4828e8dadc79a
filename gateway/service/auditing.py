"""Reading the audit log: checkpoints, entries, proofs, a newcomer's trail, the report.

Every read is itself an ``audit.read`` entry, so the log shows who looked at
it; the checkpoint read is entered first, so the checkpoint covers it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from gateway.domain import policy, report, rights
from gateway.domain.audit import notes
from gateway.domain.audit.events import Event
from gateway.domain.parties import Party
from gateway.domain.records import StoredCheckpoint
from gateway.domain.vocabulary import ACCOUNTABILITY
from gateway.errors import BadRequest, NotAuthorised, NotFound, ProofError
from gateway.service.services import Services

RECENT_COSIGNED = 100
"""how many of the newest cosigned checkpoints are looked through for the quorum"""
PAGE = 1000
"""Entries and checkpoints a page"""
EXPORT_CHUNK = 10_000


def record_read(
    services: Services,
    party: Party,
    now: datetime,
    trace_id: str,
    reason: str,
    subject: str | None = None,
    activity: str = ACCOUNTABILITY,
) -> None:
    """Enter one read of the log in the log."""
    event = Event(
        event="audit.read",
        actor=party.oin,
        outcome="ok",
        trace_id=trace_id,
        processing_activity=activity,
        subject=subject,
        reason=reason,
    )
    with services.store.write() as tx:
        tx.append([event], now)


def checkpoint(services: Services, party: Party, now: datetime, trace_id: str) -> StoredCheckpoint:
    """The newest checkpoint, signed anew if the log grew (this read included).

    Raises NotFound when the log is empty.
    """
    policy.require(party.role, policy.READ_CHECKPOINT)
    record_read(services, party, now, trace_id, "checkpoint")
    current = services.checkpoints.sign(now) or services.store.audit.latest()
    if current is None:
        raise NotFound("the log is empty")
    return current


def witnessed(
    services: Services, party: Party, now: datetime, trace_id: str
) -> tuple[StoredCheckpoint, dict[str, str]]:
    """The newest checkpoint cosigned by the quorum of the gateway's witness policy, and each
    witness's cosignature line. Raises NotFound when there is none (among the newest
    ``RECENT_COSIGNED``) or the gateway has no witnesses."""
    policy.require(party.role, policy.READ_CHECKPOINT)
    record_read(services, party, now, trace_id, "witnessed")
    trust = services.settings.witness_policy
    if trust is None:
        raise NotFound("this gateway has no witnesses (GATEWAY_WITNESS_POLICY)")
    for point, lines in services.store.witnesses.cosigned(RECENT_COSIGNED):
        note = notes.parse_note(point.note + "".join(lines.values()))
        if trust.witnessed_by(trust.cosigners(note)):
            return point, lines
    raise NotFound(f"no checkpoint is cosigned by the quorum ({trust.quorum}) yet")


def checkpoint_list(
    services: Services, party: Party, after: int, now: datetime, trace_id: str
) -> list[StoredCheckpoint]:
    """The checkpoints issued after sequence number ``after``, a page of them."""
    policy.require(party.role, policy.READ_LOG)
    found = services.store.audit.checkpoints(after, PAGE)
    record_read(services, party, now, trace_id, f"checkpoints:after:{after}")
    return found


def entries(
    services: Services, party: Party, start: int, end: int, now: datetime, trace_id: str
) -> list[tuple[int, bytes, str]]:
    """Entries [start, end) as their stored bytes: (index, bytes, leaf hash)."""
    policy.require(party.role, policy.READ_LOG)
    found = services.store.audit.entries_raw(start, end)
    record_read(services, party, now, trace_id, f"entries:{start}-{end}")
    return found


def export(
    services: Services, party: Party, start: int, end: int, now: datetime, trace_id: str
) -> Iterator[list[tuple[int, bytes, str]]]:
    """Entries [start, end) in chunks, read as the response streams; the read is entered now."""
    policy.require(party.role, policy.READ_LOG)
    record_read(services, party, now, trace_id, f"export:{start}-{end}")
    return _chunks(services, start, end)


def _chunks(services: Services, start: int, end: int) -> Iterator[list[tuple[int, bytes, str]]]:
    # A read of its own per chunk: no transaction stays open while the client reads.
    for chunk in range(start, end, EXPORT_CHUNK):
        yield services.store.audit.entries_raw(chunk, min(chunk + EXPORT_CHUNK, end))


def inclusion(
    services: Services, party: Party, index: int, size: int, now: datetime, trace_id: str
) -> list[bytes]:
    """Raises ProofError for index ≥ size, BadRequest for sizes beyond the log."""
    policy.require(party.role, policy.READ_LOG)
    if not 0 <= index < size:
        raise ProofError("index must be below tree_size")
    path = services.store.audit.inclusion(index, size)
    record_read(services, party, now, trace_id, f"inclusion:{index}@{size}")
    return path


def consistency(
    services: Services, party: Party, first: int, second: int, now: datetime, trace_id: str
) -> list[bytes]:
    """Raises ProofError unless 0 < first ≤ second, BadRequest for sizes beyond the log."""
    policy.require(party.role, policy.READ_LOG)
    if not 0 < first <= second:
        raise ProofError("need 0 < first <= second")
    path = services.store.audit.consistency(first, second)
    record_read(services, party, now, trace_id, f"consistency:{first}-{second}")
    return path


def subject_entries(
    services: Services, party: Party, v_number: str, now: datetime, trace_id: str
) -> tuple[str, list[dict[str, Any]]]:
    """Every entry about one newcomer (GDPR art. 15): their pseudonym and the entries.

    Raises BadRequest when ``v_number`` is not a V-nummer.
    """
    policy.require(party.role, policy.READ_LOG)
    rights.check_v_number(v_number)
    pseudonym = services.pseudonym(v_number)
    found = services.store.audit.subject_entries(pseudonym)
    record_read(services, party, now, trace_id, "subject-access", subject=pseudonym)
    return pseudonym, found


def access_report(
    services: Services, v_number: str, now: datetime, language: str = "nl"
) -> tuple[str, int]:
    """The newcomer's access report as HTML, and how many entries it covers (operators).

    Raises BadRequest when ``v_number`` is not a V-nummer or ``language`` not offered.
    """
    rights.check_v_number(v_number)
    _check_language(language)
    found = services.store.audit.subject_entries(services.pseudonym(v_number))
    return _render(services, v_number, found, now, language), len(found)


SUBJECT_ACCESS = "subject-access"


def own_copy(
    services: Services, party: Party, v_number: str, language: str, now: datetime, trace_id: str
) -> dict[str, Any]:
    """The newcomer's own copy, for the municipality they are placed with (GDPR art. 15):
    the entries as the auditors' subject read gives them, and the report in ``language``.

    Raises BadRequest for a bad V-nummer or language, NotAuthorised unless placed with
    ``party``. Audited as an ``audit.read`` with processing activity ``subject-access``.
    """
    policy.require(party.role, policy.READ_REGIE)
    rights.check_v_number(v_number)
    _check_language(language)
    pseudonym = services.pseudonym(v_number)
    stored = services.store.progress.stored(pseudonym)
    if stored is None or stored.placed_with != party.oin:
        raise NotAuthorised("the newcomer is not placed with this municipality")
    found = services.store.audit.subject_entries(pseudonym)
    html = _render(services, v_number, found, now, language)
    record_read(services, party, now, trace_id, SUBJECT_ACCESS, pseudonym, SUBJECT_ACCESS)
    return {"subject": pseudonym, "entries": found, "report": html}


def _check_language(language: str) -> None:
    if language not in report.LANGUAGES:
        raise BadRequest(f"lang: one of {', '.join(report.LANGUAGES)}")


def _render(
    services: Services, v_number: str, found: list[dict[str, Any]], now: datetime, language: str
) -> str:
    names = {p.oin: p.name for p in services.store.registry.list_parties()}
    return services.report.render(
        v_number, found, names, now, language, services.settings.report_contact
    )
