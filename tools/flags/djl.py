"""serving.properties option tables of AWS LMI (djl-inference) and DJL Serving, read from
deepjavalibrary/djl-serving's own code with ``ast`` (nothing of DJL is imported).

What is read (all files flattened into one directory, ``--source DIR``; default
tools/flags/sources/djl-serving-<ref>/, see tools/flags/sources/README.md):
- the pydantic properties classes of the handler the image runs
  (engines/python/setup/djl_python/properties_manager/*.py): every annotated field is an
  option; ``Field(alias=...)`` adds the alias as a second name. Kinds: bool -> "bool" (LMI
  takes true/false values), int, float, str; Optional[...] unwrapped; Literal[...] and the
  module's str Enums -> "choice"; dict/Mapping -> "json"; Tuple/List -> "list"; anything
  else -> "str".
- the keys the Java front end consumes itself (``case "<key>":`` in
  engines/python/src/main/java/ai/djl/python/engine/PyModel.java, e.g. async_mode,
  entryPoint): bool when parsed with Boolean.parseBoolean, int with Integer.parseInt.
- the option names the docs list (serving/docs/lmi/deployment_guide/configurations.md and
  the vLLM user guide's tables): rows no code above defines are kept as "str" with
  ``from: ["docs"]``. Top-level (non ``option.``) keys of the docs tables get
  ``scope: "model"``.
- for LMI with vLLM: when the vLLM user guide says every vLLM EngineArgument is accepted as
  ``option.<name>`` and VllmRbProperties allows extra fields, ``passthrough`` records the vLLM
  wheel of the image (from the image's requirements file).

Names carry no prefix: ``max_rolling_batch_size`` is ``option.max_rolling_batch_size`` in
serving.properties and ``OPTION_MAX_ROLLING_BATCH_SIZE`` in the environment.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = Path(__file__).resolve().parent / "sources"
REPO = "deepjavalibrary/djl-serving"
PM = "engines/python/setup/djl_python/properties_manager/"

REFS = {
    "0.32.0-dlc": {"commit": "3d6ad832ae37c38875e22f052b815b7e7a74d46d",
                   "note": "release branch 0.32.0-dlc (the snapshot has no v0.32.0 tag)"},
    "v0.36.0": {"commit": "1e53e50dcbf307c765cf7cc0bb97d23d7c02fb76", "note": "tag v0.36.0"},
    "0.36.0-lmi27-dlc": {"commit": "7e13b081383bd46293d4b49ab214d4757b1effd5",
                         "note": "release branch 0.36.0-lmi27-dlc, the newest LMI ref in the "
                                 "snapshot (July 2026)"},
}

# version -> what the image runs. classes: (file, class) in the order the handler builds them.
VERSIONS = {
    ("lmi", "0.32.0-lmi14.0.0"): {
        "ref": "0.32.0-dlc", "exact": True,
        "classes": [("properties.py", "Properties"), ("hf_properties.py", "HuggingFaceProperties"),
                    ("vllm_rb_properties.py", "VllmRbProperties"),
                    ("lmi_dist_rb_properties.py", "LmiDistRbProperties")],
        "docs": ["configurations.md", "vllm_user_guide.md"],
        # lmi.Dockerfile: two venvs; rolling_batch=vllm runs /opt/djl/vllm_venv, the default
        # (auto -> lmi-dist, SERVING_FEATURES=vllm,lmi-dist) /opt/djl/lmi_dist_venv.
        "vllm_requirements": "requirements-vllm.txt",
        "note": "option.rolling_batch=auto resolves to lmi-dist in this image "
                "(LmiConfigRecommender.setRollingBatch); vLLM pass-through applies to "
                "option.rolling_batch=vllm",
    },
    ("lmi", "0.38.0-lmi29.0.0"): {
        "ref": "0.36.0-lmi27-dlc", "exact": False,
        "classes": [("properties.py", "Properties"), ("hf_properties.py", "HuggingFaceProperties"),
                    ("vllm_rb_properties.py", "VllmRbProperties")],
        "docs": ["configurations.md", "vllm_user_guide.md"],
        "vllm_requirements": "lmi-container-requirements.txt",
        "note": "NOT the lmi29 code: no djl-serving ref for lmi28/lmi29 (DJL 0.38.0) was "
                "available (fetched snapshot and search index end at 0.36.0-lmi27-dlc); this "
                "table is that of lmi27, the nearest earlier LMI release",
    },
    ("djl", "0.32.0"): {
        "ref": "0.32.0-dlc", "exact": True,
        "classes": [("properties.py", "Properties"), ("hf_properties.py", "HuggingFaceProperties"),
                    ("scheduler_rb_properties.py", "SchedulerRbProperties")],
        "docs": ["configurations.md"],
        "note": "pytorch-gpu image, HF Accelerate handler (djl_python.huggingface); "
                "SchedulerRbProperties is what rolling_batch=scheduler (auto on SageMaker) builds",
    },
    ("djl", "0.36.0"): {
        "ref": "v0.36.0", "exact": True,
        "classes": [("properties.py", "Properties"), ("hf_properties.py", "HuggingFaceProperties")],
        "docs": ["configurations.md"],
        "note": "pytorch-gpu image, HF Accelerate handler (djl_python.huggingface)",
    },
}

# Fields the validators fill in themselves (not options a user sets).
DERIVED = {"model_id_or_path"}
# Set by the validator's own lookup (properties.get("model_id")), not a field.
EXTRA_CODE_OPTIONS = {"model_id": ("properties.py", "set_model_id_or_path")}


def _server_of(version: str) -> str:
    return "lmi" if "-lmi" in version else "djl"


def _enums(tree: ast.Module) -> dict[str, list[str]]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(_name(b) == "Enum" for b in node.bases):
            values = [s.value.value for s in node.body
                      if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)]
            out[node.name] = [v for v in values if isinstance(v, str)]
    return out


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def _kind(ann: ast.AST, enums: dict[str, list[str]]) -> tuple[str, list | None]:
    """(kind, choices) of a field annotation."""
    head = _name(ann)
    if isinstance(ann, ast.Constant) and ann.value is None:
        return "str", None
    if isinstance(ann, ast.Subscript):
        args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        if head == "Optional":
            return _kind(args[0], enums)
        if head == "Union":
            real = [a for a in args if not (isinstance(a, ast.Constant) and a.value is None)]
            return _kind(real[0], enums) if len(real) == 1 else ("str", None)
        if head == "Literal":
            return "choice", [a.value for a in args if isinstance(a, ast.Constant)]
        if head in ("Dict", "dict", "Mapping"):
            return "json", None
        if head in ("Tuple", "tuple", "List", "list", "Sequence"):
            return "list", None
        return "str", None
    if head in enums:
        return "choice", list(enums[head])
    return {"bool": "bool", "int": "int", "float": "float", "dict": "json", "Dict": "json",
            "list": "list", "tuple": "list"}.get(head, "str"), None


def class_fields(text: str, cls: str) -> list[dict]:
    """Rows for the annotated fields of ``cls`` in module ``text`` (not its bases)."""
    tree = ast.parse(text)
    enums = _enums(tree)
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
    if node is None:
        raise SystemExit(f"class {cls} not found")
    rows = []
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        name = stmt.target.id
        if name in DERIVED:
            continue
        kind, choices = _kind(stmt.annotation, enums)
        names = [name]
        if isinstance(stmt.value, ast.Call) and _name(stmt.value.func) == "Field":
            for kw in stmt.value.keywords:
                if kw.arg == "alias" and isinstance(kw.value, ast.Constant):
                    names.append(kw.value.value)
        rows.append({"names": names, "kind": kind, "choices": choices})
    return rows


def allows_extra(text: str, cls: str) -> bool:
    """``model_config = ConfigDict(extra='allow')`` in ``cls``."""
    tree = ast.parse(text)
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
    for stmt in node.body if node else []:
        if (isinstance(stmt, ast.Assign) and any(_name(t) == "model_config" for t in stmt.targets)
                and isinstance(stmt.value, ast.Call)):
            for kw in stmt.value.keywords:
                if kw.arg == "extra" and isinstance(kw.value, ast.Constant) and kw.value.value == "allow":
                    return True
    return False


def java_cases(text: str) -> list[dict]:
    """The keys PyModel.java's option switch consumes: ``case "key":`` up to ``break;``."""
    rows = []
    for m in re.finditer(r'case "([A-Za-z_]+)":(.*?)break;', text, re.S):
        key, body = m.group(1), m.group(2)
        if key == "env":
            kind = "str"   # "K=V,K2=V2"
        elif "Boolean.parseBoolean" in body:
            kind = "bool"
        elif "Integer.parseInt" in body:
            kind = "int"
        else:
            kind = "str"
        row = {"names": [key], "kind": kind, "choices": None}
        if '"max".equals(value)' in body:
            row["also_accepts"] = ["max"]
        rows.append(row)
    return rows


_DOC_ROW = re.compile(r"^\|\s*(option\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\|", re.M)


def doc_names(text: str) -> list[tuple[str, str]]:
    """(scope, name) of each table row whose first cell is a configuration key."""
    out = []
    for m in _DOC_ROW.finditer(text):
        name = m.group(2)
        if name in ("Item", "Configuration", "Configuration_Key") or name[0].isupper():
            continue
        out.append(("option" if m.group(1) else "model", name))
    return out


def _vllm_wheel(text: str) -> str | None:
    m = re.search(r"^vllm==(\S+)", text, re.M)
    if m:
        return m.group(1)
    m = re.search(r"/vllm-([0-9][^-/]*?)(?:-cp|-py)", text)
    return m.group(1).replace("%2B", "+") if m else None


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def extract(version: str, source: str | None = None, python: str | None = None) -> dict:
    del python
    server = _server_of(version)
    spec = VERSIONS.get((server, version))
    if spec is None:
        known = ", ".join(f"{s} {v}" for s, v in VERSIONS)
        raise SystemExit(f"{server} {version}: no recorded djl-serving ref (known: {known})")
    ref = spec["ref"]
    src = Path(source) if source else SOURCES / f"djl-serving-{ref}"
    if not src.is_dir():
        raise SystemExit(f"{server} {version}: {src} is not a directory "
                         f"(see tools/flags/sources/README.md to recreate it)")

    files: dict[str, str] = {}

    def read(name: str) -> str:
        path = src / name
        if not path.is_file():
            raise SystemExit(f"{server} {version}: {path} missing")
        files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return path.read_text()

    merged: dict[str, dict] = {}

    def add(row: dict, origin: str) -> None:
        key = row["names"][0]
        have = merged.get(key)
        if have is None:
            merged[key] = dict(row, **{"from": [origin]})
            return
        for n in row["names"]:
            if n not in have["names"]:
                have["names"].append(n)
        if origin not in have["from"]:
            have["from"].append(origin)
        if have["kind"] == "str" and row["kind"] != "str" and "docs" not in origin:
            have["kind"], have["choices"] = row["kind"], row["choices"]
        for extra in ("also_accepts", "scope"):
            if row.get(extra):
                have[extra] = row[extra]

    texts = {}
    for fname, cls in spec["classes"]:
        texts[fname] = read(fname)
        for row in class_fields(texts[fname], cls):
            add(row, f"{fname}:{cls}")
    for name, (fname, where) in EXTRA_CODE_OPTIONS.items():
        if fname in texts and f'"{name}"' in texts[fname]:
            add({"names": [name], "kind": "str", "choices": None}, f"{fname}:{where}")
    for row in java_cases(read("PyModel.java")):
        add(row, "PyModel.java")
    docs_text = {d: read(d) for d in spec["docs"]}
    for d, text in docs_text.items():
        for scope, name in doc_names(text):
            row = {"names": [name], "kind": "str", "choices": None}
            if scope == "model":
                row["scope"] = "model"
            add(row, f"docs:{d}")

    table_extra = {}
    if server == "lmi":
        guide = docs_text.get("vllm_user_guide.md", "")
        says = "supports all additional vLLM EngineArguments in Pass-Through mode" in guide
        allows = allows_extra(texts["vllm_rb_properties.py"], "VllmRbProperties")
        wheel = _vllm_wheel(read(spec["vllm_requirements"]))
        if says and allows:
            table_extra["passthrough"] = f"vllm {wheel}" if wheel else "vllm (version not found)"
        table_extra["passthrough_evidence"] = {
            "vllm_user_guide.md": says, "VllmRbProperties extra='allow'": allows,
            spec["vllm_requirements"]: wheel}

    flags = []
    for row in sorted(merged.values(), key=lambda r: r["names"][0]):
        out = {"names": row["names"], "kind": row["kind"], "choices": row["choices"]}
        for extra in ("also_accepts", "scope"):
            if row.get(extra):
                out[extra] = row[extra]
        out["from"] = row["from"]
        flags.append(out)

    info = REFS[ref]
    what = f"{REPO} at {ref} (commit {info['commit'][:12]}; {info['note']})"
    if not spec["exact"]:
        what += f" -- {spec['note']}"
    detail = {"repo": REPO, "ref": ref, "commit": info["commit"], "exact": spec["exact"],
              "note": spec["note"], "dir": _rel(src),
              "files": {n: files[n] for n in sorted(files)},
              "paths": {"properties": PM, "java": "engines/python/src/main/java/ai/djl/python/engine/PyModel.java",
                        "docs": "serving/docs/lmi/", "requirements": "serving/docker/"}}
    gen = f"python -m tools.flags {server} {version} --source {_rel(src)}"
    return {"server": server, "version": version, "source": what, "source_detail": detail,
            **table_extra, "generated_by": gen, "flags": flags}
