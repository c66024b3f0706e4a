# shellcheck shell=bash
# Shared helpers for the deploy scripts. Sourced, never run.
#
# Every fact comes from ../model.lock.json at run time (override the path with
# MODEL_LOCK). AWS calls go through the AWS CLI, which honours the usual
# credential chain, AWS_PROFILE, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.

DEPLOY_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(cd -- "$DEPLOY_DIR/.." && pwd)"
LOCK_FILE="${MODEL_LOCK:-$PROJECT_DIR/model.lock.json}"
# Never page AWS CLI output (CLI v2 pages by default; v1 ignores this).
export AWS_PAGER=""

log() { printf '%s\n' "$*" >&2; }
info() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed or not on PATH${2:+ ($2)}"
}

need_cmd python3 "the deploy scripts read model.lock.json with it"

# The JSON reader lock_get and json_get share: argv = (file|text, the path or the JSON text, KEY.PATH).
# Prints the value: '' for null or missing, true/false, JSON for objects and lists; a number
# KEY part indexes a list. A file that cannot be read or parsed is an error; text that does not
# parse counts as {} (an AWS answer that is empty).
_JSON_GET_PY='
import json, sys
source, where, key = sys.argv[1:4]
if source == "file":
    try:
        with open(where, encoding="utf-8") as fh:
            value = json.load(fh)
    except OSError as exc:
        sys.exit(f"error: cannot read {where}: {exc.strerror}")
    except ValueError as exc:
        sys.exit(f"error: {where} is not valid JSON: {exc}")
else:
    try:
        value = json.loads(where or "{}")
    except ValueError:
        value = {}
for part in key.split("."):
    if isinstance(value, list) and part.isdigit():
        value = value[int(part)] if int(part) < len(value) else None
    else:
        value = value.get(part) if isinstance(value, dict) else None
if value is None:
    print("")
elif isinstance(value, bool):
    print("true" if value else "false")
elif isinstance(value, (dict, list)):
    print(json.dumps(value))
else:
    print(value)
'

# lock_get KEY.PATH -> prints the value ('' for null or missing; JSON for objects).
lock_get() {
  python3 -c "$_JSON_GET_PY" file "$LOCK_FILE" "$1"
}

# lock_require KEY.PATH -> like lock_get, but a missing value is an error.
lock_require() {
  local value
  value="$(lock_get "$1")" || exit 1
  [[ -n "$value" ]] || die "$LOCK_FILE has no value for '$1'"
  printf '%s\n' "$value"
}

# is_gated VALUE: VALUE (model.gated) marks a gated model. The lock holds the hub's own value:
# "manual" or "auto" for a gated repository, false otherwise (hooks/facts.py); true is accepted too.
is_gated() { [[ -n "$1" && "$1" != "false" ]]; }

# Names -----------------------------------------------------------------------

# SageMaker names: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
sagemaker_name() {
  local name
  name="$(printf '%s' "$1" | tr -c 'a-zA-Z0-9-' '-' | tr -s '-')"
  name="${name#-}"
  name="${name:0:63}"
  name="${name%-}"
  [[ -n "$name" ]] || die "cannot make a SageMaker name from '$1'"
  printf '%s\n' "$name"
}

# ECR repository names: lower case, [a-z0-9] separated by single . _ or -
ecr_repo_name() {
  local name
  name="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9._-' '-' | tr -s '._-')"
  name="${name#[._-]}"
  name="${name%[._-]}"
  [[ ${#name} -ge 2 ]] || die "cannot make an ECR repository name from '$1'"
  printf '%s\n' "$name"
}

# Image tag: <version>-<git short sha>[-dirty]. The version is the newest git tag
# (git describe), else the VERSION file, else 0.0.0. IMAGE_TAG overrides all.
# tag_parts sets TAG_VERSION, TAG_SHA (may be empty), TAG_DIRTY (0|1) and
# TAG_EXACT (1 when HEAD carries the version's git tag).
tag_parts() {
  TAG_VERSION=""
  TAG_SHA=""
  TAG_DIRTY=0
  TAG_EXACT=0
  if git -C "$PROJECT_DIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    TAG_VERSION="$(git -C "$PROJECT_DIR" describe --tags --abbrev=0 2>/dev/null || true)"
    TAG_SHA="$(git -C "$PROJECT_DIR" rev-parse --short HEAD 2>/dev/null || true)"
    if [[ -n "$TAG_SHA" ]] && [[ -n "$(git -C "$PROJECT_DIR" status --porcelain 2>/dev/null)" ]]; then
      TAG_DIRTY=1
    fi
    if [[ -n "$TAG_VERSION" ]] && git -C "$PROJECT_DIR" describe --tags --exact-match HEAD >/dev/null 2>&1; then
      TAG_EXACT=1
    fi
  fi
  if [[ -z "$TAG_VERSION" && -f "$PROJECT_DIR/VERSION" ]]; then
    TAG_VERSION="$(tr -d '[:space:]' <"$PROJECT_DIR/VERSION")"
  fi
  TAG_VERSION="${TAG_VERSION:-0.0.0}"
  TAG_VERSION="${TAG_VERSION#v}"
}

# docker_tag STRING -> a valid Docker tag: [A-Za-z0-9_.-], not starting with . or -,
# at most 128 characters.
docker_tag() {
  local tag
  tag="$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '-')"
  tag="${tag#[.-]}"
  printf '%s\n' "${tag:0:128}"
}

image_tag() {
  if [[ -n "${IMAGE_TAG:-}" ]]; then
    printf '%s\n' "$IMAGE_TAG"
    return
  fi
  local sha
  tag_parts
  sha="$TAG_SHA"
  [[ -n "$sha" && $TAG_DIRTY -eq 1 ]] && sha="$sha-dirty"
  docker_tag "$TAG_VERSION${sha:+-$sha}"
}

# release_tags -> the extra tags push.sh adds, one a line: from a clean git
# checkout the short sha, and the version when HEAD carries its tag. None when
# IMAGE_TAG is set or the tree has uncommitted changes.
release_tags() {
  [[ -z "${IMAGE_TAG:-}" ]] || return 0
  tag_parts
  [[ -n "$TAG_SHA" && $TAG_DIRTY -eq 0 ]] || return 0
  [[ $TAG_EXACT -eq 1 ]] && docker_tag "$TAG_VERSION"
  docker_tag "$TAG_SHA"
}

# Project facts ---------------------------------------------------------------

# load_project: sets PROJECT_NAME REGION DEPLOY_TARGET ENDPOINT_NAME REPO_NAME
# (ENDPOINT_NAME and REPO_NAME may be preset by options or the environment).
load_project() {
  [[ -f "$LOCK_FILE" ]] || die "$LOCK_FILE not found (run the scripts from a generated project, or set MODEL_LOCK)"
  PROJECT_NAME="$(lock_require project.name)" || exit 1
  REGION="$(lock_require project.aws_region)" || exit 1
  DEPLOY_TARGET="$(lock_get project.deploy_target)" || exit 1
  DEPLOY_TARGET="${DEPLOY_TARGET:-sagemaker}"
  ENDPOINT_NAME="$(sagemaker_name "${ENDPOINT_NAME:-$PROJECT_NAME}")" || exit 1
  REPO_NAME="$(ecr_repo_name "${REPO_NAME:-$PROJECT_NAME}")" || exit 1
}

# AWS -------------------------------------------------------------------------

awsr() { aws --region "$REGION" "$@"; }

# check_aws: the CLI exists and credentials work; sets ACCOUNT_ID and PARTITION.
check_aws() {
  need_cmd aws "install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
  local out err
  err="$(mktemp)"
  if ! out="$(awsr sts get-caller-identity --query Arn --output text 2>"$err")"; then
    local first
    first="$(grep -v '^\s*$' "$err" | head -n 1)"
    rm -f "$err"
    die "no usable AWS credentials (aws sts get-caller-identity failed: ${first:-no output}). Configure them with 'aws configure', 'aws sso login', AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."
  fi
  rm -f "$err"
  # arn:<partition>:<service>::<account>:...
  PARTITION="$(printf '%s' "$out" | cut -d: -f2)"
  ACCOUNT_ID="$(printf '%s' "$out" | cut -d: -f5)"
  [[ -n "$ACCOUNT_ID" ]] || die "could not read the AWS account id from '$out'"
}

# aws_try OUTVAR ERRVAR aws-args... : runs awsr, stores stdout and stderr, returns its status.
aws_try() {
  local __out_var="$1" __err_var="$2" __errf __rc=0 __out
  shift 2
  __errf="$(mktemp)"
  __out="$(awsr "$@" 2>"$__errf")" || __rc=$?
  printf -v "$__out_var" '%s' "$__out"
  printf -v "$__err_var" '%s' "$(cat "$__errf")"
  rm -f "$__errf"
  return "$__rc"
}

# first_line TEXT -> its first non-blank line (AWS CLI errors start with a blank one).
first_line() { grep -v '^[[:space:]]*$' <<<"$1" | head -n 1 || true; }

is_not_found() {
  grep -qiE 'could not find|does not exist|not ?found|NoSuchEntity|ResourceNotFound|RepositoryNotFound|cannot find' <<<"$1"
}

# sm_exists KIND NAME: KIND is endpoint, endpoint-config or model. 0 = exists,
# 1 = does not exist, anything else -> die with the CLI's message.
sm_exists() {
  local kind="$1" name="$2" out err
  if aws_try out err sagemaker "describe-$kind" "--$kind-name" "$name" --output json; then
    return 0
  fi
  is_not_found "$err" && return 1
  die "aws sagemaker describe-$kind $name failed: $err"
}

# endpoint_status NAME -> prints the status, or nothing when there is no endpoint.
endpoint_status() {
  local out err
  if aws_try out err sagemaker describe-endpoint --endpoint-name "$1" --query EndpointStatus --output text; then
    printf '%s\n' "$out"
    return 0
  fi
  is_not_found "$err" && return 0
  die "aws sagemaker describe-endpoint failed: $err"
}

# json_get JSON KEY.PATH -> the value ('' for null or missing; JSON for objects and lists).
json_get() {
  python3 -c "$_JSON_GET_PY" text "$1" "$2"
}

# endpoint_facts NAME: sets EP_JSON (DescribeEndpoint's answer), EP_STATUS ('' when
# there is no endpoint), EP_CONFIG_NAME,
# EP_CONFIG_JSON ('{}' when unreadable) and EP_MODE: 'ic' when the variant names no
# model (the model runs as inference components), 'async' with AsyncInferenceConfig,
# else 'model'.
# shellcheck disable=SC2034 # EP_* are read by the scripts that source lib.sh
endpoint_facts() {
  local out err
  EP_JSON="{}"
  EP_STATUS=""
  EP_CONFIG_NAME=""
  EP_CONFIG_JSON="{}"
  EP_MODE=""
  if ! aws_try out err sagemaker describe-endpoint --endpoint-name "$1" --output json; then
    is_not_found "$err" && return 0
    die "aws sagemaker describe-endpoint failed: $err"
  fi
  EP_JSON="$out"
  EP_STATUS="$(json_get "$out" EndpointStatus)"
  EP_CONFIG_NAME="$(json_get "$out" EndpointConfigName)"
  if aws_try out err sagemaker describe-endpoint-config --endpoint-config-name "$EP_CONFIG_NAME" --output json; then
    EP_CONFIG_JSON="$out"
  fi
  EP_MODE="$(python3 -c '
import json, sys
cfg = json.loads(sys.argv[1] or "{}")
variants = cfg.get("ProductionVariants") or [{}]
if cfg.get("AsyncInferenceConfig"):
    print("async")
elif not variants[0].get("ModelName") and variants[0].get("InstanceType"):
    print("ic")
else:
    print("model")
' "$EP_CONFIG_JSON")"
}

# Inference components ----------------------------------------------------------

ic_log_group() { printf '/aws/sagemaker/InferenceComponents/%s\n' "$1"; }

# endpoint_ics ENDPOINT -> the inference components on the endpoint, one a line.
endpoint_ics() {
  local out err
  if ! aws_try out err sagemaker list-inference-components --endpoint-name-equals "$1" \
      --query 'InferenceComponents[].InferenceComponentName' --output text; then
    die "aws sagemaker list-inference-components failed: $err"
  fi
  out="${out//None/}"
  tr -s '[:space:]' '\n' <<<"$out" | sed '/^$/d'
}

# ic_status NAME -> its status, or nothing when there is no such inference component.
ic_status() {
  local out err
  if aws_try out err sagemaker describe-inference-component --inference-component-name "$1" \
      --query InferenceComponentStatus --output text; then
    printf '%s\n' "$out"
    return 0
  fi
  is_not_found "$err" && return 0
  die "aws sagemaker describe-inference-component failed: $err"
}

# pick_ic ENDPOINT [NAME]: sets IC_NAME to NAME (checked), or to the one inference
# component on the endpoint; dies when there are several and none was named.
# shellcheck disable=SC2034 # IC_NAME is read by the scripts that source lib.sh
pick_ic() {
  local endpoint="$1" wanted="${2:-}" names=()
  mapfile -t names < <(endpoint_ics "$endpoint")
  [[ ${#names[@]} -gt 0 ]] || die "endpoint '$endpoint' hosts no inference component yet (see deploy/status.sh)"
  if [[ -n "$wanted" ]]; then
    printf '%s\n' "${names[@]}" | grep -qxF -- "$wanted" \
      || die "endpoint '$endpoint' hosts no inference component '$wanted' (it hosts: ${names[*]})"
    IC_NAME="$wanted"
  elif [[ ${#names[@]} -eq 1 ]]; then
    IC_NAME="${names[0]}"
  else
    die "endpoint '$endpoint' hosts several inference components (${names[*]}); choose one with --inference-component-name"
  fi
}

# scaling_names NAME: the names deploy/autoscale.sh gives what it creates for NAME (an
# endpoint or an inference component): TRACKING_POLICY, WAKE_POLICY (the step policy
# that brings copies back from zero) and WAKE_ALARM (its CloudWatch alarm).
# shellcheck disable=SC2034 # read by the scripts that source lib.sh
scaling_names() {
  TRACKING_POLICY="$(sagemaker_name "${1:0:40}-target-tracking")" || exit 1
  WAKE_POLICY="$(sagemaker_name "${1:0:40}-scale-from-zero")" || exit 1
  WAKE_ALARM="$(sagemaker_name "${1:0:40}-no-capacity")" || exit 1
}

# S3 ------------------------------------------------------------------------------

# s3_prefix_uri URI -> s3://bucket/prefix/ (one trailing slash; s3://bucket/ for a
# whole bucket), or dies when URI is not an S3 URI.
s3_prefix_uri() {
  local uri="$1" bucket path
  [[ "$uri" =~ ^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?$ ]] \
    || die "'$uri' is not an S3 location like s3://bucket/prefix/ (bucket names are lower case)"
  bucket="${BASH_REMATCH[1]}"
  path="${BASH_REMATCH[2]:-}"
  path="${path#/}"
  path="${path%/}"
  [[ "$path" != *//* ]] || die "'$uri' has an empty path segment (//)"
  printf 's3://%s/%s\n' "$bucket" "${path:+$path/}"
}
s3_bucket() { local u="${1#s3://}"; printf '%s\n' "${u%%/*}"; }
s3_key() { local u="${1#s3://}"; [[ "$u" == */* ]] && u="${u#*/}" || u=""; printf '%s\n' "$u"; }

ecr_registry() {
  if [[ -n "${ECR_REGISTRY:-}" ]]; then
    printf '%s\n' "${ECR_REGISTRY%/}"
  else
    local suffix="amazonaws.com"
    [[ "${PARTITION:-aws}" == "aws-cn" ]] && suffix="amazonaws.com.cn"
    printf '%s.dkr.ecr.%s.%s\n' "$ACCOUNT_ID" "$REGION" "$suffix"
  fi
}

# ensure_ecr_repo: create the ECR repository $REPO_NAME when it is missing.
ensure_ecr_repo() {
  local out err
  if aws_try out err ecr describe-repositories --repository-names "$REPO_NAME" --output json; then
    info "ECR repository $REPO_NAME exists"
  elif is_not_found "$err"; then
    info "creating ECR repository $REPO_NAME"
    awsr ecr create-repository --repository-name "$REPO_NAME" \
      --image-scanning-configuration scanOnPush=true \
      --encryption-configuration encryptionType=AES256 \
      --tags "Key=project,Value=$PROJECT_NAME" >/dev/null \
      || die "could not create ECR repository $REPO_NAME"
  else
    die "aws ecr describe-repositories failed: $err"
  fi
}

# codebuild_names: CB_PROJECT, CB_BUCKET and CB_ROLE for deploy/codebuild.sh
# (needs REPO_NAME, ACCOUNT_ID and REGION).
# shellcheck disable=SC2034 # CB_* are read by the scripts that source lib.sh
codebuild_names() {
  CB_PROJECT="$(sagemaker_name "${REPO_NAME:0:200}-image")" || exit 1
  CB_BUCKET="$(printf '%s' "${REPO_NAME:0:28}" | tr '._' '--' | sed 's/-*$//')-cb-${ACCOUNT_ID}-${REGION}"
  CB_ROLE="${CB_PROJECT:0:54}-codebuild"
}

log_group() { printf '/aws/sagemaker/Endpoints/%s\n' "$1"; }

# print_endpoint_logs NAME [LINES [GROUP]]: the newest lines of the newest log streams
# of the endpoint's log group (or of GROUP, e.g. an inference component's).
print_endpoint_logs() {
  local name="$1" lines="${2:-50}" group streams err stream
  group="${3:-$(log_group "$name")}"
  if ! aws_try streams err logs describe-log-streams --log-group-name "$group" \
      --order-by LastEventTime --descending --max-items 2 \
      --query 'logStreams[].logStreamName' --output text; then
    log "(no CloudWatch logs in $group: ${err:-unknown error})"
    return 0
  fi
  streams="${streams//None/}"
  if [[ -z "${streams//[[:space:]]/}" ]]; then
    log "(log group $group has no streams yet)"
    return 0
  fi
  for stream in $streams; do
    log "---- last $lines lines of $group/$stream ----"
    awsr logs get-log-events --log-group-name "$group" --log-stream-name "$stream" \
      --limit "$lines" --query 'events[].message' --output text 2>&1 | tr '\t' '\n' >&2 || true
  done
}

# confirm PROMPT: asks on the terminal; fails when there is no terminal.
confirm() {
  local answer
  if [[ ! -t 0 ]]; then
    die "$1 -- no terminal to ask on; pass --yes to confirm"
  fi
  read -r -p "$1 [y/N] " answer
  [[ "$answer" =~ ^[Yy]([Ee][Ss])?$ ]]
}
