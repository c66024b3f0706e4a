"""The request validator the deploy tool's tests rely on.

tests/aws/botocore_check.py validates every request `python -m deploy` makes in tests/deploy/
(tests/deploy/test_cmd_operations.py and test_tool_basics.py's tour check that every operation
the commands name is made, so validated, including the ones only failure paths reach). These
tests prove that it catches what it must: a misspelt member, a wrong type, an unknown enum value,
a name AWS would refuse.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws import botocore_check  # noqa: E402

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

