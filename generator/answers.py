"""The forms of the answers (model id, pin, yes/no words, offline) and the start of the model read.

Loadable without the rest of the generator: copier.yml's validators and ``-d`` checking use the same
forms from here.

With ``copier --defaults`` the hub read begins at the first question; only this module, ``hub``,
``token`` and ``errors`` need loading for that, so the wave is on the wire while ``project``,
``servers``, ``sizing`` and ``facts`` load and the answers are checked.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Callable

from . import hub
from .token import resolve_token

MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
PIN_RE = re.compile(r"^(?P<model>.+)@(?P<sha>[0-9a-f]{40})$")


class Render:
    """What one render computes once and says once: the checks, the project context and the warnings
    already printed. Owned by the render, never by a module: ``extensions/`` keeps one per Jinja
    environment, and copier makes one environment per render of a template (a ``Worker``); copier
    renders a question's default several times, so each computation is kept, by the answers it was
    computed from. The generator's functions take one (``render=None``: a fresh one, nothing kept)."""

    def __init__(self) -> None:
        self.warned: set = set()
        self._kept: dict[tuple, Any] = {}

    def warn(self, key: Any, message: str) -> None:
        """Print ``message`` (stderr) unless this render printed the one of ``key`` already."""
        if key not in self.warned:
            self.warned.add(key)
            print(message, file=sys.stderr)

    def once(self, what: str, answers: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``'s value, kept for ``what`` and these ``answers`` (errors are not kept: copier
        stops at the first)."""
        key = (what, json.dumps(answers, sort_keys=True, default=repr))
        if key not in self._kept:
            self._kept[key] = compute()
        return self._kept[key]


YES = {"1", "true", "yes", "on", "y"}
NO = {"0", "false", "no", "off", "n"}


def as_bool(value: Any) -> bool:
    """A yes/no answer as given with -d or in a data file (anything but a yes word is no)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in YES


def undecided(value: Any) -> bool:
    """A yes/no answer that is neither (empty means the default): ``project.check_data`` refuses it
    before anything is written, and for ``offline`` no hub read may start first (the user may have
    meant yes)."""
    return not isinstance(value, bool) and str(value).strip().lower() not in YES | NO | {""}


def facts_given(answers: dict[str, Any]) -> bool:
    """The user gave what a model without metadata cannot supply: an instance type and a context length."""
    try:
        length = int(answers.get("maxModelLen") or 0)
    except (TypeError, ValueError):
        length = 0
    return str(answers.get("instanceType") or "auto") != "auto" and length > 0


def is_offline(answers: dict[str, Any]) -> bool:
    return as_bool(answers.get("offline", False)) or hub.offline_from_env()


def pinned_sha(answers: dict[str, Any]) -> str | None:
    """The sha of a still-valid modelPin. "refresh" or "" do not match (resolve anew); a pin of
    another model, or a modelRevision that is itself another commit, makes the pin stale."""
    model = str(answers["modelName"])
    revision = str(answers.get("modelRevision") or "main")
    pin = PIN_RE.match(str(answers.get("modelPin") or ""))
    if not pin or pin.group("model") != model:
        return None
    if hub.SHA_RE.match(revision) and revision != pin.group("sha"):
        return None
    return pin.group("sha")


def stale_pin(pin: Any, model: Any) -> bool:
    """A modelPin kept in the answers that no longer pins modelName (another model, or not the form
    org/name@<40-hex commit>): copier.yml's validator drops it, so that it is computed again. Empty and
    "refresh" are not stale (they mean: pin the newest commit)."""
    pin = str(pin or "")
    if pin in ("", "refresh"):
        return False
    found = PIN_RE.match(pin)
    return not found or found.group("model") != str(model or "")


def start_model_read(answers: dict[str, Any]) -> None:
    """The first question's read of the model, in the background (see ``hub.prefetch``). A second
    call with the same model, revision and pin finds the first one's read and starts nothing."""
    if (not MODEL_ID_RE.match(str(answers.get("modelName") or "")) or is_offline(answers)
            or undecided(answers.get("offline", False))):
        return
    if str(answers.get("modelSource") or "hub") == "jumpstart":   # generator/jumpstart.py: no hub read, no token
        return
    token = resolve_token(str(answers.get("hfToken") or ""))
    hub.prefetch(str(answers["modelName"]), str(answers.get("modelRevision") or "main"),
                 pinned_sha=pinned_sha(answers), token=token)
    if answers.get("loraAdapters"):   # after the fork (a forked read needs this process single-threaded)
        from . import lora
        lora.start_reads(answers, token, False)
