"""Start moto_server with SageMaker accepting the GPU instance types we deploy to.

moto 5's CreateEndpointConfig checks InstanceType against an old list without
ml.g5/ml.g6/ml.g6e/ml.p4d/ml.p5. Widen it instead of testing with a type we would
never deploy. Endpoints named fail-* end up Failed (see below). Usage: python moto_launcher.py -H 127.0.0.1 -p PORT
"""
from __future__ import annotations

import re
import sys

from moto.sagemaker import models as sagemaker_models

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


sagemaker_models.FakeEndpoint.__init__ = _endpoint_init

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
