"""Model facts derived from the hub snapshot (model info, config.json, tokenizer_config.json)."""

from __future__ import annotations

from typing import Any

from .hub import Snapshot

# Bytes per parameter of each safetensors dtype the hub reports.
DTYPE_BYTES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "BF16": 2, "F16": 2, "I16": 2,
               "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1}
_TORCH_DTYPES = {"bfloat16": "bfloat16", "float16": "float16", "half": "float16",
                 "float32": "float32", "float": "float32"}


def _first(mapping: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return default


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def chat_template_of(snap: Snapshot) -> str | None:
    """The model's chat template: its own chat_template.jinja file, else tokenizer_config's."""
    if snap.chat_template_file:
        return snap.chat_template_file
    value = (snap.tokenizer_config or {}).get("chat_template")
    if isinstance(value, list):  # named templates: [{"name": "default", "template": "..."}, ...]
        named = {t.get("name"): t.get("template") for t in value if isinstance(t, dict)}
        value = named.get("default") or next(iter(named.values()), None)
    return value if isinstance(value, str) and value.strip() else None


def model_facts(snap: Snapshot | None, model_id: str, revision: str) -> dict[str, Any]:
    """A flat, JSON-able dict of what the project needs to know about the model."""
    if snap is None:
        return {"id": model_id, "revision": revision, "sha": None, "known": False, "source": "none",
                "architecture": None, "model_type": None, "parameter_count": None, "dtype": None,
                "quantization": None, "num_layers": None, "hidden_size": None, "num_attention_heads": None,
                "num_key_value_heads": None, "head_dim": None, "max_position_embeddings": None,
                "rope_scaling": None, "num_experts": None, "vocab_size": None, "intermediate_size": None,
                "tie_word_embeddings": False, "gated": False, "has_chat_template": False,
                "chat_template": None, "bos_token": None, "eos_token": None, "pipeline_tag": None,
                "tags": [], "parameters_by_dtype": {}, "library_name": None, "trust_remote_code": False}
    cfg = dict(snap.config or {})
    text_cfg = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else {}
    merged = {**text_cfg, **{k: v for k, v in cfg.items() if k != "text_config"}}
    info = snap.info
    tok = snap.tokenizer_config or {}
    heads = _first(merged, "num_attention_heads", "n_head", "num_heads")
    hidden = _first(merged, "hidden_size", "n_embd", "d_model")
    kv_heads = _first(merged, "num_key_value_heads", "num_kv_heads", "multi_query_group_num", default=heads)
    if merged.get("multi_query") is True:
        kv_heads = 1
    head_dim = merged.get("head_dim") or (hidden // heads if hidden and heads else None)
    safetensors = info.get("safetensors") if isinstance(info.get("safetensors"), dict) else {}
    by_dtype = {k: int(v) for k, v in (safetensors.get("parameters") or {}).items()}
    quant = merged.get("quantization_config") if isinstance(merged.get("quantization_config"), dict) else None
    quant_method = None
    if quant:
        quant_method = quant.get("quant_method") or ("bitsandbytes" if quant.get("load_in_4bit")
                                                     or quant.get("load_in_8bit") else "unknown")
    dtype = _TORCH_DTYPES.get(str(_first(merged, "torch_dtype", "dtype", default="")).lower())
    architectures = merged.get("architectures") or (info.get("config") or {}).get("architectures") or [None]
    template = chat_template_of(snap)
    gated = info.get("gated", False)
    return {
        "id": model_id,
        "revision": revision,
        "sha": snap.sha,
        "known": True,
        "source": snap.source,
        "architecture": architectures[0],
        "model_type": merged.get("model_type") or (info.get("config") or {}).get("model_type"),
        "parameter_count": safetensors.get("total") or (sum(by_dtype.values()) or None),
        "parameters_by_dtype": by_dtype,
        "dtype": dtype,
        "quantization": quant_method,
        "quantization_bits": (quant or {}).get("bits") or (4 if (quant or {}).get("load_in_4bit") else
                                                          8 if (quant or {}).get("load_in_8bit") else None),
        "num_layers": _first(merged, "num_hidden_layers", "n_layer", "num_layers"),
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "max_position_embeddings": _first(merged, "max_position_embeddings", "n_positions", "max_seq_len",
                                          "seq_length"),
        "rope_scaling": merged.get("rope_scaling"),
        "num_experts": _first(merged, "num_local_experts", "num_experts", "n_routed_experts"),
        "vocab_size": merged.get("vocab_size"),
        "intermediate_size": _first(merged, "intermediate_size", "n_inner", "ffn_dim"),
        "tie_word_embeddings": bool(merged.get("tie_word_embeddings", False)),
        "gated": gated if gated in ("auto", "manual") else False,
        "has_chat_template": template is not None,
        "chat_template": template,
        "bos_token": _token_text(tok.get("bos_token")),
        "eos_token": _token_text(tok.get("eos_token")),
        "pipeline_tag": info.get("pipeline_tag"),
        "library_name": info.get("library_name"),
        "tags": list(info.get("tags") or []),
        "trust_remote_code": bool(merged.get("auto_map")),
    }
