"""generator/facts.py: model facts from recorded hub answers. Expected values are the models'
published configs, written by hand."""

import pytest

from generator.facts import chat_template_of, model_facts
from generator.hub import Snapshot
from hubsim import info, model_dir

# id: (architecture, model_type, layers, hidden, heads, kv heads, head dim, max positions, dtype,
#      quantization, gated, has chat template)
EXPECTED = {
    "Qwen/Qwen2.5-0.5B-Instruct": ("Qwen2ForCausalLM", "qwen2", 24, 896, 14, 2, 64, 32768, "bfloat16",
                                   None, False, True),
    "meta-llama/Llama-3.1-8B-Instruct": ("LlamaForCausalLM", "llama", 32, 4096, 32, 8, 128, 131072,
                                         "bfloat16", None, "manual", True),
    "meta-llama/Llama-3.1-70B-Instruct": ("LlamaForCausalLM", "llama", 80, 8192, 64, 8, 128, 131072,
                                          "bfloat16", None, "manual", True),
    "mistralai/Mistral-7B-Instruct-v0.3": ("MistralForCausalLM", "mistral", 32, 4096, 32, 8, 128, 32768,
                                           "bfloat16", None, "auto", True),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": ("MixtralForCausalLM", "mixtral", 32, 4096, 32, 8, 128, 32768,
                                             "bfloat16", None, "auto", True),
    "google/gemma-2-2b-it": ("Gemma2ForCausalLM", "gemma2", 26, 2304, 8, 4, 256, 8192, "float32", None,
                             "manual", True),
    "openai-community/gpt2": ("GPT2LMHeadModel", "gpt2", 12, 768, 12, 12, 64, 1024, None, None, False, False),
    "Qwen/Qwen2.5-7B-Instruct-AWQ": ("Qwen2ForCausalLM", "qwen2", 28, 3584, 28, 4, 128, 32768, "float16",
                                     "awq", False, True),
}


def snapshot(model_id):
    import json
    folder = model_dir(model_id)
    load = lambda n: json.loads((folder / n).read_text()) if (folder / n).exists() else None  # noqa: E731
    data = info(model_id)
    return Snapshot(model_id, "main", data["sha"], data, load("tokenizer_config.json"), load("config.json"))


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_model_facts(model_id):
    facts = model_facts(snapshot(model_id), model_id, "main")
    got = tuple(facts[k] for k in ("architecture", "model_type", "num_layers", "hidden_size",
                                   "num_attention_heads", "num_key_value_heads", "head_dim",
                                   "max_position_embeddings", "dtype", "quantization", "gated",
                                   "has_chat_template"))
    assert got == EXPECTED[model_id]
    assert facts["sha"] == info(model_id)["sha"] and facts["known"] is True


def test_parameter_counts_come_from_safetensors():
    assert model_facts(snapshot("Qwen/Qwen2.5-0.5B-Instruct"), "q", "main")["parameter_count"] == 494032768
    llama = model_facts(snapshot("meta-llama/Llama-3.1-8B-Instruct"), "l", "main")
    assert llama["parameter_count"] == 8030261248 and llama["parameters_by_dtype"] == {"BF16": 8030261248}


def test_mixtral_reports_its_experts_and_awq_its_bits():
    assert model_facts(snapshot("mistralai/Mixtral-8x7B-Instruct-v0.1"), "m", "main")["num_experts"] == 8
    assert model_facts(snapshot("Qwen/Qwen2.5-7B-Instruct-AWQ"), "a", "main")["quantization_bits"] == 4


def test_chat_template_is_the_exact_string():
    snap = snapshot("meta-llama/Llama-3.1-8B-Instruct")
    template = chat_template_of(snap)
    assert template == snap.tokenizer_config["chat_template"]
    assert "Cutting Knowledge Date: December 2023" in template and "<|eot_id|>" in template


def test_separate_file_and_named_templates():
    snap = snapshot("Qwen/Qwen2.5-0.5B-Instruct")
    snap.chat_template_file = "{{ 'file wins' }}"
    assert chat_template_of(snap) == "{{ 'file wins' }}"
    snap.chat_template_file = None
    snap.tokenizer_config = {"chat_template": [{"name": "tool_use", "template": "T"},
                                               {"name": "default", "template": "D"}]}
    assert chat_template_of(snap) == "D"


def test_unknown_model_facts_are_explicitly_unknown():
    facts = model_facts(None, "org/x", "main")
    assert facts["known"] is False and facts["sha"] is None and facts["has_chat_template"] is False
