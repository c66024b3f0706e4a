"""Hardware, parallelism, context length and timeouts from the model's facts.

``plan_deployment`` is the single function the template calls.

Memory model, per GPU, in GiB (GIB = 2**30 bytes):
  weights  = sum over the hub's safetensors counts of (parameters x bytes of their dtype) / TP.
             F32/F64 checkpoints are served in 16 bits; quantized checkpoints (AWQ, GPTQ, FP8,
             pre-quantized bitsandbytes) are counted in their packed bytes, which is what the
             GPU holds; MoE models count every expert (all are resident).
             Without hub counts: config.json arithmetic (``config_parameters``) x 2 bytes.
  kv cache = 2 (K and V) x layers x KV heads x head dim x 2 bytes (16-bit cache)
             x max length x CONCURRENCY / TP  (GQA/MQA aware through the KV-head count)
  usable   = GPU memory x the engine's memory fraction - memory in use before the engine loads
             - the engine's overhead. Per server version, from the catalog (generator/data/engines.json,
             which cites the engine's code): ``memory.fraction`` is the share of the GPU the engine
             takes with its defaults (vLLM 0.32 gpu_memory_utilization 0.92, LMI, TensorRT-LLM), or
             1.0 where the project passes the engine's fraction itself (SGLang); ``memory.preload_gib``
             what is in use before the engine measures free memory (SGLang: CUDA context);
             ``engine_overhead_gib`` the activations and CUDA graphs outside weights and KV cache.
  lora     = (LoRA on, issue 23) the adapter slots vLLM preallocates at start, per GPU: for every
             LoRA layer (attention qkv_proj and o_proj, MLP gate_up_proj and down_proj, each expert
             of a MoE model) and every one of --max-loras slots, lora_a (slices x max_lora_rank x
             input) and lora_b (output x max_lora_rank) in the model's dtype (lora_dtype auto), the
             parallel dimension divided by TP: vLLM 0.32.0 vllm/lora/layers/base_linear.py
             create_lora_weights ~104-155 and column_parallel_linear.py ~207-245 (lora_a keeps the
             full input of a column-parallel layer, lora_b its output shard; row-parallel the
             reverse). They are allocated when the model loads (v1/worker/gpu_model_runner.py ~5067
             load_lora_model -> lora/model_manager.py _create_lora_modules ~467), before vLLM
             measures the memory left for the KV cache, so they come out of the KV budget.
A plan fits when weights + kv cache (+ lora) <= usable on every GPU. Where the catalog says
``memory.set_by_project`` (SGLang's --mem-fraction-static), the plan carries the fraction to pass:
the usable share of the memory free at start (all but the overhead), which holds the planned weights
and KV cache (``static_fraction``).
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
GPU_MEMORY_FRACTION = 0.90   # when no server is given; per version the catalog's memory.fraction
ENGINE_OVERHEAD_GIB = 2.0    # CUDA context, activations, CUDA graphs, per GPU, when no server is given
CONCURRENCY = 1              # full-length sequences the KV cache must hold (engines refuse to start
                             # when one max-length sequence does not fit; shorter requests share it)
MIN_CONTEXT = 8192           # auto never lowers the context below this (or the model's own maximum)
CONTEXT_STEP = 1024          # a lowered context is a multiple of this
TIMEOUT_MIN_S, TIMEOUT_MAX_S = 600, 3600   # SageMaker allows 60-3600 s for both timeouts
TIMEOUT_S_PER_GIB = 20       # download (~100 MB/s) plus load, per GiB of weights
VOLUME_MIN_GB, VOLUME_MAX_GB = 30, 512     # SageMaker allows 1-512 GB
UNKNOWN_INSTANCE = "ml.g5.2xlarge"
FP8_METHODS = {"fp8", "fbgemm_fp8", "compressed-tensors-fp8"}


@lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    return json.loads((Path(__file__).resolve().parent / "data" / "instances.json").read_text())


def instance(name: str, overhead_gib: float = ENGINE_OVERHEAD_GIB, fraction: float = GPU_MEMORY_FRACTION,
             preload_gib: float = 0.0) -> dict[str, Any]:
    cat = catalog()
    if name not in cat["instances"]:
        import difflib
        guess = f"ml.{name}" if f"ml.{name}" in cat["instances"] else next(
            iter(difflib.get_close_matches(name, list(cat["instances"]), n=1, cutoff=0.8)), None)
        raise InvalidAnswer(
            f"instanceType '{name}' is not a supported SageMaker GPU instance type."
            + (f" Did you mean '{guess}'?" if guess else "") + " Use 'auto' or one of: "
            + ", ".join(cat["instances"]) + "."
        )
    spec = dict(cat["instances"][name])
    gpu = cat["gpus"][spec["gpu"]]
    spec.update(name=name, gpu_memory_gib=round(gpu["memory_mib"] / 1024, 2),
                usable_gib=gpu["memory_mib"] / 1024 * fraction - preload_gib - overhead_gib, fp8=gpu["fp8"],
                overhead_gib=overhead_gib, fraction=fraction, preload_gib=preload_gib)
    return spec


def _budget(overhead_gib: float, memory: dict[str, Any] | None) -> tuple[float, float, float]:
    """(overhead, fraction, preload) for ``instance``, from a catalog entry's ``memory``."""
    memory = memory or {}
    return (overhead_gib, float(memory.get("fraction", GPU_MEMORY_FRACTION)), float(memory.get("preload_gib", 0.0)))


def static_fraction(spec: dict[str, Any], weights: int, kv: int, tp: int) -> float:
    """SGLang's --mem-fraction-static for a plan: the share of the memory free before loading
    (GPU - preload) that the plan counts as usable for weights and KV cache, i.e. all of it but the
    engine's overhead for activations and CUDA graphs (rounded down to 0.001), and never less than
    the planned weights and KV cache per GPU need (rounded up to 0.001). SGLang then gives the KV
    pool what the weights leave of that share, as vLLM does with gpu_memory_utilization."""
    base = spec["gpu_memory_gib"] * spec["fraction"] - spec["preload_gib"]
    need = (weights + kv) / tp / GIB / base
    usable = (base - spec["overhead_gib"]) / base
    return max(math.ceil(need * 1000 - 1e-9), math.floor(usable * 1000 + 1e-9)) / 1000


def price_note() -> str:
    """What the catalog's prices are (instances.json _prices.label): us-west-2 SageMaker training rates,
    which rank candidates; not hosting quotes."""
    return "a us-west-2 SageMaker training rate" if catalog()["_prices"].get("kind") == "training" else "on demand"


def candidates() -> list[str]:
    """Every catalogued type, cheapest first; unpriced ones last, smallest total GPU memory first."""
    cat = catalog()

    def key(name: str):
        spec = cat["instances"][name]
        price = spec.get("price_usd_per_hour")
        total = spec["gpu_count"] * cat["gpus"][spec["gpu"]]["memory_mib"]
        return (price is None, price or 0.0, total, name)

    return sorted(cat["instances"], key=key)


def config_parameters(facts: dict[str, Any]) -> int | None:
    """Parameter count from config.json shapes (dense or MoE, gated MLP, GQA)."""
    layers, hidden, heads = facts.get("num_layers"), facts.get("hidden_size"), facts.get("num_attention_heads")
    if not (layers and hidden and heads):
        return None
    head_dim = facts.get("head_dim") or hidden // heads
    kv = facts.get("num_key_value_heads") or heads
    inter = facts.get("intermediate_size") or 4 * hidden
    experts = facts.get("num_experts") or 1
    attention = hidden * heads * head_dim * 2 + hidden * kv * head_dim * 2
    mlp = 3 * hidden * inter * experts
    vocab = facts.get("vocab_size") or 0
    embeddings = vocab * hidden * (1 if facts.get("tie_word_embeddings") else 2)
    return layers * (attention + mlp) + embeddings


def weight_bytes(facts: dict[str, Any]) -> int | None:
    by_dtype = facts.get("parameters_by_dtype") or {}
    if by_dtype:
        return sum(count * (2 if dtype in ("F32", "F64") else DTYPE_BYTES.get(dtype, 2))
                   for dtype, count in by_dtype.items())
    count = facts.get("parameter_count") or config_parameters(facts)
    if not count:
        return None
    bits = facts.get("quantization_bits") if facts.get("quantization") else None
    return int(count * (bits / 8 if bits else 2))


def kv_bytes_per_token(facts: dict[str, Any]) -> int | None:
    layers, kv, head_dim = facts.get("num_layers"), facts.get("num_key_value_heads"), facts.get("head_dim")
    if not (layers and kv and head_dim):
        return None
    return 2 * layers * kv * head_dim * 2


def context_limit(facts: dict[str, Any]) -> int | None:
    """The model's maximum context: max_position_embeddings, extended by YaRN rope scaling."""
    mpe = facts.get("max_position_embeddings")
    rope = facts.get("rope_scaling") or {}
    kind = rope.get("rope_type") or rope.get("type")
    if mpe and kind == "yarn" and rope.get("factor") and rope.get("original_max_position_embeddings"):
        mpe = max(mpe, int(rope["original_max_position_embeddings"] * rope["factor"]))
    return int(mpe) if mpe else None


def valid_tp_sizes(facts: dict[str, Any], gpus: int) -> list[int]:
    heads, kv = facts.get("num_attention_heads") or 1, facts.get("num_key_value_heads") or 1
    return [tp for tp in range(1, gpus + 1) if heads % tp == 0 and kv % tp == 0]


def timeouts(weights_gib: float) -> dict[str, int]:
    startup = min(TIMEOUT_MAX_S, max(TIMEOUT_MIN_S, 600 + math.ceil(weights_gib * TIMEOUT_S_PER_GIB)))
    volume = min(VOLUME_MAX_GB, max(VOLUME_MIN_GB, math.ceil((weights_gib * 1.5 + 20) / 10) * 10))
    return {"container_startup_health_check_timeout_s": startup,
            "model_data_download_timeout_s": startup, "volume_size_gb": volume}


def lora_bytes(facts: dict[str, Any], tp: int = 1) -> int:
    """Bytes per GPU of the LoRA slots vLLM preallocates (module docstring, "lora"); 0 when LoRA is off.
    ``facts["lora"]``: {"max_lora_rank", "max_loras"} (set by plan_deployment)."""
    lora = facts.get("lora") or {}
    rank, slots = int(lora.get("max_lora_rank") or 0), int(lora.get("max_loras") or 0)
    layers, hidden, heads = facts.get("num_layers"), facts.get("hidden_size"), facts.get("num_attention_heads")
    if not (rank and slots and layers and hidden and heads):
        return 0
    head_dim = facts.get("head_dim") or hidden // heads
    kv = facts.get("num_key_value_heads") or heads
    inter = facts.get("intermediate_size") or 4 * hidden
    experts = facts.get("num_experts") or 1
    q_out, kv_out = heads * head_dim, kv * head_dim
    qkv = 3 * hidden + (q_out + 2 * kv_out) / tp         # column parallel, 3 slices: a full input, b shard
    o = q_out / tp + hidden                              # row parallel: a input shard, b full output
    mlp = (2 * hidden + 2 * inter / tp) + (inter / tp + hidden)   # gate_up (2 slices), down
    per_slot = layers * rank * (qkv + o + mlp * experts)
    return int(per_slot * slots * 2)                     # 16-bit (lora_dtype auto = the served dtype)


def longest_context(facts: dict[str, Any], spec: dict[str, Any], tp: int, wanted: int) -> int:
    """The longest context (<= wanted; a multiple of CONTEXT_STEP when lowered) that fits, or 0."""
    free = tp * spec["usable_gib"] * GIB - weight_bytes(facts) - tp * lora_bytes(facts, tp)
    per_token = kv_bytes_per_token(facts) * CONCURRENCY
    if free <= 0:
        return 0
    length = int(free // per_token)
    return wanted if length >= wanted else length // CONTEXT_STEP * CONTEXT_STEP


def _needs_fp8(facts: dict[str, Any]) -> bool:
    return (facts.get("quantization") or "") in FP8_METHODS or any(
        d.startswith("F8") for d in facts.get("parameters_by_dtype") or {})


def _engine_memory(memory, spec, weights=None, kv=None, tp=1) -> dict[str, Any]:
    """What the plan tells the engine about memory: the fraction the engine gets and, where the
    project sets it (memory.set_by_project), the value to pass (None when the facts are unknown:
    then the engine's own default applies)."""
    memory = memory or {}
    passed = bool(memory.get("set_by_project"))
    value = static_fraction(spec, weights, kv, tp) if passed and weights is not None else None
    return {"engine_memory_setting": memory.get("setting"),
            "engine_memory_fraction": value if passed else spec["fraction"],
            "engine_memory_fraction_passed": value is not None}


def _unknown_plan(instance_type: str, tensor_parallel_size: int, max_model_len: int,
                  budget=(ENGINE_OVERHEAD_GIB, GPU_MEMORY_FRACTION, 0.0)) -> dict[str, Any]:
    name = UNKNOWN_INSTANCE if instance_type == "auto" else instance_type
    spec = instance(name, *budget)
    return {"instance_type": name, "gpu_count": spec["gpu_count"], "gpu_memory_gib": spec["gpu_memory_gib"],
            "gpu": spec["gpu"], "price_usd_per_hour": spec.get("price_usd_per_hour"),
            "price_note": price_note() if spec.get("price_usd_per_hour") else None,
            "tensor_parallel_size": tensor_parallel_size or 1, "max_model_len": max_model_len or None,
            "weight_memory_gib": None, "kv_cache_memory_gib": None, "lora_memory_gib": None, "per_gpu_gib": None,
            "usable_gib": round(spec["usable_gib"], 2), "concurrency": CONCURRENCY, "alternatives": [],
            "engine_overhead_gib": spec["overhead_gib"], "engine_memory_setting": None,
            "engine_memory_fraction": None, "engine_memory_fraction_passed": False,
            "reason": "The model's facts are unknown (offline, not cached): this is a default, not a fit. "
                      "Check the instance type and set maxModelLen for your model.",
            **timeouts(30.0)}


def plan_deployment(facts: dict[str, Any], instance_type: str = "auto", *, tensor_parallel_size: int = 0,
                    max_model_len: int = 0, engine_overhead_gib: float = ENGINE_OVERHEAD_GIB,
                    memory: dict[str, Any] | None = None, lora: dict[str, Any] | None = None) -> dict[str, Any]:
    """Choose (auto) or validate (explicit) instance type, TP and max length; estimate memory and timeouts.

    ``memory`` is the server version's catalog ``memory`` (generator/data/engines.json): how much of the
    GPU the engine takes, and whether the project passes the engine's fraction (SGLang). ``lora``:
    {"max_lora_rank", "max_loras"} when LoRA is on: its slots come out of the KV budget (``lora_bytes``)."""
    budget = _budget(engine_overhead_gib, memory)
    if lora:
        facts = {**facts, "lora": {"max_lora_rank": lora["max_lora_rank"], "max_loras": lora["max_loras"]}}
    weights = weight_bytes(facts) if facts.get("known") else None
    per_token = kv_bytes_per_token(facts) if facts.get("known") else None
    limit = context_limit(facts) if facts.get("known") else None
    if weights is None or per_token is None or limit is None:
        return _unknown_plan(instance_type, tensor_parallel_size, max_model_len, budget)
    if max_model_len and max_model_len > limit:
        raise InvalidAnswer(f"maxModelLen {max_model_len} exceeds {facts['id']}'s maximum context of {limit} "
                            f"tokens. Use {limit} or less, or 0 for automatic.")
    wanted = max_model_len or limit
    floor = wanted if max_model_len else min(MIN_CONTEXT, limit)
    explicit = instance_type != "auto"
    if explicit:
        spec = instance(instance_type)
        if _needs_fp8(facts) and not spec["fp8"]:
            fp8 = [n for n in candidates() if instance(n)["fp8"]][:4]
            raise SizingError(f"{facts['id']} is an FP8 checkpoint and {instance_type}'s {spec['gpu']} GPUs have no "
                              f"FP8 support. Use an instance type with L4, L40S, H100 or H200 GPUs, such as "
                              f"{', '.join(fp8)}.")
    names = [instance_type] if explicit else candidates()
    if tensor_parallel_size and not explicit:
        most = max(instance(n)["gpu_count"] for n in candidates())
        valid = valid_tp_sizes(facts, most)
        if tensor_parallel_size not in valid:
            raise SizingError(
                f"tensorParallelSize {tensor_parallel_size} is not valid for {facts['id']}: it must divide the "
                f"attention heads ({facts['num_attention_heads']}) and KV heads ({facts['num_key_value_heads']}) and "
                f"not exceed the GPUs of one instance ({most}). Valid sizes: {', '.join(map(str, valid))}; "
                "or 0 for automatic.")
    for name in names:
        spec = instance(name, *budget)
        if _needs_fp8(facts) and not spec["fp8"]:
            continue
        tps = valid_tp_sizes(facts, spec["gpu_count"])
        if tensor_parallel_size:
            if tensor_parallel_size not in tps:
                if explicit:
                    raise SizingError(
                        f"tensorParallelSize {tensor_parallel_size} is not valid for {facts['id']} on {name}: it must "
                        f"divide the attention heads ({facts['num_attention_heads']}) and KV heads "
                        f"({facts['num_key_value_heads']}) and not exceed the {spec['gpu_count']} GPUs. "
                        f"Valid sizes: {', '.join(map(str, tps))}"
                        + _holding_note(facts, spec, tps, wanted))
                continue
            tps = [tensor_parallel_size]
        tp = max(tps)
        length = longest_context(facts, spec, tp, wanted)
        if length < floor:
            continue
        return _plan(facts, spec, tp, length, limit, weights, per_token, explicit, bool(max_model_len),
                     _alternatives(facts, name, tensor_parallel_size, wanted, floor, budget), memory)
    raise _no_fit(facts, instance_type, tensor_parallel_size, wanted, floor, weights, per_token, budget)


def _holding_note(facts, spec, tps, wanted) -> str:
    """'.' when every valid size holds the weights, else which of them do."""
    holds = [t for t in tps if longest_context(facts, spec, t, wanted) >= CONTEXT_STEP]
    if holds == tps:
        return "."
    if not holds:
        return f", but none of them holds the weights on {spec['name']}: choose a larger instance type."
    return f"; of these, only {', '.join(map(str, holds))} hold{'s' if len(holds) == 1 else ''} the weights."


def _fitting(facts, tensor_parallel_size, wanted, floor, budget):
    """(instance type, TP) for every catalogued type that holds the model with >= floor tokens, cheapest first."""
    for name in candidates():
        spec = instance(name, *budget)
        tps = valid_tp_sizes(facts, spec["gpu_count"])
        if tensor_parallel_size:
            tps = [t for t in tps if t == tensor_parallel_size]
        if tps and not (_needs_fp8(facts) and not spec["fp8"]) and \
                longest_context(facts, spec, max(tps), wanted) >= floor:
            yield name, max(tps)


def _alternatives(facts, chosen, tensor_parallel_size, wanted, floor, budget, count=3) -> list[str]:
    """The next cheapest instance types that also fit (for "to choose differently")."""
    others = (name for name, _ in _fitting(facts, tensor_parallel_size, wanted, floor, budget) if name != chosen)
    return [name for name, _ in zip(others, range(count))]


def _plan(facts, spec, tp, length, limit, weights, per_token, explicit, user_length=False,
          alternatives=(), memory=None) -> dict[str, Any]:
    kv = per_token * length * CONCURRENCY
    lora = lora_bytes(facts, tp)
    per_gpu = (weights + kv) / tp / GIB + lora / GIB + spec["overhead_gib"]
    price = spec.get("price_usd_per_hour")
    cost = f" (${price}/h, {price_note()})" if price else ""
    if explicit:
        reason = f"{spec['name']} was your choice; it fits."
    else:
        reason = (f"{spec['name']}{cost} is the cheapest catalogued instance type whose {spec['gpu_count']} x "
                  f"{spec['gpu']} hold the weights and a KV cache for {length} tokens with tensor parallelism {tp}.")
    if user_length:
        reason += f" The context is {length} tokens, as you set (maxModelLen); the model allows {limit}."
    elif length < limit:
        reason += (f" The context is {length} tokens, lowered from the model's {limit}, because a KV cache for "
                   f"{limit} tokens ({per_token * limit / GIB:.1f} GiB) does not fit in the GPU memory left "
                   f"after the weights.")
    if facts.get("lora"):
        slots, rank = facts["lora"]["max_loras"], facts["lora"]["max_lora_rank"]
        reason += (f" The {slots} LoRA adapter slot{'s' if slots > 1 else ''} of rank {rank} vLLM preallocates take "
                   f"{lora / GIB:.2f} GiB per GPU from the KV-cache budget.")
    if tp < spec["gpu_count"]:
        idle = spec["gpu_count"] - tp
        better = [t for t in valid_tp_sizes(facts, spec["gpu_count"]) if t > tp]
        same = [n for n in candidates() if instance(n)["gpu_count"] == tp][:2]
        reason += (f" With tensor parallelism {tp}, {idle} of its {spec['gpu_count']} GPUs sit idle"
                   + (f": use tensorParallelSize={max(better)} to use them" if better else "")
                   + (f", or an instance type with {tp} GPU{'s' if tp > 1 else ''} ({', '.join(same)})" if same else "")
                   + ".")
    return {"instance_type": spec["name"], "gpu_count": spec["gpu_count"], "gpu_memory_gib": spec["gpu_memory_gib"],
            "gpu": spec["gpu"], "price_usd_per_hour": price, "price_note": price_note() if price else None,
            "tensor_parallel_size": tp, "max_model_len": length,
            "weight_memory_gib": round(weights / GIB, 2), "kv_cache_memory_gib": round(kv / GIB, 2),
            "lora_memory_gib": round(lora / GIB, 3) if facts.get("lora") else None,
            "per_gpu_gib": round(per_gpu, 2), "usable_gib": round(spec["usable_gib"] + spec["overhead_gib"], 2),
            "engine_overhead_gib": spec["overhead_gib"], **_engine_memory(memory, spec, weights, kv, tp),
            "concurrency": CONCURRENCY, "reason": reason, "alternatives": list(alternatives),
            **timeouts(weights / GIB)}


def _no_fit(facts, instance_type, tensor_parallel_size, wanted, floor, weights, per_token,
            budget=(ENGINE_OVERHEAD_GIB, GPU_MEMORY_FRACTION, 0.0)) -> SizingError:
    fits = [f"{name} (TP {tp})" for name, tp in _fitting(facts, tensor_parallel_size, wanted, floor, budget)]
    what = (f"{facts['id']} ({weights / GIB:.1f} GiB of weights, {per_token // 1024} KiB of KV cache per token)")
    if instance_type == "auto":
        return SizingError(f"{what} does not fit any catalogued instance type with a context of {floor} tokens "
                           "or more. Use a quantized variant of the model (AWQ, GPTQ or FP8), or a smaller maxModelLen.")
    spec = instance(instance_type, *budget)
    tps = valid_tp_sizes(facts, spec["gpu_count"])
    with_tp = f" and tensorParallelSize={tensor_parallel_size}" if tensor_parallel_size else ""
    message = (f"{what} does not fit {instance_type} ({spec['gpu_count']} x {spec['gpu']}){with_tp} with a context "
               f"of {wanted} tokens.")
    # the same instance with another tensor-parallel size (the sizes that hold the weights)
    holding = [t for t in tps if longest_context(facts, spec, t, wanted) >= CONTEXT_STEP]
    full = [t for t in holding if longest_context(facts, spec, t, wanted) >= floor]
    if tensor_parallel_size and full:
        best = max(full)
        message += (f" Use tensorParallelSize={best} (or 0 for automatic): {instance_type} then holds it with "
                    f"maxModelLen={longest_context(facts, spec, best, wanted)}.")
    elif holding:
        best = max(holding)
        message += (f" {instance_type} holds it with a shorter context: maxModelLen="
                    f"{longest_context(facts, spec, best, wanted)} (tensorParallelSize={best}).")
    if fits:
        message += f" Instance types that fit: {', '.join(fits[:5])}."
    if not fits and not holding:
        message += " Use a quantized variant of the model (AWQ, GPTQ or FP8)."
    return SizingError(message)


# Inference components (issue 20). MinMemoryRequiredInMb is the HOST memory (RAM) a copy reserves,
# not GPU memory: weights + KV cache (17,490 MB for Llama-3.1-8B) can never be placed on a 16 GiB
# ml.g6.xlarge. The SageMaker Python SDK reserves 1024 MB by default because larger values "can exceed
# SageMaker inference component limits (which are lower than raw EC2 memory)" (aws/sagemaker-python-sdk
# sagemaker-serve/src/sagemaker/serve/model_builder.py ~860-862, `default_memory_mb = 1024`); the SDK
# deploys LLMs with that, so the value is a placement reservation, not a cap on the container.
IC_MIN_MEMORY_MB = 1024            # the SDK's default; the floor, and what deploy uses for an unknown host
HOST_HEADROOM_GIB = 2.0            # left to the OS and SageMaker's own agents on every instance,
HOST_HEADROOM_FRACTION = 0.10      # or this share of the host memory when larger [estimate]
ENGINE_HOST_GIB = 2.0              # the engine's main process on the host: Python, torch, CUDA runtime,
ENGINE_HOST_GIB_PER_GPU = 2.0      # tokenizer, HTTP server; plus one worker per GPU with its own CUDA
                                   # context [estimate: weights go to the GPU, not to host memory]


def host_memory(instance_type: str, tensor_parallel_size: int | None) -> dict[str, Any]:
    """The instance's host memory and what one inference-component copy reserves of it: what the
    engine process needs, never more than the copy's share of the host (gpu_count / TP copies fit
    on one instance) after the headroom."""
    spec = catalog()["instances"].get(instance_type) or {}
    host = spec.get("host_memory_gib")
    if not host:
        return {"host_memory_gib": None, "inference_component_memory_mb": IC_MIN_MEMORY_MB}
    tp = min(max(int(tensor_parallel_size or 1), 1), spec["gpu_count"])
    share_mb = (host - max(HOST_HEADROOM_GIB, host * HOST_HEADROOM_FRACTION)) * 1024 / (spec["gpu_count"] // tp)
    need_mb = (ENGINE_HOST_GIB + ENGINE_HOST_GIB_PER_GPU * tp) * 1024
    return {"host_memory_gib": host,
            "inference_component_memory_mb": max(IC_MIN_MEMORY_MB, math.floor(min(need_mb, share_mb)))}
