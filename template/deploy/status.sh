#!/usr/bin/env bash
# Show the state of the endpoint and what it runs.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/status.sh [options]

Prints the endpoint's status, failure reason, instance type and image.
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
endpoint=""
err=""
if ! aws_try endpoint err sagemaker describe-endpoint --endpoint-name "$ENDPOINT_NAME" --output json; then
  if is_not_found "$err"; then
    log "endpoint $ENDPOINT_NAME does not exist (region $REGION)"
    exit 3
  fi
  die "aws sagemaker describe-endpoint failed: $err"
fi
if [[ $as_json -eq 1 ]]; then
  printf '%s\n' "$endpoint"
else
  config_name="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["EndpointConfigName"])' <<<"$endpoint")"
  config="$(awsr sagemaker describe-endpoint-config --endpoint-config-name "$config_name" --output json 2>/dev/null || echo '{}')"
  model_name="$(python3 -c 'import json,sys; v=json.load(sys.stdin).get("ProductionVariants") or [{}]; print(v[0].get("ModelName",""))' <<<"$config")"
  model="{}"
  if [[ -n "$model_name" ]]; then
    model="$(awsr sagemaker describe-model --model-name "$model_name" --output json 2>/dev/null || echo '{}')"
  fi
  python3 - "$endpoint" "$config" "$model" "$REGION" <<'PY'
import datetime, json, sys
def when(value):
    if isinstance(value, (int, float)):  # AWS CLI v1 prints epoch seconds
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat(timespec="seconds")
    return value
ep, cfg, model = (json.loads(x) for x in sys.argv[1:4])
region = sys.argv[4]
variant = (cfg.get("ProductionVariants") or [{}])[0]
live = (ep.get("ProductionVariants") or [{}])[0]
container = model.get("PrimaryContainer") or {}
rows = [
    ("endpoint", f"{ep.get('EndpointName')} ({region})"),
    ("status", ep.get("EndpointStatus")),
    ("failure reason", ep.get("FailureReason")),
    ("created", when(ep.get("CreationTime"))),
    ("last modified", when(ep.get("LastModifiedTime"))),
    ("endpoint config", ep.get("EndpointConfigName")),
    ("model", variant.get("ModelName")),
    ("image", container.get("Image")),
    ("instance type", variant.get("InstanceType")),
    ("instances", f"{live.get('CurrentInstanceCount', '?')} of {live.get('DesiredInstanceCount', variant.get('InitialInstanceCount', '?'))}"),
    ("startup timeout", variant.get("ContainerStartupHealthCheckTimeoutInSeconds")),
    ("download timeout", variant.get("ModelDataDownloadTimeoutInSeconds")),
    ("volume (GB)", variant.get("VolumeSizeInGB")),
    ("environment keys", ", ".join(sorted((container.get("Environment") or {}).keys())) or None),
]
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
