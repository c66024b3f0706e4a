"""Render profile: in-process `copier.run_copy` per server in a fresh interpreter (twice), and a
cProfile of one server bucketed into the parts that cost time."""
from __future__ import annotations

import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

from .common import MODEL, SERVERS, base_env, import_requests_after_copier, log, r3

RUN = str(Path(__file__).resolve().with_name("run.py"))   # the child runs `run.py --_inproc SPEC`


def child_inproc(arg: str) -> None:
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
        out.setdefault("import_requests_after_copier", []).append(import_requests_after_copier(env))
        for name, src, data in [("floor", trivial_plain, {})] + [
                (s, plain, {"modelName": MODEL, "modelServer": s}) for s in SERVERS]:
            spec = {"src": str(src), "dst": str(d / f"{name}-{i}"), "cache": str(d / f"cache-{name}-{i}"),
                    "data": data}
            r = subprocess.run([sys.executable, RUN, "--_inproc", json.dumps(spec)], env=env,
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
    r = subprocess.run([sys.executable, RUN, "--_inproc", json.dumps(spec)], env=env,
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
        "hub: generator.project.build_context (incl. hub calls)": bucket(lambda k: k[2] == "build_context"),
        "hub: hub.snapshot (HTTP)": bucket(lambda k: k[2] == "snapshot" and "generator" in k[0]),
        # with defaults=True the read runs in a thread cProfile does not see: what the main thread
        # spends starting it (`import requests`) and waiting for it
        "hub: start of the background read (hub.prefetch)": bucket(lambda k: k[2] == "prefetch" and "generator" in k[0]),
        "hub: wait for the background read": bucket(lambda k: k[2] == "result" and "generator/hub" in k[0]),
        "hooks import (_hook)": bucket(lambda k: k[2] == "_hook" and "extensions" in k[0]),
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
