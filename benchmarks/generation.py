"""Generation: `python -m copier copy` of this template per server against the trivial-template
floor, cold hub cache at each hub latency; and a warm cache, unpinned and pinned."""
from __future__ import annotations

from pathlib import Path

from .common import LATENCIES, MODEL, SERVERS, TimedHub, base_env, copier_cli, log


def bench_generation(work: Path, hub: TimedHub, url: str, ours: Path, trivial: Path, runs: int,
                     shape: Path | None = None) -> dict:
    res = {"floor": [], "shape": [], "ours": {f"{int(l * 1000)}ms": {s: [] for s in SERVERS} for l in LATENCIES},
           "hub_calls": {}, "hub_waves": {},
           "cpu": {"floor": [], "shape": [], "ours": {f"{int(l * 1000)}ms": {s: [] for s in SERVERS} for l in LATENCIES}}}
    n = 0
    for i in range(runs):
        log(f"generation run {i + 1}/{runs}")
        n += 1
        d = work / f"gen{n}"
        d.mkdir()
        for lat in LATENCIES:
            key = f"{int(lat * 1000)}ms"
            # the floor next to each block of our copies: slow drifts in machine load hit both alike
            env = base_env(url, d / f"cache-floor-{key}", d)
            t, r = copier_cli(["copy", "--trust", "--defaults", f"git+file://{trivial}", str(d / f"floor-{key}")],
                              env, d)
            res["floor"].append(t)
            res["cpu"]["floor"].append(r.cpu_s)
            if shape is not None:   # no hub call: the same at every latency
                env = base_env(url, d / f"cache-shape-{key}", d)
                t, r = copier_cli(["copy", "--trust", "--defaults", f"git+file://{shape}",
                                   str(d / f"shape-{key}")], env, d)
                res["shape"].append(t)
                res["cpu"]["shape"].append(r.cpu_s)
            hub.latency_s = lat
            for s in SERVERS:
                cache = d / f"cache-{key}-{s}"
                env = base_env(url, cache, d)
                hub.reset()
                t, r = copier_cli(["copy", "--trust", "--defaults", "-d", f"modelName={MODEL}", "-d",
                                   f"modelServer={s}", f"git+file://{ours}", str(d / f"{key}-{s}")], env, d)
                res["ours"][key][s].append(t)
                res["cpu"]["ours"][key][s].append(r.cpu_s)
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
