"""SGLang's flag table, from SGLang's own argument parser (sglang/srt/server_args.py).

Two ways, picked by the arguments:
- ``--python PY`` (an interpreter where ``sglang.srt.server_args`` imports, e.g.
  build/sglang-venv/bin/python from tools/sglang_venv.sh): build the real parser,
  ``ServerArgs.add_cli_args(argparse.ArgumentParser())`` (what ``prepare_server_args``, and so
  ``python -m sglang.launch_server``, parses with), and convert it
  (tools/flags/argparse_table.py). With ``--source DIR`` too, DIR (an unpacked wheel) goes first
  on PYTHONPATH.
- no ``--python``: static analysis (AST) of ServerArgs.add_cli_args in the source of the PyPI
  wheel ``sglang==VERSION`` (``pip download --no-deps``) or of ``--source``. For versions whose
  parser cannot be imported cheaply: 0.5.4.post1 imports torchvision, whose PyPI build needs a
  CUDA torch (a 5.8 GB venv). Works while add_cli_args is a list of ``parser.add_argument``
  calls (up to 0.5.4.x); later versions build the parser from dataclass annotations
  (sglang/srt/arg_groups, 0.5.23): use the real parser there.

The real parser is the reference: tests/test_engine_parsers.py rebuilds it and compares.
"""

from __future__ import annotations

import ast
import pathlib

from . import WheelSource
from .argparse_table import make_table, run_parser

BUILD = r'''
import argparse, logging
logging.disable(logging.CRITICAL)
import sglang
from sglang.srt.server_args import ServerArgs
parser = argparse.ArgumentParser(prog="sglang serve")
ServerArgs.add_cli_args(parser)
try:
    from sglang.version import __version__ as _version
except Exception:
    import importlib.metadata as _md
    _version = _md.version("sglang")
meta = {"version": _version, "file": sglang.__file__}
'''


def _real(version: str, python: str, source: str | None) -> dict:
    pythonpath = []
    if source:
        src = pathlib.Path(source)
        if not (src / "sglang" / "srt" / "server_args.py").exists():
            raise SystemExit(f"--source {source}: no sglang/srt/server_args.py there (give the unpacked wheel's root)")
        pythonpath.append(str(src.resolve()))
    out = run_parser(python, BUILD, pythonpath=pythonpath)
    meta = out["meta"]
    if meta["version"] != version:
        raise SystemExit(f"{python} imports SGLang {meta['version']} ({meta['file']}), not {version}. "
                         "Use the matching venv (SGLANG_VERSION=... tools/sglang_venv.sh DIR), add --source "
                         "<unpacked wheel>, or leave out --python to read the wheel's source.")
    where = (f"sglang {version} code from {source} on PYTHONPATH of {python}" if source else
             f"sglang {version} wheel from PyPI (installed --no-deps by tools/sglang_venv.sh)")
    source_text = (f"{where}; parser sglang.srt.server_args.ServerArgs.add_cli_args(argparse.ArgumentParser()), "
                   "as in prepare_server_args / python -m sglang.launch_server (real argparse parser)")
    return make_table("sglang", version, source_text, out["flags"])


# ---------------------------------------------------------------- static analysis (AST)
def ast_rows(root: pathlib.Path) -> list[dict]:
    """Rows from the ``parser.add_argument`` calls of ServerArgs.add_cli_args under ``root``,
    classified as tools/flags/argparse_table.py classifies a live parser. Extends the SGLang
    logic of the former tests/standins/tools/extract_flags.py: nargs before custom actions (LoRAPathAction
    takes a list), nargs '?' by type, retired flags (DeprecatedAction) left out."""
    tree = ast.parse(pathlib.Path(root, "sglang/srt/server_args.py").read_text())
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = ast.literal_eval(node.value)
            except Exception:
                pass

    class_dicts = _class_dict_keys(root)
    local = {}   # names assigned inside add_cli_args (e.g. tool_call_parser_choices = ...)

    def literal(node):
        """A list from a literal, a module constant, a local name, list(Cls.Attr.keys()) of a
        dict literal in a class body under sglang/srt, or a sum of those; None if unknown."""
        try:
            return list(ast.literal_eval(node))
        except Exception:
            pass
        if isinstance(node, ast.Name) and node.id in local:
            return literal(local[node.id])
        text = ast.unparse(node)
        for pattern in ("list({}.keys())", "list({})", "{}.keys()"):
            for key, keys in class_dicts.items():
                if text == pattern.format(key):
                    return list(keys)
        if isinstance(node, ast.Name) and isinstance(consts.get(node.id), (list, tuple, dict)):
            return list(consts[node.id])
        if isinstance(node, ast.Name) and isinstance(consts.get(node.id), (set, frozenset)):
            return sorted(consts[node.id], key=str)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = literal(node.left), literal(node.right)
            if left is not None and right is not None:
                return left + right
        if isinstance(node, ast.List):
            out = []
            for elt in node.elts:
                if isinstance(elt, ast.Constant):
                    out.append(elt.value)
                elif isinstance(elt, ast.Name) and isinstance(consts.get(elt.id), (str, int)):
                    out.append(consts[elt.id])
                else:
                    return None
            return out
        return None

    rows = []
    for fn in ast.walk(tree):
        if not (isinstance(fn, ast.FunctionDef) and fn.name == "add_cli_args"):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                local[node.targets[0].id] = node.value
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"):
                continue
            opts = [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
            if not opts:
                continue
            kws = {k.arg: k.value for k in node.keywords if k.arg}
            action = ast.unparse(kws["action"]) if "action" in kws else ""
            nargs = ast.literal_eval(kws["nargs"]) if "nargs" in kws and isinstance(kws["nargs"], ast.Constant) else None
            t = ast.unparse(kws["type"]) if "type" in kws else "str"
            many = nargs in ("+", "*") or (isinstance(nargs, int) and nargs > 1)
            row = {"names": opts, "kind": None, "choices": None}
            if action == "DeprecatedAction":
                continue   # raises ValueError(help) when given: not a flag the engine accepts
            if "Deprecated" in action:
                row["deprecated"] = True
            if "BooleanOptionalAction" in action:
                row["kind"] = "bool"
            elif action.strip("'\"") in ("store_true", "store_false", "store_const", "count") or nargs == 0:
                row["kind"] = "flag"
            elif action.strip("'\"") in ("append", "extend"):
                row["kind"] = "list"
            elif "choices" in kws:
                vals = literal(kws["choices"])
                row["kind"] = "list" if many else "choice"
                row["choices"] = [v for v in vals if v is not None] if vals is not None else None
            elif many:
                row["kind"] = "list"
            else:
                row["kind"] = {"int": "int", "float": "float"}.get(t, "json" if "json" in t else "str")
            rows.append(row)
    return rows


def _class_dict_keys(root: pathlib.Path) -> dict[str, list]:
    """{"Class.Attr": keys} for class attributes under sglang/srt assigned a dict literal with
    constant keys (e.g. ReasoningParser.DetectorMap, FunctionCallParser.ToolCallParserEnum)."""
    out = {}
    for path in sorted(pathlib.Path(root, "sglang", "srt").rglob("*.py")):
        text = path.read_text(errors="replace")
        if "Map" not in text and "Enum" not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for cls in ast.walk(tree):
            if not isinstance(cls, ast.ClassDef):
                continue
            for st in cls.body:
                target = st.target if isinstance(st, ast.AnnAssign) else (
                    st.targets[0] if isinstance(st, ast.Assign) and len(st.targets) == 1 else None)
                value = getattr(st, "value", None)
                if isinstance(target, ast.Name) and isinstance(value, ast.Dict) and value.keys and all(
                        isinstance(k, ast.Constant) for k in value.keys):
                    out.setdefault(f"{cls.name}.{target.id}", [k.value for k in value.keys])
    return out


def _ast(version: str, source: str | None) -> dict:
    with WheelSource("sglang", version, source) as (root, what):
        rows = ast_rows(root)
    unresolved = [r["names"][0] for r in rows if r["kind"] == "choice" and r["choices"] is None]
    source_text = (f"{what}: static analysis (AST) of sglang/srt/server_args.py "
                   "(ServerArgs.add_cli_args, the parser of prepare_server_args / python -m sglang.launch_server); "
                   "not the live parser")
    if unresolved:
        source_text += f"; choices not resolved statically for {', '.join(unresolved)}"
    return make_table("sglang", version, source_text, rows)


def extract(version: str, source: str | None = None, python: str | None = None) -> dict:
    if python:
        return _real(version, python, source)
    return _ast(version, source)
