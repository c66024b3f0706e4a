"""The small end-to-end tier: `python -m deploy` as a user runs it (a subprocess, from the project
root) against moto's own server (`python -m moto.server`, unpatched), with AWS_ENDPOINT_URL.

moto's server lacks UpdateEndpoint, inference components and Service Quotas (it answers 500), so
this tier deploys a type moto accepts (ml.m5.large), sees the quota check turn into a warning,
and sees a refused in-place update leave the old endpoint serving; the in-process tests cover
the rest, and validate every request against botocore's model (the subprocess is left as a user
runs it: nothing patched into botocore to record it).
DEPLOY_TEST_PYTHON=/path/to/python (one with boto3, e.g. a 3.10) runs the tool with that interpreter.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from deploy_support import ACCOUNT, TAG

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from aws import helpers  # noqa: E402

pytest.importorskip("flask", reason="moto's server needs moto[server]")
pytestmark = pytest.mark.cli
PYTHON = os.environ.get("DEPLOY_TEST_PYTHON") or sys.executable
COMMANDS = ["build", "push", "deploy", "test", "status", "logs", "cleanup", "secret", "autoscale", "upload-model"]


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("moto-server")
    port = helpers.free_port()
    log = open(workdir / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError((workdir / "moto.log").read_text())
            time.sleep(0.2)
    yield url
    helpers.stop_process(proc, log)


@pytest.fixture
def user(moto_server, rendered, tmp_path):
    """A copy of the generated project, and a way to run `python -m deploy ...` in it as a user does."""
    project = tmp_path / "proj"
    shutil.copytree(rendered, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = helpers.clean_env(
        AWS_ENDPOINT_URL=moto_server, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_MAX_ATTEMPTS="1", IMAGE_TAG=TAG, DEPLOY_POLL_SECONDS="1")
    urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset", data=b"", method="POST")).read()

    def run(*args: str, check: int | None = 0, offline: bool = False) -> subprocess.CompletedProcess:
        """``offline``: no credentials, and nothing listens at AWS_ENDPOINT_URL."""
        use = helpers.clean_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{helpers.free_port()}") if offline else env
        result = subprocess.run([PYTHON, "-m", "deploy", *args], cwd=project, env=use, capture_output=True,
                                text=True, timeout=120)
        if check is not None:
            assert result.returncode == check, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def client(service: str):
        import boto3

        return boto3.client(service, region_name="us-east-1", endpoint_url=moto_server,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    run.client = client
    run.project = project
    return run


def test_help_lists_the_commands(user):
    result = user("--help", offline=True)
    listed = [c for c in COMMANDS if f"    {c} " in result.stdout or f"    {c}\n" in result.stdout]
    assert listed == COMMANDS, result.stdout
    for command in listed:
        # --help calls no AWS: no credentials, nothing listening at AWS_ENDPOINT_URL.
        assert user(command, "--help", offline=True).stdout.startswith("usage: python -m deploy " + command)
    result = user("status", check=1, offline=True)
    assert result.stderr.startswith("error: no usable AWS credentials"), result.stderr


def test_deploy_status_update_refused_cleanup(user):
    lock = __import__("json").loads((user.project / "model.lock.json").read_text())
    name = lock["project"]["name"]
    ecr = user.client("ecr")
    ecr.create_repository(repositoryName=name)
    manifest = ('{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", '
                '"config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, '
                '"digest": "sha256:' + "0" * 64 + '"}, "layers": []}')
    for tag in (TAG, "2.0.0"):
        ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag=tag)

    result = user("deploy", "--instance-type", "ml.m5.large")
    assert result.stdout.strip() == name
    assert "warning: could not read the quota 'ml.m5.large for endpoint usage'" in result.stderr
    assert "InService" in result.stderr
    result = user("status")
    assert f"image: {ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}:{TAG}" in result.stdout

    # moto has no UpdateEndpoint: the update is refused, and the old endpoint still serves.
    result = user("deploy", "--instance-type", "ml.m5.large", "--tag", "2.0.0", check=1)
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and f"The endpoint still serves its previous configuration {name}." in error[0]
    sm = user.client("sagemaker")
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [name]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == [name]
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    user("cleanup", check=1)  # no terminal, no --yes
    result = user("cleanup", "--yes")
    assert f"clean-up of {name} done" in result.stderr
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert "nothing to delete" in user("cleanup", "--yes").stderr
