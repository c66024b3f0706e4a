"""The request validator the AWS tests rely on, and the operations the deploy scripts name.

tests/aws/botocore_check.py validates every request the deploy scripts make in the
AWS tests (tests/test_deploy_lifecycle.py, test_deploy_hosting.py, test_deploy_push.py
record them). These tests prove that it catches what it must (a misspelt member, a
wrong type, an unknown enum value, a name AWS would refuse), and that every
`aws <service> <command>` in the scripts is an operation botocore knows, including
the ones only failure paths reach.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws import botocore_check, helpers  # noqa: E402

GOOD_IC = {
    "InferenceComponentName": "my-model", "EndpointName": "my-model", "VariantName": "AllTraffic",
    "Specification": {"ModelName": "my-model",
                      "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1,
                                                      "MinMemoryRequiredInMb": 1332}},
    "RuntimeConfig": {"CopyCount": 1},
}


def problems(service, operation, params):
    return botocore_check.problems(service, operation, params)


def test_a_valid_request_passes():
    assert problems("sagemaker", "CreateInferenceComponent", GOOD_IC) == []


def test_a_misspelt_member_fails():
    bad = {**GOOD_IC, "Specification": {**GOOD_IC["Specification"], "ComputeResourceRequirments": {}}}
    (problem,) = problems("sagemaker", "CreateInferenceComponent", bad)
    assert 'Unknown parameter in Specification: "ComputeResourceRequirments"' in problem
    (problem,) = problems("sagemaker", "CreateEndpointConfig", {
        "EndpointConfigName": "x", "ProductionVariants": [
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InferenceAmiVerison": "x"}]})
    assert "InferenceAmiVerison" in problem


def test_missing_required_member_and_wrong_type_fail():
    bad = {**GOOD_IC, "Specification": {"ModelName": "my-model", "ComputeResourceRequirements": {
        "NumberOfAcceleratorDevicesRequired": "1"}}}
    found = " ".join(problems("sagemaker", "CreateInferenceComponent", bad))
    assert "Missing required parameter" in found and "MinMemoryRequiredInMb" in found
    assert "Invalid type for parameter" in found and "NumberOfAcceleratorDevicesRequired" in found


@pytest.mark.parametrize("service, operation, params, fragment", [
    ("sagemaker", "CreateEndpointConfig",
     {"EndpointConfigName": "x", "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge",
                                                         "InferenceAmiVersion": "al2023-ami-sagemaker-gpu-4"}]},
     "InferenceAmiVersion: 'al2023-ami-sagemaker-gpu-4' is not one of"),
    ("sagemaker", "CreateEndpointConfig",
     {"EndpointConfigName": "x", "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g9.xlarge"}]},
     "InstanceType: 'ml.g9.xlarge' is not one of"),
    ("application-autoscaling", "PutScalingPolicy",
     {"PolicyName": "p", "ServiceNamespace": "sagemaker", "ResourceId": "inference-component/x",
      "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount", "PolicyType": "TargetTrackingScaling",
      "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 4.0, "PredefinedMetricSpecification": {
          "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopy"}}},
     "PredefinedMetricType: 'SageMakerInferenceComponentConcurrentRequestsPerCopy' is not one of"),
    ("sagemaker", "CreateEndpoint", {"EndpointName": "my_endpoint", "EndpointConfigName": "x"},
     "EndpointName: 'my_endpoint' does not match the pattern"),
    ("sagemaker", "CreateEndpoint", {"EndpointName": "x" * 64, "EndpointConfigName": "x"},
     "64 characters, more than the maximum 63"),
    ("sagemaker", "CreateEndpointConfig",
     {"EndpointConfigName": "x", "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge",
                                                         "ContainerStartupHealthCheckTimeoutInSeconds": 3601}]},
     "3601 is more than the maximum 3600"),
])
def test_what_botocore_client_does_not_check_fails_here(service, operation, params, fragment):
    found = problems(service, operation, params)
    assert any(fragment in p for p in found), found


def test_unknown_operation_fails():
    assert problems("sagemaker", "CreateInferenceComponents", {}) == [
        "sagemaker has no operation CreateInferenceComponents"]


def script_texts() -> dict[str, str]:
    deploy = helpers.TEMPLATE_DEPLOY
    return {p.name: p.read_text() for p in deploy.iterdir() if p.is_file() and p.name.endswith(".sh")}


def test_every_aws_command_in_the_scripts_is_a_botocore_operation():
    found = {}
    for name, text in script_texts().items():
        for service, operation in botocore_check.cli_operations(text):
            found.setdefault((service, operation), name)
    # The parser sees them all: the new hosting calls are among them.
    ops = {op for _, op in found}
    assert {"CreateInferenceComponent", "DeleteInferenceComponent", "ListInferenceComponents",
            "RegisterScalableTarget", "PutScalingPolicy", "DeregisterScalableTarget", "PutMetricAlarm",
            "DeleteAlarms", "CreateEndpointConfig", "InvokeEndpoint"} <= ops
    assert len(found) >= 45, sorted(found)


def test_unparsed_aws_calls_are_only_high_level_commands():
    """Every line that runs `aws`/`awsr`/`aws_try` is one the parser reads, or a known
    high-level command whose requests the CLI composes (validated when recorded)."""
    allowed = re.compile(r"\b(s3 (sync|rb|cp|mb)|sagemaker wait|ecr get-login-password)\b")
    for name, text in script_texts().items():
        joined = re.sub(r"\\\n\s*", " ", text)
        for line in joined.splitlines():
            code = line.split("#", 1)[0]
            if not re.search(r"(^|[\s(\"$])(awsr|aws_try \w+ \w+)\s+[a-z]", code):
                continue
            if botocore_check.cli_operations(code) or allowed.search(code):
                continue
            if re.search(r"awsr\(\)|aws_try\(\)|\"\$@\"|need_cmd aws", code):
                continue  # the helpers' own definitions
            if '"describe-$kind"' in code:
                continue  # lib.sh sm_exists: DescribeEndpoint, DescribeEndpointConfig, DescribeModel

            pytest.fail(f"{name}: an AWS call the validator cannot read: {line.strip()}")
