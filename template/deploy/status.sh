#!/usr/bin/env bash
# Show the state of the endpoint and what it runs.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/status.sh [options]

Prints the endpoint's status, failure reason, hosting mode, instance type,
image, where the weights come from, its inference components (copies and what
each reserves) and its autoscaling (range, policies, cool-downs).
Exit status: 0 InService, 3 no such endpoint, 4 Failed, 5 any other state.

Options:
  --endpoint-name NAME  endpoint (default: project name)
  --json                print DescribeEndpoint's JSON instead
  -h, --help            show this help
USAGE
}

as_json=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --json) as_json=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

load_project
check_aws
endpoint_facts "$ENDPOINT_NAME"
if [[ -z "$EP_STATUS" ]]; then
  log "endpoint $ENDPOINT_NAME does not exist (region $REGION)"
  exit 3
fi
endpoint="$EP_JSON"
if [[ $as_json -eq 1 ]]; then
  printf '%s\n' "$endpoint"
else
  config="$EP_CONFIG_JSON"
  # Inference components (the model runs in them when the variant names none).
  ics="[]"
  resources=("endpoint/$ENDPOINT_NAME/variant/AllTraffic")
  if [[ "$EP_MODE" == "ic" ]]; then
    ic_list=()
    mapfile -t ic_list < <(endpoint_ics "$ENDPOINT_NAME")
    ics="$(for ic in ${ic_list[@]+"${ic_list[@]}"}; do
      awsr sagemaker describe-inference-component --inference-component-name "$ic" --output json 2>/dev/null \
        | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' || true
    done | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin if l.strip()]))')"
    for ic in ${ic_list[@]+"${ic_list[@]}"}; do resources+=("inference-component/$ic"); done
  fi
  model_name="$(python3 -c '
import json, sys
cfg, ics = json.loads(sys.argv[1]), json.loads(sys.argv[2])
names = [v.get("ModelName") for v in cfg.get("ProductionVariants") or [] if v.get("ModelName")]
names += [(ic.get("Specification") or {}).get("ModelName") for ic in ics]
print(next((n for n in names if n), ""))' "$config" "$ics")"
  model="{}"
  if [[ -n "$model_name" ]]; then
    model="$(awsr sagemaker describe-model --model-name "$model_name" --output json 2>/dev/null || echo '{}')"
  fi
  # Autoscaling: scalable targets and policies on the variant and the components.
  targets="$(awsr application-autoscaling describe-scalable-targets --service-namespace sagemaker \
    --resource-ids "${resources[@]}" --output json 2>/dev/null || echo '{}')"
  policies="$(awsr application-autoscaling describe-scaling-policies --service-namespace sagemaker \
    --output json 2>/dev/null || echo '{}')"
  python3 - "$endpoint" "$config" "$model" "$REGION" "$ics" "$targets" "$policies" "$EP_MODE" <<'PY'
import datetime, json, sys
def when(value):
    if isinstance(value, (int, float)):  # AWS CLI v1 prints epoch seconds
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat(timespec="seconds")
    return value
ep, cfg, model = (json.loads(x) for x in sys.argv[1:4])
region = sys.argv[4]
ics, targets, policies = (json.loads(x) for x in sys.argv[5:8])
mode = sys.argv[8]
variant = (cfg.get("ProductionVariants") or [{}])[0]
live = (ep.get("ProductionVariants") or [{}])[0]
container = model.get("PrimaryContainer") or {}
source = ((container.get("ModelDataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
managed = variant.get("ManagedInstanceScaling") or {}
output = ((cfg.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {})
rows = [
    ("endpoint", f"{ep.get('EndpointName')} ({region})"),
    ("status", ep.get("EndpointStatus")),
    ("failure reason", ep.get("FailureReason")),
    ("mode", {"ic": "inference components", "async": "asynchronous", "model": "real-time"}.get(mode, mode)),
    ("created", when(ep.get("CreationTime"))),
    ("last modified", when(ep.get("LastModifiedTime"))),
    ("endpoint config", ep.get("EndpointConfigName")),
    ("model", model.get("ModelName") or variant.get("ModelName")),
    ("image", container.get("Image")),
    ("weights", source or ("Hugging Face Hub at start" if container else None)),
    ("instance type", variant.get("InstanceType")),
    ("host AMI", variant.get("InferenceAmiVersion")),
    ("instances", f"{live.get('CurrentInstanceCount', '?')} of {live.get('DesiredInstanceCount', variant.get('InitialInstanceCount', '?'))}"),
    ("instance range", f"{managed.get('MinInstanceCount')} to {managed.get('MaxInstanceCount')} (managed)" if managed else None),
    ("startup timeout", variant.get("ContainerStartupHealthCheckTimeoutInSeconds")),
    ("download timeout", variant.get("ModelDataDownloadTimeoutInSeconds")),
    ("volume (GB)", variant.get("VolumeSizeInGB")),
    ("async answers", output.get("S3OutputPath")),
    ("async failures", output.get("S3FailurePath")),
    ("environment keys", ", ".join(sorted((container.get("Environment") or {}).keys())) or None),
]
for ic in ics:
    spec = ic.get("Specification") or {}
    need = spec.get("ComputeResourceRequirements") or {}
    runtime = ic.get("RuntimeConfig") or {}
    rows += [
        ("component", f"{ic.get('InferenceComponentName')}: {ic.get('InferenceComponentStatus')}"),
        ("  copies", f"{runtime.get('CurrentCopyCount', '?')} of {runtime.get('DesiredCopyCount', '?')}"),
        ("  per copy", f"{need.get('NumberOfAcceleratorDevicesRequired', '?')} GPU(s), "
                       f"{need.get('MinMemoryRequiredInMb', '?')} MB host memory"),
        ("  failure reason", ic.get("FailureReason")),
    ]
by_resource = {}
for policy in policies.get("ScalingPolicies") or []:
    by_resource.setdefault(policy.get("ResourceId"), []).append(policy)
scaling = []
for target in targets.get("ScalableTargets") or []:
    rid = target.get("ResourceId")
    unit = "copies" if rid.startswith("inference-component/") else "instances"
    scaling.append(("autoscaling", f"{rid}: {target.get('MinCapacity')} to {target.get('MaxCapacity')} {unit}"))
    for policy in by_resource.get(rid, []):
        tt = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        if tt:
            metric = (tt.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "custom metric")
            scaling.append(("  policy", f"{policy.get('PolicyName')}: {metric} at {tt.get('TargetValue')}, "
                                        f"cool-downs out {tt.get('ScaleOutCooldown')}s / in {tt.get('ScaleInCooldown')}s"))
        else:
            alarms = ", ".join(a.get("AlarmName", "") for a in policy.get("Alarms") or []) or "its alarm"
            scaling.append(("  policy", f"{policy.get('PolicyName')}: {policy.get('PolicyType')} (wakes from zero on {alarms})"))
rows += scaling or [("autoscaling", "off (deploy/autoscale.sh turns it on)")]
for key, value in rows:
    if value not in (None, ""):
        print(f"{key:>17}: {value}")
PY
fi
status="$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("EndpointStatus",""))' <<<"$endpoint")"
case "$status" in
  InService) exit 0 ;;
  Failed) exit 4 ;;
  *) exit 5 ;;
esac
