"""LoRA adapters (issue 23): the questions, the refusals at generation, the lock, and the flags the
engine receives from code/serve (SERVE_PRINT_COMMAND=1), with adapters from /opt/ml/model/adapters and
from the hub at their pinned commit. The adapters are the local fixtures under
tests/fixtures/hub/template-tests/ (SOURCES.md says why they are not recordings of real repos)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from copier import run_copy
from copier.errors import UserMessageError

from testkit import FAKE_TOKEN, assert_valid_lock
from generator import lora, servers, sizing
from generator.errors import InvalidAnswer
from hubsim import FIXTURES, info
from loopback import LoopbackServer  # noqa: E402

MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
R8 = "template-tests/qwen2.5-0.5b-instruct-lora-r8"
R24 = "template-tests/qwen2.5-0.5b-instruct-lora-r24"
LLAMA = "template-tests/llama-3.1-8b-instruct-lora-r16"
IA3 = "template-tests/qwen2.5-0.5b-instruct-ia3"
R1024 = "template-tests/qwen2.5-0.5b-instruct-lora-r1024"


def generate(template: Path, dst: Path, **data) -> dict:
    """A project without deploy/ (the deploy tool's own files, a third of a render here; the adapter
    commands are tested in tests/deploy/test_adapter.py)."""
    run_copy(str(template), str(dst), data={"modelName": MODEL, **data}, defaults=True, unsafe=True, quiet=True,
             exclude=["deploy"])
    return assert_valid_lock(dst)


# ---------------------------------------------------------------- the answers
def test_adapters_are_named_after_their_repo_or_as_given():
    assert lora.parse([R8, f"support={R24}"]) == [("qwen2-5-0-5b-instruct-lora-r8", R8), ("support", R24)]
    assert lora.parse(f"{R8}, {R24}") == lora.parse([R8, R24])   # -d loraAdapters=a,b
    assert lora.parse([]) == lora.parse("") == lora.parse(None) == []


@pytest.mark.parametrize("value, message", [
    (["not-a-repo"], "not a HuggingFace repo id"),
    ([f"Bad Name={R8}"], "is not usable"),
    ([f"x={R8}", f"x={R24}"], "two adapters are named 'x'"),
])
def test_bad_adapter_answers_are_refused(value, message):
    with pytest.raises(InvalidAnswer, match=message):
        lora.parse(value)


# ---------------------------------------------------------------- ranks per engine version
def test_allowed_ranks_come_from_each_vllm_versions_own_code():
    full = [1, 8, 16, 32, 64, 128, 256, 320, 512]
    for version in ("0.32.0", "0.34.0"):   # the parser's choices (vllm/config/lora.py MaxLoRARanks)
        ranks, source = lora.allowed_ranks("vllm", version)
        assert ranks == full and "MaxLoRARanks" in source
        row = next(r for r in servers.flag_table("vllm", version)["flags"] if "--max-lora-rank" in r["names"])
        assert sorted(row["choices"]) == full
    ranks, source = lora.allowed_ranks("vllm", "0.10.1")   # an int parser; the config refuses the rest
    assert ranks == [8, 16, 32, 64, 128, 256, 320, 512] and "possible_max_ranks" in source


def test_max_lora_rank_is_the_smallest_allowed_value_that_holds_every_adapter():
    server = servers.entry("vllm", "0.32.0")
    adapters = [{"name": "a", "id": R8, "sha": "0" * 40, "config": {"r": 8, "target_modules": ["q_proj"]}},
                {"name": "b", "id": R24, "sha": "1" * 40, "config": {"r": 4, "rank_pattern": {"v_proj": 24}}}]
    got = lora.settings(adapters, server, True)
    assert got["max_lora_rank"] == 32 and got["max_loras"] == 2
    assert [a["rank"] for a in got["adapters"]] == [8, 24]   # rank_pattern counts (peft_helper validate_legal)
    runtime = lora.settings([], server, True)
    assert runtime["max_lora_rank"] == 16 and runtime["max_loras"] == lora.DEFAULT_MAX_LORAS_RUNTIME
    assert lora.settings([], server, False) is None


@pytest.mark.parametrize("config, message", [
    ({"peft_type": "LORA", "r": 8, "base_model_name_or_path": MODEL, "use_dora": True}, "DoRA"),
    ({"peft_type": "LORA", "r": 8, "base_model_name_or_path": MODEL, "bias": "all"}, "bias is 'all'"),
    ({"peft_type": "PREFIX_TUNING", "base_model_name_or_path": MODEL}, "'PREFIX_TUNING' adapter, not LORA"),
    ({"peft_type": "LORA", "r": 8}, "names no base model"),
    ({"peft_type": "LORA", "r": 8, "base_model_name_or_path": "Qwen/Qwen2.5-7B-Instruct"},
     "was made for Qwen/Qwen2.5-7B-Instruct, not for Qwen/Qwen2.5-0.5B-Instruct"),
])
def test_what_the_engine_would_refuse_is_refused(config, message):
    with pytest.raises(InvalidAnswer, match=message):
        lora.check([{"name": "a", "id": R8, "sha": "0" * 40, "config": config}], MODEL, servers.entry("vllm"))


def test_a_checkpoint_trained_from_a_local_copy_of_the_model_is_accepted():
    config = {"peft_type": "LORA", "r": 8, "base_model_name_or_path": "/data/models/Qwen2.5-0.5B-Instruct/"}
    lora.check([{"name": "a", "id": R8, "sha": "0" * 40, "config": config}], MODEL, servers.entry("vllm"))


# ---------------------------------------------------------------- sizing: slots from the KV budget
def test_lora_slots_come_out_of_the_kv_budget():
    qwen = {"num_layers": 24, "hidden_size": 896, "num_attention_heads": 14, "num_key_value_heads": 2,
            "head_dim": 64, "intermediate_size": 4864}
    one = sizing.lora_bytes({**qwen, "lora": {"max_lora_rank": 8, "max_loras": 1}})
    # per layer: qkv 3*896 + (896+128+128), o 896+896, gate_up 2*896 + 2*4864, down 4864 + 896; x r 8 x 2 bytes
    assert one == 24 * 8 * (3 * 896 + 1152 + 896 + 896 + 2 * 896 + 2 * 4864 + 4864 + 896) * 2
    assert sizing.lora_bytes({**qwen, "lora": {"max_lora_rank": 16, "max_loras": 3}}) == one * 2 * 3
    assert sizing.lora_bytes(qwen) == 0
    spec = sizing.instance("ml.g5.xlarge")
    facts = {**qwen, "parameters_by_dtype": {"BF16": 494032768}}
    huge = {**facts, "lora": {"max_lora_rank": 64, "max_loras": 8}}   # about 0.5 GiB
    without, with_slots = sizing.longest_context(facts, spec, 1, 10 ** 7), sizing.longest_context(huge, spec, 1, 10 ** 7)
    per_token = sizing.kv_bytes_per_token(qwen)
    assert 0 < with_slots < without
    assert without - with_slots == pytest.approx(sizing.lora_bytes(huge) / per_token, abs=sizing.CONTEXT_STEP + 1)


# ---------------------------------------------------------------- generation (in-process copier, the hub stand-in)
def test_listed_adapters_are_pinned_and_recorded_in_the_lock(template_dir, tmp_path, fake_hub):
    lock = generate(template_dir, tmp_path / "p", loraAdapters=[R8, f"support={R24}"])
    assert lock["lora"]["max_lora_rank"] == 32 and lock["lora"]["max_loras"] == 2
    assert lock["lora"]["runtime_updates"] is True and lock["lora"]["memory_gib"] > 0
    assert [(a["name"], a["id"], a["sha"], a["rank"]) for a in lock["lora"]["adapters"]] == [
        ("qwen2-5-0-5b-instruct-lora-r8", R8, info(R8)["sha"], 8), ("support", R24, info(R24)["sha"], 24)]
    assert lock["lora"]["adapters"][0]["target_modules"] == ["q_proj", "v_proj"]
    answers = (tmp_path / "p" / ".copier-answers.yml").read_text()
    assert f"{R8}@{info(R8)['sha']}" in answers and f"{R24}@{info(R24)['sha']}" in answers
    # each adapter: its info and its adapter_config.json, nothing else
    adapter_calls = sorted(p for p in fake_hub.requests if "template-tests" in p)
    assert adapter_calls == sorted([f"/api/models/{R8}", f"/{R8}/resolve/main/adapter_config.json",
                                    f"/api/models/{R24}", f"/{R24}/resolve/main/adapter_config.json"])


def test_a_pinned_adapter_is_served_from_the_cache_offline(template_dir, tmp_path, fake_hub):
    generate(template_dir, tmp_path / "online", loraAdapters=[R8])
    fake_hub.reset()
    pins = [f"{R8}@{info(R8)['sha']}"]
    lock = generate(template_dir, tmp_path / "offline", loraAdapters=[R8], loraPins=pins, offline=True)
    assert lock["lora"]["adapters"][0]["sha"] == info(R8)["sha"] and fake_hub.requests == []
    assert lock["lora"]["adapters"][0]["revision"] == "main"   # what the pin was taken from


def test_runtime_lora_without_listed_adapters(template_dir, tmp_path, fake_hub):
    lock = generate(template_dir, tmp_path / "p", enableLora=True)
    assert lock["lora"]["adapters"] == [] and lock["lora"]["max_lora_rank"] == 16
    plain = generate(template_dir, tmp_path / "plain")
    assert "lora" not in plain


@pytest.mark.parametrize("data, message", [
    ({"loraAdapters": [LLAMA]}, f"{LLAMA} was made for meta-llama/Llama-3.1-8B-Instruct, not for {MODEL}"),
    ({"loraAdapters": [IA3]}, "PEFT 'IA3' adapter, not LORA"),
    ({"loraAdapters": [R1024]}, "has rank 1024; vLLM 0.32.0 allows --max-lora-rank up to 512"),
    ({"loraAdapters": ["template-tests/no-such-adapter"]}, "LoRA adapter template-tests/no-such-adapter was not found"),
    ({"loraAdapters": [R8], "modelServerVersion": "0.10.1"}, "predates AWS's SageMaker layer"),
    ({"loraAdapters": [R8], "modelServer": "sglang"}, "reads no X-Amzn-SageMaker-Adapter-Identifier header"),
    ({"enableLora": True, "modelServer": "tensorrt-llm"}, "trtllm-serve has no LoRA flag"),
    ({"enableLora": True, "modelServer": "lmi"}, "LMI has its own adapter handling"),
    ({"enableLora": True, "modelServer": "djl"}, "serves no LoRA adapters"),
])
def test_refused_at_generation_before_anything_is_written(template_dir, tmp_path, fake_hub, data, message):
    dst = tmp_path / "p"
    with pytest.raises(UserMessageError, match=message):
        generate(template_dir, dst, **data)
    assert not dst.exists() or not any(dst.iterdir())


# ---------------------------------------------------------------- what the engine receives
def _serve_argv(project: Path, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, list]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    if not (bindir / "python3").exists():
        (bindir / "python3").symlink_to(sys.executable)
    r = subprocess.run([str(project / "code" / "serve"), "serve"], capture_output=True, text=True, timeout=60,
                       env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "SERVE_PRINT_COMMAND": "1",
                            "HF_HOME": str(tmp_path / "hf-home"), **env})
    argv = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else []
    return r, argv


def test_the_engine_gets_lora_flags_and_the_adapters_in_model_dir(template_dir, tmp_path, fake_hub):
    project = tmp_path / "p"
    generate(template_dir, project, loraAdapters=[R8, f"support={R24}"])
    model_dir = tmp_path / "opt-ml-model"
    for name in ("qwen2-5-0-5b-instruct-lora-r8", "support"):
        (model_dir / "adapters" / name).mkdir(parents=True)
        (model_dir / "adapters" / name / "adapter_config.json").write_text("{}")
    r, argv = _serve_argv(project, tmp_path, {"MODEL_DIR": str(model_dir)})
    assert r.returncode == 0, r.stderr
    tail = argv[argv.index("--enable-lora"):]
    assert tail == ["--enable-lora", "--max-lora-rank", "32", "--max-loras", "2", "--lora-modules",
                    f"qwen2-5-0-5b-instruct-lora-r8={model_dir}/adapters/qwen2-5-0-5b-instruct-lora-r8",
                    f"support={model_dir}/adapters/support"]
    serve = (project / "code" / "serve").read_text()
    assert 'export VLLM_ALLOW_RUNTIME_LORA_UPDATING="${VLLM_ALLOW_RUNTIME_LORA_UPDATING:-true}"' in serve
    # the sizing's values, overridable like the project's other managed settings
    r, argv = _serve_argv(project, tmp_path, {"MODEL_DIR": str(model_dir), "ENGINE_ARG_MAX_LORAS": "3"})
    assert argv[argv.index("--max-loras") + 1] == "3" and argv.count("--max-loras") == 1


def test_runtime_only_lora_gets_no_lora_modules(template_dir, tmp_path, fake_hub):
    project = tmp_path / "p"
    generate(template_dir, project, enableLora=True)
    r, argv = _serve_argv(project, tmp_path, {"MODEL_DIR": str(tmp_path / "none")})
    assert r.returncode == 0, r.stderr
    assert argv[argv.index("--enable-lora"):] == ["--enable-lora", "--max-lora-rank", "16", "--max-loras", "4"]


def test_a_project_without_lora_passes_no_lora_flag(template_dir, tmp_path, fake_hub):
    project = tmp_path / "p"
    generate(template_dir, project)
    r, argv = _serve_argv(project, tmp_path, {"MODEL_DIR": str(tmp_path / "none")})
    assert r.returncode == 0, r.stderr
    assert not [a for a in argv if a.startswith("--") and "lora" in a]
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING" not in (project / "code" / "serve").read_text()


class AdapterHub(LoopbackServer):
    """HEAD/GET as the Hub answers huggingface_hub's snapshot_download of one adapter at one commit:
    /api/models/<id>/revision/<sha> (siblings), /api/models/<id>/tree/<sha>, /<id>/resolve/<sha>/<file>. Records each request's
    Authorization header."""

    def __init__(self, repo: str, sha: str, files: dict[str, bytes]):
        self.repo, self.sha, self.files, self.requests = repo, sha, files, []
        super().__init__()

    def answer(self, handler, body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        self.requests.append((handler.command, path, handler.headers.get("Authorization")))
        status, headers, data = 404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "not found"}, b"{}"
        if path == f"/api/models/{self.repo}/revision/{self.sha}":
            status, headers = 200, {"Content-Type": "application/json"}
            data = json.dumps({"id": self.repo, "sha": self.sha,
                               "siblings": [{"rfilename": n} for n in self.files]}).encode()
        elif path == f"/api/models/{self.repo}/tree/{self.sha}":   # huggingface_hub 2.x lists the files so
            status, headers = 200, {"Content-Type": "application/json"}
            data = json.dumps([{"type": "file", "path": n, "size": len(c), "oid": hashlib.sha1(c).hexdigest()}
                               for n, c in self.files.items()]).encode()
        elif path.startswith(f"/{self.repo}/resolve/{self.sha}/") and path.rsplit("/", 1)[1] in self.files:
            data = self.files[path.rsplit("/", 1)[1]]
            status = 200
            headers = {"X-Repo-Commit": self.sha, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                       "Content-Type": "application/octet-stream"}
        self.reply(handler, status, headers, data, body)



def test_an_adapter_not_in_model_dir_is_downloaded_at_its_pinned_commit(template_dir, tmp_path, fake_hub):
    pytest.importorskip("huggingface_hub")
    project = tmp_path / "p"
    generate(template_dir, project, loraAdapters=[R8])
    sha = info(R8)["sha"]
    files = {"adapter_config.json": (FIXTURES / R8 / "adapter_config.json").read_bytes(),
             "adapter_model.safetensors": b"weights", "README.md": b"card"}
    hub = AdapterHub(R8, sha, files)
    try:
        r, argv = _serve_argv(project, tmp_path, {"MODEL_DIR": str(tmp_path / "none"), "HF_ENDPOINT": hub.url,
                                                  "HF_TOKEN": FAKE_TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1"})
    finally:
        hub.close()
    assert r.returncode == 0, r.stderr
    module = argv[argv.index("--lora-modules") + 1]
    name, folder = module.split("=", 1)
    assert name == "qwen2-5-0-5b-instruct-lora-r8" and folder.startswith(str(tmp_path / "hf-home"))
    assert (Path(folder) / "adapter_config.json").read_bytes() == files["adapter_config.json"]
    assert (Path(folder) / "adapter_model.safetensors").is_file() and not (Path(folder) / "README.md").exists()
    asked = {path for _, path, _ in hub.requests}
    assert f"/{R8}/resolve/{sha}/adapter_config.json" in asked and not any("/main/" in p for p in asked)
    assert all(auth == f"Bearer {FAKE_TOKEN}" for _, _, auth in hub.requests)   # the model's token mechanics
    assert FAKE_TOKEN not in r.stdout + r.stderr


# The LoRA serve script passes shellcheck: tests/test_render.py::test_every_serve_script_passes_shellcheck.


def test_the_generated_readme_says_how_to_reach_the_adapters(template_dir, tmp_path, fake_hub):
    project = tmp_path / "p"
    lock = generate(template_dir, project, loraAdapters=[f"ad1={R8}"])
    readme = (project / "README.md").read_text()
    assert "### LoRA adapters" in readme and "X-Amzn-SageMaker-Adapter-Identifier: ad1" in readme
    assert f"| `ad1` | [{R8}](https://huggingface.co/{R8}) | `{info(R8)['sha'][:12]}` | 8 | q_proj, v_proj |" in readme
    assert "--max-lora-rank 8 --max-loras 1" in readme and f"{lock['lora']['memory_gib']} GiB per GPU" in readme
    plain = tmp_path / "plain"
    generate(template_dir, plain)
    assert "LoRA" not in (plain / "README.md").read_text()


def test_the_adapters_are_read_in_the_models_wave(template_dir, tmp_path, fake_hub):
    """--defaults: the adapters' calls go out beside the model's (generator/answers.py start_model_read), so a
    slow hub costs one round trip for all of them."""
    fake_hub.latency_s = 0.3
    generate(template_dir, tmp_path / "p", loraAdapters=[R8, R24])
    assert any("template-tests" in p for p in fake_hub.requests)
    assert fake_hub.waves() == 1, sorted(fake_hub.timeline)


@pytest.mark.cli
def test_an_update_keeps_the_adapters_pins_and_reads_no_adapter_again(copier_template, tmp_path, fake_hub):
    import subprocess as sp

    from copier import run_update
    dst = tmp_path / "p"
    before = generate(copier_template, dst, loraAdapters=[f"ad1={R8}"])
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
        sp.run(["git", *args], cwd=dst, check=True, capture_output=True)
    fake_hub.reset()
    run_update(str(dst), data={"maxModelLen": 8192}, defaults=True, unsafe=True, overwrite=True, quiet=True)
    after = assert_valid_lock(dst)
    assert after["lora"]["adapters"] == before["lora"]["adapters"]
    assert not [r for r in fake_hub.requests if "template-tests" in r], fake_hub.requests


def test_the_plan_says_what_the_adapter_slots_take():
    facts = {"known": True, "id": MODEL, "num_layers": 24, "hidden_size": 896, "num_attention_heads": 14,
             "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 4864, "max_position_embeddings": 32768,
             "parameters_by_dtype": {"BF16": 494032768}}
    plan = sizing.plan_deployment(facts, "ml.g5.xlarge", lora={"max_lora_rank": 8, "max_loras": 2})
    assert plan["lora_memory_gib"] == round(sizing.lora_bytes({**facts, "lora": {"max_lora_rank": 8, "max_loras": 2}})
                                            / sizing.GIB, 3)
    assert f"The 2 LoRA adapter slots of rank 8 vLLM preallocates take {plan['lora_memory_gib']:.2f} GiB" in plan["reason"]
    assert sizing.plan_deployment(facts, "ml.g5.xlarge")["lora_memory_gib"] is None


def test_an_adapter_listed_after_the_pins_were_kept_is_named(template_dir, tmp_path, fake_hub, capsys):
    generate(template_dir, tmp_path / "p", loraAdapters=[R8, R24], loraPins=[f"{R8}@{info(R8)['sha']}"])
    err = capsys.readouterr().err
    assert f"note: loraPins does not pin {R24}" in err and "-d loraPins=refresh" in err
