"""Timeline: where the wall time of one `copier copy` CLI run goes, phase by phase (copier's own
``Worker`` steps, timed by the child ``copier_timed.py``), for the trivial floor, the same-shape
floor, our template with a cold hub cache at each hub latency, and our pinned answers replayed
with warm caches (no hub call, no `import requests`).

From it, the report derives the serial estimate of a cold copy: a template of our shape that
imports `requests` and reads the hub on copier's own thread, one step after the other (the
same-shape floor, plus `import requests`, plus one hub round trip). Ours can beat it: with
`--defaults` our read runs in a thread from the first question on, while the questions go on.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .common import LATENCIES, MODEL, TimedHub, base_env, import_requests_after_copier, log, median, r3

CHILD = Path(__file__).resolve().with_name("copier_timed.py")

# (label, from mark, to mark); "start" is the moment the parent starts the child, "end" when it is gone
PHASES = [
    ("Python, imports, CLI", "start", "run_copy_start"),
    ("clone, copier.yml", "run_copy_start", "_ask_start"),
    ("questions", "_ask_start", "_ask_end"),
    ("before render", "_ask_end", "_render_template_start"),
    ("render files", "_render_template_start", "_render_template_end"),
    ("answers file, message, clean-up", "_render_template_end", "exit_handlers_done"),
    ("interpreter exit", "exit_handlers_done", "end"),
]
PINNED = "ours, pinned, warm caches"


def timed_copy(args: list[str], env: dict, cwd: Path, name: str) -> dict:
    """One `copier` CLI run through the timing child: each mark in seconds from the start."""
    out = cwd / f"{name}.timeline.json"
    env = dict(env, BENCH_TIMELINE_OUT=str(out))
    t0 = time.time()
    env["BENCH_T0"] = repr(t0)
    r = subprocess.run([sys.executable, str(CHILD), *args], env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=300)
    end = time.time() - t0
    if r.returncode != 0:
        raise RuntimeError(f"copier {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    marks = json.loads(out.read_text())
    marks.update(start=0.0, end=end)
    missing = [m for _, a, b in PHASES for m in (a, b) if m not in marks]
    if missing:
        raise RuntimeError(f"timeline of {name}: copier never reached {', '.join(sorted(set(missing)))}")
    return marks


def bench_timeline(work: Path, hub: TimedHub, url: str, ours: Path, trivial: Path, shape: Path,
                   runs: int) -> dict:
    d = work / "timeline"
    d.mkdir()
    rows = {"floor": [], "same-shape floor": [], **{f"ours, cold, {int(l * 1000)}ms": [] for l in LATENCIES},
            PINNED: []}
    out = {"rows": rows, "import_requests_s": [], "pinned_hub_calls": []}
    warm = base_env(url, d / "warm-cache", d)
    hub.latency_s = 0.0
    timed_copy(["copy", "--trust", "--defaults", "-d", f"modelName={MODEL}", f"git+file://{ours}",
                str(d / "answers-source")], warm, d, "answers-source")
    answers = d / "answers.yml"
    answers.write_text((d / "answers-source" / ".copier-answers.yml").read_text())
    for i in range(runs):
        log(f"timeline run {i + 1}/{runs}")
        hub.latency_s = 0.0
        rows["floor"].append(timed_copy(["copy", "--trust", "--defaults", f"git+file://{trivial}",
                                         str(d / f"floor{i}")], base_env(url, d / f"c-floor{i}", d), d, f"floor{i}"))
        rows["same-shape floor"].append(timed_copy(["copy", "--trust", "--defaults", f"git+file://{shape}",
                                                    str(d / f"shape{i}")], base_env(url, d / f"c-shape{i}", d), d,
                                                   f"shape{i}"))
        for lat in LATENCIES:
            key = f"{int(lat * 1000)}ms"
            hub.latency_s = lat
            rows[f"ours, cold, {key}"].append(timed_copy(
                ["copy", "--trust", "--defaults", "-d", f"modelName={MODEL}", f"git+file://{ours}",
                 str(d / f"ours-{key}-{i}")], base_env(url, d / f"c-ours-{key}-{i}", d), d, f"ours-{key}-{i}"))
        hub.latency_s = 0.2
        hub.reset()
        rows[PINNED].append(timed_copy(["copy", "--trust", "--defaults", "--data-file", str(answers),
                                        f"git+file://{ours}", str(d / f"pinned{i}")], warm, d, f"pinned{i}"))
        out["pinned_hub_calls"].append(len(hub.requests))
        out["import_requests_s"].append(import_requests_after_copier(warm))
    hub.latency_s = 0.0
    return out


def summarize(t: dict) -> dict:
    """Median of each phase, of the whole run and of the run from ``run_copy`` on per row; the serial
    estimate of a cold copy per latency. The first phase (Python, copier's import, the CLI) runs before copier
    touches the template, so it is the same work in every row: the comparisons leave it out, as its
    differences are noise. The estimate takes the same-shape floor with the shortest interpreter exit
    measured in any row: any template can skip CPython's final collection, as ours does."""
    rows = {}
    for name, runs in t["rows"].items():
        phases = {label: r3(median([m[b] - m[a] for m in runs])) for label, a, b in PHASES}
        rows[name] = {"phases": phases, "total_s": r3(median([m["end"] for m in runs])),
                      "template_s": r3(median([m["end"] - m["run_copy_start"] for m in runs]))}
    floor, shape = rows["floor"]["template_s"], rows["same-shape floor"]["template_s"]
    for row in rows.values():
        row["over_floor_s"] = r3(row["template_s"] - floor)
    exit_label = PHASES[-1][0]
    best_exit = min(row["phases"][exit_label] for row in rows.values())
    shape_best = shape - rows["same-shape floor"]["phases"][exit_label] + best_exit
    imp = r3(median(t["import_requests_s"]))
    serial = {f"{int(l * 1000)}ms": r3(shape_best - floor + imp + l) for l in LATENCIES}
    pinned_q = rows[PINNED]["phases"]["questions"]
    read = {f"{int(l * 1000)}ms": r3(rows[f"ours, cold, {int(l * 1000)}ms"]["phases"]["questions"] - pinned_q)
            for l in LATENCIES}
    return {"rows": rows, "import_requests_s": imp, "shape_over_floor_s": r3(shape - floor),
            "shape_best_exit_over_floor_s": r3(shape_best - floor), "best_exit_s": r3(best_exit),
            "serial_over_floor_s": serial, "hub_read_in_questions_s": read,
            "pinned_hub_calls": max(t["pinned_hub_calls"])}


def markdown(s: dict, target_s: float) -> list[str]:
    labels = [label for label, _, _ in PHASES]
    L = ["## Timeline of one `copier copy` (CLI, git+file template; medians, seconds)", "",
         "Copier's own steps timed from outside our code (`benchmarks/copier_timed.py` wraps copier's "
         "`Worker.run_copy`, `_ask` and `_render_template`). Cold rows: an empty hub cache. The pinned "
         f"row replays our answers file with warm caches ({s['pinned_hub_calls']} hub calls, no `import requests`). "
         "The first phase runs before copier reads the template, the same work in every row; so the last two "
         "columns compare the runs from copier's `run_copy` on.",
         "", "| run | " + " | ".join(labels) + " | total | from `run_copy` on | over floor |",
         "|---" * (len(labels) + 4) + "|"]
    for name, row in s["rows"].items():
        L.append(f"| {name} | " + " | ".join(f"{row['phases'][k]:.3f}" for k in labels)
                 + f" | {row['total_s']:.3f} | {row['template_s']:.3f} | {row['over_floor_s']:+.3f} |")
    L += ["", "Serial estimate of a cold copy over the trivial floor: a template of this shape that imports "
          "`requests` and reads the hub on copier's own thread, one step after the other: the same-shape floor "
          f"with the shortest interpreter exit measured ({s['best_exit_s']:.3f} s; "
          f"{s['shape_best_exit_over_floor_s']:+.3f} s over the trivial floor) + `import requests` "
          f"({s['import_requests_s']:.3f} s) + one hub round trip (the latency). "
          + "; ".join(f"{k}: **+{v:.3f} s** (target +{target_s + int(k[:-2]) / 1000:.2f} s)"
                      for k, v in s["serial_over_floor_s"].items())
          + ". Ours can be below it: with `--defaults` our read runs in a thread from the first question on, "
            "while the questions go on.", ""]
    return L


def findings(s: dict, target_s: float) -> list[str]:
    rows = s["rows"]
    L = []
    for key, serial in s["serial_over_floor_s"].items():
        target = target_s + int(key[:-2]) / 1000
        ours = rows[f"ours, cold, {key}"]["over_floor_s"]
        L.append(f"- Timeline at {key}: our cold copy is {ours:+.3f} s over the floor (target +{target:.2f} s, "
                 + ("met" if ours <= target else "missed") + f"); the serial estimate is +{serial:.3f} s, ours is "
                 + (f"{serial - ours:.3f} s below it." if ours <= serial else f"{ours - serial:.3f} s above it."))
    q = {name: row["phases"]["questions"] for name, row in rows.items()}
    L.append(f"- Questions phase: {q[PINNED]:.3f} s for our pinned replay (no hub, no `requests`) against "
             + ", ".join(f"{v:.3f} s cold at {k}" for k, v in
                         ((k, q[f'ours, cold, {k}']) for k in s["hub_read_in_questions_s"]))
             + ": the difference, "
             + ", ".join(f"{v:.3f} s at {k}" for k, v in s["hub_read_in_questions_s"].items())
             + ", is what the questions wait for the hub read (a thread imports `requests` and sends the "
               "wave). Rendering the files: "
             f"{rows['same-shape floor']['phases']['render files']:.3f} s for the same-shape floor against "
             + ", ".join(f"{rows[f'ours, cold, {k}']['phases']['render files']:.3f} s"
                         for k in s["hub_read_in_questions_s"])
             + " for ours.")
    return L
