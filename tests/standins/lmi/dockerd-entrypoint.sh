#!/bin/bash
# Stand-in for the LMI image's /usr/local/bin/dockerd-entrypoint.sh
# (djl-serving 0.32.0-dlc: serving/docker/dockerd-entrypoint-with-cuda-compat.sh, copied there by
# lmi.Dockerfile). Imitated: TGI/SageMaker variable translation, `serve` runs /usr/bin/djl-serving
# again while it exits 77, anything else is eval'ed. Like the original, the `serve` branch has no
# `exit $code`: the script ends with the status of the loop (0), even when djl-serving failed.

translate() {
  local from="${!1}" to="${!2}"
  if [ -n "$from" ]; then export "$2"="${to:-$from}"; fi
}
translate HF_MODEL_QUANTIZE OPTION_QUANTIZE
translate HF_MODEL_TRUST_REMOTE_CODE OPTION_TRUST_REMOTE_CODE
translate SM_NUM_GPUS TENSOR_PARALLEL_DEGREE
translate MAX_CONCURRENT_REQUESTS SERVING_JOB_QUEUE_SIZE
translate MAX_BATCH_PREFILL_TOKENS OPTION_MAX_ROLLING_BATCH_PREFILL_TOKENS
translate MAX_BATCH_SIZE OPTION_MAX_ROLLING_BATCH_SIZE
if [[ -n "$ENABLE_CUDA_GRAPHS" && -z "$OPTION_ENFORCE_EAGER" ]]; then
  if [[ "$ENABLE_CUDA_GRAPHS" = true ]]; then export OPTION_ENFORCE_EAGER=false; else export OPTION_ENFORCE_EAGER=true; fi
fi
translate CUDA_MEMORY_FRACTION OPTION_GPU_MEMORY_UTILIZATION

if [[ "$1" = "serve" ]]; then
  shift 1
  code=77
  while [[ code -eq 77 ]]; do
    /usr/bin/djl-serving "$@"
    code=$?
  done
else
  eval "$@"
fi
