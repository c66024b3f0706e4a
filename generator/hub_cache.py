"""What the hub told us about a model, kept on disk by commit sha, and the metadata shipped with the template.

Location: ``$XDG_CACHE_HOME/sagemaker-llm-template/hub`` (``~/.cache/...`` without it), laid out as
``<org>--<name>/<sha>/<file>`` plus ``<org>--<name>/refs/<revision>`` holding the last sha a branch
or tag was seen at. A commit's files never change, so an entry by sha is never stale; a ref is
only a hint (``generator/hub.py`` asks the hub where the branch is now). ``generator/lora.py`` and
``generator/jumpstart.py`` keep their files beside these with :func:`write_atomic`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .hub_http import SHA_RE

CHAT_TEMPLATE_FILE = "chat_template.jinja"
PACKAGE_DATA = Path(__file__).resolve().parent / "data" / "models"


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sagemaker-llm-template" / "hub"


@dataclass
class Snapshot:
    """What the hub told us about one model at one commit."""

    model_id: str
    revision: str
    sha: str
    info: dict[str, Any]
    tokenizer_config: dict[str, Any] | None
    config: dict[str, Any] | None
    chat_template_file: str | None = None
    source: str = "hub"  # hub | cache | shipped
    calls: int = 0

    def files(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model_info.json": self.info}
        if self.tokenizer_config is not None:
            out["tokenizer_config.json"] = self.tokenizer_config
        if self.config is not None:
            out["config.json"] = self.config
        if self.chat_template_file is not None:
            out[CHAT_TEMPLATE_FILE] = self.chat_template_file
        return out


def model_dir(model_id: str) -> str:
    return model_id.replace("/", "--")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _read_dir(model_id: str, revision: str, sha: str, folder: Path, source: str) -> Snapshot | None:
    try:
        info = json.loads((folder / "model_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

    def load(name: str) -> Any:
        path = folder / name
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8")
        return text if name.endswith(".jinja") else json.loads(text)

    try:
        return Snapshot(model_id, revision, sha, info, load("tokenizer_config.json"), load("config.json"),
                        load(CHAT_TEMPLATE_FILE), source=source)
    except ValueError:
        return None


class DiskCache:
    """``<root>/<org>--<name>/<sha>/<file>``, plus ``refs/<revision>`` holding the last sha seen."""

    def __init__(self, root: Path | None = None):
        self.root = root or cache_root()

    def get(self, model_id: str, revision: str, sha: str | None = None) -> Snapshot | None:
        base = self.root / model_dir(model_id)
        if sha is None:
            sha = self.ref(model_id, revision)
        if not sha:
            return None
        return _read_dir(model_id, revision, sha, base / sha, "cache")

    def ref(self, model_id: str, revision: str) -> str | None:
        if SHA_RE.match(revision):
            return revision
        try:
            value = (self.root / model_dir(model_id) / "refs" / quote(revision, safe="")).read_text().strip()
        except OSError:
            return None
        return value if SHA_RE.match(value) else None

    def put(self, snap: Snapshot) -> None:
        base = self.root / model_dir(snap.model_id)
        try:
            for name, value in snap.files().items():
                text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
                write_atomic(base / snap.sha / name, text)
            if not SHA_RE.match(snap.revision):
                write_atomic(base / "refs" / quote(snap.revision, safe=""), snap.sha + "\n")
        except OSError as exc:  # a read-only cache must not stop generation
            print(f"note: could not write the hub cache at {self.root}: {exc}", file=sys.stderr)


def shipped(model_id: str, revision: str, sha: str | None) -> Snapshot | None:
    """Metadata shipped with the template for a few popular models (offline generation)."""
    folder = PACKAGE_DATA / model_dir(model_id)
    try:
        info = json.loads((folder / "model_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if sha and sha != info.get("sha"):
        return None
    if not sha and revision not in ("main", info.get("sha")):
        return None
    return _read_dir(model_id, revision, info["sha"], folder, "shipped")
