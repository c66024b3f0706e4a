"""Globals for the interactive questions (copier.yml): thin calls into ``hooks/prompts.py``.

Validators run on every keystroke and defaults, help and choices are rendered several times, so
each of these is cheap, silent and off the network; the one hub read is ``read_model``, a hidden
question after the token question. Under ``--defaults`` nothing is asked: the checks give way to
the background read and to ``check_answers`` / ``project_context`` (extensions/context.py).
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
    """A module of this template's ``hooks`` package, loaded once per location under the same name
    extensions/context.py uses (both files share one loaded package and its caches)."""
    name = "_sm_llm_hooks_" + hashlib.sha1(str(_ROOT).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, _ROOT / "hooks" / "__init__.py", submodule_search_locations=[str(_ROOT / "hooks")])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.{sub}")


def _undefined(value) -> bool:
    return isinstance(value, Undefined)


def _answers(ctx) -> dict:
    return {key: value for key, value in ctx.get_all().items()
            if not key.startswith("_") and not callable(value) and not _undefined(value) and value is not None}


def _conf(ctx, key: str):
    try:
        return ctx.get("_copier_conf")[key]
    except (KeyError, TypeError):
        return None


def _interactive(ctx) -> bool:
    return not _conf(ctx, "defaults")


def _given(ctx) -> dict:
    data = _conf(ctx, "data")
    return dict(data) if isinstance(data, dict) else {}


@pass_context
def offline_default(ctx) -> str:
    return "true" if _hook("prompts").offline_default(_interactive(ctx)) else "false"


@pass_context
def offline_help(ctx) -> str:
    return _hook("prompts").offline_help(_interactive(ctx))


def model_name_problem(name) -> str:
    return _hook("prompts").model_name_problem(str(name or ""))


@pass_context
def read_model(ctx) -> str:
    """The hidden question after the token: the interactive run's one hub read (errors: one message)."""
    if not _interactive(ctx):
        return ""   # --defaults: the read started at the first question; model_pin waits for it
    mods = {sub: _hook(sub) for sub in ("prompts", "project", "errors")}
    given = _given(ctx)
    try:
        mods["project"].safe_call(lambda a: mods["prompts"].read_model(a, given), _answers(ctx))
    except mods["errors"].TemplateError as exc:
        raise UserMessageError(str(exc)) from None
    return ""


@pass_context
def question_problem(ctx, key: str, value) -> str:
    """A validator: the problem with ``value`` for question ``key``, '' when none. Values given with -d
    are checked by read_model instead (a validator's message there would be a traceback)."""
    if not _interactive(ctx) or key in _given(ctx):
        return ""
    dst = _conf(ctx, "dst_path")
    return _hook("prompts").problem(key, value, _answers(ctx), str(dst) if dst is not None else None)


@pass_context
def server_choices(ctx) -> str:
    return json.dumps(_hook("prompts").server_choices(_answers(ctx), _interactive(ctx)))


@pass_context
def instance_type_choices(ctx) -> str:
    """instanceType's choices, rendered once the server and its version are answered: at a prompt, the
    model on that server is checked first (architecture, engine age, task), so that a mismatch is one
    message there, not after the remaining questions (--defaults: project_context checks it)."""
    mods = {sub: _hook(sub) for sub in ("prompts", "project", "errors")}
    answers = _answers(ctx)
    if _interactive(ctx):
        try:
            mods["project"].safe_call(mods["prompts"].server_fit, answers)
        except mods["errors"].TemplateError as exc:
            raise UserMessageError(str(exc)) from None
    return json.dumps(mods["prompts"].instance_choices(answers, _interactive(ctx)))


class PromptExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(offline_default=offline_default, offline_help=offline_help,
                                   model_name_problem=model_name_problem, read_model=read_model,
                                   question_problem=question_problem, instance_type_choices=instance_type_choices,
                                   server_choices=server_choices)
