"""`autoscale`: the instances of a plain endpoint, or the copies of an inference component.

Registers the endpoint with Application Auto Scaling and adds a target-tracking policy:
  - a real-time endpoint: its instances (sagemaker:variant:DesiredInstanceCount);
  - an inference component: its copies (sagemaker:inference-component:DesiredCopyCount);
    managed instance scaling adds and removes the instances that hold them. With --min 0
    the copies, then the instances, go to zero when idle; a request at zero fails with
    "no capacity" and wakes a copy through a step-scaling policy on the
    NoCapacityInvocationFailures alarm, as AWS documents;
  - an asynchronous endpoint: its instances, on the queue per instance
    (ApproximateBacklogSizePerInstance); with --min 0 a queued request wakes an instance
    (step scaling on the HasBacklogWithoutCapacity alarm, as AWS documents).
Cool-downs come from model.lock.json's container startup timeout.
"""
from __future__ import annotations

import argparse
import re

from botocore.exceptions import ClientError

from . import endpoints
from .errors import DeployError, aws_message, code
from .invoke_cmd import add_component_option
from .naming import scaling_names
from .ui import info, log

NAMESPACE = "sagemaker"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
DEFAULT_TARGETS = {"concurrency": 8.0, "invocations": 20.0, "backlog": 5.0}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "autoscale", help="autoscale the endpoint's instances or the component's copies (incl. scale to zero)",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint-name", help="endpoint (default: the project name)")
    add_component_option(p, "the component to scale (default: the endpoint's only one)")
    p.add_argument("--metric", default=None, metavar="KIND",
                   help="what to hold at --target (default: concurrency, or backlog for an asynchronous "
                        "endpoint): requests in flight per instance or copy, requests per minute per instance "
                        "or copy, or queued requests per instance (async only)")
    p.add_argument("--target", default=None, metavar="N",
                   help="the value to hold it at (default: 8 for concurrency, 20 for invocations, 5 for "
                        "backlog; starting points, tune them to the load one copy carries)")
    p.add_argument("--min", dest="min_capacity", default="1", metavar="N",
                   help="fewest instances or copies (default 1; 0 = scale to zero: inference components and "
                        "asynchronous endpoints)")
    p.add_argument("--max", dest="max_capacity", default="2", metavar="N", help="most instances or copies (default 2)")
    p.add_argument("--off", action="store_true", help="remove the autoscaling of the endpoint or component")
    p.set_defaults(handler=run)


def check_options(args) -> None:
    """Mistakes in the options: one error, before any AWS call. Sets args.target (a number or
    None), args.min_capacity and args.max_capacity (whole numbers)."""
    if args.metric not in (None, "concurrency", "invocations", "backlog"):
        raise DeployError(f"--metric wants concurrency, invocations or backlog, got '{args.metric}'")
    if args.target is not None:
        text = str(args.target)
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) or float(text) <= 0:
            raise DeployError(f"--target wants a positive number, got '{text}'")
        args.target = float(text)
    lo, hi = str(args.min_capacity), str(args.max_capacity)
    if not lo.isdigit():
        raise DeployError(f"--min wants a whole number, got '{lo}'")
    if not hi.isdigit() or int(hi) < 1:
        raise DeployError(f"--max wants a whole number of at least 1, got '{hi}'")
    args.min_capacity, args.max_capacity = int(lo), int(hi)
    if args.min_capacity > args.max_capacity:
        raise DeployError(f"--min {lo} is more than --max {hi}")


def _metric_type(mode: str, metric: str) -> str:
    if mode == "ic":
        return {"concurrency": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
                "invocations": "SageMakerInferenceComponentInvocationsPerCopy"}[metric]
    return {"concurrency": "SageMakerVariantConcurrentRequestsPerModelHighResolution",
            "invocations": "SageMakerVariantInvocationsPerInstance",
            "backlog": "ApproximateBacklogSizePerInstance"}[metric]  # backlog: a CloudWatch metric


def tracking_config(metric_type: str, target: float, startup: int, endpoint: str) -> dict:
    # New capacity gets the container's startup time to come up before more is added; none is
    # removed sooner than it would take to bring it back.
    config = {"TargetValue": float(target), "ScaleOutCooldown": int(startup), "ScaleInCooldown": int(startup)}
    if metric_type == "ApproximateBacklogSizePerInstance":  # asynchronous endpoints: the queue per instance
        config["CustomizedMetricSpecification"] = {
            "MetricName": metric_type, "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint}], "Statistic": "Average"}
    else:
        config["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric_type}
    return config


def remove_wake(aas, cloudwatch, resource: str, dimension: str, names: dict) -> None:
    """The step policy and alarm that bring copies back from zero."""
    alarms = cloudwatch.describe_alarms(AlarmNames=[names["wake_alarm"]]).get("MetricAlarms") or []
    if alarms:
        cloudwatch.delete_alarms(AlarmNames=[names["wake_alarm"]])
        info(f"deleted alarm {names['wake_alarm']}")
    policies = aas.describe_scaling_policies(ServiceNamespace=NAMESPACE, ResourceId=resource,
                                             ScalableDimension=dimension,
                                             PolicyNames=[names["wake_policy"]]).get("ScalingPolicies") or []
    if any(p["PolicyName"] == names["wake_policy"] for p in policies):
        aas.delete_scaling_policy(ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=dimension,
                                  PolicyName=names["wake_policy"])
        info(f"deleted scaling policy {names['wake_policy']}")


def turn_off(aas, cloudwatch, resource: str, dimension: str, names: dict, can_wake: bool, unit: str) -> None:
    if can_wake:
        remove_wake(aas, cloudwatch, resource, dimension, names)
    policies = aas.describe_scaling_policies(ServiceNamespace=NAMESPACE, ResourceId=resource,
                                             ScalableDimension=dimension).get("ScalingPolicies") or []
    for policy in policies:
        aas.delete_scaling_policy(ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=dimension,
                                  PolicyName=policy["PolicyName"])
        info(f"deleted scaling policy {policy['PolicyName']}")
    targets = aas.describe_scalable_targets(ServiceNamespace=NAMESPACE, ResourceIds=[resource],
                                            ScalableDimension=dimension).get("ScalableTargets") or []
    if targets:
        aas.deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=dimension)
        info(f"autoscaling of {resource} is off; its {unit} stay at their current number")
    else:
        info(f"{resource} had no autoscaling")


def run(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    check_options(args)
    dep = lock.get("deployment") or {}
    startup = lock.number("deployment.container_startup_health_check_timeout_s") or 600
    endpoint = lock.endpoint_name(args.endpoint_name)
    aws = ctx.aws
    aws.identity()
    facts = endpoints.endpoint_facts(aws, endpoint)
    if facts is None:
        raise DeployError(f"endpoint '{endpoint}' does not exist; deploy it with python -m deploy deploy")
    mode = facts.mode

    metric = args.metric
    if mode == "async":
        metric = metric or "backlog"
        if metric != "backlog":
            raise DeployError(f"endpoint '{endpoint}' is asynchronous: it scales on its queue (--metric backlog), "
                              f"not on {metric}")
    elif metric == "backlog":
        raise DeployError("--metric backlog is for asynchronous endpoints (python -m deploy deploy --async); "
                          f"'{endpoint}' is not one")
    metric = metric or "concurrency"
    target = args.target if args.target is not None else DEFAULT_TARGETS[metric]
    metric_type = _metric_type(mode, metric)

    if mode == "ic":
        component = endpoints.pick_ic(aws, endpoint, args.inference_component or None)
        name, unit = component, "copies"
        resource, dimension = f"inference-component/{component}", IC_DIMENSION
    else:
        if args.inference_component is not None:
            raise DeployError(f"endpoint '{endpoint}' hosts no inference components "
                              "(deployed without --inference-component)")
        component = None
        name, unit = endpoint, "instances"
        resource, dimension = f"endpoint/{endpoint}/variant/AllTraffic", VARIANT_DIMENSION
    # Only components and asynchronous endpoints come back from zero (a step policy and its alarm).
    can_wake = mode in ("ic", "async")
    names = scaling_names(name)
    aas = aws.client("application-autoscaling")
    cloudwatch = aws.client("cloudwatch")

    if args.off:
        turn_off(aas, cloudwatch, resource, dimension, names, can_wake, unit)
        return 0

    if facts.status != "InService":
        raise DeployError(f"endpoint '{endpoint}' is {facts.status}; autoscaling can be set once it is "
                          "InService (see python -m deploy status)")
    lo, hi = args.min_capacity, args.max_capacity
    if mode == "ic":
        variant = (facts.variants or [{}])[0]
        managed = variant.get("ManagedInstanceScaling") or {}
        itype = variant.get("InstanceType") or "-"
        per_instance = 1
        gpus, tp = dep.get("gpu_count"), dep.get("tensor_parallel_size")
        if itype == dep.get("instance_type") and isinstance(gpus, int) and isinstance(tp, int) and tp > 0:
            per_instance = max(1, gpus // tp)
        most = managed.get("MaxInstanceCount")
        if isinstance(most, int) and hi > most * per_instance:
            need = -(-hi // per_instance)
            copies = "copy" if per_instance == 1 else "copies"
            raise DeployError(
                f"--max {hi} copies need {need} instance(s) of {itype} ({per_instance} {copies} each), but "
                f"endpoint {endpoint} may run at most {most}. Lower --max to {most * per_instance}, or redeploy "
                f"with python -m deploy deploy --inference-component --max-instances {need}.")
        if lo == 0 and managed.get("MinInstanceCount") != 0:
            raise DeployError(
                f"endpoint {endpoint} keeps at least {managed.get('MinInstanceCount', '-')} instance(s) "
                "(ManagedInstanceScaling MinInstanceCount), so --min 0 would still pay for them; redeploy it with "
                "python -m deploy deploy --inference-component, which allows zero")
    elif lo == 0 and not can_wake:
        raise DeployError("a real-time endpoint keeps at least one instance; scale to zero needs an inference "
                          "component: redeploy with python -m deploy deploy --inference-component, then run "
                          "python -m deploy autoscale --min 0")

    info(f"registering {resource}: {lo} to {hi} {unit}")
    try:
        aas.register_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=dimension,
                                     MinCapacity=lo, MaxCapacity=hi)
    except ClientError as exc:
        if code(exc) == "LimitExceededException":
            raise DeployError(f"an Application Auto Scaling quota stops this (AWS: {aws_message(exc)}); ask "
                              "for more in Service Quotas or remove unused scalable targets") from None
        raise
    info(f"target tracking: {metric_type} at {target}, cool-downs {startup}s")
    aas.put_scaling_policy(PolicyName=names["tracking_policy"], ServiceNamespace=NAMESPACE, ResourceId=resource,
                           ScalableDimension=dimension, PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration=tracking_config(metric_type, target, startup,
                                                                                    endpoint))

    if can_wake and lo == 0:
        # Target tracking cannot leave zero (nothing emits its metric there). AWS's recipe: a step
        # policy that adds one, on an alarm that fires at zero capacity -- components: failed
        # requests (NoCapacityInvocationFailures,
        # https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html);
        # async: queued requests (HasBacklogWithoutCapacity,
        # https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html).
        # Its cool-down is the startup timeout, not AWS's example 60 s: the alarm stays on while
        # the first copy starts, and each minute would add another.
        if mode == "ic":
            aggregation = "Maximum"
            alarm = {"MetricName": "NoCapacityInvocationFailures",
                     "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
                     "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
                     "AlarmDescription": f"Wakes inference component {component} from zero copies "
                                         "(python -m deploy autoscale)"}
        else:
            aggregation = "Average"
            alarm = {"MetricName": "HasBacklogWithoutCapacity",
                     "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                     "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2, "DatapointsToAlarm": 2,
                     "TreatMissingData": "missing",
                     "AlarmDescription": f"Wakes asynchronous endpoint {endpoint} from zero instances "
                                         "(python -m deploy autoscale)"}
        step = {"AdjustmentType": "ChangeInCapacity", "MetricAggregationType": aggregation, "Cooldown": startup,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
        policy_arn = aas.put_scaling_policy(
            PolicyName=names["wake_policy"], ServiceNamespace=NAMESPACE, ResourceId=resource,
            ScalableDimension=dimension, PolicyType="StepScaling", StepScalingPolicyConfiguration=step)["PolicyARN"]
        # At or above 1 (AWS's example for components says above 1): the first request wakes it.
        cloudwatch.put_metric_alarm(AlarmName=names["wake_alarm"], Namespace="AWS/SageMaker", Threshold=1,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[policy_arn],
                                    **alarm)
        if mode == "ic":
            info("scale to zero: idle copies go to 0, then the instances; the first request after that "
                        "fails with 'no capacity' and wakes a copy")
            log(f"   expect a cold start of several minutes: an instance to provision, then up to {startup}s "
                       "for the container to load the model (model.lock.json's startup timeout); requests fail "
                       "until it answers")
        else:
            info("scale to zero: an idle endpoint goes to 0 instances; requests queue in S3 meanwhile and "
                        "the first one wakes an instance")
            log(f"   expect queued requests to wait several minutes: an instance to provision, then up to "
                       f"{startup}s for the container to load the model (model.lock.json's startup timeout)")
    elif can_wake:
        remove_wake(aas, cloudwatch, resource, dimension, names)
    info(f"autoscaling of {resource}: {lo} to {hi} {unit} on {metric} ({target}); "
                "see python -m deploy status")
    return 0
