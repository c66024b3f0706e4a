"""What the interactive questions need: checks that are cheap, silent and never on the network.

copier asks through questionary (prompt_toolkit), which runs a question's validator on every
keystroke, and it renders a question's default, help and choices several times. So nothing here
calls the hub or prints: the checks use what this process has read already (``hub.cached``). The
one hub read of an interactive run is :func:`read_model`, at a hidden question after the model,
revision and token questions (copier.yml's ``modelRead``); its errors stop the run with one
message before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import hub, jumpstart, project, servers, sizing
from .answers import MODEL_ID_RE, Render, is_offline, pinned_sha
from .errors import InvalidAnswer, TemplateError
from .facts import model_facts

SIZING_KEYS = ("instanceType", "tensorParallelSize", "maxModelLen")


def offline_default(interactive: bool) -> bool:
    """Yes when HF_HUB_OFFLINE says so, or (at a prompt) when the hub cannot be reached from here."""
    if hub.offline_from_env():
        return True
    return interactive and not hub.reachable()


def offline_help(interactive: bool) -> str:
    """One line of at most 76 characters (copier prints it before the prompt)."""
    if hub.offline_from_env():
        return "Generate without the HuggingFace Hub (HF_HUB_OFFLINE is set)"
    if interactive and not hub.reachable():
        return "Generate without the HuggingFace Hub? It cannot be reached from here"
    return "Generate without the HuggingFace Hub (local cache or shipped metadata)"


def model_name_problem(name: str) -> str:
    """The modelName check at its prompt: the form only (the hub is read once the name is given)."""
    if MODEL_ID_RE.match(name or ""):
        return ""
    return "Use the form org/name, for example Qwen/Qwen2.5-0.5B-Instruct."


def read_model(answers: dict[str, Any], given: dict[str, Any], render: Render | None = None) -> None:
    """The interactive run's one read of the model (cached for everything after it), then the sizing
    answers given with -d / --data-file, which copier does not ask (their validators cannot give a
    plain message). Raises :class:`TemplateError` with the message."""
    if not MODEL_ID_RE.match(str(answers.get("modelName") or "")):
        return
    project._snapshot(answers, render)
    facts = _facts(answers)
    if facts is None:
        return
    server = str(given.get("modelServer") or "")
    if server in servers.SERVERS and not given.get("modelServerVersion") and _refused(answers, facts, server):
        raise InvalidAnswer(_fit_problem(answers, facts, server, None))   # its choice would not be selectable
    if any(given.get(key) not in (None, "") for key in SIZING_KEYS):
        _plan(facts, answers)


def _facts(answers: dict[str, Any]) -> dict[str, Any] | None:
    """The model's facts from this process's read, or None (not read yet, or nothing known)."""
    model = str(answers.get("modelName") or "")
    if not MODEL_ID_RE.match(model):
        return None
    revision = str(answers.get("modelRevision") or "main")
    found, snap = hub.cached(model, revision, pinned_sha=pinned_sha(answers), offline=is_offline(answers))
    if not found or snap is None:
        return None
    facts = model_facts(snap, model, revision)
    return facts if facts.get("known") else None


def _server(answers: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return servers.entry(str(answers.get("modelServer") or "vllm"),
                             str(answers.get("modelServerVersion") or "") or None)
    except TemplateError:
        return None


def _plan(facts: dict[str, Any], answers: dict[str, Any], instance_type: str | None = None) -> dict[str, Any]:
    """The deployment plan as generator/project.py's build_context makes it (raises what it would raise)."""
    server = _server(answers) or {}
    plan = sizing.plan_deployment(facts, instance_type or str(answers.get("instanceType") or "auto"),
                                  tensor_parallel_size=project._int(answers, "tensorParallelSize"),
                                  max_model_len=project._int(answers, "maxModelLen"),
                                  engine_overhead_gib=server.get("engine_overhead_gib", sizing.ENGINE_OVERHEAD_GIB),
                                  memory=server.get("memory"))
    if server:
        plan = servers.applied_length(server["name"], plan, project._int(answers, "maxModelLen"))
    return plan


def _plan_problem(answers: dict[str, Any]) -> str:
    facts = _facts(answers)
    if facts is None:
        return ""
    try:
        _plan(facts, answers)
    except TemplateError as exc:
        return str(exc)
    return ""


def problem(key: str, value: Any, answers: dict[str, Any], dst: str | None = None) -> str:
    """A question's check at its own prompt (copier.yml's validators): '' when the value is fine, else what
    to change. The forms and lists are the ones ``-d`` values are checked with (generator/project.py
    ``check_answers``): MODEL_ID_RE, jumpstart.ID_RE, PROJECT_RE, servers.SERVERS, FRAMEWORKS."""
    answers = {**answers, key: value}
    try:
        if key == "framework" and value not in project.FRAMEWORKS:
            return f"Only {', '.join(repr(f) for f in project.FRAMEWORKS)} is supported."
        if key == "modelName":
            name = str(value or "")
            if "/" in name:
                return model_name_problem(name)
            if not jumpstart.ID_RE.match(name):
                return ("Use the form org/name (HuggingFace), or a JumpStart model id (lower-case letters, digits "
                        "and dashes).")
            return ""
        if key == "modelServer" and value not in servers.SERVERS:
            return f"Choose one of: {', '.join(servers.SERVERS)}."
        if key == "projectName" and not project.PROJECT_RE.match(str(value or "")):
            return "Use lower-case letters, digits and dashes (at most 63)."
        if key in ("tensorParallelSize", "maxModelLen"):
            if isinstance(value, int) and value < 0:
                return "Use 0 (automatic) or a positive number."
            project._int(answers, key)
            return _plan_problem(answers)
        if key == "chatTemplateFile":
            return _chat_template_problem(str(value or "").strip(), answers, dst)
        if key == "modelRevision" and value not in (None, "") and not project.REVISION_RE.match(str(value)):
            return "Give a branch, tag or commit of the model (letters, digits, '.', '_', '-', '/'), or main."
    except InvalidAnswer as exc:
        return str(exc)
    return ""


def _chat_template_problem(given: str, answers: dict[str, Any], dst: str | None) -> str:
    if not given:
        return ""
    if str(answers.get("modelServer") or "") == "djl":
        return ("DJL Serving here does text generation, not chat, so a chat template has no use; leave this "
                "empty, or choose another modelServer.")
    path = Path(given).expanduser()
    # a path relative to the project (kept in its answers file) or to where copier runs
    places = [path] if path.is_absolute() else [Path.cwd() / path] + ([Path(dst) / path] if dst else [])
    if dst:
        places.append(Path(dst) / "code" / "chat_template.jinja")   # the project's own copy (an update)
    if any(place.is_file() for place in places):
        return ""
    return (f"{given} is not a readable file. Give the path of a Jinja chat template, or leave it empty to "
            "use the model's own.")


# How modelServer's choices name the servers of generator/servers.py SERVERS (the one list of servers)
SERVER_LABELS = {
    "vllm": "vLLM", "sglang": "SGLang", "tensorrt-llm": "TensorRT-LLM (trtllm-serve behind nginx)",
    "lmi": "AWS LMI (DJL Serving with vLLM)", "djl": "DJL Serving (HF Accelerate; text generation, no chat)",
}


def _fit_problem(answers: dict[str, Any], facts: dict[str, Any], name: str, version: str | None) -> str:
    try:
        project._check_server_fit(servers.entry(name, version), facts, {**answers, "modelServer": name})
    except TemplateError as exc:
        return str(exc)
    return ""


def _refused(answers: dict[str, Any], facts: dict[str, Any], name: str) -> bool:
    """Whether no catalogued version of server ``name`` can serve the model."""
    without_template = {**answers, "chatTemplateFile": ""}
    return all(_fit_problem(without_template, facts, name, v) for v in servers.versions(name))


def server_choices(answers: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """modelServer's choices. At a prompt, once the model is known, a server none of whose catalogued
    versions can serve it (TensorRT-LLM and an architecture it lacks, say) is listed but not selectable,
    with the reason. When no server can (not a text-generation model), all stay: server_fit says why."""
    facts = _facts(answers) if interactive else None
    out: dict[str, Any] = {SERVER_LABELS.get(name, name): name for name in servers.SERVERS}
    if facts is None:
        return out
    refused = {name: _refused(answers, facts, name) for name in servers.SERVERS}
    if all(refused.values()):
        return out
    return {label: ({"value": name, "validator": "cannot serve this model"} if refused[name] else name)
            for label, name in out.items()}


def server_fit(answers: dict[str, Any]) -> None:
    """After the server and version questions: the model on that server, as generation checks it
    (raises the same InvalidAnswer), so that a mismatch is said there, not after every question."""
    facts = _facts(answers)
    if facts is None:
        return
    version = str(answers.get("modelServerVersion") or "") or None
    problem = _fit_problem({**answers, "chatTemplateFile": ""}, facts, str(answers.get("modelServer") or "vllm"),
                           version)
    if problem:
        raise InvalidAnswer(problem)


def instance_choices(answers: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """instanceType's choices: auto, then the catalogued types, cheapest first. At a prompt, once the
    model is known, those that fit it come first and the rest are listed after them, not selectable,
    with the reason (they would fail at generation)."""
    facts = _facts(answers) if interactive else None
    fits: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for name in sizing.candidates():
        spec = sizing.instance(name)
        # the catalog's rates are us-west-2 SageMaker training rates (instances.json), used to rank
        price = (f", ${spec['price_usd_per_hour']}/h training rate" if spec.get("price_usd_per_hour")
                 else "")
        label = f"{name} ({spec['gpu_count']} x {spec['gpu']}, {spec['gpu_memory_gib']:.0f} GiB each{price})"
        if facts is None:
            fits[label] = name
            continue
        try:
            _plan(facts, {**answers, "tensorParallelSize": 0, "maxModelLen": 0}, name)
            fits[label] = name
        except TemplateError:
            others[label] = {"value": name, "validator": "does not fit this model"}
    head = "auto (the cheapest type that fits the model)"
    if facts is not None and fits:
        head = f"auto (the cheapest type that fits {facts['id']}: {next(iter(fits.values()))})"
    return {head: "auto", **fits, **others}
