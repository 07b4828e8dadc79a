"""The newest handover profile of one newcomer: the message that placed them where they are.

The profile read (``GET /v1/newcomers/{v_number}/profile``) hands a
municipality the profile again outside its inbox, because the inbox is one
stream per municipality and a second consumer (the console beside a folder
puller) cannot see what the first acknowledged. What may leave is decided by
the service; this module finds the placing message and unseals it.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from gateway.domain import vault
from gateway.domain.records import Placing
from gateway.storage import engine, tables

_P, _M, _K = tables.placements, tables.messages, tables.subject_keys


class ProfileStore:
    def __init__(self, db: Engine, keys: vault.Vault) -> None:
        self.engine = db
        self.vault = keys

    def newest(self, subject: str) -> Placing | None:
        """The newest placing profile of ``subject``: where it placed them, which message,
        when received, and its raw JWS unsealed; None when no profile placed them.

        The placement row outlives crypto-shredding, so an erased newcomer still
        answers where they were placed (the caller decides who may learn that),
        with no message to read.
        """
        query = (
            select(_P.c.municipality, _P.c.message_id, _M.c.received_at, _M.c.sealed,
                   _K.c.wrapped_key)
            .join(_M, _M.c.message_id == _P.c.message_id)
            .outerjoin(_K, _K.c.subject == _P.c.subject)
            .where(_P.c.subject == subject)
            .order_by(_P.c.audit_index.desc())
            .limit(1)
        )  # fmt: skip
        with engine.read(self.engine) as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        raw = None
        if row.wrapped_key is not None:
            key = self.vault.unwrap(row.wrapped_key, subject)
            raw = vault.unseal(key, row.sealed, row.message_id)
        return Placing(row.municipality, row.message_id, row.received_at, raw)
