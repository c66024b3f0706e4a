"""The deploy tool's shared modules (errors, aws, lock, naming, the CLI), and a tour that makes
every AWS request deploy/status/cleanup can make, each validated against botocore's model."""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from deploy_support import FAKE_TOKEN, IC_DIMENSION, ops

MY_MODULES = ["deploy_cmd.py", "status_cmd.py", "cleanup_cmd.py", "endpoints.py", "aws.py"]
SERVICES = ["sagemaker", "sts", "s3", "ecr", "service-quotas", "secretsmanager", "iam", "logs",
            "application-autoscaling", "cloudwatch", "codebuild"]


def client_error(code: str, message: str = "the message", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "CreateEndpoint")


# -- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, kwargs, fragments", [
    ("ResourceLimitExceeded", {"instance_type": "ml.g6.xlarge", "region": "us-east-1"},
     ["may not run more ml.g6.xlarge endpoint instances in us-east-1", "'ml.g6.xlarge for endpoint usage'",
      "servicequotas", "--instance-type"]),
    ("ResourceLimitExceeded", {}, ["a SageMaker quota stops create endpoint x", "Service Quotas"]),
    ("ValidationException", {"instance_type": "ml.g6.xlarge", "region": "eu-south-2"},
     ["SageMaker refused ml.g6.xlarge", "in eu-south-2", "awsRegion=", "--instance-type"]),
    ("ValidationException", {}, ["AWS refused to create endpoint x (AWS ValidationException: the message)",
                                 "Correct the value"]),
    ("AccessDeniedException", {}, ["your AWS identity may not create endpoint x", "permission", "AWS_PROFILE"]),
    ("ResourceNotFound", {}, ["cannot create endpoint x: it was not found"]),
    ("ThrottlingException", {}, ["throttling", "even after retries", "Wait a minute"]),
    ("ExpiredTokenException", {}, ["credentials were refused", "AWS_PROFILE"]),
    ("SomethingNew", {}, ["could not create endpoint x (AWS SomethingNew: the message)."]),
])
def test_client_errors_map_by_code(deploy_main, code, kwargs, fragments):
    from deploy import errors

    message = str(errors.from_client_error(client_error(code), "create endpoint x", **kwargs))
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_mapping_reads_codes_not_messages(deploy_main):
    from deploy import errors

    # The same message under another code is another case; text never decides.
    quota_words = "The account-level service limit 'ml.g6.xlarge for endpoint usage' is 0 Instances"
    assert "Service Quotas" not in str(errors.from_client_error(client_error("ValidationException", quota_words),
                                                                "create endpoint x"))
    assert errors.is_not_found(client_error("NoSuchEntity", "anything"))
    assert not errors.is_not_found(client_error("ValidationException", "Could not find endpoint"))
    source = (Path(errors.__file__)).read_text()
    assert "aws_message(exc)" in source and not re.search(r"re\.(search|match)\([^)]*aws", source)


def test_tokens_are_redacted_from_every_message(deploy_main):
    from deploy import errors

    error = errors.from_client_error(client_error("ValidationException", f"bad value {FAKE_TOKEN}"), "x")
    assert FAKE_TOKEN not in str(error) and "hf_***" in str(error)


def test_refused_credentials_are_one_line(deploy_main, cli, aws, project):
    """STS refuses the caller: one message, exit 1, no traceback (every command checks credentials first)."""
    from botocore.awsrequest import AWSResponse

    def sts_refused(**kwargs):
        return (AWSResponse("https://x", 403, {}, None),
                {"Error": {"Code": "AccessDenied", "Message": "not allowed"}, "ResponseMetadata": {"HTTPStatusCode": 403}})

    aws.session.events.register(
        "before-call.sts.GetCallerIdentity", sts_refused, unique_id="sts-refused")
    for args in (["status"], ["deploy"], ["cleanup", "--yes"]):
        result = cli(*args)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.code == 1 and len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("error: no usable AWS credentials (sts GetCallerIdentity failed: AccessDenied")


def test_an_error_inside_a_command_is_one_line(deploy_main, cli, aws, project):
    """An AWS error in the middle of a command (here DescribeModel failing inside status) is one message."""
    from botocore.awsrequest import AWSResponse

    aws.put_image(project.name)
    assert cli("deploy", "--no-wait").code == 0

    def failing(**kwargs):
        return (AWSResponse("https://x", 500, {}, None),
                {"Error": {"Code": "InternalFailure", "Message": "try later"}, "ResponseMetadata": {"HTTPStatusCode": 500}})

    aws.session.events.register(
        "before-call.sagemaker.DescribeModel", failing, unique_id="describe-model-fails")
    result = cli("status")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.code == 1 and len(lines) == 1, result.stderr
    assert lines[0] == f"error: could not describe model {project.name} (AWS InternalFailure: try later)."


# -- aws.py ---------------------------------------------------------------------------------------------
def test_clients_use_standard_retries_the_lock_region_and_aws_endpoint_url(deploy_main, monkeypatch):
    import boto3

    from deploy import aws

    assert aws.CONFIG.retries == {"mode": "standard"}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9999")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    client = aws.Aws("eu-west-1", boto3.Session()).client("sagemaker")
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 2
    runtime = aws.Aws("eu-west-1", boto3.Session()).client("sagemaker-runtime")
    assert runtime.meta.endpoint_url == "http://127.0.0.1:9999"


def test_no_aws_cli_anywhere_in_the_package(rendered):
    """No AWS CLI call, nor advice to install it: boto3 does every AWS call."""
    for path in sorted((rendered / "deploy").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"""[\[(]\s*["']aws["']|which\(["']aws|["']aws (configure|sso|s3|sagemaker|ecr|iam)""",
                             text), path.name


def test_python_3_10_syntax(rendered):
    """The generated package compiles for Python 3.10 (no 3.11+ syntax; `python -m deploy` runs on 3.10+)."""
    import ast

    for path in sorted((rendered / "deploy").glob("*.py")):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))


def test_without_boto3_help_says_how_to_install_it(rendered):
    """`python -m deploy --help` in a Python without boto3 (here: no site-packages at all) is one
    line naming the install command, not an ImportError traceback."""
    import sys

    result = subprocess.run([sys.executable, "-S", "-m", "deploy", "--help"], cwd=rendered,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "pip install -r deploy/requirements.txt" in result.stderr
    assert "Traceback" not in result.stderr


# -- lock.py and naming.py ------------------------------------------------------------------------------
def test_lock_errors(deploy_main, rendered, tmp_path, monkeypatch):
    from deploy.errors import DeployError
    from deploy.lock import Lock

    path = tmp_path / "model.lock.json"
    monkeypatch.setenv("MODEL_LOCK", str(path))
    with pytest.raises(DeployError, match="model.lock.json not found"):
        Lock.load()
    path.write_text("{not json")
    with pytest.raises(DeployError, match="is not valid JSON"):
        Lock.load()
    good = json.loads((rendered / "model.lock.json").read_text())
    broken = json.loads(json.dumps(good))
    del broken["deployment"]["instance_type"]
    path.write_text(json.dumps(broken))
    with pytest.raises(DeployError, match="instance_type"):
        Lock.load()
    good["project"].update(name="my-project-v2", aws_region="eu-west-1")
    good["model"]["gated"] = "auto"
    good["server"]["inference_ami_version"] = None
    path.write_text(json.dumps(good))
    lock = Lock.load()
    assert lock.region == "eu-west-1" and lock.gated and lock.cuda == 13 and lock.ami_version is None
    assert lock.endpoint_name() == "my-project-v2" and lock.repo_name() == "my-project-v2"
    assert lock.endpoint_name("My_Endpoint.v2") == "My-Endpoint-v2"
    assert lock.repo_name("My_Project.v2") == "my_project.v2"
    lock.data["deployment"]["volume_size_gb"] = "lots"
    with pytest.raises(DeployError, match="volume_size_gb wants a whole number"):
        lock.number("deployment.volume_size_gb")


def test_names(deploy_main):
    from deploy import naming

    assert naming.sagemaker_name("My_Project.v2") == "My-Project-v2"
    assert len(naming.sagemaker_name("x" * 100)) == 63
    assert naming.ecr_repo_name("My_Project.v2") == "my_project.v2"
    assert naming.role_name("x" * 60) == "x" * 48 + "-sagemaker-exec"
    suffix = naming.update_suffix()
    versioned = naming.versioned("y" * 63, suffix)
    assert len(versioned) == 63 and naming.is_version_of("y" * 63, versioned)
    assert not naming.is_version_of("abc", "abc-other") and not naming.is_version_of("abc", "abcd-20261201120000")
    assert naming.scaling_names("ep") == {"tracking_policy": "ep-target-tracking", "wake_policy": "ep-scale-from-zero",
                                          "wake_alarm": "ep-no-capacity"}


def test_image_tag(deploy_main, tmp_path, monkeypatch):
    from deploy import naming

    monkeypatch.delenv("IMAGE_TAG", raising=False)
    assert naming.image_tag(tmp_path) == "0.0.0"
    (tmp_path / "VERSION").write_text("1.2.3\n")
    assert naming.image_tag(tmp_path) == "1.2.3"
    monkeypatch.setenv("IMAGE_TAG", "custom")
    assert naming.image_tag(tmp_path) == "custom"
    monkeypatch.delenv("IMAGE_TAG")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert naming.image_tag(tmp_path) == f"1.2.3-{sha}"
    subprocess.run([*git, "tag", "v2.0.0"], check=True)
    assert naming.image_tag(tmp_path) == f"2.0.0-{sha}"
    assert naming.release_tags(tmp_path) == ["2.0.0", sha]
    (tmp_path / "new.txt").write_text("x")
    assert naming.image_tag(tmp_path) == f"2.0.0-{sha}-dirty"
    assert naming.release_tags(tmp_path) == []


# -- every request deploy/status/cleanup can make, validated -----------------------------------------------
def operations_named(source: str) -> set[str]:
    """Operations (CamelCase) of the tool's services whose snake_case name the source mentions."""
    import botocore.session

    session = botocore.session.get_session()
    words = set(re.findall(r"\b[a-z][a-z0-9_]+\b", source))
    words.discard("search")  # re.search, not SageMaker's Search
    found = set()
    for service in SERVICES:
        for operation in session.get_service_model(service).operation_names:
            if xform_name(operation) in words:
                found.add(operation)
    return found


def test_tour_makes_every_request_the_commands_can_make(cli, aws, project, rendered):
    source = "\n".join((rendered / "deploy" / name).read_text() for name in MY_MODULES)
    named = operations_named(source)
    assert {"UpdateEndpoint", "UpdateInferenceComponent", "ListServiceQuotas", "CreateInferenceComponent",
            "DeleteInferenceComponent", "DescribeImages", "PutRolePolicy"} <= named
    lock = project.make_gated()
    name = project.name
    aws.client("secretsmanager").create_secret(Name=lock["project"]["hf_token_secret_name"], SecretString=FAKE_TOKEN)
    aws.put_image(name)
    aws.put_image(name, "2.0.0")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="weights")
    s3.put_object(Bucket="weights", Key="m/config.json", Body=b"{}")
    s3.put_object(Bucket="weights", Key="m/hf-snapshot.json",
                  Body=json.dumps({"model": lock["model"]["id"], "sha": lock["model"]["sha"]}).encode())
    s3.create_bucket(Bucket="async-jobs")
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/broken")
    logs.create_log_stream(logGroupName="/aws/sagemaker/Endpoints/broken", logStreamName="AllTraffic/i-1")
    logs.put_log_events(logGroupName="/aws/sagemaker/Endpoints/broken", logStreamName="AllTraffic/i-1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "boom"}])
    aws.fake.fail_endpoints["broken"] = "ping"
    aws.fake.no_volume_types.add(lock["deployment"]["instance_type"])
    aws.fake.regions_without_components.add("mx-central-1")

    steps = [
        (1, ["deploy", "--endpoint-name", "broken"]),
        (0, ["deploy", "--model-data", "s3://weights/m/"]),
        (0, ["deploy", "--tag", "2.0.0", "--model-data", "s3://weights/m/"]),
        (0, ["status"]),
        (0, ["deploy", "--inference-component", "--endpoint-name", "ic-ep", "--model-data", "s3://weights/m/"]),
        (0, ["deploy", "--inference-component", "--endpoint-name", "ic-ep", "--tag", "2.0.0",
             "--model-data", "s3://weights/m/"]),
        (0, ["status", "--endpoint-name", "ic-ep"]),
        (0, ["deploy", "--async", "s3://async-jobs/a/", "--endpoint-name", "async-ep", "--model-data",
             "s3://weights/m/"]),
        (0, ["cleanup", "--yes", "--endpoint-name", "broken"]),
        (0, ["cleanup", "--yes", "--endpoint-name", "async-ep"]),
    ]
    for code, args in steps:
        result = cli(*args)
        assert result.code == code, (args, result.stderr)
    aas = aws.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId="inference-component/ic-ep",
                                 ScalableDimension=IC_DIMENSION, MinCapacity=0, MaxCapacity=2)
    aas.put_scaling_policy(PolicyName="ic-ep-target-tracking", ServiceNamespace="sagemaker",
                           ResourceId="inference-component/ic-ep", ScalableDimension=IC_DIMENSION,
                           PolicyType="TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 8.0, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}})
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName="ic-ep-no-capacity", MetricName="NoCapacityInvocationFailures", Namespace="AWS/SageMaker",
        Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    assert cli("cleanup", "--yes", "--endpoint-name", "ic-ep").code == 0
    # The CodeBuild target's leftovers, then everything with every --delete option.
    project.set_lock(lambda lk: lk["project"].update(deploy_target="codebuild"))
    bucket = f"{name[:28].rstrip('-')}-cb-123456789012-us-east-1"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="x/source.zip", Body=b"zip")
    iam = aws.client("iam")
    role_arn = iam.create_role(RoleName=f"{name}-image-codebuild", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.client("codebuild").create_project(name=f"{name}-image", source={"type": "S3", "location": f"{bucket}/x"},
                                           artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role_arn,
                                           environment={"type": "LINUX_CONTAINER", "image": "i",
                                                        "computeType": "BUILD_GENERAL1_SMALL"})
    assert cli("cleanup", "--yes").code == 0  # reports what it keeps
    result = cli("cleanup", "--yes", "--delete-repository", "--delete-role", "--delete-secret", "--delete-codebuild")
    assert result.code == 0, result.stderr
    # A region without inference components (the check that tells it apart).
    project.set_lock(lambda lk: lk["project"].update(aws_region="mx-central-1", deploy_target="sagemaker"))
    aws.put_image(name, region="mx-central-1")
    assert cli("deploy", "--inference-component").code == 1

    made = set(ops(aws.take()))
    missing = named - made
    assert not missing, f"operations the commands name but the tour did not make (so not validated): {missing}"


def test_the_generated_project_has_the_package(rendered):
    deploy = rendered / "deploy"
    for name in ["__init__.py", "__main__.py", "aws.py", "errors.py", "lock.py", "naming.py", "ui.py", "context.py",
                 "endpoints.py", "deploy_cmd.py", "status_cmd.py", "cleanup_cmd.py", "requirements.txt"]:
        assert (deploy / name).is_file(), name
    pins = (deploy / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"boto3==\d+\.\d+\.\d+", line) for line in pins), pins
    assert not [p for p in deploy.rglob("*") if "{" in p.name or p.suffix == ".jinja"]
