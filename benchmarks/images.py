"""Image size: the bytes our layers add on top of each pinned (stand-in) server image."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .common import MODEL, SERVERS, log, r3


def docker_ok() -> tuple[bool, str]:
    from container_helpers import docker_available
    return docker_available()


def generate_offline(work: Path, server: str) -> Path:
    import copier
    dst = work / "images" / server
    env_before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(work / "images" / "cache")
    try:
        copier.run_copy(str(work / "plain"), str(dst), data={"modelName": MODEL, "modelServer": server,
                                                             "offline": True},
                        defaults=True, unsafe=True, quiet=True)
    finally:
        if env_before is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = env_before
    return dst


def bench_images(work: Path) -> dict:
    from container_helpers import IMAGES, build_standin, ensure_base_image, image_exists, sh
    out = {}
    ensure_base_image(work / "base")
    for s in SERVERS:
        if not image_exists(IMAGES[s]):
            log(f"building stand-in {IMAGES[s]}")
            build_standin(s)
        proj = generate_offline(work, s)
        tag = f"bench-project-{s}:latest"
        log(f"docker build {tag}")
        t = time.perf_counter()
        r = sh("docker", "build", "-t", tag, proj, timeout=1800)
        secs = time.perf_counter() - t
        if r.returncode != 0:
            out[s] = {"error": (r.stdout + r.stderr)[-2000:]}
            continue
        base = json.loads(sh("docker", "image", "inspect", IMAGES[s], check=True).stdout)[0]
        mine = json.loads(sh("docker", "image", "inspect", tag, check=True).stdout)[0]
        nbase = len(base["RootFS"]["Layers"])
        hist = sh("docker", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", tag,
                  check=True).stdout.splitlines()
        n_ours = len(hist) - len(sh("docker", "history", "-q", IMAGES[s], check=True).stdout.splitlines())
        layers = []
        for line in hist[:n_ours]:
            size, _, cmd = line.partition("\t")
            cmd = cmd.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
            if size not in ("0B", "0"):
                layers.append({"size": size, "cmd": cmd[:110]})
        du = {}
        for ref in (IMAGES[s], tag):
            r2 = sh("docker", "run", "--rm", "--entrypoint", "sh", ref, "-c",
                    "du -sb /var/cache/apt /var/lib/apt/lists /usr/share/doc 2>/dev/null")
            du[ref] = {line.split()[1]: int(line.split()[0]) for line in r2.stdout.splitlines() if line.strip()}
        apt_added = {k: du[tag].get(k, 0) - du[IMAGES[s]].get(k, 0) for k in du[tag]}
        out[s] = {"apt_dirs_added_bytes": apt_added, "image": tag, "base": IMAGES[s], "base_bytes": base["Size"], "image_bytes": mine["Size"],
                  "added_bytes": mine["Size"] - base["Size"],
                  "added_fs_layers": len(mine["RootFS"]["Layers"]) - nbase,
                  "nonempty_layers": layers, "build_s": r3(secs)}
    return out
