"""`python -m deploy build` / `push` / `codebuild`.

In-process: moto's ECR (repository, GetAuthorizationToken) and a stand-in `docker` executable on
PATH that records its command lines and standard input (the registry password must reach
`docker login` there, never on a command line). Then `codebuild` against moto (S3, IAM,
CodeBuild). End to end (marked aws, as the removed tests/test_deploy_push.py was): the real Docker builds
the generated vLLM project on the vLLM stand-in image and pushes it to a local registry
(Debian's docker-registry) that stands in for ECR, with moto_server answering the ECR API, the
CLI run as a user runs it (python -m deploy ... in a subprocess).
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdkit  # noqa: E402
from cmdkit import session_on_moto  # noqa: F401  (the aws fixture)
from aws import helpers  # noqa: E402
from cmdkit import ACCOUNT, FAKE_TOKEN, run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LMI_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu126"
FAKE_DOCKER = r'''#!/usr/bin/env python3
"""Stand-in for the docker CLI: records argv and stdin; `image inspect REF` succeeds for the
references listed (one a line) in $FAKE_DOCKER_IMAGES; `build -t REF` adds REF there."""
import json, os, sys
args = sys.argv[1:]
stdin = sys.stdin.read() if "--password-stdin" in args else None
with open(os.environ["FAKE_DOCKER_LOG"], "a") as fh:
    fh.write(json.dumps({"argv": args, "stdin": stdin}) + "\n")
images_file = os.environ["FAKE_DOCKER_IMAGES"]
images = open(images_file).read().split() if os.path.exists(images_file) else []
if args[:2] == ["image", "inspect"]:
    sys.exit(0 if args[2] in images else 1)
if args and args[0] == os.environ.get("FAKE_DOCKER_FAIL"):
    print("fake docker: failed", file=sys.stderr)
    sys.exit(1)
if args and args[0] == "build":
    with open(images_file, "a") as fh:
        for i, a in enumerate(args):
            if a == "-t":
                fh.write(args[i + 1] + "\n")
print("fake docker:", " ".join(args[:2]))
'''


class Docker:
    def __init__(self, tmp_path: Path, monkeypatch) -> None:
        bindir = tmp_path / "bin"
        bindir.mkdir()
        (bindir / "docker").write_text(FAKE_DOCKER)
        (bindir / "docker").chmod(0o755)
        self.log = tmp_path / "docker.log"
        self.images = tmp_path / "docker-images"
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_DOCKER_LOG", str(self.log))
        monkeypatch.setenv("FAKE_DOCKER_IMAGES", str(self.images))

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        found = [json.loads(line) for line in self.log.read_text().splitlines()]
        self.log.unlink()
        return found

    def have(self, *refs: str) -> None:
        with open(self.images, "a") as fh:
            fh.write("".join(f"{r}\n" for r in refs))


@pytest.fixture
def proj(tmp_path, monkeypatch):
    return cmdkit.project(tmp_path, monkeypatch)


@pytest.fixture
def docker(tmp_path, monkeypatch, proj):
    return Docker(tmp_path, monkeypatch)


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *args], capture_output=True, text=True, check=True).stdout.strip()


# build ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arg", [f"HF_TOKEN={FAKE_TOKEN}", f"MY_TOKEN={FAKE_TOKEN}", "HUGGING_FACE_HUB_TOKEN",
                                 FAKE_TOKEN])
def test_build_refuses_token_build_args(proj, docker, arg):
    result = run(cmdkit.Session(credentials=False), "build", "--", "--build-arg", arg)
    assert result.code == 1, arg
    assert result.err.startswith("error: a Hugging Face token must not be a build argument"), result.err
    assert FAKE_TOKEN not in result.err + result.out
    assert docker.calls() == []


def test_build_command_line(proj, docker, aws):
    project, lock = proj
    name = lock["project"]["name"]
    result = run(aws, "build", "--no-cache", "--", "--build-arg", "PIP_INDEX=x")
    assert result.code == 0, result.err
    assert result.out.strip() == f"{name}:0.0.0"
    assert f"==> built {name}:0.0.0" in result.err
    (build,) = docker.calls()
    assert build["argv"] == ["build", "--platform", "linux/amd64",
                             "--label", "org.opencontainers.image.version=0.0.0",
                             "--label", f"org.opencontainers.image.title={name}",
                             "-t", f"{name}:0.0.0", "-t", f"{name}:latest", "--no-cache",
                             "--build-arg", "PIP_INDEX=x", str(project)]
    assert aws.calls == []  # a Docker Hub base image: no AWS call

    (project / "VERSION").write_text("1.2.3\n")
    result = run(aws, "build", "--tag", "custom", "--platform", "linux/arm64")
    assert result.code == 0 and result.out.strip() == f"{name}:custom"
    (build,) = docker.calls()
    assert build["argv"][1:3] == ["--platform", "linux/arm64"] and f"{name}:custom" in build["argv"]

    os.environ["FAKE_DOCKER_FAIL"] = "build"
    try:
        result = run(aws, "build")
    finally:
        del os.environ["FAKE_DOCKER_FAIL"]
    assert result.code == 1 and result.one_error() == "error: docker build failed"


def test_lmi_base_image_needs_a_registry_login(proj, docker, aws):
    project, lock = proj
    cmdkit.set_lock(project, lambda lk: lk["server"].update(name="lmi", image=LMI_IMAGE))
    result = run(aws, "build")
    assert result.code == 0, result.err
    assert "==> logging in to 763104351884.dkr.ecr.us-east-1.amazonaws.com to pull the base image" in result.err
    inspect, login, build = docker.calls()
    assert inspect["argv"] == ["image", "inspect", LMI_IMAGE]
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin",
                             "763104351884.dkr.ecr.us-east-1.amazonaws.com"]
    assert login["stdin"] and login["stdin"] not in json.dumps(build) + result.out + result.err
    assert aws.operations() == ["GetAuthorizationToken"]
    # Pulled already, or --no-login: no login.
    docker.have(LMI_IMAGE)
    assert run(aws, "build").code == 0
    assert [c["argv"][0] for c in docker.calls()] == ["image", "build"]
    assert run(aws, "build", "--no-login").code == 0
    assert [c["argv"][0] for c in docker.calls()] == ["build"]


def test_docker_missing_is_one_message(proj, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for command in ("build", "push"):
        result = run(cmdkit.Session(credentials=False), command)
        assert result.code == 1
        assert result.one_error() == ("error: 'docker' is not installed or not on PATH "
                                      "(https://docs.docker.com/get-docker/)")


# push -------------------------------------------------------------------------------------------

def test_push_creates_the_repository_logs_in_and_tags(proj, docker, aws, monkeypatch):
    project, lock = proj
    name = lock["project"]["name"]
    (project / ".env").write_text(f"HF_TOKEN={FAKE_TOKEN}\n")
    (project / ".gitignore").write_text(".env\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    git(project, "tag", "v1.4.2")
    sha = git(project, "rev-parse", "--short", "HEAD")
    tag = f"1.4.2-{sha}"
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)

    result = run(aws, "push")
    assert result.code == 1
    assert result.one_error() == f"error: image {name}:{tag} not found locally; run python -m deploy build first"

    docker.have(f"{name}:{tag}")
    docker.calls()
    registry = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
    remote = f"{registry}/{name}"
    result = run(aws, "push")
    assert result.code == 0, result.err
    assert result.out.strip() == f"{remote}:{tag}"
    assert f"==> creating ECR repository {name}" in result.err
    assert f"==> pushed {remote}:{tag} (also tagged 1.4.2 {sha})" in result.err
    assert FAKE_TOKEN not in result.out + result.err
    calls = docker.calls()
    login = next(c for c in calls if c["argv"][0] == "login")
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", registry]
    password = base64.b64decode(aws.client("ecr").get_authorization_token()["authorizationData"][0][
        "authorizationToken"]).decode().split(":", 1)[1]
    assert login["stdin"] == password
    assert not any(password in " ".join(c["argv"]) for c in calls)
    pushed = [c["argv"][1] for c in calls if c["argv"][0] == "push"]
    assert pushed == [f"{remote}:{tag}", f"{remote}:1.4.2", f"{remote}:{sha}"]
    tagged = [c["argv"][1:] for c in calls if c["argv"][0] == "tag"]
    assert tagged == [[f"{name}:{tag}", p] for p in pushed]
    (repo,) = aws.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert {"GetCallerIdentity", "DescribeRepositories", "CreateRepository", "GetAuthorizationToken"} <= set(
        aws.operations())

    # Again: the repository is reused and the same tags are pushed.
    result = run(aws, "push")
    assert result.code == 0, result.err
    assert f"==> ECR repository {name} exists" in result.err
    assert [c["argv"][1] for c in docker.calls() if c["argv"][0] == "push"] == pushed

    # Uncommitted changes: only the -dirty tag, no moving <sha> or <version> tag; --no-login.
    (project / "notes.txt").write_text("local change\n")
    docker.have(f"{name}:{tag}-dirty")
    result = run(aws, "push", "--no-login")
    assert result.code == 0, result.err
    assert result.out.strip() == f"{remote}:{tag}-dirty"
    calls = docker.calls()
    assert [c["argv"][1] for c in calls if c["argv"][0] == "push"] == [f"{remote}:{tag}-dirty"]
    assert not [c for c in calls if c["argv"][0] == "login"]

    # IMAGE_TAG / --tag: that tag only.
    docker.have(f"{name}:rc1")
    result = run(aws, "push", "--tag", "rc1", "--no-login")
    assert result.code == 0 and result.out.strip() == f"{remote}:rc1"
    assert [c["argv"][1] for c in docker.calls() if c["argv"][0] == "push"] == [f"{remote}:rc1"]


def test_push_to_another_registry_and_a_failed_push(proj, docker, aws, monkeypatch):
    name = proj[1]["project"]["name"]
    monkeypatch.setenv("ECR_REGISTRY", "127.0.0.1:5999/")
    docker.have(f"{name}:0.0.0")
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "push")
    result = run(aws, "push")
    assert result.code == 1
    assert result.one_error() == f"error: docker push 127.0.0.1:5999/{name}:0.0.0 failed"
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "login")
    result = run(aws, "push")
    assert result.code == 1 and result.one_error() == "error: docker login to 127.0.0.1:5999 failed"


def test_push_without_credentials_is_one_clear_error(proj, docker):
    result = run(cmdkit.Session(credentials=False), "push")
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no usable AWS credentials"), result.err


def test_help_needs_no_aws_or_docker(proj, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    for command in ("build", "push", "codebuild"):
        session = cmdkit.Session(credentials=False)
        result = run(session, command, "--help")
        assert result.code == 0 and "--tag" in result.out, command
        assert session.calls == []


# codebuild --------------------------------------------------------------------------------------

def codebuild_project(tmp_path, monkeypatch, image: str) -> tuple[Path, dict]:
    """A project as deployTarget=codebuild generates it: deploy/ with the iam policy file."""
    project, lock = cmdkit.project(tmp_path, monkeypatch, lambda lk: (
        lk["project"].update(deploy_target="codebuild"), lk["server"].update(image=image)))
    template = ROOT / "template" / "deploy"
    shutil.copytree(template, project / "deploy", ignore=shutil.ignore_patterns("__pycache__", "*.jinja", "{%*"))
    (project / "deploy" / "iam").mkdir()
    shutil.copy(template / "{% if deployTarget == 'codebuild' %}iam{% endif %}" / "codebuild-policy.json",
                project / "deploy" / "iam" / "codebuild-policy.json")
    shutil.copy(template / "{% if deployTarget == 'codebuild' %}buildspec.yml{% endif %}",
                project / "deploy" / "buildspec.yml")
    shutil.copy(ROOT / "template" / "model.lock.schema.json", project / "model.lock.schema.json")
    (project / "Dockerfile").write_text("FROM x\n")
    (project / ".env").write_text(f"HF_TOKEN={FAKE_TOKEN}\n")
    return project, lock


def run_codebuild(project: Path, session, *argv: str):
    """`codebuild` reads deploy/iam/ beside the package it runs from: the project's own copy."""
    sys.path.insert(0, str(project))
    saved = {k: v for k, v in sys.modules.items() if k == "deploy" or k.startswith("deploy.")}
    for k in saved:
        del sys.modules[k]
    try:
        return run(session, "codebuild", *argv)
    finally:
        sys.path.remove(str(project))
        for k in [k for k in sys.modules if k == "deploy" or k.startswith("deploy.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def test_codebuild_submit(tmp_path, monkeypatch):
    """moto's builds succeed at once (and moto lacks UpdateProject: the first run creates it)."""
    project, lock = codebuild_project(tmp_path, monkeypatch, LMI_IMAGE)
    repo = lock["project"]["name"]
    monkeypatch.setenv("IMAGE_TAG", "1.0.0-test")
    with mock_aws():
        session = cmdkit.Session()
        result = run_codebuild(project, session)
        assert result.code == 0, result.err
        assert result.out.strip() == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{repo}:1.0.0-test"
        cb = session.client("codebuild")
        (built,) = cb.batch_get_projects(names=[f"{repo}-image"])["projects"]
        assert built["source"]["buildspec"] == "deploy/buildspec.yml"
        assert built["environment"]["privilegedMode"] is True
        bucket, key = built["source"]["location"].split("/", 1)
        (start,) = session.requests("StartBuild")
        assert start["environmentVariablesOverride"] == [{"name": "IMAGE_TAG", "value": "1.0.0-test",
                                                          "type": "PLAINTEXT"}]

        # The bundle has the project but no secrets.
        data = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert {"Dockerfile", "model.lock.json", "deploy/buildspec.yml", "deploy/build_cmd.py"} <= set(names)
        assert ".env" not in names and not [n for n in names if "__pycache__" in n]
        assert FAKE_TOKEN.encode() not in data

        # The service role: CodeBuild only; push to one repository; the LMI base image pull.
        iam = session.client("iam")
        role_name = built["serviceRole"].rsplit("/", 1)[1]
        trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "codebuild.amazonaws.com"}]
        policy = iam.get_role_policy(RoleName=role_name, PolicyName="codebuild-image-build")["PolicyDocument"]
        assert "__" not in json.dumps(policy)
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["EcrPush"]["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo}"
        assert by_sid["BaseImagePull"]["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"
        assert by_sid["SourceBundle"]["Resource"] == f"arn:aws:s3:::{bucket}/{repo}-image/*"
        public = session.client("s3").get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(public.values())
        session.check()

        from deploy.naming import codebuild_names  # what cleanup --delete-codebuild removes

        assert codebuild_names(repo, ACCOUNT, "us-east-1") == {
            "project": f"{repo}-image", "bucket": bucket, "role": role_name}


def test_codebuild_drops_base_pull_for_docker_hub_images_and_no_wait(tmp_path, monkeypatch):
    project, lock = codebuild_project(tmp_path, monkeypatch, "vllm/vllm-openai:v0.10.1")
    with mock_aws():
        session = cmdkit.Session()
        result = run_codebuild(project, session, "--no-wait")
        assert result.code == 0, result.err
        assert result.out.strip().startswith(f"{lock['project']['name']}-image:")  # the build id
        assert not session.requests("BatchGetBuilds")
        iam = session.client("iam")
        (role,) = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].endswith("-codebuild")]
        policy = iam.get_role_policy(RoleName=role, PolicyName="codebuild-image-build")["PolicyDocument"]
        assert "BaseImagePull" not in {s["Sid"] for s in policy["Statement"]}
        session.check()


def test_codebuild_without_the_policy_file_says_why(proj):
    with mock_aws():
        result = run(cmdkit.Session(), "codebuild")
    assert result.code == 1
    assert "generated for local builds (deployTarget=sagemaker)" in result.one_error()


def test_codebuild_without_credentials(proj):
    result = run(cmdkit.Session(credentials=False), "codebuild")
    assert result.code == 1 and result.one_error().startswith("error: no usable AWS credentials")


# end to end: the real Docker, a local registry, moto_server -------------------------------------

REGISTRY_BIN = "/usr/bin/docker-registry"
VERSION = "1.4.2"


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the push test needs {why} (CI=true)")
    pytest.skip(f"the push test needs {why}")


@pytest.fixture(scope="module")
def docker_ready(tmp_path_factory):
    from container_helpers import build_standin, docker_available, ensure_base_image

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
    engines = json.loads((ROOT / "generator" / "data" / "engines.json").read_text())
    build_standin(f"vllm@{engines['vllm']['default']}", tmp_path_factory.mktemp("standin"))
    return True


class Registry:
    """docker-registry serving plain HTTP on 127.0.0.1 (Docker trusts 127.0.0.0/8 without TLS)."""

    def __init__(self, workdir: Path) -> None:
        from aws import helpers

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
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
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
        helpers.stop_process(self.proc, self.log)


def cli(project: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    python = os.environ.get("DEPLOY_TEST_PYTHON") or sys.executable  # e.g. a 3.10 with boto3
    return subprocess.run([python, "-m", "deploy", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


@pytest.mark.container   # real Docker and a local registry
def test_build_and_push_to_local_registry(docker_ready, tmp_path):
    from aws import helpers
    from container_helpers import grep_stream

    name = f"push-{uuid.uuid4().hex[:8]}"
    proj = helpers.render(tmp_path / "proj", modelServer="vllm", projectName=name)
    # A local secret the image must never contain (.env is git- and docker-ignored).
    (proj / ".env").write_text(f"HF_TOKEN={FAKE_TOKEN}\n")
    git(proj, "init", "-q")
    git(proj, "add", "-A")
    git(proj, "commit", "-qm", "generated")
    git(proj, "tag", f"v{VERSION}")
    sha = git(proj, "rev-parse", "--short", "HEAD")
    tag = f"{VERSION}-{sha}"
    registry = Registry(tmp_path / "registry")
    moto = helpers.Moto(tmp_path)
    docker_config = tmp_path / "docker-config"  # the login of push lands here, not in ~/.docker
    docker_config.mkdir()
    env = moto.env(ECR_REGISTRY=registry.host, HF_TOKEN=FAKE_TOKEN, DOCKER_CONFIG=str(docker_config))
    remote = f"{registry.host}/{name}"
    local_refs = [f"{name}:{tag}", f"{name}:latest", f"{remote}:{tag}", f"{remote}:{VERSION}", f"{remote}:{sha}"]
    try:
        result = cli(proj, "build", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{name}:{tag}"
        assert f"==> built {name}:{tag}" in result.stderr

        result = cli(proj, "push", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{remote}:{tag}"
        assert f"==> creating ECR repository {name}" in result.stderr
        assert FAKE_TOKEN not in result.stdout + result.stderr
        assert sorted(registry.tags(name)) == sorted([tag, VERSION, sha])
        (repo,) = moto.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
        assert repo["imageScanningConfiguration"] == {"scanOnPush": True}

        result = cli(proj, "push", env=env)
        assert result.returncode == 0, result.stderr
        assert f"==> ECR repository {name} exists" in result.stderr
        assert sorted(registry.tags(name)) == sorted([tag, VERSION, sha])

        # What the registry holds (pulled back) has no token in any layer, config or history.
        subprocess.run(["docker", "rmi", f"{remote}:{tag}"], capture_output=True, check=True)
        subprocess.run(["docker", "pull", "-q", f"{remote}:{tag}"], capture_output=True, check=True)
        token = FAKE_TOKEN.encode()
        assert grep_stream(["docker", "save", f"{remote}:{tag}"], [token, b"HF_TOKEN=hf_"]) == set()
        history = subprocess.run(["docker", "history", "--no-trunc", f"{remote}:{tag}"],
                                 capture_output=True, text=True, check=True).stdout
        assert "COPY" in history or "/opt/program" in history, history
        assert FAKE_TOKEN not in history

        # Uncommitted changes: only the -dirty tag, no moving <sha> or <version> tag.
        (proj / "notes.txt").write_text("local change\n")
        result = cli(proj, "build", env=env)
        assert result.returncode == 0, result.stderr
        result = cli(proj, "push", "--no-login", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{remote}:{tag}-dirty"
        assert sorted(registry.tags(name)) == sorted([tag, VERSION, sha, f"{tag}-dirty"])
        local_refs += [f"{name}:{tag}-dirty", f"{remote}:{tag}-dirty"]
        # Every AWS request build and push made is valid for botocore's service model.
        assert {c["operation"] for c in moto.check_requests()} >= {"GetCallerIdentity", "CreateRepository",
                                                                   "GetAuthorizationToken"}
    finally:
        subprocess.run(["docker", "rmi", *local_refs], capture_output=True)
        moto.stop()
        registry.stop()


def test_codebuild_updates_an_existing_project_and_reports_a_failed_build(tmp_path, monkeypatch):
    """moto has no UpdateProject and its builds always succeed: CodeBuild itself is a Stubber here
    (IAM, S3, ECR and the build's log group are moto's)."""
    from botocore.stub import ANY

    project, lock = codebuild_project(tmp_path, monkeypatch, "vllm/vllm-openai:v0.10.1")
    repo = lock["project"]["name"]
    monkeypatch.setenv("IMAGE_TAG", "2.0.0-x")
    with mock_aws():
        session = cmdkit.Session()
        logs = session.client("logs")
        logs.create_log_group(logGroupName=f"/aws/codebuild/{repo}-image")
        logs.create_log_stream(logGroupName=f"/aws/codebuild/{repo}-image", logStreamName="build-1")
        logs.put_log_events(logGroupName=f"/aws/codebuild/{repo}-image", logStreamName="build-1",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR: pip install failed"}])
        cb = session.stub("codebuild")
        cb.add_response("batch_get_projects", {"projects": [{"name": f"{repo}-image"}]}, {"names": [f"{repo}-image"]})
        cb.add_response("update_project", {"project": {"name": f"{repo}-image"}}, {
            "name": f"{repo}-image", "description": ANY, "source": ANY, "artifacts": {"type": "NO_ARTIFACTS"},
            "environment": ANY, "serviceRole": ANY, "timeoutInMinutes": 90, "logsConfig": ANY, "tags": ANY})
        build_id = f"{repo}-image:1234"
        cb.add_response("start_build", {"build": {"id": build_id}}, {
            "projectName": f"{repo}-image",
            "environmentVariablesOverride": [{"name": "IMAGE_TAG", "value": "2.0.0-x", "type": "PLAINTEXT"}]})
        cb.add_response("batch_get_builds", {"builds": [{"id": build_id, "buildStatus": "IN_PROGRESS",
                                                        "currentPhase": "BUILD"}]}, {"ids": [build_id]})
        cb.add_response("batch_get_builds", {"builds": [{
            "id": build_id, "buildStatus": "FAILED", "currentPhase": "COMPLETED",
            "logs": {"groupName": f"/aws/codebuild/{repo}-image", "streamName": "build-1"}}]}, {"ids": [build_id]})
        result = run_codebuild(project, session)
        session.check()
    assert result.code == 1
    assert f"==> updating CodeBuild project {repo}-image" in result.err
    assert "IN_PROGRESS BUILD" in result.err
    assert "ERROR: pip install failed" in result.err
    assert result.one_error() == f"error: CodeBuild build {build_id} ended FAILED"
    cb.assert_no_pending_responses()
