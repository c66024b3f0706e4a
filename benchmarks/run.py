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
  timeline    one CLI copy split into copier's phases (start, clone, questions, render, exit) for
              the floor, the same-shape floor, ours cold at each hub latency and ours pinned with
              warm caches; from it the serial estimate of a cold copy (same-shape floor +
              `import requests` + one hub round trip, one after the other).
  render      in-process copier.run_copy per server (fresh interpreter each), with a cProfile
              of one server naming the top costs.
  proxy       nginx (8080) in front of the stand-in engine (127.0.0.1:8081) in the built SGLang and
              TensorRT-LLM project images: per-request latency through nginx vs direct, and the
              time to the first streamed byte (measured inside the container with docker exec).
  image size  bytes our layers add on top of each pinned (stand-in) server image.

Results: benchmarks/results/<date>.json (raw) and <date>.md (tables).

One module per measurement: generation.py (generation, warm cache), timeline.py (and its child
copier_timed.py), update.py, render.py
(in-process render and its profile), images.py, proxy.py, report.py (summary, tables,
findings); common.py holds what they share. This file only runs them in order.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import generation, images, proxy, render, report, timeline, update  # noqa: E402
from benchmarks.common import (MODEL, TRIVIAL, TimedHub, base_env, copier_cli, log,  # noqa: E402
                               machine, make_git_template, make_shape_template)
from hubsim import HubServer  # noqa: E402


PARTS = ("generation", "warm", "timeline", "update", "render", "profile", "docker")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--_inproc":
        render.child_inproc(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 runs, 50 proxy requests (about 3 minutes)")
    ap.add_argument("--runs", type=int, help="runs per measurement (default 5, --quick 2)")
    ap.add_argument("--no-docker", action="store_true", help="skip the proxy and image-size measurements")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="results folder")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--only", help="comma-separated subset of: " + ", ".join(PARTS) + " (default: all)")
    args = ap.parse_args()
    only = set(PARTS) if not args.only else {p.strip() for p in args.only.split(",") if p.strip()}
    if only - set(PARTS):
        ap.error(f"--only: unknown part(s) {', '.join(sorted(only - set(PARTS)))}; choose from {', '.join(PARTS)}")
    runs = args.runs or (2 if args.quick else 5)
    n_proxy, n_streams = (50, 5) if args.quick else (200, 20)
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="sm-llm-bench-"))
    raw: dict = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "command": "python benchmarks/run.py" + (" --quick" if args.quick else "")
                 + (f" --runs {args.runs}" if args.runs else "") + (" --no-docker" if args.no_docker else "")
                 + (f" --only {args.only}" if args.only else ""),
                 "runs": runs, "model": MODEL, "machine": machine(), "skipped": {}}
    log(f"work folder {work}; {runs} runs")
    try:
        ours = make_git_template(None, work / "ours", copy_from=ROOT)
        trivial = make_git_template(TRIVIAL, work / "trivial")
        shape = make_shape_template(work / "shape")
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
            if "generation" in only:
                raw["generation"] = generation.bench_generation(work, hub, url, ours, trivial, runs, shape)
            if "warm" in only:
                raw["warm"] = generation.bench_warm(work, hub, url, ours, runs)
            if "timeline" in only:
                raw["timeline"] = timeline.bench_timeline(work, hub, url, ours, trivial, shape, runs)
            if "update" in only:
                raw["update"] = update.bench_update(work, hub, url, ours, trivial, runs)
            if "render" in only:
                raw["render"] = render.bench_render(work, url, plain, trivial_plain, runs)
            if "profile" in only:
                log("profile")
                raw["profile"] = render.profile_render(work, url, plain)
        if "docker" not in only:
            raw["skipped"]["docker"] = "--only " + args.only
        elif args.no_docker:
            raw["skipped"]["docker"] = "--no-docker"
        else:
            ok, why = images.docker_ok()
            if not ok:
                raw["skipped"]["docker"] = why
            else:
                raw["images"] = images.bench_images(work)
                raw["proxy"] = proxy.bench_proxy(work, raw["images"], n_proxy, n_streams)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    raw["elapsed_s"] = time.perf_counter() - t_start
    raw["summary"] = report.summarize(raw)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = dt.date.today().isoformat() + ("-quick" if args.quick else "")
    (out / f"{stem}.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    md = report.markdown(raw, raw["summary"], raw["command"])
    (out / f"{stem}.md").write_text(md + "\n")
    print(md)
    log(f"wrote {out / stem}.json and .md in {raw['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
