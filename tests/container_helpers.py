"""Helpers for tests/test_containers.py: docker wrappers, a Secrets Manager stand-in, HTTP probes.

Only loopback addresses carry traffic: published ports are bound to 127.0.0.1, and the runs that
need the host's Secrets Manager stand-in use --network host with 127.0.0.1 endpoints.
"""
from __future__ import annotations

import http.client
import json
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = pathlib.Path(__file__).resolve().parents[1]
STANDINS = ROOT / "tests" / "standins"
BASE_IMAGE = "local/bookworm-py"
# Every image the tests build carries this label, and so does every image built FROM one of them
# (Docker copies a parent's labels), so the images a rebuild leaves untagged can be found and removed.
TEST_LABEL = "sagemaker-llm-template.test"
BUILT_IMAGES = False    # set once this process has built an image (conftest prunes at session end)

def _catalog() -> dict:
    data = json.loads((ROOT / "generator" / "data" / "engines.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


# Every catalog entry, "server@version" -> image: one stand-in image each, tagged with the image name.
CASES = {f"{server}@{version}": entry["image"]
         for server, spec in _catalog().items() for version, entry in spec["versions"].items()}
STANDIN_DIRS = {"vllm": "vllm", "sglang": "sglang", "tensorrt-llm": "trtllm", "lmi": "lmi", "djl": "djl"}
DEBIAN_MIRROR_DEFAULT = "http://deb.debian.org/debian"


def sh(*cmd, timeout=600, check=False, input=None, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       input=input, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def docker_available() -> tuple[bool, str]:
    if not shutil.which("docker"):
        return False, "docker CLI not found"
    try:
        r = sh("docker", "info", timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"docker info failed: {e}"
    if r.returncode != 0:
        return False, "docker daemon not reachable: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return True, ""


def image_exists(ref: str) -> bool:
    return sh("docker", "image", "inspect", ref, timeout=60).returncode == 0


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (only Debian's package host may be reachable)."""
    paths = [pathlib.Path("/etc/apt/sources.list")] + sorted(pathlib.Path("/etc/apt/sources.list.d").glob("*"))
    for p in paths:
        try:
            text = p.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("URIs:") and "/debian" in line and "security" not in line:
                return line.split()[1]
            if line.startswith("deb ") and "/debian" in line and "security" not in line:
                parts = [x for x in line.split() if x.startswith("http")]
                if parts:
                    return parts[0]
    return DEBIAN_MIRROR_DEFAULT


def ensure_base_image(workdir: pathlib.Path) -> None:
    """debootstrap a minimal bookworm with python3 and import it, unless it is already there."""
    if image_exists(BASE_IMAGE):
        return
    if not shutil.which("debootstrap") and not os.path.exists("/usr/sbin/debootstrap"):
        raise RuntimeError("debootstrap is not installed (run .ci/container-setup.sh)")
    if os.geteuid() != 0:
        raise RuntimeError("building the stand-in base image needs root (debootstrap)")
    rootfs = workdir / "rootfs"
    sh("debootstrap", "--variant=minbase", "--include=python3,curl,ca-certificates,bash",
       "bookworm", rootfs, debian_mirror(), timeout=1200, check=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    imp = subprocess.run(["docker", "import", "-", BASE_IMAGE], stdin=tar.stdout,
                         capture_output=True, text=True, timeout=600)
    tar.stdout.close()
    tar.wait()
    if imp.returncode != 0:
        raise RuntimeError("docker import failed: " + imp.stderr)
    shutil.rmtree(rootfs, ignore_errors=True)


def build_standin(case: str, workdir: pathlib.Path) -> None:
    """Build the stand-in of one catalog entry ("server@version"), tagged with its image name. The
    context is tests/standins plus catalog/flags.json (the version's flag table) and catalog/version."""
    server, version = case.split("@", 1)
    context = workdir / case.replace("@", "-")
    shutil.copytree(STANDINS, context, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (context / "catalog").mkdir()
    from generator import servers      # the version's table as the project sees it (LMI: with its vLLM's flags)
    (context / "catalog" / "flags.json").write_text(json.dumps(servers.flag_table(server, version)))
    (context / "catalog" / "version").write_text(version + "\n")
    build_image(CASES[case], context, "-q", "-f", context / STANDIN_DIRS[server] / "Dockerfile",
                timeout=900, check=True)


def build_image(tag: str, context, *args, timeout=1200, check=False):
    """`docker build` with the tests' label; a failed step's container is removed too (--force-rm)."""
    global BUILT_IMAGES
    BUILT_IMAGES = True
    return sh("docker", "build", "--force-rm", "--label", f"{TEST_LABEL}=1", "-t", tag, *args, context,
              timeout=timeout, check=check)


def prune_test_images() -> list[str]:
    """Remove the untagged images the tests left (an image whose tag a rebuild moved on, a failed
    build's steps): a project build of a 2.6 GB engine image per CI run filled the disk. Images
    without the tests' label and every tagged image stay. Returns the removed image ids."""
    r = sh("docker", "image", "prune", "-f", "--filter", f"label={TEST_LABEL}", timeout=600)
    return [line.split(":", 2)[-1].strip() for line in r.stdout.splitlines() if line.startswith("deleted: sha256:")]


# ---------------------------------------------------------------- containers
def run_detached(image, *args, env=None, env_file=None, network=None, publish=True, name=None):
    cmd = ["docker", "run", "-d"]
    if name:
        cmd += ["--name", name]
    if network:
        cmd += ["--network", network]
    elif publish:
        cmd += ["-p", "127.0.0.1::8080"]
    if env_file:
        cmd += ["--env-file", str(env_file)]
    for k, v in (env or {}).items():
        cmd += ["-e", f"{k}={v}"]
    cmd += [image, *args]
    r = sh(*cmd, timeout=120, check=True)
    return r.stdout.strip()


def host_port(cid: str) -> int:
    out = sh("docker", "port", cid, "8080/tcp", check=True).stdout.strip().splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def logs(cid: str) -> str:
    r = sh("docker", "logs", cid, timeout=60)
    return r.stdout + r.stderr


def state(cid: str) -> dict:
    r = sh("docker", "inspect", "-f", "{{json .State}}", cid, timeout=60)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def remove(cid: str) -> None:
    sh("docker", "rm", "-f", cid, timeout=60)


def received(cid: str) -> dict | None:
    """The stand-in's STANDIN-RECEIVED line (the last one, if the engine was restarted)."""
    found = None
    for line in logs(cid).splitlines():
        if "STANDIN-RECEIVED " in line:
            found = json.loads(line.split("STANDIN-RECEIVED ", 1)[1])
    return found


def wait_exit(cid: str, timeout: float) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        st = state(cid)
        if not st.get("Running", False):
            return st
        time.sleep(0.2)
    return state(cid)


# ---------------------------------------------------------------- HTTP
def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers, body bytes); status None when nothing answers."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = (r.status, dict(r.getheaders()), r.read())
        c.close()
        return out
    except (OSError, http.client.HTTPException):
        return None, {}, b""


def stream(port, path, body, timeout=60):
    """POST and read the answer as it arrives: (status, content type, [(t, line)], t_start)."""
    t0 = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    lines = []
    while True:
        line = r.readline()
        if not line:
            break
        if line.strip():
            lines.append((time.time() - t0, line.decode().rstrip("\r\n")))
    c.close()
    return r.status, r.getheader("Content-Type", ""), lines


def wait_ready(port, timeout=90, path="/ping", cid=None):
    """Poll /ping: ([(t, status)], t_ready or None). Stops early when container cid has exited."""
    t0 = time.time()
    seen = []
    while time.time() - t0 < timeout:
        if cid and len(seen) % 5 == 0 and not state(cid).get("Running", False):
            seen.append((round(time.time() - t0, 2), "container exited"))
            return seen, None
        st, _, _ = request(port, "GET", path, timeout=2)
        seen.append((round(time.time() - t0, 2), st))
        if st == 200:
            return seen, time.time() - t0
        time.sleep(0.2)
    return seen, None


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- Secrets Manager stand-in
class SecretsManagerStandIn:
    """Answers GetSecretValue (POST /, X-Amz-Target: secretsmanager.GetSecretValue) on 127.0.0.1."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.requests: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                target = self.headers.get("X-Amz-Target", "")
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                outer.requests.append({"target": target, "body": body,
                                       "authorization": self.headers.get("Authorization", "")})
                sid = body.get("SecretId")
                if target != "secretsmanager.GetSecretValue":
                    return self._send(400, {"__type": "UnknownOperationException"})
                if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256"):
                    return self._send(400, {"__type": "MissingAuthenticationTokenException"})
                if sid not in outer.secrets:
                    return self._send(400, {"__type": "ResourceNotFoundException",
                                            "message": "Secrets Manager can't find the specified secret."})
                self._send(200, {"ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{sid}-AbCdEf",
                                 "Name": sid, "SecretString": outer.secrets[sid],
                                 "VersionId": "v1", "VersionStages": ["AWSCURRENT"],
                                 "CreatedDate": 1700000000.0})

            def _send(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- argv / properties
ALIASES = {
    "vllm": {"-tp": "--tensor-parallel-size", "-pp": "--pipeline-parallel-size", "-q": "--quantization"},
    "sglang": {"--tp-size": "--tensor-parallel-size", "--model": "--model-path"},
    "tensorrt-llm": {"--tensor_parallel_size": "--tp_size", "--pipeline_parallel_size": "--pp_size",
                     "--moe_expert_parallel_size": "--ep_size",
                     "--free_gpu_memory_fraction": "--kv_cache_free_gpu_memory_fraction",
                     "--config": "--extra_llm_api_options"},
}


def parse_argv(server: str, argv: list[str]) -> dict:
    """Flags as {name: value or True}; the first positional (trtllm MODEL) under 'MODEL'."""
    out, i = {}, 0
    if server in ("tensorrt-llm", "vllm") and argv and argv[0] == "serve":
        argv = argv[1:]
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            name, eq, val = a.partition("=")
            if server == "vllm" and name.startswith("--"):
                name = "--" + name[2:].replace("_", "-")
            name = ALIASES.get(server, {}).get(name, name)
            if eq:
                out[name] = val
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                out[name] = argv[i + 1]
                i += 1
            else:
                out[name] = True
        else:
            out.setdefault("MODEL", a)
        i += 1
    return out


def read_properties(path: pathlib.Path) -> dict:
    props = {}
    for line in path.read_text().splitlines():
        s = line.strip()
        if not s or s[0] in "#!":
            continue
        k, _, v = s.partition("=")
        props[k.strip()] = v.strip()
    return props


def grep_stream(cmd: list[str], needles: list[bytes]) -> set[bytes]:
    """Run cmd and report which needles appear in its stdout (streamed; handles chunk borders)."""
    found, tail = set(), b""
    keep = max(len(n) for n in needles)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        buf = tail + chunk
        for n in needles:
            if n in buf:
                found.add(n)
        tail = buf[-keep:]
    p.wait()
    if p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode})")
    return found
