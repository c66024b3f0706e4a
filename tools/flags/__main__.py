"""python -m tools.flags <server> <version> [--source DIR] [--python PY] [--out FILE]

Writes the flag table of one server version, read from the engine's own code, to
generator/data/flags/<server>-<version>.json (or FILE; '-' prints it). Servers and modules:
vllm (tools/flags/vllm.py), sglang (sglang.py), tensorrt-llm (trtllm.py), lmi and djl (djl.py).
Run from the repository root. Bumping a version: run this, review the diff, run the tests.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from pathlib import Path

from .argparse_table import ParserError, dumps

ROOT = Path(__file__).resolve().parents[2]
MODULES = {"vllm": "vllm", "sglang": "sglang", "tensorrt-llm": "trtllm", "lmi": "djl", "djl": "djl"}


def extract(server: str, version: str, source: str | None = None, python: str | None = None) -> dict:
    """The table of ``server`` at ``version`` (the module is imported only when needed)."""
    module = importlib.import_module(f"{__package__}.{MODULES[server]}")
    table = module.extract(version, source, python)
    table.setdefault("server", server)
    if table.get("server") != server:   # lmi and djl share a module
        table["server"] = server
    return table


def generated_by(args: argparse.Namespace) -> str:
    """The command that remakes the table, as the table records it: an unpacked PyPI wheel given as
    --source is WHEEL_DIR (its temporary path means nothing elsewhere), and --out is left out."""
    words = [args.server, args.version]
    wheel = args.source and (Path(args.source) / f"{args.server}-{args.version}.dist-info").is_dir()
    if args.python:
        words += ["--python", args.python]
    if args.source:
        words += ["--source", "WHEEL_DIR" if wheel else args.source]
    text = "python -m tools.flags " + shlex.join(words)
    if wheel:
        text += (f"  (WHEEL_DIR: `pip download --no-deps {args.server}=={args.version}`, unzipped, "
                 "*.so removed)")
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="python -m tools.flags", description=__doc__.split("\n\n")[1])
    ap.add_argument("server", choices=sorted(MODULES))
    ap.add_argument("version")
    ap.add_argument("--source", help="the engine's source: unpacked wheel or checkout (default: download)")
    ap.add_argument("--python", help="an interpreter where the engine imports: read its real parser")
    ap.add_argument("--out", help="output file (default generator/data/flags/<server>-<version>.json; - for stdout)")
    args = ap.parse_args(argv)

    try:
        table = extract(args.server, args.version, args.source, args.python)
    except ParserError as e:
        print(f"python -m tools.flags: {e}", file=sys.stderr)
        return 1
    table["generated_by"] = generated_by(args)
    text = dumps(table)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out else ROOT / "generator" / "data" / "flags" / f"{args.server}-{args.version}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"{out}: {len(table['flags'])} flags ({table['source']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
