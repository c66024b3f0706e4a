"""The five supported servers: pinned images and the engine settings each one accepts.

The pinned images are the interface contract (shared/DESIGN.md): change them only on
purpose, together with tests/test_render.py, which asserts each FROM line.
``ENGINE_ARGS`` lists what a user may add at run time through ``ENGINE_ARG_<NAME>``
environment variables (kind: bool, int, float or str). Names come from each server's
own argument parser at the pinned version (see shared/reference/servers.md):
vLLM ``vllm/engine/arg_utils.py`` and ``entrypoints/openai/cli_args.py`` (v0.10.1),
SGLang ``srt/server_args.py`` (v0.5.4.post1), ``trtllm-serve`` (``commands/serve.py``),
LMI/DJL ``serving/docs/lmi/deployment_guide/configurations.md`` (0.32.0).
"""

from __future__ import annotations

from .errors import InvalidAnswer

SERVERS: dict[str, dict] = {
    "vllm": {
        "title": "vLLM", "version": "v0.10.1", "image": "vllm/vllm-openai:v0.10.1",
        "proxy": False, "flag_style": "dash", "native_sagemaker_routes": True,
    },
    "sglang": {
        "title": "SGLang", "version": "v0.5.4.post1", "image": "lmsysorg/sglang:v0.5.4.post1",
        "proxy": True, "flag_style": "dash", "native_sagemaker_routes": True,
    },
    "tensorrt-llm": {
        "title": "TensorRT-LLM (trtllm-serve)", "version": "1.2.0rc8",
        "image": "nvcr.io/nvidia/tensorrt-llm/release:1.2.0rc8",
        "proxy": True, "flag_style": "underscore", "native_sagemaker_routes": False,
    },
    "lmi": {
        "title": "AWS LMI (DJL Serving + vLLM/lmi-dist)", "version": "0.32.0-lmi14.0.0",
        "image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu126",
        "proxy": False, "flag_style": "properties", "native_sagemaker_routes": True,
    },
    "djl": {
        "title": "DJL Serving (PyTorch, HF Accelerate)", "version": "0.32.0",
        "image": "deepjavalibrary/djl-serving:0.32.0-pytorch-cu126",
        "proxy": False, "flag_style": "properties", "native_sagemaker_routes": True,
    },
}

# Flags the serve script sets itself. ENGINE_ARG_ may override only the last two kinds of
# value (context length, tensor parallelism); the rest are fixed by the project.
_B, _I, _F, _S = "bool", "int", "float", "str"
ENGINE_ARGS: dict[str, dict[str, str]] = {
    "vllm": {
        "dtype": _S, "quantization": _S, "kv-cache-dtype": _S, "gpu-memory-utilization": _F,
        "max-num-seqs": _I, "max-num-batched-tokens": _I, "max-seq-len-to-capture": _I,
        "enforce-eager": _B, "enable-prefix-caching": "bool+", "enable-chunked-prefill": "bool+",
        "trust-remote-code": _B, "swap-space": _F, "cpu-offload-gb": _F, "block-size": _I, "seed": _I,
        "max-logprobs": _I, "disable-log-stats": _B, "enable-log-requests": _B, "tokenizer-mode": _S,
        "generation-config": _S, "enable-auto-tool-choice": _B, "tool-call-parser": _S,
        "reasoning-parser": _S, "pipeline-parallel-size": _I, "data-parallel-size": _I,
        "enable-expert-parallel": _B, "disable-custom-all-reduce": _B, "load-format": _S,
        "download-dir": _S, "uvicorn-log-level": _S, "disable-sliding-window": _B,
        "limit-mm-per-prompt": _S, "override-generation-config": _S, "speculative-config": _S,
        "hf-overrides": _S, "max-model-len": _I, "tensor-parallel-size": _I,
    },
    "sglang": {
        "dtype": _S, "quantization": _S, "kv-cache-dtype": _S, "mem-fraction-static": _F,
        "max-running-requests": _I, "max-total-tokens": _I, "max-prefill-tokens": _I,
        "chunked-prefill-size": _I, "schedule-policy": _S, "schedule-conservativeness": _F,
        "trust-remote-code": _B, "disable-radix-cache": _B, "skip-server-warmup": _B,
        "disable-cuda-graph": _B, "cuda-graph-max-bs": _I, "enable-torch-compile": _B,
        "enable-mixed-chunk": _B, "enable-metrics": _B, "tool-call-parser": _S, "reasoning-parser": _S,
        "attention-backend": _S, "log-level": _S, "random-seed": _I, "stream-interval": _I,
        "download-dir": _S, "load-format": _S, "dp-size": _I, "ep-size": _I,
        "context-length": _I, "tensor-parallel-size": _I,
    },
    "tensorrt-llm": {
        "max_batch_size": _I, "max_num_tokens": _I, "max_beam_width": _I, "pp_size": _I, "ep_size": _I,
        "kv_cache_free_gpu_memory_fraction": _F, "trust_remote_code": _B, "enable_chunked_prefill": _B,
        "reasoning_parser": _S, "log_level": _S, "num_postprocess_workers": _I,
        "extra_llm_api_options": _S, "tokenizer": _S, "max_seq_len": _I, "tp_size": _I,
    },
    "lmi": {
        "rolling_batch": _S, "max_rolling_batch_size": _I, "max_rolling_batch_prefill_tokens": _I,
        "dtype": _S, "gpu_memory_utilization": _F, "quantize": _S, "enable_prefix_caching": _B,
        "enable_chunked_prefill": _B, "enforce_eager": _B, "trust_remote_code": _B,
        "output_formatter": _S, "tgi_compat": _B, "model_loading_timeout": _I, "kv_cache_dtype": _S,
        "cpu_offload_gb": _F, "swap_space": _F, "block_size": _I, "enable_lora": _B, "max_loras": _I,
        "max_lora_rank": _I, "max_model_len": _I, "tensor_parallel_degree": _S,
    },
    "djl": {
        "rolling_batch": _S, "max_rolling_batch_size": _I, "dtype": _S, "trust_remote_code": _B,
        "output_formatter": _S, "model_loading_timeout": _I, "device_map": _S,
        "tensor_parallel_degree": _S,
    },
}

# Settings the serve script itself passes; ENGINE_ARG_<NAME> replaces their value
# (name -> the serve script's variable).
MANAGED_ARGS: dict[str, dict[str, str]] = {
    "vllm": {"max-model-len": "MAX_MODEL_LEN", "tensor-parallel-size": "TENSOR_PARALLEL_SIZE"},
    "sglang": {"context-length": "MAX_MODEL_LEN", "tensor-parallel-size": "TENSOR_PARALLEL_SIZE"},
    "tensorrt-llm": {"max_seq_len": "MAX_MODEL_LEN", "tp_size": "TENSOR_PARALLEL_SIZE"},
    "lmi": {"max_model_len": "MAX_MODEL_LEN", "tensor_parallel_degree": "TENSOR_PARALLEL_SIZE"},
    "djl": {"tensor_parallel_degree": "TENSOR_PARALLEL_SIZE"},
}

# Architectures each engine can run, where that is narrower than "any HF causal LM".
# TensorRT-LLM's PyTorch backend and LMI's vLLM backend list their supported models; we
# check only the common families and say so when a model is outside them.
TRTLLM_ARCHITECTURES = {
    "LlamaForCausalLM", "MistralForCausalLM", "MixtralForCausalLM", "Qwen2ForCausalLM",
    "Qwen3ForCausalLM", "Qwen3MoeForCausalLM", "Gemma3ForCausalLM", "Phi3ForCausalLM",
    "DeepseekV3ForCausalLM", "NemotronForCausalLM", "Qwen2MoeForCausalLM", "Gemma3ForConditionalGeneration",
}


# Architectures newer than what LMI/DJL 0.32.0 ship (vLLM 0.7.x, transformers 4.45-4.4x; see
# shared/reference/servers.md section 6): model classes added to vLLM/transformers later.
LMI_TOO_NEW_ARCHITECTURES = {
    "Qwen3ForCausalLM": "vLLM 0.8.5", "Qwen3MoeForCausalLM": "vLLM 0.8.5",
    "Gemma3ForCausalLM": "vLLM 0.8.0", "Gemma3ForConditionalGeneration": "vLLM 0.8.0",
    "Llama4ForConditionalGeneration": "vLLM 0.8.3", "GptOssForCausalLM": "vLLM 0.10.1",
    "Glm4ForCausalLM": "vLLM 0.8.5",
}


def server(name: str) -> dict:
    try:
        return SERVERS[name]
    except KeyError:
        raise InvalidAnswer(
            f"modelServer '{name}' is not supported. Choose one of: {', '.join(SERVERS)}."
        ) from None
