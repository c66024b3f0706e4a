"""Update: `copier update --trust --defaults` 1.0.0 -> 2.0.0 of committed projects, warm cache,
against the floor of updating the trivial template the same way."""
from __future__ import annotations

import shutil
from pathlib import Path

from .common import MODEL, SERVERS, TimedHub, base_env, copier_cli, git, log


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
