"""extensions/context.py adds globals to copier's Jinja environment and changes nothing else: no
copier method replaced, no Jinja method or bytecode cache swapped in. What a render keeps (its
``Render``: checks, context, warnings said) belongs to its environment, registered with Jinja's
``Environment.extend``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
GLOBALS = {"check_answers", "model_pin", "lora_pins", "project_context", "server_version_choices",
           "server_version_default", "conflict_files", "region_question", "mcc_default", "server_names",
           "stale_pin"}


def load_extension(name: str = "context"):
    spec = importlib.util.spec_from_file_location(f"sm_llm_ext_{name}_test", ROOT / "extensions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_extension_adds_its_globals_and_leaves_copier_and_jinja_as_they_were():
    from copier import _main
    worker_methods = dict(vars(_main.Worker))
    module = load_extension()
    env = Environment(extensions=[module.ContextExtension])
    assert set(env.globals) - set(Environment().globals) >= GLOBALS
    assert env.bytecode_cache is None
    assert "from_string" not in vars(env) and "get_template" not in vars(env)   # Jinja's own methods
    assert dict(vars(_main.Worker)) == worker_methods


def test_undefined_answers_are_left_out():
    from jinja2 import StrictUndefined, Undefined
    module = load_extension()
    assert module._undefined(Undefined(name="x")) and module._undefined(StrictUndefined(name="x"))
    assert not module._undefined("") and not module._undefined(None) and not module._undefined(0)


def test_each_environment_has_its_own_render_and_both_extensions_share_it():
    context, prompts = load_extension(), load_extension("prompts")
    first = Environment(extensions=[context.ContextExtension, prompts.PromptExtension])
    second = Environment(extensions=[prompts.PromptExtension, context.ContextExtension])
    assert first.sm_llm_render is not second.sm_llm_render
    assert first.sm_llm_render.warned == set() and type(first.sm_llm_render) is type(second.sm_llm_render)
    calls = []
    render = first.sm_llm_render
    assert render.once("x", {"a": [1]}, lambda: calls.append(1) or "v") == "v"
    assert render.once("x", {"a": [1]}, lambda: calls.append(1) or "w") == "v"   # kept, by the answers
    assert render.once("x", {"a": [2]}, lambda: calls.append(1) or "w") == "w"
    assert len(calls) == 2


def test_stale_pin_is_the_pin_form():
    module = load_extension()
    sha = "a" * 40
    assert module.stale_pin(f"org/m@{sha}", "org/m") == ""
    assert module.stale_pin("", "org/m") == "" and module.stale_pin("refresh", "org/m") == ""
    assert module.stale_pin(f"org/other@{sha}", "org/m") == "stale pin"
    assert module.stale_pin("org/m@abc", "org/m") == "stale pin"
