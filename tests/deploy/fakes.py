"""In-process stand-ins for the AWS APIs moto 5.2 lacks, on botocore's own event hooks.

moto (5.2.1) has no UpdateEndpoint, no inference components, refuses the GPU instance types we
deploy (ml.g5/g6/g6e/p4d/p5) in CreateEndpointConfig, has no ListServiceQuotas, and its
Application Auto Scaling refuses the inference-component dimension. So the SageMaker control
plane, Service Quotas and Application Auto Scaling are served here; everything else (IAM, ECR,
S3, Secrets Manager, STS, CloudWatch, Logs, CodeBuild) by moto's ``mock_aws``.

How: a ``before-call.<service>`` handler on the test's botocore session answers the call, the
same public mechanism botocore's ``Stubber`` uses; unlike a Stubber it keeps state, so a test
runs whole flows (deploy, update, status, cleanup) without scripting every answer. Errors come
back as AWS's error codes (botocore raises ``ClientError`` from them). The parameters are the
ones the client validated (``before-parameter-build``), and the ``Recorder`` checks every request
of every service against botocore's service model (tests/aws/botocore_check.py).

Test hooks (attributes, not name conventions):
  fail_endpoints[name] = reason      the endpoint ends Failed (like a container that never pinged)
  slow_endpoints {name}              the endpoint stays Creating
  refuse_endpoints[name] = (code, message)   CreateEndpoint refused (e.g. ResourceLimitExceeded)
  fail_updates[name] = reason        UpdateEndpoint rolls back: the old config stays InService
  fail_components[name] = reason     an inference component ends Failed
  fail_component_updates[name] = reason  UpdateInferenceComponent rolls back
  regions_without_gpus {region}      CreateEndpointConfig refuses GPU types there (AWS's words)
  regions_without_components {region}  no inference components there
  no_volume_types {type}             CreateEndpointConfig refuses VolumeSizeInGB for these
  quotas {quota name: value}         Service Quotas' SageMaker quotas (default: 4 of every type)
  quota_error = code                 ListServiceQuotas refused with this code
  creating_polls = 1                 describes a new endpoint/component answers Creating first
Model Registry: moto serves model package groups and packages (Create/Describe/List/Update) itself: those
calls pass through to ``mock_aws``. moto has no DeleteModelPackage / DeleteModelPackageGroup: they are
answered here on moto's own store (its sagemaker backend, read and changed, not patched), and CreateModel
with Containers[].ModelPackageName is refused unless the package exists and is Approved (AWS: a versioned
package must be Approved to be deployed).
  refuse_group_with_versions = True  DeleteModelPackageGroup of a group that still has versions is refused
                                     (an assumption; the tool deletes the versions first either way)
  refuse_base_with_adapters = True   DeleteInferenceComponent of a base that still has adapter components
                                     is refused (ValidationException: an assumption, AWS does not document
                                     it; the tools delete the adapters first either way)
"""
from __future__ import annotations

import copy
import datetime
import itertools
import re

from botocore.awsrequest import AWSResponse

ACCOUNT = "123456789012"
# SageMaker operations moto serves itself (the before-call handler lets them through to mock_aws).
MOTO_SAGEMAKER = frozenset({"CreateModelPackageGroup", "DescribeModelPackageGroup", "ListModelPackageGroups",
                            "CreateModelPackage", "DescribeModelPackage", "ListModelPackages", "UpdateModelPackage"})
GPU = re.compile(r"^ml\.(g4dn|g5|g6|g6e|g7e|p3|p4d|p4de|p5|p5e|p5en|p6-b200)\.[0-9]*x?large$")


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class Recorder:
    """Every request of a session: (service, operation, params), as the client validated them."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, params, model, context=None, **_):
        try:
            kept = copy.deepcopy(params)
        except Exception:  # noqa: BLE001 - a file object in the parameters (upload_file): keep them as they are
            kept = dict(params)
        call = {"service": model.service_model.service_name, "operation": model.name, "params": kept}
        self.calls.append(call)
        if context is not None:
            context["fake_params"] = call["params"]

    def take(self) -> list[dict]:
        calls, self.calls = self.calls, []
        return calls


class FakeAws:
    """SageMaker control plane, Service Quotas and Application Auto Scaling, kept per region."""

    def __init__(self) -> None:
        self.models: dict[tuple, dict] = {}
        self.configs: dict[tuple, dict] = {}
        self.endpoints: dict[tuple, dict] = {}
        self.components: dict[tuple, dict] = {}
        self.targets: dict[tuple, dict] = {}
        self.policies: dict[tuple, dict] = {}
        self.fail_endpoints: dict[str, str] = {}
        self.slow_endpoints: set[str] = set()
        self.refuse_endpoints: dict[str, tuple[str, str]] = {}
        self.fail_updates: dict[str, str] = {}
        self.fail_components: dict[str, str] = {}
        self.fail_component_updates: dict[str, str] = {}
        self.regions_without_gpus: set[str] = set()
        self.regions_without_components: set[str] = set()
        self.no_volume_types: set[str] = set()
        self.quotas: dict[str, float] | None = None
        self.quota_error: str | None = None
        self.creating_polls = 1
        self.refuse_base_with_adapters = True
        self.refuse_group_with_versions = True
        self._ids = itertools.count(1)

    # -- botocore hook ----------------------------------------------------------------------------
    def register(self, events) -> None:
        for service in ("sagemaker", "service-quotas", "application-auto-scaling"):
            events.register(f"before-call.{service}", self._answer, unique_id=f"fake-aws-{service}")

    def _answer(self, model, context=None, **kwargs):
        region = kwargs["request_signer"].region_name if kwargs.get("request_signer") else "us-east-1"
        params = (context or {}).get("fake_params", {})
        if model.service_model.service_name == "sagemaker" and model.name in MOTO_SAGEMAKER:
            if model.name == "CreateModelPackage" and params.get("ModelPackageGroupName") and params.get("Tags"):
                # botocore's documentation of CreateModelPackage: a version in a group takes the group's tags,
                # "you cannot supply a tag argument" (moto accepts them).
                return (AWSResponse("https://fake", 400, {}, None),
                        {"Error": {"Code": "ValidationException", "Message": "Tags cannot be supplied for a model "
                                   "package in a model package group."}, "ResponseMetadata": {"HTTPStatusCode": 400}})
            return None  # moto answers
        handler = getattr(self, "op_" + model.name, None)
        if handler is None:
            return (AWSResponse("https://fake", 400, {}, None),
                    {"Error": {"Code": "NotImplemented", "Message": f"fake AWS has no {model.name}"},
                     "ResponseMetadata": {"HTTPStatusCode": 400}})
        try:
            answer = handler(region, params) or {}
        except AwsError as exc:
            return (AWSResponse("https://fake", exc.status, {}, None),
                    {"Error": {"Code": exc.code, "Message": exc.message},
                     "ResponseMetadata": {"HTTPStatusCode": exc.status}})
        answer.setdefault("ResponseMetadata", {"HTTPStatusCode": 200, "RequestId": f"fake-{next(self._ids)}"})
        return AWSResponse("https://fake", 200, {}, None), copy.deepcopy(answer)

    @staticmethod
    def _arn(region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"

    @staticmethod
    def _missing(kind: str, region: str, name: str) -> AwsError:
        # SageMaker's own answer for a missing resource: a ValidationException ("Could not find ...").
        return AwsError("ValidationException", f"Could not find {kind} \"arn:aws:sagemaker:{region}:{ACCOUNT}:"
                                               f"{kind.replace(' ', '-')}/{name}\".")

    def _no_components(self, region: str) -> None:
        if region in self.regions_without_components:
            raise AwsError("ValidationException", f"Inference components are not supported in {region}.")

    # -- models -----------------------------------------------------------------------------------
    def op_CreateModel(self, region, p):
        key = (region, p["ModelName"])
        if key in self.models:
            raise AwsError("ValidationException", f"Cannot create already existing model \"{p['ModelName']}\".")
        for container in p.get("Containers") or []:
            if container.get("ModelPackageName"):
                package = self._moto_package(region, container["ModelPackageName"])
                if package is None:
                    raise AwsError("ValidationException", f"Model package {container['ModelPackageName']} not found.")
                if package.model_package_version and package.model_approval_status != "Approved":
                    raise AwsError("ValidationException", f"Model package {package.arn} is "
                                                          f"{package.model_approval_status}; only Approved "
                                                          "versions can be deployed.")
        arn = self._arn(region, "model", p["ModelName"])
        self.models[key] = dict(p, ModelArn=arn, CreationTime=_now())
        return {"ModelArn": arn}

    def op_DescribeModel(self, region, p):
        model = self.models.get((region, p["ModelName"]))
        if model is None:
            raise self._missing("model", region, p["ModelName"])
        return {k: v for k, v in model.items() if k != "Tags"}

    def op_DeleteModel(self, region, p):
        if self.models.pop((region, p["ModelName"]), None) is None:
            raise self._missing("model", region, p["ModelName"])

    def op_ListModels(self, region, p):
        return {"Models": [{"ModelName": m["ModelName"], "ModelArn": m["ModelArn"], "CreationTime": m["CreationTime"]}
                           for (r, n), m in sorted(self.models.items())
                           if r == region and p.get("NameContains", "") in n]}

    # -- Model Registry deletes, on moto's store ---------------------------------------------------------
    @staticmethod
    def _moto_registry(region):
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][region]

    def _moto_package(self, region, name_or_arn):
        backend = self._moto_registry(region)
        return backend.model_packages.get(backend.model_package_name_mapping.get(name_or_arn, name_or_arn))

    def op_DeleteModelPackage(self, region, p):
        backend = self._moto_registry(region)
        package = self._moto_package(region, p["ModelPackageName"])
        if package is None:
            raise AwsError("ValidationException", f"Model package {p['ModelPackageName']} not found.")
        del backend.model_packages[package.arn]
        for key in [k for k, v in backend.model_package_name_mapping.items() if v == package.arn]:
            del backend.model_package_name_mapping[key]

    def op_DeleteModelPackageGroup(self, region, p):
        backend = self._moto_registry(region)
        name = p["ModelPackageGroupName"]
        if name not in backend.model_package_groups:
            raise AwsError("ValidationException", f"ModelPackageGroup {name} does not exist.")
        if self.refuse_group_with_versions and any(
                pkg.model_package_group_name == name for pkg in backend.model_packages.values()):
            raise AwsError("ValidationException", f"Model package group {name} still has model packages.")
        del backend.model_package_groups[name]

    # -- endpoint configs -------------------------------------------------------------------------
    def op_CreateEndpointConfig(self, region, p):
        key = (region, p["EndpointConfigName"])
        if key in self.configs:
            raise AwsError("ValidationException",
                           f"Cannot create already existing endpoint configuration \"{p['EndpointConfigName']}\".")
        for variant in p["ProductionVariants"]:
            itype = variant.get("InstanceType") or ""
            if region in self.regions_without_gpus and GPU.match(itype):
                raise AwsError("ValidationException", f"Instance type {itype} is not supported for the chosen region. "
                                                      "Please choose some other instance type.")
            if itype in self.no_volume_types and "VolumeSizeInGB" in variant:
                raise AwsError("ValidationException", f"VolumeSizeInGB is not supported for {itype}, which has "
                                                      "instance storage.")
            if not variant.get("ModelName"):
                self._no_components(region)
            elif (region, variant["ModelName"]) not in self.models:
                raise AwsError("ValidationException", f"Could not find model \"{variant['ModelName']}\".")
        arn = self._arn(region, "endpoint-config", p["EndpointConfigName"])
        self.configs[key] = dict(p, EndpointConfigArn=arn, CreationTime=_now())
        return {"EndpointConfigArn": arn}

    def op_DescribeEndpointConfig(self, region, p):
        config = self.configs.get((region, p["EndpointConfigName"]))
        if config is None:
            raise self._missing("endpoint configuration", region, p["EndpointConfigName"])
        return {k: v for k, v in config.items() if k != "Tags"}

    def op_DeleteEndpointConfig(self, region, p):
        if self.configs.pop((region, p["EndpointConfigName"]), None) is None:
            raise self._missing("endpoint configuration", region, p["EndpointConfigName"])

    def op_ListEndpointConfigs(self, region, p):
        return {"EndpointConfigs": [{"EndpointConfigName": n, "EndpointConfigArn": c["EndpointConfigArn"],
                                     "CreationTime": c["CreationTime"]}
                                    for (r, n), c in sorted(self.configs.items())
                                    if r == region and p.get("NameContains", "") in n]}

    # -- endpoints --------------------------------------------------------------------------------
    def _variants(self, region, config_name, status_count=True):
        config = self.configs[(region, config_name)]
        out = []
        for v in config["ProductionVariants"]:
            count = v.get("InitialInstanceCount", 1)
            out.append({"VariantName": v["VariantName"], "CurrentWeight": v.get("InitialVariantWeight", 1.0),
                        "DesiredWeight": v.get("InitialVariantWeight", 1.0),
                        "CurrentInstanceCount": count, "DesiredInstanceCount": count})
        return out

    def op_CreateEndpoint(self, region, p):
        name = p["EndpointName"]
        if (region, name) in self.endpoints:
            raise AwsError("ValidationException", f"Cannot create already existing endpoint \"{name}\".")
        config = self.configs.get((region, p["EndpointConfigName"]))
        if config is None:
            raise AwsError("ValidationException", f"Could not find endpoint configuration \"{p['EndpointConfigName']}\".")
        if name in self.refuse_endpoints:
            code, message = self.refuse_endpoints[name]
            raise AwsError(code, message.format(instance_type=config["ProductionVariants"][0].get("InstanceType")))
        arn = self._arn(region, "endpoint", name)
        self.endpoints[(region, name)] = {
            "EndpointName": name, "EndpointArn": arn, "EndpointConfigName": p["EndpointConfigName"],
            "EndpointStatus": "Creating", "CreationTime": _now(), "LastModifiedTime": _now(),
            "_polls": 0, "_pending": None, "_old": None}
        return {"EndpointArn": arn}

    def op_DescribeEndpoint(self, region, p):
        ep = self.endpoints.get((region, p["EndpointName"]))
        if ep is None:
            raise self._missing("endpoint", region, p["EndpointName"])
        name = ep["EndpointName"]
        ep["_polls"] += 1
        if ep["EndpointStatus"] == "Creating" and ep["_polls"] > self.creating_polls and name not in self.slow_endpoints:
            if name in self.fail_endpoints:
                ep["EndpointStatus"] = "Failed"
                ep["FailureReason"] = self.fail_endpoints[name]
            else:
                ep["EndpointStatus"] = "InService"
        elif ep["EndpointStatus"] == "Updating" and ep["_polls"] > self.creating_polls:
            if name in self.fail_updates:
                ep["EndpointStatus"] = "InService"
                ep["FailureReason"] = self.fail_updates[name]
            else:
                ep["EndpointConfigName"] = ep["_pending"]
                ep["EndpointStatus"] = "InService"
                ep.pop("FailureReason", None)
            ep["_pending"] = None
            ep["LastModifiedTime"] = _now()
        answer = {k: v for k, v in ep.items() if not k.startswith("_")}
        answer["ProductionVariants"] = self._variants(region, ep["EndpointConfigName"]) \
            if (region, ep["EndpointConfigName"]) in self.configs else []
        if ep["_pending"]:
            answer["PendingDeploymentSummary"] = {"EndpointConfigName": ep["_pending"], "StartTime": _now()}
        return answer

    def op_UpdateEndpoint(self, region, p):
        ep = self.endpoints.get((region, p["EndpointName"]))
        if ep is None:
            raise self._missing("endpoint", region, p["EndpointName"])
        if ep["EndpointStatus"] != "InService":
            raise AwsError("ValidationException", f"Cannot update in-progress endpoint \"{p['EndpointName']}\".")
        if (region, p["EndpointConfigName"]) not in self.configs:
            raise AwsError("ValidationException", f"Could not find endpoint configuration \"{p['EndpointConfigName']}\".")
        ep.update(EndpointStatus="Updating", _pending=p["EndpointConfigName"], _polls=0,
                  _deployment=p.get("DeploymentConfig"))
        return {"EndpointArn": ep["EndpointArn"]}

    def op_DeleteEndpoint(self, region, p):
        if self.endpoints.pop((region, p["EndpointName"]), None) is None:
            raise self._missing("endpoint", region, p["EndpointName"])

    def op_ListEndpoints(self, region, p):
        return {"Endpoints": [{"EndpointName": n, "EndpointArn": e["EndpointArn"], "CreationTime": e["CreationTime"],
                               "LastModifiedTime": e["LastModifiedTime"], "EndpointStatus": e["EndpointStatus"]}
                              for (r, n), e in sorted(self.endpoints.items())
                              if r == region and p.get("NameContains", "") in n]}

    # -- inference components ---------------------------------------------------------------------
    def op_CreateInferenceComponent(self, region, p):
        self._no_components(region)
        name = p["InferenceComponentName"]
        if (region, name) in self.components:
            raise AwsError("ValidationException", f"Cannot create already existing inference component \"{name}\".")
        ep = self.endpoints.get((region, p["EndpointName"]))
        if ep is None or ep["EndpointStatus"] != "InService":
            raise AwsError("ValidationException", f"Endpoint \"{p['EndpointName']}\" is not InService.")
        spec = p["Specification"]
        if spec.get("BaseInferenceComponentName"):
            self._check_adapter(region, p)
        elif (region, spec.get("ModelName")) not in self.models:
            raise AwsError("ValidationException", f"Could not find model \"{spec.get('ModelName')}\".")
        arn = self._arn(region, "inference-component", name)
        copies = (p.get("RuntimeConfig") or {}).get("CopyCount", 1)
        self.components[(region, name)] = {
            "InferenceComponentName": name, "InferenceComponentArn": arn, "EndpointName": p["EndpointName"],
            "EndpointArn": ep["EndpointArn"], "VariantName": p.get("VariantName"),
            "Specification": copy.deepcopy(p["Specification"]),
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
            "InferenceComponentStatus": "Creating", "CreationTime": _now(), "LastModifiedTime": _now(),
            "_polls": 0, "_pending": None}
        if spec.get("BaseInferenceComponentName"):
            del self.components[(region, name)]["RuntimeConfig"]  # copies are the base's
        return {"InferenceComponentArn": arn}

    def _check_adapter(self, region, p):
        """An adapter component (AWS's "adapter inference components"): an InService base component on the
        same endpoint that is not an adapter itself, the adapter's ArtifactUrl (a .tar.gz), no model and no
        compute of its own (it runs on the base's)."""
        spec = p["Specification"]
        base = self.components.get((region, spec["BaseInferenceComponentName"]))
        if base is None or base["EndpointName"] != p["EndpointName"]:
            raise AwsError("ValidationException", f"Could not find base inference component "
                                                  f"\"{spec['BaseInferenceComponentName']}\" on endpoint "
                                                  f"\"{p['EndpointName']}\".")
        if base["Specification"].get("BaseInferenceComponentName"):
            raise AwsError("ValidationException", "The base inference component is itself an adapter.")
        if base["InferenceComponentStatus"] != "InService":
            raise AwsError("ValidationException", "The base inference component is not InService.")
        if spec.get("ModelName") or spec.get("ComputeResourceRequirements") or p.get("RuntimeConfig"):
            raise AwsError("ValidationException", "An adapter inference component takes no ModelName, "
                                                  "ComputeResourceRequirements or RuntimeConfig.")
        if not str((spec.get("Container") or {}).get("ArtifactUrl") or "").endswith(".tar.gz"):
            raise AwsError("ValidationException", "Container.ArtifactUrl must point to a .tar.gz.")

    def op_DescribeInferenceComponent(self, region, p):
        self._no_components(region)
        ic = self.components.get((region, p["InferenceComponentName"]))
        if ic is None:
            raise self._missing("inference component", region, p["InferenceComponentName"])
        name = ic["InferenceComponentName"]
        ic["_polls"] += 1
        if ic["InferenceComponentStatus"] == "Creating" and ic["_polls"] > self.creating_polls:
            if name in self.fail_components:
                ic["InferenceComponentStatus"] = "Failed"
                ic["FailureReason"] = self.fail_components[name]
            else:
                ic["InferenceComponentStatus"] = "InService"
        elif ic["InferenceComponentStatus"] == "Updating" and ic["_polls"] > self.creating_polls:
            if name in self.fail_component_updates:
                ic["FailureReason"] = self.fail_component_updates[name]
            else:
                ic["Specification"] = ic["_pending"]["Specification"]
                if ic["_pending"].get("RuntimeConfig"):
                    copies = ic["_pending"]["RuntimeConfig"]["CopyCount"]
                    ic["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
                ic.pop("FailureReason", None)
            ic["InferenceComponentStatus"] = "InService"
            ic["_pending"] = None
        return {k: v for k, v in ic.items() if not k.startswith("_")}

    def op_UpdateInferenceComponent(self, region, p):
        self._no_components(region)
        ic = self.components.get((region, p["InferenceComponentName"]))
        if ic is None:
            raise self._missing("inference component", region, p["InferenceComponentName"])
        if ic["InferenceComponentStatus"] != "InService":
            raise AwsError("ValidationException", "Cannot update an inference component that is not InService.")
        spec = dict(ic["Specification"], **copy.deepcopy(p.get("Specification") or {}))
        if (region, spec.get("ModelName")) not in self.models:
            raise AwsError("ValidationException", f"Could not find model \"{spec.get('ModelName')}\".")
        ic.update(InferenceComponentStatus="Updating", _polls=0,
                  _pending={"Specification": spec, "RuntimeConfig": p.get("RuntimeConfig")})
        return {"InferenceComponentArn": ic["InferenceComponentArn"]}

    def op_UpdateInferenceComponentRuntimeConfig(self, region, p):
        ic = self.components.get((region, p["InferenceComponentName"]))
        if ic is None:
            raise self._missing("inference component", region, p["InferenceComponentName"])
        copies = p["DesiredRuntimeConfig"]["CopyCount"]
        ic["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
        return {"InferenceComponentArn": ic["InferenceComponentArn"]}

    def op_DeleteInferenceComponent(self, region, p):
        self._no_components(region)
        name = p["InferenceComponentName"]
        adapters = [n for (r, n), ic in self.components.items()
                    if r == region and ic["Specification"].get("BaseInferenceComponentName") == name]
        if adapters and self.refuse_base_with_adapters:
            raise AwsError("ValidationException", f"Inference component {p['InferenceComponentName']} has adapter "
                                                  f"inference components ({', '.join(adapters)}); delete them first.")
        if self.components.pop((region, p["InferenceComponentName"]), None) is None:
            raise self._missing("inference component", region, p["InferenceComponentName"])

    def op_ListInferenceComponents(self, region, p):
        self._no_components(region)
        return {"InferenceComponents": [
            {k: ic[k] for k in ("InferenceComponentName", "InferenceComponentArn", "EndpointName", "EndpointArn",
                                "VariantName", "InferenceComponentStatus", "CreationTime", "LastModifiedTime")}
            for (r, n), ic in sorted(self.components.items())
            if r == region and p.get("NameContains", "") in n
            and p.get("EndpointNameEquals", ic["EndpointName"]) == ic["EndpointName"]]}

    # -- Service Quotas -----------------------------------------------------------------------------
    def _quota_list(self):
        if self.quotas is not None:
            return sorted(self.quotas.items())
        from aws import botocore_check  # its model, read once per process

        enum = botocore_check.service_model("sagemaker").shape_for("ProductionVariantInstanceType").enum
        return [(f"{t} for endpoint usage", 4.0) for t in enum]

    def op_ListServiceQuotas(self, region, p):
        if self.quota_error:
            raise AwsError(self.quota_error, "User is not authorized to perform servicequotas:ListServiceQuotas")
        quotas = self._quota_list()
        start = int(p.get("NextToken") or 0)
        size = p.get("MaxResults") or 100
        page = [{"ServiceCode": "sagemaker", "ServiceName": "Amazon SageMaker", "QuotaName": name,
                 "QuotaCode": f"L-{abs(hash(name)) % 10**8:08d}", "Value": value, "Unit": "None"}
                for name, value in quotas[start:start + size]]
        answer = {"Quotas": page}
        if start + size < len(quotas):
            answer["NextToken"] = str(start + size)
        return answer

    # -- Application Auto Scaling ------------------------------------------------------------------
    def _check_target(self, region, resource, dimension):
        if dimension == "sagemaker:inference-component:DesiredCopyCount":
            name = resource.split("/", 1)[1]
            if (region, name) not in self.components:
                raise AwsError("ValidationException", f"Inference component {name} does not exist.")
        elif dimension == "sagemaker:variant:DesiredInstanceCount":
            name = resource.split("/")[1]
            if (region, name) not in self.endpoints:
                raise AwsError("ValidationException", f"Endpoint {name} does not exist.")

    def op_RegisterScalableTarget(self, region, p):
        self._check_target(region, p["ResourceId"], p["ScalableDimension"])
        key = (region, p["ResourceId"], p["ScalableDimension"])
        target = self.targets.get(key, {})
        target.update({k: v for k, v in p.items()}, CreationTime=_now(),
                      ScalableTargetARN=f"arn:aws:application-autoscaling:{region}:{ACCOUNT}:scalable-target/"
                                        f"{abs(hash(key)) % 10**12}")
        self.targets[key] = target
        return {"ScalableTargetARN": target["ScalableTargetARN"]}

    def op_DescribeScalableTargets(self, region, p):
        ids = p.get("ResourceIds")
        return {"ScalableTargets": [copy.deepcopy(t) for (r, rid, dim), t in sorted(self.targets.items())
                                    if r == region and (not ids or rid in ids)
                                    and p.get("ScalableDimension", dim) == dim]}

    def op_DeregisterScalableTarget(self, region, p):
        key = (region, p["ResourceId"], p["ScalableDimension"])
        if self.targets.pop(key, None) is None:
            raise AwsError("ObjectNotFoundException", "No scalable target registered for service namespace.")
        for pkey in [k for k in self.policies if k[:3] == key]:
            del self.policies[pkey]

    def op_PutScalingPolicy(self, region, p):
        key = (region, p["ResourceId"], p["ScalableDimension"])
        if key not in self.targets:
            raise AwsError("ObjectNotFoundException", f"No scalable target registered for {p['ResourceId']}.")
        arn = (f"arn:aws:autoscaling:{region}:{ACCOUNT}:scalingPolicy:{abs(hash(key)) % 10**8}:resource/sagemaker/"
               f"{p['ResourceId']}:policyName/{p['PolicyName']}")
        self.policies[key + (p["PolicyName"],)] = dict(p, PolicyARN=arn, CreationTime=_now(), Alarms=[])
        return {"PolicyARN": arn, "Alarms": []}

    def op_DescribeScalingPolicies(self, region, p):
        return {"ScalingPolicies": [copy.deepcopy(v) for (r, rid, dim, _), v in sorted(self.policies.items())
                                    if r == region and p.get("ResourceId", rid) == rid
                                    and p.get("ScalableDimension", dim) == dim
                                    and (not p.get("PolicyNames") or v["PolicyName"] in p["PolicyNames"])]}

    def op_DeleteScalingPolicy(self, region, p):
        key = (region, p["ResourceId"], p["ScalableDimension"], p["PolicyName"])
        if self.policies.pop(key, None) is None:
            raise AwsError("ObjectNotFoundException", f"No scaling policy found for {p['PolicyName']}.")
