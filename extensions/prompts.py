"""Globals for the interactive questions (copier.yml): thin calls into ``generator/prompts.py``.

Validators run on every keystroke and defaults, help and choices are rendered several times, so
each of these is cheap, silent and off the network; the one hub read is ``read_model``, a hidden
question after the token question. Under ``--defaults`` nothing is asked: the checks give way to
the background read and to ``check_answers`` / ``project_context`` (extensions/context.py).

The validators of copier.yml call ``question_problem``: the forms and lists they check (the model id,
the project name, the servers) are the generator's, the ones ``-d`` values are checked with.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
from pathlib import Path

from copier.errors import UserMessageError
from jinja2 import Undefined, pass_context
from jinja2.ext import Extension

_ROOT = Path(__file__).resolve().parent.parent


def _hook(sub: str):
    """A module of this template's ``generator`` package, loaded once per location under the same name
    extensions/context.py uses (both files share one loaded package and its caches)."""
    name = "_sm_llm_generator_" + hashlib.sha1(str(_ROOT).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, _ROOT / "generator" / "__init__.py", submodule_search_locations=[str(_ROOT / "generator")])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.{sub}")


def _undefined(value) -> bool:
    return isinstance(value, Undefined)


def _answers(jinja_ctx) -> dict:
    return {key: value for key, value in jinja_ctx.get_all().items()
            if not key.startswith("_") and not callable(value) and not _undefined(value) and value is not None}


def _conf(jinja_ctx, key: str):
    try:
        return jinja_ctx.get("_copier_conf")[key]
    except (KeyError, TypeError):
        return None


def _interactive(jinja_ctx) -> bool:
    return not _conf(jinja_ctx, "defaults")


def _given(jinja_ctx) -> dict:
    data = _conf(jinja_ctx, "data")
    return dict(data) if isinstance(data, dict) else {}


@pass_context
def offline_default(jinja_ctx) -> str:
    return "true" if _hook("prompts").offline_default(_interactive(jinja_ctx)) else "false"


@pass_context
def offline_help(jinja_ctx) -> str:
    return _hook("prompts").offline_help(_interactive(jinja_ctx))


@pass_context
def read_model(jinja_ctx) -> str:
    """The hidden question after the token: the interactive run's one hub read (errors: one message)."""
    if not _interactive(jinja_ctx):
        return ""   # --defaults: the read started at the first question; model_pin waits for it
    mods = {sub: _hook(sub) for sub in ("prompts", "project", "errors")}
    given = _given(jinja_ctx)
    try:
        render = jinja_ctx.environment.sm_llm_render   # this render's (extensions/context.py)
        mods["project"].call_redacting_token(lambda a: mods["prompts"].read_model(a, given, render),
                                             _answers(jinja_ctx))
    except mods["errors"].TemplateError as exc:
        raise UserMessageError(str(exc)) from None
    return ""


@pass_context
def question_problem(jinja_ctx, key: str, value) -> str:
    """A validator: the problem with ``value`` for question ``key``, '' when none (generator/prompts.py
    ``problem``). Values given with -d, and every value under --defaults, are checked by check_answers /
    read_model instead (a validator's message there would be a traceback)."""
    if not _interactive(jinja_ctx) or key in _given(jinja_ctx):
        return ""
    dst = _conf(jinja_ctx, "dst_path")
    return _hook("prompts").problem(key, value, _answers(jinja_ctx), str(dst) if dst is not None else None)


@pass_context
def server_choices(jinja_ctx) -> str:
    return json.dumps(_hook("prompts").server_choices(_answers(jinja_ctx), _interactive(jinja_ctx)))


@pass_context
def instance_type_choices(jinja_ctx) -> str:
    """instanceType's choices, rendered once the server and its version are answered: at a prompt, the
    model on that server is checked first (architecture, engine age, task), so that a mismatch is one
    message there, not after the remaining questions (--defaults: project_context checks it)."""
    mods = {sub: _hook(sub) for sub in ("prompts", "project", "errors")}
    answers = _answers(jinja_ctx)
    if _interactive(jinja_ctx):
        try:
            mods["project"].call_redacting_token(mods["prompts"].server_fit, answers)
        except mods["errors"].TemplateError as exc:
            raise UserMessageError(str(exc)) from None
    return json.dumps(mods["prompts"].instance_choices(answers, _interactive(jinja_ctx)))


class PromptExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.extend(sm_llm_render=_hook("answers").Render())   # the render's one (if not made yet)
        environment.globals.update(offline_default=offline_default, offline_help=offline_help,
                                   read_model=read_model,
                                   question_problem=question_problem, instance_type_choices=instance_type_choices,
                                   server_choices=server_choices)
