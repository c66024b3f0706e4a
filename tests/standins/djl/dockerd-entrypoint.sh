#!/bin/bash
# Stand-in for the DJL Serving image's /usr/local/bin/dockerd-entrypoint.sh
# (djl-serving 0.32.0-dlc: serving/docker/dockerd-entrypoint.sh, used by pytorch-gpu.Dockerfile).
# Imitated: `serve` runs /usr/bin/djl-serving again while it exits 77, then exits with its code;
# anything else is eval'ed. No TGI variable translation and no CUDA-compat step.
if [[ "$1" = "serve" ]]; then
  shift 1
  code=77
  while [[ code -eq 77 ]]; do
    /usr/bin/djl-serving "$@"
    code=$?
  done
  exit $code
else
  set -e
  eval "$@"
fi
