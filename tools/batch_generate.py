#!/usr/bin/env python3
"""Generate many projects from a list of answers files, in one command.

    python tools/batch_generate.py answers/*.yml mcc/*.json --out build/

Each file is a Copier answers file (YAML, for example a project's .copier-answers.yml) or an
ML Container Creator config JSON. Projects are generated one after another with the same
template; a failure (unknown model, gated model, bad answer, hub down, ...) is recorded and
the next project goes on, leaving no half-written folder. A progress bar runs on stderr and a
summary of what failed and why ends the run; the exit code is 1 when any project failed.
The HF token comes from the environment (HF_TOKEN, or the `$VAR` an answers file names).

Each project's folder under --out is named by its projectName: the one in the answers or MCC
file, or else the template's default derived from modelName and modelServer (as `copier copy`
would store it), never by the answers file's name. A project is rendered into a hidden scratch
folder first and moved to its name only when complete. Two projects with the same projectName
are not both written: the later one fails, naming the file that took the name, and nothing is
overwritten (an existing folder under --out is never replaced either). Give each project its
own projectName: SageMaker endpoint, model and secret names are derived from it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
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


def project_name(worker, folder: Path) -> str:
    """The projectName the template settled on: given, or derived (from the run, else its answers file)."""
    name = None
    try:
        name = worker.answers.combined.get("projectName")
    except AttributeError:
        pass
    if not name:
        answers_file = folder / ".copier-answers.yml"
        if answers_file.is_file():
            name = (yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}).get("projectName")
    if not name:
        raise ValueError("the generated project has no projectName; set projectName in the answers file")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.") or "project"


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
    results, total = [], len(args.answers)
    taken: dict[str, Path] = {}     # projectName -> the answers file whose project holds it
    tty = sys.stderr.isatty()
    start = time.monotonic()
    for index, path in enumerate(args.answers):
        print(("\r" if tty else "") + bar(index, total, path.name), end="" if tty else "\n", file=sys.stderr)
        t0 = time.monotonic()
        scratch = None
        try:
            answers = load_answers(path)
            scratch = Path(tempfile.mkdtemp(dir=args.out, prefix=".partial-"))
            worker = run_copy(args.template, str(scratch / "project"), data=answers, defaults=True, unsafe=True,
                              quiet=True, vcs_ref=vcs_ref)
            name = project_name(worker, scratch / "project")
            dst = args.out / name
            if name in taken:
                raise ValueError(f"projectName '{name}' is already used by {taken[name]} ({dst}); nothing was "
                                 f"overwritten and this project was not written. Give it its own projectName "
                                 f"(add `projectName: {name}-2` to {path}): endpoint and secret names derive "
                                 "from it.")
            if dst.exists():
                raise ValueError(f"{dst} already exists (projectName '{name}'); nothing was overwritten. Remove "
                                 "it, choose another --out, or give this project another projectName.")
            (scratch / "project").rename(dst)
            taken[name] = path
            results.append((path, "ok", str(dst), time.monotonic() - t0))
        except UserMessageError as exc:
            results.append((path, "failed", str(exc), time.monotonic() - t0))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            results.append((path, "failed", f"{type(exc).__name__}: {exc}", time.monotonic() - t0))
        except Exception as exc:  # noqa: BLE001 - one project's bug must not stop the others
            results.append((path, "failed", f"unexpected {type(exc).__name__}: {exc}", time.monotonic() - t0))
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
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
