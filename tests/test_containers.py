"""Container tests: generate a project per server, build it on a stand-in of the pinned image,
lint it, run it like SageMaker does (`docker run IMAGE serve`) and check the hosting contract.

The stand-ins (tests/standins/) are tagged with the exact pinned image names, so the generated
Dockerfile builds unchanged. Without docker the tests skip; with CI=true they fail instead.
All runs for all servers happen once per session, concurrently (see `observations`); each test
then checks one property of one server. Register the marker `container` in tests/conftest.py.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import socket
import threading
import time
import uuid

import pytest

from testkit import tool
from container_helpers import (BASE_IMAGE, CASES, ROOT, TEST_LABEL, SecretsManagerStandIn, build_image,
                               build_standin, docker_available, ensure_base_image, grep_stream, host_port,
                               image_exists, prune_test_images, request, logs,
                               parse_argv, received, remove, run_detached, sh,
                               state, stream, wait_exit, wait_ready)

pytestmark = pytest.mark.container

SERVERS = list(CASES)   # one case per catalog entry: "server@version"


def name(case: str) -> str:
    return case.split("@", 1)[0]


def version(case: str) -> str:
    return case.split("@", 1)[1]


CATALOG = json.loads((ROOT / "generator" / "data" / "engines.json").read_text())
PROXIED = [c for c in SERVERS if CATALOG[name(c)]["versions"][version(c)]["proxy"]]
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
LOAD_DELAY = 3.0
TOKEN_DELAY = 0.25
WARMUP_DELAY = 2.0  # sglang stand-in: /health is 503 this long after HTTP starts; native /ping is 200
N_TOKENS = 8
ENGINE_KEEPALIVE = 5  # uvicorn's timeout_keep_alive in vLLM, SGLang and trtllm-serve (tests/test_standins.py)
RUN_ID = uuid.uuid4().hex[:8]
TOKEN_ENV = "hf_fakeEnvFileToken" + uuid.uuid4().hex
TOKEN_SM = "hf_fakeSecretsMgrToken" + uuid.uuid4().hex
SECRET_ID = "ct-project/hf-token"
ANY = object()
SSE_SERVERS = {"vllm", "sglang", "tensorrt-llm"}

# Engine settings passed as ENGINE_ARG_* in the main run, and the flags they must become.
ENGINE_ARGS = {
    "vllm": ({"ENGINE_ARG_MAX_NUM_SEQS": "64", "ENGINE_ARG_ENFORCE_EAGER": "true"},
             {"--max-num-seqs": "64", "--enforce-eager": True}),
    "sglang": ({"ENGINE_ARG_MAX_RUNNING_REQUESTS": "64", "ENGINE_ARG_TRUST_REMOTE_CODE": "true"},
               {"--max-running-requests": "64", "--trust-remote-code": True}),
    "tensorrt-llm": ({"ENGINE_ARG_MAX_BATCH_SIZE": "64", "ENGINE_ARG_TRUST_REMOTE_CODE": "true"},
                     {"--max_batch_size": "64", "--trust_remote_code": True}),
    "lmi": ({"ENGINE_ARG_MAX_ROLLING_BATCH_SIZE": "64", "ENGINE_ARG_ENFORCE_EAGER": "true"},
            {"option.max_rolling_batch_size": "64", "option.enforce_eager": "true"}),
    "djl": ({"ENGINE_ARG_MAX_ROLLING_BATCH_SIZE": "64", "ENGINE_ARG_TRUST_REMOTE_CODE": "true"},
            {"option.max_rolling_batch_size": "64", "option.trust_remote_code": "true"}),
}
BAD_VALUE = {"vllm": "ENGINE_ARG_MAX_NUM_SEQS", "sglang": "ENGINE_ARG_MAX_RUNNING_REQUESTS",
             "tensorrt-llm": "ENGINE_ARG_MAX_BATCH_SIZE", "lmi": "ENGINE_ARG_MAX_ROLLING_BATCH_SIZE",
             "djl": "ENGINE_ARG_MAX_ROLLING_BATCH_SIZE"}
CHAT = {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": N_TOKENS}
# DJL Serving's HF Accelerate handler serves text generation, not chat (engines-2026.md section 4).
REQUEST = {"djl": {"inputs": "Say hello.", "parameters": {"max_new_tokens": N_TOKENS}},
           # as python -m deploy test sends it: the model id, which LMI 29 answers only as its served name
           "lmi": dict(CHAT, model=MODEL)}
HOST_NET_LOCK = threading.Lock()


# ---------------------------------------------------------------- session setup
@pytest.fixture(scope="session")
def docker_ready(tmp_path_factory):
    ok, why = docker_available()
    if ok:
        try:
            ensure_base_image(tmp_path_factory.mktemp("base"))
        except Exception as e:  # noqa: BLE001
            ok, why = False, f"cannot build the stand-in base image: {e}"
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"container tests need docker (CI=true): {why}")
        pytest.skip(f"container tests need docker: {why}")
    work = tmp_path_factory.mktemp("standins")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        list(ex.map(lambda case: build_standin(case, work), SERVERS))
    return True


@pytest.fixture(scope="session")
def projects(tmp_path_factory):
    import copier
    out = {}
    base = tmp_path_factory.mktemp("projects")
    for s in SERVERS:
        dst = base / s
        copier.run_copy(str(ROOT), str(dst), data={"modelName": MODEL, "modelServer": name(s),
                                                   "modelServerVersion": version(s), "offline": True},
                        defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
        # a local run's token file, present before the build: .dockerignore must keep it out
        (dst / ".env").write_text(f"HF_TOKEN={TOKEN_ENV}\n")
        out[s] = dst
    return out


def _image_tag(case):
    return f"ct-project-{case.replace('@', '-')}:{RUN_ID}"


def _own_logs(cid, tail=6000):
    """The container log without the stand-in's STANDIN-RECEIVED report (it holds the env)."""
    return "\n".join(line for line in logs(cid).splitlines() if "STANDIN-RECEIVED" not in line)[-tail:]


def _flow(server: str, proj: pathlib.Path) -> dict:
    obs: dict = {"server": server}
    tag = _image_tag(server)
    t = time.time()
    # --no-cache: an identical project built earlier on this machine (same model, version, files)
    # would hand back its cached layers, and the build's own `code/serve --check-flags` would not run
    r = build_image(tag, proj, "--no-cache")
    obs["build"] = {"rc": r.returncode, "out": (r.stdout + r.stderr)[-4000:], "secs": time.time() - t,
                    "check_flags": [line for line in (r.stdout + r.stderr).splitlines() if "check-flags:" in line]}
    if r.returncode != 0:
        return obs
    extra_env, _ = ENGINE_ARGS[name(server)]
    if name(server) not in ("lmi", "djl"):
        # a serve script that passes a flag the engine lacks must stop `docker build`
        bad = proj.parent / f"{proj.name}-badflag"
        shutil.copytree(proj, bad, dirs_exist_ok=True)
        serve = bad / "code" / "serve"
        text = serve.read_text()
        assert text.count('  start "${ENGINE_NAME}"') == 1
        serve.write_text(text.replace('  start "${ENGINE_NAME}"', '  args+=(--no-such-flag-xyz 1)\n  start "${ENGINE_NAME}"'))
        r = build_image(tag + "-bad", bad)
        obs["bad_flag_build"] = {"rc": r.returncode, "out": (r.stdout + r.stderr)[-4000:]}
        sh("docker", "rmi", "-f", tag + "-bad", timeout=120)
    if (proj / "code" / "nginx.conf").exists():
        r = sh("docker", "run", "--rm", "--entrypoint", "nginx", tag, "-t", "-c", "/opt/program/nginx.conf",
               timeout=120)
        obs["nginx_in_image"] = {"rc": r.returncode, "out": r.stdout + r.stderr}

    # C: bad ENGINE_ARG_* settings (unknown name, badly typed value) -> clear error, non-zero exit
    for key, env in (("bad_name", {"ENGINE_ARG_NO_SUCH_SETTING_XYZ": "1"}),
                     ("bad_value", {BAD_VALUE[name(server)]: "not-a-number"})):
        cid = run_detached(tag, "serve", env={"STANDIN_LOAD_DELAY": "1", **env}, publish=False)
        st = wait_exit(cid, 30)
        obs[key] = {"running": st.get("Running"), "exit": st.get("ExitCode"), "logs": logs(cid)[-3000:]}
        remove(cid)

    # A: the main run: --env-file .env, engine args, readiness, invocations, streaming, stop
    cid = run_detached(tag, "serve", env_file=proj / ".env",
                       env={"STANDIN_LOAD_DELAY": str(LOAD_DELAY), "STANDIN_TOKEN_DELAY": str(TOKEN_DELAY),
                            "STANDIN_WARMUP_DELAY": str(WARMUP_DELAY),
                            "STANDIN_KEEPALIVE": str(ENGINE_KEEPALIVE), "STANDIN_KEEPALIVE_RACE": "1",
                            **extra_env})
    try:
        port = host_port(cid)
        seen, t_ready = wait_ready(port, timeout=90, cid=cid)
        obs["ping_seen"], obs["t_ready"] = seen, t_ready
        if t_ready is not None:
            obs["invoke"] = request(port, "POST", "/invocations", REQUEST.get(name(server), CHAT), timeout=30)
            if name(server) == "djl":   # chat bodies fail on DJL's HF Accelerate path
                obs["invoke_chat"] = request(port, "POST", "/invocations", CHAT, timeout=30)
            else:
                obs["stream"] = stream(port, "/invocations", {**CHAT, "stream": True})
            if server in PROXIED:
                # nginx keeps the engine connection of the last request; once the engine's keep-alive
                # has run out, a request on it would cross the engine's close (the stand-in drops it)
                time.sleep(ENGINE_KEEPALIVE + 0.5)
                obs["invoke_after_idle"] = request(port, "POST", "/invocations", CHAT, timeout=30)
        obs["received"] = received(cid)
        t = time.time()
        sh("docker", "stop", cid, timeout=60)
        obs["stop_secs"] = time.time() - t
        obs["stop_state"] = state(cid)
        obs["main_logs"] = _own_logs(cid)
    finally:
        remove(cid)

    # B: token from a Secrets Manager stand-in on the host (loopback, --network host); then the
    #    engine dies and the container must notice.
    with HOST_NET_LOCK:
        s = socket.socket()
        # SO_REUSEADDR like the servers themselves: the previous host-network run's connections may
        # still be in TIME_WAIT on 8080, which does not stop a server from listening there
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 8080))
            busy = False
        except OSError:
            busy = True
        finally:
            s.close()
        if busy:
            obs["sm_skip"] = "host port 8080 is busy; --network host run not possible"
        else:
            with SecretsManagerStandIn({SECRET_ID: TOKEN_SM}) as sm:
                cid = run_detached(tag, "serve", network="host", env={
                    "HF_TOKEN_SECRET_ID": SECRET_ID,
                    "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{sm.port}",
                    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                    "STANDIN_LOAD_DELAY": "1", "STANDIN_DIE_AFTER": "2"})
                try:
                    seen, t_ready = wait_ready(8080, timeout=60, cid=cid)
                    obs["sm_ready"] = t_ready
                    obs["sm_received"] = received(cid)
                    obs["sm_requests"] = list(sm.requests)
                    obs["sm_inspect"] = sh("docker", "inspect", cid).stdout
                    death, bad = None, 0
                    end = time.time() + 30
                    while time.time() < end and t_ready is not None:
                        st = state(cid)
                        if not st.get("Running"):
                            death = {"exited": True, "exit": st.get("ExitCode")}
                            break
                        code, _, _ = request(8080, "GET", "/ping", timeout=2)
                        bad = bad + 1 if code != 200 else 0
                        if bad >= 3:
                            death = {"exited": False, "ping": code}
                            break
                        time.sleep(0.3)
                    obs["death"] = death
                    obs["sm_logs"] = _own_logs(cid)
                finally:
                    remove(cid)

    # where the tokens must not be
    needles = [TOKEN_ENV.encode(), TOKEN_SM.encode()]
    obs["token_in_save"] = grep_stream(["docker", "save", tag], needles)
    obs["token_in_history"] = {n for n in needles
                               if n.decode() in sh("docker", "history", "--no-trunc", tag).stdout}
    obs["token_in_inspect"] = {n for n in needles if n.decode() in sh("docker", "inspect", tag).stdout}
    files = []
    for p in proj.rglob("*"):
        if p.is_file() and p.name != ".env" and ".git" not in p.parts:
            data = p.read_bytes()
            files += [f"{p.relative_to(proj)}" for n in needles if n in data]
    obs["token_in_files"] = files
    return obs


@pytest.fixture(scope="session")
def observations(projects, docker_ready):
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as ex:
        futs = {s: ex.submit(_flow, s, projects[s]) for s in SERVERS}
        out = {}
        for s, f in futs.items():
            try:
                out[s] = f.result()
            except Exception as e:  # noqa: BLE001
                import traceback
                out[s] = {"error": "".join(traceback.format_exception(e))}
    for s in SERVERS:
        sh("docker", "rmi", "-f", _image_tag(s), timeout=120)
    print(f"\ncontainer flows took {time.time() - t0:.1f}s")
    return out


def _obs(observations, server, *keys):
    o = observations[server]
    assert "error" not in o, o.get("error")
    assert o["build"]["rc"] == 0, "docker build failed:\n" + o["build"]["out"]
    for k in keys:
        assert k in o, f"no '{k}' observation (earlier step failed?); ping: {(o.get('ping_seen') or [])[-5:]}\n" \
                       + o.get("main_logs", "")
    return o


# ---------------------------------------------------------------- static checks
@pytest.mark.parametrize("server", SERVERS)
def test_docker_build(observations, server):
    _obs(observations, server)


@pytest.mark.parametrize("server", [c for c in SERVERS if name(c) not in ("lmi", "djl")])
def test_docker_build_stops_on_a_flag_the_engine_lacks(observations, server):
    """code/serve --check-flags runs in the Dockerfile against the engine's --help (the stand-ins
    answer --help like the real ones, from the version's flag table)."""
    o = _obs(observations, server, "bad_flag_build")
    r = o["bad_flag_build"]
    assert r["rc"] != 0, "docker build passed with a flag the engine lacks"
    assert "does not accept --no-such-flag-xyz" in r["out"], r["out"]
    # and the real project's build ran the same check and passed it
    assert any(" accepts --" in line for line in o["build"]["check_flags"]), o["build"]["check_flags"]


@pytest.mark.parametrize("server", SERVERS)
def test_hadolint(projects, server):
    r = sh(tool("hadolint"), "Dockerfile", cwd=projects[server])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("server", SERVERS)
def test_shellcheck(projects, server):
    sc = tool("shellcheck")
    proj = projects[server]
    scripts = []
    for p in sorted(proj.rglob("*")):
        if not p.is_file() or ".git" in p.parts:
            continue
        head = p.read_bytes()[:64]
        if p.suffix in (".sh", ".bash") or (head.startswith(b"#!") and (b"bash" in head or b"/sh" in head)):
            scripts.append(p)
    assert proj / "code" / "serve" in scripts
    bad = []
    for p in scripts:
        r = sh(sc, "-x", p.name, cwd=p.parent)
        if r.returncode != 0:
            bad.append(f"{p.relative_to(proj)}:\n{r.stdout}{r.stderr}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("server", SERVERS)
def test_nginx_config_only_where_a_proxy_is_used(projects, server):
    assert (projects[server] / "code" / "nginx.conf").exists() is (server in PROXIED)


@pytest.mark.parametrize("server", PROXIED)
def test_nginx_config(projects, observations, server, tmp_path):
    confs = [p for p in projects[server].rglob("*.conf") if b"http" in p.read_bytes() and b"server" in p.read_bytes()]
    assert confs, f"{server} needs code/nginx.conf"
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for conf in confs:
        work = tmp_path / conf.stem
        work.mkdir()
        shutil.copy(conf, work / "nginx.conf")
        if pathlib.Path("/etc/nginx/mime.types").exists():
            shutil.copy("/etc/nginx/mime.types", work / "mime.types")
        r = sh(nginx, "-t", "-p", work, "-c", work / "nginx.conf")
        assert r.returncode == 0, f"nginx -t on {conf.name}:\n{r.stderr}"
    # and inside the built image, with the image's own nginx
    o = _obs(observations, server, "nginx_in_image")
    assert o["nginx_in_image"]["rc"] == 0, o["nginx_in_image"]["out"]


# ---------------------------------------------------------------- runtime checks
@pytest.mark.parametrize("server", SERVERS)
def test_ping_not_ready_while_loading_then_ready(observations, server):
    o = _obs(observations, server, "ping_seen")
    assert o["t_ready"] is not None, f"/ping never answered 200: {o['ping_seen'][-5:]}\n{o.get('main_logs', '')}"
    early = [st for t, st in o["ping_seen"] if st != 200]
    assert early, "/ping never failed: it answered 200 before the engine had loaded"
    assert o["t_ready"] >= LOAD_DELAY, f"/ping was 200 after {o['t_ready']:.1f}s, before loading ended ({LOAD_DELAY}s)"
    assert o["t_ready"] <= LOAD_DELAY + 30


@pytest.mark.parametrize("server", [c for c in SERVERS if name(c) == "sglang"])
def test_sglang_ping_waits_for_warmup(observations, server):
    """SGLang's /ping must not be 200 before warm-up has passed: up to 0.5.19 its own /ping is 200
    as soon as HTTP is up (servers.md section 4), so nginx gates it on /health; from 0.5.20 the
    engine's /ping itself is 503 until start-up completes and the engine listens on 8080."""
    o = _obs(observations, server, "ping_seen")
    assert o["t_ready"] is not None
    assert o["t_ready"] >= LOAD_DELAY + WARMUP_DELAY - 0.3, (
        f"/ping was 200 after {o['t_ready']:.1f}s, but the engine's /health is 503 until "
        f"{LOAD_DELAY + WARMUP_DELAY:.1f}s (warmup)")


@pytest.mark.parametrize("server", PROXIED)
def test_invocations_after_the_engine_keepalive_ran_out(observations, server):
    """nginx must not send a request on an engine connection idle past uvicorn's keep-alive: the
    engine closes it then, and a POST that crosses the close is a 502 that nginx does not retry."""
    o = _obs(observations, server, "invoke_after_idle")
    status, _, body = o["invoke_after_idle"]
    assert status == 200, f"{status}: {body[:300]!r}\n--- container log ---\n{o.get('main_logs', '')}"
    assert "dropped unanswered" not in o["main_logs"]
    assert json.loads(body)["choices"][0]["message"]["content"]


@pytest.mark.parametrize("server", SERVERS)
def test_invocations_chat_completion(observations, server):
    o = _obs(observations, server, "invoke")
    status, headers, body = o["invoke"]
    # on failure, the container's log too: nginx writes why it answered 502 there (error_log stderr)
    assert status == 200, f"{status}: {body[:500]!r}\n--- container log ---\n{o.get('main_logs', '')}"
    doc = json.loads(body)
    if name(server) == "djl":   # HF Accelerate: [{"generated_text": prompt + completion}]
        assert doc[0]["generated_text"].startswith(REQUEST["djl"]["inputs"])
        assert len(doc[0]["generated_text"]) > len(REQUEST["djl"]["inputs"])
        return
    assert doc["object"] == "chat.completion"
    assert doc["choices"][0]["message"]["role"] == "assistant"
    assert doc["choices"][0]["message"]["content"]


@pytest.mark.parametrize("server", [c for c in SERVERS if name(c) == "djl"])
def test_djl_refuses_chat_bodies(observations, projects, server):
    """What the DJL project says is what DJL does: chat bodies fail there, so the project's test
    script, stream client and README use {"inputs", "parameters"}."""
    o = _obs(observations, server, "invoke_chat")
    assert o["invoke_chat"][0] >= 400
    proj = projects[server]
    # python -m deploy test's DJL body (tested in-process in tests/deploy/test_invoke.py)
    assert '{"inputs": prompt, "parameters"' in (proj / "deploy" / "invoke_cmd.py").read_text()
    readme = (proj / "README.md").read_text()
    assert '"inputs": "Hello!"' in readme and "text generation, not chat" in readme


@pytest.mark.parametrize("server", [c for c in SERVERS if name(c) != "djl"])
def test_invocations_streams_incrementally(observations, server):
    o = _obs(observations, server, "stream")
    status, ctype, lines = o["stream"]
    assert status == 200, f"{lines[:3]}\n--- container log ---\n{o.get('main_logs', '')}"
    texts = [line for _, line in lines]
    if name(server) in SSE_SERVERS:
        assert ctype.startswith("text/event-stream"), ctype
        assert texts[-1] == "data: [DONE]", texts[-3:]
        chunks = [(t, json.loads(line[len("data: "):])) for t, line in lines
                  if line.startswith("data: {")]
    else:  # LMI / DJL: JSON lines of chat.completion.chunk objects
        assert ctype.startswith("application/jsonlines"), ctype
        chunks = [(t, json.loads(line)) for t, line in lines]
    assert chunks and all(c["object"] == "chat.completion.chunk" for _, c in chunks)
    with_text = [t for t, c in chunks if c["choices"][0]["delta"].get("content")]
    assert len(with_text) == N_TOKENS
    # tokens come TOKEN_DELAY apart; a buffering proxy would deliver them all at the end
    assert with_text[0] < with_text[-1] - (N_TOKENS - 2) * TOKEN_DELAY, \
        f"first token at {with_text[0]:.2f}s, last at {with_text[-1]:.2f}s: the stream is buffered"


def _expected_args(case, proj):
    server = name(case)
    entry = CATALOG[server]["versions"][version(case)]
    lock = json.loads((proj / "model.lock.json").read_text())
    sha = lock["model"].get("sha")
    tp = lock["deployment"].get("tensor_parallel_size")
    mlen = lock["deployment"].get("max_model_len")
    has_ct = (proj / "code" / "chat_template.jinja").exists()
    tp = str(tp) if tp else ANY
    if server == "vllm":
        exp = {"--model": MODEL, "--served-model-name": ANY, "--host": "0.0.0.0", "--port": "8080",
               "--tensor-parallel-size": tp}
        names = ("--revision", "--max-model-len", "--chat-template")
    elif server == "sglang":
        host, port = ("127.0.0.1", "8081") if entry["proxy"] else ("0.0.0.0", "8080")
        exp = {"--model-path": MODEL, "--served-model-name": ANY, "--host": host, "--port": port,
               "--tensor-parallel-size": tp}
        # the plan's static-memory share, where the version gets one (code/serve's MEM_FRACTION_STATIC)
        fraction = re.search(r"^MEM_FRACTION_STATIC='([0-9.]*)'", (proj / "code" / "serve").read_text(), re.M)
        if fraction and fraction[1]:
            exp["--mem-fraction-static"] = fraction[1]
        names = ("--revision", "--context-length", "--chat-template")
    else:
        exp = {"MODEL": MODEL, "--backend": "pytorch", "--host": "127.0.0.1", "--port": "8081", "--tp_size": tp}
        names = ("--revision", "--max_seq_len", "--chat_template")
    if sha:
        exp[names[0]] = sha
    if mlen:
        exp[names[1]] = str(mlen)
    if has_ct:
        exp[names[2]] = ANY
    exp.update(ENGINE_ARGS[server][1])
    return exp


def _expected_properties(case, proj):
    """LMI/DJL get their configuration from the environment (HF_MODEL_ID, OPTION_*,
    TENSOR_PARALLEL_DEGREE): what the engine must end up with, from the lock and the catalog."""
    entry = CATALOG[name(case)]["versions"][version(case)]
    lock = json.loads((proj / "model.lock.json").read_text())
    dep = lock["deployment"]
    exp = {"option.model_id": MODEL, "option.revision": lock["model"]["sha"],
           "option.tensor_parallel_degree": str(dep["tensor_parallel_size"]),
           "option.model_loading_timeout": str(dep["container_startup_health_check_timeout_s"])}
    exp.update({f"option.{k}": str(v) for k, v in entry.get("options", {}).items()})
    if name(case) == "lmi" and dep.get("max_model_len"):
        exp["option.max_model_len"] = str(dep["max_model_len"])
    if entry.get("served_model_name_option"):
        exp["option." + entry["served_model_name_option"]] = MODEL
    exp.update(ENGINE_ARGS[name(case)][1])
    return exp


@pytest.mark.parametrize("server", SERVERS)
def test_engine_received_intended_flags(observations, projects, server):
    o = _obs(observations, server, "received")
    rec = o["received"]
    assert rec, "the engine never started (no STANDIN-RECEIVED line)\n" + o.get("main_logs", "")
    proj = projects[server]
    if name(server) in ("lmi", "djl"):
        assert rec["serving_properties"] is None, "the serve script wrote serving.properties"
        exp = _expected_properties(server, proj)
        got = {k: v for k, v in rec["effective_properties"].items() if k != "option.chat_template"}
        assert got == exp, f"engine configuration differs:\n got {got}\n want {exp}"
        return
    got = parse_argv(name(server), rec["argv"])
    exp = _expected_args(server, proj)
    missing = sorted(set(exp) - set(got))
    unexpected = sorted(set(got) - set(exp))
    wrong = sorted(k for k in exp if k in got and exp[k] is not ANY and str(got[k]) != str(exp[k])
                   and not (exp[k] is True and got[k] is True))
    assert not (missing or unexpected or wrong), (
        f"engine argv {rec['argv']}\n missing: {missing}\n unexpected: {unexpected}\n "
        f"wrong: {[(k, got[k], exp[k]) for k in wrong]}")


@pytest.mark.parametrize("server", SERVERS)
def test_engine_received_chat_template(observations, projects, server):
    o = _obs(observations, server, "received")
    rec = o["received"]
    assert rec
    f = projects[server] / "code" / "chat_template.jinja"
    if not f.exists():
        assert rec["chat_template"] is None, "no chat_template.jinja generated, yet the engine got one"
        return
    want = f.read_text(encoding="utf-8")
    if name(server) == "djl":
        # DJL's HF Accelerate handler applies the tokenizer's own template (the same bytes,
        # fetched at the pinned sha); option.chat_template is vLLM-only, so none is passed.
        assert rec["chat_template"] is None
        return
    assert rec["chat_template"] is not None, (
        f"code/chat_template.jinja exists but {server} received no chat template; "
        f"argv={rec.get('argv')}")
    assert rec["chat_template"] == want, (
        f"chat template bytes differ ({rec.get('chat_template_source')}): "
        f"got {len(rec['chat_template'])} chars, want {len(want)}")


@pytest.mark.parametrize("server", SERVERS)
def test_docker_stop_is_prompt(observations, server):
    o = _obs(observations, server, "stop_secs")
    assert o["stop_secs"] < 10, f"docker stop took {o['stop_secs']:.1f}s (SIGTERM not handled?)"
    assert o["stop_state"].get("ExitCode") != 137, "container was SIGKILLed"


@pytest.mark.parametrize("server", SERVERS)
def test_engine_death_is_visible(observations, server):
    o = _obs(observations, server)
    if "sm_skip" in o:
        pytest.skip(o["sm_skip"])
    assert o.get("sm_ready") is not None, "container did not become ready\n" + o.get("sm_logs", "")
    d = o.get("death")
    assert d, "engine died but /ping kept answering 200 and the container kept running\n" + o.get("sm_logs", "")
    if d["exited"]:
        assert d["exit"] != 0, "the engine died and the container exited 0\n" + o.get("sm_logs", "")


@pytest.mark.parametrize("server", SERVERS)
def test_token_from_env_file_reaches_engine(observations, server):
    o = _obs(observations, server, "received")
    assert o["received"]["env"].get("HF_TOKEN") == TOKEN_ENV


@pytest.mark.parametrize("server", SERVERS)
def test_token_from_secrets_manager_reaches_engine(observations, server):
    o = _obs(observations, server)
    if "sm_skip" in o:
        pytest.skip(o["sm_skip"])
    reqs = o.get("sm_requests") or []
    assert any(r["target"] == "secretsmanager.GetSecretValue" and r["body"].get("SecretId") == SECRET_ID
               for r in reqs), f"no GetSecretValue call for {SECRET_ID}: {reqs}\n{o.get('sm_logs', '')}"
    rec = o.get("sm_received")
    assert rec, "engine did not start\n" + o.get("sm_logs", "")
    assert rec["env"].get("HF_TOKEN") == TOKEN_SM
    assert TOKEN_SM not in o["sm_inspect"], "token visible in docker inspect of the container"
    assert TOKEN_SM not in o.get("sm_logs", ""), "token printed in the container log"


@pytest.mark.parametrize("server", SERVERS)
def test_tokens_not_in_image_or_files(observations, server):
    o = _obs(observations, server, "token_in_save")
    assert not o["token_in_save"], "a token is in an image layer (docker save)"
    assert not o["token_in_history"], "a token is in docker history"
    assert not o["token_in_inspect"], "a token is in docker inspect of the image"
    assert not o["token_in_files"], f"a token is in generated files: {o['token_in_files']}"


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("case", ["bad_name", "bad_value"])
def test_bad_engine_arg_fails_clearly(observations, server, case):
    o = _obs(observations, server, case)
    r = o[case]
    assert not r["running"], f"container still running 30s after start with a bad setting:\n{r['logs']}"
    assert r["exit"] != 0, r["logs"]
    var = "ENGINE_ARG_NO_SUCH_SETTING_XYZ" if case == "bad_name" else BAD_VALUE[name(server)]
    assert var in r["logs"], f"the error does not name {var}:\n{r['logs']}"
    assert "Traceback" not in r["logs"], r["logs"]


def test_untagged_test_images_are_removed_and_no_others(docker_ready, tmp_path):
    """An image whose tag a rebuild moved on is removed at the end of a run when the tests built it
    (their label, or a parent's), and kept when not; tagged images stay."""
    def image_id(ref):
        return sh("docker", "image", "inspect", "-f", "{{.Id}}", ref, check=True).stdout.strip()

    def build(tag, content, labelled):
        ctx = tmp_path / f"{tag.replace(':', '-')}-{content}"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo {content} > /built\n")
        if labelled:
            build_image(tag, ctx, "-q", check=True)
        else:
            sh("docker", "build", "-q", "-t", tag, ctx, check=True)
        return image_id(tag)

    ours, theirs = f"prune-test-ours:{uuid.uuid4().hex[:8]}", f"prune-test-theirs:{uuid.uuid4().hex[:8]}"
    try:
        ours_old = build(ours, "one", True)
        ours_new = build(ours, "two", True)
        theirs_old = build(theirs, "three", False)   # other contents: no layer shared with ours
        theirs_new = build(theirs, "four", False)
        assert len({ours_old, ours_new, theirs_old, theirs_new}) == 4
        assert sh("docker", "image", "inspect", "-f", "{{index .Config.Labels \"%s\"}}" % TEST_LABEL,
                  ours_old, check=True).stdout.strip() == "1"
        removed = prune_test_images()
        assert ours_old.split(":", 1)[1] in removed
        assert not image_exists(ours_old)                                        # gone
        for kept in (ours_new, theirs_old, theirs_new):                         # tagged, or not ours
            assert image_exists(kept), kept
    finally:
        sh("docker", "rmi", "-f", ours, theirs, timeout=120)
        sh("docker", "rmi", "-f", theirs_old, timeout=120)
