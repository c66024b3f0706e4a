"""`python -m deploy autoscale`, in-process: instances of a real-time endpoint and of an
asynchronous one (moto), copies of an inference component incl. scale to zero (a Stubber for
SageMaker's components and for Application Auto Scaling, whose moto refuses the component
dimension). Every request is checked against botocore's service model. Ported from the removed bash-script tests
tests/test_deploy.py and test_deploy_hosting.py (autoscale.sh)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdkit  # noqa: E402
from cmdkit import session_on_moto  # noqa: F401  (the aws fixture)
from cmdkit import ACCOUNT, run  # noqa: E402

IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
AAS_ARN = f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:scalingPolicy:0000:resource/sagemaker/"


@pytest.fixture
def proj(tmp_path, monkeypatch):
    return cmdkit.project(tmp_path, monkeypatch)


@pytest.mark.parametrize("args, message", [
    (["--metric", "latency"], "--metric wants concurrency, invocations or backlog, got 'latency'"),
    (["--target", "0"], "--target wants a positive number, got '0'"),
    (["--target", "-3"], "--target wants a positive number, got '-3'"),
    (["--min", "3", "--max", "2"], "--min 3 is more than --max 2"),
    (["--max", "0"], "--max wants a whole number of at least 1, got '0'"),
    (["--min", "x"], "--min wants a whole number, got 'x'"),
])
def test_options_refused_before_aws(proj, args, message):
    session = cmdkit.Session(credentials=False)
    result = run(session, "autoscale", *args)
    assert result.code == 1
    assert result.err.strip() == f"error: {message}"
    assert session.calls == []


def test_no_credentials_is_one_clear_error(proj):
    for argv in (["autoscale"], ["autoscale", "--off"]):
        result = run(cmdkit.Session(credentials=False), *argv)
        assert result.code == 1
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: no usable AWS credentials"), result.err


def test_endpoint_missing(aws, proj):
    result = run(aws, "autoscale")
    assert result.code == 1
    assert result.one_error() == (f"error: endpoint '{proj[1]['project']['name']}' does not exist; deploy it with "
                                  "python -m deploy deploy")


def test_endpoint_instance_autoscaling(aws, proj):
    project, lock = proj
    name = lock["project"]["name"]
    startup = lock["deployment"]["container_startup_health_check_timeout_s"]
    cmdkit.plain_endpoint(aws, name)

    result = run(aws, "autoscale", "--metric", "invocations", "--target", "30", "--max", "3")
    assert result.code == 0, result.err
    assert aws.requests("RegisterScalableTarget") == [{
        "ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{name}/variant/AllTraffic",
        "ScalableDimension": VARIANT_DIMENSION, "MinCapacity": 1, "MaxCapacity": 3}]
    (policy,) = aws.requests("PutScalingPolicy")
    assert policy["PolicyName"] == f"{name[:40]}-target-tracking".replace("--", "-")
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 30.0, "ScaleOutCooldown": startup, "ScaleInCooldown": startup,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}
    assert not aws.requests("PutMetricAlarm")

    # Again with the default metric: the same policy, replaced.
    aws.calls.clear()
    result = run(aws, "autoscale")
    assert result.code == 0, result.err
    (policy,) = aws.requests("PutScalingPolicy")
    assert policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}
    aas = aws.client("application-autoscaling")
    (stored,) = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert stored["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 8.0
    assert f"autoscaling of endpoint/{name}/variant/AllTraffic: 1 to 2 instances on concurrency (8.0)" in result.err

    # Zero needs inference components; the message says how to get there.
    result = run(aws, "autoscale", "--min", "0")
    assert result.code == 1
    assert "redeploy with python -m deploy deploy --inference-component" in result.one_error()

    aws.calls.clear()
    result = run(aws, "autoscale", "--off")
    assert result.code == 0, result.err
    ops = aws.operations()
    assert ops.index("DeleteScalingPolicy") < ops.index("DeregisterScalableTarget")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert "its instances stay at their current number" in result.err
    result = run(aws, "autoscale", "--off")
    assert result.code == 0 and f"endpoint/{name}/variant/AllTraffic had no autoscaling" in result.err

    # A component named on a plain endpoint.
    result = run(aws, "autoscale", "--inference-component-name", "x")
    assert result.code == 1 and "hosts no inference components" in result.one_error()


def test_async_endpoint_scales_on_its_queue_down_to_zero(aws, proj):
    project, lock = proj
    name = lock["project"]["name"]
    startup = lock["deployment"]["container_startup_health_check_timeout_s"]
    aws.client("s3").create_bucket(Bucket="async-jobs")
    cmdkit.plain_endpoint(aws, name, async_output="s3://async-jobs/llm")

    result = run(aws, "autoscale", "--metric", "concurrency")
    assert result.code == 1 and "scales on its queue (--metric backlog)" in result.one_error()
    result = run(aws, "autoscale", "--min", "0", "--max", "2")
    assert result.code == 0, result.err
    assert aws.requests("RegisterScalableTarget") == [{
        "ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{name}/variant/AllTraffic",
        "ScalableDimension": VARIANT_DIMENSION, "MinCapacity": 0, "MaxCapacity": 2}]
    tracking, step = aws.requests("PutScalingPolicy")
    assert tracking["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 5.0, "ScaleOutCooldown": startup, "ScaleInCooldown": startup,
        "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance",
                                          "Namespace": "AWS/SageMaker", "Statistic": "Average",
                                          "Dimensions": [{"Name": "EndpointName", "Value": name}]}}
    assert step["PolicyType"] == "StepScaling"
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average", "Cooldown": startup,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
    (alarm,) = aws.requests("PutMetricAlarm")
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": name}]
    assert alarm["EvaluationPeriods"] == 2 and alarm["TreatMissingData"] == "missing"
    assert f"up to {startup}s" in result.err
    cloudwatch = aws.client("cloudwatch")
    (stored,) = cloudwatch.describe_alarms()["MetricAlarms"]
    step_arn = [p for p in aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="sagemaker")["ScalingPolicies"] if p["PolicyType"] == "StepScaling"][0]["PolicyARN"]
    assert stored["AlarmActions"] == [step_arn]

    # Back to a floor of one: the wake-up policy and its alarm go.
    result = run(aws, "autoscale", "--min", "1", "--max", "2")
    assert result.code == 0, result.err
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert [p["PolicyType"] for p in aws.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="sagemaker")["ScalingPolicies"]] == ["TargetTrackingScaling"]
    # --metric backlog elsewhere is refused.
    cmdkit.plain_endpoint(aws, "plain-one")
    result = run(aws, "autoscale", "--endpoint-name", "plain-one", "--metric", "backlog")
    assert result.code == 1 and "--metric backlog is for asynchronous endpoints" in result.one_error()


def ic_facts(aws, lock, instances=2, min_instances=0):
    name = lock["project"]["name"]
    sm = aws.stub("sagemaker")
    cmdkit.ic_endpoint_answers(sm, name, lock["deployment"]["instance_type"], min_instances=min_instances,
                               max_instances=instances)
    cmdkit.list_components_answer(sm, name, [name])
    return sm


def test_inference_component_copies_scale_to_zero(aws, proj):
    project, lock = proj
    name = lock["project"]["name"]
    dep = lock["deployment"]
    per_instance = max(1, dep["gpu_count"] // dep["tensor_parallel_size"])
    instances = 2
    startup = dep["container_startup_health_check_timeout_s"]
    resource = f"inference-component/{name}"

    # More copies than the endpoint may hold instances for: refused with the fix.
    ic_facts(aws, lock, instances)
    result = run(aws, "autoscale", "--max", str(instances * per_instance + 1))
    assert result.code == 1
    assert f"--max-instances {instances + 1}" in result.one_error()

    # --min 0: copies scale on concurrency, and wake from zero (AWS's recipe).
    ic_facts(aws, lock, instances)
    aas = aws.stub("application-autoscaling")
    aas.add_response("register_scalable_target", {"ScalableTargetARN": "arn:aws:application-autoscaling:x"})
    aas.add_response("put_scaling_policy", {"PolicyARN": AAS_ARN + "tracking"})
    aas.add_response("put_scaling_policy", {"PolicyARN": AAS_ARN + "wake"})
    result = run(aws, "autoscale", "--min", "0", "--max", str(instances * per_instance))
    assert result.code == 0, result.err
    assert f"up to {startup}s" in result.err
    assert aws.requests("RegisterScalableTarget") == [{
        "ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": IC_DIMENSION,
        "MinCapacity": 0, "MaxCapacity": instances * per_instance}]
    tracking, step = aws.requests("PutScalingPolicy")
    assert tracking["PolicyType"] == "TargetTrackingScaling"
    assert tracking["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 8.0, "ScaleOutCooldown": startup, "ScaleInCooldown": startup,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"}}
    assert step["PolicyType"] == "StepScaling" and step["ResourceId"] == resource
    # AWS's step policy, with the startup timeout as cool-down (not the example's 60 s: the alarm
    # stays on while the first copy starts, and would add one a minute).
    assert step["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Maximum", "Cooldown": startup,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
    (alarm,) = aws.requests("PutMetricAlarm")
    assert alarm["MetricName"] == "NoCapacityInvocationFailures" and alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": name}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [AAS_ARN + "wake"]
    assert aws.client("cloudwatch").describe_alarms()["MetricAlarms"][0]["AlarmName"] == \
        f"{name[:40]}-no-capacity".replace("--", "-")

    # --metric invocations, floor 1: the wake-up alarm and policy are removed.
    aws.calls.clear()
    ic_facts(aws, lock, instances)
    aas.add_response("register_scalable_target", {})
    aas.add_response("put_scaling_policy", {"PolicyARN": AAS_ARN + "tracking"})
    aas.add_response("describe_scaling_policies", {"ScalingPolicies": [{
        "PolicyARN": AAS_ARN + "wake", "PolicyName": f"{name[:40]}-scale-from-zero".replace("--", "-"),
        "ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": IC_DIMENSION,
        "PolicyType": "StepScaling", "CreationTime": cmdkit._now()}]})
    aas.add_response("delete_scaling_policy", {})
    result = run(aws, "autoscale", "--metric", "invocations", "--max", "1")
    assert result.code == 0, result.err
    (policy,) = aws.requests("PutScalingPolicy")
    assert policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}
    assert aws.requests("DeleteAlarms") == [{"AlarmNames": [f"{name[:40]}-no-capacity".replace("--", "-")]}]
    assert aws.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert aws.requests("DeleteScalingPolicy")[0]["PolicyName"] == f"{name[:40]}-scale-from-zero".replace("--", "-")
    aas.assert_no_pending_responses()


def test_component_floor_of_the_endpoint_blocks_zero(aws, proj):
    project, lock = proj
    ic_facts(aws, lock, instances=2, min_instances=1)
    result = run(aws, "autoscale", "--min", "0")
    assert result.code == 1
    assert "keeps at least 1 instance(s) (ManagedInstanceScaling MinInstanceCount)" in result.one_error()


def test_endpoint_not_in_service(aws, proj):
    project, lock = proj
    name = lock["project"]["name"]
    sm = aws.stub("sagemaker")
    cmdkit.ic_endpoint_answers(sm, name, "ml.g5.xlarge", status="Creating")
    cmdkit.list_components_answer(sm, name, [name])
    result = run(aws, "autoscale")
    assert result.code == 1
    assert result.one_error() == (f"error: endpoint '{name}' is Creating; autoscaling can be set once it is InService "
                                  "(see python -m deploy status)")


def test_a_quota_is_one_message(aws, proj):
    project, lock = proj
    ic_facts(aws, lock)
    aas = aws.stub("application-autoscaling")
    aas.add_client_error("register_scalable_target", service_error_code="LimitExceededException",
                         service_message="You have reached the maximum number of scalable targets")
    result = run(aws, "autoscale")
    assert result.code == 1
    assert "an Application Auto Scaling quota stops this (AWS: You have reached" in result.one_error()
    assert "Service Quotas" in result.one_error()


def test_component_autoscaling_off(aws, proj):
    project, lock = proj
    name = lock["project"]["name"]
    resource = f"inference-component/{name}"
    ic_facts(aws, lock)
    aas = aws.stub("application-autoscaling")
    tracking = f"{name[:40]}-target-tracking".replace("--", "-")
    aas.add_response("describe_scaling_policies", {"ScalingPolicies": []})  # no wake-up policy
    aas.add_response("describe_scaling_policies", {"ScalingPolicies": [{
        "PolicyARN": AAS_ARN + "t", "PolicyName": tracking, "ServiceNamespace": "sagemaker", "ResourceId": resource,
        "ScalableDimension": IC_DIMENSION, "PolicyType": "TargetTrackingScaling", "CreationTime": cmdkit._now()}]})
    aas.add_response("delete_scaling_policy", {})
    aas.add_response("describe_scalable_targets", {"ScalableTargets": [{
        "ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": IC_DIMENSION,
        "MinCapacity": 1, "MaxCapacity": 2, "RoleARN": "arn:aws:iam::1:role/x", "CreationTime": cmdkit._now()}]})
    aas.add_response("deregister_scalable_target", {})
    result = run(aws, "autoscale", "--off")
    assert result.code == 0, result.err
    assert f"autoscaling of {resource} is off; its copies stay at their current number" in result.err
    ops = aws.operations()
    assert ops.index("DeleteScalingPolicy") < ops.index("DeregisterScalableTarget")
    aas.assert_no_pending_responses()


def test_help_needs_no_aws(proj):
    session = cmdkit.Session(credentials=False)
    result = run(session, "autoscale", "--help")
    assert result.code == 0 and "--min" in result.out and "NoCapacityInvocationFailures" in result.out
    assert session.calls == []
