"""Deploy lifecycle against moto_server: secret, deploy, status, test, failures, cleanup.

The Docker build and push are not exercised here (they need the multi-GB server
images); the ECR image that deploy.sh checks for is registered with PutImage.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws import helpers  # noqa: E402
from aws.eventstream_server import Server, payload_part  # noqa: E402

pytestmark = pytest.mark.aws
if not shutil.which("aws"):
    pytest.skip("the AWS CLI is not installed (pip install awscli)", allow_module_level=True)
pytest.importorskip("flask", reason="moto_server needs moto[server]")
TAG = "1.0.0-test"


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = helpers.Moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def valid_requests(moto):
    """Every AWS request a test's scripts make must be valid for botocore's service model."""
    moto.take_requests()
    yield
    moto.check_requests()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return helpers.render(tmp_path_factory.mktemp("lifecycle") / "proj")


@pytest.fixture
def project(rendered, tmp_path, moto):
    """A fresh copy of the rendered project, made gated, with a clean moto."""
    moto.reset()
    dst = tmp_path / "proj"
    shutil.copytree(rendered, dst)
    lock = helpers.make_gated(dst)
    return dst, lock


def put_image(moto, repo: str, tag: str = TAG, region: str = "us-east-1") -> None:
    ecr = moto.client("ecr", region)
    ecr.create_repository(repositoryName=repo)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                           "digest": "sha256:" + "0" * 64}, "layers": []}
    ecr.put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag=tag)


def everything(moto) -> str:
    """Every model's, config's and endpoint's full description as one string."""
    sm = moto.client("sagemaker")
    parts = []
    for m in sm.list_models()["Models"]:
        parts.append(json.dumps(sm.describe_model(ModelName=m["ModelName"]), default=str))
    for c in sm.list_endpoint_configs()["EndpointConfigs"]:
        parts.append(json.dumps(sm.describe_endpoint_config(EndpointConfigName=c["EndpointConfigName"]),
                                default=str))
    for e in sm.list_endpoints()["Endpoints"]:
        parts.append(json.dumps(sm.describe_endpoint(EndpointName=e["EndpointName"]), default=str))
    return "\n".join(parts)


def test_full_lifecycle(project, moto):
    proj, lock = project
    name = lock["project"]["name"]
    secret_name = lock["project"]["hf_token_secret_name"]
    env = moto.env(IMAGE_TAG=TAG)

    # Deploying a gated model without its secret: one clear message, nothing created.
    put_image(moto, name)
    result = helpers.run(proj, "deploy.sh", env=env)
    assert result.returncode == 1
    assert "deploy/secret.sh" in result.stderr and "not found" in result.stderr
    assert moto.client("sagemaker").list_models()["Models"] == []

    # secret.sh: from stdin, then an update from the environment; never echoed.
    result = helpers.run(proj, "secret.sh", env=env, stdin=helpers.FAKE_TOKEN + "\n")
    assert result.returncode == 0, result.stderr
    secret_arn = result.stdout.strip()
    assert secret_arn.startswith(f"arn:aws:secretsmanager:us-east-1:{helpers.ACCOUNT}:secret:{secret_name}")
    assert helpers.FAKE_TOKEN not in result.stdout + result.stderr
    sm_secrets = moto.client("secretsmanager")
    assert sm_secrets.get_secret_value(SecretId=secret_name)["SecretString"] == helpers.FAKE_TOKEN
    result = helpers.run(proj, "secret.sh", env={**env, "HF_TOKEN": helpers.FAKE_TOKEN + "2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == secret_arn
    assert sm_secrets.get_secret_value(SecretId=secret_name)["SecretString"] == helpers.FAKE_TOKEN + "2"

    # deploy.sh
    result = helpers.run(proj, "deploy.sh", "--env", "ENGINE_ARG_MAX_NUM_SEQS=16", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == name
    assert "InService" in result.stderr

    sm = moto.client("sagemaker")
    model = sm.describe_model(ModelName=name)
    container = model["PrimaryContainer"]
    assert container["Image"] == f"{helpers.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}:{TAG}"
    assert container["Environment"] == {"HF_TOKEN_SECRET_ID": secret_arn, "ENGINE_ARG_MAX_NUM_SEQS": "16"}
    role_arn = model["ExecutionRoleArn"]
    role_name = role_arn.rsplit("/", 1)[1]
    assert role_name == f"{name}-sagemaker-exec"

    config = sm.describe_endpoint_config(EndpointConfigName=name)
    (variant,) = config["ProductionVariants"]
    dep = lock["deployment"]
    assert variant["InstanceType"] == dep["instance_type"]
    assert variant["ModelName"] == name
    assert variant["InitialInstanceCount"] == 1
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == dep["container_startup_health_check_timeout_s"]
    assert variant["ModelDataDownloadTimeoutInSeconds"] == dep["model_data_download_timeout_s"]
    assert variant["VolumeSizeInGB"] == dep["volume_size_gb"]
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    # The role: trusted by SageMaker only; ECR pull on one repo, logs on one group, one secret.
    iam = moto.client("iam")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "sagemaker.amazonaws.com"}]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="sagemaker-endpoint")["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["HfTokenSecret"] == {"Sid": "HfTokenSecret", "Effect": "Allow",
                                       "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
    assert by_sid["EcrPull"]["Resource"] == f"arn:aws:ecr:us-east-1:{helpers.ACCOUNT}:repository/{name}"
    assert by_sid["EcrAuth"]["Action"] == "ecr:GetAuthorizationToken"
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in a for a in actions)
        if statement["Sid"] != "EcrAuth":
            assert "*" != statement["Resource"]

    # No token anywhere in what SageMaker stores.
    assert helpers.FAKE_TOKEN not in everything(moto)

    # Deploying again: the name exists.
    result = helpers.run(proj, "deploy.sh", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: endpoint '{name}' already exists")

    # status.sh
    result = helpers.run(proj, "status.sh", env=env)
    assert result.returncode == 0, result.stderr
    assert "InService" in result.stdout and dep["instance_type"] in result.stdout
    assert "HF_TOKEN_SECRET_ID" in result.stdout and helpers.FAKE_TOKEN not in result.stdout

    # test.sh (plain request through moto's canned answers)
    answer = {"id": "x", "object": "chat.completion",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the endpoint"}}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 4}}
    moto.set_endpoint_results([{"Body": json.dumps(answer), "ContentType": "application/json"}])
    result = helpers.run(proj, "test.sh", "--no-stream", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello from the endpoint"

    # test.sh streaming: SageMaker Runtime goes to the event-stream stand-in.
    with Server() as standin:
        chunks = ['data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n',
                  'data: {"choices":[{"delta":{"content":"Streamed "}}]}\n\n',
                  'data: {"choices":[{"delta":{"content":"hello"}}]}\n\ndata: [DONE]\n\n']
        standin.script.items = [payload_part(c.encode()) for c in chunks]
        result = helpers.run(proj, "test.sh", "--stream-only", "--prompt", "hi",
                             env={**env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": standin.url})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Streamed hello"
        (request,) = standin.script.requests
        assert request["path"] == f"/endpoints/{name}/invocations-response-stream"
        body = json.loads(request["body"])
        assert body["stream"] is True and body["messages"] == [{"role": "user", "content": "hi"}]
        assert body["model"] == lock["model"]["id"]

    # logs.sh reads the endpoint's log group.
    logs = moto.client("logs")
    group = f"/aws/sagemaker/Endpoints/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-0")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-0",
                        logEvents=[{"timestamp": now - 1000, "message": "INFO: model loaded"},
                                   {"timestamp": now, "message": "INFO: Uvicorn running on 0.0.0.0:8080"}])
    result = helpers.run(proj, "logs.sh", "--since", "5", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("INFO: model loaded") and lines[1].endswith("Uvicorn running on 0.0.0.0:8080")

    # cleanup.sh refuses without a terminal or --yes, then removes everything.
    result = helpers.run(proj, "cleanup.sh", env=env)
    assert result.returncode == 1 and "--yes" in result.stderr
    assert sm.list_endpoints()["Endpoints"]
    result = helpers.run(proj, "cleanup.sh", "--yes", "--delete-repository", "--delete-role", env=env)
    assert result.returncode == 0, result.stderr
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role_name] == []
    assert moto.client("ecr").describe_repositories()["repositories"] == []
    # The secret stays unless asked for, and cleanup says so.
    assert sm_secrets.describe_secret(SecretId=secret_name)["ARN"] == secret_arn
    assert f"  - secret {secret_name} (--delete-secret)" in result.stderr
    assert "--delete-role)" not in result.stderr and "--delete-repository)" not in result.stderr

    # Again: nothing to do, still success.
    result = helpers.run(proj, "cleanup.sh", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert "nothing to delete" in result.stderr
    assert f"  - secret {secret_name} (--delete-secret)" in result.stderr


def test_missing_image_and_missing_role(project, moto):
    proj, lock = project
    env = moto.env(IMAGE_TAG=TAG)
    helpers.run(proj, "secret.sh", env=env, stdin=helpers.FAKE_TOKEN)
    result = helpers.run(proj, "deploy.sh", env=env)
    assert result.returncode == 1
    assert "deploy/build.sh and deploy/push.sh" in result.stderr

    put_image(moto, lock["project"]["name"])
    missing = f"arn:aws:iam::{helpers.ACCOUNT}:role/does-not-exist"
    for extra_env, args in [({}, ["--role-arn", missing]), ({"SAGEMAKER_ROLE_ARN": missing}, [])]:
        result = helpers.run(proj, "deploy.sh", *args, env={**env, **extra_env})
        assert result.returncode == 1
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert lines == [f"error: execution role {missing} does not exist; create it, or omit "
                         "--role-arn/SAGEMAKER_ROLE_ARN to let deploy.sh create one"]
    assert moto.client("sagemaker").list_models()["Models"] == []


def test_given_role_is_used(project, moto):
    proj, lock = project
    env = moto.env(IMAGE_TAG=TAG)
    helpers.run(proj, "secret.sh", env=env, stdin=helpers.FAKE_TOKEN)
    put_image(moto, lock["project"]["name"])
    iam = moto.client("iam")
    role = iam.create_role(RoleName="my-role", AssumeRolePolicyDocument="{}", Path="/service/")["Role"]
    result = helpers.run(proj, "deploy.sh", "--role-arn", role["Arn"], env=env)
    assert result.returncode == 0, result.stderr
    sm = moto.client("sagemaker")
    assert sm.describe_model(ModelName=lock["project"]["name"])["ExecutionRoleArn"] == role["Arn"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["my-role"]


def test_failed_endpoint_prints_reason_and_logs(project, moto):
    proj, lock = project
    env = moto.env(IMAGE_TAG=TAG)
    helpers.run(proj, "secret.sh", env=env, stdin=helpers.FAKE_TOKEN)
    put_image(moto, lock["project"]["name"])
    name = "fail-endpoint"  # the moto launcher fails endpoints named fail-*
    logs = moto.client("logs")
    group = f"/aws/sagemaker/Endpoints/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-1")
    logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "torch.OutOfMemoryError: CUDA out of memory"}])
    result = helpers.run(proj, "deploy.sh", "--endpoint-name", name, env=env)
    assert result.returncode == 1
    assert "did not pass the ping health check" in result.stderr
    assert "CUDA out of memory" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith(f"error: deployment of {name} failed")
    assert "deploy/cleanup.sh" in result.stderr

    # Whatever the failure left, cleanup removes.
    result = helpers.run(proj, "cleanup.sh", "--endpoint-name", name, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert f"  - IAM role {name}-sagemaker-exec (--delete-role)" in result.stderr
    assert f"  - ECR repository {lock['project']['name']} (--delete-repository)" in result.stderr
    sm = moto.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []


def test_wait_times_out_then_cleanup(rendered, tmp_path, moto):
    moto.reset()
    proj = tmp_path / "proj"
    shutil.copytree(rendered, proj)
    lock = json.loads((proj / "model.lock.json").read_text())
    env = moto.env(IMAGE_TAG=TAG)
    put_image(moto, lock["project"]["name"])
    name = "slow-endpoint"  # the moto launcher keeps endpoints named slow-* Creating
    result = helpers.run(proj, "deploy.sh", "--endpoint-name", name, "--timeout", "2", env=env)
    assert result.returncode == 1
    assert "still Creating" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith(f"error: endpoint {name} is still Creating after ")
    assert "deploy/cleanup.sh" in result.stderr
    result = helpers.run(proj, "deploy.sh", "--timeout", "soon", env=env)
    assert result.returncode == 1 and "--timeout wants whole seconds" in result.stderr

    result = helpers.run(proj, "cleanup.sh", "--endpoint-name", name, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    sm = moto.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []


def test_failure_before_endpoint_rolls_back(project, moto):
    proj, lock = project
    env = moto.env(IMAGE_TAG=TAG)
    helpers.run(proj, "secret.sh", env=env, stdin=helpers.FAKE_TOKEN)
    put_image(moto, lock["project"]["name"])
    result = helpers.run(proj, "deploy.sh", "--instance-type", "ml.t1.bogus", env=env)
    assert result.returncode == 1
    assert result.stderr.rstrip().splitlines()[-1] == f"removed model {lock['project']['name']}"
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: 'ml.t1.bogus' is not a SageMaker endpoint instance type")
    sm = moto.client("sagemaker")
    assert sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    # The bogus type is the one request botocore's model refuses (its enum of instance types).
    calls = moto.check_requests(allow=("'ml.t1.bogus' is not one of",))
    assert helpers.requests_for(calls, "CreateEndpointConfig")


def test_region_without_the_instance_type(rendered, tmp_path, moto):
    """AWS refuses the type in this region: say so, suggest a fix, leave nothing but the role."""
    moto.reset()
    proj = tmp_path / "proj"
    shutil.copytree(rendered, proj)
    lock_path = proj / "model.lock.json"
    lock = json.loads(lock_path.read_text())
    region = "eu-south-2"  # tests/aws/moto_launcher.py: REGION_WITHOUT_GPUS
    lock["project"]["aws_region"] = region
    lock_path.write_text(json.dumps(lock))
    name, itype = lock["project"]["name"], lock["deployment"]["instance_type"]
    env = moto.env(IMAGE_TAG=TAG)
    put_image(moto, name, region=region)
    result = helpers.run(proj, "deploy.sh", env=env)
    assert result.returncode == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: SageMaker does not offer {itype} for endpoints in {region} (AWS: ")
    assert "is not supported for the chosen region" in error
    assert "--instance-type" in error and "awsRegion=" in error and "project.aws_region" in error
    assert "Traceback" not in result.stderr
    sm = moto.client("sagemaker", region)
    assert sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_endpoints()["Endpoints"] == []

    # The execution role it made is reused by the next deploy; cleanup removes it on request.
    iam = moto.client("iam")
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == [f"{name}-sagemaker-exec"]
    result = helpers.run(proj, "cleanup.sh", "--yes", "--delete-role", "--delete-repository", env=env)
    assert result.returncode == 0, result.stderr
    assert iam.list_roles()["Roles"] == []
    assert moto.client("ecr", region).describe_repositories()["repositories"] == []

    # Another instance type in the same region works.
    put_image(moto, name, region=region)
    result = helpers.run(proj, "deploy.sh", "--instance-type", "ml.m5.xlarge", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    assert sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"][0]["InstanceType"] == \
        "ml.m5.xlarge"


def test_no_quota_for_the_instance_type(rendered, tmp_path, moto):
    """CreateEndpoint refused with ResourceLimitExceeded: point at Service Quotas and roll back."""
    moto.reset()
    proj = tmp_path / "proj"
    shutil.copytree(rendered, proj)
    lock = json.loads((proj / "model.lock.json").read_text())
    itype = lock["deployment"]["instance_type"]
    env = moto.env(IMAGE_TAG=TAG)
    put_image(moto, lock["project"]["name"])
    name = "quota-endpoint"  # the moto launcher refuses endpoints named quota-*
    result = helpers.run(proj, "deploy.sh", "--endpoint-name", name, env=env)
    assert result.returncode == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: your account may not run {itype} endpoints in us-east-1")
    assert f"'{itype} for endpoint usage'" in error and "servicequotas" in error
    assert f"removed endpoint config {name}" in result.stderr and f"removed model {name}" in result.stderr
    sm = moto.client("sagemaker")
    assert sm.list_models()["Models"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_endpoints()["Endpoints"] == []


def test_left_over_model_is_reported(project, moto):
    proj, lock = project
    name = lock["project"]["name"]
    env = moto.env(IMAGE_TAG=TAG)
    sm = moto.client("sagemaker")
    sm.create_model(ModelName=name, ExecutionRoleArn=f"arn:aws:iam::{helpers.ACCOUNT}:role/x",
                    PrimaryContainer={"Image": "x"})
    result = helpers.run(proj, "deploy.sh", env=env)
    assert result.returncode == 1
    assert f"a SageMaker model named '{name}' already exists" in result.stderr
    result = helpers.run(proj, "cleanup.sh", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert sm.list_models()["Models"] == []


def test_gated_model_with_weights_from_s3_needs_no_secret(project, moto):
    """--model-data: the container serves /opt/ml/model and makes no hub call, so a gated model
    (model.gated "manual", as the hub says) deploys without its Secrets Manager secret."""
    proj, lock = project
    name = lock["project"]["name"]
    assert lock["model"]["gated"] == "manual" and lock["project"]["hf_token_secret_name"]
    put_image(moto, name)
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="weights")
    s3.put_object(Bucket="weights", Key="m/config.json", Body=b"{}")
    s3.put_object(Bucket="weights", Key="m/hf-snapshot.json",
                  Body=json.dumps({"model": lock["model"]["id"], "sha": lock["model"]["sha"]}).encode())
    moto.take_requests()
    env = moto.env(IMAGE_TAG=TAG)
    result = helpers.run(proj, "deploy.sh", "--model-data", "s3://weights/m/", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    calls = moto.check_requests()
    assert not [c for c in calls if c["operation"] in ("DescribeSecret", "GetSecretValue")]
    container = one_of(helpers.requests_for(calls, "CreateModel"))["PrimaryContainer"]
    assert "HF_TOKEN_SECRET_ID" not in container.get("Environment", {})
    assert container["ModelDataSource"]["S3DataSource"]["S3Uri"] == "s3://weights/m/"
    policy = json.loads(one_of(helpers.requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    assert not [s for s in policy["Statement"] if "secretsmanager" in json.dumps(s)]

    # Without --model-data the same project still needs the secret, and says how to do without.
    result = helpers.run(proj, "deploy.sh", "--endpoint-name", "from-hub", env=env)
    assert result.returncode == 1
    assert "deploy/secret.sh" in result.stderr and "--model-data" in result.stderr


def one_of(items: list):
    assert len(items) == 1, items
    return items[0]


def test_ungated_model_gets_no_secret(rendered, tmp_path, moto):
    moto.reset()
    proj = tmp_path / "proj"
    shutil.copytree(rendered, proj)
    lock = json.loads((proj / "model.lock.json").read_text())
    env = moto.env(IMAGE_TAG=TAG)
    put_image(moto, lock["project"]["name"])
    result = helpers.run(proj, "deploy.sh", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    sm = moto.client("sagemaker")
    model = sm.describe_model(ModelName=lock["project"]["name"])
    assert model["PrimaryContainer"].get("Environment", {}) == {}
    role = model["ExecutionRoleArn"].rsplit("/", 1)[1]
    policy = moto.client("iam").get_role_policy(RoleName=role, PolicyName="sagemaker-endpoint")["PolicyDocument"]
    assert not [s for s in policy["Statement"] if "secretsmanager" in json.dumps(s)]


def test_codebuild_submit_and_cleanup(tmp_path, moto):
    """codebuild.sh against moto (whose builds succeed at once; it lacks UpdateProject)."""
    moto.reset()
    proj = helpers.render(tmp_path / "cb", deployTarget="codebuild", modelServer="lmi")
    lock = json.loads((proj / "model.lock.json").read_text())
    (proj / ".env").write_text(f"HF_TOKEN={helpers.FAKE_TOKEN}\n")
    env = moto.env(IMAGE_TAG=TAG, CODEBUILD_POLL_SECONDS="1")
    result = helpers.run(proj, "codebuild.sh", env=env)
    assert result.returncode == 0, result.stderr
    repo = lock["project"]["name"]
    assert result.stdout.strip() == f"{helpers.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{repo}:{TAG}"

    cb = moto.client("codebuild")
    (project,) = cb.batch_get_projects(names=[f"{repo}-image"])["projects"]
    assert project["source"]["buildspec"] == "deploy/buildspec.yml"
    assert project["environment"]["privilegedMode"] is True
    bucket, key = project["source"]["location"].split("/", 1)

    # The bundle has the project but no secrets.
    import io
    import zipfile

    data = moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"Dockerfile", "model.lock.json", "deploy/buildspec.yml", "code/serve"} <= set(names)
    assert ".env" not in names
    assert helpers.FAKE_TOKEN.encode() not in data

    # The service role: CodeBuild only; push to one repository; the LMI base image pull.
    iam = moto.client("iam")
    role_name = project["serviceRole"].rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "codebuild.amazonaws.com"}]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="codebuild-image-build")["PolicyDocument"]
    assert "__" not in json.dumps(policy)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["EcrPush"]["Resource"] == f"arn:aws:ecr:us-east-1:{helpers.ACCOUNT}:repository/{repo}"
    assert by_sid["BaseImagePull"]["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"
    assert by_sid["SourceBundle"]["Resource"] == f"arn:aws:s3:::{bucket}/{repo}-image/*"

    result = helpers.run(proj, "cleanup.sh", "--yes", "--delete-codebuild", "--delete-repository", env=env)
    assert result.returncode == 0, result.stderr
    assert cb.batch_get_projects(names=[f"{repo}-image"])["projects"] == []
    assert bucket not in [b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]]
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role_name] == []


def test_policy_file_drops_base_pull_for_docker_hub_images(tmp_path, moto):
    moto.reset()
    proj = helpers.render(tmp_path / "cb", deployTarget="codebuild")
    env = moto.env(IMAGE_TAG=TAG, CODEBUILD_POLL_SECONDS="1")
    result = helpers.run(proj, "codebuild.sh", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    iam = moto.client("iam")
    (role,) = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].endswith("-codebuild")]
    policy = iam.get_role_policy(RoleName=role, PolicyName="codebuild-image-build")["PolicyDocument"]
    assert "BaseImagePull" not in {s["Sid"] for s in policy["Statement"]}
