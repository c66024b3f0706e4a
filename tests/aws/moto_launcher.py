"""Start moto_server with SageMaker accepting the GPU instance types we deploy to.

moto 5's CreateEndpointConfig checks InstanceType against an old list without
ml.g5/ml.g6/ml.g6e/ml.p4d/ml.p5. Widen it instead of testing with a type we would
never deploy. Test hooks (not claims about real regions or accounts):
  - endpoints named fail-* end up Failed, like a container that never answered /ping;
  - endpoints named slow-* stay Creating;
  - endpoints named quota-* are refused with ResourceLimitExceeded (an account quota of 0);
  - in REGION_WITHOUT_GPUS, CreateEndpointConfig refuses GPU instance types with the
    message AWS gives for a type the region does not offer.

moto 5 lacks inference components, and its SageMaker Runtime ignores them; this
launcher adds them (see the second half of this file):
  - CreateInferenceComponent, DescribeInferenceComponent, ListInferenceComponents,
    UpdateInferenceComponent, UpdateInferenceComponentRuntimeConfig and
    DeleteInferenceComponent, kept per account and region (a reset clears them);
  - CreateEndpointConfig accepts variants without ModelName (endpoints that host
    inference components) and keeps ExecutionRoleArn;
  - Application Auto Scaling accepts sagemaker:inference-component:DesiredCopyCount,
    refuses a target whose endpoint or inference component does not exist, and a
    scaling policy on a target that is not registered (as AWS documents);
  - InvokeEndpoint on an endpoint with inference components needs
    InferenceComponentName, and answers "no capacity" when its copies are at 0;
  - InvokeEndpointAsync writes the answer to the endpoint config's S3OutputPath.
Test hooks (not claims about real regions or accounts):
  - in REGION_WITHOUT_ICS, endpoint configs for inference components are refused;
  - inference components named nohw-* fail like a component whose compute
    requirements do not fit the instance.
Usage: python moto_launcher.py -H 127.0.0.1 -p PORT
"""
from __future__ import annotations

import re
import sys

from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.exceptions import SagemakerClientError, ValidationError

_original = sagemaker_models.FakeEndpointConfig.validate_instance_type
_GPU = re.compile(r"^ml\.(g4dn|g5|g6|g6e|p3|p4d|p4de|p5|p5e|p5en|inf2|trn1)\.[0-9]*x?large$")


def _validate_instance_type(self, instance_type: str) -> None:
    if _GPU.match(instance_type or ""):
        return
    _original(self, instance_type)


sagemaker_models.FakeEndpointConfig.validate_instance_type = _validate_instance_type

# Test hook: an endpoint whose name starts with "fail-" fails like a container
# that never answered /ping (moto otherwise goes straight to InService).
FAILURE_REASON = "The primary container for production variant AllTraffic did not pass the ping health check."
_original_init = sagemaker_models.FakeEndpoint.__init__


def _endpoint_init(self, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    if self.endpoint_name.startswith("fail-"):
        self.endpoint_status = "Failed"
        self.failure_reason = FAILURE_REASON
    elif self.endpoint_name.startswith("slow-"):
        self.endpoint_status = "Creating"


sagemaker_models.FakeEndpoint.__init__ = _endpoint_init

# A region that offers none of the GPU types (AWS's wording for CreateEndpointConfig).
REGION_WITHOUT_GPUS = "eu-south-2"
_original_config_init = sagemaker_models.FakeEndpointConfig.__init__


def _config_init(self, account_id, region_name, endpoint_config_name, production_variants, *args, **kwargs):
    if region_name == REGION_WITHOUT_GPUS:
        for variant in production_variants or []:
            itype = variant.get("InstanceType") or ""
            if _GPU.match(itype):
                raise ValidationError(message=f"Instance type {itype} is not supported for the chosen region. "
                                              "Please choose some other instance type.")
    _original_config_init(self, account_id, region_name, endpoint_config_name, production_variants,
                          *args, **kwargs)


sagemaker_models.FakeEndpointConfig.__init__ = _config_init


class ResourceLimitExceeded(SagemakerClientError):
    code = "ResourceLimitExceeded"


_original_create_endpoint = sagemaker_models.SageMakerModelBackend.create_endpoint


def _create_endpoint(self, endpoint_name, endpoint_config_name, tags):
    if endpoint_name.startswith("quota-"):
        config = self.describe_endpoint_config(endpoint_config_name)
        itype = config["ProductionVariants"][0].get("InstanceType")
        raise ResourceLimitExceeded(
            f"The account-level service limit '{itype} for endpoint usage' is 0 Instances, with current "
            "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas "
            "to request an increase for this quota.")
    return _original_create_endpoint(self, endpoint_name, endpoint_config_name, tags)


sagemaker_models.SageMakerModelBackend.create_endpoint = _create_endpoint


# ---------------------------------------------------------------------------------------
# Inference components, async invocations and their autoscaling (moto 5 has none of it).
# ---------------------------------------------------------------------------------------
import json  # noqa: E402
import uuid  # noqa: E402

from moto.applicationautoscaling import models as aas_models  # noqa: E402
from moto.applicationautoscaling import responses as aas_responses  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.sagemaker import responses as sagemaker_responses  # noqa: E402
from moto.sagemakerruntime import responses as runtime_responses  # noqa: E402

REGION_WITHOUT_ICS = "mx-central-1"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
NO_HARDWARE = ("There is not enough hardware resources on the instances for this endpoint to create a copy "
               "of the inference component.")
IC_HEADER = "X-Amzn-SageMaker-Inference-Component"


def _ics(backend) -> dict:
    if not hasattr(backend, "inference_components"):
        backend.inference_components = {}
    return backend.inference_components


def _ic_arn(backend, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"


def _epoch(value) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


# Endpoint configs for inference components name no model on the variant.
_original_validate_variants = sagemaker_models.SageMakerModelBackend.validate_production_variants


def _validate_variants(self, production_variants):
    with_model = [v for v in production_variants or [] if v.get("ModelName")]
    if len(with_model) != len(production_variants or []) and self.region_name == REGION_WITHOUT_ICS:
        raise ValidationError(message=f"Inference components are not supported in region {self.region_name}.")
    return _original_validate_variants(self, with_model)


sagemaker_models.SageMakerModelBackend.validate_production_variants = _validate_variants
_original_create_config_response = sagemaker_responses.SageMakerResponse.create_endpoint_config


def _create_config_response(self):
    result = _original_create_config_response(self)
    config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
    if self._get_param("ExecutionRoleArn"):
        config.execution_role_arn = self._get_param("ExecutionRoleArn")
    return result


sagemaker_responses.SageMakerResponse.create_endpoint_config = _create_config_response


def _ic_view(backend, ic: dict) -> dict:
    return {k: v for k, v in ic.items() if v is not None}


def _get_ic(backend, name: str) -> dict:
    ic = _ics(backend).get(name)
    if ic is None:
        raise ValidationError(message=f"Could not find inference component \"{_ic_arn(backend, name)}\".")
    return ic


def create_inference_component(self):
    backend = self.sagemaker_backend
    params = json.loads(self.body or "{}")
    name = params["InferenceComponentName"]
    ics = _ics(backend)
    if backend.region_name == REGION_WITHOUT_ICS:
        raise ValidationError(message=f"Inference components are not supported in region {backend.region_name}.")
    if name in ics:
        raise ValidationError(message=f"Cannot create already existing inference component \"{_ic_arn(backend, name)}\".")
    endpoint = backend.endpoints.get(params["EndpointName"])
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint \"{params['EndpointName']}\".")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(message=f"Endpoint \"{params['EndpointName']}\" is in status {endpoint.endpoint_status}; "
                                      "inference components can be created only on an InService endpoint.")
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    variants = {v["VariantName"]: v for v in (config.production_variants if config else [])}
    variant = variants.get(params.get("VariantName"))
    if variant is None:
        raise ValidationError(message=f"Variant \"{params.get('VariantName')}\" not found on endpoint "
                                      f"\"{params['EndpointName']}\".")
    if variant.get("ModelName"):
        raise ValidationError(message="Inference components can only be created on an endpoint whose production "
                                      "variant names no model.")
    spec = params.get("Specification") or {}
    if spec.get("ModelName") and spec["ModelName"] not in backend._models:
        raise ValidationError(message=f"Could not find model \"{spec['ModelName']}\".")
    copies = (params.get("RuntimeConfig") or {}).get("CopyCount", 1)
    now = _epoch(utcnow())
    failed = name.startswith("nohw-")
    ics[name] = {
        "InferenceComponentName": name, "InferenceComponentArn": _ic_arn(backend, name),
        "EndpointName": endpoint.endpoint_name, "EndpointArn": endpoint.arn, "VariantName": variant["VariantName"],
        "Specification": spec, "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": 0 if failed else copies},
        "InferenceComponentStatus": "Failed" if failed else "InService",
        "FailureReason": NO_HARDWARE if failed else None,
        "CreationTime": now, "LastModifiedTime": now, "Tags": params.get("Tags") or [],
    }
    return json.dumps({"InferenceComponentArn": _ic_arn(backend, name)})


def describe_inference_component(self):
    backend = self.sagemaker_backend
    ic = _get_ic(backend, self._get_param("InferenceComponentName"))
    return json.dumps(_ic_view(backend, {k: v for k, v in ic.items() if k != "Tags"}))


def list_inference_components(self):
    backend = self.sagemaker_backend
    endpoint = self._get_param("EndpointNameEquals")
    contains = self._get_param("NameContains")
    status = self._get_param("StatusEquals")
    rows = []
    for ic in sorted(_ics(backend).values(), key=lambda x: x["CreationTime"], reverse=True):
        if endpoint and ic["EndpointName"] != endpoint:
            continue
        if contains and contains not in ic["InferenceComponentName"]:
            continue
        if status and ic["InferenceComponentStatus"] != status:
            continue
        rows.append({k: ic[k] for k in ("InferenceComponentName", "InferenceComponentArn", "EndpointName",
                                        "EndpointArn", "VariantName", "InferenceComponentStatus", "CreationTime",
                                        "LastModifiedTime")})
    return json.dumps({"InferenceComponents": rows})


def update_inference_component(self):
    backend = self.sagemaker_backend
    params = json.loads(self.body or "{}")
    ic = _get_ic(backend, params["InferenceComponentName"])
    if params.get("Specification"):
        ic["Specification"] = params["Specification"]
    if params.get("RuntimeConfig"):
        copies = params["RuntimeConfig"]["CopyCount"]
        ic["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
    ic["LastModifiedTime"] = _epoch(utcnow())
    return json.dumps({"InferenceComponentArn": ic["InferenceComponentArn"]})


def update_inference_component_runtime_config(self):
    backend = self.sagemaker_backend
    params = json.loads(self.body or "{}")
    ic = _get_ic(backend, params["InferenceComponentName"])
    copies = params["DesiredRuntimeConfig"]["CopyCount"]
    ic["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
    ic["LastModifiedTime"] = _epoch(utcnow())
    return json.dumps({"InferenceComponentArn": ic["InferenceComponentArn"]})


def delete_inference_component(self):
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    _get_ic(backend, name)
    del _ics(backend)[name]
    return "{}"


for _fn in (create_inference_component, describe_inference_component, list_inference_components,
            update_inference_component, update_inference_component_runtime_config, delete_inference_component):
    setattr(sagemaker_responses.SageMakerResponse, _fn.__name__, _fn)


# Application Auto Scaling: the inference-component dimension, and AWS's checks that the
# resource exists and that a policy's target is registered.
class ObjectNotFoundException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ObjectNotFoundException", message)


_original_target_valid = aas_models._target_params_are_valid


def _target_params_are_valid(namespace, r_id, dimension):
    if dimension == IC_DIMENSION:
        if namespace != "sagemaker" or not (r_id or "").startswith("inference-component/"):
            raise aas_models.AWSValidationException("Unsupported service namespace, resource type or scalable dimension")
        return True
    return _original_target_valid(namespace, r_id, dimension)


aas_models._target_params_are_valid = _target_params_are_valid
_original_validate_params = aas_responses.ApplicationAutoScalingResponse._validate_params


def _validate_aas_params(self):
    if self._get_param("ScalableDimension") == IC_DIMENSION:
        if self._get_param("ServiceNamespace") != "sagemaker":
            raise aas_models.AWSValidationException("Unsupported service namespace, resource type or scalable dimension")
        return None
    return _original_validate_params(self)


aas_responses.ApplicationAutoScalingResponse._validate_params = _validate_aas_params
_original_register = aas_models.ApplicationAutoscalingBackend.register_scalable_target


def _register_scalable_target(self, namespace, r_id, dimension, *args, **kwargs):
    if namespace == "sagemaker" and r_id:
        backend = sagemaker_models.sagemaker_backends[self.account_id][self.region_name]
        parts = r_id.split("/")
        if parts[0] == "inference-component" and len(parts) == 2 and parts[1] not in _ics(backend):
            raise aas_models.AWSValidationException(f"Inference component {parts[1]} does not exist.")
        if parts[0] == "endpoint" and len(parts) == 4 and parts[1] not in backend.endpoints:
            raise aas_models.AWSValidationException(f"Endpoint {parts[1]} does not exist.")
    return _original_register(self, namespace, r_id, dimension, *args, **kwargs)


aas_models.ApplicationAutoscalingBackend.register_scalable_target = _register_scalable_target
_original_put_policy = aas_models.ApplicationAutoscalingBackend.put_scaling_policy


def _put_scaling_policy(self, policy_name, service_namespace, resource_id, scalable_dimension, *args, **kwargs):
    if not self._scalable_target_exists(resource_id, scalable_dimension):
        raise ObjectNotFoundException(
            f"No scalable target registered for service namespace: {service_namespace}, resource ID: "
            f"{resource_id}, scalable dimension: {scalable_dimension}")
    return _original_put_policy(self, policy_name, service_namespace, resource_id, scalable_dimension,
                                *args, **kwargs)


aas_models.ApplicationAutoscalingBackend.put_scaling_policy = _put_scaling_policy


# SageMaker Runtime: inference components and async invocations.
def _runtime_sagemaker(self):
    return sagemaker_models.sagemaker_backends[self.current_account][self.region]


_original_invoke = runtime_responses.SageMakerRuntimeResponse.invoke_endpoint


def _invoke_endpoint(self):
    backend = _runtime_sagemaker(self)
    endpoint = self.path.split("/")[2]
    hosted = [ic for ic in _ics(backend).values() if ic["EndpointName"] == endpoint]
    wanted = self.headers.get(IC_HEADER)
    if hosted and not wanted:
        raise ValidationError(message="Inference Component Name header is required for endpoints to which you "
                                      "plan to deploy inference components.")
    if wanted:
        ic = next((ic for ic in hosted if ic["InferenceComponentName"] == wanted), None)
        if ic is None:
            raise ValidationError(message=f"Inference Component {wanted} not found on endpoint {endpoint}.")
        if ic["RuntimeConfig"]["CurrentCopyCount"] == 0:
            raise ValidationError(message=f"Inference Component {wanted} has no capacity to process this request. "
                                          "ApplicationAutoScaling may be in-progress (if configured).")
    return _original_invoke(self)


runtime_responses.SageMakerRuntimeResponse.invoke_endpoint = _invoke_endpoint


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def _invoke_endpoint_async(self):
    from moto.s3.models import s3_backends

    backend = _runtime_sagemaker(self)
    runtime = self.sagemakerruntime_backend
    endpoint_name = self.path.split("/")[2]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise ValidationError(message=f"Endpoint {endpoint_name} not found.")
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    async_config = (getattr(config, "async_inference_config", None) or {}) if config else {}
    output = async_config.get("OutputConfig") or {}
    if not output.get("S3OutputPath"):
        raise ValidationError(message=f"Endpoint {endpoint_name} is not configured for asynchronous inference.")
    s3 = s3_backends[self.current_account]["aws"]
    input_location = self.headers.get("X-Amzn-SageMaker-InputLocation") or ""
    bucket, key = _split_s3(input_location)
    try:
        readable = bucket and key and s3.get_object(bucket, key) is not None
    except Exception:  # noqa: BLE001 - any S3 error means the input is not readable
        readable = False
    if not readable:
        raise ValidationError(message=f"Could not read the input at {input_location}.")
    inference_id = self.headers.get("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4())
    if runtime.async_results_queue:
        is_failure, data = runtime.async_results_queue.pop(0)
    else:
        is_failure, data = False, json.dumps({"choices": [{"index": 0, "message": {
            "role": "assistant", "content": "async answer"}}]})
    out_uri = output["S3OutputPath"].rstrip("/") + f"/{inference_id}.out"
    fail_uri = (output.get("S3FailurePath") or output["S3OutputPath"]).rstrip("/") + f"/{inference_id}-error.out"
    out_bucket, out_key = _split_s3(fail_uri if is_failure else out_uri)
    s3.put_object(out_bucket, out_key, value=data.encode("utf-8"))
    headers = {"X-Amzn-SageMaker-OutputLocation": out_uri, "X-Amzn-SageMaker-FailureLocation": fail_uri}
    return 202, headers, json.dumps({"InferenceId": inference_id})


runtime_responses.SageMakerRuntimeResponse.invoke_endpoint_async = _invoke_endpoint_async

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
