"""Fixtures for the deploy tool's tests (the generated project's ``python -m deploy``).

- ``rendered``: a project rendered once per session with copier (tests/aws/helpers.render).
- ``deploy_main``: the rendered ``deploy`` package's ``__main__`` module, imported from that project
  (its folder goes on sys.path): tests run the CLI in-process with ``main(argv, session=...)``.
- ``project``: a fresh copy of the project's model.lock.json for one test (MODEL_LOCK points at it),
  with ``set_lock(change)``.
- ``aws``: moto's ``mock_aws`` for what moto has, tests/deploy/fakes.py's FakeAws for the SageMaker
  control plane, Service Quotas and Application Auto Scaling, and a Recorder: every request the test
  makes (the tool's and the test's own) is validated against botocore's service model when the
  test ends (``aws.allow`` lists problems a test provokes on purpose).
- ``cli``: ``cli("deploy", "--copies", "2")`` -> Result(code, stdout, stderr), in-process, no sleeping.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from aws import botocore_check, helpers  # noqa: E402
from deploy_support import TAG  # noqa: E402
from fakes import FakeAws, Recorder  # noqa: E402


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, template_dir) -> Path:
    return helpers.render(tmp_path_factory.mktemp("deploy-tool") / "proj", template_dir)


@pytest.fixture(scope="session")
def deploy_main(rendered):
    """``deploy.__main__`` of the generated project. The rendered deploy/*.py are the template's files
    unchanged (checked here), so a ``deploy`` package another test module imported from template/
    is the same code; otherwise it is imported from the rendered project."""
    template = HERE.parent.parent / "template" / "deploy"
    for path in sorted((rendered / "deploy").glob("*.py")):
        assert path.read_bytes() == (template / path.name).read_bytes(), f"{path.name} is not copied verbatim"
    if "deploy" not in sys.modules:
        sys.path.insert(0, str(rendered))
    module = importlib.import_module("deploy.__main__")
    assert Path(module.__file__).resolve().parent in (template.resolve(), (rendered / "deploy").resolve())
    return module


@dataclass
class Project:
    dir: Path
    lock_path: Path

    @property
    def lock(self) -> dict:
        return json.loads(self.lock_path.read_text())

    @property
    def name(self) -> str:
        return self.lock["project"]["name"]

    def set_lock(self, change) -> dict:
        lock = self.lock
        change(lock)
        self.lock_path.write_text(json.dumps(lock, indent=2))
        return lock

    def make_gated(self, secret_name: str | None = None) -> dict:
        def change(lock):
            lock["model"]["gated"] = "manual"  # the hub's value for a gated repository
            lock["project"]["hf_token_secret_name"] = secret_name or f"{lock['project']['name']}/hf-token"
        return self.set_lock(change)


@pytest.fixture
def project(rendered, tmp_path, monkeypatch) -> Project:
    dst = tmp_path / "proj"
    dst.mkdir()
    shutil.copy2(rendered / "model.lock.json", dst / "model.lock.json")
    monkeypatch.setenv("MODEL_LOCK", str(dst / "model.lock.json"))
    return Project(dst, dst / "model.lock.json")


class World:
    """The test's AWS: ``session`` (give it to main), ``fake`` (FakeAws), ``client(service, region)``,
    ``take()`` (the requests since the last take), ``allow`` (tolerated model problems)."""

    def __init__(self, session: boto3.Session, fake: FakeAws, recorder: Recorder) -> None:
        self.session, self.fake, self.recorder = session, fake, recorder
        self.allow: tuple[str, ...] = ()
        self.checked: list[dict] = []

    def client(self, service: str, region: str = "us-east-1"):
        return self.session.client(service, region_name=region)

    def take(self) -> list[dict]:
        calls = self.recorder.take()
        self.checked += calls
        return calls

    def put_image(self, repo: str, tag: str = TAG, region: str = "us-east-1") -> None:
        ecr = self.client("ecr", region)
        try:
            ecr.create_repository(repositoryName=repo)
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                               "digest": "sha256:" + "0" * 64}, "layers": []}
        ecr.put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag)


@pytest.fixture
def aws(monkeypatch):
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "SAGEMAKER_ROLE_ARN", "ECR_REGISTRY",
                "ENDPOINT_NAME", "REPO_NAME", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("IMAGE_TAG", TAG)
    monkeypatch.setenv("DEPLOY_POLL_SECONDS", "1")
    with mock_aws():
        fake, recorder = FakeAws(), Recorder()
        core = botocore_check.botocore_session()  # service models read once per process (its shared loader)
        events = core.get_component("event_emitter")
        events.register_last("before-parameter-build", recorder, unique_id="deploy-tests-recorder")
        fake.register(events)
        world = World(boto3.Session(botocore_session=core), fake, recorder)
        botocore_check.tidy_loader()
        yield world
        world.take()
        problems = [p for p in botocore_check.check_all(world.checked) if not any(a in p for a in world.allow)]
        assert not problems, "requests botocore's service model refuses:\n" + "\n".join(problems)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def cli(deploy_main, aws, project):
    """Run ``python -m deploy ARGS`` in-process against the test's AWS; sleeps are recorded, not slept."""
    sleeps: list[float] = []

    def run(*args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = deploy_main.main(list(args), session=aws.session, sleep=sleeps.append)
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else 1
        return Result(code, out.getvalue(), err.getvalue())

    run.sleeps = sleeps
    return run
