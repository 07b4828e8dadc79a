"""The gateway's client package: the surface outside parties' tools may rely on.

The connectors (``connectors/``) are built on it alone, as any party's own tool can be:
the wire format (strict JSON, JWKs, signed envelopes, bearer assertions, times), the
audit log's proofs and checkpoints, the contract's schemas and policy, gettext
catalogues, and the plan rules DUO enforces. Each module declares its surface in
``__all__``.

Semver: the names in a module's ``__all__`` keep their meaning and their calls keep
working within a major version of the ``inburgering-gateway`` package; a new name is a
minor release, a name removed or a call changed a major one. Everything else under
``gateway`` may change in any release: ``gateway.domain`` above all, the implementation
these modules re-export (what sigstore-python calls its ``_internal``), and
``gateway.files``, which reads the files. ``gateway.errors`` is shared: its classes
are what the client raises.
"""

__all__ = ["catalogues", "log", "plans", "schemas", "sdjwt", "wire", "witness"]
