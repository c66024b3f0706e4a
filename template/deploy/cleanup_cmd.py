"""`python -m deploy cleanup` (work in progress)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("cleanup", help="cleanup (work in progress)")
    p.set_defaults(handler=run)


def run(ctx) -> int:
    from .errors import die

    die("cleanup is not written yet")
