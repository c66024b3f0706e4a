"""Proxy: nginx (8080) in front of the stand-in engine (127.0.0.1:8081) in the built SGLang and
TensorRT-LLM project images: per-request latency through nginx vs direct, and the time to the
first streamed byte, measured inside the container with `docker exec`."""
from __future__ import annotations

import json
import time
from pathlib import Path

from .common import MODEL, PROXIED, log, median, pct, r3

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
