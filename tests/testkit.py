"""What the tests share besides fixtures: paths, the template copy, tree and lock checks.

A module of its own, not conftest.py: tests/deploy has a conftest.py too, and ``from conftest
import`` would get whichever of the two was imported first."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hubsim import FAKE_TOKEN, GRANTED_TOKEN  # noqa: E402,F401

TEMPLATE_PATHS = ["copier.yml", "template", "generator", "extensions", "includes"]
HF_ENDPOINT = "https://hub.test"

def copy_template(dst: Path) -> Path:
    """The files copier needs from this checkout, copied to ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_PATHS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / name)
    return dst


def tree_bytes(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (the answers file included), by relative path."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(path).parts}


def assert_valid_lock(project: Path) -> dict:
    """A rendered project's model.lock.json, checked with jsonschema against the schema the project
    got beside it (template/model.lock.schema.json), which the lock names in ``$schema``."""
    import json

    import jsonschema
    lock = json.loads((project / "model.lock.json").read_text())
    assert lock["$schema"] == "model.lock.schema.json"
    jsonschema.Draft202012Validator(json.loads((project / lock["$schema"]).read_text())).validate(lock)
    return lock


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt")
    return found
