"""The five supported servers and their version catalog.

The catalog is data: ``generator/data/engines.json`` (images, engine versions, CUDA major, the
SageMaker ``InferenceAmiVersion`` each image needs, how the routes are answered, where each tag
was verified) and one flag table per version in ``generator/data/flags/``, produced by
``python -m tools.flags <server> <version>`` from the engine's own code (vLLM and SGLang: their
argument parsers; TensorRT-LLM: ``commands/serve.py`` at the tag; LMI/DJL: their properties
classes at the tag). The serve script accepts as ``ENGINE_ARG_<NAME>`` exactly the flags of the
chosen version's table, minus the ones the project sets itself, so a generated project never
passes a flag its engine lacks.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path

from .errors import InvalidAnswer

DATA = Path(__file__).resolve().parent / "data"

# Per server: how settings are spelt, how the engine is configured, what a client sends.
#   flag_style: "dash" (--max-num-seqs), "underscore" (--max_batch_size), "properties" (OPTION_<NAME>)
#   chat: whether /invocations takes OpenAI chat bodies (DJL's HF Accelerate path does not)
SERVER_TRAITS: dict[str, dict] = {
    "vllm": {"flag_style": "dash", "chat": True},
    "sglang": {"flag_style": "dash", "chat": True},
    "tensorrt-llm": {"flag_style": "underscore", "chat": True},
    "lmi": {"flag_style": "properties", "chat": True},
    "djl": {"flag_style": "properties", "chat": False},
}

# Settings the serve script passes itself and a user may not replace through ENGINE_ARG_
# (the model, where it listens, the pinned revision, the project's chat template).
FIXED_ARGS: dict[str, set[str]] = {
    "vllm": {"model", "served-model-name", "host", "port", "revision", "chat-template", "uds"},
    "sglang": {"model-path", "served-model-name", "host", "port", "revision", "chat-template"},
    "tensorrt-llm": {"host", "port", "backend", "revision", "chat_template", "served_model_name"},
    "lmi": {"model_id", "revision", "chat_template", "entrypoint", "engine"},
    "djl": {"model_id", "revision", "entrypoint", "engine"},
}

# LMI hands option.<key> keys it does not know to vLLM and lets them replace its own mapping:
# VllmRbProperties.generate_vllm_engine_arg_dict sets 'model' from option.model_id, then
# `vllm_engine_args.update(passthrough_vllm_engine_args)` (djl-serving 0.36.0-lmi27-dlc,
# engines/python/setup/djl_python/properties_manager/vllm_rb_properties.py ~213-241; 0.32.0-dlc
# the same). So vLLM's own name for the model (option.model) is an alias of option.model_id, and
# option.served_model_name is set by the serve script where the version reads it (catalog field
# "served_model_name_option").
PASSTHROUGH_ALIASES: dict[str, set[str]] = {"lmi": {"model"}}


def fixed_args(name: str, version: str) -> list[str]:
    """Every spelling, in this version's flag table, of the settings the project sets itself.

    The tables come from the engines' own parsers, which list each flag's aliases in one row
    (SGLang: ``--model-path`` and ``--model``, server_args.py add_cli_args): an alias of a fixed
    flag would replace it just the same, so each is refused, not only the spelling we pass."""
    fixed = set(FIXED_ARGS[name]) | PASSTHROUGH_ALIASES.get(name, set())
    served = catalog()[name]["versions"].get(version, {}).get("served_model_name_option")
    if served:
        fixed.add(served)
    for row in flag_table(name, version)["flags"]:
        bare = {_bare(n) for n in row["names"] if n.startswith("--") or not n.startswith("-")}
        if bare & fixed:
            fixed |= bare
    return sorted(fixed)


# Settings the serve script passes whose value ENGINE_ARG_<NAME> may replace
# (any spelling of the flag -> the serve script's variable).
MANAGED_VARS: dict[str, dict[str, str]] = {
    "vllm": {"max-model-len": "MAX_MODEL_LEN", "tensor-parallel-size": "TENSOR_PARALLEL_SIZE"},
    "sglang": {"context-length": "MAX_MODEL_LEN", "tensor-parallel-size": "TENSOR_PARALLEL_SIZE",
               "mem-fraction-static": "MEM_FRACTION_STATIC"},
    "tensorrt-llm": {"max_seq_len": "MAX_MODEL_LEN", "tp_size": "TENSOR_PARALLEL_SIZE"},
    # vLLM's tensor_parallel_size, passed through by LMI, is its alias of tensor_parallel_degree:
    # VllmRbProperties.handle_lmi_vllm_config_conflicts refuses the two with different values and
    # maps the degree to it (vllm_rb_properties.py ~193-217 at 0.36.0-lmi27-dlc, ~179-203 at 0.32.0-dlc)
    "lmi": {"max_model_len": "MAX_MODEL_LEN", "tensor_parallel_degree": "TENSOR_PARALLEL_SIZE",
            "tensor_parallel_size": "TENSOR_PARALLEL_SIZE"},
    "djl": {"tensor_parallel_degree": "TENSOR_PARALLEL_SIZE"},
}

# The engine setting code/serve passes the planned context length as (MAX_MODEL_LEN), per server.
# DJL Serving's HF Accelerate handler has none: HuggingFaceProperties (djl-serving
# engines/python/setup/djl_python/properties_manager/hf_properties.py ~29-45 at v0.36.0, the same
# fields at 0.32.0-dlc) holds no length field, and huggingface.py hands generate() none: a request
# may use the model's whole context whatever the project plans, so a DJL project claims no limit.
LENGTH_SETTING: dict[str, str | None] = {
    "vllm": "--max-model-len", "sglang": "--context-length", "tensorrt-llm": "--max_seq_len",
    "lmi": "option.max_model_len", "djl": None,
}


def applied_length(name: str, plan: dict, asked: int | None) -> dict:
    """The plan as the engine will run it: where the server has no length setting, an asked
    maxModelLen is refused (nothing could pass it on) and the plan claims no limit (None: the
    README then says the engine takes the model's own maximum)."""
    if LENGTH_SETTING[name]:
        return plan
    if asked:
        raise InvalidAnswer(
            f"maxModelLen={asked}: {catalog()[name]['title']} has no setting that limits the context length "
            "(its HuggingFaceProperties have none), so nothing would enforce it. Leave maxModelLen empty, or "
            "use modelServer=lmi or vllm, which take it.")
    return {**plan, "max_model_len": None}


# Table kind -> what the serve script checks and how it passes the value:
#   bool+  true -> --x, false -> --no-x          bool  true -> --x, false -> left out
#   int, float, choice (one of the listed values), list (several values), str
_SERVE_KIND = {"bool": "bool+", "flag": "bool", "int": "int", "float": "float", "choice": "choice",
               "list": "list", "json": "str", "str": "str"}

# Architectures each engine can run, where that is narrower than "any HF causal LM".
# TensorRT-LLM's PyTorch backend lists its supported models; we check the common families.
TRTLLM_ARCHITECTURES = {
    "LlamaForCausalLM", "MistralForCausalLM", "MixtralForCausalLM", "Qwen2ForCausalLM",
    "Qwen3ForCausalLM", "Qwen3MoeForCausalLM", "Gemma3ForCausalLM", "Phi3ForCausalLM",
    "DeepseekV3ForCausalLM", "NemotronForCausalLM", "Qwen2MoeForCausalLM", "Gemma3ForConditionalGeneration",
}

# Model classes newer than the engine inside an LMI/DJL version: the vLLM and transformers
# releases that added them, checked against the version's "vllm" / "transformers" catalog field.
NEWER_ARCHITECTURES = {
    "Qwen3ForCausalLM": {"vllm": (0, 8, 5), "transformers": (4, 51, 0)},
    "Qwen3MoeForCausalLM": {"vllm": (0, 8, 5), "transformers": (4, 51, 0)},
    "Gemma3ForCausalLM": {"vllm": (0, 8, 0), "transformers": (4, 50, 0)},
    "Gemma3ForConditionalGeneration": {"vllm": (0, 8, 0), "transformers": (4, 50, 0)},
    "Llama4ForConditionalGeneration": {"vllm": (0, 8, 3), "transformers": (4, 51, 0)},
    "GptOssForCausalLM": {"vllm": (0, 10, 1), "transformers": (4, 55, 0)},
    "Glm4ForCausalLM": {"vllm": (0, 8, 5), "transformers": (4, 51, 0)},
}


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict]:
    data = json.loads((DATA / "engines.json").read_text(encoding="utf-8"))
    return {name: value for name, value in data.items() if not name.startswith("_")}


SERVERS = tuple(SERVER_TRAITS)


def suggest(value: str, choices) -> str:
    """' Did you mean X?' for a near miss, else ''."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def check_server(name: str) -> None:
    if name not in SERVER_TRAITS:
        raise InvalidAnswer(f"modelServer '{name}' is not supported.{suggest(name, SERVERS)} "
                            f"Choose one of: {', '.join(SERVERS)}.")


def versions(name: str) -> list[str]:
    """The catalog's versions of a server, the default first, then newest to oldest."""
    check_server(name)
    entry = catalog()[name]
    return [entry["default"]] + [v for v in entry["versions"] if v != entry["default"]]


def default_version(name: str) -> str:
    check_server(name)
    return catalog()[name]["default"]


def check_version(name: str, version: str) -> None:
    check_server(name)
    if version not in catalog()[name]["versions"]:
        listed = ", ".join(f"{v} (default)" if v == default_version(name) else v for v in versions(name))
        owners = [other for other, entry in catalog().items() if other != name and version in entry["versions"]]
        switched = (f" It is a version of {' and '.join(owners)}: an update that switches modelServer keeps the project's "
                    f"version unless told otherwise, so add -d modelServerVersion= for {name}'s default "
                    f"({default_version(name)})." if owners else "")
        raise InvalidAnswer(f"modelServerVersion '{version}' is not in the {name} catalog.{switched}"
                            f"{suggest(version, versions(name))} "
                            f"Choose one of: {listed}; leave it empty for the default.")


def _read_table(name: str, version: str) -> dict:
    return json.loads((DATA / "flags" / f"{name}-{version}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def flag_table(name: str, version: str) -> dict:
    """The engine's own flag table for this version (see tools/flags).

    LMI hands option.<name> keys it does not know itself to its vLLM backend (its
    VllmRbProperties allow extra fields; the table's "passthrough"): those are the vLLM flags of
    the vLLM release inside the image (the catalog's "vllm" field), spelt with underscores."""
    table = _read_table(name, version)
    inner = catalog()[name]["versions"].get(version, {}).get("vllm")
    if not table.get("passthrough") or not inner:
        return table
    own = {n for row in table["flags"] for n in row["names"]}
    extra = []
    for row in _read_table("vllm", inner)["flags"]:
        names = [n[2:].replace("-", "_") for n in row["names"] if n.startswith("--")]
        names = [n for n in names if n not in own]
        if names:
            extra.append({**row, "names": names, "from": f"vllm {inner}"})
    return {**table, "flags": table["flags"] + extra,
            "source": f"{table['source']}; plus vLLM {inner}'s flags ({_read_table('vllm', inner)['source']})"}


def _bare(flag: str) -> str:
    return flag.lstrip("-")


def flag_names(name: str, version: str) -> set[str]:
    """Every spelling of every flag this version accepts, without leading dashes."""
    return {_bare(n) for row in flag_table(name, version)["flags"] for n in row["names"]}


def engine_args(name: str, version: str) -> dict[str, str]:
    """ENGINE_ARG_ settings this project accepts: name -> serve kind ("choice:a|b|c" for choices).

    Every flag of the version's table, each spelling, minus the settings the project fixes
    (with all their aliases: fixed_args)."""
    out: dict[str, str] = {}
    fixed = set(fixed_args(name, version))
    for row in flag_table(name, version)["flags"]:
        kind = _SERVE_KIND[row["kind"]]
        if kind == "choice":
            choices = [str(c) for c in row.get("choices") or []]
            kind = "choice:" + "|".join(choices) if choices else "str"
        for spelling in row["names"]:
            bare = _bare(spelling)
            if spelling.startswith("-") and not spelling.startswith("--"):
                continue    # one-letter aliases (-q, -tp) cannot be spelt as environment names
            if bare not in fixed:
                out[bare] = kind
    return out


def managed_args(name: str, version: str) -> dict[str, str]:
    """Spellings of the managed settings in this version -> the serve script's variable."""
    spellings: dict[str, str] = {}
    for row in flag_table(name, version)["flags"]:
        bare = [_bare(n) for n in row["names"] if n.startswith("--") or not n.startswith("-")]
        for canonical, var in MANAGED_VARS[name].items():
            if canonical in bare:
                spellings.update({b: var for b in bare})
    return spellings


def entry(name: str, version: str | None = None) -> dict:
    """One catalog entry, merged with the server's traits: what the templates see as ctx.server."""
    version = version or default_version(name)
    check_version(name, version)
    table = flag_table(name, version)
    return {
        "name": name, "title": catalog()[name]["title"], "version": version,
        "default_version": default_version(name), "versions": versions(name),
        **SERVER_TRAITS[name], **catalog()[name]["versions"][version],
        "flags_source": table["source"], "flags_generated_by": table.get("generated_by", ""),
    }


def has_flag(name: str, version: str, flag: str) -> bool:
    return _bare(flag) in flag_names(name, version)


def too_old_for(server_entry: dict, architecture: str | None) -> str | None:
    """'vLLM 0.8.5' when this version's engine predates the architecture, else None."""
    needs = NEWER_ARCHITECTURES.get(architecture or "")
    if not needs:
        return None
    for engine in ("vllm", "transformers"):
        have = server_entry.get(engine)
        if have and engine in needs:
            have_tuple = tuple(int(p) for p in str(have).split(".")[:3] if p.isdigit())
            if have_tuple < needs[engine]:
                return f"{'vLLM' if engine == 'vllm' else 'transformers'} {'.'.join(map(str, needs[engine]))}"
    return None
