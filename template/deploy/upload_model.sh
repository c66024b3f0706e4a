#!/usr/bin/env bash
# Put the pinned model snapshot into S3, for deploy/deploy.sh --model-data.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/upload_model.sh s3://bucket/prefix/ [options]

Downloads the model at the commit model.lock.json pins (model.id at model.sha)
with the Hugging Face CLI (hf, or the older huggingface-cli) into a temporary
directory, and copies it uncompressed to s3://bucket/prefix/ with
'aws s3 sync --delete' (the prefix then holds exactly that snapshot), plus
hf-snapshot.json naming the model and commit. Then
  deploy/deploy.sh --model-data s3://bucket/prefix/
serves it from /opt/ml/model: no download from the Hub when a container starts
(faster starts and scale-outs; endpoints in a VPC without internet work).

A gated model needs your Hugging Face token. The CLI reads it from HF_TOKEN or
from its own login ('hf auth login'); this script never takes it as an
argument and never prints it.

Options:
  --work-dir DIR    download into DIR and keep it (default: a temporary
                    directory, removed afterwards)
  --create-bucket   create the bucket in the project's region when missing
  -h, --help        show this help
USAGE
}

uri=""
work_dir=""
create_bucket=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --work-dir) [[ $# -ge 2 ]] || die "--work-dir needs a directory"; work_dir="$2"; shift 2 ;;
    --create-bucket) create_bucket=1; shift ;;
    --token|--token=*) die "the token is never taken from the command line (it would show in the process list and shell history); set HF_TOKEN or run 'hf auth login'" ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z "$uri" ]] || die "one S3 location only (got '$uri' and '$1')"; uri="$1"; shift ;;
  esac
done
[[ -n "$uri" ]] || die "where to? give an S3 location: deploy/upload_model.sh s3://bucket/prefix/"
uri="$(s3_prefix_uri "$uri")" || exit 1

load_project
model_id="$(lock_require model.id)" || exit 1
model_sha="$(lock_get model.sha)" || exit 1
gated="$(lock_get model.gated)" || exit 1
weight_gib="$(lock_get deployment.weight_memory_gib)" || exit 1
[[ -n "$model_sha" ]] || die "model.lock.json pins no commit of $model_id (generated offline?); refresh the pin (see the README) so the upload is the revision the project was sized for"

if command -v hf >/dev/null 2>&1; then
  downloader=(hf download)
elif command -v huggingface-cli >/dev/null 2>&1; then
  downloader=(huggingface-cli download)
else
  die "the Hugging Face CLI is not installed: pip install -U huggingface_hub (it provides 'hf')"
fi
if is_gated "$gated" && [[ -z "${HF_TOKEN:-}" ]]; then
  token_file="${HF_TOKEN_PATH:-${HF_HOME:-$HOME/.cache/huggingface}/token}"
  [[ -s "$token_file" ]] || die "$model_id is gated: set HF_TOKEN in the environment (or run 'hf auth login') with a token that has access to it"
fi

check_aws
bucket="$(s3_bucket "$uri")"
out=""
err=""
if ! aws_try out err s3api head-bucket --bucket "$bucket"; then
  if [[ $create_bucket -eq 1 ]] && grep -qiE '404|not ?found|NoSuchBucket' <<<"$err"; then
    info "creating bucket $bucket in $REGION"
    if [[ "$REGION" == "us-east-1" ]]; then
      awsr s3api create-bucket --bucket "$bucket" >/dev/null || die "could not create bucket $bucket"
    else
      awsr s3api create-bucket --bucket "$bucket" \
        --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null || die "could not create bucket $bucket"
    fi
  elif grep -qiE '404|not ?found|NoSuchBucket' <<<"$err"; then
    die "bucket $bucket does not exist; create it (aws s3 mb s3://$bucket --region $REGION) or pass --create-bucket"
  else
    die "cannot use bucket $bucket: $err"
  fi
fi

if [[ -n "$work_dir" ]]; then
  mkdir -p "$work_dir"
  dir="$(cd -- "$work_dir" && pwd)"
else
  dir="$(mktemp -d "${TMPDIR:-/tmp}/upload-model.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
fi
if [[ -n "$weight_gib" ]]; then
  free_kib="$(df -Pk "$dir" | awk 'NR == 2 {print $4}')"
  need_kib="$(python3 -c 'import sys; print(int(float(sys.argv[1]) * 1.1 * 1024 * 1024))' "$weight_gib")"
  if [[ "$free_kib" =~ ^[0-9]+$ ]] && (( free_kib < need_kib )); then
    die "$dir has $((free_kib / 1048576)) GiB free; the weights alone are about $weight_gib GiB. Use --work-dir on a larger disk."
  fi
fi

info "downloading $model_id at $model_sha into $dir"
# The CLI finds the token itself (HF_TOKEN or its login); nothing secret is on this command line.
# original/* holds duplicate consolidated checkpoints some repositories ship (e.g. Llama's).
"${downloader[@]}" "$model_id" --revision "$model_sha" --local-dir "$dir" --exclude "original/*" >&2 \
  || die "the download of $model_id at $model_sha failed (a gated model needs HF_TOKEN with access to it)"
[[ -f "$dir/config.json" ]] || die "the download has no config.json; $model_id at $model_sha is not a model the servers can load"
python3 - "$dir/hf-snapshot.json" "$model_id" "$model_sha" <<'PY'
import json, sys
out, model, sha = sys.argv[1:]
with open(out, "w", encoding="utf-8") as fh:
    json.dump({"model": model, "sha": sha}, fh)
    fh.write("\n")
PY

info "copying it to $uri"
awsr s3 sync "$dir" "$uri" --delete --exclude ".cache/*" --only-show-errors \
  || die "aws s3 sync to $uri failed"
info "done; deploy it with: deploy/deploy.sh --model-data $uri"
printf '%s\n' "$uri"
