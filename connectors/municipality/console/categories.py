"""The categories and purposes the console offers, read from the contract, never copied.

The consent form offers every category that the policy lets leave only by
consent (the profile's and the report's), the dossier shows a message's
categories in its schema's order, and the purposes are the consent
declaration schema's own list. Read from the schemas and the policy this
package ships with: a gateway that ships another policy answers with its
own refusals, which the console says in words.
"""

from __future__ import annotations

import functools

from gateway.client.schemas import Catalog, load_catalog, schema

PROFILE, REPORT = "handover-profile", "progress-report"
BY_CONSENT = frozenset({"consent", "explicit-consent"})


@functools.cache
def _catalog() -> Catalog:
    return load_catalog()


def in_order(type_: str, version: int = 1) -> list[str]:
    """The categories of a message type, in its schema's order."""
    schema = _catalog().bodies.get((type_, version))
    return list(schema.categories) if schema is not None else []


@functools.cache
def by_consent() -> tuple[str, ...]:
    """The categories a consent declaration can release: the profile's, then the report's."""
    policy = _catalog().policy
    return tuple(c for t in (PROFILE, REPORT) for c in in_order(t) if policy[t][c] in BY_CONSENT)


@functools.cache
def purposes() -> tuple[str, ...]:
    """The purposes a consent declaration may name (its schema's enum)."""
    declaration = schema("consent-declaration")
    return tuple(declaration["properties"]["purposes"]["items"]["enum"])
