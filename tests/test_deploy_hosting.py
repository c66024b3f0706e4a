"""Hosting modes against the local AWS (moto_server + tests/aws/moto_launcher.py).

CUDA 13 host AMIs, weights from S3, inference components with managed instance
scaling, autoscaling (instances, copies, scale to zero), asynchronous inference,
and the clean-up order. Every AWS request the scripts make is recorded
(tests/aws/recorder) and validated against botocore's service model after each
test; the tests read the recorded requests to check what was asked of AWS, since
moto keeps only part of some of them.
"""
from __future__ import annotations

import json
import math
import shutil
import sys
import urllib.request
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
AMI = "al2023-ami-sagemaker-inference-gpu-4-1"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
CHAT = {"id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the component"}}]}


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = helpers.Moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return helpers.render(tmp_path_factory.mktemp("hosting") / "proj")


@pytest.fixture(autouse=True)
def valid_requests(moto):
    """Every AWS request a test's scripts make must be valid for botocore's service model."""
    moto.take_requests()
    yield
    moto.check_requests()


@pytest.fixture
def project(rendered, tmp_path, moto):
    """A fresh copy of the rendered project, its image in ECR, on a clean moto."""
    moto.reset()
    dst = tmp_path / "proj"
    shutil.copytree(rendered, dst)
    lock = json.loads((dst / "model.lock.json").read_text())
    helpers.put_image(moto, lock["project"]["name"], TAG)
    return dst, lock


def set_lock(proj: Path, change) -> dict:
    path = proj / "model.lock.json"
    lock = json.loads(path.read_text())
    change(lock)
    path.write_text(json.dumps(lock, indent=2))
    return lock


def one(items: list):
    assert len(items) == 1, items
    return items[0]


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_cuda13_host_ami_is_set_from_the_lock(project, moto):
    proj, lock = project
    env = moto.env(IMAGE_TAG=TAG)
    # The default vLLM image is a CUDA 13 build: the template records the host AMI it needs.
    assert lock["server"].get("inference_ami_version") == AMI
    result = helpers.run(proj, "deploy.sh", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    assert f"host AMI {AMI}" in result.stderr
    calls = moto.check_requests()
    variant = one(one(helpers.requests_for(calls, "CreateEndpointConfig"))["ProductionVariants"])
    assert variant["InferenceAmiVersion"] == AMI
    stored = moto.client("sagemaker").describe_endpoint_config(EndpointConfigName=lock["project"]["name"])
    assert stored["ProductionVariants"][0]["InferenceAmiVersion"] == AMI

    # An image that needs no special host (null in the lock) gets no field at all.
    set_lock(proj, lambda lk: lk["server"].update(inference_ami_version=None))
    result = helpers.run(proj, "deploy.sh", "--no-wait", "--endpoint-name", "plain-ami", env=env)
    assert result.returncode == 0, result.stderr
    variant = one(one(helpers.requests_for(moto.check_requests(), "CreateEndpointConfig"))["ProductionVariants"])
    assert "InferenceAmiVersion" not in variant


STUB_HF = r'''#!/usr/bin/env python3
"""Stand-in for `hf download REPO --revision SHA --local-dir DIR ...`: writes a tiny snapshot."""
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as fh:
    fh.write(json.dumps({"args": args, "hf_token_set": bool(os.environ.get("HF_TOKEN"))}) + "\n")
if os.environ.get("STUB_FAIL"):
    sys.exit("401 Client Error: access to model is restricted")
out = args[args.index("--local-dir") + 1]
os.makedirs(os.path.join(out, ".cache", "huggingface"), exist_ok=True)
files = {"config.json": '{"model_type": "qwen2"}', "model.safetensors": "weights",
         "tokenizer.json": "{}", ".cache/huggingface/download.lock": "x"}
for name, text in files.items():
    with open(os.path.join(out, name), "w") as fh:
        fh.write(text)
print(out)
'''


def stub_hf(tmp_path: Path) -> tuple[dict, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "hf").write_text(STUB_HF)
    (bindir / "hf").chmod(0o755)
    log = tmp_path / "hf.log"
    import os

    return {"PATH": f"{bindir}:{os.environ['PATH']}", "STUB_LOG": str(log), "HOME": str(tmp_path)}, log


def test_weights_from_s3(project, moto, tmp_path):
    proj, lock = project
    name, model_id, sha = lock["project"]["name"], lock["model"]["id"], lock["model"]["sha"]
    stub_env, stub_log = stub_hf(tmp_path)
    env = moto.env(IMAGE_TAG=TAG, **stub_env)
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="model-store")
    s3.put_object(Bucket="model-store", Key="qwen/stale-shard.bin", Body=b"old")

    # upload_model.sh: the pinned commit, no token on its command line, the prefix mirrors it.
    result = helpers.run(proj, "upload_model.sh", "s3://model-store/qwen", env={**env, "HF_TOKEN": helpers.FAKE_TOKEN})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "s3://model-store/qwen/"
    assert "deploy/deploy.sh --model-data s3://model-store/qwen/" in result.stderr
    call = json.loads(stub_log.read_text().splitlines()[-1])
    args = call["args"]
    assert args[:4] == ["download", model_id, "--revision", sha]
    assert args[args.index("--exclude") + 1] == "original/*"
    assert call["hf_token_set"] is True
    assert helpers.FAKE_TOKEN not in json.dumps(args) + result.stdout + result.stderr
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="model-store", Prefix="qwen/")["Contents"])
    assert keys == ["qwen/config.json", "qwen/hf-snapshot.json", "qwen/model.safetensors", "qwen/tokenizer.json"]
    marker = json.loads(s3.get_object(Bucket="model-store", Key="qwen/hf-snapshot.json")["Body"].read())
    assert marker == {"model": model_id, "sha": sha}

    # deploy.sh --model-data: uncompressed S3 prefix as ModelDataSource, the role may read it.
    result = helpers.run(proj, "deploy.sh", "--model-data", "s3://model-store/qwen", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    calls = moto.check_requests()
    container = one(helpers.requests_for(calls, "CreateModel"))["PrimaryContainer"]
    assert container["ModelDataSource"] == {"S3DataSource": {
        "S3Uri": "s3://model-store/qwen/", "S3DataType": "S3Prefix", "CompressionType": "None"}}
    assert "ModelDataUrl" not in container
    stored = moto.client("sagemaker").describe_model(ModelName=name)["PrimaryContainer"]
    assert stored["ModelDataSource"]["S3DataSource"]["S3Uri"] == "s3://model-store/qwen/"
    policy = json.loads(one(helpers.requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ModelDataRead"]["Resource"] == "arn:aws:s3:::model-store/qwen/*"
    assert by_sid["ModelDataList"]["Condition"] == {"StringLike": {"s3:prefix": ["qwen/*"]}}
    result = helpers.run(proj, "status.sh", env=env)
    assert "s3://model-store/qwen/" in result.stdout

    # Nothing uploaded there yet, or another revision: say what to run.
    result = helpers.run(proj, "deploy.sh", "--model-data", "s3://model-store/empty/", "--endpoint-name", "e2",
                         env=env)
    assert result.returncode == 1
    assert one(error_lines(result)) == ("error: s3://model-store/empty/config.json not found: put the pinned "
                                        "snapshot there first with deploy/upload_model.sh s3://model-store/empty/")
    s3.put_object(Bucket="model-store", Key="other/config.json", Body=b"{}")
    s3.put_object(Bucket="model-store", Key="other/hf-snapshot.json",
                  Body=json.dumps({"model": model_id, "sha": "0" * 40}).encode())
    result = helpers.run(proj, "deploy.sh", "--model-data", "s3://model-store/other/", "--endpoint-name", "e3",
                         env=env)
    assert result.returncode == 1
    assert f"holds {model_id} at {'0' * 40}, but model.lock.json pins {sha}" in one(error_lines(result))

    # A gated model without a token: refused before any download; a failed download says so.
    # The lock holds the hub's value for a gated repository: "manual" or "auto".
    for gated in ("manual", "auto"):
        set_lock(proj, lambda lk: lk["model"].update(gated=gated))
        result = helpers.run(proj, "upload_model.sh", "s3://model-store/qwen/", env=env)
        assert result.returncode == 1 and "is gated: set HF_TOKEN" in result.stderr, gated
    result = helpers.run(proj, "upload_model.sh", "s3://model-store/qwen/",
                         env={**env, "HF_TOKEN": helpers.FAKE_TOKEN, "STUB_FAIL": "1"})
    assert result.returncode == 1 and f"the download of {model_id} at {sha} failed" in result.stderr
    assert helpers.FAKE_TOKEN not in result.stdout + result.stderr
    result = helpers.run(proj, "upload_model.sh", "s3://no-such-bucket/m/", env={**env, "HF_TOKEN": "x"})
    assert result.returncode == 1 and "bucket no-such-bucket does not exist" in result.stderr


def test_inference_component_deploy_and_invoke(project, moto):
    proj, lock = project
    name = lock["project"]["name"]
    dep = lock["deployment"]
    env = moto.env(IMAGE_TAG=TAG)
    sm = moto.client("sagemaker")

    # deploy.sh --inference-component: endpoint with managed instance scaling, then the component.
    result = helpers.run(proj, "deploy.sh", "--inference-component", "--copies", "2", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == name
    calls = moto.check_requests()
    config = one(helpers.requests_for(calls, "CreateEndpointConfig"))
    role_arn = one(helpers.requests_for(calls, "CreateModel"))["ExecutionRoleArn"]
    assert config["ExecutionRoleArn"] == role_arn
    variant = one(config["ProductionVariants"])
    assert "ModelName" not in variant
    per_instance = max(1, dep["gpu_count"] // dep["tensor_parallel_size"])
    instances = math.ceil(2 / per_instance)
    assert variant["InitialInstanceCount"] == instances
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0,
                                                 "MaxInstanceCount": instances}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert variant.get("InferenceAmiVersion") == lock["server"].get("inference_ami_version")
    ic = one(helpers.requests_for(calls, "CreateInferenceComponent"))
    assert ic["InferenceComponentName"] == name and ic["EndpointName"] == name
    assert ic["VariantName"] == "AllTraffic"
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
    ops = [c["operation"] for c in calls]
    assert ops.index("CreateInferenceComponent") > ops.index("CreateEndpoint")
    assert "DescribeInferenceComponent" in ops[ops.index("CreateInferenceComponent"):]
    policy = json.loads(one(helpers.requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    logs = next(s for s in policy["Statement"] if s["Sid"] == "Logs")["Resource"]
    assert any(r.endswith(f"log-group:/aws/sagemaker/InferenceComponents/{name}") for r in logs)
    assert sm.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"] == "InService"

    # test.sh and the stream client address the component.
    moto.set_endpoint_results([{"Body": json.dumps(CHAT), "ContentType": "application/json"}])
    result = helpers.run(proj, "test.sh", "--no-stream", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello from the component"
    assert one(helpers.requests_for(moto.check_requests(), "InvokeEndpoint"))["InferenceComponentName"] == name
    with Server() as standin:
        standin.script.items = [payload_part(b'data: {"choices":[{"delta":{"content":"streamed"}}]}\n\ndata: [DONE]\n\n')]
        result = helpers.run(proj, "test.sh", "--stream-only", env={**env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": standin.url})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "streamed"
        assert one(standin.script.requests)["headers"]["X-Amzn-SageMaker-Inference-Component"] == name
    assert one(helpers.requests_for(moto.check_requests(), "InvokeEndpointWithResponseStream"))[
        "InferenceComponentName"] == name



def llama_on_g6_xlarge(proj: Path) -> dict:
    """The lock's deployment as generated for Llama-3.1-8B (vLLM): ml.g6.xlarge, 16 GiB of host
    memory, 14.96 GiB of weights plus its KV cache (more than the host has)."""
    from hooks import project

    llama = project.build_context({"modelName": "meta-llama/Llama-3.1-8B-Instruct", "offline": True,
                                   "modelServer": "vllm", "projectName": "llama"})["lock"]["deployment"]
    return set_lock(proj, lambda lk: lk["deployment"].update(llama))


def test_component_host_memory_fits_the_instance(project, moto):
    proj, lock = project
    lock = llama_on_g6_xlarge(proj)
    dep = lock["deployment"]
    assert dep["instance_type"] == "ml.g6.xlarge" and dep["host_memory_gib"] == 16
    host_mb = 16 * 1024
    assert (dep["weight_memory_gib"] + dep["kv_cache_memory_gib"]) * 1024 > host_mb
    env = moto.env(IMAGE_TAG=TAG)

    # --memory-mb above the host's memory: refused before any AWS call.
    result = helpers.run(proj, "deploy.sh", "--inference-component", "--memory-mb", str(host_mb + 1), env=env)
    assert result.returncode == 1
    assert one(error_lines(result)).startswith(
        f"error: --memory-mb {host_mb + 1} is more host memory than ml.g6.xlarge has (16 GiB = {host_mb} MB)")
    assert moto.take_requests() == []

    # The default: what the lock reserves for the engine process, which fits the host.
    result = helpers.run(proj, "deploy.sh", "--inference-component", env=env)
    assert result.returncode == 0, result.stderr
    ic = one(helpers.requests_for(moto.check_requests(), "CreateInferenceComponent"))
    need = ic["Specification"]["ComputeResourceRequirements"]
    assert need["MinMemoryRequiredInMb"] == dep["inference_component_memory_mb"]
    assert 1024 <= need["MinMemoryRequiredInMb"] <= host_mb - 2048
    assert need["NumberOfAcceleratorDevicesRequired"] == 1
    result = helpers.run(proj, "cleanup.sh", "--yes", env=env)
    assert result.returncode == 0, result.stderr

    # Exactly the host's memory is still the user's call; another instance type than the lock's
    # (host memory unknown here) gets the SageMaker SDK's 1024 MB.
    result = helpers.run(proj, "deploy.sh", "--inference-component", "--memory-mb", str(host_mb),
                         "--endpoint-name", "whole-host", env=env)
    assert result.returncode == 0, result.stderr
    ic = one(helpers.requests_for(moto.check_requests(), "CreateInferenceComponent"))
    assert ic["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == host_mb
    result = helpers.run(proj, "deploy.sh", "--inference-component", "--instance-type", "ml.g6e.xlarge",
                         "--endpoint-name", "other-type", env=env)
    assert result.returncode == 0, result.stderr
    ic = one(helpers.requests_for(moto.check_requests(), "CreateInferenceComponent"))
    assert ic["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 1024


def ic_endpoint(moto, lock: dict, instances: int = 2) -> str:
    """What deploy.sh --inference-component leaves (tested above), made directly: model,
    config with managed instance scaling and no model on the variant, endpoint, component."""
    name = lock["project"]["name"]
    dep = lock["deployment"]
    sm = moto.client("sagemaker")
    role = f"arn:aws:iam::{helpers.ACCOUNT}:role/{name}-sagemaker-exec"
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})
    sm.create_endpoint_config(EndpointConfigName=name, ExecutionRoleArn=role, ProductionVariants=[{
        "VariantName": "AllTraffic", "InstanceType": dep["instance_type"], "InitialInstanceCount": instances,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": instances},
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.create_inference_component(
        InferenceComponentName=name, EndpointName=name, VariantName="AllTraffic", RuntimeConfig={"CopyCount": 2},
        Specification={"ModelName": name, "ComputeResourceRequirements": {
            "NumberOfAcceleratorDevicesRequired": dep["tensor_parallel_size"], "MinMemoryRequiredInMb": 1024}})
    return name


def test_inference_component_autoscaling_scale_to_zero_and_cleanup(project, moto):
    proj, lock = project
    dep = lock["deployment"]
    per_instance = max(1, dep["gpu_count"] // dep["tensor_parallel_size"])
    instances = 2
    name = ic_endpoint(moto, lock, instances)
    env = moto.env(IMAGE_TAG=TAG)
    sm = moto.client("sagemaker")

    # More copies than the endpoint may hold instances for: refused with the fix.
    result = helpers.run(proj, "autoscale.sh", "--max", str(instances * per_instance + 1), env=env)
    assert result.returncode == 1
    assert f"--max-instances {instances + 1}" in one(error_lines(result))

    # autoscale.sh --min 0: copies scale on concurrency, and wake from zero (AWS's recipe).
    startup = dep["container_startup_health_check_timeout_s"]
    result = helpers.run(proj, "autoscale.sh", "--min", "0", "--max", str(instances * per_instance), env=env)
    assert result.returncode == 0, result.stderr
    assert f"up to {startup}s" in result.stderr
    calls = moto.check_requests()
    target = one(helpers.requests_for(calls, "RegisterScalableTarget"))
    assert target == {"ServiceNamespace": "sagemaker", "ResourceId": f"inference-component/{name}",
                      "ScalableDimension": IC_DIMENSION, "MinCapacity": 0,
                      "MaxCapacity": instances * per_instance}
    tracking, step = helpers.requests_for(calls, "PutScalingPolicy")
    assert tracking["PolicyType"] == "TargetTrackingScaling"
    assert tracking["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 8.0, "ScaleOutCooldown": startup, "ScaleInCooldown": startup,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"}}
    assert step["PolicyType"] == "StepScaling" and step["ResourceId"] == f"inference-component/{name}"
    # AWS's step policy, with the startup timeout as cool-down (not the example's 60 s: the alarm
    # stays on while the first copy starts, and would add one a minute).
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Maximum", "Cooldown": startup,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
    alarm = one(helpers.requests_for(calls, "PutMetricAlarm"))
    assert alarm["MetricName"] == "NoCapacityInvocationFailures" and alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": name}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    aas = moto.client("application-autoscaling")
    step_arn = one([p for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
                    if p["PolicyType"] == "StepScaling"])["PolicyARN"]
    assert alarm["AlarmActions"] == [step_arn]

    result = helpers.run(proj, "status.sh", env=env)
    assert result.returncode == 0, result.stderr
    assert "mode: inference components" in result.stdout
    assert f"component: {name}: InService" in result.stdout and "copies: 2 of 2" in result.stdout
    assert f"autoscaling: inference-component/{name}: 0 to {instances * per_instance} copies" in result.stdout
    assert "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution at 8.0" in result.stdout
    assert "StepScaling (wakes from zero" in result.stdout

    # At zero copies, a request fails with a message that says what happens and what to do.
    sm.update_inference_component_runtime_config(InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": 0})
    result = helpers.run(proj, "test.sh", "--no-stream", env=env)
    assert result.returncode == 1
    error = one(error_lines(result))
    assert "has no copy running (scaled to zero" in error and f"up to {startup}s" in error
    assert "--wait-for-capacity" in error

    # cleanup.sh: alarm, policies, target, component, endpoint, config, model -- in that order.
    moto.check_requests()
    result = helpers.run(proj, "cleanup.sh", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    ops = [c["operation"] for c in moto.check_requests()]
    order = ["DeleteAlarms", "DeleteScalingPolicy", "DeregisterScalableTarget", "DeleteInferenceComponent",
             "DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"]
    positions = [[i for i, op in enumerate(ops) if op == wanted] for wanted in order]
    assert all(positions), dict(zip(order, positions))
    assert len(positions[1]) == 2  # the target-tracking and the step policy
    for before, after in zip(positions, positions[1:]):
        assert max(before) < min(after), (order, ops)
    assert sm.list_inference_components()["InferenceComponents"] == []
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert moto.client("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_endpoint_instance_autoscaling(project, moto):
    proj, lock = project
    name = lock["project"]["name"]
    env = moto.env(IMAGE_TAG=TAG)
    startup = lock["deployment"]["container_startup_health_check_timeout_s"]
    result = helpers.run(proj, "deploy.sh", "--no-wait", env=env)
    assert result.returncode == 0, result.stderr
    moto.check_requests()

    result = helpers.run(proj, "autoscale.sh", "--metric", "invocations", "--target", "30", "--max", "3", env=env)
    assert result.returncode == 0, result.stderr
    calls = moto.check_requests()
    assert one(helpers.requests_for(calls, "RegisterScalableTarget")) == {
        "ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{name}/variant/AllTraffic",
        "ScalableDimension": VARIANT_DIMENSION, "MinCapacity": 1, "MaxCapacity": 3}
    policy = one(helpers.requests_for(calls, "PutScalingPolicy"))
    assert policy["PolicyName"] == f"{name[:40]}-target-tracking".replace("--", "-")
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 30.0, "ScaleOutCooldown": startup, "ScaleInCooldown": startup,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}
    assert not helpers.requests_for(calls, "PutMetricAlarm")

    # Again with another metric: the same policy, replaced.
    result = helpers.run(proj, "autoscale.sh", env=env)
    assert result.returncode == 0, result.stderr
    policy = one(helpers.requests_for(moto.check_requests(), "PutScalingPolicy"))
    assert policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}
    aas = moto.client("application-autoscaling")
    (stored,) = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert stored["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 8.0
    result = helpers.run(proj, "status.sh", env=env)
    assert f"autoscaling: endpoint/{name}/variant/AllTraffic: 1 to 2 instances" in result.stdout

    # Zero needs inference components; the message says how to get there.
    result = helpers.run(proj, "autoscale.sh", "--min", "0", env=env)
    assert result.returncode == 1
    assert "redeploy with deploy/deploy.sh --inference-component" in one(error_lines(result))

    result = helpers.run(proj, "autoscale.sh", "--off", env=env)
    assert result.returncode == 0, result.stderr
    ops = [c["operation"] for c in moto.check_requests()]
    assert ops.index("DeleteScalingPolicy") < ops.index("DeregisterScalableTarget")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []

    # cleanup.sh also removes autoscaling left on the variant.
    result = helpers.run(proj, "autoscale.sh", "--max", "2", env=env)
    assert result.returncode == 0, result.stderr
    result = helpers.run(proj, "cleanup.sh", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert f"scalable target endpoint/{name}/variant/AllTraffic" in result.stderr
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert moto.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_async_endpoint(project, moto, tmp_path):
    proj, lock = project
    name = lock["project"]["name"]
    env = moto.env(IMAGE_TAG=TAG)
    s3 = moto.client("s3")

    result = helpers.run(proj, "deploy.sh", "--async", "s3://no-such-bucket/a/", env=env)
    assert result.returncode == 1
    assert "aws s3 mb s3://no-such-bucket" in one(error_lines(result))

    s3.create_bucket(Bucket="async-jobs")
    result = helpers.run(proj, "deploy.sh", "--async", "s3://async-jobs/llm", "--async-max-concurrency", "4", env=env)
    assert result.returncode == 0, result.stderr
    calls = moto.check_requests()
    config = one(helpers.requests_for(calls, "CreateEndpointConfig"))
    assert config["AsyncInferenceConfig"] == {
        "OutputConfig": {"S3OutputPath": "s3://async-jobs/llm/output/", "S3FailurePath": "s3://async-jobs/llm/failure/"},
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}}
    policy = json.loads(one(helpers.requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["AsyncRead"]["Resource"] == "arn:aws:s3:::async-jobs/llm/*"
    assert by_sid["AsyncWrite"]["Resource"] == ["arn:aws:s3:::async-jobs/llm/output/*",
                                                "arn:aws:s3:::async-jobs/llm/failure/*"]

    # test.sh goes through S3: the request lands under input/, the answer is read from output/.
    result = helpers.run(proj, "test.sh", "--prompt", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "async answer"
    calls = moto.check_requests()
    invoke = one(helpers.requests_for(calls, "InvokeEndpointAsync"))
    assert invoke["InputLocation"].startswith("s3://async-jobs/llm/input/") and invoke["EndpointName"] == name
    put = one([p for p in helpers.requests_for(calls, "PutObject") if p["Key"].startswith("llm/input/")])
    body = json.loads(s3.get_object(Bucket="async-jobs", Key=put["Key"])["Body"].read())
    assert body["messages"] == [{"role": "user", "content": "hi"}] and body["model"] == lock["model"]["id"]
    assert not helpers.requests_for(calls, "InvokeEndpointWithResponseStream")

    # async_client.py with a request file, and a failed request.
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"messages": [{"role": "user", "content": "long story"}], "max_tokens": 4000}))
    client = [sys.executable, str(proj / "deploy" / "async_client.py"), "--endpoint-name", name,
              "--region", "us-east-1", "--request-file", str(request), "--poll", "0.2", "--timeout", "30"]
    import subprocess

    result = subprocess.run(client + ["--raw"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["choices"][0]["message"]["content"] == "async answer"
    req = urllib.request.Request(
        moto.url + "/moto-api/static/sagemaker/async-endpoint-results",
        data=json.dumps({"results": [{"is_failure": True, "data": "CUDA out of memory"}]}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=5).read()
    result = subprocess.run(client, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "the endpoint failed the request: CUDA out of memory" in result.stderr
    moto.check_requests()

    result = helpers.run(proj, "status.sh", env=env)
    assert "mode: asynchronous" in result.stdout and "s3://async-jobs/llm/output/" in result.stdout

    # Autoscaling on the queue, down to zero instances: AWS's recipe for asynchronous endpoints.
    startup = lock["deployment"]["container_startup_health_check_timeout_s"]
    result = helpers.run(proj, "autoscale.sh", "--metric", "concurrency", env=env)
    assert result.returncode == 1 and "scales on its queue (--metric backlog)" in one(error_lines(result))
    result = helpers.run(proj, "autoscale.sh", "--min", "0", "--max", "2", env=env)
    assert result.returncode == 0, result.stderr
    calls = moto.check_requests()
    assert one(helpers.requests_for(calls, "RegisterScalableTarget")) == {
        "ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{name}/variant/AllTraffic",
        "ScalableDimension": VARIANT_DIMENSION, "MinCapacity": 0, "MaxCapacity": 2}
    tracking, step = helpers.requests_for(calls, "PutScalingPolicy")
    assert tracking["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 5.0, "ScaleOutCooldown": startup, "ScaleInCooldown": startup,
        "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance",
                                          "Namespace": "AWS/SageMaker", "Statistic": "Average",
                                          "Dimensions": [{"Name": "EndpointName", "Value": name}]}}
    assert step["StepScalingPolicyConfiguration"]["MetricAggregationType"] == "Average"
    alarm = one(helpers.requests_for(calls, "PutMetricAlarm"))
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": name}]
    result = helpers.run(proj, "cleanup.sh", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert moto.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert moto.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    aas = moto.client("application-autoscaling")
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_region_without_inference_components(project, moto):
    proj, lock = project
    region = "mx-central-1"  # tests/aws/moto_launcher.py: REGION_WITHOUT_ICS
    set_lock(proj, lambda lk: lk["project"].update(aws_region=region))
    helpers.put_image(moto, lock["project"]["name"], TAG, region=region)
    result = helpers.run(proj, "deploy.sh", "--inference-component", env=moto.env(IMAGE_TAG=TAG))
    assert result.returncode == 1
    error = one(error_lines(result))
    assert error.startswith(f"error: SageMaker inference components are not available in {region} (AWS: ")
    assert "Deploy without --inference-component" in error and "project.aws_region" in error
    sm = moto.client("sagemaker", region)
    assert sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []


def test_component_that_does_not_fit(project, moto):
    proj, lock = project
    name = "nohw-endpoint"  # the launcher fails components named nohw-*
    env = moto.env(IMAGE_TAG=TAG)
    result = helpers.run(proj, "deploy.sh", "--inference-component", "--endpoint-name", name,
                         "--memory-mb", "12288", env=env)
    assert result.returncode == 1
    assert "not enough hardware resources" in result.stderr
    assert "hint: one copy asks for" in result.stderr and "12288 MB" in result.stderr
    assert "--memory-mb" in result.stderr
    assert one(error_lines(result)).startswith(f"error: deployment of inference component {name} failed")
    result = helpers.run(proj, "cleanup.sh", "--endpoint-name", name, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    sm = moto.client("sagemaker")
    assert sm.list_inference_components()["InferenceComponents"] == []
    assert sm.list_endpoints()["Endpoints"] == []


def test_no_instance_quota_for_components(project, moto):
    proj, lock = project
    name = "quota-endpoint"  # the launcher refuses endpoints named quota-* with ResourceLimitExceeded
    result = helpers.run(proj, "deploy.sh", "--inference-component", "--endpoint-name", name,
                         env=moto.env(IMAGE_TAG=TAG))
    assert result.returncode == 1
    error = one(error_lines(result))
    assert "Service Quotas" in error and "servicequotas" in error
    sm = moto.client("sagemaker")
    assert sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []


def _plain_endpoint(moto, name: str) -> None:
    """A real-time endpoint (model, config, endpoint) made directly, for test.sh to address."""
    sm = moto.client("sagemaker")
    sm.create_model(ModelName=name, ExecutionRoleArn=f"arn:aws:iam::{helpers.ACCOUNT}:role/x",
                    PrimaryContainer={"Image": "x"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)


def test_djl_gets_a_text_generation_request(project, moto):
    """DJL's HF Accelerate handler serves {"inputs", "parameters"}, not chat, and does not stream."""
    proj, lock = project
    set_lock(proj, lambda lk: lk["server"].update(name="djl"))
    name = lock["project"]["name"]
    _plain_endpoint(moto, name)
    env = moto.env()
    with Server() as standin:
        standin.script.invoke_answer = [{"generated_text": "hi there, sea"}]
        result = helpers.run(proj, "test.sh", "--prompt", "hi there", "--max-tokens", "5",
                             env={**env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": standin.url})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "hi there, sea"
        assert "does not stream: one text-generation request" in result.stderr
        (request,) = standin.script.requests
        assert request["path"] == f"/endpoints/{name}/invocations"
        assert json.loads(request["body"]) == {"inputs": "hi there", "parameters": {"max_new_tokens": 5}}
    result = helpers.run(proj, "test.sh", "--stream-only", env=env)
    assert result.returncode == 1 and "does not stream" in result.stderr


@pytest.mark.parametrize("server,body", [
    ("vllm", {"model": "MODEL", "prompt": "hi there", "max_tokens": 5, "stream": False}),
    ("lmi", {"inputs": "hi there", "parameters": {"max_new_tokens": 5}}),
    ("sglang", None),
])
def test_a_model_without_chat_template_gets_a_completion_not_chat(project, moto, server, body):
    """gpt2-like models: chat messages would fail (HTTP 400), so test.sh sends what the server can
    answer, and says so; SGLang's /invocations takes chat only, so it says how to add a template."""
    proj, lock = project
    set_lock(proj, lambda lk: (lk["server"].update(name=server), lk["model"].update(has_chat_template=False)))
    name = lock["project"]["name"]
    _plain_endpoint(moto, name)
    env = moto.env()
    with Server() as standin:
        standin.script.invoke_answer = {"choices": [{"text": " sea"}]}
        result = helpers.run(proj, "test.sh", "--prompt", "hi there", "--max-tokens", "5",
                             env={**env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": standin.url})
        if body is None:
            assert result.returncode == 1 and "chatTemplateFile" in result.stderr
            assert standin.script.requests == []
            return
        assert result.returncode == 0, result.stderr
        assert "no chat template: one completion request" in result.stderr
        (request,) = standin.script.requests
        sent = json.loads(request["body"])
        assert sent == {k: (lock["model"]["id"] if v == "MODEL" else v) for k, v in body.items()}
        assert "messages" not in sent
