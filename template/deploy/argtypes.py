"""The argparse ``type=`` callables the commands share: a bad value is argparse's one-line usage
error (``error: argument --x: wants ...``, exit 1), never a traceback."""
from __future__ import annotations

import argparse


def whole(text: str) -> int:
    """0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"wants a whole number, got '{text}'")
    return int(text)


def positive(text: str) -> int:
    """1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"wants a whole number of at least 1, got '{text}'")
    return int(text)


def whole_seconds(text: str) -> int:
    """A wait in whole seconds, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"wants whole seconds, got '{text}'")
    return int(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return -1.0


def seconds(text: str) -> float:
    """0 or more seconds, fractions allowed."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"wants seconds, got '{text}'")
    return value


def usd_per_hour(text: str) -> float:
    """A price above 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"wants USD per hour (e.g. 1.408), got '{text}'")
    return value
