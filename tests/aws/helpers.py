"""Shared helpers for the deploy tool's tests (tests/deploy/): rendering, a hand-made project, moto_server."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DEPLOY = ROOT / "template" / "deploy"
HERE = Path(__file__).resolve().parent
FAKE_TOKEN = "hf_FAKEtokenDoNotLeak0123456789abcdef"
ACCOUNT = "123456789012"

# A generated project's lock: the golden vLLM project's (tests/golden/, which tests/test_golden.py keeps
# equal to what the template renders now), for the tests that need a project without rendering one.
VLLM_DEFAULT = json.loads((ROOT / "generator" / "data" / "engines.json").read_text())["vllm"]["default"]
GENERATED_LOCK = json.loads((ROOT / "tests" / "golden" / f"vllm-{VLLM_DEFAULT}" / "model.lock.json").read_text())
HAND_MADE_LOCK = GENERATED_LOCK   # the name tests/deploy/ still uses


def render(dst: Path, template: Path | None = None, **data) -> Path:
    """Render a project with copier: from ``template``, a plain copy of the template (conftest's
    ``template_dir``: no git clone), else from this repository's HEAD plus local changes."""
    import warnings

    import copier

    answers = {"modelName": "Qwen/Qwen2.5-0.5B-Instruct", "offline": True}
    answers.update(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(str(template or ROOT), str(dst), data=answers, defaults=True, unsafe=True,
                        vcs_ref=None if template else "HEAD", quiet=True)
    return dst


def hand_made(dst: Path, lock: dict | None = None) -> Path:
    """A project with just deploy/, model.lock.json (GENERATED_LOCK unless ``lock``) and its schema (no copier)."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TEMPLATE_DEPLOY, dst / "deploy",
                    ignore=shutil.ignore_patterns("{%*", "*.jinja", "__pycache__"))
    (dst / "model.lock.json").write_text(json.dumps(lock or GENERATED_LOCK, indent=2))
    shutil.copy2(ROOT / "template" / "model.lock.schema.json", dst / "model.lock.schema.json")
    return dst


def make_gated(project: Path, secret_name: str | None = None) -> dict:
    lock_path = project / "model.lock.json"
    lock = json.loads(lock_path.read_text())
    lock["model"]["gated"] = "manual"  # what the hub says (and the lock holds) for a gated repository
    lock["project"]["hf_token_secret_name"] = secret_name or f"{lock['project']['name']}/hf-token"
    lock_path.write_text(json.dumps(lock, indent=2))
    return lock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra) -> dict:
    """An environment with no real AWS configuration in it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SAGEMAKER_", "ECR_", "HF_", "HUGGING_FACE"))}
    env.update({
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


RECORDER = HERE / "recorder"


def stop_process(proc: subprocess.Popen, log) -> None:
    """End a server the tests started (terminate, then kill after 10 s) and close its log."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.close()


class Moto:
    """moto_server (through tests/aws/moto_launcher.py) on 127.0.0.1.

    Every AWS request a command run with env() makes is recorded (tests/aws/recorder) in
    request_log; take_requests() returns and clears them, check_requests() validates
    them against botocore's service model (tests/aws/botocore_check.py).
    """

    def __init__(self, workdir: Path) -> None:
        self.request_log = workdir / "requests.jsonl"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "moto.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "moto_launcher.py"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not start: {(workdir / 'moto.log').read_text()}")
                time.sleep(0.2)

    def env(self, **extra) -> dict:
        path = os.pathsep.join(p for p in (str(RECORDER), os.environ.get("PYTHONPATH", "")) if p)
        return clean_env(AWS_ENDPOINT_URL=self.url, AWS_ACCESS_KEY_ID="testing",
                         AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                         DEPLOY_POLL_SECONDS="1", PYTHONPATH=path, AWS_REQUEST_LOG=str(self.request_log),
                         **extra)

    def take_requests(self) -> list[dict]:
        """The requests recorded since the last call, in order; clears the log."""
        from aws import botocore_check

        calls = botocore_check.load(self.request_log)
        if self.request_log.exists():
            everything = os.environ.get("AWS_REQUEST_LOG_ALL")  # to list what a whole test run covered
            if everything:
                with open(everything, "a", encoding="utf-8") as fh:
                    fh.write(self.request_log.read_text(encoding="utf-8"))
            self.request_log.unlink()
        return calls

    def check_requests(self, allow: tuple[str, ...] = ()) -> list[dict]:
        """take_requests(), asserting each one is valid for botocore's service model
        (but for problems naming one of `allow`: a test that sends a wrong value on purpose)."""
        from aws import botocore_check

        calls = self.take_requests()
        problems = [p for p in botocore_check.check_all(calls) if not any(a in p for a in allow)]
        assert not problems, "requests botocore's service model refuses:\n" + "\n".join(problems)
        return calls

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def set_endpoint_results(self, results: list[dict]) -> None:
        req = urllib.request.Request(
            self.url + "/moto-api/static/sagemaker/endpoint-results",
            data=json.dumps({"account_id": ACCOUNT, "region": "us-east-1", "results": results}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def stop(self) -> None:
        stop_process(self.proc, self.log)


def put_image(moto: Moto, repo: str, tag: str, region: str = "us-east-1") -> None:
    """Register an image in moto's ECR, for deploy's check that it was pushed."""
    ecr = moto.client("ecr", region)
    ecr.create_repository(repositoryName=repo)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                           "digest": "sha256:" + "0" * 64}, "layers": []}
    ecr.put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag)


def requests_for(calls: list[dict], operation: str) -> list[dict]:
    """The parameters of each recorded request for one operation."""
    return [c["params"] for c in calls if c["operation"] == operation]
