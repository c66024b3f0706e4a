"""Shared by the benchmark modules: constants, statistics, the environment of a copier run, the
git template copies, the hub with a timeline, and the machine description."""
from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from hubsim import Hub  # noqa: E402

SERVERS = ["vllm", "sglang", "tensorrt-llm", "lmi", "djl"]
PROXIED = ["sglang", "tensorrt-llm"]
MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
TEMPLATE_PATHS = ["copier.yml", "template", "generator", "extensions", "includes"]
LATENCIES = [0.0, 0.2]
TARGET_OVERHEAD_S = 0.8   # issue 22: within 0.8 s of the trivial floor at 0 ms, 1.0 s at 200 ms (one wave)
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
# tests/hubsim.py's Hub records when each request started and ended and counts the sequential
# round trips (``waves``); ``reset`` clears the log between runs.
TimedHub = Hub


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


def copy_template_paths(root: Path, dst: Path) -> None:
    """The files copier needs from a checkout at ``root`` (TEMPLATE_PATHS), without bytecode."""
    for name in TEMPLATE_PATHS:
        s = root / name
        if s.is_dir():
            shutil.copytree(s, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(s, dst / name)


def make_git_template(src_files: dict[str, str] | None, dst: Path, copy_from: Path | None = None) -> Path:
    """A git repo with tags 1.0.0 and 2.0.0 (an empty commit): what `copier update` moves between."""
    dst.mkdir(parents=True)
    if copy_from is not None:
        copy_template_paths(copy_from, dst)
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


def make_shape_template(dst: Path) -> Path:
    """This template's files with no Jinja and no questions: ``template/`` copied as plain files
    (conditional names made plain, the ``.jinja`` suffix dropped), the rest of the repository as it
    is, a one-question copier.yml. What copier itself spends on a template of our size and file
    count (clone, per-file work) shows as this floor's cost over the trivial one."""
    import re
    src = dst.parent / (dst.name + "-src")
    src.mkdir(parents=True)
    copy_template_paths(ROOT, src)   # copier.yml is replaced below
    for path in sorted((src / "template").rglob("*"), key=lambda p: -len(p.parts)):
        if "{%" in path.name and "chat_template" not in path.name or "_copier_conf" in path.name:
            # what a default (vLLM, sagemaker) project does not get; the answers file is made below
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            continue
        plain = re.sub(r"\{%.*?%\}", "", path.name)
        plain = (plain[:-len(".jinja")] if path.is_file() and plain.endswith(".jinja") else plain) or "file"
        if plain.endswith(".jinja"):
            plain += ".txt"
        if plain != path.name:
            path.rename(path.with_name(plain))
    (src / "copier.yml").write_text("_subdirectory: template\n" + TRIVIAL["copier.yml"])
    (src / "template" / "{{_copier_conf.answers_file}}.jinja").write_text(
        TRIVIAL["{{_copier_conf.answers_file}}.jinja"])
    make_git_template(None, dst, copy_from=src)
    shutil.rmtree(src)
    return dst


def copier_cli(args, env, cwd) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one copier CLI run; ``r.cpu_s`` is its CPU time (user + sys, git children
    included), which other load on the machine barely changes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "copier", *args], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=300)
    dt_ = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r.cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        raise RuntimeError(f"copier {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return dt_, r


def import_requests_after_copier(env: dict) -> float:
    """Seconds `import requests` takes in a fresh interpreter that has already imported copier: what
    the generator's hub client adds to a copy that must read the hub."""
    r = subprocess.run([sys.executable, "-c", "import time, copier; t = time.perf_counter(); import requests; "
                        "print(time.perf_counter() - t)"], env=env, capture_output=True, text=True, check=True)
    return float(r.stdout)


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
