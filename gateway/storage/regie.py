"""Regie's sealed view of a message: what the writers store beside plans, reports and
placements, and the associated data it opens with.

Regie (``storage.progress``) reads these views instead of unsealing whole
messages; each is sealed under the newcomer's data key with the message id
and ``/regie`` as associated data, so it opens beside that message only.
Must not import the service or the web.
"""

from __future__ import annotations

import json

from gateway.domain import progress, vault
from gateway.domain.message import Message


def regie_aad(message_id: str) -> str:
    """The associated data of a message's sealed regie view: it opens beside that message only."""
    return f"{message_id}/regie"


def sealed_view(key: bytes | None, message: Message) -> bytes | None:
    """What regie reads of the message (``progress.regie_view``), sealed under ``key``.

    None when the type has no view, or the newcomer has no key (or was erased).
    Called after the message itself was added, so the key exists.
    """
    view = progress.regie_view(message)
    if view is None or not key:
        return None
    raw = json.dumps(view, separators=(",", ":")).encode()
    return vault.seal(key, raw, regie_aad(message.message_id))
