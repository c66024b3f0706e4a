"""Resolve the HuggingFace token used for hub calls at generation time, and redact it.

Order: the ``hfToken`` answer (a literal token or a ``$VAR`` / ``${VAR}`` reference),
then ``HF_TOKEN``, then ``HUGGING_FACE_HUB_TOKEN``, then the token file
(``HF_TOKEN_PATH``, else ``$HF_HOME/token``, else ``~/.cache/huggingface/token``).
The token is never written anywhere; messages pass through :func:`redact`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import InvalidAnswer

_VAR_REF = re.compile(r"^\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))$")

# Tokens seen in this process, so that any message can be scrubbed of them.
_SEEN: set[str] = set()


def token_file(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("HF_TOKEN_PATH"):
        return Path(env["HF_TOKEN_PATH"]).expanduser()
    hf_home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    return Path(hf_home).expanduser() / "token"


def resolve_token(answer: str | None, env: dict[str, str] | None = None) -> str | None:
    """Return the token to send to the hub, or None for anonymous calls."""
    env = os.environ if env is None else env
    answer = (answer or "").strip()
    token: str | None = None
    if answer:
        match = _VAR_REF.match(answer)
        if match:
            name = match.group("braced") or match.group("plain")
            # unset or empty: no error here (a public model needs no token); the rest of the order
            # applies, and a model that needs a token says so, naming the variable (unset_reference)
            token = (env.get(name) or "").strip() or None
        elif answer.startswith("$"):
            raise InvalidAnswer(
                "hfToken looks like an environment variable reference but is not one. "
                "Use $NAME or ${NAME}, a literal token, or leave it empty."
            )
        else:
            token = answer
    if token is None:
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            value = (env.get(name) or "").strip()
            if value:
                token = value
                break
    if token is None:
        path = token_file(env)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError:
            value = ""
        token = value or None
    if token:
        _SEEN.add(token)
        if not re.fullmatch(r"[\x21-\x7e]+", token):
            raise InvalidAnswer("The HuggingFace token holds a space, a line break or a non-ASCII character (a "
                                "pasted quote?). Copy it again from https://huggingface.co/settings/tokens.")
    return token


def unset_reference(answer: str | None, env: dict[str, str] | None = None) -> str | None:
    """The variable an ``hfToken`` of ``$VAR`` / ``${VAR}`` names when it is unset or empty, else None."""
    env = os.environ if env is None else env
    match = _VAR_REF.match((answer or "").strip())
    if not match:
        return None
    name = match.group("braced") or match.group("plain")
    return None if (env.get(name) or "").strip() else name


def redact(text: str, *tokens: str | None) -> str:
    """Replace every known token (and anything shaped like an HF token) in ``text``."""
    for token in set(filter(None, tokens)) | _SEEN:
        text = text.replace(token, "***")
    return re.sub(r"hf_[A-Za-z0-9]{8,}", "hf_***", text)
