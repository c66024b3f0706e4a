#!/usr/bin/env bash
# Build the serving image locally with Docker.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/build.sh [options] [-- extra docker build arguments]

Builds the image from the project's Dockerfile and tags it
<project>:<tag> and <project>:latest. The tag is <version>-<git short sha>
(version from 'git describe --tags', else the VERSION file, else 0.0.0);
IMAGE_TAG overrides it. Prints the image reference on stdout.

Options:
  --tag TAG          use TAG instead of the computed tag
  --platform P       target platform (default linux/amd64, what SageMaker runs)
  --no-cache         build without the Docker layer cache
  --no-login         do not log in to the base image's ECR registry (lmi)
  -h, --help         show this help
USAGE
}

platform="linux/amd64"
login=1
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; IMAGE_TAG="$2"; shift 2 ;;
    --platform) [[ $# -ge 2 ]] || die "--platform needs a value"; platform="$2"; shift 2 ;;
    --no-cache) extra+=(--no-cache); shift ;;
    --no-login) login=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra+=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

# Build arguments are kept in the image's history: never a token.
for arg in ${extra[@]+"${extra[@]}"}; do
  case "$arg" in
    *HF_TOKEN*|*HUGGING_FACE_HUB_TOKEN*|*=hf_[A-Za-z0-9]*|hf_[A-Za-z0-9]*)
      die "a Hugging Face token must not be a build argument (it would be readable in 'docker history'); the container reads it at run time (.env locally, deploy/secret.sh on SageMaker)" ;;
  esac
done

need_cmd docker "https://docs.docker.com/get-docker/"
load_project
base_image="$(lock_require server.image)" || exit 1
tag="$(image_tag)"
local_repo="$REPO_NAME"

# The LMI base image lives in an AWS-owned ECR registry that needs a login.
if [[ "$login" -eq 1 && "$base_image" =~ ^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/ ]]; then
  base_registry="${base_image%%/*}"
  base_region="${BASH_REMATCH[2]}"
  if ! docker image inspect "$base_image" >/dev/null 2>&1; then
    check_aws
    info "logging in to $base_registry to pull the base image"
    aws --region "$base_region" ecr get-login-password \
      | docker login --username AWS --password-stdin "$base_registry" >/dev/null \
      || die "docker login to $base_registry failed"
  fi
fi

info "building $local_repo:$tag from $PROJECT_DIR (base $base_image, platform $platform)"
docker build --platform "$platform" \
  --label "org.opencontainers.image.version=$tag" \
  --label "org.opencontainers.image.title=$PROJECT_NAME" \
  -t "$local_repo:$tag" -t "$local_repo:latest" \
  ${extra[@]+"${extra[@]}"} "$PROJECT_DIR" >&2 \
  || die "docker build failed"
info "built $local_repo:$tag"
printf '%s:%s\n' "$local_repo" "$tag"
