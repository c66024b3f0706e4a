"""``model.lock.json``'s one description: ``template/model.lock.schema.json`` (JSON Schema 2020-12).

The schema is copied into every generated project beside the lock, and the lock names it with
``$schema``, so editors check a lock by hand and the project's deploy tool checks it when it reads
it (``deploy/lock.py``). Here the lock is checked as it is computed, before any file is written.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import TemplateError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "template" / "model.lock.schema.json"
SCHEMA_REF = "model.lock.schema.json"   # the lock's "$schema": the file beside it in the project


class InvalidLock(TemplateError):
    """The lock the template computed does not match its schema: a bug in the template."""


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def problems(lock: Any) -> list[str]:
    """Every way ``lock`` breaks the schema, one line each ('deployment.max_model_len: ...'), in path order."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(schema())
    out = []
    for error in sorted(validator.iter_errors(lock), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(part) for part in error.absolute_path) or "(the lock)"
        out.append(f"{where}: {error.message}")
    return out


def validate(lock: Any) -> None:
    """Raise :class:`InvalidLock` naming every problem; nothing is written then."""
    found = problems(lock)
    if found:
        raise InvalidLock(
            f"The model.lock.json this template computed does not match {SCHEMA_PATH.name}, so nothing was written: "
            + "; ".join(found) + ". This is a bug in the template (or the schema): please report it with the "
            "command you ran.")
