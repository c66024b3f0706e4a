#!/usr/bin/env bash
# Autoscaling: the instances of a plain endpoint, or the copies of an inference component.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/autoscale.sh [options]

Registers the endpoint with Application Auto Scaling and adds a target-tracking
policy, so capacity follows load:
  - a real-time endpoint (deploy/deploy.sh): its instances
    (sagemaker:variant:DesiredInstanceCount);
  - an inference component (deploy/deploy.sh --inference-component): its model
    copies (sagemaker:inference-component:DesiredCopyCount); managed instance
    scaling adds and removes the instances that hold them. With --min 0 the
    copies, and then the instances, go to zero when idle; a request at zero
    fails with a "no capacity" error and wakes a copy through a step-scaling
    policy on the NoCapacityInvocationFailures alarm, as AWS documents;
  - an asynchronous endpoint (deploy/deploy.sh --async): its instances, on the
    queue per instance (ApproximateBacklogSizePerInstance); with --min 0 a
    queued request wakes an instance (step scaling on the
    HasBacklogWithoutCapacity alarm, as AWS documents).
Cool-downs come from model.lock.json's container startup timeout: new capacity
gets that long to come up before more is added, and none is removed sooner
than it would take to bring it back. Running the script again replaces the
settings; deploy/status.sh shows them; deploy/cleanup.sh removes them.

Options:
  --endpoint-name NAME   endpoint (default: project name)
  --inference-component-name NAME
                         the component to scale (default: the endpoint's only one)
  --metric KIND          what to hold at --target (default: concurrency, or
                         backlog for an asynchronous endpoint):
                           concurrency  requests in flight per instance or copy
                           invocations  requests per minute per instance or copy
                           backlog      queued requests per instance (async only)
  --target N             the value to hold it at (default: 8 for concurrency,
                         20 for invocations, 5 for backlog; starting points,
                         tune them to the load one copy carries in your
                         measurements)
  --min N                fewest instances or copies (default 1; 0 = scale to
                         zero: inference components and asynchronous endpoints)
  --max N                most instances or copies (default 2)
  --off                  remove the autoscaling of the endpoint or component
  -h, --help             show this help
USAGE
}

metric=""
target=""
min_capacity=1
max_capacity=2
ic_wanted=""
turn_off=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --inference-component-name) [[ $# -ge 2 ]] || die "--inference-component-name needs a value"; ic_wanted="$2"; shift 2 ;;
    --metric) [[ $# -ge 2 ]] || die "--metric needs concurrency, invocations or backlog"; metric="$2"; shift 2 ;;
    --target) [[ $# -ge 2 ]] || die "--target needs a number"; target="$2"; shift 2 ;;
    --min) [[ $# -ge 2 ]] || die "--min needs a number"; min_capacity="$2"; shift 2 ;;
    --max) [[ $# -ge 2 ]] || die "--max needs a number"; max_capacity="$2"; shift 2 ;;
    --off) turn_off=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

case "$metric" in
  ""|concurrency|invocations|backlog) ;;
  *) die "--metric wants concurrency, invocations or backlog, got '$metric'" ;;
esac
if [[ -n "$target" ]] && [[ ! "$target" =~ ^[0-9]+(\.[0-9]+)?$ || "$target" =~ ^0+(\.0*)?$ ]]; then
  die "--target wants a positive number, got '$target'"
fi
[[ "$min_capacity" =~ ^[0-9]+$ ]] || die "--min wants a whole number, got '$min_capacity'"
if [[ ! "$max_capacity" =~ ^[0-9]+$ ]] || (( 10#$max_capacity < 1 )); then
  die "--max wants a whole number of at least 1, got '$max_capacity'"
fi
(( 10#$min_capacity <= 10#$max_capacity )) || die "--min $min_capacity is more than --max $max_capacity"
min_capacity=$((10#$min_capacity))
max_capacity=$((10#$max_capacity))

load_project
startup="$(lock_get deployment.container_startup_health_check_timeout_s)" || exit 1
startup="${startup:-600}"
gpu_count="$(lock_get deployment.gpu_count)" || exit 1
tp_size="$(lock_get deployment.tensor_parallel_size)" || exit 1
lock_instance="$(lock_get deployment.instance_type)" || exit 1
check_aws

endpoint_facts "$ENDPOINT_NAME"
[[ -n "$EP_STATUS" ]] || die "endpoint '$ENDPOINT_NAME' does not exist; deploy it with deploy/deploy.sh"

if [[ "$EP_MODE" == "async" ]]; then
  metric="${metric:-backlog}"
  [[ "$metric" == "backlog" ]] || die "endpoint '$ENDPOINT_NAME' is asynchronous: it scales on its queue (--metric backlog), not on $metric"
elif [[ "$metric" == "backlog" ]]; then
  die "--metric backlog is for asynchronous endpoints (deploy/deploy.sh --async); '$ENDPOINT_NAME' is not one"
fi
metric="${metric:-concurrency}"
case "$metric" in
  concurrency) target="${target:-8}" ;;
  invocations) target="${target:-20}" ;;
  backlog) target="${target:-5}" ;;
esac
metric_type=""
if [[ "$EP_MODE" == "ic" ]]; then
  pick_ic "$ENDPOINT_NAME" "$ic_wanted"
  name="$IC_NAME"
  unit="copies"
  resource="inference-component/$IC_NAME"
  dimension="sagemaker:inference-component:DesiredCopyCount"
  case "$metric" in
    concurrency) metric_type="SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution" ;;
    invocations) metric_type="SageMakerInferenceComponentInvocationsPerCopy" ;;
  esac
else
  [[ -z "$ic_wanted" ]] || die "endpoint '$ENDPOINT_NAME' hosts no inference components (deployed without --inference-component)"
  name="$ENDPOINT_NAME"
  unit="instances"
  resource="endpoint/$ENDPOINT_NAME/variant/AllTraffic"
  dimension="sagemaker:variant:DesiredInstanceCount"
  case "$metric" in
    concurrency) metric_type="SageMakerVariantConcurrentRequestsPerModelHighResolution" ;;
    invocations) metric_type="SageMakerVariantInvocationsPerInstance" ;;
    backlog) metric_type="ApproximateBacklogSizePerInstance" ;;  # a CloudWatch metric, not a predefined one
  esac
fi
# Only components and asynchronous endpoints come back from zero (a step policy and its alarm).
can_wake=0
[[ "$EP_MODE" != "ic" && "$EP_MODE" != "async" ]] || can_wake=1
scaling_names "$name"
tracking_policy="$TRACKING_POLICY"
wake_policy="$WAKE_POLICY"
wake_alarm="$WAKE_ALARM"

out=""
err=""
policy_arn=""
# remove_wake: the step policy and alarm that bring copies back from zero.
remove_wake() {
  if aws_try out err cloudwatch describe-alarms --alarm-names "$wake_alarm" \
      --query 'MetricAlarms[].AlarmName' --output text && [[ -n "${out//None/}" ]]; then
    awsr cloudwatch delete-alarms --alarm-names "$wake_alarm" || die "could not delete alarm $wake_alarm"
    info "deleted alarm $wake_alarm"
  fi
  if aws_try out err application-autoscaling describe-scaling-policies --service-namespace sagemaker \
      --resource-id "$resource" --scalable-dimension "$dimension" --policy-names "$wake_policy" \
      --query "ScalingPolicies[?PolicyName=='$wake_policy'].PolicyName" --output text && [[ -n "${out//None/}" ]]; then
    awsr application-autoscaling delete-scaling-policy --service-namespace sagemaker --resource-id "$resource" \
      --scalable-dimension "$dimension" --policy-name "$wake_policy" || die "could not delete policy $wake_policy"
    info "deleted scaling policy $wake_policy"
  fi
}

if [[ $turn_off -eq 1 ]]; then
  [[ $can_wake -eq 0 ]] || remove_wake
  aws_try out err application-autoscaling describe-scaling-policies --service-namespace sagemaker \
    --resource-id "$resource" --scalable-dimension "$dimension" --query 'ScalingPolicies[].PolicyName' --output text \
    || die "aws application-autoscaling describe-scaling-policies failed: $err"
  for policy in ${out//None/}; do
    awsr application-autoscaling delete-scaling-policy --service-namespace sagemaker --resource-id "$resource" \
      --scalable-dimension "$dimension" --policy-name "$policy" || die "could not delete policy $policy"
    info "deleted scaling policy $policy"
  done
  aws_try out err application-autoscaling describe-scalable-targets --service-namespace sagemaker \
    --resource-ids "$resource" --scalable-dimension "$dimension" --query 'ScalableTargets[].ResourceId' --output text \
    || die "aws application-autoscaling describe-scalable-targets failed: $err"
  if [[ -n "${out//None/}" ]]; then
    awsr application-autoscaling deregister-scalable-target --service-namespace sagemaker --resource-id "$resource" \
      --scalable-dimension "$dimension" || die "could not deregister $resource"
    info "autoscaling of $resource is off; its $unit stay at their current number"
  else
    info "$resource had no autoscaling"
  fi
  exit 0
fi

[[ "$EP_STATUS" == "InService" ]] || die "endpoint '$ENDPOINT_NAME' is $EP_STATUS; autoscaling can be set once it is InService (see deploy/status.sh)"
if [[ "$EP_MODE" == "ic" ]]; then
  # The copies must fit on the instances managed instance scaling may start.
  read -r ep_itype ep_min_instances ep_max_instances < <(python3 -c '
import json, sys
v = (json.loads(sys.argv[1]).get("ProductionVariants") or [{}])[0]
m = v.get("ManagedInstanceScaling") or {}
print(v.get("InstanceType") or "-", m.get("MinInstanceCount", "-"), m.get("MaxInstanceCount", "-"))' "$EP_CONFIG_JSON")
  per_instance=1
  if [[ "$ep_itype" == "$lock_instance" && "$gpu_count" =~ ^[0-9]+$ && "$tp_size" =~ ^[1-9][0-9]*$ ]]; then
    per_instance=$(( gpu_count / tp_size ))
    (( per_instance >= 1 )) || per_instance=1
  fi
  if [[ "$ep_max_instances" =~ ^[0-9]+$ ]] && (( max_capacity > ep_max_instances * per_instance )); then
    die "--max $max_capacity copies need $(( (max_capacity + per_instance - 1) / per_instance )) instance(s) of $ep_itype ($per_instance cop$([[ $per_instance -eq 1 ]] && echo y || echo ies) each), but endpoint $ENDPOINT_NAME may run at most $ep_max_instances. Lower --max to $(( ep_max_instances * per_instance )), or redeploy with deploy/deploy.sh --inference-component --max-instances $(( (max_capacity + per_instance - 1) / per_instance ))."
  fi
  if (( min_capacity == 0 )) && [[ "$ep_min_instances" != "0" ]]; then
    die "endpoint $ENDPOINT_NAME keeps at least $ep_min_instances instance(s) (ManagedInstanceScaling MinInstanceCount), so --min 0 would still pay for them; redeploy it with deploy/deploy.sh --inference-component, which allows zero"
  fi
elif (( min_capacity == 0 )) && [[ $can_wake -eq 0 ]]; then
  die "a real-time endpoint keeps at least one instance; scale to zero needs an inference component: redeploy with deploy/deploy.sh --inference-component, then run deploy/autoscale.sh --min 0"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/tracking.json" "$metric_type" "$target" "$startup" "$ENDPOINT_NAME" <<'PY'
import json, sys
out, metric_type, target, startup, endpoint = sys.argv[1:]
# New capacity gets the container's startup time to come up before more is added;
# none is removed sooner than it would take to bring it back.
config = {"TargetValue": float(target), "ScaleOutCooldown": int(startup), "ScaleInCooldown": int(startup)}
if metric_type == "ApproximateBacklogSizePerInstance":  # asynchronous endpoints: the queue per instance
    config["CustomizedMetricSpecification"] = {
        "MetricName": metric_type, "Namespace": "AWS/SageMaker",
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint}], "Statistic": "Average"}
else:
    config["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric_type}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(config, fh)
PY

info "registering $resource: $min_capacity to $max_capacity $unit"
if ! aws_try out err application-autoscaling register-scalable-target --service-namespace sagemaker \
    --resource-id "$resource" --scalable-dimension "$dimension" \
    --min-capacity "$min_capacity" --max-capacity "$max_capacity"; then
  if grep -q 'LimitExceeded' <<<"$err"; then
    die "an Application Auto Scaling quota stops this (AWS: $(first_line "$err")); ask for more in Service Quotas or remove unused scalable targets"
  fi
  die "register-scalable-target failed: $err"
fi
info "target tracking: $metric_type at $target, cool-downs ${startup}s"
if ! aws_try out err application-autoscaling put-scaling-policy --service-namespace sagemaker \
    --resource-id "$resource" --scalable-dimension "$dimension" --policy-name "$tracking_policy" \
    --policy-type TargetTrackingScaling \
    --target-tracking-scaling-policy-configuration "file://$work/tracking.json" --output json; then
  die "put-scaling-policy failed: $err"
fi

if [[ $can_wake -eq 1 ]] && (( min_capacity == 0 )); then
  # Target tracking cannot leave zero (nothing emits its metric there). AWS's recipe: a
  # step policy that adds one, on an alarm that fires at zero capacity --
  # components: failed requests (NoCapacityInvocationFailures,
  # https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html);
  # async: queued requests (HasBacklogWithoutCapacity,
  # https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-autoscale.html).
  # Its cool-down is the startup timeout, not AWS's example 60 s: the alarm stays on
  # while the first copy starts, and each minute would add another.
  if [[ "$EP_MODE" == "ic" ]]; then
    aggregation="Maximum"
    alarm_args=(--metric-name NoCapacityInvocationFailures --dimensions "Name=InferenceComponentName,Value=$IC_NAME"
                --statistic Sum --period 60 --evaluation-periods 1 --datapoints-to-alarm 1)
    description="Wakes inference component $IC_NAME from zero copies (deploy/autoscale.sh)"
  else
    aggregation="Average"
    alarm_args=(--metric-name HasBacklogWithoutCapacity --dimensions "Name=EndpointName,Value=$ENDPOINT_NAME"
                --statistic Average --period 60 --evaluation-periods 2 --datapoints-to-alarm 2
                --treat-missing-data missing)
    description="Wakes asynchronous endpoint $ENDPOINT_NAME from zero instances (deploy/autoscale.sh)"
  fi
  python3 - "$work/step.json" "$aggregation" "$startup" <<'PY'
import json, sys
out, aggregation, cooldown = sys.argv[1:]
config = {"AdjustmentType": "ChangeInCapacity", "MetricAggregationType": aggregation, "Cooldown": int(cooldown),
          "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(config, fh)
PY
  if ! aws_try policy_arn err application-autoscaling put-scaling-policy --service-namespace sagemaker \
      --resource-id "$resource" --scalable-dimension "$dimension" --policy-name "$wake_policy" \
      --policy-type StepScaling --step-scaling-policy-configuration "file://$work/step.json" \
      --query PolicyARN --output text; then
    die "put-scaling-policy (scale from zero) failed: $err"
  fi
  # At or above 1 (AWS's example for components says above 1): the first request wakes it.
  if ! aws_try out err cloudwatch put-metric-alarm --alarm-name "$wake_alarm" --alarm-description "$description" \
      --namespace AWS/SageMaker "${alarm_args[@]}" --threshold 1 \
      --comparison-operator GreaterThanOrEqualToThreshold --alarm-actions "$policy_arn"; then
    die "put-metric-alarm failed: $err"
  fi
  if [[ "$EP_MODE" == "ic" ]]; then
    info "scale to zero: idle copies go to 0, then the instances; the first request after that fails with 'no capacity' and wakes a copy"
    log "   expect a cold start of several minutes: an instance to provision, then up to ${startup}s for the container to load the model (model.lock.json's startup timeout); requests fail until it answers"
  else
    info "scale to zero: an idle endpoint goes to 0 instances; requests queue in S3 meanwhile and the first one wakes an instance"
    log "   expect queued requests to wait several minutes: an instance to provision, then up to ${startup}s for the container to load the model (model.lock.json's startup timeout)"
  fi
elif [[ $can_wake -eq 1 ]]; then
  remove_wake
fi
info "autoscaling of $resource: $min_capacity to $max_capacity $unit on $metric ($target); see deploy/status.sh"
