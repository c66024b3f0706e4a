#!/usr/bin/env python3
"""Generate many projects from a list of answers files, in one command.

    python tools/batch_generate.py answers/*.yml mcc/*.json --out build/

Each file is a Copier answers file (YAML, for example a project's .copier-answers.yml) or an
ML Container Creator config JSON. Projects are generated one after another with the same
template; a failure (unknown model, gated model, bad answer, hub down, ...) is recorded and
the next project goes on, leaving no half-written folder. A progress bar runs on stderr and a
summary of what failed and why ends the run; the exit code is 1 when any project failed.
The HF token comes from the environment (HF_TOKEN, or the `$VAR` an answers file names).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def load_answers(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a mapping of answers")
    return {key: value for key, value in data.items() if not str(key).startswith("_")}


def project_dir(out: Path, path: Path, answers: dict, taken: set[str]) -> Path:
    name = str(answers.get("projectName") or path.stem)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "project"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}-{n}", n + 1
    taken.add(unique)
    return out / unique


def bar(done: int, total: int, label: str, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("answers", nargs="+", type=Path, help="answers files (.yml/.yaml) or MCC config JSON files")
    parser.add_argument("--template", default=str(ROOT), help="template path or Git URL (default: this checkout)")
    parser.add_argument("--vcs-ref", default=None, help="template version (default: newest tag; HEAD for a checkout)")
    parser.add_argument("--out", type=Path, default=Path("generated"), help="folder for the projects")
    args = parser.parse_args(argv)

    from copier import run_copy
    from copier.errors import UserMessageError
    warnings.simplefilter("ignore", DeprecationWarning)

    args.out.mkdir(parents=True, exist_ok=True)
    vcs_ref = args.vcs_ref or ("HEAD" if Path(args.template).is_dir() else None)
    results, taken, total = [], set(), len(args.answers)
    tty = sys.stderr.isatty()
    start = time.monotonic()
    for index, path in enumerate(args.answers):
        print(("\r" if tty else "") + bar(index, total, path.name), end="" if tty else "\n", file=sys.stderr)
        t0 = time.monotonic()
        try:
            answers = load_answers(path)
            dst = project_dir(args.out, path, answers, taken)
            if dst.exists():
                raise ValueError(f"{dst} already exists; remove it or choose another --out")
            run_copy(args.template, str(dst), data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref=vcs_ref)
            results.append((path, "ok", str(dst), time.monotonic() - t0))
        except UserMessageError as exc:
            results.append((path, "failed", str(exc), time.monotonic() - t0))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            results.append((path, "failed", f"{type(exc).__name__}: {exc}", time.monotonic() - t0))
        except Exception as exc:  # noqa: BLE001 - one project's bug must not stop the others
            results.append((path, "failed", f"unexpected {type(exc).__name__}: {exc}", time.monotonic() - t0))
    print(("\r" if tty else "") + bar(total, total, "done"), file=sys.stderr)

    failed = [r for r in results if r[1] == "failed"]
    print(f"\n{total - len(failed)} generated, {len(failed)} failed, in {time.monotonic() - start:.1f} s")
    for path, status, detail, seconds in results:
        print(f"  {status:6} {path}  ->  {detail if status == 'ok' else ''}".rstrip())
        if status == "failed":
            print("         " + detail.replace("\n", "\n         "))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
