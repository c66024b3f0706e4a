#!/usr/bin/env python3
"""Benchmarks of the template on this machine: generation, update, render, proxy, image size.

    python benchmarks/run.py            # full run (5 runs per measurement)
    python benchmarks/run.py --quick    # short run (2 runs, fewer proxy requests)

Everything runs on loopback: the hub is tests/hubsim.py's HubServer on 127.0.0.1 with a
per-request latency knob, the engines are the stand-ins of tests/standins/ under Docker.
(Building the SGLang and TensorRT-LLM project images runs their Dockerfile's
`apt-get install nginx`, which reads Debian's package host, as the container tests do;
the layer is cached by Docker after the first build.)

Measured, as medians of several runs, in one process run:
  generation  `python -m copier copy` of this template (git+file://, newest tag) per server,
              cold hub cache, hub latency 0 and 200 ms, against the floor: the same command
              on a trivial template (one file and the answers file). Warm cache: unpinned
              (-d modelName) and pinned (--data-file answers), with the hub calls counted.
  update      `copier update --trust --defaults` of a committed project, warm cache, 1.0.0 -> 2.0.0,
              against the floor of updating the trivial template the same way.
  render      in-process copier.run_copy per server (fresh interpreter each), with a cProfile
              of one server naming the top costs.
  proxy       nginx (8080) in front of the stand-in engine (127.0.0.1:8081) in the built SGLang and
              TensorRT-LLM project images: per-request latency through nginx vs direct, and the
              time to the first streamed byte (measured inside the container with docker exec).
  image size  bytes our layers add on top of each pinned (stand-in) server image.

Results: benchmarks/results/<date>.json (raw) and <date>.md (tables).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hubsim import Hub, HubServer  # noqa: E402

SERVERS = ["vllm", "sglang", "tensorrt-llm", "lmi", "djl"]
PROXIED = ["sglang", "tensorrt-llm"]
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
TEMPLATE_PATHS = ["copier.yml", "template", "hooks", "extensions", "includes"]
LATENCIES = [0.0, 0.2]
TARGET_OVERHEAD_S = 0.25
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
           "GIT_CONFIG_NOSYSTEM": "1"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def r3(x):
    return None if x is None else round(x, 4)


# ---------------------------------------------------------------- hub with a timeline
class TimedHub(Hub):
    """Hub that also records when each request started and ended (for counting round trips)."""

    def __init__(self):
        super().__init__()
        self.timeline: list[tuple[float, float, str]] = []

    def answer(self, method, path, headers):
        t0 = time.perf_counter()
        out = super().answer(method, path, headers)
        with self.lock:
            self.timeline.append((t0, time.perf_counter(), path.split("?", 1)[0]))
        return out

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.timeline.clear()

    def waves(self) -> int:
        """Sequential round trips: a request that starts after every earlier one ended opens a wave."""
        n, end = 0, None
        for t0, t1, _ in sorted(self.timeline):
            if end is None or t0 >= end:
                n += 1
                end = t1
            else:
                end = max(end, t1)
        return n


# ---------------------------------------------------------------- environment
def base_env(hub_url: str, cache: Path, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(GIT_ENV)
    env.update({"HF_ENDPOINT": hub_url, "XDG_CACHE_HOME": str(cache), "HF_HOME": str(home / "hf"),
                "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "0"})
    return env


def git(*args, cwd, env=None):
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, **GIT_ENV, **(env or {})})
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def make_git_template(src_files: dict[str, str] | None, dst: Path, copy_from: Path | None = None) -> Path:
    """A git repo with tags 1.0.0 and 2.0.0 (an empty commit): what `copier update` moves between."""
    dst.mkdir(parents=True)
    if copy_from is not None:
        for name in TEMPLATE_PATHS:
            s = copy_from / name
            if s.is_dir():
                shutil.copytree(s, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(s, dst / name)
    for name, text in (src_files or {}).items():
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).write_text(text)
    git("init", "-q", "-b", "main", cwd=dst)
    git("add", ".", cwd=dst)
    git("commit", "-qm", "1.0.0", cwd=dst)
    git("tag", "1.0.0", cwd=dst)
    git("commit", "-q", "--allow-empty", "-m", "2.0.0", cwd=dst)
    git("tag", "2.0.0", cwd=dst)
    return dst


TRIVIAL = {
    "copier.yml": "_answers_file: .copier-answers.yml\nname:\n  type: str\n  default: world\n",
    "hello.txt.jinja": "Hello {{ name }}\n",
    "{{_copier_conf.answers_file}}.jinja": "{{ _copier_answers | to_nice_yaml -}}\n",
}


def copier_cli(args, env, cwd) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "copier", *args], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=300)
    dt_ = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"copier {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return dt_, r


def machine() -> dict:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import copier
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *TEMPLATE_PATHS], cwd=ROOT,
                           capture_output=True, text=True)
    docker = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True) \
        if shutil.which("docker") else None
    return {"nproc": os.cpu_count(), "memory_gib": mem, "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "copier": copier.__version__,
            "docker": docker.stdout.strip() if docker and docker.returncode == 0 else None,
            "template_commit": head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")}


# ---------------------------------------------------------------- generation and update
def bench_generation(work: Path, hub: TimedHub, url: str, ours: Path, trivial: Path, runs: int) -> dict:
    res = {"floor": [], "ours": {f"{int(l * 1000)}ms": {s: [] for s in SERVERS} for l in LATENCIES},
           "hub_calls": {}, "hub_waves": {}}
    n = 0
    for i in range(runs):
        log(f"generation run {i + 1}/{runs}")
        n += 1
        d = work / f"gen{n}"
        d.mkdir()
        env = base_env(url, d / "cache", d)
        t, _ = copier_cli(["copy", "--trust", "--defaults", f"git+file://{trivial}", str(d / "floor")], env, d)
        res["floor"].append(t)
        for lat in LATENCIES:
            key = f"{int(lat * 1000)}ms"
            hub.latency_s = lat
            for s in SERVERS:
                cache = d / f"cache-{key}-{s}"
                env = base_env(url, cache, d)
                hub.reset()
                t, _ = copier_cli(["copy", "--trust", "--defaults", "-d", f"modelName={MODEL}", "-d",
                                   f"modelServer={s}", f"git+file://{ours}", str(d / f"{key}-{s}")], env, d)
                res["ours"][key][s].append(t)
                res["hub_calls"].setdefault(key, []).append(len(hub.requests))
                res["hub_waves"].setdefault(key, []).append(hub.waves())
    hub.latency_s = 0.0
    return res


def bench_warm(work: Path, hub: TimedHub, url: str, ours: Path, runs: int) -> dict:
    """Warm cache at 200 ms hub latency: unpinned -d modelName, and the pinned answers replayed."""
    d = work / "warm"
    d.mkdir()
    hub.latency_s = 0.2
    out = {"unpinned": {"times": [], "calls": [], "paths": None},
           "pinned_replay": {"times": [], "calls": [], "paths": None}}
    env = base_env(url, d / "cache", d)
    copier_cli(["copy", "--trust", "--defaults", "-d", f"modelName={MODEL}", "-d", "modelServer=vllm",
                f"git+file://{ours}", str(d / "first")], env, d)
    answers = d / "answers.yml"
    answers.write_text((d / "first" / ".copier-answers.yml").read_text())
    for i in range(runs):
        hub.reset()
        t, _ = copier_cli(["copy", "--trust", "--defaults", "-d", f"modelName={MODEL}", "-d", "modelServer=vllm",
                           f"git+file://{ours}", str(d / f"unpinned{i}")], env, d)
        out["unpinned"]["times"].append(t)
        out["unpinned"]["calls"].append(len(hub.requests))
        out["unpinned"]["paths"] = list(hub.requests)
        hub.reset()
        t, _ = copier_cli(["copy", "--trust", "--defaults", "--data-file", str(answers), f"git+file://{ours}",
                           str(d / f"pinned{i}")], env, d)
        out["pinned_replay"]["times"].append(t)
        out["pinned_replay"]["calls"].append(len(hub.requests))
        out["pinned_replay"]["paths"] = list(hub.requests)
    hub.latency_s = 0.0
    return out


def bench_update(work: Path, hub: TimedHub, url: str, ours: Path, trivial: Path, runs: int) -> dict:
    """copier update 1.0.0 -> 2.0.0 of committed projects with a warm cache (hub latency 200 ms)."""
    d = work / "update"
    d.mkdir()
    env = base_env(url, d / "cache", d)
    seeds = {}
    for name, src, extra in [("floor", trivial, [])] + [
            (s, ours, ["-d", f"modelName={MODEL}", "-d", f"modelServer={s}"]) for s in SERVERS]:
        p = d / f"seed-{name}"
        copier_cli(["copy", "--trust", "--defaults", "--vcs-ref", "1.0.0", *extra, f"git+file://{src}", str(p)],
                   env, d)
        git("init", "-q", "-b", "main", cwd=p)
        git("add", ".", cwd=p)
        git("commit", "-qm", "generated", cwd=p)
        seeds[name] = p
    hub.latency_s = 0.2
    out = {"floor": [], "ours": {s: [] for s in SERVERS}, "hub_calls": []}
    for i in range(runs):
        log(f"update run {i + 1}/{runs}")
        for name, seed in seeds.items():
            p = d / f"run{i}-{name}"
            shutil.copytree(seed, p, symlinks=True)
            hub.reset()
            t, _ = copier_cli(["update", "--trust", "--defaults"], env, p)
            if name == "floor":
                out["floor"].append(t)
            else:
                out["ours"][name].append(t)
                out["hub_calls"].append(len(hub.requests))
            ans = (p / ".copier-answers.yml").read_text()
            assert "_commit: 2.0.0" in ans, ans
    hub.latency_s = 0.0
    return out


# ---------------------------------------------------------------- in-process render
def _child_inproc(arg: str) -> None:
    """Runs in a fresh interpreter: time `import copier` and two run_copy calls (cold caches)."""
    spec = json.loads(arg)
    t = time.perf_counter()
    import copier
    t_import = time.perf_counter() - t
    times = []
    prof = cProfile.Profile() if spec.get("profile") else None
    for i in range(2):
        os.environ["XDG_CACHE_HOME"] = f"{spec['cache']}-{i}"
        dst = f"{spec['dst']}-{i}"
        t = time.perf_counter()
        if prof and i == 0:
            prof.enable()
        copier.run_copy(spec["src"], dst, data=spec["data"], defaults=True, unsafe=True, quiet=True)
        if prof and i == 0:
            prof.disable()
        times.append(time.perf_counter() - t)
    if prof:
        prof.dump_stats(spec["profile"])
    print(json.dumps({"import_s": t_import, "first_s": times[0], "second_s": times[1]}))


def bench_render(work: Path, url: str, plain: Path, trivial_plain: Path, runs: int) -> dict:
    d = work / "render"
    d.mkdir()
    out = {"python_startup": [], "copier_version_cli": [], "floor": [], "ours": {s: [] for s in SERVERS}}
    env = base_env(url, d / "cache", d)
    for i in range(runs):
        log(f"render run {i + 1}/{runs}")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        out["python_startup"].append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "copier", "--version"], env=env, check=True, capture_output=True)
        out["copier_version_cli"].append(time.perf_counter() - t)
        r = subprocess.run([sys.executable, "-c", "import time, copier; t = time.perf_counter(); import requests; "
                            "print(time.perf_counter() - t)"], env=env, capture_output=True, text=True, check=True)
        out.setdefault("import_requests_after_copier", []).append(float(r.stdout))
        for name, src, data in [("floor", trivial_plain, {})] + [
                (s, plain, {"modelName": MODEL, "modelServer": s}) for s in SERVERS]:
            spec = {"src": str(src), "dst": str(d / f"{name}-{i}"), "cache": str(d / f"cache-{name}-{i}"),
                    "data": data}
            r = subprocess.run([sys.executable, __file__, "--_inproc", json.dumps(spec)], env=env,
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise RuntimeError(r.stderr[-3000:])
            rec = json.loads(r.stdout.strip().splitlines()[-1])
            (out["floor"] if name == "floor" else out["ours"][name]).append(rec)
    return out


def profile_render(work: Path, url: str, plain: Path, server: str = "vllm") -> dict:
    d = work / "profile"
    d.mkdir()
    env = base_env(url, d / "cache", d)
    stats_file = d / "render.prof"
    spec = {"src": str(plain), "dst": str(d / "out"), "cache": str(d / "cache"),
            "data": {"modelName": MODEL, "modelServer": server}, "profile": str(stats_file)}
    r = subprocess.run([sys.executable, __file__, "--_inproc", json.dumps(spec)], env=env,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    st = pstats.Stats(str(stats_file))
    total = max(v[3] for v in st.stats.values())

    def name(k):
        f, line, fn = k
        f = f.replace(str(plain), "<template>")
        for marker in ("site-packages/", "lib/python3"):
            if marker in f:
                f = f.split(marker, 1)[1]
        return f"{f}:{line}({fn})"

    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][3])
    top_cum = [{"fn": name(k), "calls": v[1], "cum_s": r3(v[3]), "self_s": r3(v[2])} for k, v in rows[:40]]
    top_self = [{"fn": name(k), "calls": v[1], "self_s": r3(v[2]), "cum_s": r3(v[3])}
                for k, v in sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:15]]

    def bucket(pred):
        vals = [v[3] for k, v in st.stats.items() if pred(k)]
        return r3(max(vals)) if vals else 0.0

    buckets = {
        "run_copy total": r3(total),
        "hub: hooks.project.build_context (incl. hub calls)": bucket(lambda k: k[2] == "build_context"),
        "hub: HubClient.snapshot (HTTP)": bucket(lambda k: k[2] == "snapshot" and "hooks" in k[0]),
        "hooks import (_hooks)": bucket(lambda k: k[2] == "_hooks" and "extensions" in k[0]),
        "Jinja extension load (copier_template_extensions)": bucket(
            lambda k: "copier_template_extensions" in k[0] and k[2] in ("load", "__init__", "_load_module")),
        "Jinja compile (Environment.compile)": bucket(lambda k: k[2] == "compile" and "jinja2/environment" in k[0]),
        "Jinja parse (Environment._parse)": bucket(lambda k: k[2] == "_parse" and "jinja2/environment" in k[0]),
        "copier: questions/answers (_ask)": bucket(lambda k: k[2] == "_ask" and "copier" in k[0]),
        "copier: render files (_render_folder/_render_template)": bucket(
            lambda k: k[2] in ("_render_template",) and "copier" in k[0]),
        "subprocess (git)": bucket(lambda k: k[2] == "communicate" and "subprocess" in k[0]),
        "yaml load (copier.yml)": bucket(lambda k: k[2] in ("load", "safe_load") and "yaml/__init__" in k[0]),
        "pydantic/settings": bucket(lambda k: "pydantic" in k[0] and k[2] == "__init__"),
    }
    return {"server": server, "total_s": r3(total), "buckets": buckets, "top_cumulative": top_cum,
            "top_self": top_self}


# ---------------------------------------------------------------- docker: proxy and image sizes
CLIENT = r'''
import http.client, json, socket, sys, time
spec = json.loads(sys.argv[1])
body = json.dumps({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": spec["max_tokens"]}).encode()
H = {"Content-Type": "application/json"}
conns = {}
def once(port, path, keep):
    if keep:
        c = conns.get(port)
        if c is None:
            c = conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    c.request("POST", path, body=body, headers=H)
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    if not keep:
        c.close()
    assert r.status == 200, (port, path, r.status, data[:200])
    return dt
def stream(port, path):
    sb = json.dumps({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": spec["max_tokens"],
                     "stream": True}).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t = time.perf_counter()
    c.request("POST", path, body=sb, headers=H)
    r = c.getresponse()
    t_head = time.perf_counter() - t
    first = first_tok = None
    n = 0
    while True:
        line = r.readline()
        if not line:
            break
        if line.startswith(b"data:"):
            now = time.perf_counter() - t
            n += 1
            if first is None:
                first = now
            elif first_tok is None:
                first_tok = now
    total = time.perf_counter() - t
    c.close()
    return {"headers": t_head, "first_byte": first, "first_token": first_tok, "total": total, "events": n}
TARGETS = [("direct", 8081, "/v1/chat/completions"), ("nginx", 8080, "/v1/chat/completions"),
           ("nginx_invocations", 8080, "/invocations"),
           ("nodelay_direct", 8082, "/v1/chat/completions"), ("nodelay_nginx", 8090, "/v1/chat/completions"),
           ("nodelay_nginx_invocations", 8090, "/invocations")]
out = {}
if spec["mode"] == "latency":
    targets = [(n, p, path) for n, p, path in TARGETS if spec["nodelay"] or p in (8080, 8081)]
    for keep in (False, True):
        for name, port, path in targets:
            for _ in range(spec["warmup"]):
                once(port, path, keep)
        res = {name: [] for name, _, _ in targets}
        for i in range(spec["n"]):
            for name, port, path in (targets if i % 2 == 0 else targets[::-1]):
                res[name].append(once(port, path, keep))
        out["keepalive" if keep else "new_connection"] = res
else:
    targets = [(n, p, path) for n, p, path in TARGETS if spec["nodelay"] or p in (8080, 8081)]
    res = {name: [] for name, _, _ in targets}
    for i in range(spec["n"]):
        for name, port, path in targets:
            res[name].append(stream(port, path))
    out = res
print(json.dumps(out))
'''


def _docker_ok() -> tuple[bool, str]:
    from container_helpers import docker_available
    return docker_available()


def generate_offline(work: Path, server: str) -> Path:
    import copier
    dst = work / "images" / server
    env_before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(work / "images" / "cache")
    try:
        copier.run_copy(str(work / "plain"), str(dst), data={"modelName": MODEL, "modelServer": server,
                                                             "offline": True},
                        defaults=True, unsafe=True, quiet=True)
    finally:
        if env_before is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = env_before
    return dst


def bench_images(work: Path) -> dict:
    from container_helpers import IMAGES, build_standin, ensure_base_image, image_exists, sh
    out = {}
    ensure_base_image(work / "base")
    for s in SERVERS:
        if not image_exists(IMAGES[s]):
            log(f"building stand-in {IMAGES[s]}")
            build_standin(s)
        proj = generate_offline(work, s)
        tag = f"bench-project-{s}:latest"
        log(f"docker build {tag}")
        t = time.perf_counter()
        r = sh("docker", "build", "-t", tag, proj, timeout=1800)
        secs = time.perf_counter() - t
        if r.returncode != 0:
            out[s] = {"error": (r.stdout + r.stderr)[-2000:]}
            continue
        base = json.loads(sh("docker", "image", "inspect", IMAGES[s], check=True).stdout)[0]
        mine = json.loads(sh("docker", "image", "inspect", tag, check=True).stdout)[0]
        nbase = len(base["RootFS"]["Layers"])
        hist = sh("docker", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", tag,
                  check=True).stdout.splitlines()
        n_ours = len(hist) - len(sh("docker", "history", "-q", IMAGES[s], check=True).stdout.splitlines())
        layers = []
        for line in hist[:n_ours]:
            size, _, cmd = line.partition("\t")
            cmd = cmd.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
            if size not in ("0B", "0"):
                layers.append({"size": size, "cmd": cmd[:110]})
        du = {}
        for ref in (IMAGES[s], tag):
            r2 = sh("docker", "run", "--rm", "--entrypoint", "sh", ref, "-c",
                    "du -sb /var/cache/apt /var/lib/apt/lists /usr/share/doc 2>/dev/null")
            du[ref] = {line.split()[1]: int(line.split()[0]) for line in r2.stdout.splitlines() if line.strip()}
        apt_added = {k: du[tag].get(k, 0) - du[IMAGES[s]].get(k, 0) for k in du[tag]}
        out[s] = {"apt_dirs_added_bytes": apt_added, "image": tag, "base": IMAGES[s], "base_bytes": base["Size"], "image_bytes": mine["Size"],
                  "added_bytes": mine["Size"] - base["Size"],
                  "added_fs_layers": len(mine["RootFS"]["Layers"]) - nbase,
                  "nonempty_layers": layers, "build_s": r3(secs)}
    return out


# A second copy of the engine on 127.0.0.1:8082 with TCP_NODELAY on its sockets (as uvicorn, which
# vLLM, SGLang and trtllm-serve use, sets it), and a second nginx from the project's own nginx.conf
# on 8090 in front of it. The stand-in engine (Python http.server) writes the response headers and
# body in two send() calls without TCP_NODELAY; behind a keep-alive connection Nagle's algorithm then
# holds the body until the peer's delayed ACK (40 ms), which is the stand-in's cost, not nginx's.
NODELAY_ENGINE = {
    "sglang": ("cd /sgl-workspace/sglang && exec python3 -c 'import socketserver, sys, runpy; "
               "socketserver.StreamRequestHandler.disable_nagle_algorithm = True; "
               "sys.argv = [\"launch_server\", \"--model-path\", \"MODEL\", \"--host\", \"127.0.0.1\", "
               "\"--port\", \"8082\"]; runpy.run_module(\"sglang.launch_server\", run_name=\"__main__\")'"),
    "tensorrt-llm": ("cd /app/tensorrt_llm && exec python3 -c 'import socketserver, sys, runpy; "
                     "socketserver.StreamRequestHandler.disable_nagle_algorithm = True; "
                     "sys.argv = [\"trtllm-serve\", \"MODEL\", \"--host\", \"127.0.0.1\", \"--port\", \"8082\", "
                     "\"--backend\", \"pytorch\"]; runpy.run_path(\"/usr/local/bin/trtllm-serve\", "
                     "run_name=\"__main__\")'"),
}
SECOND_NGINX = ("sed -e 's/127.0.0.1:8081/127.0.0.1:8082/' -e 's/listen 8080/listen 8090/' "
                "-e 's#/tmp/nginx.pid#/tmp/nginx-bench.pid#' /opt/program/nginx.conf > /tmp/nginx-bench.conf "
                "&& nginx -c /tmp/nginx-bench.conf")


def bench_proxy(work: Path, images: dict, n: int, streams: int) -> dict:
    from container_helpers import remove, run_detached, sh, wait_ready, host_port, state
    out = {}
    for s in PROXIED:
        if s not in images or "error" in images[s]:
            out[s] = {"skipped": "image not built"}
            continue
        tag = images[s]["image"]
        res = {}
        for mode, delay, count in (("latency", "0", n), ("stream", "0.1", streams)):
            log(f"proxy {s}: {mode}")
            cid = run_detached(tag, "serve", env={"STANDIN_LOAD_DELAY": "0", "STANDIN_TOKEN_DELAY": delay,
                                                  "STANDIN_WARMUP_DELAY": "0"})
            try:
                _, ready = wait_ready(host_port(cid), timeout=60, cid=cid)
                if ready is None:
                    res[mode] = {"error": "not ready", "state": state(cid)}
                    continue
                sh("docker", "exec", "-d", cid, "sh", "-c",
                   NODELAY_ENGINE[s].replace("MODEL", MODEL) + " > /tmp/engine-nodelay.log 2>&1")
                r = sh("docker", "exec", cid, "sh", "-c", SECOND_NGINX)
                nodelay = r.returncode == 0
                if not nodelay:
                    res["nodelay_error"] = r.stderr[-1000:]
                for _ in range(50):
                    if sh("docker", "exec", cid, "curl", "-fsS", "-o", "/dev/null",
                          "http://127.0.0.1:8082/v1/models").returncode == 0:
                        break
                    time.sleep(0.2)
                spec = {"mode": mode, "n": count, "warmup": 20, "max_tokens": 8, "nodelay": nodelay}
                r = sh("docker", "exec", cid, "python3", "-c", CLIENT, json.dumps(spec), timeout=900)
                if r.returncode != 0:
                    res[mode] = {"error": r.stderr[-2000:]}
                    continue
                res[mode] = json.loads(r.stdout.strip().splitlines()[-1])
            finally:
                remove(cid)
        out[s] = summarize_proxy(res)
    return out


PAIRS = [("engine as is (stand-in, no TCP_NODELAY)", "direct", "nginx", "nginx_invocations"),
         ("engine with TCP_NODELAY (like uvicorn)", "nodelay_direct", "nodelay_nginx", "nodelay_nginx_invocations")]


def summarize_proxy(res: dict) -> dict:
    out = {"raw": res, "latency": {}, "stream_ms": {}}
    lat = res.get("latency", {})
    if isinstance(lat, dict) and "error" not in lat:
        for conn, d in lat.items():
            for label, direct_k, via_k, inv_k in PAIRS:
                if direct_k not in d:
                    continue
                direct = d[direct_k]
                row = {"engine": label, "connection": conn, "n": len(direct),
                       "direct_p50_ms": r3(pct(direct, 50) * 1e3), "direct_p99_ms": r3(pct(direct, 99) * 1e3)}
                for via, key in (("nginx", via_k), ("invocations", inv_k)):
                    xs = d[key]
                    row[f"{via}_p50_ms"] = r3(pct(xs, 50) * 1e3)
                    row[f"{via}_p99_ms"] = r3(pct(xs, 99) * 1e3)
                    row[f"{via}_added_p50_ms"] = r3((pct(xs, 50) - pct(direct, 50)) * 1e3)
                    row[f"{via}_added_p99_ms"] = r3((pct(xs, 99) - pct(direct, 99)) * 1e3)
                out["latency"][f"{direct_k}/{conn}"] = row
    st = res.get("stream", {})
    if isinstance(st, dict) and "error" not in st:
        for via, xs in st.items():
            row = {k: r3(median([x[k] for x in xs]) * 1e3) for k in ("headers", "first_byte", "first_token", "total")}
            row["events"] = xs[0]["events"] if xs else None
            row["n"] = len(xs)
            out["stream_ms"][via] = row
    return out


# ---------------------------------------------------------------- report
def summarize(raw: dict) -> dict:
    s = {}
    g = raw.get("generation")
    if g:
        floor = median(g["floor"])
        s["generation"] = {"floor_s": r3(floor)}
        for key, per in g["ours"].items():
            lat = int(key[:-2]) / 1000
            target = TARGET_OVERHEAD_S + (lat if lat else 0)
            rows = {}
            for srv, xs in per.items():
                m = median(xs)
                rows[srv] = {"median_s": r3(m), "overhead_s": r3(m - floor), "ratio": r3(m / floor),
                             "target_s": target, "met": (m - floor) <= target}
            s["generation"][key] = rows
            s["generation"][key + "_hub_calls"] = median(g["hub_calls"][key])
            s["generation"][key + "_hub_round_trips"] = median(g["hub_waves"][key])
    w = raw.get("warm")
    if w:
        s["warm"] = {k: {"median_s": r3(median(v["times"])), "hub_calls": max(v["calls"]), "paths": v["paths"]}
                     for k, v in w.items()}
    u = raw.get("update")
    if u:
        floor = median(u["floor"])
        s["update"] = {"floor_s": r3(floor), "hub_calls": max(u["hub_calls"]) if u["hub_calls"] else None,
                       "ours": {k: {"median_s": r3(median(v)), "overhead_s": r3(median(v) - floor),
                                    "ratio": r3(median(v) / floor)} for k, v in u["ours"].items()}}
    rd = raw.get("render")
    if rd:
        def m(recs, key):
            return r3(median([x[key] for x in recs]))
        s["render"] = {"python_startup_s": r3(median(rd["python_startup"])),
                       "copier_version_cli_s": r3(median(rd["copier_version_cli"])),
                       "import_copier_s": m(rd["floor"], "import_s"),
                       "import_requests_after_copier_s": r3(median(rd.get("import_requests_after_copier", []))),
                       "floor": {"first_s": m(rd["floor"], "first_s"), "second_s": m(rd["floor"], "second_s")},
                       "ours": {k: {"first_s": m(v, "first_s"), "second_s": m(v, "second_s")}
                                for k, v in rd["ours"].items()}}
    return s


def markdown(raw: dict, summ: dict, args_line: str) -> str:
    m = raw["machine"]
    L = [f"# Benchmarks {raw['date']}", "",
         f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, Linux {m['kernel']}, "
         f"Python {m['python']}, copier {m['copier']}, Docker {m['docker']}. Template at {m['template_commit']}.",
         f"Command: `{args_line}` ({raw['runs']} runs per measurement, medians; whole run "
         f"{raw['elapsed_s']:.0f} s). Model `{MODEL}`; hub: tests/hubsim.py on 127.0.0.1.", ""]
    g = summ.get("generation")
    if g:
        L += ["## Generation: `copier copy` (CLI, git+file template, cold hub cache)", "",
              f"Floor (trivial template, same command): **{g['floor_s']:.3f} s**.", "",
              "| server | hub latency | median | over floor | ratio to floor | target | met |",
              "|---|---|---|---|---|---|---|"]
        for key in [k for k in g if k.endswith("ms")]:
            for srv, row in g[key].items():
                L.append(f"| {srv} | {key} | {row['median_s']:.3f} s | +{row['overhead_s']:.3f} s | "
                         f"{row['ratio']:.2f}x | <= {row['target_s']:.2f} s | {'yes' if row['met'] else '**no**'} |")
        L += ["", "Hub calls per cold copy: " + ", ".join(
            f"{k}: {g[k + '_hub_calls']:g} calls in {g[k + '_hub_round_trips']:g} sequential round trips"
            for k in [k for k in g if k.endswith("ms")]) + ".", ""]
    w = summ.get("warm")
    if w:
        L += ["## Warm cache (hub latency 200 ms)", "", "| run | median | hub calls |", "|---|---|---|"]
        L.append(f"| `-d modelName=...` (revision `main`, unpinned) | {w['unpinned']['median_s']:.3f} s | "
                 f"{w['unpinned']['hub_calls']} |")
        L.append(f"| `--data-file .copier-answers.yml` (pinned) | {w['pinned_replay']['median_s']:.3f} s | "
                 f"{w['pinned_replay']['hub_calls']} |")
        L.append("")
    u = summ.get("update")
    if u:
        L += ["## Update: `copier update --trust --defaults` (1.0.0 -> 2.0.0, warm cache, hub latency 200 ms)", "",
              f"Floor (trivial template): **{u['floor_s']:.3f} s**. Hub calls during our updates: {u['hub_calls']}.",
              "", "| server | median | over floor | ratio to floor |", "|---|---|---|---|"]
        for srv, row in u["ours"].items():
            L.append(f"| {srv} | {row['median_s']:.3f} s | +{row['overhead_s']:.3f} s | {row['ratio']:.2f}x |")
        L.append("")
    rd = summ.get("render")
    if rd:
        L += ["## Where the time goes: in-process `copier.run_copy` (plain folder, no git, hub 0 ms)", "",
              f"Python start: {rd['python_startup_s']:.3f} s; `python -m copier --version`: "
              f"{rd['copier_version_cli_s']:.3f} s; `import copier`: {rd['import_copier_s']:.3f} s; "
              f"`import requests` after copier (the hooks' hub client): {rd['import_requests_after_copier_s']:.3f} s.",
              "",
              "| template | first run_copy in a process | second run_copy (same process, cold hub cache) |",
              "|---|---|---|",
              f"| trivial (floor) | {rd['floor']['first_s']:.3f} s | {rd['floor']['second_s']:.3f} s |"]
        for srv, row in rd["ours"].items():
            L.append(f"| {srv} | {row['first_s']:.3f} s | {row['second_s']:.3f} s |")
        L.append("")
    p = raw.get("profile")
    if p:
        L += [f"cProfile of the first run_copy ({p['server']}, {p['total_s']:.3f} s under the profiler):", "",
              "| part | cumulative |", "|---|---|"]
        for k, v in p["buckets"].items():
            L.append(f"| {k} | {v:.3f} s |")
        L += ["", "Top functions by own time:", "", "| function | calls | own | cumulative |", "|---|---|---|---|"]
        for row in p["top_self"][:10]:
            L.append(f"| `{row['fn']}` | {row['calls']} | {row['self_s']:.3f} s | {row['cum_s']:.3f} s |")
        L.append("")
    px = raw.get("proxy")
    if px:
        L += ["## Container proxy: nginx (8080) in front of the stand-in engine (127.0.0.1:8081)", "",
              "Client inside the container (`docker exec`, loopback); non-streaming chat completions "
              "(`STANDIN_TOKEN_DELAY=0`), direct and proxied requests interleaved. Each container also runs a "
              "second copy of the engine with TCP_NODELAY (as uvicorn, under vLLM, SGLang and trtllm-serve, sets "
              "it) behind a second nginx started from the project's own `code/nginx.conf`.", "",
              "| server | engine | connection | n | direct p50 / p99 | nginx p50 / p99 | added p50 / p99 | "
              "`/invocations` added p50 / p99 |", "|---|---|---|---|---|---|---|---|"]
        for srv, d in px.items():
            if "skipped" in d:
                L.append(f"| {srv} | skipped: {d['skipped']} |||||||")
                continue
            for row in d["latency"].values():
                L.append(f"| {srv} | {row['engine']} | {row['connection'].replace('_', ' ')} | {row['n']} | "
                         f"{row['direct_p50_ms']:.2f} / {row['direct_p99_ms']:.2f} ms | "
                         f"{row['nginx_p50_ms']:.2f} / {row['nginx_p99_ms']:.2f} ms | "
                         f"{row['nginx_added_p50_ms']:+.2f} / {row['nginx_added_p99_ms']:+.2f} ms | "
                         f"{row['invocations_added_p50_ms']:+.2f} / {row['invocations_added_p99_ms']:+.2f} ms |")
        L += ["", "Streaming (8 tokens, `STANDIN_TOKEN_DELAY=0.1`: the engine sends its first event at once, then "
              "one token per 100 ms; a buffering proxy would hold the first byte until the last):", "",
              "| server | path | n | headers | first byte | first token | last byte |", "|---|---|---|---|---|---|---|"]
        for srv, d in px.items():
            for via, row in d.get("stream_ms", {}).items():
                L.append(f"| {srv} | {via} | {row['n']} | {row['headers']:.1f} ms | {row['first_byte']:.1f} ms | "
                         f"{row['first_token']:.1f} ms | {row['total']:.1f} ms |")
        L.append("")
    im = raw.get("images")
    if im:
        L += ["## Image size our layers add (on the stand-in of each pinned image)", "",
              "| server | added | our non-empty layers | build (cached base) |", "|---|---|---|---|"]
        for srv, d in im.items():
            if "error" in d:
                L.append(f"| {srv} | build failed | | |")
                continue
            layers = "; ".join(f"{x['size']} `{x['cmd'][:60]}`" for x in d["nonempty_layers"])
            apt = d.get("apt_dirs_added_bytes", {}).get("/var/cache/apt", 0)
            note = f" (of which /var/cache/apt: {apt / 1e6:.1f} MB)" if apt > 1e6 else ""
            L.append(f"| {srv} | {d['added_bytes'] / 1e6:.2f} MB{note} | {layers} | {d['build_s']:.1f} s |")
        L.append("")
    L += findings(raw, summ)
    if raw.get("skipped"):
        L += ["Skipped: " + "; ".join(f"{k}: {v}" for k, v in raw["skipped"].items()), ""]
    return "\n".join(L)


def findings(raw: dict, summ: dict) -> list[str]:
    """What the numbers say about the targets, with the measured causes."""
    L = ["## Findings", ""]
    g, rd, p = summ.get("generation"), summ.get("render"), raw.get("profile")
    if g:
        for key in [k for k in g if k.endswith("ms")]:
            worst = max(g[key].values(), key=lambda r: r["overhead_s"])
            missed = [srv for srv, r in g[key].items() if not r["met"]]
            L.append(f"- Generation at {key}: overhead over the floor {min(r['overhead_s'] for r in g[key].values()):.3f}"
                     f"-{worst['overhead_s']:.3f} s (target <= {worst['target_s']:.2f} s): "
                     + (f"**missed** for {', '.join(missed)}." if missed else "met for every server."))
    if g and "200ms_hub_round_trips" in g:
        L.append(f"- Hub at 200 ms: {g['200ms_hub_calls']:g} calls in {g['200ms_hub_round_trips']:g} sequential round "
                 "trips, because the revision is a branch (`main`): `HubClient.snapshot` waits for the model info "
                 "to learn the sha, then fetches the files at that sha. That alone is 0.4 s of the budget of "
                 "0.45 s. One round trip is possible: fetch info and files concurrently at the revision name "
                 "(`/resolve/main/...`, which answers with `X-Repo-Commit`), and refetch at the sha only if "
                 "`X-Repo-Commit` differs from the info's sha.")
    if rd:
        ours2 = statistics.median([r["second_s"] for r in rd["ours"].values()])
        ours1 = statistics.median([r["first_s"] for r in rd["ours"].values()])
        L.append(f"- In-process render (hub 0 ms): our template takes {ours1:.3f} s in a fresh process and "
                 f"{ours2:.3f} s when repeated in the same process, against {rd['floor']['first_s']:.3f} s for the "
                 f"trivial template. The difference between first and repeated run is mostly `import requests` "
                 f"({rd['import_requests_after_copier_s']:.3f} s, the hooks' HTTP client; copier itself already "
                 "loads `urllib.request` and `http.client`, which cost nothing more).")
    if p:
        b = p["buckets"]
        L.append(f"- cProfile ({p['server']}, {p['total_s']:.3f} s under the profiler): Jinja compile "
                 f"{b['Jinja compile (Environment.compile)']:.3f} s (copier compiles every question default, "
                 "validator, choice and path part with `from_string` on each evaluation, and our templates with "
                 f"their includes); hooks import {b['hooks import (_hooks)']:.3f} s (almost all of it "
                 f"`import requests`); git subprocesses {b['subprocess (git)']:.3f} s; the hub calls themselves "
                 f"{b['hub: HubClient.snapshot (HTTP)']:.3f} s.")
    u = summ.get("update")
    if u:
        L.append(f"- Update: copier renders the old and the new template version, then merges; our overhead over "
                 f"the trivial update is {min(r['overhead_s'] for r in u['ours'].values()):.2f}-"
                 f"{max(r['overhead_s'] for r in u['ours'].values()):.2f} s, about twice the copy overhead, "
                 f"with {u['hub_calls']} hub calls (pinned model, warm cache).")
    w = summ.get("warm")
    if w:
        L.append(f"- Warm cache: a pinned replay makes {w['pinned_replay']['hub_calls']} hub calls; an unpinned copy "
                 f"makes {w['unpinned']['hub_calls']} (the model info, to resolve `main` to a sha; the files come "
                 "from the cache).")
    im = raw.get("images") or {}
    big = [s for s, d in im.items() if d.get("apt_dirs_added_bytes", {}).get("/var/cache/apt", 0) > 1e6]
    if big:
        L.append(f"- Image size: the nginx layer ({', '.join(big)}) leaves apt's package caches "
                 "(`/var/cache/apt/pkgcache.bin`, `srcpkgcache.bin`) in the image on a base without Debian's "
                 "docker-clean apt setting; `apt-get clean` (or `rm -rf /var/cache/apt/*.bin`) in the same RUN "
                 "removes them.")
    px = raw.get("proxy") or {}
    for srv, d in px.items():
        rows = [r for r in d.get("latency", {}).values() if r["engine"].startswith("engine with")]
        if rows:
            L.append(f"- Proxy ({srv}): with an engine that sets TCP_NODELAY (as uvicorn does) nginx adds "
                     + ", ".join(f"{r['nginx_added_p50_ms']:+.2f} ms p50 / {r['nginx_added_p99_ms']:+.2f} ms p99 "
                                 f"({r['connection'].replace('_', ' ')})" for r in rows)
                     + ". With the stand-in engine as it is (Python http.server, no TCP_NODELAY, headers and body "
                       "in two writes) requests through nginx take 40 ms more: Nagle's algorithm holds the body "
                       "until the delayed ACK; a property of the stand-in, not of nginx or the config.")
        st = d.get("stream_ms", {})
        if "nodelay_nginx" in st and "nodelay_direct" in st:
            L.append(f"- Streaming ({srv}): first byte {st['nodelay_direct']['first_byte']:.1f} ms direct, "
                     f"{st['nodelay_nginx']['first_byte']:.1f} ms through nginx, last byte at "
                     f"{st['nodelay_nginx']['total']:.0f} ms: nginx does not buffer.")
    L.append("")
    return L


# ---------------------------------------------------------------- main
def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--_inproc":
        _child_inproc(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 runs, 50 proxy requests (about 3 minutes)")
    ap.add_argument("--runs", type=int, help="runs per measurement (default 5, --quick 2)")
    ap.add_argument("--no-docker", action="store_true", help="skip the proxy and image-size measurements")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="results folder")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    n_proxy, n_streams = (50, 5) if args.quick else (200, 20)
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="sm-llm-bench-"))
    raw: dict = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "command": "python benchmarks/run.py" + (" --quick" if args.quick else "")
                 + (f" --runs {args.runs}" if args.runs else "") + (" --no-docker" if args.no_docker else ""),
                 "runs": runs, "model": MODEL, "machine": machine(), "skipped": {}}
    log(f"work folder {work}; {runs} runs")
    try:
        ours = make_git_template(None, work / "ours", copy_from=ROOT)
        trivial = make_git_template(TRIVIAL, work / "trivial")
        plain = work / "plain"
        shutil.copytree(ours, plain, ignore=shutil.ignore_patterns(".git"))
        trivial_plain = work / "trivial-plain"
        shutil.copytree(trivial, trivial_plain, ignore=shutil.ignore_patterns(".git"))
        hub = TimedHub()
        with HubServer(hub) as server:
            url = server.url
            # one untimed copy of each to warm the OS file cache and .pyc files
            d = work / "prime"
            d.mkdir()
            copier_cli(["copy", "--trust", "--defaults", f"git+file://{trivial}", str(d / "a")],
                       base_env(url, d / "c", d), d)
            copier_cli(["copy", "--trust", "--defaults", f"git+file://{ours}", str(d / "b")],
                       base_env(url, d / "c", d), d)
            raw["generation"] = bench_generation(work, hub, url, ours, trivial, runs)
            raw["warm"] = bench_warm(work, hub, url, ours, runs)
            raw["update"] = bench_update(work, hub, url, ours, trivial, runs)
            raw["render"] = bench_render(work, url, plain, trivial_plain, runs)
            log("profile")
            raw["profile"] = profile_render(work, url, plain)
        if args.no_docker:
            raw["skipped"]["docker"] = "--no-docker"
        else:
            ok, why = _docker_ok()
            if not ok:
                raw["skipped"]["docker"] = why
            else:
                raw["images"] = bench_images(work)
                raw["proxy"] = bench_proxy(work, raw["images"], n_proxy, n_streams)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    raw["elapsed_s"] = time.perf_counter() - t_start
    raw["summary"] = summarize(raw)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = dt.date.today().isoformat() + ("-quick" if args.quick else "")
    (out / f"{stem}.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    md = markdown(raw, raw["summary"], raw["command"])
    (out / f"{stem}.md").write_text(md + "\n")
    print(md)
    log(f"wrote {out / stem}.json and .md in {raw['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
