"""Derive the stand-ins' flag tables from the servers' own source (a maintenance tool).

Not run by the tests. Usage:
    pip download vllm==0.10.1 sglang==0.5.4.post1 --no-deps -d WHEELS
    unzip the wheels into SRC, then
    python extract_flags.py vllm SRC      > ../vllm/vllm_flags.py
    python extract_flags.py sglang SRC    > ../sglang/sglang_flags.py

Each table row is (option strings, kind, extra):
  kind "bool"    argparse.BooleanOptionalAction (--x and --no-x)
  kind "true"    store_true / store_false (bare flag)
  kind "int" | "float" | "hint" (int, or 1k/1K/1m style) | "str" | "json"
  kind "choice"  extra = list of allowed values (None = any string)
  kind "list:<type>" nargs="+"
  kind "append"  may be repeated
  kind "optstr"  nargs="?" string
The classification mirrors vllm/engine/arg_utils.py::_compute_kwargs.
"""
import ast
import pathlib
import re
import sys


def _src(root, rel):
    return (pathlib.Path(root) / rel).read_text()


# ---------------------------------------------------------------- vLLM
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
    if re.search(r"\b(dict|Dict)\[", a) and not re.search(r"\bstr\b.*\|", ""):
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


def vllm_rows(root):
    files = sorted(pathlib.Path(root, "vllm/config").glob("*.py"))
    trees = [ast.parse(p.read_text()) for p in files]
    au = ast.parse(_src(root, "vllm/engine/arg_utils.py"))
    cli = ast.parse(_src(root, "vllm/entrypoints/openai/cli_args.py"))
    trees_all = trees + [au, cli]
    aliases = _aliases(trees_all)
    classes = _classes(trees_all)
    rows = []

    def from_call(call, kwvar):
        opts = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("-")]
        if not opts:
            return
        kws = {k.arg: k.value for k in call.keywords if k.arg}
        splat = [k.value for k in call.keywords if k.arg is None]
        action = ast.unparse(kws["action"]) if "action" in kws else None
        if action and "BooleanOptionalAction" in action:
            rows.append((opts, "bool", None)); return
        if action and "store_" in action:
            rows.append((opts, "true", None)); return
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
            rows.append((opts, kind, extra)); return
        if "choices" in kws:
            try:
                rows.append((opts, "choice", list(ast.literal_eval(kws["choices"])))); return
            except Exception:
                rows.append((opts, "choice", None)); return
        if "nargs" in kws and ast.unparse(kws["nargs"]) == "'?'":
            rows.append((opts, "optstr", None)); return
        t = ast.unparse(kws.get("type", ast.Name("str")))
        rows.append((opts, {"int": "int", "float": "float"}.get(t, "json" if "json" in t else "str"), None))

    for fn in ast.walk(au):
        if isinstance(fn, ast.FunctionDef) and fn.name == "add_cli_args":
            kwvar = {}
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "get_kwargs":
                    kwvar[node.targets[0].id] = node.value.args[0].id
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
                    from_call(node, kwvar)
    # make_arg_parser (cli_args.py) explicit arguments
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


# ---------------------------------------------------------------- SGLang
def sglang_rows(root):
    tree = ast.parse(_src(root, "sglang/srt/server_args.py"))
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = ast.literal_eval(node.value)
            except Exception:
                pass
    rows = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name == "add_cli_args":
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
                    continue
                opts = [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
                if not opts:
                    continue
                kws = {k.arg: k.value for k in node.keywords if k.arg}
                action = ast.unparse(kws["action"]) if "action" in kws else ""
                nargs = ast.unparse(kws["nargs"]) if "nargs" in kws else ""
                t = ast.unparse(kws["type"]) if "type" in kws else "str"
                if "store_" in action:
                    rows.append((opts, "true", None)); continue
                if "append" in action:
                    rows.append((opts, "append", None)); continue
                if action:
                    rows.append((opts, "str", None)); continue
                if "choices" in kws:
                    c = kws["choices"]
                    try:
                        vals = list(ast.literal_eval(c))
                    except Exception:
                        name = ast.unparse(c)
                        vals = list(consts[name]) if name in consts and isinstance(consts[name], (list, tuple)) else None
                    if nargs in ("'+'", "'*'"):
                        rows.append((opts, "list:str", None)); continue
                    rows.append((opts, "choice", vals)); continue
                base = {"int": "int", "float": "float"}.get(t, "json" if "json" in t else "str")
                if nargs in ("'+'", "'*'"):
                    rows.append((opts, "list:" + base, None)); continue
                if nargs == "'?'":
                    rows.append((opts, "optstr", None)); continue
                rows.append((opts, base, None))
    return rows


def main():
    which, root = sys.argv[1], sys.argv[2]
    rows = {"vllm": vllm_rows, "sglang": sglang_rows}[which](root)
    seen = set()
    print(f"# Generated by tests/standins/tools/extract_flags.py from {which}'s own source; see that tool.")
    print("FLAGS = [")
    for opts, kind, extra in rows:
        if opts[0] in seen:
            continue
        seen.add(opts[0])
        print(f"    ({opts!r}, {kind!r}, {extra!r}),")
    print("]")


if __name__ == "__main__":
    main()
