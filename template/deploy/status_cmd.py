"""`python -m deploy status` (work in progress)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("status", help="status (work in progress)")
    p.set_defaults(handler=run)


def run(ctx) -> int:
    from .errors import die

    die("status is not written yet")
