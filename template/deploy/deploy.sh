#!/usr/bin/env bash
# Create the SageMaker model, endpoint configuration and endpoint.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/deploy.sh [options]

Creates a SageMaker model, an endpoint configuration and an endpoint, all named
<project> (or --endpoint-name), from the image that deploy/push.sh pushed, with
the instance type and timeouts from model.lock.json. Waits until the endpoint
is InService; when it fails, prints the reason and the last CloudWatch log
lines. A gated model gets only the ARN of its Secrets Manager secret
(HF_TOKEN_SECRET_ID), never the token: run deploy/secret.sh first. With
--model-data it needs no secret: the container makes no Hugging Face call.

Hosting modes (the README's "Hosting modes" says when to choose which):
  (default)             a real-time endpoint on a fixed number of instances;
                        deploy/autoscale.sh adds instance autoscaling
  --inference-component the model as an inference component (its own GPUs and
                        memory reserved per copy) on an endpoint with managed
                        instance scaling; deploy/autoscale.sh scales the copies,
                        down to zero with --min 0
  --async S3URI         an asynchronous endpoint: requests and answers go
                        through S3 (deploy/async_client.py), no 60 s limit

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
  --model-data S3URI    serve the weights from s3://bucket/prefix/ (uncompressed,
                        put there by deploy/upload_model.sh) instead of
                        downloading them from the Hugging Face Hub at start
  --inference-component host the model as an inference component (see above)
  --copies N            inference component copies to start (default 1)
  --max-instances N     most instances managed instance scaling may run
                        (default: as many as --copies, and at least 2 copies,
                        need; instances start only for copies)
  --memory-mb N         host memory (RAM, not GPU memory) each copy reserves
                        (default: deployment.inference_component_memory_mb in
                        the lock, what the engine process needs on the host;
                        more than the instance's host memory is refused)
  --async S3URI         asynchronous endpoint; answers go to S3URI/output/,
                        failures to S3URI/failure/
  --async-max-concurrency N
                        requests each instance works on at once (default:
                        SageMaker's)
  --no-wait             return once creation has started (with
                        --inference-component: once the component is requested)
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
model_data=""
use_ic=0
copies=""
max_instances=""
memory_mb=""
async_uri=""
async_concurrency=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --role-arn) [[ $# -ge 2 ]] || die "--role-arn needs a value"; role_arn="$2"; shift 2 ;;
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --image-uri) [[ $# -ge 2 ]] || die "--image-uri needs a value"; image_uri="$2"; shift 2 ;;
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; IMAGE_TAG="$2"; shift 2 ;;
    --instance-type) [[ $# -ge 2 ]] || die "--instance-type needs a value"; instance_override="$2"; shift 2 ;;
    --env) [[ $# -ge 2 ]] || die "--env needs KEY=VALUE"; extra_env+=("$2"); shift 2 ;;
    --model-data) [[ $# -ge 2 ]] || die "--model-data needs an S3 URI"; model_data="$2"; shift 2 ;;
    --inference-component) use_ic=1; shift ;;
    --copies) [[ $# -ge 2 ]] || die "--copies needs a number"; copies="$2"; shift 2 ;;
    --max-instances) [[ $# -ge 2 ]] || die "--max-instances needs a number"; max_instances="$2"; shift 2 ;;
    --memory-mb) [[ $# -ge 2 ]] || die "--memory-mb needs a number"; memory_mb="$2"; shift 2 ;;
    --async) [[ $# -ge 2 ]] || die "--async needs an S3 URI"; async_uri="$2"; shift 2 ;;
    --async-max-concurrency) [[ $# -ge 2 ]] || die "--async-max-concurrency needs a number"; async_concurrency="$2"; shift 2 ;;
    --no-wait) wait_for_it=0; shift ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

positive() {  # positive NAME VALUE [MIN]: VALUE is a whole number >= MIN (default 1)
  if [[ ! "$2" =~ ^[0-9]+$ ]] || (( 10#$2 < ${3:-1} )); then
    die "$1 wants a whole number of at least ${3:-1}, got '$2'"
  fi
}
if [[ $use_ic -eq 0 ]]; then
  for pair in "--copies:$copies" "--max-instances:$max_instances" "--memory-mb:$memory_mb"; do
    [[ -z "${pair#*:}" ]] || die "${pair%%:*} goes with --inference-component"
  done
fi
[[ -z "$async_concurrency" || -n "$async_uri" ]] || die "--async-max-concurrency goes with --async"
[[ $use_ic -eq 0 || -z "$async_uri" ]] || die "--async and --inference-component do not go together: SageMaker hosts inference components on real-time endpoints only"
[[ -z "$copies" ]] || positive --copies "$copies"
[[ -z "$max_instances" ]] || positive --max-instances "$max_instances"
[[ -z "$memory_mb" ]] || positive --memory-mb "$memory_mb" 128
[[ -z "$async_concurrency" ]] || positive --async-max-concurrency "$async_concurrency"
[[ -z "$copies" ]] || copies=$((10#$copies))
[[ -z "$max_instances" ]] || max_instances=$((10#$max_instances))
[[ -z "$memory_mb" ]] || memory_mb=$((10#$memory_mb))
[[ -z "$async_concurrency" ]] || async_concurrency=$((10#$async_concurrency))
[[ -z "$model_data" ]] || model_data="$(s3_prefix_uri "$model_data")" || exit 1
[[ -z "$async_uri" ]] || async_uri="$(s3_prefix_uri "$async_uri")" || exit 1

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
# CUDA 13 images need a newer host AMI (InferenceAmiVersion); null for the others.
ami_version="$(lock_get server.inference_ami_version)" || exit 1
tp_size="$(lock_get deployment.tensor_parallel_size)" || exit 1
gpu_count="$(lock_get deployment.gpu_count)" || exit 1
host_gib="$(lock_get deployment.host_memory_gib)" || exit 1
ic_memory_mb="$(lock_get deployment.inference_component_memory_mb)" || exit 1
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

# Inference component sizing: one copy reserves tensor_parallel_size GPUs and host memory.
# MinMemoryRequiredInMb is HOST memory (RAM), not GPU memory: the lock's
# deployment.inference_component_memory_mb is what the engine process needs on the host, within
# the copy's share of the instance (hooks/sizing.py host_memory). Another instance type than the
# lock's, or an older lock: 1024 MB, the SageMaker Python SDK's default (sagemaker-serve
# model_builder.py ~860-862: larger values "can exceed SageMaker inference component limits").
tp_size="${tp_size:-1}"
if [[ -n "$instance_override" && "$instance_override" != "$(lock_get deployment.instance_type)" ]]; then
  host_gib=""
  ic_memory_mb=""
fi
if [[ $use_ic -eq 1 ]]; then
  copies="${copies:-1}"
  host_mb=""
  [[ ! "$host_gib" =~ ^[0-9]+$ ]] || host_mb=$(( 10#$host_gib * 1024 ))
  if [[ -n "$memory_mb" && -n "$host_mb" ]] && (( memory_mb > host_mb )); then
    die "--memory-mb $memory_mb is more host memory than $instance_type has ($host_gib GiB = $host_mb MB), so no copy could ever be placed. It is host memory (RAM) for the engine process, not GPU memory: leave --memory-mb out (the default is ${ic_memory_mb:-1024} MB) or choose a larger --instance-type."
  fi
  if [[ -z "$memory_mb" ]]; then
    memory_mb="${ic_memory_mb:-1024}"
    [[ "$memory_mb" =~ ^[0-9]+$ ]] || die "$LOCK_FILE: deployment.inference_component_memory_mb wants a whole number of MB, got '$memory_mb'"
  fi
  [[ -n "$host_mb" ]] || [[ -z "$instance_override" ]] \
    || warn "the host memory of $instance_type is not in model.lock.json, so --memory-mb is not checked here"
  per_instance=1
  if [[ -z "$instance_override" && "$gpu_count" =~ ^[0-9]+$ && "$tp_size" =~ ^[0-9]+$ ]] && (( tp_size > 0 )); then
    per_instance=$(( gpu_count / tp_size ))
    (( per_instance >= 1 )) || per_instance=1
  fi
  initial_instances=$(( (copies + per_instance - 1) / per_instance ))
  # Room for deploy/autoscale.sh's default of 2 copies; instances start only for copies.
  max_instances="${max_instances:-$(( ((copies > 2 ? copies : 2) + per_instance - 1) / per_instance ))}"
  (( max_instances >= initial_instances )) \
    || die "--copies $copies needs $initial_instances instance(s) of $instance_type ($per_instance copies fit on one), more than --max-instances $max_instances"
fi

check_aws
model_name="$ENDPOINT_NAME"
config_name="$ENDPOINT_NAME"
ic_name="$ENDPOINT_NAME"

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

# ic_refused ERR: when AWS refused inference components (not in this region, or a
# quota), die with what to do instead; otherwise return 1.
ic_refused() {
  local err="$1" first
  [[ $use_ic -eq 1 ]] || return 1
  first="$(first_line "$err")"
  if grep -qi 'inference component' <<<"$err" && grep -qiE 'not (supported|available)|unsupported' <<<"$err"; then
    die "SageMaker inference components are not available in $REGION (AWS: ${first}). Deploy without --inference-component (deploy/autoscale.sh still scales instances), or in a region that offers them (project.aws_region in model.lock.json, or regenerate with awsRegion=...)."
  fi
  if grep -q 'ResourceLimitExceeded' <<<"$err"; then
    die "a SageMaker quota stops the inference component in $REGION (AWS: ${first}). Ask for more in Service Quotas (https://console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas), or start fewer copies (--copies) or instances (--max-instances)."
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
if [[ $use_ic -eq 1 ]]; then
  if aws_try out err sagemaker describe-inference-component --inference-component-name "$ic_name" \
      --query InferenceComponentStatus --output text; then
    die "an inference component named '$ic_name' already exists ($out; left over from an earlier deploy?). Remove it with deploy/cleanup.sh or choose another name with --endpoint-name."
  elif ! is_not_found "$err"; then
    ic_refused "$err" || die "aws sagemaker describe-inference-component failed: $err"
  fi
fi

# S3 locations: the weights must be there, the async bucket must exist.
if [[ -n "$model_data" ]]; then
  bucket="$(s3_bucket "$model_data")"
  key="$(s3_key "$model_data")"
  if ! aws_try out err s3api head-object --bucket "$bucket" --key "${key}config.json"; then
    if grep -qiE '404|not ?found|NoSuchKey|NoSuchBucket' <<<"$err"; then
      die "${model_data}config.json not found: put the pinned snapshot there first with deploy/upload_model.sh $model_data"
    fi
    die "cannot read ${model_data}config.json: $(first_line "$err")"
  fi
  # deploy/upload_model.sh leaves hf-snapshot.json ({"model", "sha"}) beside the weights.
  snapshot="$(mktemp)"
  if aws_try out err s3api get-object --bucket "$bucket" --key "${key}hf-snapshot.json" "$snapshot"; then
    s3_sha="$(json_get "$(cat "$snapshot")" sha)"
    rm -f "$snapshot"
    if [[ -n "$s3_sha" && -n "$model_sha" && "$s3_sha" != "$model_sha" ]]; then
      die "$model_data holds $model_id at $s3_sha, but model.lock.json pins $model_sha; upload the pinned snapshot with deploy/upload_model.sh $model_data"
    fi
  else
    rm -f "$snapshot"
    warn "$model_data has no hf-snapshot.json, so its revision is unknown (deploy/upload_model.sh writes one)"
  fi
  info "weights from $model_data (no Hugging Face download at start)"
fi
if [[ -n "$async_uri" ]]; then
  if ! aws_try out err s3api head-bucket --bucket "$(s3_bucket "$async_uri")"; then
    die "bucket $(s3_bucket "$async_uri") is not there or not yours ($(first_line "$err")); create it with: aws s3 mb s3://$(s3_bucket "$async_uri") --region $REGION"
  fi
fi

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
needs_secret=0
if is_gated "$gated" || [[ -n "$secret_name" ]]; then
  needs_secret=1
fi
if [[ $needs_secret -eq 1 && -n "$model_data" ]]; then
  # The serve script serves /opt/ml/model without any hub call when it holds config.json
  # (checked above), so the container needs no token and the role no access to the secret.
  info "weights from $model_data: the container makes no Hugging Face call, so it gets no token (no secret needed)"
  needs_secret=0
fi
if [[ $needs_secret -eq 1 ]]; then
  [[ -n "$secret_name" ]] || die "the model is gated but model.lock.json has no project.hf_token_secret_name"
  if ! aws_try secret_arn err secretsmanager describe-secret --secret-id "$secret_name" \
      --query ARN --output text; then
    if is_not_found "$err"; then
      die "Secrets Manager secret '$secret_name' not found; create it with deploy/secret.sh (the model $model_id is gated), or serve the weights from S3 with --model-data (deploy/upload_model.sh), which needs no token on the endpoint"
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
  ic_group_arn=""
  [[ $use_ic -eq 0 ]] || ic_group_arn="arn:${PARTITION}:logs:${REGION}:${ACCOUNT_ID}:log-group:$(ic_log_group "$ic_name")"
  policy="$(python3 - "$repo_arn" "$log_group_arn" "$secret_arn" "$ic_group_arn" "$PARTITION" "$model_data" \
    "$async_uri" <<'PY'
import json, sys
repo_arn, group_arn, secret_arn, ic_group_arn, partition, model_data, async_uri = sys.argv[1:8]
groups = [group_arn] + ([ic_group_arn] if ic_group_arn else [])
statements = [
    {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Sid": "EcrPull", "Effect": "Allow",
     "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
     "Resource": repo_arn},
    {"Sid": "Logs", "Effect": "Allow",
     "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
     "Resource": [arn for g in groups for arn in (g, g + ":log-stream:*")]},
]
if secret_arn:
    statements.append({"Sid": "HfTokenSecret", "Effect": "Allow",
                       "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn})

def split(uri):  # s3://bucket/prefix/ -> bucket, prefix/
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    return bucket, prefix

if model_data:  # SageMaker copies s3://bucket/prefix/ to /opt/ml/model with this role
    bucket, prefix = split(model_data)
    statements.append({"Sid": "ModelDataRead", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*"})
    statements.append({"Sid": "ModelDataList", "Effect": "Allow", "Action": "s3:ListBucket",
                       "Resource": f"arn:{partition}:s3:::{bucket}",
                       "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}})
if async_uri:  # requests are read from, answers written to s3://bucket/prefix/
    bucket, prefix = split(async_uri)
    statements.append({"Sid": "AsyncRead", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*"})
    statements.append({"Sid": "AsyncWrite", "Effect": "Allow", "Action": "s3:PutObject",
                       "Resource": [f"arn:{partition}:s3:::{bucket}/{prefix}output/*",
                                    f"arn:{partition}:s3:::{bucket}/{prefix}failure/*"]})
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
  "$model_id" "$model_sha" "$server_name" "$model_data" ${extra_env[@]+"${extra_env[@]}"} <<'PY'
import json, sys
out, name, role, image, secret_arn, project, model_id, sha, server, model_data, *extra = sys.argv[1:]
env = {}
if secret_arn:
    env["HF_TOKEN_SECRET_ID"] = secret_arn
for item in extra:
    key, _, value = item.partition("=")
    env[key] = value
container = {"Image": image, "Mode": "SingleModel", "Environment": env}
if model_data:
    # Uncompressed files under the prefix, copied to /opt/ml/model before the container
    # starts; the serve script serves that directory when it holds config.json.
    container["ModelDataSource"] = {"S3DataSource": {"S3Uri": model_data, "S3DataType": "S3Prefix",
                                                     "CompressionType": "None"}}
spec = {
    "ModelName": name,
    "ExecutionRoleArn": role,
    "PrimaryContainer": container,
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
    "$startup_timeout" "$download_timeout" "$volume_size" "$1" "$PROJECT_NAME" "$ami_version" \
    "$use_ic" "${initial_instances:-1}" "${max_instances:-1}" "$role_arn" "$async_uri" "$async_concurrency" <<'PY'
import json, sys
(out, name, model, itype, startup, download, volume, with_volume, project, ami, use_ic, initial, most,
 role, async_uri, async_concurrency) = sys.argv[1:]
variant = {"VariantName": "AllTraffic", "InstanceType": itype}
spec = {"EndpointConfigName": name, "ProductionVariants": [variant],
        "Tags": [{"Key": "project", "Value": project}]}
if use_ic == "1":
    # Inference components: the variant names no model; instances come and go with the
    # copies (MinInstanceCount 0 lets deploy/autoscale.sh --min 0 reach zero), requests
    # go to the copy with the fewest in flight. The role moves to the config.
    variant.update({"InitialInstanceCount": int(initial),
                    "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0,
                                               "MaxInstanceCount": int(most)},
                    "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}})
    spec["ExecutionRoleArn"] = role
else:
    variant.update({"ModelName": model, "InitialInstanceCount": 1, "InitialVariantWeight": 1.0})
    if startup:
        variant["ContainerStartupHealthCheckTimeoutInSeconds"] = int(startup)
    if download:
        variant["ModelDataDownloadTimeoutInSeconds"] = int(download)
if volume and with_volume == "1":
    variant["VolumeSizeInGB"] = int(volume)
if ami:  # CUDA 13 images need the newer host AMI; older images get none
    variant["InferenceAmiVersion"] = ami
if async_uri:
    async_config = {"OutputConfig": {"S3OutputPath": async_uri + "output/",
                                     "S3FailurePath": async_uri + "failure/"}}
    if async_concurrency:
        async_config["ClientConfig"] = {"MaxConcurrentInvocationsPerInstance": int(async_concurrency)}
    spec["AsyncInferenceConfig"] = async_config
with open(out, "w", encoding="utf-8") as fh:
    json.dump(spec, fh)
PY
}
mode="real-time"
[[ $use_ic -eq 0 ]] || mode="inference components, $initial_instances to $max_instances instance(s)"
[[ -z "$async_uri" ]] || mode="asynchronous, answers in ${async_uri}output/"
info "creating endpoint config $config_name ($mode; $instance_type, startup health check ${startup_timeout:-default}s, download ${download_timeout:-default}s, volume ${volume_size:-default} GB${ami_version:+, host AMI $ami_version})"
write_config 1
if ! aws_try out err sagemaker create-endpoint-config --cli-input-json "file://$work/config.json" --output json; then
  # Instances with local NVMe storage (e.g. ml.g5, ml.p4d) reject VolumeSizeInGB.
  if [[ -n "$volume_size" ]] && grep -qi 'volume' <<<"$err"; then
    warn "$instance_type does not take VolumeSizeInGB (it has instance storage); creating the config without it"
    write_config 0
    if ! aws_try out err sagemaker create-endpoint-config --cli-input-json "file://$work/config.json" --output json; then
      instance_type_refused "$err" || ic_refused "$err" || die "create-endpoint-config failed: $err"
    fi
  else
    instance_type_refused "$err" || ic_refused "$err" || die "create-endpoint-config failed: $err"
  fi
fi
created_config=1

# 7. Endpoint ----------------------------------------------------------------------------
info "creating endpoint $ENDPOINT_NAME"
if ! aws_try out err sagemaker create-endpoint --endpoint-name "$ENDPOINT_NAME" \
    --endpoint-config-name "$config_name" --tags "Key=project,Value=$PROJECT_NAME" --output json; then
  grep -qi 'already exist' <<<"$err" && die "endpoint '$ENDPOINT_NAME' already exists (created by someone else just now?)"
  instance_type_refused "$err" || ic_refused "$err" || die "create-endpoint failed: $err"
fi
endpoint_started=1

if [[ $wait_for_it -eq 0 && $use_ic -eq 0 ]]; then
  info "endpoint $ENDPOINT_NAME is being created; follow it with deploy/status.sh and deploy/logs.sh"
  printf '%s\n' "$ENDPOINT_NAME"
  exit 0
fi

# 8. Wait -----------------------------------------------------------------------------------
timeout="${timeout:-$(( ${startup_timeout:-600} + ${download_timeout:-600} + 900 ))}"
# wait_until KIND NAME: poll until InService (return 0) or a failure (die).
wait_until() {
  local kind="$1" name="$2" start=$SECONDS last="" status elapsed reason group
  info "waiting for $kind $name to be InService (up to ${timeout}s; Ctrl-C stops waiting, not the deployment)"
  while :; do
    if [[ "$kind" == "endpoint" ]]; then
      status="$(endpoint_status "$name")" || exit 1
    else
      status="$(ic_status "$name")" || exit 1
    fi
    elapsed=$((SECONDS - start))
    if [[ "$status" != "$last" ]]; then
      log "   [$(printf '%4d' "$elapsed")s] $status"
      last="$status"
    else
      log "   [$(printf '%4d' "$elapsed")s] still $status"
    fi
    case "$status" in
      InService) return 0 ;;
      Failed|OutOfService|"")
        if [[ "$kind" == "endpoint" ]]; then
          reason="$(awsr sagemaker describe-endpoint --endpoint-name "$name" \
            --query FailureReason --output text 2>/dev/null || true)"
          group="$(log_group "$name")"
        else
          reason="$(awsr sagemaker describe-inference-component --inference-component-name "$name" \
            --query FailureReason --output text 2>/dev/null || true)"
          group="$(ic_log_group "$name")"
        fi
        log "$kind $name: ${status:-gone}; reason: ${reason:-unknown}"
        print_endpoint_logs "$ENDPOINT_NAME" 50 "$group"
        if grep -qiE 'hardware resources|not enough (memory|accelerator)' <<<"$reason"; then
          log "hint: one copy asks for $tp_size GPU(s) and ${memory_mb:-?} MB of host memory, more than $instance_type can give it; lower the memory reservation (--memory-mb, e.g. 1024) or choose a larger --instance-type."
        elif grep -qiE 'capacity|instance type' <<<"$reason"; then
          log "hint: $instance_type may be short or not offered in $REGION: try again later, another --instance-type, or another region."
        fi
        local what="$name"
        [[ "$kind" == "endpoint" ]] || what="$kind $name"
        die "deployment of $what failed (${reason:-status ${status:-gone}}). Remove what is left with deploy/cleanup.sh." ;;
    esac
    if (( elapsed >= timeout )); then
      if [[ "$kind" == "endpoint" ]]; then group="$(log_group "$name")"; else group="$(ic_log_group "$name")"; fi
      print_endpoint_logs "$ENDPOINT_NAME" 50 "$group"
      die "$kind $name is still $status after ${elapsed}s; check deploy/status.sh later, or remove it with deploy/cleanup.sh"
    fi
    sleep "$poll"
  done
}

wait_until endpoint "$ENDPOINT_NAME"
if [[ $use_ic -eq 1 ]]; then
  # 9. Inference component: the model, with its GPUs and memory reserved per copy -----------
  python3 - "$work/ic.json" "$ic_name" "$ENDPOINT_NAME" "$model_name" "$startup_timeout" "$download_timeout" \
    "$tp_size" "$memory_mb" "$copies" "$PROJECT_NAME" <<'PY'
import json, sys
out, name, endpoint, model, startup, download, tp, memory, copies, project = sys.argv[1:]
startup_parameters = {}
if download:
    startup_parameters["ModelDataDownloadTimeoutInSeconds"] = int(download)
if startup:
    startup_parameters["ContainerStartupHealthCheckTimeoutInSeconds"] = int(startup)
spec = {"ModelName": model,
        "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": int(tp),
                                        "MinMemoryRequiredInMb": int(memory)}}
if startup_parameters:
    spec["StartupParameters"] = startup_parameters
body = {"InferenceComponentName": name, "EndpointName": endpoint, "VariantName": "AllTraffic",
        "Specification": spec, "RuntimeConfig": {"CopyCount": int(copies)},
        "Tags": [{"Key": "project", "Value": project}]}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(body, fh)
PY
  info "creating inference component $ic_name ($copies cop$([[ $copies -eq 1 ]] && echo y || echo ies), each $tp_size GPU(s) and $memory_mb MB of host memory)"
  if ! aws_try out err sagemaker create-inference-component --cli-input-json "file://$work/ic.json" --output json; then
    ic_refused "$err" || die "create-inference-component failed: $err (the endpoint is up without a model; remove it with deploy/cleanup.sh)"
  fi
  if [[ $wait_for_it -eq 0 ]]; then
    info "inference component $ic_name is being created; follow it with deploy/status.sh"
    printf '%s\n' "$ENDPOINT_NAME"
    exit 0
  fi
  wait_until "inference component" "$ic_name"
fi
info "endpoint $ENDPOINT_NAME is InService (test it with deploy/test.sh)"
printf '%s\n' "$ENDPOINT_NAME"
