#!/usr/bin/env bash
# Send a chat request (and a streaming one) to the deployed endpoint.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/test.sh [options]

Sends an OpenAI chat-completions request to the endpoint with
'aws sagemaker-runtime invoke-endpoint' and prints the answer, then a
streaming request through deploy/stream_client.py (needs boto3), which prints
the text as it arrives. An endpoint with an inference component gets both
addressed to the component; an asynchronous endpoint gets one request through
deploy/async_client.py (S3 in, S3 out; no streaming).

Options:
  --endpoint-name NAME  endpoint (default: project name)
  --inference-component-name NAME
                        component to address (default: the endpoint's only one)
  --prompt TEXT         user message (default: a short question)
  --max-tokens N        default 64
  --no-stream           skip the streaming request
  --stream-only         only the streaming request
  --wait-for-capacity SECONDS
                        when the component is scaled to zero, keep asking for
                        up to SECONDS while a copy starts (default: fail at once)
  -h, --help            show this help
USAGE
}

prompt="In one sentence, what is Amazon SageMaker?"
max_tokens=64
do_plain=1
do_stream=1
ic_wanted=""
wait_capacity=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --inference-component-name) [[ $# -ge 2 ]] || die "--inference-component-name needs a value"; ic_wanted="$2"; shift 2 ;;
    --wait-for-capacity) [[ $# -ge 2 ]] || die "--wait-for-capacity needs seconds"; wait_capacity="$2"; shift 2 ;;
    --prompt) [[ $# -ge 2 ]] || die "--prompt needs a value"; prompt="$2"; shift 2 ;;
    --max-tokens) [[ $# -ge 2 ]] || die "--max-tokens needs a value"; max_tokens="$2"; shift 2 ;;
    --no-stream) do_stream=0; shift ;;
    --stream-only) do_plain=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ "$max_tokens" =~ ^[0-9]+$ ]] || die "--max-tokens wants a number"
[[ "$wait_capacity" =~ ^[0-9]+$ ]] || die "--wait-for-capacity wants whole seconds"

load_project
check_aws
# The name the server answers to; the serve script uses the model id.
served_name="$(lock_get server.served_model_name)" || exit 1
[[ -n "$served_name" ]] || served_name="$(lock_require model.id)" || exit 1
# DJL Serving's HF Accelerate handler does text generation, not chat, and does not stream
# ({"inputs", "parameters"} -> [{"generated_text"}]; see the project README).
server_name="$(lock_get server.name)" || exit 1
text_generation=0
if [[ "$server_name" == "djl" ]]; then
  text_generation=1
  [[ $do_plain -eq 1 ]] || die "DJL Serving's HF Accelerate handler does not stream; run deploy/test.sh without --stream-only"
  if [[ $do_stream -eq 1 ]]; then
    do_stream=0
    info "DJL Serving's HF Accelerate handler does not stream: one text-generation request"
  fi
fi

# A model without a chat template cannot take chat messages (HTTP 400): send a completion.
has_chat_template="$(lock_get model.has_chat_template)" || exit 1
if [[ $text_generation -eq 0 && "$has_chat_template" == false ]]; then
  case "$server_name" in
    sglang) die "this model has no chat template and SGLang's /invocations takes chat requests only; give the project one: copier update --trust --defaults -d chatTemplateFile=path/to/template.jinja" ;;
    lmi) text_generation=1 ;;
    *) text_generation=2 ;;
  esac
  [[ $do_plain -eq 1 ]] || die "this model has no chat template: the streaming chat request would fail; run deploy/test.sh without --stream-only"
  if [[ $do_stream -eq 1 ]]; then
    do_stream=0
    info "this model has no chat template: one completion request, no streaming chat"
  fi
fi

startup="$(lock_get deployment.container_startup_health_check_timeout_s)" || exit 1

endpoint_facts "$ENDPOINT_NAME"
status="$EP_STATUS"
[[ -n "$status" ]] || die "endpoint '$ENDPOINT_NAME' does not exist; deploy it with deploy/deploy.sh"
[[ "$status" == "InService" ]] || die "endpoint '$ENDPOINT_NAME' is $status, not InService (see deploy/status.sh)"
ic_args=()
target="$ENDPOINT_NAME"
if [[ "$EP_MODE" == "ic" ]]; then
  pick_ic "$ENDPOINT_NAME" "$ic_wanted"
  ic_args=(--inference-component-name "$IC_NAME")
  target="$ENDPOINT_NAME (inference component $IC_NAME)"
elif [[ -n "$ic_wanted" ]]; then
  die "endpoint '$ENDPOINT_NAME' hosts no inference components (deployed without --inference-component)"
fi

out=""
err=""
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/request.json" "$served_name" "$prompt" "$max_tokens" "$text_generation" <<'PY'
import json, sys
out, model, prompt, max_tokens, text_generation = sys.argv[1:]
if text_generation == "1":     # DJL's HF Accelerate handler, LMI without a chat template
    body = {"inputs": prompt, "parameters": {"max_new_tokens": int(max_tokens)}}
elif text_generation == "2":   # no chat template: an OpenAI completion (vLLM, nginx -> /v1/completions)
    body = {"model": model, "prompt": prompt, "max_tokens": int(max_tokens), "stream": False}
else:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": int(max_tokens), "stream": False}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(body, fh)
PY

if [[ "$EP_MODE" == "async" ]]; then
  python3 -c 'import boto3' 2>/dev/null || die "an asynchronous endpoint is tested through deploy/async_client.py, which needs boto3 (pip install boto3)"
  info "asynchronous request to $ENDPOINT_NAME (through S3): $prompt"
  python3 "$DEPLOY_DIR/async_client.py" --endpoint-name "$ENDPOINT_NAME" --region "$REGION" \
    --request-file "$work/request.json" || die "the asynchronous request failed"
  info "done (asynchronous endpoints do not stream)"
  exit 0
fi

# no_capacity ERR: the component has no copy (scaled to zero); the request that got
# this error is what wakes it.
no_capacity() { grep -qi 'no capacity' <<<"$1"; }
no_capacity_die() {
  die "inference component $IC_NAME has no copy running (scaled to zero by deploy/autoscale.sh --min 0). This request has started one: expect several minutes (an instance to provision, then up to ${startup:-600}s for the model to load, model.lock.json's startup timeout), then run deploy/test.sh again, or pass --wait-for-capacity 900."
}

if [[ $do_plain -eq 1 ]]; then
  info "POST /invocations on $target: $prompt"
  start=$SECONDS
  until aws_try out err sagemaker-runtime invoke-endpoint --endpoint-name "$ENDPOINT_NAME" \
      ${ic_args[@]+"${ic_args[@]}"} --content-type application/json --accept application/json \
      --body "fileb://$work/request.json" "$work/response.json" --output json; do
    if [[ ${#ic_args[@]} -gt 0 ]] && no_capacity "$err"; then
      (( SECONDS - start < wait_capacity )) || no_capacity_die
      log "   no copy of $IC_NAME yet ($((SECONDS - start))s); asking again in 30s"
      sleep 30
      continue
    fi
    if [[ ${#ic_args[@]} -gt 0 ]]; then
      print_endpoint_logs "$ENDPOINT_NAME" 20 "$(ic_log_group "$IC_NAME")"
    else
      print_endpoint_logs "$ENDPOINT_NAME" 20
    fi
    die "invoke-endpoint failed: $err"
  done
  python3 - "$work/response.json" <<'PY' || die "the endpoint's answer is not a chat completion or a generation"
import json, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", errors="replace")
try:
    obj = json.loads(raw)
except ValueError:
    sys.stderr.write(f"answer is not JSON: {raw[:500]}\n")
    sys.exit(1)
text = None
if isinstance(obj, list) and obj and isinstance(obj[0], dict):  # DJL: [{"generated_text": ...}]
    obj = obj[0]
if isinstance(obj, dict):
    choices = obj.get("choices")
    if isinstance(choices, list) and choices:
        first = choices[0] or {}
        text = (first.get("message") or {}).get("content") if "message" in first else first.get("text")
    elif "generated_text" in obj:
        text = obj["generated_text"]
if text is None:
    sys.stderr.write(f"unexpected answer: {raw[:500]}\n")
    sys.exit(1)
print(text)
usage = obj.get("usage") if isinstance(obj, dict) else None
if usage:
    sys.stderr.write(f"   usage: {json.dumps(usage)}\n")
PY
fi

if [[ $do_stream -eq 1 ]]; then
  python3 -c 'import boto3' 2>/dev/null \
    || die "the streaming test needs boto3 (pip install boto3), or pass --no-stream"
  info "streaming request to $target"
  python3 "$DEPLOY_DIR/stream_client.py" --endpoint-name "$ENDPOINT_NAME" --region "$REGION" \
    ${ic_args[@]+"${ic_args[@]}"} --model "$served_name" --prompt "$prompt" --max-tokens "$max_tokens" \
    || die "the streaming request failed"
fi
info "done"
