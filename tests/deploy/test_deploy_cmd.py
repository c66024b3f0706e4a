"""`python -m deploy deploy`, in-process: create, preflight, roll-back, hosting modes.

Ported from the removed bash-script tests tests/test_deploy.py (option checks), test_deploy_lifecycle.py and
test_deploy_hosting.py (deploy.sh's assertions); every request is validated against botocore's
service model by the ``aws`` fixture. In-place updates: test_deploy_update.py.
"""
from __future__ import annotations

import json
import math
import time

import pytest
from deploy_support import ACCOUNT, AMI, FAKE_TOKEN, TAG, one, ops, requests_for

CREATES = {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent", "CreateRole",
           "PutRolePolicy"}


def created(calls) -> set[str]:
    return CREATES & set(ops(calls))


def store_secret(aws, name: str) -> str:
    return aws.client("secretsmanager").create_secret(Name=name, SecretString=FAKE_TOKEN)["ARN"]


def everything(aws) -> str:
    """Every model's, config's and endpoint's full description as one string."""
    sm = aws.client("sagemaker")
    parts = [json.dumps(sm.describe_model(ModelName=m["ModelName"]), default=str) for m in sm.list_models()["Models"]]
    parts += [json.dumps(sm.describe_endpoint_config(EndpointConfigName=c["EndpointConfigName"]), default=str)
              for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    parts += [json.dumps(sm.describe_endpoint(EndpointName=e["EndpointName"]), default=str)
              for e in sm.list_endpoints()["Endpoints"]]
    return "\n".join(parts)


def nothing_created(aws, region: str = "us-east-1") -> bool:
    sm = aws.client("sagemaker", region)
    return (sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []
            and sm.list_endpoints()["Endpoints"] == [])


# -- options: one clear error, before any AWS call ------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--copies", "2"], "--copies goes with --inference-component"),
    (["--memory-mb", "2048"], "--memory-mb goes with --inference-component"),
    (["--inference-component", "--copies", "0"], "--copies wants a whole number of at least 1, got '0'"),
    (["--inference-component", "--memory-mb", "64"], "--memory-mb wants a whole number of at least 128"),
    (["--inference-component", "--async", "s3://bucket-x/a/"], "--async and --inference-component do not go together"),
    (["--async-max-concurrency", "4"], "--async-max-concurrency goes with --async"),
    (["--model-data", "https://bucket-x/a/"], "is not an S3 location like s3://bucket/prefix/"),
    (["--async", "s3://Bucket_X/"], "is not an S3 location like s3://bucket/prefix/"),
    (["--timeout", "soon"], "--timeout wants whole seconds, got 'soon'"),
    (["--env", "NOEQUALS"], "--env wants KEY=VALUE, got 'NOEQUALS'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_options_refused_before_aws(cli, aws, args, message):
    result = cli("deploy", *args)
    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert aws.take() == []


@pytest.mark.parametrize("kv", [f"HF_TOKEN={FAKE_TOKEN}", f"MY_SETTING={FAKE_TOKEN}", "AWS_SECRET_ACCESS_KEY=x",
                                "DB_PASSWORD=x"])
def test_secrets_refused_in_env(cli, aws, kv):
    result = cli("deploy", "--env", kv)
    assert result.code == 1 and "python -m deploy secret" in one(result.errors)
    assert FAKE_TOKEN not in result.stderr + result.stdout
    assert aws.take() == []


def test_help_lists_every_option_without_aws(cli, aws):
    result = cli("deploy", "--help")
    assert result.code == 0
    for option in ("--inference-component", "--copies", "--memory-mb", "--async", "--model-data", "--env",
                   "--image-uri", "--rolling", "--rollback-alarm", "--endpoint-name", "--no-wait", "--timeout"):
        assert option in result.stdout, option
    assert aws.take() == []


def test_no_credentials_is_one_clear_error(cli, project, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    import boto3

    from deploy.__main__ import main  # the package the cli fixture imported

    import contextlib
    import io

    for args in (["deploy"], ["status"], ["cleanup", "--yes"]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(args, session=boto3.Session(), sleep=lambda s: None)
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        assert code == 1 and len(lines) == 1, (args, err.getvalue())
        assert lines[0].startswith("error: no usable AWS credentials"), lines


def test_missing_lock_is_one_clear_error(cli, aws, project):
    project.lock_path.unlink()
    result = cli("status")
    assert result.code == 1 and "model.lock.json not found" in one(result.errors)


# -- the lifecycle ---------------------------------------------------------------------------------
def test_gated_model_deploys_with_its_secret_arn_only(cli, aws, project):
    lock = project.make_gated()
    name, secret_name = project.name, lock["project"]["hf_token_secret_name"]
    aws.put_image(name)

    # Without its secret: one clear message, nothing created.
    result = cli("deploy")
    assert result.code == 1
    assert "python -m deploy secret" in one(result.errors) and "not found" in result.stderr
    assert "--model-data" in one(result.errors)
    assert not created(aws.take())
    assert nothing_created(aws)

    secret_arn = store_secret(aws, secret_name)
    result = cli("deploy", "--env", "ENGINE_ARG_MAX_NUM_SEQS=16")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == name and "InService" in result.stderr
    sm = aws.client("sagemaker")
    model = sm.describe_model(ModelName=name)
    container = model["PrimaryContainer"]
    assert container["Image"] == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}:{TAG}"
    assert container["Environment"] == {"HF_TOKEN_SECRET_ID": secret_arn, "ENGINE_ARG_MAX_NUM_SEQS": "16"}
    role_name = model["ExecutionRoleArn"].rsplit("/", 1)[1]
    assert role_name == f"{name}-sagemaker-exec"

    (variant,) = sm.describe_endpoint_config(EndpointConfigName=name)["ProductionVariants"]
    dep = lock["deployment"]
    assert variant["InstanceType"] == dep["instance_type"] and variant["ModelName"] == name
    assert variant["InitialInstanceCount"] == 1
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == dep["container_startup_health_check_timeout_s"]
    assert variant["ModelDataDownloadTimeoutInSeconds"] == dep["model_data_download_timeout_s"]
    assert variant["VolumeSizeInGB"] == dep["volume_size_gb"]
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    # The role: trusted by SageMaker only; ECR pull on one repo, logs on one group, one secret.
    iam = aws.client("iam")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "sagemaker.amazonaws.com"}]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="sagemaker-endpoint")["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["HfTokenSecret"] == {"Sid": "HfTokenSecret", "Effect": "Allow",
                                       "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
    assert by_sid["EcrPull"]["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}"
    assert by_sid["EcrAuth"]["Action"] == "ecr:GetAuthorizationToken"
    assert by_sid["Logs"]["Resource"] == [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}",
                                          f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"
                                          ":log-stream:*"]
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in a for a in actions)
        if statement["Sid"] != "EcrAuth":
            assert statement["Resource"] != "*"

    # No token anywhere: not in what SageMaker stores, not in any request, not in the output.
    calls = aws.take()
    assert FAKE_TOKEN not in everything(aws)
    assert FAKE_TOKEN not in json.dumps([c for c in calls if c["operation"] != "CreateSecret"], default=str)
    assert FAKE_TOKEN not in result.stdout + result.stderr
    assert not requests_for(calls, "GetSecretValue")  # the ARN only: the container reads the value itself


def test_ungated_model_gets_no_secret(cli, aws, project):
    aws.put_image(project.name)
    result = cli("deploy", "--no-wait")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert not [c for c in calls if c["service"] == "secretsmanager"]
    model = aws.client("sagemaker").describe_model(ModelName=project.name)
    assert model["PrimaryContainer"].get("Environment", {}) == {}
    policy = json.loads(one(requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    assert not [s for s in policy["Statement"] if "secretsmanager" in json.dumps(s)]


def test_missing_image_and_missing_role(cli, aws, project):
    name = project.name
    result = cli("deploy")
    assert result.code == 1
    assert one(result.errors) == (f"error: image {name}:{TAG} is not in ECR; run `python -m deploy build` and "
                                  "`python -m deploy push` first (or pass --image-uri)")
    assert not created(aws.take())

    aws.put_image(name)
    missing = f"arn:aws:iam::{ACCOUNT}:role/does-not-exist"
    result = cli("deploy", "--role-arn", missing)
    assert result.code == 1
    assert result.errors == [f"error: execution role {missing} does not exist; create it, or omit "
                             "--role-arn/SAGEMAKER_ROLE_ARN to let deploy create one"]
    assert nothing_created(aws)


def test_role_from_the_environment_is_used(cli, aws, project, monkeypatch):
    aws.put_image(project.name)
    iam = aws.client("iam")
    role = iam.create_role(RoleName="my-role", AssumeRolePolicyDocument="{}", Path="/service/")["Role"]
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", role["Arn"])
    result = cli("deploy")
    assert result.code == 0, result.stderr
    sm = aws.client("sagemaker")
    assert sm.describe_model(ModelName=project.name)["ExecutionRoleArn"] == role["Arn"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["my-role"]
    assert not requests_for(aws.take(), "PutRolePolicy")


def test_image_uri_deploys_that_image_without_the_project_tag(cli, aws, project):
    aws.put_image("other-repo", "v7")
    uri = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/other-repo:v7"
    result = cli("deploy", "--image-uri", uri, "--no-wait")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert one(requests_for(calls, "DescribeImages")) == {"repositoryName": "other-repo",
                                                         "imageIds": [{"imageTag": "v7"}]}
    assert one(requests_for(calls, "CreateModel"))["PrimaryContainer"]["Image"] == uri
    # Not in ECR: refused before anything is created.
    result = cli("deploy", "--image-uri", f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/other-repo:v8",
                 "--endpoint-name", "e2")
    assert result.code == 1 and "image other-repo:v8 is not in ECR" in one(result.errors)
    assert not created(aws.take())


def test_failed_endpoint_prints_reason_logs_and_cleanup_hint(cli, aws, project):
    aws.put_image(project.name)
    name = "broken-endpoint"
    aws.fake.fail_endpoints[name] = ("The primary container for production variant AllTraffic did not pass the "
                                     "ping health check.")
    logs = aws.client("logs")
    group = f"/aws/sagemaker/Endpoints/{name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-1")
    logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-1", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "torch.OutOfMemoryError: CUDA out of memory"}])
    result = cli("deploy", "--endpoint-name", name)
    assert result.code == 1
    assert "did not pass the ping health check" in result.stderr
    assert "CUDA out of memory" in result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert last.startswith(f"error: deployment of {name} failed")
    assert f"python -m deploy cleanup --endpoint-name {name}" in last
    assert "Traceback" not in result.stderr


def test_wait_times_out_with_the_cleanup_hint(cli, aws, project):
    aws.put_image(project.name)
    name = "slow-endpoint"
    aws.fake.slow_endpoints.add(name)
    result = cli("deploy", "--endpoint-name", name, "--timeout", "0")
    assert result.code == 1
    assert "still Creating" in result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert last.startswith(f"error: endpoint {name} is still Creating after ")
    assert f"python -m deploy cleanup --endpoint-name {name}" in last


def test_refused_endpoint_rolls_back_and_names_the_quota(cli, aws, project):
    """CreateEndpoint refused with ResourceLimitExceeded: Service Quotas, and what this run created is removed."""
    aws.put_image(project.name)
    itype = project.lock["deployment"]["instance_type"]
    name = "refused-endpoint"
    aws.fake.refuse_endpoints[name] = ("ResourceLimitExceeded", "The account-level service limit '{instance_type} for "
                                       "endpoint usage' is 0 Instances, with current utilization of 0 Instances and a "
                                       "request delta of 1 Instances.")
    result = cli("deploy", "--endpoint-name", name)
    assert result.code == 1
    error = one(result.errors)
    assert error.startswith(f"error: your account may not run more {itype} endpoint instances in us-east-1")
    assert f"'{itype} for endpoint usage'" in error and "servicequotas" in error
    assert f"removed endpoint config {name}" in result.stderr and f"removed model {name}" in result.stderr
    assert result.stderr.index("removed endpoint config") < result.stderr.index("removed model")
    assert nothing_created(aws)


def test_bogus_instance_type_refused_before_anything(cli, aws, project):
    aws.put_image(project.name)
    result = cli("deploy", "--instance-type", "ml.t1.bogus")
    assert result.code == 1
    assert one(result.errors).startswith("error: 'ml.t1.bogus' is not a SageMaker endpoint instance type")
    assert not created(aws.take())


def test_region_without_the_instance_type(cli, aws, project):
    """AWS refuses the type in this region: say so, suggest a fix, leave nothing but the role."""
    region = "eu-south-2"
    project.set_lock(lambda lk: lk["project"].update(aws_region=region))
    aws.fake.regions_without_gpus.add(region)
    name, itype = project.name, project.lock["deployment"]["instance_type"]
    aws.put_image(name, region=region)
    result = cli("deploy")
    assert result.code == 1
    error = one(result.errors)
    assert error.startswith(f"error: SageMaker refused {itype} for create endpoint config {name} in {region} (AWS: ")
    assert "is not supported for the chosen region" in error
    assert "--instance-type" in error and "awsRegion=" in error and "project.aws_region" in error
    assert f"removed model {name}" in result.stderr
    assert nothing_created(aws, region)
    assert [r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]] == [f"{name}-sagemaker-exec"]

    # Another instance type in the same region works.
    result = cli("deploy", "--instance-type", "ml.m5.xlarge", "--no-wait")
    assert result.code == 0, result.stderr
    config = aws.client("sagemaker", region).describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"


def test_instance_storage_types_get_no_volume(cli, aws, project):
    aws.put_image(project.name)
    itype = project.lock["deployment"]["instance_type"]
    aws.fake.no_volume_types.add(itype)
    result = cli("deploy", "--no-wait")
    assert result.code == 0, result.stderr
    assert f"{itype} does not take VolumeSizeInGB" in result.stderr
    first, second = requests_for(aws.take(), "CreateEndpointConfig")
    assert "VolumeSizeInGB" in first["ProductionVariants"][0]
    assert "VolumeSizeInGB" not in second["ProductionVariants"][0]


def test_left_over_model_is_reported(cli, aws, project):
    name = project.name
    aws.put_image(name)
    aws.client("sagemaker").create_model(ModelName=name, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x",
                                         PrimaryContainer={"Image": "x"})
    result = cli("deploy")
    assert result.code == 1
    assert f"a SageMaker model named '{name}' already exists" in one(result.errors)
    assert f"python -m deploy cleanup --endpoint-name {name}" in one(result.errors)


# -- preflight ------------------------------------------------------------------------------------------
def test_quota_too_small_is_refused_before_anything(cli, aws, project):
    aws.put_image(project.name)
    itype = project.lock["deployment"]["instance_type"]
    aws.fake.quotas = {f"{itype} for endpoint usage": 0.0, "ml.g5.xlarge for endpoint usage": 2.0}
    result = cli("deploy")
    assert result.code == 1
    error = one(result.errors)
    assert f"quota '{itype} for endpoint usage' in us-east-1 is 0 instance(s), and this deploy needs 1" in error
    assert "Service Quotas" in error and "servicequotas" in error and "quota code L-" in error
    assert not created(aws.take())


def test_component_scaling_beyond_the_quota_is_a_warning(cli, aws, project):
    aws.put_image(project.name)
    itype = project.lock["deployment"]["instance_type"]
    aws.fake.quotas = {f"{itype} for endpoint usage": 2.0}
    result = cli("deploy", "--inference-component", "--max-instances", "3", "--no-wait")
    assert result.code == 0, result.stderr
    assert "warning: managed instance scaling may grow to 3 instances (--max-instances)" in result.stderr


def test_unreadable_quota_is_a_warning(cli, aws, project):
    aws.put_image(project.name)
    aws.fake.quota_error = "AccessDeniedException"
    result = cli("deploy", "--no-wait")
    assert result.code == 0, result.stderr
    assert "warning: could not read the quota" in result.stderr and "AccessDeniedException" in result.stderr


def test_quota_pages_are_read_until_found(cli, aws, project):
    aws.put_image(project.name)
    result = cli("deploy", "--no-wait")
    assert result.code == 0, result.stderr
    pages = requests_for(aws.take(), "ListServiceQuotas")
    assert len(pages) >= 2 and pages[0] == {"ServiceCode": "sagemaker", "MaxResults": 100}
    assert pages[1]["NextToken"]


def test_cuda_13_image_needs_the_al2023_host_ami(cli, aws, project):
    aws.put_image(project.name)
    aws.take()
    assert project.lock["server"]["cuda"] == 13
    project.set_lock(lambda lk: lk["server"].update(inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1"))
    result = cli("deploy")
    assert result.code == 1
    error = one(result.errors)
    assert "CUDA 13" in error and "al2-ami-sagemaker-inference-gpu-3-1" in error and AMI in error
    assert aws.take() == []  # before any AWS call
    project.set_lock(lambda lk: lk["server"].update(inference_ami_version=None))
    result = cli("deploy")
    assert result.code == 1 and "(SageMaker default) runs CUDA 12 at most" in one(result.errors)


def test_cuda13_host_ami_is_set_from_the_lock(cli, aws, project):
    aws.put_image(project.name)
    assert project.lock["server"]["inference_ami_version"] == AMI
    result = cli("deploy", "--no-wait")
    assert result.code == 0, result.stderr
    assert f"host AMI {AMI}" in result.stderr
    variant = one(one(requests_for(aws.take(), "CreateEndpointConfig"))["ProductionVariants"])
    assert variant["InferenceAmiVersion"] == AMI
    # An image that needs no special host (CUDA 12, null in the lock) gets no field at all.
    project.set_lock(lambda lk: lk["server"].update(inference_ami_version=None, cuda=12))
    result = cli("deploy", "--no-wait", "--endpoint-name", "plain-ami")
    assert result.code == 0, result.stderr
    variant = one(one(requests_for(aws.take(), "CreateEndpointConfig"))["ProductionVariants"])
    assert "InferenceAmiVersion" not in variant


# -- weights from S3 ------------------------------------------------------------------------------------
def test_weights_from_s3(cli, aws, project):
    lock = project.lock
    name, model_id, sha = project.name, lock["model"]["id"], lock["model"]["sha"]
    aws.put_image(name)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="model-store")
    s3.put_object(Bucket="model-store", Key="qwen/config.json", Body=b"{}")
    s3.put_object(Bucket="model-store", Key="qwen/hf-snapshot.json",
                  Body=json.dumps({"model": model_id, "sha": sha}).encode())
    aws.take()
    result = cli("deploy", "--model-data", "s3://model-store/qwen", "--no-wait")
    assert result.code == 0, result.stderr
    calls = aws.take()
    container = one(requests_for(calls, "CreateModel"))["PrimaryContainer"]
    assert container["ModelDataSource"] == {"S3DataSource": {
        "S3Uri": "s3://model-store/qwen/", "S3DataType": "S3Prefix", "CompressionType": "None"}}
    assert "ModelDataUrl" not in container
    policy = json.loads(one(requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ModelDataRead"]["Resource"] == "arn:aws:s3:::model-store/qwen/*"
    assert by_sid["ModelDataList"]["Condition"] == {"StringLike": {"s3:prefix": ["qwen/*"]}}
    result = cli("status")
    assert "s3://model-store/qwen/" in result.stdout

    # Nothing uploaded there yet, or another revision: say what to run.
    result = cli("deploy", "--model-data", "s3://model-store/empty/", "--endpoint-name", "e2")
    assert result.code == 1
    assert one(result.errors) == ("error: s3://model-store/empty/config.json not found: put the pinned snapshot there "
                                  "first with `python -m deploy upload-model s3://model-store/empty/`")
    s3.put_object(Bucket="model-store", Key="other/config.json", Body=b"{}")
    s3.put_object(Bucket="model-store", Key="other/hf-snapshot.json",
                  Body=json.dumps({"model": model_id, "sha": "0" * 40}).encode())
    result = cli("deploy", "--model-data", "s3://model-store/other/", "--endpoint-name", "e3")
    assert result.code == 1
    assert f"holds {model_id} at {'0' * 40}, but model.lock.json pins {sha}" in one(result.errors)


def test_gated_model_with_weights_from_s3_needs_no_secret(cli, aws, project):
    lock = project.make_gated()
    aws.put_image(project.name)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="weights")
    s3.put_object(Bucket="weights", Key="m/config.json", Body=b"{}")
    s3.put_object(Bucket="weights", Key="m/hf-snapshot.json",
                  Body=json.dumps({"model": lock["model"]["id"], "sha": lock["model"]["sha"]}).encode())
    aws.take()
    result = cli("deploy", "--model-data", "s3://weights/m/", "--no-wait")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert not [c for c in calls if c["service"] == "secretsmanager"]
    container = one(requests_for(calls, "CreateModel"))["PrimaryContainer"]
    assert "HF_TOKEN_SECRET_ID" not in container.get("Environment", {})
    policy = json.loads(one(requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    assert not [s for s in policy["Statement"] if "secretsmanager" in json.dumps(s)]
    result = cli("deploy", "--endpoint-name", "from-hub")
    assert result.code == 1 and "python -m deploy secret" in result.stderr and "--model-data" in result.stderr


# -- inference components ------------------------------------------------------------------------------
def test_inference_component_deploy(cli, aws, project):
    lock = project.lock
    name, dep = project.name, lock["deployment"]
    aws.put_image(name)
    result = cli("deploy", "--inference-component", "--copies", "2")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == name
    calls = aws.take()
    config = one(requests_for(calls, "CreateEndpointConfig"))
    role_arn = one(requests_for(calls, "CreateModel"))["ExecutionRoleArn"]
    assert config["ExecutionRoleArn"] == role_arn
    variant = one(config["ProductionVariants"])
    assert "ModelName" not in variant
    per_instance = max(1, dep["gpu_count"] // dep["tensor_parallel_size"])
    instances = math.ceil(2 / per_instance)
    assert variant["InitialInstanceCount"] == instances
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0,
                                                 "MaxInstanceCount": instances}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert variant.get("InferenceAmiVersion") == lock["server"]["inference_ami_version"]
    ic = one(requests_for(calls, "CreateInferenceComponent"))
    assert ic["InferenceComponentName"] == name and ic["EndpointName"] == name and ic["VariantName"] == "AllTraffic"
    assert ic["RuntimeConfig"] == {"CopyCount": 2}
    spec = ic["Specification"]
    assert spec["ModelName"] == name
    # MinMemoryRequiredInMb is host memory (RAM): the lock's reservation for the engine process.
    assert spec["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": dep["tensor_parallel_size"],
        "MinMemoryRequiredInMb": dep["inference_component_memory_mb"]}
    assert dep["inference_component_memory_mb"] * per_instance <= dep["host_memory_gib"] * 1024
    assert spec["StartupParameters"] == {
        "ModelDataDownloadTimeoutInSeconds": dep["model_data_download_timeout_s"],
        "ContainerStartupHealthCheckTimeoutInSeconds": dep["container_startup_health_check_timeout_s"]}
    # The component is created once the endpoint is InService, and waited for.
    order = ops(calls)
    assert order.index("CreateInferenceComponent") > order.index("CreateEndpoint")
    assert "DescribeInferenceComponent" in order[order.index("CreateInferenceComponent"):]
    policy = json.loads(one(requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    logs = next(s for s in policy["Statement"] if s["Sid"] == "Logs")["Resource"]
    assert any(r.endswith(f"log-group:/aws/sagemaker/InferenceComponents/{name}") for r in logs)
    sm = aws.client("sagemaker")
    assert sm.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"] == "InService"
    assert "quota" in result.stderr and f"needs {instances}" in result.stderr


def llama_on_g6_xlarge(project) -> dict:
    """The lock's deployment as generated for Llama-3.1-8B (vLLM): ml.g6.xlarge, 16 GiB of host memory,
    14.96 GiB of weights plus its KV cache (more than the host has)."""
    from generator import project as generator_project

    llama = generator_project.build_context({"modelName": "meta-llama/Llama-3.1-8B-Instruct", "offline": True,
                                         "modelServer": "vllm", "projectName": "llama"})["lock"]["deployment"]
    return project.set_lock(lambda lk: lk["deployment"].update(llama))


def test_component_host_memory_fits_the_instance(cli, aws, project):
    lock = llama_on_g6_xlarge(project)
    dep = lock["deployment"]
    assert dep["instance_type"] == "ml.g6.xlarge" and dep["host_memory_gib"] == 16
    host_mb = 16 * 1024
    assert (dep["weight_memory_gib"] + dep["kv_cache_memory_gib"]) * 1024 > host_mb
    aws.put_image(project.name)
    aws.take()

    # --memory-mb above the host's memory: refused before any AWS call.
    result = cli("deploy", "--inference-component", "--memory-mb", str(host_mb + 1))
    assert result.code == 1
    assert one(result.errors).startswith(
        f"error: --memory-mb {host_mb + 1} is more host memory than ml.g6.xlarge has (16 GiB = {host_mb} MB)")
    assert aws.take() == []

    # The default: what the lock reserves for the engine process, which fits the host.
    result = cli("deploy", "--inference-component")
    assert result.code == 0, result.stderr
    need = one(requests_for(aws.take(), "CreateInferenceComponent"))["Specification"]["ComputeResourceRequirements"]
    assert need["MinMemoryRequiredInMb"] == dep["inference_component_memory_mb"]
    assert 1024 <= need["MinMemoryRequiredInMb"] <= host_mb - 2048
    assert need["NumberOfAcceleratorDevicesRequired"] == 1

    # Exactly the host's memory is still the user's call; another instance type than the lock's
    # (host memory unknown here) gets the SageMaker SDK's 1024 MB.
    result = cli("deploy", "--inference-component", "--memory-mb", str(host_mb), "--endpoint-name", "whole-host")
    assert result.code == 0, result.stderr
    ic = one(requests_for(aws.take(), "CreateInferenceComponent"))
    assert ic["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == host_mb
    result = cli("deploy", "--inference-component", "--instance-type", "ml.g6e.xlarge", "--endpoint-name", "other-type")
    assert result.code == 0, result.stderr
    ic = one(requests_for(aws.take(), "CreateInferenceComponent"))
    assert ic["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 1024


def test_copies_beyond_max_instances_refused(cli, aws, project):
    result = cli("deploy", "--inference-component", "--copies", "3", "--max-instances", "2")
    assert result.code == 1
    assert "--copies 3 needs 3 instance(s)" in one(result.errors) and "--max-instances 2" in one(result.errors)
    assert aws.take() == []


def test_component_that_does_not_fit(cli, aws, project):
    aws.put_image(project.name)
    name = "big-endpoint"
    aws.fake.fail_components[name] = ("Unable to place the inference component: there are not enough hardware "
                                      "resources on the instances for this inference component.")
    result = cli("deploy", "--inference-component", "--endpoint-name", name, "--memory-mb", "12288")
    assert result.code == 1
    assert "not enough hardware resources" in result.stderr
    assert "hint: one copy asks for" in result.stderr and "12288 MB" in result.stderr
    assert "--memory-mb" in result.stderr
    error = one(result.errors)
    assert error.startswith(f"error: deployment of inference component {name} failed")
    assert f"--endpoint-name {name}" in error


def test_region_without_inference_components(cli, aws, project):
    region = "mx-central-1"
    project.set_lock(lambda lk: lk["project"].update(aws_region=region))
    aws.fake.regions_without_components.add(region)
    aws.put_image(project.name, region=region)
    result = cli("deploy", "--inference-component")
    assert result.code == 1
    error = one(result.errors)
    assert error.startswith(f"error: SageMaker inference components are not available in {region} (AWS: ")
    assert "Deploy without --inference-component" in error and "project.aws_region" in error
    assert nothing_created(aws, region)


def test_no_instance_quota_for_components(cli, aws, project):
    aws.put_image(project.name)
    name = "quota-endpoint"
    aws.fake.refuse_endpoints[name] = ("ResourceLimitExceeded", "The account-level service limit '{instance_type} for "
                                       "endpoint usage' is 0 Instances.")
    result = cli("deploy", "--inference-component", "--endpoint-name", name)
    assert result.code == 1
    error = one(result.errors)
    assert "Service Quotas" in error and "servicequotas" in error
    assert nothing_created(aws)


# -- asynchronous ---------------------------------------------------------------------------------------
def test_async_endpoint(cli, aws, project):
    result = cli("deploy", "--async", "s3://no-such-bucket/a/")
    assert result.code == 1
    assert "bucket no-such-bucket is not there or not yours" in one(result.errors)
    aws.put_image(project.name)
    aws.client("s3").create_bucket(Bucket="async-jobs")
    result = cli("deploy", "--async", "s3://async-jobs/llm", "--async-max-concurrency", "4")
    assert result.code == 0, result.stderr
    calls = aws.take()
    config = one(requests_for(calls, "CreateEndpointConfig"))
    assert config["AsyncInferenceConfig"] == {
        "OutputConfig": {"S3OutputPath": "s3://async-jobs/llm/output/", "S3FailurePath": "s3://async-jobs/llm/failure/"},
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}}
    policy = json.loads(one(requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["AsyncRead"]["Resource"] == "arn:aws:s3:::async-jobs/llm/*"
    assert by_sid["AsyncWrite"]["Resource"] == ["arn:aws:s3:::async-jobs/llm/output/*",
                                                "arn:aws:s3:::async-jobs/llm/failure/*"]
    result = cli("status")
    assert "mode: asynchronous" in result.stdout and "s3://async-jobs/llm/output/" in result.stdout
