"""In-process helpers for the tests of the deploy commands build/push, test/stream/async, logs,
secret, autoscale, upload-model and codebuild (tests/deploy/test_build.py, test_invoke.py,
test_logs.py, test_secret.py, test_autoscale.py, test_upload_model.py).

- ``project(tmp_path, monkeypatch, change=None)``: a project folder with model.lock.json (the
  hand-made lock of tests/aws/helpers.py), MODEL_LOCK pointing at it, and an environment with
  no AWS or HF configuration.
- ``Session``: a boto3 Session whose every request is recorded (``calls``) at the point the
  client is about to serialize it; ``check()`` validates them all against botocore's service
  model (tests/aws/botocore_check.py, which adds enums, maximums and patterns to botocore's own
  ParamValidator). ``stub(service)`` gives that service's client a botocore Stubber (for APIs
  moto lacks); its requests are recorded and checked the same way.
- ``run(session, *argv)``: ``python -m deploy ARGV`` in-process (no sleeping); returns
  Result(code, out, err) with what the command wrote to stdout and stderr.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "template"))
sys.path.insert(0, str(ROOT / "tests"))

from aws import botocore_check, helpers  # noqa: E402

FAKE_TOKEN = helpers.FAKE_TOKEN
ACCOUNT = helpers.ACCOUNT
REGION = "us-east-1"


def clean_environment(monkeypatch) -> None:
    for key in list(os.environ):
        if key.startswith(("AWS_", "SAGEMAKER_", "ECR_", "HF_TOKEN", "HUGGING_FACE", "IMAGE_TAG", "ENDPOINT_NAME",
                           "REPO_NAME", "DEPLOY_", "CODEBUILD_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("DEPLOY_POLL_SECONDS", "1")


def project(tmp_path: Path, monkeypatch, change=None) -> tuple[Path, dict]:
    clean_environment(monkeypatch)
    lock = json.loads(json.dumps(helpers.HAND_MADE_LOCK))
    lock["server"]["inference_ami_version"] = None
    if change:
        change(lock)
    proj = tmp_path / "proj"
    proj.mkdir(exist_ok=True)
    (proj / "model.lock.json").write_text(json.dumps(lock, indent=2))
    monkeypatch.setenv("MODEL_LOCK", str(proj / "model.lock.json"))
    monkeypatch.chdir(proj)
    return proj, lock


def set_lock(proj: Path, change) -> dict:
    path = proj / "model.lock.json"
    lock = json.loads(path.read_text())
    change(lock)
    path.write_text(json.dumps(lock, indent=2))
    return lock


class Session(boto3.Session):
    """A boto3 Session that records every request, and can stub a service's client."""

    def __init__(self, credentials: bool = True, **kwargs) -> None:
        if credentials:
            kwargs.setdefault("aws_access_key_id", "testing")
            kwargs.setdefault("aws_secret_access_key", "testing")
        kwargs.setdefault("region_name", REGION)
        kwargs.setdefault("botocore_session", botocore_check.botocore_session())  # the shared model loader
        super().__init__(**kwargs)
        botocore_check.tidy_loader()
        self.calls: list[dict] = []
        self.stubbers: dict[str, Stubber] = {}
        self._stubbed: dict[str, object] = {}
        self.events.register_last("before-parameter-build", self._record, unique_id="cmdkit-recorder")

    def _record(self, params, model, **_kwargs) -> None:
        try:
            kept = copy.deepcopy(params)
        except Exception:  # noqa: BLE001 - a file object in the parameters: keep them as they are
            kept = dict(params)
        self.calls.append({"service": model.service_model.service_name, "operation": model.name, "params": kept})

    def client(self, service_name, *args, **kwargs):
        if service_name in self._stubbed:
            return self._stubbed[service_name]
        return super().client(service_name, *args, **kwargs)

    def stub(self, service: str, region: str = REGION) -> Stubber:
        """The Stubber of ``service``'s client (made once, activated)."""
        if service not in self.stubbers:
            client = super().client(service, region_name=region)
            stubber = Stubber(client)
            stubber.activate()
            self.stubbers[service] = stubber
            self._stubbed[service] = client
        return self.stubbers[service]

    def operations(self) -> list[str]:
        return [c["operation"] for c in self.calls]

    def requests(self, operation: str) -> list[dict]:
        return [c["params"] for c in self.calls if c["operation"] == operation]

    def check(self, allow: tuple[str, ...] = ()) -> list[dict]:
        """Every recorded request is valid for botocore's service model; returns them."""
        problems = [f"{c['service']} {c['operation']}: {p}" for c in self.calls
                    for p in botocore_check.problems(c["service"], c["operation"], c["params"])
                    if not any(a in p for a in allow)]
        assert not problems, "requests botocore's service model refuses:\n" + "\n".join(problems)
        return self.calls


@contextlib.contextmanager
def mocked_session():
    """moto in-process and a recording Session on it; on the way out every request the test made is
    checked against botocore's service model (``Session.check``)."""
    from moto import mock_aws

    with mock_aws():
        session = Session()
        yield session
        session.check()


@pytest.fixture(name="aws")
def session_on_moto(proj):
    """The ``aws`` fixture of the test files built on this kit: ``mocked_session()``'s Session, after
    the file's ``proj`` (cmdkit.project) has set the project up. A file takes it with
    ``from cmdkit import session_on_moto  # noqa: F401`` (it replaces tests/deploy/conftest.py's
    ``aws``, the in-process World of the ``cli`` fixture)."""
    with mocked_session() as session:
        yield session


@dataclass
class Result:
    code: int
    out: str
    err: str

    def errors(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]

    def one_error(self) -> str:
        lines = [line for line in self.err.splitlines() if line.strip()]
        found = self.errors()
        assert len(found) == 1, self.err
        return found[0] if lines else ""


def run(session, *argv: str, stdin: str | None = None) -> Result:
    """``python -m deploy ARGV`` in-process; stdout and stderr captured (also argparse's exits)."""
    from deploy.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin if stdin is not None else "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv), session=session, sleep=lambda _s: None)
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    err.write(exc.code + "\n")
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def moto_endpoint_results(results: list[dict]) -> None:
    """moto's canned InvokeEndpoint answers (in-process, inside mock_aws)."""
    import requests

    requests.post("http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
                  json={"account_id": ACCOUNT, "region": REGION, "results": results}, timeout=5).raise_for_status()


def plain_endpoint(session, name: str, instance_type: str = "ml.g4dn.xlarge", async_output: str | None = None) -> None:
    """A real-time (or asynchronous) endpoint made directly in moto: model, config, endpoint."""
    sm = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION,
                       botocore_session=botocore_check.botocore_session()).client("sagemaker")
    botocore_check.tidy_loader()
    sm.create_model(ModelName=name, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x",
                    PrimaryContainer={"Image": "x"})
    config = {"EndpointConfigName": name, "ProductionVariants": [{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": instance_type, "InitialInstanceCount": 1}]}
    if async_output:
        config["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": async_output.rstrip("/") + "/output/",
                                                           "S3FailurePath": async_output.rstrip("/") + "/failure/"}}
    sm.create_endpoint_config(**config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


# Stubbed SageMaker answers for endpoints moto cannot hold (inference components) -------------

def _now():
    import datetime

    return datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def ic_endpoint_answers(stubber: Stubber, name: str, instance_type: str, *, status: str = "InService",
                        min_instances: int = 0, max_instances: int = 2, components: list[str] | None = None) -> None:
    """DescribeEndpoint, DescribeEndpointConfig and ListInferenceComponents for an endpoint whose
    variant names no model (inference components), as endpoints.endpoint_facts/pick_ic ask."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    stubber.add_response("describe_endpoint", {
        "EndpointName": name, "EndpointArn": f"{arn}:endpoint/{name}", "EndpointConfigName": name,
        "EndpointStatus": status, "CreationTime": _now(), "LastModifiedTime": _now()}, {"EndpointName": name})
    stubber.add_response("describe_endpoint_config", {
        "EndpointConfigName": name, "EndpointConfigArn": f"{arn}:endpoint-config/{name}", "CreationTime": _now(),
        "ProductionVariants": [{
            "VariantName": "AllTraffic", "InstanceType": instance_type, "InitialInstanceCount": 1,
            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": min_instances,
                                       "MaxInstanceCount": max_instances},
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}]}, {"EndpointConfigName": name})


def list_components_answer(stubber: Stubber, endpoint: str, components: list[str]) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    stubber.add_response("list_inference_components", {"InferenceComponents": [{
        "InferenceComponentName": c, "InferenceComponentArn": f"{arn}:inference-component/{c}",
        "EndpointName": endpoint, "EndpointArn": f"{arn}:endpoint/{endpoint}", "VariantName": "AllTraffic",
        "InferenceComponentStatus": "InService", "CreationTime": _now(), "LastModifiedTime": _now()}
        for c in components]}, {"EndpointNameEquals": endpoint})


def describe_component_answer(stubber: Stubber, name: str, endpoint: str, copies: int) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    stubber.add_response("describe_inference_component", {
        "InferenceComponentName": name, "InferenceComponentArn": f"{arn}:inference-component/{name}",
        "EndpointName": endpoint, "EndpointArn": f"{arn}:endpoint/{endpoint}", "CreationTime": _now(),
        "LastModifiedTime": _now(), "InferenceComponentStatus": "InService",
        "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies}},
        {"InferenceComponentName": name})
