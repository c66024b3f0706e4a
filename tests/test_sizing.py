"""generator/sizing.py, table-driven. Expected values are worked out by hand below from the
models' published configs and the catalog (generator/data/instances.json); they were not
produced by running the code.

Per-GPU usable memory = GPU MiB / 1024 x 0.9 - 2 GiB:
  A10G, L4 (22,888 MiB): 22.3516 x 0.9 - 2 = 18.1164 GiB      L40S (45,776 MiB): 38.2328 GiB
  A100 40 GB (40,960 MiB): 34.0 GiB                             H100 (81,920 MiB): 70.0 GiB
Cheapest first: ml.g6.xlarge $1.127 < ml.g6.2xlarge $1.222 < ml.g5.xlarge $1.408 < ... <
  ml.g6.12xlarge $5.752 < ml.g5.12xlarge $7.09 < ml.g6e.12xlarge $13.12 < ml.g6.48xlarge $16.688.
Timeouts: 600 + ceil(20 x weight GiB), within 600..3600 s. Volume: ceil((1.5 x weight GiB + 20) / 10) x 10,
  within 30..512 GB.
"""

import pytest

from generator import sizing
from generator.errors import InvalidAnswer, SizingError
from generator.facts import model_facts
from test_facts import snapshot


def facts(model_id):
    return model_facts(snapshot(model_id), model_id, "main")


CASES = [
    # Qwen2.5-0.5B: 494,032,768 BF16 x 2 B = 0.9202 GiB; KV 2*24*2*64*2 = 12,288 B/token;
    # 32,768 tokens = 0.375 GiB. Fits the cheapest type. 14 heads / 2 KV heads -> TP 1 on 1 GPU.
    # Timeout 600 + ceil(18.4) = 619; volume ceil(2.138) x 10 = 30.
    ("Qwen/Qwen2.5-0.5B-Instruct", "auto", 0, 0, ("ml.g6.xlarge", 1, 32768, 0.92, 619, 30)),
    # Llama-3.1-8B: 8,030,261,248 x 2 B = 14.9570 GiB; KV 2*32*8*128*2 = 131,072 B/token (128 KiB).
    # On one L4: 18.1164 - 14.9570 = 3.1594 GiB free = 25,882 tokens -> 25 x 1024 = 25,600 (>= 8,192).
    # Timeout 600 + ceil(299.14) = 900; volume ceil(4.24) x 10 = 50.
    ("meta-llama/Llama-3.1-8B-Instruct", "auto", 0, 0, ("ml.g6.xlarge", 1, 25600, 14.96, 900, 50)),
    # Llama-3.1-70B: 70,553,706,496 x 2 B = 131.4179 GiB; KV 2*80*8*128*2 = 327,680 B/token.
    # 4 x L4/A10G hold 72.47 GiB (too small); ml.g6e.12xlarge (4 x L40S, 152.9312 GiB) is the next
    # cheapest: 21.5134 GiB free / 320 KiB = 70,495 tokens -> 68 x 1024 = 69,632. 64 heads, 8 KV -> TP 4.
    # Timeout 600 + ceil(2628.36) = 3229; volume ceil(21.71) x 10 = 220.
    ("meta-llama/Llama-3.1-70B-Instruct", "auto", 0, 0, ("ml.g6e.12xlarge", 4, 69632, 131.42, 3229, 220)),
    # Mixtral-8x7B (all 8 experts resident): 46,702,792,704 x 2 B = 86.9879 GiB > 72.47 GiB of 4 x L4,
    # so ml.g6e.12xlarge; KV 128 KiB x 32,768 = 4 GiB fits. 32 heads / 8 KV -> TP 4.
    # Timeout 600 + ceil(1739.76) = 2340; volume ceil(15.05) x 10 = 160.
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "auto", 0, 0, ("ml.g6e.12xlarge", 4, 32768, 86.99, 2340, 160)),
    # Qwen2.5-7B AWQ 4-bit, packed: 822,033,408 I32 x 4 B + 1,141,306,880 F16 x 2 B = 5,570,747,392 B
    # = 5.1882 GiB; KV 2*28*4*128*2 = 57,344 B/token x 32,768 = 1.75 GiB. One L4.
    # Timeout 600 + ceil(103.76) = 704; volume ceil(2.78) x 10 = 30.
    ("Qwen/Qwen2.5-7B-Instruct-AWQ", "auto", 0, 0, ("ml.g6.xlarge", 1, 32768, 5.19, 704, 30)),
    # Heads that do not divide by 4: Qwen2.5-0.5B (14 heads, 2 KV) on 4 GPUs -> TP 2, the largest
    # size <= 4 that divides 14 and 2.
    ("Qwen/Qwen2.5-0.5B-Instruct", "ml.g6.12xlarge", 0, 0, ("ml.g6.12xlarge", 2, 32768, 0.92, 619, 30)),
    # The same on 8 GPUs: still TP 2.
    ("Qwen/Qwen2.5-0.5B-Instruct", "ml.g5.48xlarge", 0, 0, ("ml.g5.48xlarge", 2, 32768, 0.92, 619, 30)),
    # Llama-3.1-8B with the full 131,072 context (16 GiB of KV): 14.957 + 16 = 30.96 GiB > one L4 or A10G;
    # one L40S holds 38.23 GiB -> ml.g6e.xlarge ($2.61) is cheaper than any 4-GPU type ($5.752+).
    ("meta-llama/Llama-3.1-8B-Instruct", "auto", 0, 131072, ("ml.g6e.xlarge", 1, 131072, 14.96, 900, 50)),
    # An explicit TP is kept when valid: Llama-3.1-70B on ml.p4d.24xlarge (8 x 34 GiB usable) with TP 8:
    # 272 - 131.4179 = 140.58 GiB free > 131,072 x 320 KiB = 40 GiB -> full context.
    ("meta-llama/Llama-3.1-70B-Instruct", "ml.p4d.24xlarge", 8, 0, ("ml.p4d.24xlarge", 8, 131072, 131.42, 3229, 220)),
]


@pytest.mark.parametrize("model,instance,tp,max_len,expected", CASES,
                         ids=[f"{c[0].split('/')[1]}-{c[1]}-tp{c[2]}-len{c[3]}" for c in CASES])
def test_plan(model, instance, tp, max_len, expected):
    plan = sizing.plan_deployment(facts(model), instance, tensor_parallel_size=tp, max_model_len=max_len)
    got = (plan["instance_type"], plan["tensor_parallel_size"], plan["max_model_len"], plan["weight_memory_gib"],
           plan["container_startup_health_check_timeout_s"], plan["volume_size_gb"])
    assert got == expected
    assert plan["model_data_download_timeout_s"] == plan["container_startup_health_check_timeout_s"]
    assert plan["per_gpu_gib"] <= plan["gpu_memory_gib"]


def test_lowered_context_is_explained():
    plan = sizing.plan_deployment(facts("meta-llama/Llama-3.1-8B-Instruct"))
    assert "lowered from the model's 131072" in plan["reason"] and "16.0 GiB" in plan["reason"]


REFUSALS = [
    # 70B on one A10G: names the types that fit and says a quantized variant helps only when nothing fits.
    ("meta-llama/Llama-3.1-70B-Instruct", "ml.g5.xlarge", 0, 0,
     r"does not fit ml\.g5\.xlarge \(1 x A10G\).*Instance types that fit: ml\.g6e\.12xlarge \(TP 4\), "
     r"ml\.g6\.48xlarge \(TP 8\)"),
    # 8B with the full context on one L4: suggests the types that fit and the longest context that fits there.
    ("meta-llama/Llama-3.1-8B-Instruct", "ml.g6.xlarge", 0, 131072,
     r"does not fit ml\.g6\.xlarge.*ml\.g6\.xlarge holds it with a shorter context: maxModelLen=25600 "
     r"\(tensorParallelSize=1\)\. Instance types that fit: ml\.g6e\.xlarge \(TP 1\)"),
    # TP that does not divide the heads: 14 heads, 2 KV heads.
    ("Qwen/Qwen2.5-0.5B-Instruct", "ml.g6.12xlarge", 4, 0, r"tensorParallelSize 4 is not valid.*Valid sizes: 1, 2\."),
    # TP larger than the GPUs.
    ("meta-llama/Llama-3.1-8B-Instruct", "ml.g6e.xlarge", 2, 0, r"not exceed the 1 GPUs\. Valid sizes: 1\."),
]


@pytest.mark.parametrize("model,instance,tp,max_len,message", REFUSALS)
def test_refusals_name_a_fix(model, instance, tp, max_len, message):
    with pytest.raises(SizingError, match=message):
        sizing.plan_deployment(facts(model), instance, tensor_parallel_size=tp, max_model_len=max_len)


def test_context_beyond_the_model_is_refused():
    with pytest.raises(InvalidAnswer, match=r"exceeds .*maximum context of 32768 tokens\. Use 32768 or less"):
        sizing.plan_deployment(facts("Qwen/Qwen2.5-0.5B-Instruct"), max_model_len=65536)


def test_unknown_instance_type_lists_the_catalog():
    with pytest.raises(InvalidAnswer, match=r"ml\.m5\.xlarge.*ml\.g6e\.48xlarge.*ml\.p5en\.48xlarge"):
        sizing.plan_deployment(facts("Qwen/Qwen2.5-0.5B-Instruct"), "ml.m5.xlarge")


def fp8_facts():
    f = facts("meta-llama/Llama-3.1-8B-Instruct")
    # an FP8 checkpoint of the same shape: 8,030,261,248 parameters, about 1 byte each
    f["quantization"], f["parameters_by_dtype"] = "fp8", {"F8_E4M3": 7_500_000_000, "BF16": 530_261_248}
    return f


def test_fp8_is_refused_on_gpus_without_fp8():
    with pytest.raises(SizingError, match=r"FP8 checkpoint and ml\.g5\.xlarge's A10G GPUs have no FP8 support.*"
                                          r"ml\.g6\.xlarge"):
        sizing.plan_deployment(fp8_facts(), "ml.g5.xlarge")
    with pytest.raises(SizingError, match="no FP8 support"):
        sizing.plan_deployment(fp8_facts(), "ml.p4d.24xlarge")


def test_fp8_auto_picks_an_fp8_gpu():
    # 7.5e9 x 1 B + 530,261,248 x 2 B = 8,560,522,496 B = 7.97 GiB; L4 (FP8) is the cheapest anyway.
    plan = sizing.plan_deployment(fp8_facts())
    assert plan["instance_type"] == "ml.g6.xlarge" and plan["weight_memory_gib"] == 7.97


def test_config_arithmetic_when_the_hub_has_no_counts():
    f = facts("meta-llama/Llama-3.1-8B-Instruct")
    f["parameters_by_dtype"], f["parameter_count"] = {}, None
    # 32 x (4096*32*128*2 + 4096*8*128*2 + 3*4096*14336) + 128256*4096*2
    # = 32 x (33,554,432 + 8,388,608 + 176,160,768) + 1,050,673,152 = 8,029,995,008 parameters
    assert sizing.config_parameters(f) == 8_029_995_008
    assert sizing.weight_bytes(f) == 16_059_990_016


def test_mixtral_counts_every_expert():
    f = facts("mistralai/Mixtral-8x7B-Instruct-v0.1")
    f["parameters_by_dtype"], f["parameter_count"] = {}, None
    # 32 x (4096*32*128*2 + 4096*8*128*2 + 3*4096*14336*8) + 32000*4096*2 = 46,701,477,888
    assert sizing.config_parameters(f) == 46_701_477_888


def test_yarn_rope_scaling_extends_the_context():
    f = facts("Qwen/Qwen2.5-0.5B-Instruct")
    f["rope_scaling"] = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    assert sizing.context_limit(f) == 131072


def test_timeouts_are_bounded_by_sagemaker_limits():
    assert sizing.timeouts(0.0) == {"container_startup_health_check_timeout_s": 600,
                                    "model_data_download_timeout_s": 600, "volume_size_gb": 30}
    assert sizing.timeouts(400.0) == {"container_startup_health_check_timeout_s": 3600,
                                      "model_data_download_timeout_s": 3600, "volume_size_gb": 512}


def test_catalog_covers_the_issue_families_with_sources():
    cat = sizing.catalog()
    names = set(cat["instances"])
    for family in ("ml.g5", "ml.g6", "ml.g6e"):
        for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"):
            assert f"{family}.{size}" in names
    assert {"ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge", "ml.p5e.48xlarge", "ml.p5en.48xlarge"} <= names
    assert "karpenter" in cat["_source"] and cat["_prices"]["date"] and cat["_prices"]["source_g5_g6_g6e"]
    assert sizing.instance("ml.p5.48xlarge")["fp8"] and not sizing.instance("ml.p4de.24xlarge")["fp8"]


@pytest.mark.parametrize("server,version,arch,message", [
    ("lmi", "0.32.0-lmi14.0.0", "Qwen3ForCausalLM",
     r"Qwen3ForCausalLM model, which needs vLLM 0\.8\.5 or newer; AWS LMI .* 0\.32\.0-lmi14\.0\.0 ships an older "
     r"engine\. Use -d modelServerVersion=0\.38\.0-lmi29\.0\.0"),
    ("djl", "0.32.0", "Gemma3ForCausalLM", r"needs transformers 4\.50\.0 or newer"),
    ("tensorrt-llm", "1.2.1", "GPT2LMHeadModel", r"TensorRT-LLM \(trtllm-serve\) 1\.2\.1 has no support we can vouch for GPT2LMHeadModel"),
])
def test_servers_that_cannot_run_the_architecture_say_so(server, version, arch, message):
    from generator import servers
    from generator.project import _check_server_fit
    f = facts("Qwen/Qwen2.5-0.5B-Instruct")
    f["architecture"] = arch
    with pytest.raises(InvalidAnswer, match=message):
        _check_server_fit(servers.entry(server, version), f, {})


def test_a_newer_catalog_version_runs_what_the_seed_cannot():
    from generator import servers
    from generator.project import _check_server_fit
    f = facts("Qwen/Qwen2.5-0.5B-Instruct")
    f["architecture"] = "Qwen3ForCausalLM"
    _check_server_fit(servers.entry("lmi", "0.38.0-lmi29.0.0"), f, {})     # vLLM 0.28.0: no refusal


# Messages a new user hit (issue 13 item 2), each checked against what the old code said.
def test_auto_with_a_tensor_parallel_size_no_model_allows_names_the_valid_sizes():
    f = facts("Qwen/Qwen2.5-7B-Instruct-AWQ")       # 28 heads, 4 KV heads
    for tp in (3, 8):
        with pytest.raises(SizingError) as err:
            sizing.plan_deployment(f, "auto", tensor_parallel_size=tp)
        assert f"tensorParallelSize {tp} is not valid" in str(err.value)
        assert "Valid sizes: 1, 2, 4" in str(err.value) and "quantized" not in str(err.value)


def test_auto_with_tensor_parallel_2_picks_enough_gpus_and_says_which_sit_idle():
    plan = sizing.plan_deployment(facts("Qwen/Qwen2.5-7B-Instruct-AWQ"), "auto", tensor_parallel_size=2)
    assert plan["tensor_parallel_size"] == 2 and sizing.instance(plan["instance_type"])["gpu_count"] >= 2
    assert "2 of its 4 GPUs sit idle: use tensorParallelSize=4" in plan["reason"]


def test_a_fixed_instance_with_too_small_a_tensor_parallel_size_says_which_size_works():
    with pytest.raises(SizingError) as err:
        sizing.plan_deployment(facts("meta-llama/Llama-3.1-70B-Instruct"), "ml.p4d.24xlarge", tensor_parallel_size=1)
    message = str(err.value)
    assert "Use tensorParallelSize=8" in message and "Or keep" not in message


def test_valid_sizes_say_which_hold_the_weights():
    with pytest.raises(SizingError) as err:
        sizing.plan_deployment(facts("meta-llama/Llama-3.1-70B-Instruct"), "ml.g6.12xlarge", tensor_parallel_size=3)
    assert "Valid sizes: 1, 2, 4, but none of them holds the weights on ml.g6.12xlarge" in str(err.value)


def test_a_chosen_max_model_len_is_not_explained_as_lowered():
    plan = sizing.plan_deployment(facts("meta-llama/Llama-3.1-8B-Instruct"), "auto", max_model_len=4096)
    assert "as you set (maxModelLen)" in plan["reason"] and "lowered" not in plan["reason"]


def test_alternatives_are_real_and_exclude_the_choice():
    plan = sizing.plan_deployment(facts("meta-llama/Llama-3.1-8B-Instruct"), "auto")
    assert plan["alternatives"] and plan["instance_type"] not in plan["alternatives"]
    for name in plan["alternatives"]:
        sizing.plan_deployment(facts("meta-llama/Llama-3.1-8B-Instruct"), name)     # each one fits


@pytest.mark.parametrize("given,guess", [("g5.2xlarge", "ml.g5.2xlarge"), ("ml.g6.2xlarg", "ml.g6.2xlarge")])
def test_unknown_instance_type_gets_a_did_you_mean(given, guess):
    with pytest.raises(InvalidAnswer, match=f"Did you mean '{guess}'"):
        sizing.instance(given)


def test_unknown_server_gets_a_did_you_mean():
    from generator import servers
    with pytest.raises(InvalidAnswer, match="Did you mean 'vllm'"):
        servers.check_server("vlm")


# Issue 20 item 2: the memory each engine version takes (catalog "memory", cited there) covers the plan.
MEMORY_MODELS = ["Qwen/Qwen2.5-0.5B-Instruct", "meta-llama/Llama-3.1-8B-Instruct",
                 "meta-llama/Llama-3.1-70B-Instruct", "mistralai/Mixtral-8x7B-Instruct-v0.1"]


def _catalog_entries():
    from generator import servers
    return [(s, v) for s in servers.SERVERS for v in servers.versions(s)]


@pytest.mark.parametrize("server,version", _catalog_entries(), ids=lambda x: str(x))
@pytest.mark.parametrize("model", MEMORY_MODELS, ids=lambda m: m.split("/")[1])
@pytest.mark.parametrize("max_len", [0, 4096])
def test_the_fraction_the_engine_gets_covers_the_planned_weights_and_kv(server, version, model, max_len):
    from generator import servers
    entry = servers.entry(server, version)
    memory = entry["memory"]
    assert memory["source"] and memory["summary"] and 0 < memory["fraction"] <= 1
    plan = sizing.plan_deployment(facts(model), max_model_len=max_len,
                                  engine_overhead_gib=entry["engine_overhead_gib"], memory=memory)
    gpu = plan["gpu_memory_gib"]
    need = (plan["weight_memory_gib"] + plan["kv_cache_memory_gib"]) / plan["tensor_parallel_size"]
    if memory["set_by_project"]:
        # SGLang: the static pool is mem_fraction_static x the memory free before loading
        # (kv_cache_configurator.py:3007, model_runner.py:1277 at 0.5.4.post1); the plan passes it.
        assert plan["engine_memory_fraction_passed"] and plan["engine_memory_setting"] == "--mem-fraction-static"
        free_at_start = gpu - memory["preload_gib"]
        fraction = plan["engine_memory_fraction"]
        assert 0 < fraction < 1
        assert fraction * free_at_start >= need - 0.01          # rounding of the lock's GiB figures
        # and it leaves the engine its activations and CUDA graphs (to within the 0.001 rounding)
        assert (1 - fraction) * free_at_start >= entry["engine_overhead_gib"] - 0.001 * free_at_start
    else:
        # vLLM / LMI / TensorRT-LLM: their default fraction (not passed), minus their activations
        assert not plan["engine_memory_fraction_passed"] and plan["engine_memory_fraction"] == memory["fraction"]
        assert gpu * memory["fraction"] - entry["engine_overhead_gib"] >= need - 0.01


def _sglang_0523_default_fraction(gpu_mib: float, tp: int = 1) -> float:
    """SGLang 0.5.23's own mem_fraction_static on a 20-35 GB GPU (memory_hook.py:101-117, 281-327):
    chunked prefill 4096, decode graphs up to batch 48; the prefill-graph term is left out, which only
    makes this fraction larger than SGLang's."""
    reserved = 512 + max(4096, 2048) * 1.5 + tp / 8 * 1024 + 48 * 2
    return round((gpu_mib - reserved) / gpu_mib, 3)


def test_sglang_0523_left_alone_would_not_hold_the_plan_so_the_plan_passes_its_fraction():
    from generator import servers
    entry = servers.entry("sglang", "0.5.23")
    plan = sizing.plan_deployment(facts("meta-llama/Llama-3.1-8B-Instruct"),
                                  engine_overhead_gib=entry["engine_overhead_gib"], memory=entry["memory"])
    assert plan["instance_type"] == "ml.g6.xlarge"
    own = _sglang_0523_default_fraction(22888)
    assert 0.69 <= own <= 0.71              # "near 0.70 of the whole GPU" (issue 20 item 2)
    free_at_start = plan["gpu_memory_gib"] - entry["memory"]["preload_gib"]
    need = plan["weight_memory_gib"] + plan["kv_cache_memory_gib"]
    # SGLang's own pool: 0.70 x 21.35 = 14.9 GiB, not even the 14.96 GiB of weights
    assert own * free_at_start < need
    # the plan's: (21.35 - 3.0) / 21.35 = 0.8595 -> 0.859, which holds (14.96 + 27,648 x 128 KiB = 3.375) / 21.35 = 0.8586
    assert plan["max_model_len"] == 27648 and plan["engine_memory_fraction"] == 0.859
    assert plan["engine_memory_fraction"] * free_at_start >= need - 0.01     # the plan's GiB are rounded


def test_vllm_032_plans_with_its_own_default_of_092():
    from generator import servers
    entry = servers.entry("vllm", "0.32.0")
    assert entry["memory"]["fraction"] == 0.92 and "cache.py" in entry["memory"]["source"]
    plan = sizing.plan_deployment(facts("meta-llama/Llama-3.1-8B-Instruct"),
                                  engine_overhead_gib=entry["engine_overhead_gib"], memory=entry["memory"])
    # 22.3516 x 0.92 - 3.0 = 17.5635 GiB; - 14.957 = 2.6065 GiB / 128 KiB = 21,352 -> 20,480
    assert plan["max_model_len"] == 20480 and not plan["engine_memory_fraction_passed"]


def test_a_small_model_on_sglang_gets_the_usable_share_not_a_sliver():
    """The fraction is what the plan counts usable, not the least that holds one sequence: for a
    0.5B model that least would be 0.07 (1.3 GiB of 21.35), a KV pool of one 32k sequence."""
    from generator import servers
    entry = servers.entry("sglang", "0.5.23")
    plan = sizing.plan_deployment(facts("Qwen/Qwen2.5-0.5B-Instruct"),
                                  engine_overhead_gib=entry["engine_overhead_gib"], memory=entry["memory"])
    assert plan["instance_type"] == "ml.g6.xlarge" and plan["engine_memory_fraction"] == 0.859


# -- inference component memory (MinMemoryRequiredInMb), moved from tests/test_deploy.py --------------

def _instance_catalog() -> dict:
    import json
    from pathlib import Path
    return json.loads((Path(__file__).resolve().parents[1] / "generator" / "data" / "instances.json").read_text())


@pytest.mark.parametrize("instance_type", list(_instance_catalog()["instances"]))
def test_component_memory_fits_every_catalogued_instance(instance_type):
    """MinMemoryRequiredInMb is host memory: for every catalogued type and tensor-parallel size,
    the copies that fit on the GPUs also fit in the host memory, with room left for SageMaker."""
    spec = _instance_catalog()["instances"][instance_type]
    host_mb = spec["host_memory_gib"] * 1024
    assert spec["host_memory_gib"] >= 16  # the smallest catalogued hosts (g5/g6.xlarge) have 16 GiB
    for tp in [t for t in (1, 2, 4, 8) if t <= spec["gpu_count"] and spec["gpu_count"] % t == 0]:
        got = sizing.host_memory(instance_type, tp)
        assert got["host_memory_gib"] == spec["host_memory_gib"]
        copies = spec["gpu_count"] // tp
        memory = got["inference_component_memory_mb"]
        assert memory >= 1024  # the SageMaker SDK's default reservation is the floor
        assert memory * copies <= host_mb - 2048, (instance_type, tp, memory)


def test_component_memory_in_the_lock_is_host_memory_not_weights():
    """Llama-3.1-8B on ml.g6.xlarge: weights + KV cache (17,490 MB) exceed the 16 GiB host; the lock
    reserves what the engine process needs instead, and knows the host's memory."""
    from generator import project

    lock = project.build_context({"modelName": "meta-llama/Llama-3.1-8B-Instruct", "offline": True,
                                  "modelServer": "vllm", "projectName": "llama"})["lock"]
    dep = lock["deployment"]
    assert dep["instance_type"] == "ml.g6.xlarge" and dep["host_memory_gib"] == 16
    assert (dep["weight_memory_gib"] + dep["kv_cache_memory_gib"]) * 1024 > 16 * 1024
    assert 1024 <= dep["inference_component_memory_mb"] <= 16 * 1024 - 2048
