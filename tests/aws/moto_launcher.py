"""Start moto_server with SageMaker accepting the GPU instance types we deploy to.

moto 5's CreateEndpointConfig checks InstanceType against an old list without
ml.g5/ml.g6/ml.g6e/ml.p4d/ml.p5. Widen it instead of testing with a type we would
never deploy. Test hooks (not claims about real regions or accounts):
  - endpoints named fail-* end up Failed, like a container that never answered /ping;
  - endpoints named slow-* stay Creating;
  - endpoints named quota-* are refused with ResourceLimitExceeded (an account quota of 0);
  - in REGION_WITHOUT_GPUS, CreateEndpointConfig refuses GPU instance types with the
    message AWS gives for a type the region does not offer.
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

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
