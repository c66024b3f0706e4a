#!/usr/bin/env bash
# Print (or follow) the endpoint's CloudWatch logs.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/logs.sh [options]

Prints the log events of /aws/sagemaker/Endpoints/<endpoint> from the last
--since minutes, oldest first; --follow keeps polling for new events.

Options:
  --endpoint-name NAME  endpoint (default: project name)
  --since MINUTES       how far back to start (default 60)
  --follow, -f          keep printing new events (Ctrl-C to stop)
  --interval SECONDS    polling interval with --follow (default 5)
  -h, --help            show this help
USAGE
}

since=60
follow=0
interval=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --since) [[ $# -ge 2 ]] || die "--since needs a value"; since="$2"; shift 2 ;;
    --follow|-f) follow=1; shift ;;
    --interval) [[ $# -ge 2 ]] || die "--interval needs a value"; interval="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ "$since" =~ ^[0-9]+$ ]] || die "--since wants whole minutes"
[[ "$interval" =~ ^[0-9]+$ ]] || die "--interval wants whole seconds"

load_project
check_aws
group="$(log_group "$ENDPOINT_NAME")"
start_ms=$(( ($(date +%s) - since * 60) * 1000 ))
out=""
err=""
state="$(mktemp)"
trap 'rm -f "$state"' EXIT
while :; do
  if ! aws_try out err logs filter-log-events --log-group-name "$group" \
      --start-time "$start_ms" --output json; then
    if is_not_found "$err"; then
      [[ $follow -eq 1 ]] || die "log group $group does not exist (yet); has the endpoint started?"
      log "(waiting for log group $group)"
      sleep "$interval"
      continue
    fi
    die "aws logs filter-log-events failed: $err"
  fi
  # Print the events, oldest first; remember the newest timestamp in $state.
  python3 -c '
import json, sys, time
events = json.load(sys.stdin).get("events") or []
events.sort(key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))
for e in events:
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.get("timestamp", 0) / 1000))
    print(ts, e.get("message", "").rstrip(), flush=True)
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    fh.write(str(max((e.get("timestamp", 0) for e in events), default=0)))
' "$state" <<<"$out"
  newest="$(cat "$state")"
  [[ $follow -eq 1 ]] || break
  if (( newest > 0 )); then start_ms=$((newest + 1)); fi
  sleep "$interval"
done
