"""Every message type's handler, by type name: the one place intake finds them.

A handler is the module of its type's name (``handover-profile``:
``handlers/handover_profile.py``) with a ``HANDLER``; the package is read once,
at import, so a new type's handler needs no line here. A test checks that each
type of ``domain.vocabulary.TYPES`` has one and that no module names a type
that is not in the vocabulary. Must not import storage, Flask or SQLAlchemy.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from gateway.domain.vocabulary import TYPES
from gateway.service import handlers
from gateway.service.handlers.base import Handler

_NOT_TYPES = frozenset({"base", "registry"})


def _discover() -> dict[str, Handler[Any, Any]]:
    """Each handler module's ``HANDLER``, by the type its module is named after.

    Raises ImportError for a module named after no message type, or without a
    ``HANDLER``: a handler that is never found is a type that is never handled.
    """
    found: dict[str, Handler[Any, Any]] = {}
    for module in pkgutil.iter_modules(handlers.__path__):
        if module.name in _NOT_TYPES:
            continue
        type_name = module.name.replace("_", "-")
        loaded = importlib.import_module(f"{handlers.__name__}.{module.name}")
        if type_name not in TYPES or not hasattr(loaded, "HANDLER"):
            raise ImportError(f"handlers/{module.name}.py: no message type of that name, "
                              "or no HANDLER in it")  # fmt: skip
        found[type_name] = loaded.HANDLER
    return found


HANDLERS: Mapping[str, Handler[Any, Any]] = _discover()


def handler(type_name: str) -> Handler[Any, Any]:
    """The handler of a message type that passed the schema step (so it is in the vocabulary)."""
    return HANDLERS[type_name]
