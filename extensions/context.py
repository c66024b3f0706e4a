"""Thin Jinja extension: globals that call the plain-Python code in ``generator/``.

Copier has no pre-render hook, so ``copier.yml`` computes everything through hidden
questions whose defaults call these globals. Known failures become
``UserMessageError`` (one plain message, exit 1, nothing written); the HF token never
appears in a message.

What a render computes (the checks, the project context, the warnings said) is kept in one
``Render`` (generator/answers.py) per Jinja environment, registered with ``Environment.extend``:
copier builds one environment per render of a template (``Worker.jinja_env``, a cached property),
and renders a question's default more than once, so the context is computed once per render.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import jinja2
from copier.errors import UserMessageError
from jinja2 import pass_context
from jinja2.ext import Extension

_ROOT = Path(__file__).resolve().parent.parent


def _hook(sub: str):
    """One module of this template's ``generator`` package, imported under a name unique to the checkout.

    ``copier update`` renders the old and the new template checkout in one process: a plain
    ``import generator`` would give the new render the old checkout's code (or the reverse).
    """
    name = "_sm_llm_generator_" + hashlib.sha1(str(_ROOT).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, _ROOT / "generator" / "__init__.py", submodule_search_locations=[str(_ROOT / "generator")])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.{sub}")


def _generator():
    return {sub: _hook(sub) for sub in ("project", "errors", "servers", "hub")}


def _answers(jinja_ctx) -> dict:
    """The answers so far, and ``_dst_path``: the folder being generated (the project, or one of the
    temporary folders an update renders into)."""
    return _dst(jinja_ctx) | {key: jinja_ctx.get(key) for key in (
        "framework", "modelName", "modelRevision", "modelServer", "modelServerVersion", "hfToken", "offline", "instanceType",
        "tensorParallelSize", "maxModelLen", "chatTemplateFile", "deployTarget", "awsRegion", "projectName",
        "hfTokenSecretName", "modelPin", "loraAdapters", "enableLora", "loraPins", "modelSource", "acceptEula")
        if jinja_ctx.get(key) is not None and not _undefined(jinja_ctx.get(key))}


def _dst(jinja_ctx) -> dict:
    try:
        return {"_dst_path": str(jinja_ctx.get("_copier_conf")["dst_path"])}
    except (KeyError, TypeError):
        return {}


def _undefined(value) -> bool:
    return isinstance(value, jinja2.Undefined)


def _render(jinja_ctx):
    """This render's ``Render``: the one of its Jinja environment (see ``ContextExtension``)."""
    return jinja_ctx.environment.sm_llm_render


def _check_data(render, project, data: dict, model: str) -> None:
    render.once("check_data", [data, model], lambda: project.check_data(data, model))


def _call(jinja_ctx, what: str):
    mods = _generator()
    project = mods["project"]
    answers = _answers(jinja_ctx)
    render = _render(jinja_ctx)
    try:
        # the hidden first question checks the given values; given itself (-d answers_check=...), it is
        # not run, so the computed questions check them again (once per render)
        project.call_redacting_token(
            lambda a: _check_data(render, project, _given_data(jinja_ctx), str(a.get("modelName") or "")), answers)
        return project.call_redacting_token(lambda a: getattr(project, what)(a, render), answers)
    except mods["errors"].TemplateError as exc:
        raise UserMessageError(str(exc)) from None


QUESTIONS = ("modelSource", "acceptEula", "framework", "modelName", "modelRevision", "modelServer", "modelServerVersion", "hfToken", "offline",
             "instanceType", "tensorParallelSize", "maxModelLen", "chatTemplateFile", "deployTarget", "awsRegion",
             "projectName", "hfTokenSecretName", "loraAdapters", "enableLora", "loraPins", "modelPin", "ctx",
             "answers_check")


@pass_context
def check_answers(jinja_ctx) -> str:
    """The first, hidden question: check the values given with -d / --data-file, and the default
    model when none is given (copier validates a default only later, with a traceback on failure)."""
    answers = _answers(jinja_ctx)
    render = _render(jinja_ctx)
    answers.setdefault("modelName", _question_default(render, "modelName"))
    data = _given_data(jinja_ctx)
    answers = {**_hook("mcc").mapped(data), **answers}   # an MCC config's deploymentConfig, region, buildTarget
    background = _defaults_only(jinja_ctx)
    if background:
        # the wave goes on the wire first; the rest of the generator loads and check the answers meanwhile
        try:
            _hook("answers").start_model_read(answers)
        except Exception:   # noqa: BLE001 (the same start below, after the checks, reports it)
            pass
    mods = _generator()
    try:
        project = mods["project"]
        project.call_redacting_token(lambda a: _check_data(render, project, data, str(a["modelName"])), answers)
        render.once("check_destination", None, lambda: _check_destination(jinja_ctx, project))
        project.call_redacting_token(lambda a: render.once(
            "check_answers", [a, background], lambda: project.check_answers(a, read_in_background=background)),
            answers)
    except mods["errors"].TemplateError as exc:
        raise UserMessageError(str(exc)) from None
    _warn_unknown_keys(jinja_ctx)
    return ""


def _check_destination(jinja_ctx, project) -> None:
    """A copy into a folder holding files this template writes stops here, before any is written.
    Not with --overwrite (which replaces them; `copier update` and `recopy` run with it) nor --pretend."""
    conf = jinja_ctx.get("_copier_conf")
    try:
        if conf["overwrite"] or conf["pretend"]:
            return
        template_dir = Path(str(conf["src_path"])) / "template"
        dst, answers_file = Path(str(conf["dst_path"])), str(conf["answers_file"])
    except (KeyError, TypeError):
        return
    if template_dir.is_dir():
        project.check_destination(template_dir, dst, answers_file)


def _given_data(jinja_ctx) -> dict:
    """The values given with -d / --data-file, as given (copier's ``_copier_conf.data``)."""
    conf = jinja_ctx.get("_copier_conf")
    try:
        return dict(conf["data"] or {})
    except (KeyError, TypeError):
        return {}


def _question_default(render, key: str):
    """A question's default from copier.yml (read once per render)."""
    def read():
        import yaml
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml where installed (PyYAML's documented choice)
        return yaml.load((_ROOT / "copier.yml").read_text(encoding="utf-8"), Loader=loader)
    return render.once("copier.yml", None, read)[key].get("default")


def _warn_unknown_keys(jinja_ctx) -> None:
    """Keys of a --data-file that are no question here, said once rather than dropped silently: an MCC
    config's keys as what they became (generator/mcc.py: the real mapping) or why they are ignored; any
    other key with the question it may be a typo of."""
    import difflib
    mcc = _hook("mcc")
    unknown = sorted(key for key, value in jinja_ctx.get_all().items()
                     if not key.startswith("_") and key not in QUESTIONS and not callable(value)
                     and key not in jinja_ctx.environment.globals and not _undefined(value))
    warned = _render(jinja_ctx).warned
    if not unknown or tuple(unknown) in warned:
        return
    warned.add(tuple(unknown))
    data = _given_data(jinja_ctx)
    became = mcc.notes(data)
    if became:
        print(f"note: MCC config: {'; '.join(became)}.", file=sys.stderr)
    ignored = mcc.ignored(unknown)
    if ignored:
        print(f"warning: ignored MCC settings that have no counterpart here: {', '.join(ignored)}.", file=sys.stderr)
    parts = []
    for key in (k for k in unknown if not mcc.known(k)):
        close = difflib.get_close_matches(key, QUESTIONS[:-2], n=1, cutoff=0.75)
        parts.append(f"{key} (did you mean {close[0]}?)" if close else key)
    if parts:
        print(f"warning: ignored answers that are not questions of this template: {', '.join(parts)}. "
              f"The questions are: {', '.join(QUESTIONS[:-3])}.", file=sys.stderr)


def _defaults_only(jinja_ctx) -> bool:
    """``copier --defaults``: no question is asked, so nothing needs the model read at its question.
    The read then runs in the background from the first question on, and its errors come from
    ``model_pin`` (still before any file is written)."""
    conf = jinja_ctx.get("_copier_conf")
    try:
        return bool(conf["defaults"])
    except (KeyError, TypeError):
        return False


def stale_pin(pin, model) -> str:
    """modelPin's validator: 'stale pin' for a kept pin that does not pin modelName (copier then drops it
    and computes it again), else ''."""
    return "stale pin" if _hook("answers").stale_pin(pin, model) else ""


def server_names() -> list[str]:
    """The servers of the catalog (generator/servers.py), for copier.yml's messages."""
    return list(_hook("servers").SERVERS)


@pass_context
def model_pin(jinja_ctx) -> str:
    return _call(jinja_ctx, "model_pin")


@pass_context
def lora_pins(jinja_ctx) -> str:
    """loraPins: each listed LoRA adapter's commit, as a JSON list (YAML) for the answers file."""
    return json.dumps(_call(jinja_ctx, "lora_pins"))


@pass_context
def project_context(jinja_ctx) -> str:
    return _generator()["project"].to_json(_call(jinja_ctx, "build_context"))


@pass_context
def server_version_choices(jinja_ctx, server: str) -> str:
    """Interactive choices for modelServerVersion, as YAML (JSON) {label: version}. A version given
    empty (-d modelServerVersion=) is one more choice: it means the default (the answers file then
    stores the version it resolved to)."""
    servers = _generator()["servers"]
    if server not in servers.SERVERS:
        return "{}"
    out = {}
    if jinja_ctx.get("modelServerVersion") == "":
        out["(empty: the default)"] = ""
    for version in servers.versions(server):
        e = servers.entry(server, version)
        tags = ["default"] if version == e["default_version"] else []
        tags.append(f"CUDA {e['cuda']}")
        out[f"{version} ({', '.join(tags)}): {e['image'].rsplit('/', 1)[-1]}"] = version
    return json.dumps(out)


@pass_context
def server_version_default(jinja_ctx, server: str) -> str:
    """The catalog default; for a project generated before versions existed (its answers have a
    modelPin but no modelServerVersion), the seed version, so an update never moves the engine."""
    servers = _generator()["servers"]
    if server not in servers.SERVERS:
        return ""
    if not _undefined(jinja_ctx.get("modelPin")) and jinja_ctx.get("modelPin") is not None:
        return servers.versions(server)[-1]
    return servers.default_version(server)


@pass_context
def mcc_default(jinja_ctx, key: str, fallback: str) -> str:
    """A question's default from an MCC config's current-format key (deploymentConfig -> modelServer,
    region -> awsRegion, buildTarget -> deployTarget; generator/mcc.py), else ``fallback``."""
    return _hook("mcc").mapped(_given_data(jinja_ctx)).get(key, fallback)


def region_question(region) -> str:
    """The awsRegion validator: '' for a region botocore knows, else the message with a did-you-mean."""
    return _hook("regions").problem(str(region))


def conflict_files(root) -> list[str]:
    """Files under ``root`` that hold copier's conflict markers after an update."""
    out = []
    base = Path(str(root))
    for path in sorted(base.rglob("*")):
        if ".git" in path.parts or not path.is_file():
            continue
        try:
            if b"\n<<<<<<< before updating" in b"\n" + path.read_bytes():
                out.append(str(path.relative_to(base)))
        except OSError:
            continue
    return out


class ContextExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        # this render's state: one per environment (extensions/prompts.py registers the same one)
        environment.extend(sm_llm_render=_hook("answers").Render())
        environment.globals.update(check_answers=check_answers, model_pin=model_pin, lora_pins=lora_pins,
                                   server_names=server_names, stale_pin=stale_pin,
                                   project_context=project_context,
                                   server_version_choices=server_version_choices,
                                   server_version_default=server_version_default,
                                   conflict_files=conflict_files,
                                   region_question=region_question, mcc_default=mcc_default)
