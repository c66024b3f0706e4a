#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine for the container tests (pytest -m container):
# docker.io, nginx (for `nginx -t`), debootstrap (stand-in base image), docker-registry (local
# registry standing in for ECR in the push test); start dockerd and wait.
# Idempotent: installs only what is missing and starts dockerd only when it is not answering.
set -euo pipefail

need=()
# A docker client alone is not enough: the engine (dockerd) is what the tests need.
command -v dockerd >/dev/null 2>&1 || [ -x /usr/bin/dockerd ] || need+=(docker.io)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ "${#need[@]}" -gt 0 ]; then
  echo "container-setup: installing ${need[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

if docker info >/dev/null 2>&1; then
  echo "container-setup: docker is running"
  exit 0
fi

echo "container-setup: starting dockerd"
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  $SUDO systemctl start docker || true
fi
if ! docker info >/dev/null 2>&1 && ! pgrep -x dockerd >/dev/null 2>&1; then
  $SUDO sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "container-setup: docker is ready"
    exit 0
  fi
  sleep 1
done
echo "container-setup: dockerd did not start within 60 s; see /tmp/dockerd.log" >&2
exit 1
