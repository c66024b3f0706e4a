"""The generated code/serve script, run on this machine with stand-in engine executables.

No Docker needed: a recorder stands in for `vllm serve`, `python3 -m sglang...`,
`trtllm-serve`, `nginx` and the LMI/DJL entrypoint, and writes down exactly the argv and
environment it received. Asserts the flags each engine gets, ENGINE_ARG_* translation and
rejection, SIGTERM forwarding, exit on engine death, and the run-time token paths.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from copier import run_copy

from hubsim import FAKE_TOKEN, GRANTED_TOKEN, info

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
QWEN_SHA = info(QWEN)["sha"]

RECORDER = f"""#!{sys.executable}
import json, os, signal, sys, time
name = os.path.basename(sys.argv[0])
out = os.environ["STUB_OUT"]
keep = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_MODEL_ID", "TENSOR_PARALLEL_DEGREE", "HF_HUB_OFFLINE")
def stop(*_):
    open(os.path.join(out, name + ".terminated"), "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)   # before the record: a test sends SIGTERM once it sees the record
with open(os.path.join(out, name + ".json.part"), "w") as fh:
    json.dump({{"argv": sys.argv[1:], "env": {{k: v for k, v in os.environ.items()
                                            if k in keep or k.startswith(("OPTION_", "SERVING_"))}}}}, fh)
os.replace(os.path.join(out, name + ".json.part"), os.path.join(out, name + ".json"))   # whole, or not there
if name != "nginx" and os.environ.get("STUB_MODE") == "die":
    time.sleep(0.5)   # long enough for the proxy to be up
    sys.exit(3)
for _ in range(600):
    time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def projects(tmp_path_factory, template_dir, catalog_project):
    """One project per server (offline, shipped Qwen metadata: conftest.catalog_project, shared with
    the golden files' test) plus a gated one."""
    made = {server: catalog_project(server) for server in ("vllm", "sglang", "tensorrt-llm", "lmi", "djl")}
    # SGLang up to 0.5.19 answers /ping before warm-up: that version runs behind nginx
    made["sglang-seed"] = catalog_project("sglang", "0.5.4.post1")
    # LMI 14 (rolling_batch=vllm) takes any request model; LMI 29 answers only its served name
    made["lmi-seed"] = catalog_project("lmi", "0.32.0-lmi14.0.0")
    gated = tmp_path_factory.mktemp("serve") / "gated"
    run_copy(str(template_dir), str(gated), data={
        "modelServer": "vllm", "offline": True, "modelName": "meta-llama/Llama-3.1-8B-Instruct"},
        defaults=True, unsafe=True, quiet=True)
    made["gated"] = gated
    return made


def write_stubs(bindir: Path) -> None:
    """The engines and nginx as RECORDER; python3 is the real interpreter (serve's own helpers) except
    for `python3 -m ...`, an engine started as a module, which RECORDER records as "python3"."""
    bindir.mkdir()
    (bindir / "module").mkdir()
    for path in (bindir / "vllm", bindir / "trtllm-serve", bindir / "nginx", bindir / "dockerd-entrypoint.sh",
                 bindir / "module" / "python3"):
        path.write_text(RECORDER)
        path.chmod(0o755)
    (bindir / "python3").write_text(f'#!/bin/sh\nif [ "$1" = -m ]; then exec "{bindir}/module/python3" "$@"; fi\n'
                                    f'exec "{sys.executable}" "$@"\n')
    (bindir / "python3").chmod(0o755)


@pytest.fixture
def stubs(tmp_path):
    bindir = tmp_path / "bin"
    write_stubs(bindir)
    out = tmp_path / "out"
    out.mkdir()
    return bindir, out


def run_serve(project: Path, stubs, env_extra: dict[str, str] | None = None,
              wait_for: str | tuple[str, ...] | None = None):
    """Start serve; when the record(s) ``wait_for`` are all written, SIGTERM it. Returns (exit code,
    stderr, out dir). The engine and nginx start side by side: wait for each record a test reads."""
    bindir, out = stubs
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "STUB_OUT": str(out), "HOME": str(out),
           "MODEL_DIR": str(out / "opt-ml-model"), "DJL_ENTRYPOINT": str(bindir / "dockerd-entrypoint.sh"),
           **(env_extra or {})}
    proc = subprocess.Popen([str(project / "code" / "serve"), "serve"], env=env, stderr=subprocess.PIPE,
                            text=True)
    if wait_for:
        deadline = time.time() + 10
        names = (wait_for,) if isinstance(wait_for, str) else wait_for
        while not all((out / name).exists() for name in names):
            if proc.poll() is not None or time.time() > deadline:
                break
            time.sleep(0.01)
        if proc.poll() is None:
            time.sleep(0.02)   # the engine is up (it wrote its record), serve waits on it
            proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err, out


def received(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


def test_vllm_gets_its_real_flags_and_engine_args(projects, stubs):
    code, err, out = run_serve(projects["vllm"], stubs, {
        "ENGINE_ARG_MAX_NUM_SEQS": "64", "ENGINE_ARG_ENFORCE_EAGER": "true",
        "ENGINE_ARG_DISABLE_LOG_STATS": "false", "ENGINE_ARG_ENABLE_PREFIX_CACHING": "false",
        "ENGINE_ARG_MAX_MODEL_LEN": "4096"}, wait_for="vllm.json")
    argv = received(out, "vllm")["argv"]
    chat = str(projects["vllm"] / "code" / "chat_template.jinja")
    # `vllm serve`, as upstream's SageMaker entrypoint starts it (not the deprecated api_server module)
    expected = ["serve", "--model", QWEN, "--served-model-name", QWEN,
                "--host", "0.0.0.0", "--port", "8080", "--tensor-parallel-size", "1", "--revision", QWEN_SHA,
                "--max-model-len", "4096", "--chat-template", chat]
    assert argv[:len(expected)] == expected
    extra = argv[len(expected):]
    assert "--enforce-eager" in extra and "--no-enable-prefix-caching" in extra
    assert extra[extra.index("--max-num-seqs") + 1] == "64"
    assert "--disable-log-stats" not in extra and len(extra) == 4
    assert "'disable-log-stats' is false: flag left out" in err
    assert code == 0 and (out / "vllm.terminated").exists(), err   # SIGTERM reached the engine
    assert not (out / "python3.json").exists()                     # no `python3 -m vllm...`


def test_sglang_seed_engine_behind_nginx(projects, stubs):
    code, err, out = run_serve(projects["sglang-seed"], stubs, {"ENGINE_ARG_MEM_FRACTION_STATIC": "0.8",
                                                                "ENGINE_ARG_DISABLE_RADIX_CACHE": "true"},
                               wait_for=("python3.json", "nginx.json"))
    argv = received(out, "python3")["argv"]
    chat = str(projects["sglang-seed"] / "code" / "chat_template.jinja")
    assert argv == ["-m", "sglang.launch_server", "--model-path", QWEN, "--served-model-name", QWEN,
                    "--host", "127.0.0.1", "--port", "8081", "--tensor-parallel-size", "1",
                    "--revision", QWEN_SHA, "--context-length", "32768",
                    "--mem-fraction-static", "0.8",    # the plan's value, replaced by ENGINE_ARG_ (managed)
                    "--chat-template", chat, "--disable-radix-cache"]
    assert received(out, "nginx")["argv"] == ["-c", str(projects["sglang-seed"] / "code" / "nginx.conf"),
                                              "-g", "daemon off;"]
    assert code == 0 and (out / "python3.terminated").exists()


def test_sglang_default_listens_on_8080_itself_and_takes_sm_sglang_settings(projects, stubs):
    """From 0.5.20 SGLang's /ping is 503 until ready: no nginx, the engine is on 8080. AWS's
    SM_SGLANG_<NAME> convention works, and ENGINE_ARG_<NAME> wins for the same setting."""
    code, err, out = run_serve(projects["sglang"], stubs, {
        "SM_SGLANG_MAX_RUNNING_REQUESTS": "32", "ENGINE_ARG_MAX_RUNNING_REQUESTS": "64",
        "SM_SGLANG_TRUST_REMOTE_CODE": "true"}, wait_for="python3.json")
    argv = received(out, "python3")["argv"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == "8080"
    assert argv[argv.index("--max-running-requests") + 1] == "64" and argv.count("--max-running-requests") == 1
    assert "--trust-remote-code" in argv
    assert "SM_SGLANG_MAX_RUNNING_REQUESTS ignored: ENGINE_ARG_MAX_RUNNING_REQUESTS sets 'max-running-requests' too" in err
    assert not (out / "nginx.json").exists() and code == 0


def test_weights_in_opt_ml_model_are_served_without_the_hub(projects, stubs):
    bindir, out = stubs
    model_dir = out / "opt-ml-model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    for server, binary in (("vllm", "vllm"), ("sglang", "python3"), ("tensorrt-llm", "trtllm-serve")):
        for f in out.glob("*.json"):
            f.unlink()
        code, err, _ = run_serve(projects[server], stubs, wait_for=f"{binary}.json")
        got = received(out, binary)
        assert str(model_dir) in got["argv"] and "--revision" not in got["argv"], got["argv"]
        if server != "tensorrt-llm":    # trtllm-serve 1.2.x has no --served_model_name (see README)
            assert QWEN in got["argv"]                      # still the served model name
        assert got["env"]["HF_HUB_OFFLINE"] == "1" and "no hub download" in err and code == 0, server
    for f in out.glob("*.json"):
        f.unlink()
    code, err, _ = run_serve(projects["lmi"], stubs, wait_for="dockerd-entrypoint.sh.json")
    env = received(out, "dockerd-entrypoint.sh")["env"]
    assert env["HF_MODEL_ID"] == str(model_dir) and "OPTION_REVISION" not in env


def test_gated_model_from_opt_ml_model_needs_no_token(projects, stubs):
    bindir, out = stubs
    (out / "opt-ml-model").mkdir()
    (out / "opt-ml-model" / "config.json").write_text("{}")
    code, err, _ = run_serve(projects["gated"], stubs, wait_for="vllm.json")
    assert code == 0 and "is a gated model" not in err and "starting vLLM" in err


def test_tensorrt_llm_engine_behind_nginx(projects, stubs):
    code, err, out = run_serve(projects["tensorrt-llm"], stubs, {"ENGINE_ARG_MAX_BATCH_SIZE": "16"},
                               wait_for=("trtllm-serve.json", "nginx.json"))
    assert received(out, "trtllm-serve")["argv"] == [
        QWEN, "--backend", "pytorch", "--host", "127.0.0.1", "--port", "8081", "--tp_size", "1",
        "--revision", QWEN_SHA, "--max_seq_len", "32768",
        "--chat_template", str(projects["tensorrt-llm"] / "code" / "chat_template.jinja"), "--max_batch_size", "16"]
    assert received(out, "nginx")["argv"] == ["-c", str(projects["tensorrt-llm"] / "code" / "nginx.conf"),
                                              "-g", "daemon off;"]
    assert code == 0 and (out / "trtllm-serve.terminated").exists() and (out / "nginx.terminated").exists()


@pytest.mark.parametrize("server", ["lmi", "djl"])
def test_lmi_and_djl_are_configured_through_the_environment(projects, stubs, server):
    """HF_MODEL_ID, OPTION_*, TENSOR_PARALLEL_DEGREE; ENGINE_ARG_ overrides; /opt/ml/model untouched
    (it may be read-only on SageMaker)."""
    code, err, out = run_serve(projects[server], stubs, {"ENGINE_ARG_MAX_ROLLING_BATCH_SIZE": "32",
                                                         "ENGINE_ARG_TENSOR_PARALLEL_DEGREE": "2"},
                               wait_for="dockerd-entrypoint.sh.json")
    got = received(out, "dockerd-entrypoint.sh")
    assert got["argv"] == ["serve"]
    env = got["env"]
    assert env["HF_MODEL_ID"] == QWEN and env["OPTION_REVISION"] == QWEN_SHA
    assert env["TENSOR_PARALLEL_DEGREE"] == "2" and env["OPTION_MAX_ROLLING_BATCH_SIZE"] == "32"
    assert not (out / "opt-ml-model").exists()
    template = (projects[server] / "code" / "chat_template.jinja").read_text()
    if server == "lmi":
        assert env["OPTION_MAX_MODEL_LEN"] == "32768" and "OPTION_ROLLING_BATCH" not in env
        assert env["OPTION_CHAT_TEMPLATE"] == template   # byte for byte, trailing newline kept
    else:
        assert env["OPTION_ROLLING_BATCH"] == "disable" and "OPTION_CHAT_TEMPLATE" not in env
    assert code == 0


@pytest.mark.parametrize("project", ["lmi", "lmi-seed", "djl"])
def test_lmi_and_djl_take_an_asynchronous_endpoints_body(projects, stubs, project):
    """DJL Serving's max_request_size defaults to 64 MiB (ConfigManager.java); asynchronous endpoints
    send up to 1 GB: the serve script raises it, unless the user set one."""
    code, err, out = run_serve(projects[project], stubs, wait_for="dockerd-entrypoint.sh.json")
    assert received(out, "dockerd-entrypoint.sh")["env"]["SERVING_MAX_REQUEST_SIZE"] == str(1 << 30) and code == 0
    (out / "dockerd-entrypoint.sh.json").unlink()
    code, err, out = run_serve(projects[project], stubs, {"SERVING_MAX_REQUEST_SIZE": "1000"},
                               wait_for="dockerd-entrypoint.sh.json")
    assert received(out, "dockerd-entrypoint.sh")["env"]["SERVING_MAX_REQUEST_SIZE"] == "1000"


@pytest.mark.parametrize("project", ["lmi", "lmi-seed"])
def test_lmi_takes_vllms_tensor_parallel_size_as_its_degree(projects, stubs, project):
    """OPTION_TENSOR_PARALLEL_SIZE beside the project's TENSOR_PARALLEL_DEGREE made LMI refuse to load
    (conflicting values); the alias now replaces the degree, as any spelling of a managed setting does."""
    code, err, out = run_serve(projects[project], stubs, {"ENGINE_ARG_TENSOR_PARALLEL_SIZE": "2"},
                               wait_for="dockerd-entrypoint.sh.json")
    env = received(out, "dockerd-entrypoint.sh")["env"]
    assert env["TENSOR_PARALLEL_DEGREE"] == "2" and "OPTION_TENSOR_PARALLEL_SIZE" not in env and code == 0


@pytest.mark.parametrize(("project", "served"), [("lmi", QWEN), ("lmi-seed", None)])
def test_lmi_serves_the_model_under_its_id(projects, stubs, project, served):
    """LMI 29 registers the model as "lmi" without option.served_model_name and refuses the model
    id python -m deploy test sends (djl-serving lmi_vllm/vllm_async_service.py ~137-147 at
    0.36.0-lmi27-dlc): the serve script names it. LMI 14's rolling batch takes any request model
    (chat_completions/vllm_chat_utils.py ~42 at 0.32.0-dlc): nothing to set there."""
    code, err, out = run_serve(projects[project], stubs, wait_for="dockerd-entrypoint.sh.json")
    env = received(out, "dockerd-entrypoint.sh")["env"]
    assert env.get("OPTION_SERVED_MODEL_NAME") == served and code == 0
    lock = json.loads((projects[project] / "model.lock.json").read_text())
    assert lock["model"]["id"] == QWEN      # what python -m deploy test sends as the request's model


@pytest.mark.parametrize("env,message", [
    ({"ENGINE_ARG_MAX_NUM_SEQ": "64"}, "unknown engine setting ENGINE_ARG_MAX_NUM_SEQ"),
    ({"ENGINE_ARG_MAX_NUM_SEQS": "lots"}, "must be a whole number"),
    ({"ENGINE_ARG_ENFORCE_EAGER": "maybe"}, "must be true or false"),
    ({"ENGINE_ARG_GPU_MEMORY_UTILIZATION": "high"}, "must be a number"),
    ({"ENGINE_ARG_TOKENIZER": ""}, "is empty"),
    ({"ENGINE_ARG_DTYPE": "float65"}, "ENGINE_ARG_DTYPE must be one of auto|bfloat16|"),
    ({"ENGINE_ARG_SWAP_SPACE": "4"}, "'swap-space' is not a vLLM setting"),       # removed from vLLM 0.32
    ({"SM_VLLM_SWAP_SPACE": "4"}, "unknown engine setting SM_VLLM_SWAP_SPACE"),
    ({"SM_VLLM_MAX_NUM_SEQS": "lots"}, "SM_VLLM_MAX_NUM_SEQS must be a whole number"),
    ({"ENGINE_ARG_PORT": "9000"}, "'port' is set by this project"),
    ({"ENGINE_ARG_REVISION": "main"}, "'revision' is set by this project"),
])
def test_bad_engine_settings_stop_the_container_with_a_message(projects, stubs, env, message):
    code, err, out = run_serve(projects["vllm"], stubs, env)
    assert code == 64 and message in err
    assert not (out / "vllm.json").exists()   # the engine was never started


def test_engine_death_ends_the_container_non_zero(projects, stubs):
    code, err, out = run_serve(projects["tensorrt-llm"], stubs, {"STUB_MODE": "die"})
    assert code == 3 and "exited (status 3)" in err
    assert (out / "nginx.terminated").exists()   # the proxy is stopped too


def test_gated_model_needs_a_token_at_start(projects, stubs):
    code, err, out = run_serve(projects["gated"], stubs)
    assert code == 64 and "meta-llama/Llama-3.1-8B-Instruct is a gated model" in err


def test_token_from_env_file_reaches_the_engine_only(projects, stubs):
    code, err, out = run_serve(projects["gated"], stubs, {"HF_TOKEN": FAKE_TOKEN}, wait_for="vllm.json")
    assert received(out, "vllm")["env"]["HF_TOKEN"] == FAKE_TOKEN
    assert FAKE_TOKEN not in err and code == 0


class SecretsManager(BaseHTTPRequestHandler):
    """GetSecretValue, as the AWS JSON protocol answers it."""
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        SecretsManager.seen.append((self.headers.get("X-Amz-Target"), self.headers.get("Authorization", ""), body))
        payload = json.dumps({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
                              "Name": body["SecretId"], "SecretString": GRANTED_TOKEN}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_token_from_secrets_manager(projects, stubs):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SecretsManager)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        code, err, out = run_serve(projects["gated"], stubs, {
            "HF_TOKEN_SECRET_ID": "llama/hf-token", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{server.server_address[1]}",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}, wait_for="vllm.json")
    finally:
        server.shutdown()
    target, auth, body = SecretsManager.seen[-1]
    assert target == "secretsmanager.GetSecretValue" and body == {"SecretId": "llama/hf-token"}
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/us-east-1/secretsmanager/" in auth
    assert received(out, "vllm")["env"]["HF_TOKEN"] == GRANTED_TOKEN
    assert GRANTED_TOKEN not in err and code == 0


def test_other_commands_run_as_given(projects, stubs):
    bindir, out = stubs
    result = subprocess.run([str(projects["vllm"] / "code" / "serve"), "echo", "hello"], capture_output=True,
                            text=True, env={"PATH": os.environ["PATH"]})
    assert result.stdout == "hello\n" and result.returncode == 0


class EchoLength(BaseHTTPRequestHandler):
    """The engine behind nginx: reads the whole body and answers its length."""
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        got = 0
        while got < n:
            got += len(self.rfile.read(min(1 << 20, n - got)))
        payload = json.dumps({"received": got}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("project", ["tensorrt-llm", "sglang-seed"])
def test_nginx_takes_what_sagemaker_can_send(projects, tmp_path, project):
    """client_max_body_size was 6m: an asynchronous endpoint's request (up to 1 GB, from S3) got 413.
    The real nginx runs the generated nginx.conf (ports and /tmp paths moved for the test) and passes
    a body over the old limit to the engine whole; the configured limit covers 1 GB."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("needs nginx")
    conf = (projects[project] / "code" / "nginx.conf").read_text()
    size = re.search(r"client_max_body_size\s+(\d+)([kmg]?);", conf)
    assert size and int(size[1]) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[size[2]] >= 10**9
    engine_port, front_port = _free_port(), _free_port()
    work = tmp_path / "nginx"
    work.mkdir()
    conf = (conf.replace("127.0.0.1:8081", f"127.0.0.1:{engine_port}")
            .replace("listen 8080", f"listen 127.0.0.1:{front_port}").replace("/tmp/", f"{work}/"))
    (work / "nginx.conf").write_text(conf)
    engine = ThreadingHTTPServer(("127.0.0.1", engine_port), EchoLength)
    threading.Thread(target=engine.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    proc = subprocess.Popen([nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"],
                            stderr=subprocess.PIPE, text=True)
    try:
        body = b'{"prompt": "' + b"x" * (7 << 20) + b'"}'     # 7 MiB: over the old 6m
        deadline = time.time() + 10
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", front_port, timeout=30)
                conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                break
            except ConnectionRefusedError:
                assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() else "timeout"
                time.sleep(0.1)
        assert resp.status == 200, resp.read()[:300]
        assert json.loads(resp.read()) == {"received": len(body)}
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        engine.shutdown()


# ---------------------------------------------------------------- AWS's SM_VLLM_* / SM_SGLANG_*
def engine_argv(project: Path, stubs, env: dict[str, str]) -> tuple[int, list[str] | None, str]:
    """The engine command serve would run (SERVE_PRINT_COMMAND=1): (exit code, argv, stderr)."""
    bindir, out = stubs
    r = subprocess.run([str(project / "code" / "serve"), "serve"], capture_output=True, text=True, timeout=60,
                       env={"PATH": f"{bindir}:/usr/bin:/bin", "STUB_OUT": str(out), "HOME": str(out),
                            "MODEL_DIR": str(out / "opt-ml-model"), "SERVE_PRINT_COMMAND": "1", **env})
    argv = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else None
    return r.returncode, argv, r.stderr


@pytest.fixture(scope="module")
def base_argv(projects, tmp_path_factory):
    """``base_argv(name)``: the engine command a project's serve runs with no SM_* setting (once per project)."""
    made: dict[str, list[str]] = {}

    def get(name: str) -> list[str]:
        if name not in made:
            root = tmp_path_factory.mktemp(f"base-{name}")
            write_stubs(root / "bin")
            (root / "out").mkdir()
            code, argv, err = engine_argv(projects[name], (root / "bin", root / "out"), {})
            assert code == 0, err
            made[name] = argv
        return made[name]

    return get


def extra_flags(argv: list[str], fixed_len: int) -> list[str]:
    return argv[fixed_len:]


LORA_A, LORA_B = {"name": "a", "path": "/lora/a"}, {"name": "b", "path": "/lora/b"}

# (env, the arguments AWS's vLLM container adds for it): aws/deep-learning-containers
# scripts/docker/vllm/sagemaker_args.py at 19aa4751, the line that decides each.
AWS_VLLM_CASES = [
    # build_args ~164-169: strip().lower() == "false" -> the flag is omitted (never --no-<name>)
    ({"SM_VLLM_ENABLE_PREFIX_CACHING": "false"}, []),
    ({"SM_VLLM_ENABLE_PREFIX_CACHING": " FALSE "}, []),
    ({"SM_VLLM_MAX_NUM_SEQS": "false"}, []),
    # ~164-166: "true" (any case, stripped) -> the bare flag
    ({"SM_VLLM_ENFORCE_EAGER": "true"}, ["--enforce-eager"]),
    ({"SM_VLLM_ENABLE_PREFIX_CACHING": " True"}, ["--enable-prefix-caching"]),
    # tokens_for ~103-110: an empty value -> the flag with no value
    ({"SM_VLLM_ENFORCE_EAGER": ""}, ["--enforce-eager"]),
    # ~135: anything else is one token, unsplit and unstripped
    ({"SM_VLLM_MAX_NUM_SEQS": "64"}, ["--max-num-seqs", "64"]),
    ({"SM_VLLM_LORA_MODULES": "a=/lora/a b=/lora/b"}, ["--lora-modules", "a=/lora/a b=/lora/b"]),
    # ~117-125 with as_token ~60-74: a JSON array -> one token per element, objects compact, booleans
    # lower-case; an empty array -> the flag is omitted
    ({"SM_VLLM_LORA_MODULES": json.dumps([LORA_A, LORA_B])},
     ["--lora-modules", '{"name":"a","path":"/lora/a"}', '{"name":"b","path":"/lora/b"}']),
    ({"SM_VLLM_API_KEY": '["k1", 2, true]'}, ["--api-key", "k1", "2", "true"]),
    ({"SM_VLLM_LORA_MODULES": "[]"}, []),
    # ~127-133: several whitespace-separated JSON objects -> one token each; one object verbatim
    ({"SM_VLLM_LORA_MODULES": json.dumps(LORA_A) + "  " + json.dumps(LORA_B)},
     ["--lora-modules", '{"name":"a","path":"/lora/a"}', '{"name":"b","path":"/lora/b"}']),
    ({"SM_VLLM_HF_OVERRIDES": '{"rope_theta": 1e6}'}, ["--hf-overrides", '{"rope_theta": 1e6}']),
    # SINGLE_TOKEN_FLAGS ~44-51, ~112-113: a JSON array stays one token for these
    ({"SM_VLLM_ALLOWED_ORIGINS": '["https://a.example", "https://b.example"]'},
     ["--allowed-origins", '["https://a.example", "https://b.example"]']),
]


@pytest.mark.parametrize(("env", "aws_adds"), AWS_VLLM_CASES, ids=[json.dumps(c[0]) for c in AWS_VLLM_CASES])
def test_sm_vllm_settings_reach_the_engine_as_in_awss_container(projects, stubs, base_argv, env, aws_adds):
    base = base_argv("vllm")
    code, argv, err = engine_argv(projects["vllm"], stubs, env)
    assert code == 0, err
    assert argv[:len(base)] == base and argv[len(base):] == aws_adds, argv[len(base):]


def test_engine_arg_keeps_its_own_meaning_beside_sm_vllm(projects, stubs):
    """ENGINE_ARG_ is unchanged: false gives --no-<name> where the flag has it, lists split on spaces."""
    code, base, err = engine_argv(projects["vllm"], stubs, {})
    code, argv, err = engine_argv(projects["vllm"], stubs, {
        "ENGINE_ARG_ENABLE_PREFIX_CACHING": "false", "ENGINE_ARG_LORA_MODULES": "a=/lora/a b=/lora/b"})
    assert code == 0, err
    assert argv[len(base):] == ["--no-enable-prefix-caching", "--lora-modules", "a=/lora/a", "b=/lora/b"]


def test_sm_vllm_managed_settings(projects, stubs):
    """SM_VLLM_MAX_MODEL_LEN replaces the planned length (one --max-model-len); false leaves the plan's."""
    code, base, err = engine_argv(projects["vllm"], stubs, {})
    planned = base[base.index("--max-model-len") + 1]
    code, argv, err = engine_argv(projects["vllm"], stubs, {"SM_VLLM_MAX_MODEL_LEN": "2048"})
    assert code == 0 and argv.count("--max-model-len") == 1 and argv[argv.index("--max-model-len") + 1] == "2048"
    code, argv, err = engine_argv(projects["vllm"], stubs, {"SM_VLLM_MAX_MODEL_LEN": "false"})
    assert code == 0 and argv == base and planned != "2048"
    assert "'max-model-len' left out, as AWS's containers do" in err


@pytest.mark.parametrize(("env", "message"), [
    # AWS would pass `--enforce-eager 1`, and vLLM takes "1" as a second model: refused here
    ({"SM_VLLM_ENFORCE_EAGER": "1"}, "SM_VLLM_ENFORCE_EAGER must be true or false (AWS's convention"),
    # AWS would pass a bare --max-num-seqs, which vLLM's parser refuses
    ({"SM_VLLM_MAX_NUM_SEQS": "true"}, "AWS's convention passes --max-num-seqs without a value"),
    ({"SM_VLLM_MAX_NUM_SEQS": "[1, 2]"}, "'max-num-seqs' takes one value; AWS's convention makes 2"),
    ({"SM_VLLM_MAX_NUM_SEQS": "[1]"}, None),
    ({"SM_VLLM_MODEL": "someone/else"}, "'model' is set by this project"),
])
def test_sm_vllm_values_the_engine_would_refuse_stop_the_container(projects, stubs, env, message):
    code, argv, err = engine_argv(projects["vllm"], stubs, env)
    if message is None:
        assert code == 0 and argv[-2:] == ["--max-num-seqs", "1"], err
    else:
        assert code == 64 and message in err, err


# scripts/docker/sglang/sagemaker_entrypoint.sh at 3a66fab5, ~20-45: the value lower-cased (not
# trimmed); "true" -> the flag alone, "false" -> skipped, else the flag and the value as ONE argument
# (no JSON or space splitting), an empty value -> the flag alone; SM_SGLANG_ENGINE is not a flag.
AWS_SGLANG_CASES = [
    ({"SM_SGLANG_TRUST_REMOTE_CODE": "false"}, []),
    ({"SM_SGLANG_TRUST_REMOTE_CODE": "TRUE"}, ["--trust-remote-code"]),
    ({"SM_SGLANG_TRUST_REMOTE_CODE": ""}, ["--trust-remote-code"]),
    ({"SM_SGLANG_MAX_RUNNING_REQUESTS": "32"}, ["--max-running-requests", "32"]),
    ({"SM_SGLANG_MAX_RUNNING_REQUESTS": "False"}, []),
    ({"SM_SGLANG_LORA_PATHS": '["a=/lora/a", "b=/lora/b"]'}, ["--lora-paths", '["a=/lora/a", "b=/lora/b"]']),
    ({"SM_SGLANG_LORA_PATHS": "a=/lora/a b=/lora/b"}, ["--lora-paths", "a=/lora/a b=/lora/b"]),
    ({"SM_SGLANG_ENGINE": "llm"}, []),
]


@pytest.mark.parametrize("project", ["sglang", "sglang-seed"])
@pytest.mark.parametrize(("env", "aws_adds"), AWS_SGLANG_CASES, ids=[json.dumps(c[0]) for c in AWS_SGLANG_CASES])
def test_sm_sglang_settings_reach_the_engine_as_in_awss_container(projects, stubs, base_argv, project, env, aws_adds):
    base = base_argv(project)
    code, argv, err = engine_argv(projects[project], stubs, env)
    assert code == 0, err
    assert argv[:len(base)] == base and argv[len(base):] == aws_adds, argv[len(base):]


@pytest.mark.parametrize(("env", "message"), [
    ({"SM_SGLANG_TRUST_REMOTE_CODE": " true"}, "SM_SGLANG_TRUST_REMOTE_CODE must be true or false"),
    ({"SM_SGLANG_ENGINE": "diffusion"}, "only llm is accepted"),
    ({"SM_SGLANG_MODEL": "someone/else"}, "'model' is set by this project"),
])
def test_sm_sglang_values_the_engine_would_refuse_stop_the_container(projects, stubs, env, message):
    code, argv, err = engine_argv(projects["sglang"], stubs, env)
    assert code == 64 and message in err, err


@pytest.mark.parametrize("project", ["vllm", "sglang"])
def test_readme_and_serve_header_give_sm_settings_awss_meaning(projects, project):
    """The generated README said SM_* settings had 'the same checks' as ENGINE_ARG_ (false -> --no-x)."""
    readme = " ".join((projects[project] / "README.md").read_text().split())
    assert "`false` leaves it out (never `--no-<name>`)" in readme
    assert "with the same checks" not in readme
    assert "false leaves it out (never --no-<name>)" in (projects[project] / "code" / "serve").read_text()
