"""Messages on stderr (stdout is kept for results a script can read), and confirm()."""
from __future__ import annotations

import sys

from .errors import die, redact


def log(message: str) -> None:
    """A plain line on stderr."""
    print(redact(message), file=sys.stderr, flush=True)


def info(message: str) -> None:
    """A step: '==> message' on stderr."""
    log(f"==> {message}")


def warn(message: str) -> None:
    """'warning: message' on stderr."""
    log(f"warning: {message}")


def confirm(prompt: str, yes: bool = False) -> bool:
    """True when ``yes`` is set or the user answers y/yes on the terminal; with no terminal to
    ask on, a DeployError that says to pass --yes."""
    if yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        die(f"{prompt} -- no terminal to ask on; pass --yes to confirm")
    try:
        answer = input(f"{prompt} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
