"""Flag tables from the engines' own code: ``python -m tools.flags <server> <version>``.

Each server module (vllm, sglang, trtllm, djl) exposes
``extract(version, source, python) -> dict`` returning the table written to
generator/data/flags/<server>-<version>.json (format: see tools/flags/argparse_table.py and the
shared notes). This package also holds the wheel helpers the vLLM and SGLang modules share.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def download_wheel(dist: str, version: str, dest: Path) -> Path:
    """``pip download --no-deps dist==version`` into ``dest``; the wheel's path."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--no-input", "--no-deps", "--only-binary", ":all:", "-d", str(dest), f"{dist}=={version}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob(f"{dist.replace('-', '_')}-{version}-*.whl"))
    if proc.returncode != 0 or not wheels:
        err = "\n".join(line for line in proc.stderr.splitlines() if "is ignored" not in line)
        raise SystemExit(f"pip download {dist}=={version} failed:\n{err[-2000:]}")
    return wheels[0]


def unpack_python(wheel: Path, dest: Path) -> Path:
    """The wheel's .py files (all a source parser needs) unpacked under ``dest``."""
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.endswith(".py"):
                zf.extract(name, dest)
    return dest


class WheelSource:
    """``with WheelSource(dist, version, source) as (root, what):`` the unpacked wheel's root
    (``source`` when given: a directory, or a .whl file to unpack) and a description of it."""

    def __init__(self, dist: str, version: str, source: str | None):
        self.dist, self.version, self.source = dist, version, source
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> tuple[Path, str]:
        if self.source and Path(self.source).is_dir():
            return Path(self.source), f"source tree {self.source}"
        self._tmp = tempfile.TemporaryDirectory(prefix=f"flags-{self.dist}-")
        tmp = Path(self._tmp.name)
        if self.source:
            wheel = Path(self.source)
        else:
            wheel = download_wheel(self.dist, self.version, tmp / "wheel")
        return unpack_python(wheel, tmp / "src"), f"{wheel.name} from PyPI" if not self.source else wheel.name

    def __exit__(self, *exc) -> None:
        if self._tmp:
            self._tmp.cleanup()
