#!/usr/bin/env bash
# Store the Hugging Face token in AWS Secrets Manager for a gated model.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: HF_TOKEN=... deploy/secret.sh [options]
       deploy/secret.sh [options] < token-file

Creates (or updates) the Secrets Manager secret named by
project.hf_token_secret_name in model.lock.json with the token from the
HF_TOKEN environment variable, or else from standard input (asked for on a
terminal without echo). The token is never taken from the command line and
never printed. Prints the secret's ARN on stdout. The SageMaker execution role
reads it through HF_TOKEN_SECRET_ID (see deploy/deploy.sh).

Options:
  --secret-name NAME   override project.hf_token_secret_name
  --kms-key-id KEY     encrypt with this KMS key (on create; the execution role
                       then also needs kms:Decrypt on it)
  -h, --help           show this help
USAGE
}

secret_name=""
kms_key=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --secret-name) [[ $# -ge 2 ]] || die "--secret-name needs a value"; secret_name="$2"; shift 2 ;;
    --kms-key-id) [[ $# -ge 2 ]] || die "--kms-key-id needs a value"; kms_key="$2"; shift 2 ;;
    --token|--hf-token|--token=*|--hf-token=*)
      die "the token is never taken from the command line (it would show in the process list and shell history); set HF_TOKEN or pipe it on stdin" ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

load_project
if [[ -z "$secret_name" ]]; then
  secret_name="$(lock_get project.hf_token_secret_name)" || exit 1
fi
[[ -n "$secret_name" ]] || die "model.lock.json has no project.hf_token_secret_name: the model is not gated, so no secret is needed (use --secret-name to store one anyway)"

token="${HF_TOKEN:-}"
if [[ -z "$token" ]]; then
  if [[ -t 0 ]]; then
    read -r -s -p "Hugging Face token for $secret_name: " token
    printf '\n' >&2
  else
    IFS= read -r token || true
  fi
fi
token="${token//[[:space:]]/}"
[[ -n "$token" ]] || die "no token: set HF_TOKEN or pass the token on standard input"
[[ "$token" == hf_* ]] || warn "the token does not start with 'hf_'; storing it anyway"

check_aws
out=""
err=""
# The value reaches the CLI through a pipe (file:///dev/stdin), never argv.
if aws_try out err secretsmanager describe-secret --secret-id "$secret_name" --query ARN --output text; then
  info "updating secret $secret_name"
  arn="$out"
  printf '%s' "$token" | awsr secretsmanager put-secret-value --secret-id "$secret_name" \
    --secret-string file:///dev/stdin >/dev/null || die "put-secret-value failed"
elif is_not_found "$err"; then
  info "creating secret $secret_name"
  kms_args=()
  [[ -n "$kms_key" ]] && kms_args=(--kms-key-id "$kms_key")
  arn="$(printf '%s' "$token" | awsr secretsmanager create-secret --name "$secret_name" \
    --description "Hugging Face token for $PROJECT_NAME (read by the SageMaker container)" \
    --tags "Key=project,Value=$PROJECT_NAME" ${kms_args[@]+"${kms_args[@]}"} \
    --secret-string file:///dev/stdin --query ARN --output text)" || die "create-secret failed"
else
  die "aws secretsmanager describe-secret failed: $err"
fi
unset token
info "stored; deploy/deploy.sh will give the endpoint read access to exactly this secret"
printf '%s\n' "$arn"
