"""Report: the summary of the raw samples, the markdown tables and the findings."""
from __future__ import annotations

import statistics

from . import timeline
from .common import MODEL, TARGET_OVERHEAD_S, median, r3


def summarize(raw: dict) -> dict:
    s = {}
    g = raw.get("generation")
    if g:
        floor = median(g["floor"])
        s["generation"] = {"floor_s": r3(floor)}
        if g.get("shape"):
            s["generation"]["shape_s"] = r3(median(g["shape"]))
        for key, per in g["ours"].items():
            lat = int(key[:-2]) / 1000
            target = TARGET_OVERHEAD_S + (lat if lat else 0)
            rows = {}
            for srv, xs in per.items():
                m = median(xs)
                rows[srv] = {"median_s": r3(m), "overhead_s": r3(m - floor), "ratio": r3(m / floor),
                             "target_s": target, "met": (m - floor) <= target}
            s["generation"][key] = rows
            pooled = median([x for xs in per.values() for x in xs])
            s["generation"][key + "_pooled"] = {"n": sum(len(xs) for xs in per.values()), "median_s": r3(pooled),
                                               "overhead_s": r3(pooled - floor), "target_s": target,
                                               "met": (pooled - floor) <= target}
            s["generation"][key + "_hub_calls"] = median(g["hub_calls"][key])
            s["generation"][key + "_hub_round_trips"] = median(g["hub_waves"][key])
        if "cpu" in g:
            cfloor = median(g["cpu"]["floor"])
            s["generation"]["cpu"] = {"floor_s": r3(cfloor), "shape_s": r3(median(g["cpu"].get("shape") or [])), **{
                key: {srv: {"median_s": r3(median(xs)), "overhead_s": r3(median(xs) - cfloor)}
                      for srv, xs in per.items()} for key, per in g["cpu"]["ours"].items()}}
    w = raw.get("warm")
    if w:
        s["warm"] = {k: {"median_s": r3(median(v["times"])), "hub_calls": max(v["calls"]), "paths": v["paths"]}
                     for k, v in w.items()}
    if raw.get("timeline"):
        s["timeline"] = timeline.summarize(raw["timeline"])
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
              f"Floor (trivial template, same command): **{g['floor_s']:.3f} s**."
              + (f" Same-shape floor (this template's files copied without Jinja or questions): "
                 f"**{g['shape_s']:.3f} s** (+{g['shape_s'] - g['floor_s']:.3f} s: copier's own cost for a "
                 "template of this size and file count)." if g.get("shape_s") else ""), "",
              "| server | hub latency | median | over floor | ratio to floor | target | met |",
              "|---|---|---|---|---|---|---|"]
        for key in [k for k in g if k.endswith("ms")]:
            for srv, row in g[key].items():
                L.append(f"| {srv} | {key} | {row['median_s']:.3f} s | +{row['overhead_s']:.3f} s | "
                         f"{row['ratio']:.2f}x | <= {row['target_s']:.2f} s | {'yes' if row['met'] else '**no**'} |")
        L += ["", "All servers pooled (the servers share the hub read and most files, so their copies "
              "differ mostly by this machine's noise): " + "; ".join(
                  f"{k[:-len('_pooled')]}: median of {v['n']} copies {v['median_s']:.3f} s, "
                  f"{v['overhead_s']:+.3f} s over the floor (target {v['target_s']:.2f} s, "
                  f"{'met' if v['met'] else 'missed'})" for k, v in g.items() if k.endswith("_pooled")) + "."]
        L += ["", "Hub calls per cold copy: " + ", ".join(
            f"{k}: {g[k + '_hub_calls']:g} calls in {g[k + '_hub_round_trips']:g} sequential round trips"
            for k in [k for k in g if k.endswith("ms")]) + ".", ""]
        c = g.get("cpu")
        if c:
            L += ["CPU time per copy (user + sys of copier and its git children; other load on the machine "
                  f"barely changes it): floor {c['floor_s']:.3f} s; ours " + "; ".join(
                      f"{k}: {min(r['median_s'] for r in c[k].values()):.3f}-"
                      f"{max(r['median_s'] for r in c[k].values()):.3f} s "
                      f"(+{min(r['overhead_s'] for r in c[k].values()):.3f} to "
                      f"+{max(r['overhead_s'] for r in c[k].values()):.3f} s)"
                      for k in [k for k in c if k.endswith("ms")]) + "."
                  + (f" Same-shape floor: {c['shape_s']:.3f} s." if c.get("shape_s") else ""), ""]
    w = summ.get("warm")
    if w:
        L += ["## Warm cache (hub latency 200 ms)", "", "| run | median | hub calls |", "|---|---|---|"]
        L.append(f"| `-d modelName=...` (revision `main`, unpinned) | {w['unpinned']['median_s']:.3f} s | "
                 f"{w['unpinned']['hub_calls']} |")
        L.append(f"| `--data-file .copier-answers.yml` (pinned) | {w['pinned_replay']['median_s']:.3f} s | "
                 f"{w['pinned_replay']['hub_calls']} |")
        L.append("")
    if summ.get("timeline"):
        L += timeline.markdown(summ["timeline"], TARGET_OVERHEAD_S)
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
              f"`import requests` after copier (the generator's hub client): {rd['import_requests_after_copier_s']:.3f} s.",
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
                     + (f"**missed** for {', '.join(missed)}." if missed else "met for every server.")
                     + (f" Pooled over the servers: {g[key + '_pooled']['overhead_s']:+.3f} s "
                        f"({'met' if g[key + '_pooled']['met'] else 'missed'})." if key + "_pooled" in g else ""))
    if g and g.get("shape_s"):
        shape_over = g["shape_s"] - g["floor_s"]
        rows = [r for key in g if key.endswith("ms") for r in g[key].values()]
        L.append(f"- The same-shape floor costs {shape_over:.3f} s over the trivial one: copier's own cost for a "
                 "template of this shape (the same files copied plain, no questions: the bigger clone, copier's "
                 "per-file work, among it a `git config` subprocess per file). Ours minus the same-shape floor: "
                 f"{min(r['overhead_s'] for r in rows) - shape_over:+.3f} to "
                 f"{max(r['overhead_s'] for r in rows) - shape_over:+.3f} s: our questions, hub read and Jinja "
                 "rendering.")
    if g and "200ms_hub_round_trips" in g:
        trips = g["200ms_hub_round_trips"]
        if trips > 1:
            why = (f"{trips:g} sequential round trips: each one costs the hub latency; `generator/hub.py` `snapshot` "
                   "should read the info and the files at the branch in one concurrent wave.")
        else:
            why = ("one round trip: `generator/hub.py` `snapshot` reads the info and the files at the branch in one "
                   "concurrent wave and checks each file's `X-Repo-Commit` against the info's sha. With "
                   "`--defaults` the wave starts at the first question, in a background thread (`hub.prefetch`): "
                   "the other questions run while it is on the wire.")
        L.append(f"- Hub at 200 ms: {g['200ms_hub_calls']:g} calls in " + why)
    if summ.get("timeline"):
        L += timeline.findings(summ["timeline"], TARGET_OVERHEAD_S)
    if rd:
        ours2 = statistics.median([r["second_s"] for r in rd["ours"].values()])
        ours1 = statistics.median([r["first_s"] for r in rd["ours"].values()])
        L.append(f"- In-process render (hub 0 ms): our template takes {ours1:.3f} s in a fresh process and "
                 f"{ours2:.3f} s when repeated in the same process, against {rd['floor']['first_s']:.3f} s for the "
                 f"trivial template. The difference between first and repeated run is mostly `import requests` "
                 f"({rd['import_requests_after_copier_s']:.3f} s, the generator's HTTP client; copier itself already "
                 "loads `urllib.request` and `http.client`, which cost nothing more).")
    if p:
        b = p["buckets"]
        start = b.get("hub: start of the background read (hub.prefetch)", 0.0)
        wait = b.get("hub: wait for the background read", 0.0)
        L.append(f"- cProfile ({p['server']}, {p['total_s']:.3f} s under the profiler): Jinja compile "
                 f"{b['Jinja compile (Environment.compile)']:.3f} s (our file templates with their includes, and "
                 "the question strings with Jinja in them, each once); hooks import "
                 f"{b['hooks import (_hook)']:.3f} s; starting the hub read {start:.3f} s (mostly `import "
                 f"requests`), waiting for it {wait:.3f} s (the read itself runs in a thread the profiler does "
                 f"not see); git subprocesses {b['subprocess (git)']:.3f} s.")
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
