"""The template's own serving overhead (issue 24, item 6).

1. Engine: the real vLLM CPU engine (build/engine-venv, tools/engine_venv.sh) on the tiny random
   Qwen2 model of tests/engine/make_tiny_model.py, started two ways and kept running side by side:
   - ``bare``: ``vllm serve MODEL`` with only the CPU settings (the same ones the project gets
     through ENGINE_ARG_*/SM_VLLM_* in tests/deploy/test_bench.py), on --bare-port;
   - ``project``: a rendered vLLM project's own ``code/serve`` (its flags, its chat template) on
     8080, the port code/serve fixes (SageMaker's contract).
   The same load, the generated project's ``python -m deploy bench --url`` (a subprocess in the
   project folder), goes to three targets: ``bare`` (its /v1/chat/completions), ``project`` (its
   /invocations: what SageMaker calls) and ``project-openai`` (the project engine's
   /v1/chat/completions: the same engine without vLLM's /invocations adapter). The targets take
   turns, the order rotating every round, so machine load falls on all of them alike; each round
   gives a ratio project/bare and a TTFT difference; the report has their medians and ranges.
   The engine that is not being measured is idle: its CPU seconds during the others' runs are
   recorded.
2. nginx: the project's code/nginx.conf (TensorRT-LLM's; SGLang 0.5.4.post1's /invocations
   location is the same) run by the real nginx in front of tests/standins/sse_server.py (a known
   time to first token and gap between tokens; TCP_NODELAY on, as uvicorn under the real engines
   sets it), measured directly and through nginx the same way: the proxy's added TTFT and its
   throughput ratio.

    python -m benchmarks.serving_overhead                 # about 3 minutes on 2 cores
    python -m benchmarks.serving_overhead --only nginx    # the stand-in part only (no engine)

Writes results/<date>-serving-overhead.json (every run) and .md (the summary). Not a test.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ENGINE_VENV = Path(os.environ.get("ENGINE_VENV", ROOT / "build" / "engine-venv"))
PROJECT_PORT = 8080   # code/serve's vLLM port: fixed by the template (FIXED_ARGS), not settable
# The CPU settings (engines-2026.md section 5), as tests/deploy/test_bench.py gives them to the
# project; the bare engine gets the same values as flags.
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "HF_HUB_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
PROJECT_ENV = {"ENGINE_ARG_DTYPE": "float32", "ENGINE_ARG_MAX_MODEL_LEN": "1024",
               "ENGINE_ARG_DISTRIBUTED_EXECUTOR_BACKEND": "uni", "ENGINE_ARG_ENFORCE_EAGER": "true",
               "SM_VLLM_MAX_NUM_SEQS": "8"}
BARE_FLAGS = ["--dtype", "float32", "--max-model-len", "1024", "--distributed-executor-backend", "uni",
              "--enforce-eager", "--max-num-seqs", "8"]
ENGINE_TARGETS = ("bare", "project", "project-openai")
NGINX_TARGETS = ("direct", "nginx")
STANDIN_TTFT_S, STANDIN_GAP_S = 0.05, 0.01


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- pure: order, summary, report

def rotation(targets: tuple[str, ...], rounds: int) -> list[list[str]]:
    """Each round's order: the targets rotated by one every round (A B C, B C A, C A B, ...), so
    that no target always runs first (after the idle gap) or last."""
    n = len(targets)
    return [[targets[(r + i) % n] for i in range(n)] for r in range(rounds)]


def spread(values: list[float]) -> dict:
    """Median, min and max of a list (None for an empty one)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize(runs: list[dict], base: str, others: tuple[str, ...]) -> dict:
    """``runs``: one per (round, target): {"round", "target", "levels": deploy bench's levels}.
    Per concurrency level: each target's throughput, TTFT p50 and prompt tokens (median and range
    over rounds), and for every other target its per-round ratio of throughput to ``base``'s and
    its TTFT p50 difference in ms, summarized the same way."""
    by = {}
    for run in runs:
        for level in run["levels"]:
            by.setdefault(level["concurrency"], {}).setdefault(run["round"], {})[run["target"]] = level
    out = {}
    for concurrency, rounds in sorted(by.items()):
        targets = {}
        for target in (base, *others):
            levels = [r[target] for _, r in sorted(rounds.items()) if target in r]
            targets[target] = {
                "output_tokens_per_s": spread([lv["output_tokens_per_s"] for lv in levels]),
                "ttft_p50_ms": spread([lv["ttft_s"]["p50"] * 1000 for lv in levels]),
                "itl_p50_ms": spread([lv["itl_s"]["p50"] * 1000 for lv in levels]),
                "mean_input_tokens": spread([lv["mean_input_tokens"] for lv in levels
                                             if lv.get("mean_input_tokens") is not None]),
                "errors": sum(lv["errors"] for lv in levels),
            }
        against = {}
        for target in others:
            pairs = [(r[target], r[base]) for _, r in sorted(rounds.items()) if target in r and base in r]
            against[target] = {
                "throughput_ratio": spread([t["output_tokens_per_s"] / b["output_tokens_per_s"] for t, b in pairs]),
                "ttft_p50_diff_ms": spread([(t["ttft_s"]["p50"] - b["ttft_s"]["p50"]) * 1000 for t, b in pairs]),
            }
        out[concurrency] = {"targets": targets, f"against_{base}": against}
    return out


def _fmt(s: dict, digits: int = 2, sign: bool = False) -> str:
    if s["median"] is None:
        return "-"
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{f.format(s['median'])} ({f.format(s['min'])} .. {f.format(s['max'])})"


def markdown_section(title: str, summary: dict, base: str, note: str = "") -> list[str]:
    """One table per part: a row per (concurrency, target): throughput, TTFT p50, ITL p50, prompt
    tokens (medians, ranges in brackets), and against ``base`` the ratio and the TTFT difference."""
    lines = [f"## {title}", ""]
    if note:
        lines += [note, ""]
    lines += [f"| concurrency | target | output tok/s | TTFT p50 (ms) | ITL p50 (ms) | prompt tokens "
              f"| throughput / {base} | TTFT - {base} (ms) |", "|---|---|---|---|---|---|---|---|"]
    for concurrency, level in summary.items():
        against = level[f"against_{base}"]
        for target, t in level["targets"].items():
            a = against.get(target)
            lines.append(f"| {concurrency} | {target} | {_fmt(t['output_tokens_per_s'], 0)} | {_fmt(t['ttft_p50_ms'], 1)} "
                         f"| {_fmt(t['itl_p50_ms'], 2)} | {_fmt(t['mean_input_tokens'], 0)} "
                         f"| {_fmt(a['throughput_ratio'], 3) if a else '1'} "
                         f"| {_fmt(a['ttft_p50_diff_ms'], 1, sign=True) if a else '0'} |")
    lines.append("")
    return lines


def nginx_conf(conf: str, engine_port: int, front_port: int, work: Path) -> str:
    """The project's code/nginx.conf moved for a run here (as tests/test_serve.py does): the engine
    on ``engine_port``, nginx on 127.0.0.1:``front_port``, its /tmp files in ``work``."""
    for old in ("127.0.0.1:8081", "listen 8080", "/tmp/"):
        if old not in conf:
            raise ValueError(f"the nginx.conf has no {old!r}: the template changed; update nginx_conf")
    return (conf.replace("127.0.0.1:8081", f"127.0.0.1:{engine_port}")
            .replace("listen 8080", f"listen 127.0.0.1:{front_port}").replace("/tmp/", f"{work}/"))


def descendants(stats: dict[int, tuple[int, float]], root: int) -> set[int]:
    """``stats``: pid -> (parent pid, CPU seconds). ``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, []))
    return seen


# ---------------------------------------------------------------- processes

def process_stats() -> dict[int, tuple[int, float]]:
    """Every process: (parent pid, user + system CPU seconds), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return out


def tree_cpu(root: int) -> float:
    stats = process_stats()
    return sum(stats[p][1] for p in descendants(stats, root) if p in stats)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, logfile: Path, timeout: float = 300) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return time.monotonic() - start
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode}):\n"
                               f"{logfile.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    raise RuntimeError(f"{url}: not ready in {timeout:.0f} s:\n{logfile.read_text(errors='replace')[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group we started (start_new_session), then SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def render(work: Path, server: str) -> Path:
    """A project of the default version of ``server`` for the offline reference model."""
    sys.path.insert(0, str(ROOT / "tests"))
    from copier import run_copy
    from testkit import copy_template

    template = work / "template"
    if not template.exists():
        copy_template(template)
    project = work / f"project-{server}"
    run_copy(str(template), str(project), data={"modelServer": server, "offline": True},
             defaults=True, unsafe=True, quiet=True)
    return project


def deploy_bench(project: Path, url: str, args, out: Path, model: str | None = None) -> list[dict]:
    """``python -m deploy bench --url URL`` of ``project`` (a subprocess, as a user runs it); its levels."""
    cmd = [sys.executable, "-m", "deploy", "bench", "--url", url, "--concurrency", args.concurrency,
           "--requests", str(args.requests), "--max-tokens", str(args.max_tokens), "--prompt-tokens",
           str(args.prompt_tokens), "--ignore-eos", "--no-price-api", "--out", str(out)]
    if model:
        cmd += ["--model", model]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HF_TOKEN", "MODEL_LOCK"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    r = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"deploy bench {url} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    levels = json.loads((out / "bench.json").read_text())["levels"]
    for level in levels:
        if level["errors"]:
            raise RuntimeError(f"deploy bench {url}: {level['errors']} errors at concurrency {level['concurrency']}")
    return levels


# ---------------------------------------------------------------- the two parts

def engine_part(args, work: Path) -> dict:
    python = ENGINE_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"the real vLLM engine is not installed at {ENGINE_VENV}: run tools/engine_venv.sh")
    for port, what in ((PROJECT_PORT, "the project's code/serve (fixed by the template)"),
                       (args.bare_port, "the bare engine (--bare-port)")):
        if not port_free(port):
            raise SystemExit(f"port {port} is in use: {what} needs it")
    if args.bare_port == PROJECT_PORT:
        raise SystemExit(f"--bare-port must differ from {PROJECT_PORT}, the project's port")
    model_dir = work / "opt-ml-model"
    subprocess.run([str(python), str(ROOT / "tests" / "engine" / "make_tiny_model.py"), str(model_dir)],
                   check=True, capture_output=True, timeout=300)
    project = render(work, "vllm")
    lock = json.loads((project / "model.lock.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_ARG_", "SM_VLLM_", "HF_TOKEN", "VLLM_"))}
    env.update(VLLM_ENV, PATH=f"{ENGINE_VENV / 'bin'}:{env['PATH']}")
    project_cmd = [str(project / "code" / "serve"), "serve"]
    bare_cmd = [str(ENGINE_VENV / "bin" / "vllm"), "serve", str(model_dir), "--host", "127.0.0.1",
                "--port", str(args.bare_port), *BARE_FLAGS]
    printed = subprocess.run(project_cmd, env={**env, **PROJECT_ENV, "MODEL_DIR": str(model_dir),
                                               "SERVE_PRINT_COMMAND": "1"},
                             capture_output=True, text=True, timeout=60)
    procs, logs = {}, {}
    result = {"project_command": json.loads(printed.stdout.strip().splitlines()[-1]) if printed.returncode == 0
              else printed.stderr[-1000:], "bare_command": bare_cmd[1:],
              "served_model_name": lock["server"].get("served_model_name") or lock["model"]["id"],
              "runs": [], "idle_cpu_s": []}
    try:
        # one after the other: two engines starting at once on 2 cores take longer than in turn
        for name, cmd, extra, url in (
                ("bare", bare_cmd, {}, f"http://127.0.0.1:{args.bare_port}/health"),
                ("project", project_cmd, {**PROJECT_ENV, "MODEL_DIR": str(model_dir)},
                 f"http://127.0.0.1:{PROJECT_PORT}/ping")):
            logs[name] = work / f"{name}.log"
            log(f"engine: starting {name}")
            procs[name] = subprocess.Popen(cmd, env={**env, **extra}, stdout=logs[name].open("wb"),
                                           stderr=subprocess.STDOUT, start_new_session=True)
            result[f"{name}_ready_s"] = round(wait_ready(url, procs[name], logs[name]), 1)
        urls = {"bare": (f"http://127.0.0.1:{args.bare_port}/v1/chat/completions", str(model_dir)),
                "project": (f"http://127.0.0.1:{PROJECT_PORT}", None),
                "project-openai": (f"http://127.0.0.1:{PROJECT_PORT}/v1/chat/completions", None)}
        owner = {"bare": "bare", "project": "project", "project-openai": "project"}
        for target in ENGINE_TARGETS:   # the first batches of each shape are slow on the CPU engine
            log(f"engine: warm-up {target}")
            deploy_bench(project, urls[target][0], args, work / f"warm-{target}", model=urls[target][1])
        for number, order in enumerate(rotation(ENGINE_TARGETS, args.rounds)):
            for target in order:
                idle = "project" if owner[target] == "bare" else "bare"
                before = tree_cpu(procs[idle].pid)
                log(f"engine: round {number + 1}/{args.rounds}, {target}")
                levels = deploy_bench(project, urls[target][0], args, work / f"r{number}-{target}",
                                      model=urls[target][1])
                result["idle_cpu_s"].append(round(tree_cpu(procs[idle].pid) - before, 2))
                result["runs"].append({"round": number, "target": target, "levels": levels})
    finally:
        for proc in procs.values():
            stop(proc)
    result["summary"] = summarize(result["runs"], "bare", ("project", "project-openai"))
    return result


def nginx_part(args, work: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "standins"))
    from sse_server import Server

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is not installed (apt-get install -y nginx)")
    project = render(work, args.proxy_server)
    conf_src = project / "code" / "nginx.conf"
    if not conf_src.exists():
        raise SystemExit(f"{args.proxy_server}'s project has no code/nginx.conf")
    front = args.nginx_port or free_port()
    if not port_free(front):
        raise SystemExit(f"port {front} is in use (--nginx-port)")
    nwork = work / "nginx"
    nwork.mkdir()
    result = {"server": args.proxy_server, "standin_ttft_s": STANDIN_TTFT_S, "standin_gap_s": STANDIN_GAP_S,
              "runs": []}
    with Server(ttft=STANDIN_TTFT_S, token_delay=STANDIN_GAP_S) as standin:
        # TCP_NODELAY on the stand-in's sockets, as uvicorn (under vLLM, SGLang, trtllm-serve) sets
        # it: without it Nagle holds a chunk behind nginx's delayed ACK (benchmarks/proxy.py)
        standin.httpd.RequestHandlerClass.disable_nagle_algorithm = True
        port = int(standin.url.rsplit(":", 1)[1])
        (nwork / "nginx.conf").write_text(nginx_conf(conf_src.read_text(), port, front, nwork))
        proc = subprocess.Popen([nginx, "-p", str(nwork), "-c", str(nwork / "nginx.conf"), "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=(nwork / "stderr.log").open("wb"),
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 10
            while not _connects(front):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start:\n{(nwork / 'stderr.log').read_text()[-2000:]}")
                time.sleep(0.1)
            urls = {"direct": f"{standin.url}/v1/chat/completions", "nginx": f"http://127.0.0.1:{front}"}
            for target in NGINX_TARGETS:
                deploy_bench(project, urls[target], args, work / f"nginx-warm-{target}")
            for number, order in enumerate(rotation(NGINX_TARGETS, args.rounds)):
                for target in order:
                    log(f"nginx: round {number + 1}/{args.rounds}, {target}")
                    result["runs"].append({"round": number, "target": target, "levels": deploy_bench(
                        project, urls[target], args, work / f"nginx-r{number}-{target}")})
        finally:
            stop(proc)
    result["nginx_version"] = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    result["summary"] = summarize(result["runs"], "direct", ("nginx",))
    return result


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.serving_overhead", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--requests", type=int, default=16, help="requests per concurrency level and run (16)")
    p.add_argument("--concurrency", default="1,4", help="concurrency levels (1,4)")
    p.add_argument("--max-tokens", type=int, default=32, help="output tokens per request, ignore_eos (32)")
    p.add_argument("--prompt-tokens", type=int, default=64, help="words per synthetic prompt (64)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of the rotating order (3)")
    p.add_argument("--bare-port", type=int, default=8000, help="port of the bare engine (8000); the project's "
                   f"code/serve listens on {PROJECT_PORT}, which the template fixes: it must be free")
    p.add_argument("--nginx-port", type=int, default=0, help="nginx's port for the proxy part (default: a free one)")
    p.add_argument("--proxy-server", default="tensorrt-llm", choices=["tensorrt-llm", "sglang"],
                   help="whose code/nginx.conf (tensorrt-llm; sglang's default version has no nginx)")
    p.add_argument("--only", default="engine,nginx", help="parts to run: engine, nginx (both)")
    p.add_argument("--out", default=str(RESULTS), help="folder of the results (benchmarks/results)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, every bench.json)")
    args = p.parse_args(argv)
    parts = {x.strip() for x in args.only.split(",") if x.strip()}
    if not parts or parts - {"engine", "nginx"}:
        p.error("--only takes engine, nginx")
    if args.proxy_server == "sglang":
        p.error("sglang's default version runs without nginx; use tensorrt-llm (SGLang 0.5.4.post1's "
                "/invocations location is the same)")

    sys.path.insert(0, str(ROOT))
    from benchmarks.common import machine

    work = Path(tempfile.mkdtemp(prefix="serving-overhead-"))
    started = datetime.datetime.now(datetime.timezone.utc)
    report = {"schema": "serving-overhead/1", "started_at": started.isoformat(timespec="seconds"),
              "machine": machine(), "load_average_start": os.getloadavg(),
              "load": {"requests": args.requests, "concurrency": args.concurrency, "max_tokens": args.max_tokens,
                       "prompt_tokens": args.prompt_tokens, "rounds": args.rounds, "ignore_eos": True}}
    try:
        if "engine" in parts:
            report["engine"] = engine_part(args, work)
        if "nginx" in parts:
            report["nginx"] = nginx_part(args, work)
    finally:
        if args.keep:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["load_average_end"] = os.getloadavg()
    report["seconds"] = round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{started.date().isoformat()}-serving-overhead" + ("" if parts == {"engine", "nginx"} else
                                                             "-" + "-".join(sorted(parts)))
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / f"{stem}.md").write_text("\n".join(markdown(report)) + "\n")
    print("\n".join(markdown(report)))
    log(f"wrote {out / stem}.json and .md")
    return 0


def markdown(report: dict) -> list[str]:
    m, load = report["machine"], report["load"]
    lines = ["# Serving overhead", "",
             f"{report['started_at']}, {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, template "
             f"{m['template_commit']}; load average {report['load_average_start'][0]:.2f} at the start, "
             f"{report['load_average_end'][0]:.2f} at the end; {report['seconds']} s.",
             f"Load per run: `python -m deploy bench --url`, concurrency {load['concurrency']}, {load['requests']} "
             f"requests per level, {load['prompt_tokens']}-word prompts, {load['max_tokens']} output tokens "
             f"(ignore_eos); {load['rounds']} rounds in a rotating order. Medians over the rounds, the range "
             "in brackets; the ratio and difference columns are per round, then summarized.", ""]
    if "engine" in report:
        e = report["engine"]
        lines += markdown_section(
            "The project's serve path against the bare engine (real vLLM CPU engine, tiny model)", e["summary"],
            "bare", f"bare: `vllm {' '.join(e['bare_command'])}`; project: code/serve runs "
            f"`{' '.join(e['project_command']) if isinstance(e['project_command'], list) else e['project_command']}`."
            f" Ready after {e['bare_ready_s']} s (bare) and {e['project_ready_s']} s (project). CPU seconds of the "
            f"idle engine during each run: {spread(e['idle_cpu_s'])['median']:.2f} median, "
            f"{max(e['idle_cpu_s']):.2f} at most.")
    if "nginx" in report:
        n = report["nginx"]
        lines += markdown_section(
            f"nginx ({n['server']}'s code/nginx.conf) in front of a streaming stand-in", n["summary"], "direct",
            f"{n['nginx_version']}; tests/standins/sse_server.py: first token after {n['standin_ttft_s'] * 1000:.0f} "
            f"ms, then one every {n['standin_gap_s'] * 1000:.0f} ms, TCP_NODELAY; direct: its "
            "/v1/chat/completions; nginx: /invocations, proxied to it.")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
