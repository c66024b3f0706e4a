#!/usr/bin/env bash
# Push the locally built image to Amazon ECR.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/push.sh [options]

Creates the ECR repository <project> when it is missing (scan on push,
AES256 encryption), logs Docker in to the registry, tags the image built by
deploy/build.sh and pushes it. Safe to run again. Prints the pushed image URI
(the one deploy/deploy.sh deploys) on stdout.

Tags: <version>-<git short sha> (what deploy.sh deploys); from a clean git
checkout also <git short sha>, and <version> when HEAD carries that git tag.

Options:
  --tag TAG       push <project>:TAG (default: the tag build.sh computes)
  --no-login      skip 'docker login' (for a registry that needs none)
  -h, --help      show this help

Environment:
  ECR_REGISTRY       push to this registry host instead of
                     <account>.dkr.ecr.<region>.amazonaws.com (tests)
  AWS_ENDPOINT_URL   send AWS API calls to another endpoint (tests)
USAGE
}

login=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; IMAGE_TAG="$2"; shift 2 ;;
    --no-login) login=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

need_cmd docker "https://docs.docker.com/get-docker/"
load_project
check_aws
tag="$(image_tag)"
local_image="$REPO_NAME:$tag"
docker image inspect "$local_image" >/dev/null 2>&1 \
  || die "image $local_image not found locally; run deploy/build.sh first"

ensure_ecr_repo

registry="$(ecr_registry)"
remote="$registry/$REPO_NAME:$tag"
if [[ "$login" -eq 1 ]]; then
  info "logging Docker in to $registry"
  awsr ecr get-login-password \
    | docker login --username AWS --password-stdin "$registry" >/dev/null \
    || die "docker login to $registry failed"
fi
tags=("$tag")
while IFS= read -r extra; do
  if [[ -n "$extra" && "$extra" != "$tag" ]]; then tags+=("$extra"); fi
done < <(release_tags)
for t in "${tags[@]}"; do
  docker tag "$local_image" "$registry/$REPO_NAME:$t" || die "docker tag $local_image failed"
  info "pushing $registry/$REPO_NAME:$t"
  docker push "$registry/$REPO_NAME:$t" >&2 || die "docker push $registry/$REPO_NAME:$t failed"
done
info "pushed $remote${tags[1]:+ (also tagged ${tags[*]:1})}"
printf '%s\n' "$remote"
