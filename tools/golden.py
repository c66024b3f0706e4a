"""Golden files: what the template renders for one reference model, per catalog entry.

For every server version in generator/data/engines.json, the project generated offline for
Qwen/Qwen2.5-0.5B-Instruct (its metadata ships with the template: no network) is rendered, and
its Dockerfile, code/serve, code/nginx.conf (where the server has one), code/engine_args.tsv and
model.lock.json are kept under tests/golden/<server>-<version>/. tests/test_golden.py renders them
again and compares, so every change to the template or the catalog shows up as a diff to review.

    python -m tools.golden            # rewrite tests/golden/ from the working tree (stale entries removed)
    python -m tools.golden --check    # compare only; exit 1 and print the diff when they differ
"""
from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from generator import servers  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
FILES = ("Dockerfile", "code/serve", "code/nginx.conf", "code/engine_args.tsv", "model.lock.json")
TEMPLATE_PATHS = ("copier.yml", "template", "generator", "extensions", "includes")
REGENERATE = "python -m tools.golden"


def entries() -> list[tuple[str, str]]:
    """(server, version) for every catalog entry, in catalog order."""
    return [(name, version) for name in servers.SERVERS for version in servers.versions(name)]


def folder_name(server: str, version: str) -> str:
    return f"{server}-{version}"


def copy_template(dst: Path) -> Path:
    """The files copier reads, as a plain folder: copier renders it without a git clone (and without
    anyone else's uncommitted state being in doubt: what is in the working tree is what renders)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_PATHS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst / name)
    return dst


def render(template: Path, dst: Path, server: str, version: str) -> dict[str, bytes]:
    """The golden files of one catalog entry, rendered from ``template`` into ``dst``."""
    import copier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(str(template), str(dst), data={"modelName": MODEL, "modelServer": server,
                                                     "modelServerVersion": version, "offline": True},
                        defaults=True, unsafe=True, quiet=True)
    return read(dst)


def read(project: Path) -> dict[str, bytes]:
    """The golden files' names in a rendered project, with their bytes."""
    return {name: (project / name).read_bytes() for name in FILES if (project / name).is_file()}


def stored(server: str, version: str) -> dict[str, bytes]:
    return read(GOLDEN / folder_name(server, version))


def diff(server: str, version: str, expected: dict[str, bytes], actual: dict[str, bytes]) -> str:
    """A unified diff from the golden files (``expected``) to the render (``actual``)."""
    out = []
    where = f"tests/golden/{folder_name(server, version)}"
    for name in sorted(set(expected) | set(actual)):
        old = expected.get(name, b"").decode().splitlines(keepends=True)
        new = actual.get(name, b"").decode().splitlines(keepends=True)
        if old != new or (name in expected) != (name in actual):
            out.extend(difflib.unified_diff(old, new, f"{where}/{name}" if name in expected else "/dev/null",
                                            f"rendered/{name}" if name in actual else "/dev/null"))
    return "".join(out)


@contextmanager
def offline_environment():
    """No token, no hub, an empty cache: the render depends on the template alone."""
    keys = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HOME",
            "XDG_CACHE_HOME")
    saved = {key: os.environ.get(key) for key in keys}
    with tempfile.TemporaryDirectory(prefix="golden-env-") as home:
        for key in keys:
            os.environ.pop(key, None)
        os.environ.update({"HF_HOME": f"{home}/hf", "XDG_CACHE_HOME": f"{home}/cache"})
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.golden", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when a file differs")
    args = parser.parse_args(argv)
    wanted = {folder_name(s, v): (s, v) for s, v in entries()}
    differences = []
    with tempfile.TemporaryDirectory(prefix="golden-") as work, offline_environment():
        template = copy_template(Path(work) / "template")
        for folder, (server, version) in wanted.items():
            actual = render(template, Path(work) / folder, server, version)
            text = diff(server, version, stored(server, version), actual)
            if not text:
                continue
            differences.append(text)
            if not args.check:
                target = GOLDEN / folder
                shutil.rmtree(target, ignore_errors=True)
                for name, content in actual.items():
                    (target / name).parent.mkdir(parents=True, exist_ok=True)
                    (target / name).write_bytes(content)
                print(f"wrote tests/golden/{folder}/")
    stale = sorted(p.name for p in GOLDEN.glob("*/") if p.is_dir() and p.name not in wanted) if GOLDEN.is_dir() else []
    for name in stale:
        differences.append(f"tests/golden/{name}/: no such catalog entry\n")
        if not args.check:
            shutil.rmtree(GOLDEN / name)
            print(f"removed tests/golden/{name}/ (no longer in the catalog)")
    if args.check and differences:
        sys.stdout.write("".join(differences))
        print(f"\nThe golden files differ from what the template renders. Review the diff; if it is intended, "
              f"run `{REGENERATE}` and commit tests/golden/.", file=sys.stderr)
        return 1
    if not differences:
        print(f"tests/golden/ matches the template ({len(wanted)} catalog entries).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
