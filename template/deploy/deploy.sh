#!/usr/bin/env bash
# Create the SageMaker model, endpoint configuration and endpoint.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/deploy.sh [options]

Creates a SageMaker model, an endpoint configuration and a real-time endpoint,
all named <project> (or --endpoint-name), from the image that deploy/push.sh
pushed, with the instance type and timeouts from model.lock.json. Waits until
the endpoint is InService; when it fails, prints the reason and the last
CloudWatch log lines. A gated model gets only the ARN of its Secrets Manager
secret (HF_TOKEN_SECRET_ID), never the token: run deploy/secret.sh first.

Options:
  --role-arn ARN        execution role (default: \$SAGEMAKER_ROLE_ARN, else the
                        role <name>-sagemaker-exec is created or updated with
                        least privilege)
  --endpoint-name NAME  name of the endpoint, config and model (default: project)
  --image-uri URI       image to deploy (default: the ECR image with the tag
                        deploy/build.sh computes; it must exist in ECR)
  --tag TAG             image tag in the project's ECR repository
  --instance-type TYPE  override deployment.instance_type
  --env KEY=VALUE       extra non-secret container setting, e.g.
                        ENGINE_ARG_MAX_NUM_SEQS=64 (repeatable)
  --no-wait             return once creation has started
  --timeout SECONDS     how long to wait for InService (default: startup +
                        download timeouts + 900)
  -h, --help            show this help

Environment: SAGEMAKER_ROLE_ARN, ECR_REGISTRY, AWS_ENDPOINT_URL,
DEPLOY_POLL_SECONDS (default 30).
USAGE
}

role_arn="${SAGEMAKER_ROLE_ARN:-}"
image_uri=""
instance_override=""
wait_for_it=1
timeout=""
extra_env=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --role-arn) [[ $# -ge 2 ]] || die "--role-arn needs a value"; role_arn="$2"; shift 2 ;;
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --image-uri) [[ $# -ge 2 ]] || die "--image-uri needs a value"; image_uri="$2"; shift 2 ;;
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; IMAGE_TAG="$2"; shift 2 ;;
    --instance-type) [[ $# -ge 2 ]] || die "--instance-type needs a value"; instance_override="$2"; shift 2 ;;
    --env) [[ $# -ge 2 ]] || die "--env needs KEY=VALUE"; extra_env+=("$2"); shift 2 ;;
    --no-wait) wait_for_it=0; shift ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

load_project
instance_type="${instance_override:-$(lock_require deployment.instance_type)}" || exit 1
startup_timeout="$(lock_get deployment.container_startup_health_check_timeout_s)" || exit 1
download_timeout="$(lock_get deployment.model_data_download_timeout_s)" || exit 1
volume_size="$(lock_get deployment.volume_size_gb)" || exit 1
secret_name="$(lock_get project.hf_token_secret_name)" || exit 1
gated="$(lock_get model.gated)" || exit 1
model_id="$(lock_require model.id)" || exit 1
model_sha="$(lock_get model.sha)" || exit 1
server_name="$(lock_get server.name)" || exit 1
poll="${DEPLOY_POLL_SECONDS:-30}"

[[ -z "$timeout" || "$timeout" =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, got '$timeout'"
[[ "$poll" =~ ^[1-9][0-9]*$ ]] || die "DEPLOY_POLL_SECONDS wants whole seconds, got '$poll'"

for kv in ${extra_env[@]+"${extra_env[@]}"}; do
  key="${kv%%=*}"
  [[ "$kv" == *=* && "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "--env wants KEY=VALUE, got '$kv'"
  case "$key" in
    HF_TOKEN|HUGGING_FACE_HUB_TOKEN|*SECRET_ACCESS_KEY*|*PASSWORD*)
      die "--env $key: secrets must not go into the model's environment (it is readable with DescribeModel); use deploy/secret.sh" ;;
  esac
  [[ "${kv#*=}" != hf_* ]] || die "--env $key: the value looks like a Hugging Face token; use deploy/secret.sh"
done

check_aws
model_name="$ENDPOINT_NAME"
config_name="$ENDPOINT_NAME"

# instance_type_refused ERR: when AWS refused the instance type (not offered in this
# region, or no quota for it), die with what to do instead; otherwise return 1.
instance_type_refused() {
  local err="$1" first
  first="$(grep -v '^[[:space:]]*$' <<<"$err" | head -n 1)"
  if grep -q 'ResourceLimitExceeded' <<<"$err"; then
    die "your account may not run $instance_type endpoints in $REGION (AWS: ${first}). Ask for more in Service Quotas ('$instance_type for endpoint usage': https://console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas), or deploy another instance type (--instance-type) or in another region (project.aws_region in model.lock.json, or regenerate with awsRegion=...)."
  fi
  grep -q 'ValidationException' <<<"$err" || return 1
  if grep -qi 'enum value set' <<<"$err"; then
    die "'$instance_type' is not a SageMaker endpoint instance type (AWS: ${first:0:300}...). Choose another one (--instance-type, or regenerate with instanceType=...)."
  fi
  if grep -qiE 'instance ?type' <<<"$err" || grep -qF "$instance_type" <<<"$err"; then
    die "SageMaker does not offer $instance_type for endpoints in $REGION (AWS: ${first}). Deploy in a region that has it (set project.aws_region in model.lock.json, or regenerate with awsRegion=...), or choose another instance type (--instance-type, or regenerate with instanceType=...)."
  fi
  return 1
}

# 1. Nothing of that name may exist yet -----------------------------------------
status="$(endpoint_status "$ENDPOINT_NAME")" || exit 1
if [[ -n "$status" ]]; then
  die "endpoint '$ENDPOINT_NAME' already exists (status $status). See deploy/status.sh; remove it with deploy/cleanup.sh or choose another name with --endpoint-name."
fi
for kind in endpoint-config model; do
  if sm_exists "$kind" "$ENDPOINT_NAME"; then
    die "a SageMaker $kind named '$ENDPOINT_NAME' already exists (left over from an earlier deploy?). Remove it with deploy/cleanup.sh or choose another name with --endpoint-name."
  fi
done

# 2. Image ------------------------------------------------------------------------
if [[ -z "$image_uri" ]]; then
  tag="$(image_tag)"
  image_uri="$(ecr_registry)/$REPO_NAME:$tag"
  if ! aws_try out err ecr describe-images --repository-name "$REPO_NAME" \
      --image-ids "imageTag=$tag" --output json; then
    if is_not_found "$err"; then
      die "image $REPO_NAME:$tag is not in ECR; run deploy/build.sh and deploy/push.sh first (or pass --image-uri)"
    fi
    die "aws ecr describe-images failed: $err"
  fi
fi
info "image $image_uri"

# 3. Secret (gated models) ---------------------------------------------------------
secret_arn=""
if [[ "$gated" == "true" || -n "$secret_name" ]]; then
  [[ -n "$secret_name" ]] || die "the model is gated but model.lock.json has no project.hf_token_secret_name"
  if ! aws_try secret_arn err secretsmanager describe-secret --secret-id "$secret_name" \
      --query ARN --output text; then
    if is_not_found "$err"; then
      die "Secrets Manager secret '$secret_name' not found; create it with deploy/secret.sh (the model $model_id is gated)"
    fi
    die "aws secretsmanager describe-secret failed: $err"
  fi
  info "the container reads its Hugging Face token from secret $secret_arn"
fi

# 4. Execution role ------------------------------------------------------------------
repo_arn="arn:${PARTITION}:ecr:${REGION}:${ACCOUNT_ID}:repository/${REPO_NAME}"
log_group_arn="arn:${PARTITION}:logs:${REGION}:${ACCOUNT_ID}:log-group:$(log_group "$ENDPOINT_NAME")"
role_created=0
if [[ -n "$role_arn" ]]; then
  [[ "$role_arn" =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+ ]] || die "'$role_arn' is not an IAM role ARN"
  role_name="${role_arn##*/}"
  if ! aws_try out err iam get-role --role-name "$role_name" --output json; then
    if is_not_found "$err"; then
      die "execution role $role_arn does not exist; create it, or omit --role-arn/SAGEMAKER_ROLE_ARN to let deploy.sh create one"
    fi
    warn "could not check role $role_name (${err%%$'\n'*}); using it anyway"
  fi
else
  role_name="$(printf '%s' "${ENDPOINT_NAME:0:48}" | sed 's/-*$//')-sagemaker-exec"
  trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  if aws_try role_arn err iam get-role --role-name "$role_name" --query Role.Arn --output text; then
    info "using execution role $role_arn"
  elif is_not_found "$err"; then
    info "creating execution role $role_name"
    role_arn="$(awsr iam create-role --role-name "$role_name" \
      --assume-role-policy-document "$trust" \
      --description "SageMaker execution role for endpoint $ENDPOINT_NAME (created by deploy/deploy.sh)" \
      --tags "Key=project,Value=$PROJECT_NAME" \
      --query Role.Arn --output text)" || die "could not create IAM role $role_name (you need iam:CreateRole, or pass --role-arn)"
    role_created=1
  else
    die "aws iam get-role failed: $err (pass an existing role with --role-arn)"
  fi
  policy="$(python3 - "$repo_arn" "$log_group_arn" "$secret_arn" <<'PY'
import json, sys
repo_arn, group_arn, secret_arn = sys.argv[1:4]
statements = [
    {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Sid": "EcrPull", "Effect": "Allow",
     "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
     "Resource": repo_arn},
    {"Sid": "Logs", "Effect": "Allow",
     "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
     "Resource": [group_arn, group_arn + ":log-stream:*"]},
]
if secret_arn:
    statements.append({"Sid": "HfTokenSecret", "Effect": "Allow",
                       "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn})
print(json.dumps({"Version": "2012-10-17", "Statement": statements}))
PY
)"
  awsr iam put-role-policy --role-name "$role_name" --policy-name sagemaker-endpoint \
    --policy-document "$policy" || die "could not attach the inline policy to role $role_name"
fi

# Undo what this run created if it stops before the endpoint exists.
created_model=0
created_config=0
endpoint_started=0
work="$(mktemp -d)"
on_exit() {
  local rc=$?
  rm -rf "$work"
  if [[ $rc -ne 0 && $endpoint_started -eq 0 ]]; then
    if [[ $created_config -eq 1 ]] && awsr sagemaker delete-endpoint-config --endpoint-config-name "$config_name" >/dev/null 2>&1; then
      log "removed endpoint config $config_name"
    fi
    if [[ $created_model -eq 1 ]] && awsr sagemaker delete-model --model-name "$model_name" >/dev/null 2>&1; then
      log "removed model $model_name"
    fi
  fi
  return "$rc"
}
trap on_exit EXIT

# 5. Model ---------------------------------------------------------------------------
python3 - "$work/model.json" "$model_name" "$role_arn" "$image_uri" "$secret_arn" "$PROJECT_NAME" \
  "$model_id" "$model_sha" "$server_name" ${extra_env[@]+"${extra_env[@]}"} <<'PY'
import json, sys
out, name, role, image, secret_arn, project, model_id, sha, server, *extra = sys.argv[1:]
env = {}
if secret_arn:
    env["HF_TOKEN_SECRET_ID"] = secret_arn
for item in extra:
    key, _, value = item.partition("=")
    env[key] = value
spec = {
    "ModelName": name,
    "ExecutionRoleArn": role,
    "PrimaryContainer": {"Image": image, "Mode": "SingleModel", "Environment": env},
    "Tags": [{"Key": "project", "Value": project},
             {"Key": "model-id", "Value": model_id[:256]},
             {"Key": "model-sha", "Value": sha or "unknown"},
             {"Key": "server", "Value": server or "unknown"}],
}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(spec, fh)
PY
info "creating model $model_name"
attempt=0
until aws_try out err sagemaker create-model --cli-input-json "file://$work/model.json" --output json; do
  attempt=$((attempt + 1))
  # A role created a moment ago can take a few seconds to become assumable.
  if [[ $role_created -eq 1 && $attempt -lt 12 ]] && grep -qiE 'assume|not authorized|role' <<<"$err"; then
    log "   waiting for the new role to become usable ($attempt)..."
    sleep 5
    continue
  fi
  die "create-model failed: $err"
done
created_model=1

# 6. Endpoint configuration -----------------------------------------------------------
write_config() {  # write_config WITH_VOLUME(0|1)
  python3 - "$work/config.json" "$config_name" "$model_name" "$instance_type" \
    "$startup_timeout" "$download_timeout" "$volume_size" "$1" "$PROJECT_NAME" <<'PY'
import json, sys
out, name, model, itype, startup, download, volume, with_volume, project = sys.argv[1:]
variant = {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1,
           "InstanceType": itype, "InitialVariantWeight": 1.0}
if startup:
    variant["ContainerStartupHealthCheckTimeoutInSeconds"] = int(startup)
if download:
    variant["ModelDataDownloadTimeoutInSeconds"] = int(download)
if volume and with_volume == "1":
    variant["VolumeSizeInGB"] = int(volume)
spec = {"EndpointConfigName": name, "ProductionVariants": [variant],
        "Tags": [{"Key": "project", "Value": project}]}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(spec, fh)
PY
}
info "creating endpoint config $config_name ($instance_type, startup health check ${startup_timeout:-default}s, download ${download_timeout:-default}s, volume ${volume_size:-default} GB)"
write_config 1
if ! aws_try out err sagemaker create-endpoint-config --cli-input-json "file://$work/config.json" --output json; then
  # Instances with local NVMe storage (e.g. ml.g5, ml.p4d) reject VolumeSizeInGB.
  if [[ -n "$volume_size" ]] && grep -qi 'volume' <<<"$err"; then
    warn "$instance_type does not take VolumeSizeInGB (it has instance storage); creating the config without it"
    write_config 0
    if ! aws_try out err sagemaker create-endpoint-config --cli-input-json "file://$work/config.json" --output json; then
      instance_type_refused "$err" || die "create-endpoint-config failed: $err"
    fi
  else
    instance_type_refused "$err" || die "create-endpoint-config failed: $err"
  fi
fi
created_config=1

# 7. Endpoint ----------------------------------------------------------------------------
info "creating endpoint $ENDPOINT_NAME"
if ! aws_try out err sagemaker create-endpoint --endpoint-name "$ENDPOINT_NAME" \
    --endpoint-config-name "$config_name" --tags "Key=project,Value=$PROJECT_NAME" --output json; then
  grep -qi 'already exist' <<<"$err" && die "endpoint '$ENDPOINT_NAME' already exists (created by someone else just now?)"
  instance_type_refused "$err" || die "create-endpoint failed: $err"
fi
endpoint_started=1

if [[ $wait_for_it -eq 0 ]]; then
  info "endpoint $ENDPOINT_NAME is being created; follow it with deploy/status.sh and deploy/logs.sh"
  printf '%s\n' "$ENDPOINT_NAME"
  exit 0
fi

# 8. Wait -----------------------------------------------------------------------------------
timeout="${timeout:-$(( ${startup_timeout:-600} + ${download_timeout:-600} + 900 ))}"
start=$SECONDS
last=""
info "waiting for $ENDPOINT_NAME to be InService (up to ${timeout}s; Ctrl-C stops waiting, not the deployment)"
while :; do
  status="$(endpoint_status "$ENDPOINT_NAME")" || exit 1
  elapsed=$((SECONDS - start))
  if [[ "$status" != "$last" ]]; then
    log "   [$(printf '%4d' "$elapsed")s] $status"
    last="$status"
  else
    log "   [$(printf '%4d' "$elapsed")s] still $status"
  fi
  case "$status" in
    InService)
      info "endpoint $ENDPOINT_NAME is InService (test it with deploy/test.sh)"
      printf '%s\n' "$ENDPOINT_NAME"
      exit 0 ;;
    Failed|OutOfService|"")
      reason="$(awsr sagemaker describe-endpoint --endpoint-name "$ENDPOINT_NAME" \
        --query FailureReason --output text 2>/dev/null || true)"
      log "endpoint $ENDPOINT_NAME: ${status:-gone}; reason: ${reason:-unknown}"
      print_endpoint_logs "$ENDPOINT_NAME" 50
      if grep -qiE 'capacity|instance type' <<<"$reason"; then
        log "hint: $instance_type may be short or not offered in $REGION: try again later, another --instance-type, or another region."
      fi
      die "deployment of $ENDPOINT_NAME failed (${reason:-status ${status:-gone}}). Remove what is left with deploy/cleanup.sh." ;;
  esac
  if (( elapsed >= timeout )); then
    print_endpoint_logs "$ENDPOINT_NAME" 50
    die "endpoint $ENDPOINT_NAME is still $status after ${elapsed}s; check deploy/status.sh later, or remove it with deploy/cleanup.sh"
  fi
  sleep "$poll"
done
