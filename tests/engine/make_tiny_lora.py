"""Make a tiny PEFT LoRA adapter for the tiny model of make_tiny_model.py, without peft.

Run with the engine venv's Python (torch and safetensors; peft is not installed there):
    build/engine-venv/bin/python tests/engine/make_tiny_lora.py OUT_DIR SEED [BASE_MODEL_ID]
The two files PEFT writes (findings-2026-12.md section 1): adapter_config.json (peft_type LORA, r 8,
lora_alpha 16, q_proj and v_proj) and adapter_model.safetensors with the keys
base_model.model.model.layers.<i>.self_attn.<q_proj|v_proj>.lora_<A|B>.weight (A: r x in,
B: out x r). For the tiny model q is 128 -> 128 and v 128 -> 64, 2 layers. The weights are large
(normal, std 1, scaled by lora_alpha / r = 2) so that greedy answers visibly differ from the base's.
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

LAYERS, HIDDEN, Q_OUT, V_OUT, RANK = 2, 128, 128, 64, 8


def main(out: Path, seed: int, base: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer in range(LAYERS):
        for module, width in (("q_proj", Q_OUT), ("v_proj", V_OUT)):
            key = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{key}.lora_A.weight"] = torch.randn(RANK, HIDDEN, generator=gen)
            tensors[f"{key}.lora_B.weight"] = torch.randn(width, RANK, generator=gen)
    save_file(tensors, str(out / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base, "r": RANK,
              "lora_alpha": 2 * RANK, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "bias": "none",
              "fan_in_fan_out": False, "inference_mode": True, "modules_to_save": None, "use_dora": False,
              "use_rslora": False, "rank_pattern": {}, "alpha_pattern": {}, "init_lora_weights": True}
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "Qwen/Qwen2.5-0.5B-Instruct")
