"""deploy/build.sh and deploy/push.sh for real: a generated vLLM project is built on the vLLM
stand-in image and pushed to a local registry (Debian's docker-registry) that stands in for
ECR, with moto_server answering the ECR API (create-repository, describe, login password).

Needs docker and /usr/bin/docker-registry: without them the test skips, with CI=true it fails.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws import helpers  # noqa: E402
from container_helpers import (build_standin, docker_available, ensure_base_image,  # noqa: E402
                               grep_stream)

pytestmark = pytest.mark.aws
REGISTRY_BIN = "/usr/bin/docker-registry"
VERSION = "1.4.2"


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the push test needs {why} (CI=true)")
    pytest.skip(f"the push test needs {why}")


@pytest.fixture(scope="module")
def docker_ready(tmp_path_factory):
    if not shutil.which("aws"):
        _unavailable("the AWS CLI (pip install awscli)")
    try:
        import flask  # noqa: F401
    except ImportError:
        _unavailable("moto[server]")
    ok, why = docker_available()
    if not ok:
        _unavailable(f"docker ({why})")
    if not os.access(REGISTRY_BIN, os.X_OK):
        _unavailable(f"{REGISTRY_BIN} (apt-get install docker-registry)")
    try:
        ensure_base_image(tmp_path_factory.mktemp("base"))
    except Exception as exc:  # noqa: BLE001
        _unavailable(f"the stand-in base image ({exc})")
    # The stand-in of the default vLLM version, tagged as its image (what a rendered project builds FROM).
    engines = json.loads((helpers.ROOT / "hooks" / "data" / "engines.json").read_text())
    build_standin(f"vllm@{engines['vllm']['default']}", tmp_path_factory.mktemp("standin"))
    return True


class Registry:
    """docker-registry serving plain HTTP on 127.0.0.1 (Docker trusts 127.0.0.0/8 without TLS)."""

    def __init__(self, workdir: Path) -> None:
        self.port = helpers.free_port()
        self.host = f"127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n")
        self.log = open(workdir / "registry.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"docker-registry did not start: {(workdir / 'registry.log').read_text()}")
                time.sleep(0.1)

    def tags(self, repo: str) -> list[str]:
        with urllib.request.urlopen(f"http://{self.host}/v2/{repo}/tags/list", timeout=5) as resp:
            return json.load(resp).get("tags") or []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry")
    yield reg
    reg.stop()


@pytest.fixture
def moto(tmp_path):
    server = helpers.Moto(tmp_path)
    yield server
    server.stop()


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], capture_output=True, text=True, check=True).stdout.strip()


def test_build_and_push_to_local_registry(docker_ready, registry, moto, tmp_path):
    name = f"push-{uuid.uuid4().hex[:8]}"
    proj = helpers.render(tmp_path / "proj", modelServer="vllm", projectName=name)
    # A local secret the image must never contain (.env is git- and docker-ignored).
    (proj / ".env").write_text(f"HF_TOKEN={helpers.FAKE_TOKEN}\n")
    git(proj, "init", "-q")
    git(proj, "add", "-A")
    git(proj, "commit", "-qm", "generated")
    git(proj, "tag", f"v{VERSION}")
    sha = git(proj, "rev-parse", "--short", "HEAD")
    tag = f"{VERSION}-{sha}"

    docker_config = tmp_path / "docker-config"  # the login of push.sh lands here, not in ~/.docker
    docker_config.mkdir()
    env = moto.env(ECR_REGISTRY=registry.host, HF_TOKEN=helpers.FAKE_TOKEN, DOCKER_CONFIG=str(docker_config))
    remote = f"{registry.host}/{name}"
    local_refs = [f"{name}:{tag}", f"{name}:latest", f"{remote}:{tag}", f"{remote}:{VERSION}", f"{remote}:{sha}"]
    try:
        result = helpers.run(proj, "build.sh", env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{name}:{tag}"
        assert f"==> built {name}:{tag}" in result.stderr

        result = helpers.run(proj, "push.sh", env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{remote}:{tag}"
        assert f"==> creating ECR repository {name}" in result.stderr
        assert helpers.FAKE_TOKEN not in result.stdout + result.stderr
        assert sorted(registry.tags(name)) == sorted([tag, VERSION, sha])

        (repo,) = moto.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
        assert repo["imageScanningConfiguration"] == {"scanOnPush": True}

        # Again: the repository is reused and the same tags are pushed.
        result = helpers.run(proj, "push.sh", env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        assert f"==> ECR repository {name} exists" in result.stderr
        assert sorted(registry.tags(name)) == sorted([tag, VERSION, sha])

        # What the registry holds (pulled back) has no token in any layer, config or history.
        subprocess.run(["docker", "rmi", f"{remote}:{tag}"], capture_output=True, check=True)
        subprocess.run(["docker", "pull", "-q", f"{remote}:{tag}"], capture_output=True, check=True)
        token = helpers.FAKE_TOKEN.encode()
        assert grep_stream(["docker", "save", f"{remote}:{tag}"], [token, b"HF_TOKEN=hf_"]) == set()
        history = subprocess.run(["docker", "history", "--no-trunc", f"{remote}:{tag}"],
                                 capture_output=True, text=True, check=True).stdout
        assert "COPY" in history or "/opt/program" in history, history
        assert helpers.FAKE_TOKEN not in history

        # Uncommitted changes: only the -dirty tag, no moving <sha> or <version> tag.
        (proj / "notes.txt").write_text("local change\n")
        result = helpers.run(proj, "build.sh", env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        result = helpers.run(proj, "push.sh", "--no-login", env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{remote}:{tag}-dirty"
        assert sorted(registry.tags(name)) == sorted([tag, VERSION, sha, f"{tag}-dirty"])
        local_refs += [f"{name}:{tag}-dirty", f"{remote}:{tag}-dirty"]
        # Every AWS request build.sh and push.sh made is valid for botocore's service model.
        assert {c["operation"] for c in moto.check_requests()} >= {"GetCallerIdentity", "CreateRepository"}
    finally:
        subprocess.run(["docker", "rmi", *local_refs], capture_output=True)
