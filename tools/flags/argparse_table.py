"""Turn a real ``argparse.ArgumentParser`` into a flag table (the rows of
generator/data/flags/<server>-<version>.json), in this interpreter or inside another one.

The engines' parsers need the engines' own packages (torch, vLLM, SGLang), which live in their
own virtual environments (tools/engine_venv.sh, tools/sglang_venv.sh), not in the interpreter
that runs the project's tools. ``run_parser`` therefore sends ``CONVERT`` (stdlib only) plus a
short snippet that builds the parser to ``PY -c`` and reads the rows back as JSON.

Kinds (shared format):
  bool    argparse.BooleanOptionalAction (has a --no- form; only the positive names are listed)
  flag    store_true / store_false / store_const / count / any action taking no value
  choice  the action has choices (``choices`` holds them; None, which no command line can
          give, is dropped)
  list    nargs '+', '*' or N > 1, or action 'append'
  int     type int, or vLLM's human-readable int (1k, 2M; ``human_readable_int*``)
  float   type float
  json    JSON-ish types: json.loads, vLLM's dataclass parsers and dict-or-str
  str     anything else

A row may also carry "deprecated": true: the engine still accepts the flag but warns (SGLang's
Deprecated*Action classes, vLLM's Deprecated*Action, argparse's deprecated=True). A retired
flag whose action stops the engine (SGLang's DeprecatedAction with an error_message) is left
out: the engine does not accept it.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

# Runs in the engine's interpreter as well as here: standard library only, no annotations
# that an old interpreter could not read.
CONVERT = r'''
import argparse as _argparse
import functools as _functools


def _type_kind(t, depth=0):
    """int / float / json / str for an argparse ``type=`` callable (unwraps vLLM's wrappers)."""
    if t is None or depth > 5:
        return "str"
    if t is int:
        return "int"
    if t is float:
        return "float"
    if t is str or t is bool:
        return "str"
    if isinstance(t, _functools.partial):
        return _type_kind(t.func, depth + 1)
    name = (getattr(t, "__name__", "") or type(t).__name__).lower()
    module = getattr(t, "__module__", "") or ""
    if "human_readable_int" in name:
        return "int"
    if module == "json" or "json" in name or "dataclass" in name or "dict" in name:
        return "json"
    # Wrappers such as vLLM's optional_type(int) / parse_type(json.loads) keep the real type
    # in their closure.
    for cell in getattr(t, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:
            continue
        if callable(inner):
            kind = _type_kind(inner, depth + 1)
            if kind != "str":
                return kind
    return "str"


def _plain(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    enum_value = getattr(value, "value", None)
    if isinstance(enum_value, (int, float, str)):
        return enum_value
    return str(value)


def flag_rows(parser):
    """One row per optional argument of ``parser``: {"names", "kind", "choices"}."""
    rows = []
    for action in parser._actions:
        opts = list(action.option_strings)
        if not opts or isinstance(action, (_argparse._HelpAction, _argparse._VersionAction)):
            continue
        choices = None
        if isinstance(action, getattr(_argparse, "BooleanOptionalAction", ())):
            kind = "bool"
            positive = [o for o in opts if not o.startswith("--no-")]
            opts = positive or opts
        elif isinstance(action, (_argparse._AppendAction, _argparse._ExtendAction)):
            kind = "list"
        elif action.nargs == 0:
            kind = "flag"
        elif action.choices is not None:
            choices = [_plain(c) for c in action.choices if c is not None]
            if isinstance(action.choices, (set, frozenset)):   # no stable order: sort
                choices.sort(key=lambda c: (str(type(c)), c))
            many = action.nargs in ("+", "*") or (isinstance(action.nargs, int) and action.nargs > 1)
            kind = "list" if many else "choice"
        elif action.nargs in ("+", "*") or (isinstance(action.nargs, int) and action.nargs > 1):
            kind = "list"
        else:
            kind = _type_kind(action.type)
        row = {"names": opts, "kind": kind, "choices": choices}
        deprecated = _deprecation(action)
        if deprecated == "rejected":
            continue   # a retired flag whose action stops the engine: not a flag it accepts
        if deprecated:
            row["deprecated"] = True
        rows.append(row)
    return rows


def _deprecation(action):
    """None, "warns" (accepted with a deprecation warning) or "rejected" (the action exits).

    Engines mark retired flags with their own Action classes (SGLang's DeprecatedAction,
    DeprecatedStoreTrueAction, ...; vLLM's Deprecated*Action) or argparse's deprecated=True
    (Python 3.13). SGLang's DeprecatedAction with an error_message stops the parse."""
    name = type(action).__name__
    if "Deprecated" not in name and getattr(action, "deprecated", False) is not True:
        return None
    if getattr(action, "error_message", None):
        return "rejected"
    return "warns"
'''

exec(compile(CONVERT, "tools/flags/argparse_table.py:CONVERT", "exec"))  # flag_rows, _type_kind here too

# After the build snippet: it has set `parser` (and may set `meta`, a dict).
_EMIT = r'''
import json as _json, sys as _sys
_out = {"flags": flag_rows(parser), "meta": globals().get("meta", {})}
with open(_sys.argv[1], "w") as _fh:
    _json.dump(_out, _fh)
'''


class ParserError(RuntimeError):
    """The engine's interpreter could not build its parser."""


def run_parser(python: str, build: str, *, pythonpath: list[str] | None = None,
               env: dict[str, str] | None = None, timeout: int = 900) -> dict:
    """Run ``build`` (Python code that sets ``parser`` and optionally ``meta``) in ``python``
    and return {"flags": rows, "meta": meta}. ``pythonpath`` entries go first on PYTHONPATH."""
    run_env = dict(os.environ)
    run_env.pop("PYTHONPATH", None)
    if pythonpath:
        run_env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    run_env.setdefault("PYTHONWARNINGS", "ignore")
    run_env.update(env or {})
    code = CONVERT + "\n" + build + "\n" + _EMIT
    if os.sep in python:   # a path: keep it valid in the temporary cwd (no resolve: venv symlink)
        python = os.path.abspath(python)
    with tempfile.TemporaryDirectory(prefix="flags-") as tmp:
        out = Path(tmp) / "rows.json"
        proc = subprocess.run([python, "-c", code, str(out)], env=run_env, cwd=tmp,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
            raise ParserError(f"{python} could not build the parser (exit {proc.returncode}):\n{tail}")
        return json.loads(out.read_text())


def make_table(server: str, version: str, source: str, rows: list[dict],
               generated_by: str | None = None) -> dict:
    """The table in the shared format: rows sorted by first name, one row per first name."""
    seen: dict[str, dict] = {}
    for row in rows:
        out = {"names": list(row["names"]), "kind": row["kind"], "choices": row.get("choices")}
        if row.get("deprecated"):
            out["deprecated"] = True
        seen.setdefault(row["names"][0], out)
    flags = sorted(seen.values(), key=lambda r: r["names"][0])
    return {"server": server, "version": version, "source": source,
            "generated_by": generated_by or "", "flags": flags}


def dumps(table: dict) -> str:
    return json.dumps(table, indent=1, ensure_ascii=False) + "\n"
