"""`python -m deploy status` and `python -m deploy cleanup`, in-process.

Ported from the removed bash-script tests test_deploy_lifecycle.py, test_deploy_hosting.py (status.sh and cleanup.sh's
assertions): what status prints and its exit codes; cleanup's order (alarm, policies, targets,
components, endpoint, config, model), --yes, "safe to run twice", what it keeps and says so.
"""
from __future__ import annotations

import json

import pytest
from deploy_support import ACCOUNT, FAKE_TOKEN, IC_DIMENSION, VARIANT_DIMENSION, one, ops, requests_for


def deploy(cli, aws, project, *args: str) -> str:
    aws.put_image(project.name)
    result = cli("deploy", *args)
    assert result.code == 0, result.stderr
    aws.take()
    return project.name


def scale(aws, name: str, resource: str, dimension: str, minimum: int, maximum: int, wake: bool) -> None:
    """What the autoscale command leaves (its own tests check how): a target, a target-tracking policy
    and, to wake from zero, a step policy with its CloudWatch alarm."""
    aas = aws.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension,
                                 MinCapacity=minimum, MaxCapacity=maximum)
    metric = ("SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
              if dimension == IC_DIMENSION else "SageMakerVariantInvocationsPerInstance")
    aas.put_scaling_policy(PolicyName=f"{name}-target-tracking", ServiceNamespace="sagemaker", ResourceId=resource,
                           ScalableDimension=dimension, PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 8.0, "ScaleOutCooldown": 600, "ScaleInCooldown": 600,
                               "PredefinedMetricSpecification": {"PredefinedMetricType": metric}})
    if wake:
        step = aas.put_scaling_policy(
            PolicyName=f"{name}-scale-from-zero", ServiceNamespace="sagemaker", ResourceId=resource,
            ScalableDimension=dimension, PolicyType="StepScaling", StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Maximum", "Cooldown": 600,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})
        aws.client("cloudwatch").put_metric_alarm(
            AlarmName=f"{name}-no-capacity", MetricName="NoCapacityInvocationFailures", Namespace="AWS/SageMaker",
            Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[step["PolicyARN"]],
            Dimensions=[{"Name": "InferenceComponentName", "Value": name}])
    aws.take()


# -- status -----------------------------------------------------------------------------------------
def test_status_of_a_real_time_endpoint(cli, aws, project):
    lock = project.make_gated()
    aws.client("secretsmanager").create_secret(Name=lock["project"]["hf_token_secret_name"], SecretString=FAKE_TOKEN)
    name = deploy(cli, aws, project)
    result = cli("status")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "status: InService" in out and lock["deployment"]["instance_type"] in out
    assert "mode: real-time" in out and f"endpoint config: {name}" in out
    assert f"image: {ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}:1.0.0-test" in out
    assert "weights: Hugging Face Hub at start" in out
    assert f"host AMI: {lock['server']['inference_ami_version']}" in out
    assert "environment keys: HF_TOKEN_SECRET_ID" in out and FAKE_TOKEN not in out + result.stderr
    assert "autoscaling: off (`python -m deploy autoscale` turns it on)" in out
    # Only reads.
    assert all(op.startswith(("Describe", "List", "Get")) for op in ops(aws.take()))

    result = cli("status", "--json")
    assert result.code == 0 and json.loads(result.stdout)["EndpointName"] == name


def test_status_exit_codes(cli, aws, project):
    result = cli("status")
    assert result.code == 3 and f"endpoint {project.name} does not exist (region us-east-1)" in result.stderr
    aws.put_image(project.name)
    aws.fake.fail_endpoints["broken"] = "ping health check"
    cli("deploy", "--endpoint-name", "broken")
    result = cli("status", "--endpoint-name", "broken")
    assert result.code == 4 and "failure reason: ping health check" in result.stdout
    aws.fake.slow_endpoints.add("slow")
    cli("deploy", "--endpoint-name", "slow", "--no-wait")
    assert cli("status", "--endpoint-name", "slow").code == 5


def test_status_of_components_and_their_autoscaling(cli, aws, project):
    name = deploy(cli, aws, project, "--inference-component", "--copies", "2")
    scale(aws, name, f"inference-component/{name}", IC_DIMENSION, 0, 2, wake=True)
    result = cli("status")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "mode: inference components" in out
    assert f"component: {name}: InService" in out and "copies: 2 of 2" in out
    memory = project.lock["deployment"]["inference_component_memory_mb"]
    assert f"per copy: 1 GPU(s), {memory} MB host memory" in out
    assert f"model: {name} (image {ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}:1.0.0-test)" in out
    assert "instance range: 0 to 2 (managed)" in out
    assert f"autoscaling: inference-component/{name}: 0 to 2 copies" in out
    assert "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution at 8.0" in out
    assert "StepScaling (wakes from zero" in out


def test_status_of_variant_autoscaling(cli, aws, project):
    name = deploy(cli, aws, project, "--no-wait")
    cli("status")
    scale(aws, name, f"endpoint/{name}/variant/AllTraffic", VARIANT_DIMENSION, 1, 2, wake=False)
    result = cli("status")
    assert f"autoscaling: endpoint/{name}/variant/AllTraffic: 1 to 2 instances" in result.stdout
    assert "cool-downs out 600s / in 600s" in result.stdout


# -- cleanup -----------------------------------------------------------------------------------------
def test_cleanup_order_for_components_with_scale_to_zero(cli, aws, project):
    name = deploy(cli, aws, project, "--inference-component", "--copies", "2")
    scale(aws, name, f"inference-component/{name}", IC_DIMENSION, 0, 2, wake=True)
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    calls = aws.take()
    order = ["DeleteAlarms", "DeleteScalingPolicy", "DeregisterScalableTarget", "DeleteInferenceComponent",
             "DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"]
    done = ops(calls)
    positions = [[i for i, op in enumerate(done) if op == wanted] for wanted in order]
    assert all(positions), dict(zip(order, positions))
    assert len(positions[1]) == 2  # the target-tracking and the step policy
    for before, after in zip(positions, positions[1:]):
        assert max(before) < min(after), (order, done)
    sm = aws.client("sagemaker")
    assert sm.list_inference_components()["InferenceComponents"] == []
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []
    aas = aws.client("application-autoscaling")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert aws.client("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_cleanup_removes_variant_autoscaling(cli, aws, project):
    name = deploy(cli, aws, project)
    scale(aws, name, f"endpoint/{name}/variant/AllTraffic", VARIANT_DIMENSION, 1, 2, wake=False)
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    assert f"scalable target endpoint/{name}/variant/AllTraffic" in result.stderr
    assert aws.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_cleanup_asks_then_deletes_everything_and_is_safe_twice(cli, aws, project):
    lock = project.make_gated()
    secret_name = lock["project"]["hf_token_secret_name"]
    secret_arn = aws.client("secretsmanager").create_secret(Name=secret_name, SecretString=FAKE_TOKEN)["ARN"]
    name = deploy(cli, aws, project)
    sm, iam = aws.client("sagemaker"), aws.client("iam")

    # No terminal to ask on, no --yes: refused, nothing deleted.
    result = cli("cleanup")
    assert result.code == 1 and "--yes" in one(result.errors)
    assert not [op for op in ops(aws.take()) if op.startswith("Delete")]
    assert sm.list_endpoints()["Endpoints"]

    result = cli("cleanup", "--yes", "--delete-repository", "--delete-role")
    assert result.code == 0, result.stderr
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"] == f"{name}-sagemaker-exec"] == []
    assert aws.client("ecr").describe_repositories()["repositories"] == []
    # The secret stays unless asked for, and cleanup says so.
    assert aws.client("secretsmanager").describe_secret(SecretId=secret_name)["ARN"] == secret_arn
    assert f"  - secret {secret_name} (--delete-secret)" in result.stderr
    assert "--delete-role)" not in result.stderr and "--delete-repository)" not in result.stderr

    # Again: nothing to do, still success.
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    assert "nothing to delete" in result.stderr
    assert f"  - secret {secret_name} (--delete-secret)" in result.stderr

    result = cli("cleanup", "--yes", "--delete-secret")
    assert result.code == 0, result.stderr
    assert one(requests_for(aws.take(), "DeleteSecret")) == {"SecretId": secret_name, "RecoveryWindowInDays": 7}


def test_cleanup_after_a_failed_deploy(cli, aws, project):
    aws.put_image(project.name)
    name = "broken-endpoint"
    aws.fake.fail_endpoints[name] = "ping health check"
    assert cli("deploy", "--endpoint-name", name).code == 1
    result = cli("cleanup", "--endpoint-name", name, "--yes")
    assert result.code == 0, result.stderr
    assert f"  - IAM role {name}-sagemaker-exec (--delete-role)" in result.stderr
    assert f"  - ECR repository {project.name} (--delete-repository)" in result.stderr
    sm = aws.client("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []


def test_cleanup_removes_leftovers_without_an_endpoint(cli, aws, project):
    """A model and a component named after the endpoint, and an update's versioned config, left behind."""
    name = project.name
    sm = aws.client("sagemaker")
    role = f"arn:aws:iam::{ACCOUNT}:role/x"
    sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})
    sm.create_model(ModelName=f"{name}-20261201120000", ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})
    sm.create_model(ModelName=f"{name}-other", ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-20261201120000", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{name}-20261201120000", "InstanceType": "ml.g6.xlarge",
        "InitialInstanceCount": 1}])
    aws.take()
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    assert sorted(p["ModelName"] for p in requests_for(aws.take(), "DeleteModel")) == \
        [name, f"{name}-20261201120000"]
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [f"{name}-other"]  # not ours: kept
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []


def test_cleanup_of_an_async_endpoint_removes_its_alarm(cli, aws, project):
    aws.client("s3").create_bucket(Bucket="async-jobs")
    name = deploy(cli, aws, project, "--async", "s3://async-jobs/llm/")
    aas = aws.client("application-autoscaling")
    resource = f"endpoint/{name}/variant/AllTraffic"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                 ScalableDimension=VARIANT_DIMENSION, MinCapacity=0, MaxCapacity=2)
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=f"{name}-no-capacity", MetricName="HasBacklogWithoutCapacity", Namespace="AWS/SageMaker",
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", Dimensions=[{"Name": "EndpointName", "Value": name}])
    aws.take()
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    assert aws.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aws.client("sagemaker").list_endpoints()["Endpoints"] == []


@pytest.mark.parametrize("delete", [False, True])
def test_cleanup_of_the_codebuild_target(cli, aws, project, delete):
    project.set_lock(lambda lk: lk["project"].update(deploy_target="codebuild"))
    repo = project.name
    cb_project = f"{repo}-image"
    bucket = f"{repo[:28].rstrip('-')}-cb-{ACCOUNT}-us-east-1"
    role = f"{cb_project[:54]}-codebuild"
    iam = aws.client("iam")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="codebuild-image-build", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=f"{cb_project}/source.zip", Body=b"zip")
    aws.client("codebuild").create_project(
        name=cb_project, source={"type": "S3", "location": f"{bucket}/{cb_project}/source.zip"},
        artifacts={"type": "NO_ARTIFACTS"}, serviceRole=role_arn,
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True})
    aws.take()
    result = cli("cleanup", "--yes", *(["--delete-codebuild"] if delete else []))
    assert result.code == 0, result.stderr
    projects = aws.client("codebuild").batch_get_projects(names=[cb_project])["projects"]
    if not delete:
        assert "nothing to delete" in result.stderr
        assert f"  - CodeBuild project {cb_project}, its bucket and role (--delete-codebuild)" in result.stderr
        assert projects
        return
    assert f"CodeBuild project {cb_project}, bucket {bucket} and role {role}" in result.stderr
    assert projects == []
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role] == []
