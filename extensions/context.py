"""Thin Jinja extension: globals that call the plain-Python code in ``hooks/``.

Copier has no pre-render hook, so ``copier.yml`` computes everything through hidden
questions whose defaults call these globals. Known failures become
``UserMessageError`` (one plain message, exit 1, nothing written); the HF token never
appears in a message.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from copier.errors import UserMessageError
from jinja2 import pass_context
from jinja2.ext import Extension

_ROOT = Path(__file__).resolve().parent.parent


def _hooks():
    """Import this template's ``hooks`` package under a name unique to its location.

    ``copier update`` renders an old and a new template checkout in one process; each must
    use its own hooks. Loading once per location keeps the process-wide cache alive across
    the loader re-executing this file.
    """
    name = "_sm_llm_hooks_" + hashlib.sha1(str(_ROOT).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, _ROOT / "hooks" / "__init__.py", submodule_search_locations=[str(_ROOT / "hooks")])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return {sub: importlib.import_module(f"{name}.{sub}") for sub in ("project", "errors")}


def _answers(ctx) -> dict:
    return {key: ctx.get(key) for key in (
        "framework", "modelName", "modelRevision", "modelServer", "hfToken", "offline", "instanceType",
        "tensorParallelSize", "maxModelLen", "chatTemplateFile", "deployTarget", "awsRegion", "projectName",
        "hfTokenSecretName", "modelPin") if ctx.get(key) is not None and not _undefined(ctx.get(key))}


def _undefined(value) -> bool:
    return type(value).__name__.endswith("Undefined")


def _call(ctx, what: str):
    mods = _hooks()
    project = mods["project"]
    try:
        return project.safe_call(getattr(project, what), _answers(ctx))
    except mods["errors"].TemplateError as exc:
        raise UserMessageError(str(exc)) from None


@pass_context
def check_answers(ctx) -> str:
    _call(ctx, "check_answers")
    return ""


@pass_context
def model_pin(ctx) -> str:
    return _call(ctx, "model_pin")


@pass_context
def project_context(ctx) -> str:
    return _hooks()["project"].to_json(_call(ctx, "build_context"))


class ContextExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(check_answers=check_answers, model_pin=model_pin,
                                   project_context=project_context)
