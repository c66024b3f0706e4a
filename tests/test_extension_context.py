"""extensions/context.py adds globals to copier's Jinja environment and changes nothing else: no
copier method replaced, no Jinja method or bytecode cache swapped in."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
GLOBALS = {"check_answers", "model_pin", "lora_pins", "project_context", "server_version_choices",
           "server_version_default", "conflict_files", "region_question", "mcc_default"}


def load_extension():
    spec = importlib.util.spec_from_file_location("sm_llm_ext_context_test", ROOT / "extensions" / "context.py")
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
