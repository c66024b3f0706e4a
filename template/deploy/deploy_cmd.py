"""`python -m deploy deploy` (work in progress)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("deploy", help="deploy (work in progress)")
    p.set_defaults(handler=run)


def run(ctx) -> int:
    from .errors import die

    die("deploy is not written yet")
