#!/usr/bin/env bash
# Install SGLang's own argument parser (not its engine) into a cached virtual environment, for
# the flag tables (python -m tools.flags sglang ...) and the parser tests (pytest -m engine).
# Idempotent: a venv whose sglang already has the wanted version and whose parser builds is kept.
#
#   tools/sglang_venv.sh [VENV_DIR]        (default: build/sglang-venv)
#   SGLANG_VERSION=0.5.23                   default: the catalog's default SGLang version
#
# Recipe (docs/reference/engines-2026.md section 6): torch 2.13.0 CPU (this machine kind has
# that exact file on disk: pip's find-links), the small packages that
# sglang.srt.server_args imports, then the sglang wheel itself with --no-deps (its own
# requirements pull CUDA kernels that do not install here). No GPU is needed to build the
# parser: sglang.srt.server_args.ServerArgs.add_cli_args(argparse.ArgumentParser()).
# 0.5.4.post1 also imports torchvision (a 5.8 GB venv): its table is read from the wheel's
# source instead (tools/flags/sglang.py).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-build/sglang-venv}"
version="${SGLANG_VERSION:-$(python3 -c 'import json; print(json.load(open("generator/data/engines.json"))["sglang"]["default"])' 2>/dev/null || echo 0.5.23)}"
torch_version="${TORCH_VERSION:-2.13.0}"
pip_q=(--quiet --disable-pip-version-check --no-input)
# What sglang.srt.server_args (and the modules it imports) needs at import time.
small=(orjson numpy psutil pybase64 requests triton packaging pillow starlette msgspec pydantic
       pyzmq tqdm ipython aiohttp safetensors fastapi openai xgrammar partial_json_parser sentencepiece)

check_parser() {
  "${venv}/bin/python" - <<'PY' 2>/dev/null
import argparse, importlib.metadata as m
from sglang.srt.server_args import ServerArgs
p = argparse.ArgumentParser()
ServerArgs.add_cli_args(p)
print(m.version("sglang"), len(p._actions))
PY
}

have="$("${venv}/bin/python" -c 'import importlib.metadata as m; print(m.version("sglang"))' 2>/dev/null || true)"
if [[ "${have}" == "${version}" ]] && out="$(check_parser)"; then
  echo "sglang-venv: ${venv} has sglang ${have} (parser: ${out#* } actions)"
  exit 0
fi

start=$(date +%s)
echo "sglang-venv: creating ${venv} with torch ${torch_version} (CPU) and sglang ${version} (--no-deps)"
rm -rf "${venv}"
python3 -m venv "${venv}"
py="${venv}/bin/python"
# torch pinned in the same command, so that no small package's requirement moves it.
"$py" -m pip install "${pip_q[@]}" "torch==${torch_version}" "${small[@]}"
wheels="$(mktemp -d)"
trap 'rm -rf "${wheels}"' EXIT
"$py" -m pip download "${pip_q[@]}" --no-deps --only-binary :all: -d "${wheels}" "sglang==${version}"
"$py" -m pip install "${pip_q[@]}" --no-deps "${wheels}"/sglang-*.whl
out="$(check_parser)" || { echo "sglang-venv: the parser of sglang ${version} does not build in ${venv}" >&2; "$py" -c 'from sglang.srt.server_args import ServerArgs' >&2; exit 1; }
echo "sglang-venv: sglang ${out% *} parser builds (${out#* } actions)"
echo "sglang-venv: ready in $(( $(date +%s) - start )) s ($(du -sh "${venv}" | cut -f1))"
