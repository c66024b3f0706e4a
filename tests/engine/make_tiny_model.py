"""Make a tiny random-weight Qwen2 model in a folder, for the real-engine tests.

Run with the engine venv's Python (it has torch, transformers, tokenizers, safetensors):
    build/engine-venv/bin/python tests/engine/make_tiny_model.py OUT_DIR
Shapes follow engines-2026.md section 5: vLLM's CPU attention needs head_dim 32, 64, 80, ...
(hidden 128 / 4 heads = 32). The tokenizer is a byte-level BPE trained on local text, saved as a
fast tokenizer with a plain ChatML chat template (no default system prompt), so that a project
template that adds a system prompt visibly changes the prompt's token count.
"""
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
TEXT = [
    "The quick brown fox jumps over the lazy dog.",
    "You are a helpful assistant. Say hello to the user and answer the question.",
    "SageMaker endpoints answer ping and invocations on port 8080.",
    "Qwen is a large language model created by Alibaba Cloud.",
] * 50


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator(TEXT, trainers.BpeTrainer(
        vocab_size=1000, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHATML
    fast.save_pretrained(out)

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=1024, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         eos_token_id=fast.convert_tokens_to_ids("<|im_end|>"),
                         pad_token_id=fast.convert_tokens_to_ids("<|endoftext|>"),
                         bos_token_id=None, tie_word_embeddings=True, torch_dtype="float32")
    config.architectures = ["Qwen2ForCausalLM"]
    Qwen2ForCausalLM(config).to(torch.float32).save_pretrained(out, safe_serialization=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
