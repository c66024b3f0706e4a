"""Hardware, parallelism, context length and timeouts from the model's facts.

``plan_deployment`` is the single function the template calls; the sizing issue replaces
its internals (price-based choice, concurrency), not its signature.

Memory model, per GPU, all in GiB:
  weights  = sum(safetensors parameters x bytes of their dtype) / TP   (F32 checkpoints are
             served in 16 bits; quantized checkpoints count their packed bytes)
  kv cache = 2 (K and V) x layers x KV heads x head dim x 2 bytes x max length / TP
  usable   = GPU memory x GPU_MEMORY_FRACTION - ENGINE_OVERHEAD_GIB
A plan fits when weights + kv cache (one full-length sequence) <= usable.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import InvalidAnswer, SizingError
from .facts import DTYPE_BYTES

GIB = 1024 ** 3
GPU_MEMORY_FRACTION = 0.90   # vLLM --gpu-memory-utilization default; LMI option.gpu_memory_utilization
ENGINE_OVERHEAD_GIB = 2.0    # CUDA context, activations, CUDA graphs
MIN_CONTEXT = 8192           # auto never goes below this (or the model's own maximum)
CONTEXT_STEP = 1024
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 600, 3600   # SageMaker allows 60-3600
VOLUME_MIN_GB, VOLUME_MAX_GB = 30, 512     # SageMaker allows 1-512
UNKNOWN_INSTANCE = "ml.g5.2xlarge"


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    return json.loads((Path(__file__).resolve().parent / "data" / "instances.json").read_text())


def instance(name: str) -> dict[str, Any]:
    cat = catalog()
    if name not in cat["instances"]:
        raise InvalidAnswer(
            f"instanceType '{name}' is not a supported SageMaker GPU instance type. Use 'auto' or one of: "
            + ", ".join(cat["instances"]) + "."
        )
    spec = dict(cat["instances"][name])
    gpu = cat["gpus"][spec["gpu"]]
    spec.update(name=name, gpu_memory_gib=round(gpu["memory_mib"] / 1024, 2), fp8=gpu["fp8"])
    return spec


def weight_bytes(facts: dict[str, Any]) -> int | None:
    by_dtype = facts.get("parameters_by_dtype") or {}
    if by_dtype:
        return sum(count * (2 if dtype in ("F32", "F64") else DTYPE_BYTES.get(dtype, 2))
                   for dtype, count in by_dtype.items())
    if facts.get("parameter_count"):
        return int(facts["parameter_count"]) * 2
    layers, hidden = facts.get("num_layers"), facts.get("hidden_size")
    if layers and hidden:  # no hub counts: the usual 12 * L * h^2 estimate for a dense transformer
        return 12 * layers * hidden * hidden * 2
    return None


def kv_bytes_per_token(facts: dict[str, Any]) -> int | None:
    layers, kv, head_dim = facts.get("num_layers"), facts.get("num_key_value_heads"), facts.get("head_dim")
    if not (layers and kv and head_dim):
        return None
    return 2 * layers * kv * head_dim * 2


def context_limit(facts: dict[str, Any]) -> int | None:
    mpe = facts.get("max_position_embeddings")
    rope = facts.get("rope_scaling") or {}
    kind = rope.get("rope_type") or rope.get("type")
    if mpe and kind == "yarn" and rope.get("factor") and rope.get("original_max_position_embeddings"):
        mpe = max(mpe, int(rope["original_max_position_embeddings"] * rope["factor"]))
    return int(mpe) if mpe else None


def valid_tp_sizes(facts: dict[str, Any], gpus: int) -> list[int]:
    heads, kv = facts.get("num_attention_heads") or 1, facts.get("num_key_value_heads") or 1
    return [tp for tp in range(1, gpus + 1) if heads % tp == 0 and kv % tp == 0]


def _timeouts(weights_gib: float) -> dict[str, int]:
    startup = min(TIMEOUT_MAX_S, max(TIMEOUT_MIN_S, 600 + math.ceil(weights_gib * 20)))
    volume = min(VOLUME_MAX_GB, max(VOLUME_MIN_GB, math.ceil((weights_gib * 1.5 + 20) / 10) * 10))
    return {"container_startup_health_check_timeout_s": startup,
            "model_data_download_timeout_s": startup, "volume_size_gb": volume}


def _fit(facts, spec, tp, wanted_len) -> int | None:
    """The longest context (<= wanted_len) that fits with this TP, or None."""
    usable = tp * (spec["gpu_memory_gib"] * GPU_MEMORY_FRACTION - ENGINE_OVERHEAD_GIB) * GIB
    free = usable - weight_bytes(facts)
    per_token = kv_bytes_per_token(facts)
    if free <= 0 or not per_token:
        return None
    length = min(wanted_len, int(free // per_token))
    if length < wanted_len:
        length = length // CONTEXT_STEP * CONTEXT_STEP
    return length if length >= min(MIN_CONTEXT, wanted_len) else None


def plan_deployment(facts: dict[str, Any], instance_type: str = "auto", *, tensor_parallel_size: int = 0,
                    max_model_len: int = 0) -> dict[str, Any]:
    """Choose (or validate) instance type, TP and max length; estimate memory and timeouts."""
    weights = weight_bytes(facts) if facts.get("known") else None
    per_token = kv_bytes_per_token(facts) if facts.get("known") else None
    limit = context_limit(facts) if facts.get("known") else None
    if weights is None or per_token is None or limit is None:
        name = UNKNOWN_INSTANCE if instance_type == "auto" else instance_type
        spec = instance(name)
        return {"instance_type": name, "gpu_count": spec["gpu_count"], "gpu_memory_gib": spec["gpu_memory_gib"],
                "gpu": spec["gpu"], "tensor_parallel_size": tensor_parallel_size or 1,
                "max_model_len": max_model_len or None, "weight_memory_gib": None, "kv_cache_memory_gib": None,
                "reason": "The model's facts are unknown (offline, not cached): this is a default, not a fit. "
                          "Check the instance type and set maxModelLen for your model.",
                **_timeouts(30.0)}
    if max_model_len and max_model_len > limit:
        raise InvalidAnswer(f"maxModelLen {max_model_len} exceeds the model's maximum context of {limit} tokens.")
    wanted = max_model_len or limit
    names = catalog()["auto_order"] if instance_type == "auto" else [instance_type]
    for name in names:
        spec = instance(name)
        tps = valid_tp_sizes(facts, spec["gpu_count"])
        if tensor_parallel_size:
            if tensor_parallel_size not in tps:
                if instance_type != "auto":
                    raise SizingError(
                        f"tensorParallelSize {tensor_parallel_size} is not valid for {facts['id']} on {name}: it must "
                        f"divide the attention heads ({facts['num_attention_heads']}) and KV heads "
                        f"({facts['num_key_value_heads']}) and not exceed {spec['gpu_count']} GPUs. "
                        f"Valid sizes: {', '.join(map(str, tps))}.")
                continue
            tps = [tensor_parallel_size]
        tp = max(tps)
        length = _fit(facts, spec, tp, wanted)
        if length is None or (max_model_len and length < max_model_len):
            continue
        reason = (f"{name} is the first instance type in the candidate order whose {spec['gpu_count']} x "
                  f"{spec['gpu']} ({spec['gpu_memory_gib']} GiB each) hold the weights and a KV cache for "
                  f"{length} tokens." if instance_type == "auto" else f"{name} was chosen by you and fits.")
        if length < limit:
            reason += (f" The context is {length} tokens, lowered from the model's {limit} because a KV cache "
                       f"for {limit} tokens does not fit in the GPU memory left after the weights.")
        return {"instance_type": name, "gpu_count": spec["gpu_count"], "gpu_memory_gib": spec["gpu_memory_gib"],
                "gpu": spec["gpu"], "tensor_parallel_size": tp, "max_model_len": length,
                "weight_memory_gib": round(weights / GIB, 2),
                "kv_cache_memory_gib": round(per_token * length / GIB, 2), "reason": reason,
                **_timeouts(weights / GIB)}
    fits = []
    for name in catalog()["auto_order"]:
        spec = instance(name)
        tps = valid_tp_sizes(facts, spec["gpu_count"])
        if tps and _fit(facts, spec, max(tps), wanted):
            fits.append(f"{name} (TP {max(tps)})")
    target = f"'{instance_type}'" if instance_type != "auto" else "any supported instance type"
    raise SizingError(
        f"{facts['id']} ({weights / GIB:.1f} GiB of weights, {per_token // 1024} KiB of KV cache per token) "
        f"does not fit {target} with a context of {wanted} tokens. "
        + (f"Instance types that fit: {', '.join(fits[:5])}." if fits else
           "No catalogued instance type fits; use a quantized variant of the model.")
        + " Or set a smaller maxModelLen.")
