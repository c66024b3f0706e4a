"""``python -m deploy status``: the endpoint's state and what it runs.

Prints the endpoint's status, failure reason, hosting mode, instance type, the image that serves
(and the one an update is rolling out), the Model Registry version it serves (deploy
--model-package), where the weights come from, its inference components
(copies and what each reserves) and its autoscaling (range, policies, cool-downs).
Exit status: 0 InService, 3 no such endpoint, 4 Failed, 5 any other state.
"""
from __future__ import annotations

import argparse
import datetime
import json

from botocore.exceptions import ClientError

from . import endpoints
from .registry_cmd import serving_package
from .ui import log

EXIT = {"InService": 0, "Failed": 4}


def register(subparsers) -> None:
    p = subparsers.add_parser("status", help="the endpoint's state, image, components and autoscaling",
                              description=__doc__.split(": ", 1)[1][:1].upper() + __doc__.split(": ", 1)[1][1:],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint-name", metavar="NAME", help="endpoint (default: the project's)")
    p.add_argument("--json", action="store_true", help="print DescribeEndpoint's JSON instead")
    p.set_defaults(handler=run)


def _when(value) -> str | None:
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    return value


def _num(value) -> str:
    """1.0 -> '1' (the API's float GPU count), None -> '?'."""
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return "?"


def run(ctx) -> int:
    aws, lock = ctx.aws, ctx.lock
    name = lock.endpoint_name(ctx.args.endpoint_name)
    aws.identity()
    facts = endpoints.endpoint_facts(aws, name)
    if facts is None:
        log(f"endpoint {name} does not exist (region {aws.region})")
        return 3
    if ctx.args.json:
        print(json.dumps(facts.endpoint, indent=2, default=str))
        return EXIT.get(facts.status, 5)
    sm = aws.client("sagemaker")
    ep, cfg = facts.endpoint, facts.config
    ics = []
    if facts.mode == "ic":
        ics = [ic for ic in (endpoints.describe(aws, "inference-component", n) for n in endpoints.endpoint_ics(aws, name))
               if ic]
    model_names = facts.models + [(ic.get("Specification") or {}).get("ModelName") for ic in ics]
    model_name = next((n for n in model_names if n), None)
    model = endpoints.describe(aws, "model", model_name) if model_name else None
    model = model or {}
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    # A model made from a Model Registry version (deploy --model-package): the package holds image and weights.
    package, package_container = serving_package(aws, container.get("ModelPackageName"))
    if package:
        container = {**package_container, **{k: v for k, v in container.items() if v}}
    variant = (facts.variants or [{}])[0]
    live = (ep.get("ProductionVariants") or [{}])[0]
    source = ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
    managed = variant.get("ManagedInstanceScaling") or {}
    output = (cfg.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}
    pending_config = (ep.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    pending_image = None
    if pending_config and pending_config != facts.config_name:
        pending = endpoints.describe(aws, "endpoint-config", pending_config) or {}
        pending_models = [v.get("ModelName") for v in pending.get("ProductionVariants") or [] if v.get("ModelName")]
        pending_image = next((endpoints.model_image(aws, m) for m in pending_models), None)
    rows = [
        ("endpoint", f"{ep.get('EndpointName')} ({aws.region})"),
        ("status", ep.get("EndpointStatus")),
        ("failure reason", ep.get("FailureReason")),
        ("mode", {"ic": "inference components", "async": "asynchronous", "model": "real-time"}[facts.mode]),
        ("created", _when(ep.get("CreationTime"))),
        ("last modified", _when(ep.get("LastModifiedTime"))),
        ("endpoint config", ep.get("EndpointConfigName")),
        ("updating to", f"{pending_config}{' (image ' + pending_image + ')' if pending_image else ''}"
         if pending_config and pending_config != facts.config_name else None),
        ("model", model.get("ModelName") or variant.get("ModelName")),
        ("model package", package),
        ("image", container.get("Image")),
        ("weights", source or ("Hugging Face Hub at start" if container else None)),
        ("instance type", variant.get("InstanceType")),
        ("host AMI", variant.get("InferenceAmiVersion")),
        ("instances", f"{live.get('CurrentInstanceCount', '?')} of "
                      f"{live.get('DesiredInstanceCount', variant.get('InitialInstanceCount', '?'))}"),
        ("instance range", f"{managed.get('MinInstanceCount')} to {managed.get('MaxInstanceCount')} (managed)"
         if managed else None),
        ("startup timeout", variant.get("ContainerStartupHealthCheckTimeoutInSeconds")),
        ("download timeout", variant.get("ModelDataDownloadTimeoutInSeconds")),
        ("volume (GB)", variant.get("VolumeSizeInGB")),
        ("async answers", output.get("S3OutputPath")),
        ("async failures", output.get("S3FailurePath")),
        ("environment keys", ", ".join(sorted((container.get("Environment") or {}).keys())) or None),
    ]
    resources = [f"endpoint/{name}/variant/AllTraffic"]
    for ic in ics:
        spec = ic.get("Specification") or {}
        need = spec.get("ComputeResourceRequirements") or {}
        runtime = ic.get("RuntimeConfig") or {}
        ic_image = endpoints.model_image(aws, spec["ModelName"]) if spec.get("ModelName") else None
        rows += [
            ("component", f"{ic.get('InferenceComponentName')}: {ic.get('InferenceComponentStatus')}"),
            ("  model", f"{spec.get('ModelName')}{' (image ' + ic_image + ')' if ic_image else ''}"
             if spec.get("ModelName") else None),
            ("  copies", f"{runtime.get('CurrentCopyCount', '?')} of {runtime.get('DesiredCopyCount', '?')}"
             if not spec.get("BaseInferenceComponentName") else None),
            ("  per copy", f"{_num(need.get('NumberOfAcceleratorDevicesRequired'))} GPU(s), "
                           f"{need.get('MinMemoryRequiredInMb', '?')} MB host memory"
             if not spec.get("BaseInferenceComponentName") else None),
            # An adapter component (python -m deploy adapter): a LoRA adapter on its base's GPUs.
            ("  adapter of", spec.get("BaseInferenceComponentName")),
            ("  artifact", (spec.get("Container") or {}).get("ArtifactUrl") if spec.get("BaseInferenceComponentName")
             else None),
            ("  failure reason", ic.get("FailureReason")),
        ]
        resources.append(f"inference-component/{ic.get('InferenceComponentName')}")
    rows += scaling_rows(sm, aws, resources)
    for key, value in rows:
        if value not in (None, ""):
            print(f"{key:>17}: {value}")
    return EXIT.get(facts.status, 5)


def scaling_rows(sm, aws, resources: list[str]) -> list[tuple[str, str]]:
    aas = aws.client("application-autoscaling")
    try:
        targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=resources)
        policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")
    except ClientError as exc:
        return [("autoscaling", f"unknown (AWS {exc.response.get('Error', {}).get('Code')})")]
    by_resource: dict[str, list] = {}
    for policy in policies.get("ScalingPolicies") or []:
        by_resource.setdefault(policy.get("ResourceId"), []).append(policy)
    rows = []
    for target in targets.get("ScalableTargets") or []:
        rid = target.get("ResourceId") or ""
        unit = "copies" if rid.startswith("inference-component/") else "instances"
        rows.append(("autoscaling", f"{rid}: {target.get('MinCapacity')} to {target.get('MaxCapacity')} {unit}"))
        for policy in by_resource.get(rid, []):
            tt = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
            if tt:
                metric = (tt.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "custom metric")
                rows.append(("  policy", f"{policy.get('PolicyName')}: {metric} at {tt.get('TargetValue')}, "
                                         f"cool-downs out {tt.get('ScaleOutCooldown')}s / in "
                                         f"{tt.get('ScaleInCooldown')}s"))
            else:
                alarms = ", ".join(a.get("AlarmName", "") for a in policy.get("Alarms") or []) or "its alarm"
                rows.append(("  policy", f"{policy.get('PolicyName')}: {policy.get('PolicyType')} (wakes from zero "
                                         f"on {alarms})"))
    return rows or [("autoscaling", "off (`python -m deploy autoscale` turns it on)")]
