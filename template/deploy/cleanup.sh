#!/usr/bin/env bash
# Delete the endpoint, its endpoint configuration and its model.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/cleanup.sh [options]

Deletes the SageMaker endpoint <name> and what belongs to it, in this order:
the autoscaling deploy/autoscale.sh set up (alarm, scaling policies, scalable
targets), its inference components, the endpoint, the endpoint configuration
and model it uses, and any endpoint configuration, model or inference component
named <name> that a failed deploy left behind. Asks first unless --yes. Safe to
run again.

Options:
  --endpoint-name NAME   endpoint (default: project name)
  --delete-repository    also delete the ECR repository and all its images
  --delete-role          also delete the execution role deploy.sh created
                         (<name>-sagemaker-exec)
  --delete-codebuild     also delete what deploy/codebuild.sh created: the
                         CodeBuild project, its source bucket and its role
  --delete-secret        also delete the Hugging Face token secret (7-day
                         recovery window)
  -y, --yes              do not ask
  -h, --help             show this help
USAGE
}

yes=0
delete_repo=0
delete_role=0
delete_secret=0
delete_codebuild=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-name) [[ $# -ge 2 ]] || die "--endpoint-name needs a value"; ENDPOINT_NAME="$2"; shift 2 ;;
    --delete-repository) delete_repo=1; shift ;;
    --delete-role) delete_role=1; shift ;;
    --delete-secret) delete_secret=1; shift ;;
    --delete-codebuild) delete_codebuild=1; shift ;;
    -y|--yes) yes=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

load_project
check_aws
role_name="$(printf '%s' "${ENDPOINT_NAME:0:48}" | sed 's/-*$//')-sagemaker-exec"
secret_name="$(lock_get project.hf_token_secret_name)" || exit 1

# report_kept: name what this run leaves in place and how to remove it too.
report_kept() {
  local kept=() out err
  if [[ $delete_repo -eq 0 ]] && aws_try out err ecr describe-repositories --repository-names "$REPO_NAME" --output json; then
    kept+=("ECR repository $REPO_NAME (--delete-repository)")
  fi
  if [[ $delete_role -eq 0 ]] && aws_try out err iam get-role --role-name "$role_name" --output json; then
    kept+=("IAM role $role_name (--delete-role)")
  fi
  if [[ $delete_secret -eq 0 && -n "$secret_name" ]] \
      && aws_try out err secretsmanager describe-secret --secret-id "$secret_name" --output json; then
    kept+=("secret $secret_name (--delete-secret)")
  fi
  if [[ $delete_codebuild -eq 0 && "$DEPLOY_TARGET" == "codebuild" ]]; then
    codebuild_names
    if aws_try out err codebuild batch-get-projects --names "$CB_PROJECT" --query 'projects[].name' --output text \
        && [[ -n "$out" && "$out" != "None" ]]; then
      kept+=("CodeBuild project $CB_PROJECT, its bucket and role (--delete-codebuild)")
    fi
  fi
  [[ ${#kept[@]} -gt 0 ]] || return 0
  log "kept (pass the option to delete it too):"
  local item
  for item in "${kept[@]}"; do log "  - $item"; done
}

# Collect what exists.
configs=()
models=()
out=""
err=""
# variant_models CONFIG_JSON -> the models an endpoint config's variants name, one a line.
variant_models() {
  python3 -c '
import json, sys
for v in json.loads(sys.argv[1] or "{}").get("ProductionVariants") or []:
    if v.get("ModelName"):
        print(v["ModelName"])' "$1"
}
endpoint_facts "$ENDPOINT_NAME"
status="$EP_STATUS"
if [[ -n "$status" ]]; then
  configs+=("$EP_CONFIG_NAME")
  while read -r model; do models+=("$model"); done < <(variant_models "$EP_CONFIG_JSON")
fi
if [[ "${configs[*]:-}" != "$ENDPOINT_NAME" ]]; then
  if aws_try out err sagemaker describe-endpoint-config --endpoint-config-name "$ENDPOINT_NAME" --output json; then
    configs+=("$ENDPOINT_NAME")
    while read -r model; do
      [[ " ${models[*]:-} " == *" $model "* ]] || models+=("$model")
    done < <(variant_models "$out")
  elif ! is_not_found "$err"; then
    die "aws sagemaker describe-endpoint-config $ENDPOINT_NAME failed: $err"
  fi
fi
if [[ " ${models[*]:-} " != *" $ENDPOINT_NAME "* ]] && sm_exists model "$ENDPOINT_NAME"; then
  models+=("$ENDPOINT_NAME")
fi

# Inference components on the endpoint (they outlive a deleted endpoint, so also the
# one deploy.sh names after it), and the autoscaling of each and of the variant.
ics=()
if [[ -n "$status" && "$EP_MODE" == "ic" ]]; then
  mapfile -t ics < <(endpoint_ics "$ENDPOINT_NAME")
fi
if [[ " ${ics[*]:-} " != *" $ENDPOINT_NAME "* ]] && aws_try out err sagemaker describe-inference-component \
    --inference-component-name "$ENDPOINT_NAME" --query InferenceComponentStatus --output text; then
  ics+=("$ENDPOINT_NAME")
fi
scaling_resources=()  # "resource dimension owner" triples
for ic in ${ics[@]+"${ics[@]}"}; do
  scaling_resources+=("inference-component/$ic sagemaker:inference-component:DesiredCopyCount $ic")
done
[[ -z "$status" ]] || scaling_resources+=("endpoint/$ENDPOINT_NAME/variant/AllTraffic sagemaker:variant:DesiredInstanceCount $ENDPOINT_NAME")
alarms=()
policies=()   # "resource dimension policy"
targets=()    # "resource dimension"
for entry in ${scaling_resources[@]+"${scaling_resources[@]}"}; do
  read -r resource dimension owner <<<"$entry"
  scaling_names "$owner"
  # Only components and async endpoints scale from zero (autoscale.sh --min 0 makes the alarm).
  if [[ "$resource" == inference-component/* || "${EP_MODE:-}" == "async" ]] && aws_try out err cloudwatch describe-alarms \
      --alarm-names "$WAKE_ALARM" --query 'MetricAlarms[].AlarmName' --output text && [[ -n "${out//None/}" ]]; then
    alarms+=("$WAKE_ALARM")
  fi
  aws_try out err application-autoscaling describe-scaling-policies --service-namespace sagemaker \
    --resource-id "$resource" --scalable-dimension "$dimension" --query 'ScalingPolicies[].PolicyName' \
    --output text || die "aws application-autoscaling describe-scaling-policies failed: $err"
  for policy in ${out//None/}; do policies+=("$resource $dimension $policy"); done
  aws_try out err application-autoscaling describe-scalable-targets --service-namespace sagemaker \
    --resource-ids "$resource" --scalable-dimension "$dimension" --query 'ScalableTargets[].ResourceId' \
    --output text || die "aws application-autoscaling describe-scalable-targets failed: $err"
  [[ -z "${out//None/}" ]] || targets+=("$resource $dimension")
done

plan=()
for alarm in ${alarms[@]+"${alarms[@]}"}; do plan+=("CloudWatch alarm $alarm"); done
for entry in ${policies[@]+"${policies[@]}"}; do
  read -r resource _ policy <<<"$entry"
  plan+=("scaling policy $policy of $resource")
done
for entry in ${targets[@]+"${targets[@]}"}; do plan+=("scalable target ${entry%% *}"); done
for ic in ${ics[@]+"${ics[@]}"}; do plan+=("inference component $ic"); done
[[ -n "$status" ]] && plan+=("endpoint $ENDPOINT_NAME ($status)")
for config in ${configs[@]+"${configs[@]}"}; do plan+=("endpoint config $config"); done
for model in ${models[@]+"${models[@]}"}; do plan+=("model $model"); done
[[ $delete_repo -eq 1 ]] && plan+=("ECR repository $REPO_NAME with all its images")
[[ $delete_role -eq 1 ]] && plan+=("IAM role $role_name")
[[ $delete_secret -eq 1 && -n "$secret_name" ]] && plan+=("secret $secret_name")
if [[ $delete_codebuild -eq 1 ]]; then
  codebuild_names
  plan+=("CodeBuild project $CB_PROJECT, bucket $CB_BUCKET and role $CB_ROLE")
fi

if [[ ${#plan[@]} -eq 0 ]]; then
  info "nothing to delete for $ENDPOINT_NAME in $REGION"
  report_kept
  exit 0
fi
log "This deletes, in $REGION:"
for item in "${plan[@]}"; do log "  - $item"; done
if [[ $yes -eq 0 ]]; then
  confirm "Delete these?" || die "nothing deleted"
fi

failed=0
# Order: what scales first (an alarm or policy could act on a component being deleted),
# then the components (deleting the endpoint leaves them behind), then the endpoint.
for alarm in ${alarms[@]+"${alarms[@]}"}; do
  info "deleting CloudWatch alarm $alarm"
  if ! aws_try out err cloudwatch delete-alarms --alarm-names "$alarm"; then
    warn "delete-alarms $alarm failed: $err"; failed=1
  fi
done
for entry in ${policies[@]+"${policies[@]}"}; do
  read -r resource dimension policy <<<"$entry"
  info "deleting scaling policy $policy"
  if ! aws_try out err application-autoscaling delete-scaling-policy --service-namespace sagemaker \
      --resource-id "$resource" --scalable-dimension "$dimension" --policy-name "$policy" && ! is_not_found "$err"; then
    warn "delete-scaling-policy $policy failed: $err"; failed=1
  fi
done
for entry in ${targets[@]+"${targets[@]}"}; do
  read -r resource dimension <<<"$entry"
  info "deregistering scalable target $resource"
  if ! aws_try out err application-autoscaling deregister-scalable-target --service-namespace sagemaker \
      --resource-id "$resource" --scalable-dimension "$dimension" && ! is_not_found "$err"; then
    warn "deregister-scalable-target $resource failed: $err"; failed=1
  fi
done
poll="${DEPLOY_POLL_SECONDS:-30}"
for ic in ${ics[@]+"${ics[@]}"}; do
  info "deleting inference component $ic"
  # SageMaker refuses while a component is being created or changes its copy count;
  # ask again until it is gone (up to 20 minutes).
  start=$SECONDS
  deleted=0
  while :; do
    if aws_try out err sagemaker delete-inference-component --inference-component-name "$ic" || is_not_found "$err"; then
      deleted=1; break
    fi
    if (( SECONDS - start > 1200 )) || ! grep -qiE 'in ?progress|state|status|try again' <<<"$err"; then
      warn "delete-inference-component $ic failed: $err"; failed=1; break
    fi
    log "   $ic is busy ($(first_line "$err")); asking again in ${poll}s"
    sleep "$poll"
  done
  while [[ $deleted -eq 1 && -n "$(ic_status "$ic")" ]]; do
    if (( SECONDS - start > 1200 )); then
      warn "inference component $ic is not gone after 20 minutes"; failed=1; break
    fi
    sleep "$poll"
  done
done
if [[ -n "$status" ]]; then
  info "deleting endpoint $ENDPOINT_NAME"
  if aws_try out err sagemaker delete-endpoint --endpoint-name "$ENDPOINT_NAME"; then
    awsr sagemaker wait endpoint-deleted --endpoint-name "$ENDPOINT_NAME" \
      || { warn "endpoint $ENDPOINT_NAME is not gone yet"; failed=1; }
  elif ! is_not_found "$err"; then
    warn "delete-endpoint failed: $err"; failed=1
  fi
fi
for config in ${configs[@]+"${configs[@]}"}; do
  info "deleting endpoint config $config"
  if ! aws_try out err sagemaker delete-endpoint-config --endpoint-config-name "$config" && ! is_not_found "$err"; then
    warn "delete-endpoint-config $config failed: $err"; failed=1
  fi
done
for model in ${models[@]+"${models[@]}"}; do
  info "deleting model $model"
  if ! aws_try out err sagemaker delete-model --model-name "$model" && ! is_not_found "$err"; then
    warn "delete-model $model failed: $err"; failed=1
  fi
done
if [[ $delete_repo -eq 1 ]]; then
  info "deleting ECR repository $REPO_NAME"
  if ! aws_try out err ecr delete-repository --repository-name "$REPO_NAME" --force && ! is_not_found "$err"; then
    warn "delete-repository failed: $err"; failed=1
  fi
fi
if [[ $delete_role -eq 1 ]]; then
  info "deleting IAM role $role_name"
  if aws_try out err iam list-role-policies --role-name "$role_name" --query PolicyNames --output text; then
    for policy in $out; do
      [[ "$policy" == "None" ]] || awsr iam delete-role-policy --role-name "$role_name" --policy-name "$policy" || failed=1
    done
    if ! aws_try out err iam delete-role --role-name "$role_name"; then
      warn "delete-role failed: $err"; failed=1
    fi
  elif ! is_not_found "$err"; then
    warn "list-role-policies failed: $err"; failed=1
  fi
fi
if [[ $delete_secret -eq 1 && -n "$secret_name" ]]; then
  info "scheduling deletion of secret $secret_name (recoverable for 7 days)"
  if ! aws_try out err secretsmanager delete-secret --secret-id "$secret_name" --recovery-window-in-days 7 \
      && ! is_not_found "$err"; then
    warn "delete-secret failed: $err"; failed=1
  fi
fi
if [[ $delete_codebuild -eq 1 ]]; then
  info "deleting CodeBuild project $CB_PROJECT"
  if ! aws_try out err codebuild delete-project --name "$CB_PROJECT" && ! is_not_found "$err"; then
    warn "delete-project failed: $err"; failed=1
  fi
  info "deleting bucket $CB_BUCKET"
  if aws_try out err s3api head-bucket --bucket "$CB_BUCKET"; then
    if ! aws_try out err s3 rb "s3://$CB_BUCKET" --force; then
      warn "could not delete bucket $CB_BUCKET: $err"; failed=1
    fi
  fi
  info "deleting IAM role $CB_ROLE"
  if aws_try out err iam list-role-policies --role-name "$CB_ROLE" --query PolicyNames --output text; then
    for policy in $out; do
      [[ "$policy" == "None" ]] || awsr iam delete-role-policy --role-name "$CB_ROLE" --policy-name "$policy" || failed=1
    done
    if ! aws_try out err iam delete-role --role-name "$CB_ROLE"; then
      warn "delete-role $CB_ROLE failed: $err"; failed=1
    fi
  elif ! is_not_found "$err"; then
    warn "list-role-policies failed: $err"; failed=1
  fi
fi
[[ $failed -eq 0 ]] || die "some resources could not be deleted (see the warnings above); run deploy/cleanup.sh again"
info "clean-up of $ENDPOINT_NAME done"
report_kept
