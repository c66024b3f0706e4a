"""Everything the template needs, computed from the answers before any file is written.

Called by ``extensions/context.py``; raises only :class:`generator.errors.TemplateError`
subclasses for failures a user can fix. The checks are pure functions of the answers; what a render
computes once (the context, the checks, the warnings said) it keeps in its ``Render``
(generator/answers.py), which the caller owns: no state here. Each computation of the project context
logs one DEBUG record on the logger ``sm_llm.generator``, ``context computed for <model> on <server>
<version> into <folder>`` (tests/test_compute_path.py counts them).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from . import hub, jumpstart, lock_schema, lora, mcc, prices, regions, registry, servers, sizing
from . import errors
from .answers import MODEL_ID_RE, PIN_RE, Render, facts_given, is_offline, pinned_sha, start_model_read, undecided
from .errors import InvalidAnswer, TemplateError
from .facts import model_facts
from .token import redact, resolve_token, unset_reference

PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
REVISION_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
FRAMEWORKS = ("transformers",)
LOG = logging.getLogger("sm_llm.generator")
DEPLOY_TARGETS = ("sagemaker", "codebuild")


def _int(answers: dict[str, Any], key: str) -> int:
    value = answers.get(key) or 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidAnswer(f"{key} must be a whole number (0 means automatic), not {value!r}.") from None
    if number < 0:
        raise InvalidAnswer(f"{key} must be 0 (automatic) or a positive number, not {number}.")
    return number


# What an empty -d / --data-file value means, for the questions where empty has a meaning; any
# other question given empty is refused with a message (copier would stop with a traceback).
EMPTY_MEANS = {
    "modelRevision": "main", "modelServerVersion": "the catalog's default version",
    "hfToken": "HF_TOKEN, then the saved login", "offline": "false", "chatTemplateFile": "the model's own template",
    "hfTokenSecretName": "<projectName>/hf-token", "modelPin": "pin the newest commit of modelRevision",
    "loraAdapters": "no LoRA adapters", "enableLora": "false", "loraPins": "pin each adapter's newest commit",
    "acceptEula": "false",
}
LIST_QUESTIONS = ("loraAdapters", "loraPins")   # a list, or one string of items separated by commas
INT_QUESTIONS = ("tensorParallelSize", "maxModelLen")
COMPUTED = ("ctx", "answers_check", "modelRead")   # hidden, computed by the template: never given
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")   # Secrets Manager's allowed characters


def check_data(data: dict[str, Any], model: str = "") -> None:
    """The values given with -d / --data-file, before copier casts or validates any of them: a value
    of the wrong type, an empty one, or one of a computed key would otherwise end in copier's
    traceback. (``check_answers`` then checks what the values mean.) ``model``: the modelName in effect
    when the data gives none (the default)."""
    mcc.check(data)   # an MCC config's keys: what this template cannot make, or what contradicts itself
    for key in COMPUTED:
        if key in data:
            raise InvalidAnswer(f"{key} is computed by the template, not a question: remove it from -d or the "
                                "data file.")
    for key, value in data.items():
        if key not in QUESTION_KEYS:   # other keys (an MCC config's) are named, not used
            continue
        if key in LIST_QUESTIONS and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            continue
        if value is None or isinstance(value, (dict, list, tuple, set)):
            what = "no value" if value is None else f"a {type(value).__name__}"
            raise InvalidAnswer(f"{key} is given {what}; it takes a single value"
                                + (f" (empty means {EMPTY_MEANS[key]})." if key in EMPTY_MEANS else "."))
    for key in INT_QUESTIONS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not re.fullmatch(r"\s*\+?\d+\s*", str(value)) and not (
                isinstance(value, float) and value.is_integer() and value >= 0):
            raise InvalidAnswer(f"{key} must be a whole number, 0 or more (0 means automatic), not {value!r}.")
    if "enableLora" in data and undecided(data["enableLora"]):
        raise InvalidAnswer(f"enableLora must be true or false, not {data['enableLora']!r}.")
    lora_pins_given = data.get("loraPins")
    if lora_pins_given not in (None, "", "refresh", []):
        items = lora_pins_given if isinstance(lora_pins_given, (list, tuple)) else \
            re.split(r"[,\s]+", str(lora_pins_given).strip().strip("[]"))
        if not all(lora.PIN_RE.match(str(i).strip().strip("'\"")) for i in items if str(i).strip()):
            raise InvalidAnswer(f"loraPins '{lora_pins_given}' is not a list of org/name@<40-hex commit>. Leave it out "
                                "to pin each adapter's newest commit, or give -d loraPins=refresh on update.")
    if "modelSource" in data and str(data["modelSource"]).strip():   # checked as given: copier asks it only
        jumpstart.check_source(str(data["modelSource"]).strip())       # for a modelName without a slash
        if data["modelSource"] == "jumpstart":
            jumpstart.check_id(str(data.get("modelName") or model).strip())
    for key in ("acceptEula",):
        if key in data and undecided(data[key]):
            raise InvalidAnswer(f"{key} must be true or false, not {data[key]!r}.")
    if "offline" in data and undecided(data["offline"]):
        raise InvalidAnswer(f"offline must be true or false, not {data['offline']!r}.")
    for key, value in data.items():
        if key in EMPTY_MEANS or key in INT_QUESTIONS or key in COMPUTED or key.startswith("_"):
            continue
        if isinstance(value, str) and not value.strip() and key in QUESTION_KEYS:
            raise InvalidAnswer(f"{key} is given empty; it needs a value. Give one (-d {key}=...), or leave "
                                f"{key} out to get its default.")
    name = str(data.get("hfTokenSecretName") or "").strip()
    if name and not SECRET_NAME_RE.match(name):
        raise InvalidAnswer(f"hfTokenSecretName '{name}' is not a Secrets Manager secret name: use letters, "
                            "digits and /_+=.@- (at most 512).")
    pin = str(data.get("modelPin") or "").strip()
    if pin and pin != "refresh" and not PIN_RE.match(pin):
        raise InvalidAnswer(f"modelPin '{pin}' is not org/name@<40-hex commit>. Leave it out (or empty) to pin "
                            "the newest commit of modelRevision, or give -d modelPin=refresh on update.")
    model = str(data.get("modelName") or model).strip()
    if pin and pin != "refresh" and model and not pin.startswith(model + "@"):
        raise InvalidAnswer(f"modelPin '{pin}' pins another model than modelName '{model}'. Leave modelPin out "
                            "to pin the newest commit of this model.")


def files_written(template_dir: Path, answers_file: str) -> list[str]:
    """The files a copy may write, relative to the project: the template's paths without their
    ``.jinja`` suffix, a conditional name (``{% if ... %}name{% endif %}``) as the name it has when
    written, and the answers file. Files copier skips when they exist (``.env``) are not listed."""
    out = []
    for path in sorted(template_dir.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        parts = []
        for part in path.relative_to(template_dir).parts:
            part = part.replace("{{_copier_conf.answers_file}}", answers_file)
            part = re.sub(r"\{%.*?%\}", "", part)
            parts.append(part[:-len(".jinja")] if part.endswith(".jinja") else part)
        if all(parts) and "{{" not in "".join(parts):
            out.append("/".join(parts))
    return out


def check_destination(template_dir: Path, dst: Path, answers_file: str = ".copier-answers.yml") -> None:
    """Before anything is written: a destination that already holds a file this template writes stops
    the copy (copier would write the files before it, then stop at that one, with no answers file)."""
    if not dst.is_dir():
        return
    clashes = [rel for rel in files_written(template_dir, answers_file) if os.path.lexists(dst / rel)]
    if not clashes:
        return
    shown = ", ".join(clashes[:6]) + (f" and {len(clashes) - 6} more" if len(clashes) > 6 else "")
    project = (dst / answers_file).is_file()
    raise InvalidAnswer(
        f"{dst} already holds {shown}, which this template writes; nothing was written. "
        + (f"It is a generated project: to take template changes or new answers, run `copier update --trust` "
           f"inside it (cd {dst} && copier update --trust --defaults -d ...). " if project else "")
        + "Generate into a new or empty folder, or add --overwrite to replace those files.")


QUESTION_KEYS = ("framework", "modelName", "modelRevision", "modelServer", "modelServerVersion", "hfToken",
                 "offline", "instanceType", "tensorParallelSize", "maxModelLen", "chatTemplateFile", "deployTarget",
                 "awsRegion", "projectName", "hfTokenSecretName", "modelPin", "loraAdapters", "enableLora", "loraPins",
                 "modelSource", "acceptEula")


def check_answers(answers: dict[str, Any], *, read_in_background: bool = False) -> None:
    """Validate the answers given so far (prompts, -d, --data-file); names the valid values.
    ``read_in_background``: start reading the model and return; the model's own errors come from
    the next read (``model_pin``), still before any file is written."""
    def given(key: str) -> bool:
        return answers.get(key) not in (None, "")

    if given("framework") and answers["framework"] not in FRAMEWORKS:
        raise InvalidAnswer(f"framework '{answers['framework']}' is not supported. Supported: "
                            f"{', '.join(FRAMEWORKS)} (HuggingFace models served by an LLM server).")
    if given("modelServer"):
        servers.check_server(str(answers["modelServer"]))
    if given("modelServerVersion"):   # of the server given, else of the default server
        servers.check_version(str(answers.get("modelServer") or "vllm"), str(answers["modelServerVersion"]))
    if given("modelSource"):
        jumpstart.check_source(str(answers["modelSource"]))
    if jumpstart.selected(answers):   # modelName is a JumpStart id; no hub read, no token, no adapters
        if given("modelName"):
            jumpstart.check_id(str(answers["modelName"]))
        if answers.get("loraAdapters"):
            raise InvalidAnswer("loraAdapters are HF repos read from the hub, and modelSource=jumpstart makes no hub "
                                "call: leave loraAdapters out (enableLora=true still serves adapters added at run "
                                "time), or use modelSource=hub.")
        read_in_background = False
    elif given("modelName") and not MODEL_ID_RE.match(str(answers["modelName"])):
        raise InvalidAnswer(f"modelName '{answers['modelName']}' is not a HuggingFace repo id. Use the form "
                            "org/name, for example Qwen/Qwen2.5-0.5B-Instruct (for a SageMaker JumpStart model id, "
                            "add -d modelSource=jumpstart).")
    if given("modelRevision") and not REVISION_RE.match(str(answers["modelRevision"])):
        raise InvalidAnswer(f"modelRevision '{answers['modelRevision']}' is not a branch, tag or commit.")
    if given("instanceType") and answers["instanceType"] != "auto":
        sizing.instance(str(answers["instanceType"]))
    if given("deployTarget") and answers["deployTarget"] not in DEPLOY_TARGETS:
        raise InvalidAnswer(f"deployTarget '{answers['deployTarget']}' is not supported. Choose one of: "
                            f"{', '.join(DEPLOY_TARGETS)}.")
    if given("awsRegion"):
        regions.check(str(answers["awsRegion"]))   # botocore's partition data, with a did-you-mean
    if given("projectName") and not PROJECT_RE.match(str(answers["projectName"])):
        raise InvalidAnswer(f"projectName '{answers['projectName']}' must be lower-case letters, digits and "
                            "dashes (at most 63), starting with a letter or digit.")
    for key in ("tensorParallelSize", "maxModelLen"):
        if given(key):
            _int(answers, key)
    if given("loraAdapters"):
        lora.parse(answers["loraAdapters"])   # the form: org/name or name=org/name
    if given("modelName") and read_in_background:
        start_model_read(answers)
    # No read otherwise: an interactive run reads the model once, after its questions (copier.yml's
    # modelRead); model_pin and build_context read it (cached) and report what the hub said.
    if given("chatTemplateFile") and chat_template_path(str(answers["chatTemplateFile"]),
                                                        answers.get("_dst_path")) is None:
        if str(answers["chatTemplateFile"]).strip() == PROJECT_CHAT_TEMPLATE:
            # an update renders the template's versions in temporary folders too: only where copier
            # runs can point to the project then
            raise InvalidAnswer(f"chatTemplateFile '{PROJECT_CHAT_TEMPLATE}' is the project's own copy of its chat "
                                "template, and it is not here. Run copier from inside the project (cd <project> && "
                                "copier update --trust --defaults), or give -d chatTemplateFile=<path of a Jinja "
                                "chat template>.")
        raise InvalidAnswer(f"chatTemplateFile '{answers['chatTemplateFile']}' is not a readable file (looked for "
                            "where copier runs and in the project). Give the path of a Jinja chat template, or "
                            "leave it empty to use the model's own.")


PROJECT_CHAT_TEMPLATE = "code/chat_template.jinja"   # the project's own copy; the answers file names it


def chat_template_path(given: str, dst: str | None = None) -> Path | None:
    """The chat template file given (``dst``: the project folder being generated). The answers file
    stores the project's own copy, ``code/chat_template.jinja``, relative to the project, so that an
    update or a recopy on any machine finds it: a relative path is looked for where copier runs, then
    in the project. An old answers file's absolute path that is gone (another machine) falls back to
    the project's copy."""
    path = Path(given).expanduser()
    places = [path] if path.is_absolute() else [Path.cwd() / path] + ([Path(dst) / path] if dst else [])
    for place in places:
        if place.is_file():
            return place.resolve()
    for root in ([Path(dst)] if dst else []) + [Path.cwd()]:
        own = root / PROJECT_CHAT_TEMPLATE
        if (root / ".copier-answers.yml").is_file() and own.is_file():
            if given != PROJECT_CHAT_TEMPLATE:
                print(f"note: chatTemplateFile {given} is not here; using this project's {PROJECT_CHAT_TEMPLATE}",
                      file=sys.stderr)
            return own.resolve()
    return None


def _token_quietly(answers: dict[str, Any]) -> bool:
    """Whether a token is at hand (answer, environment, login file); a malformed one counts as none."""
    try:
        return bool(resolve_token(str(answers.get("hfToken") or "")))
    except InvalidAnswer:
        return False


def _snapshot(answers: dict[str, Any], render: Render | None = None) -> hub.Snapshot | None:
    model = str(answers["modelName"])
    revision = str(answers.get("modelRevision") or "main")
    pinned = pinned_sha(answers)
    offline = is_offline(answers)
    if offline and str(answers.get("modelPin") or "") == "refresh":
        raise InvalidAnswer("modelPin=refresh needs the HuggingFace Hub, but this project generates offline. "
                            "Add -d offline=false (and unset HF_HUB_OFFLINE).")
    token = None if offline else resolve_token(str(answers.get("hfToken") or ""))
    unset = None if offline or token else unset_reference(str(answers.get("hfToken") or ""))
    if unset:
        (render or Render()).warn(
            ("unset-token-var", unset),
            f"note: hfToken refers to ${unset}, which is not set; reading the hub without a token (enough "
            f"for a public model). For a gated or private model: export {unset}=hf_...")
    lora.start_reads(answers, token, offline)   # the adapters' calls go out beside the model's wave
    try:
        snap = hub.load(model, revision, pinned_sha=pinned, offline=offline, token=token)
    except (errors.GatedRepo, errors.RepoNotFound) as exc:
        if not unset:
            raise
        raise errors.reworded(exc, f"{exc} (hfToken refers to ${unset}, which is not set.)") from None
    if snap is None and pinned:
        raise InvalidAnswer(f"{model} is pinned to commit {pinned[:12]}, which is not in the local cache, and "
                            "generation is offline. Run once with -d offline=false (and a network) to cache it.")
    if snap is None and not facts_given(answers):
        known = offline_models()
        close = difflib.get_close_matches(model, known, n=1, cutoff=0.6) or difflib.get_close_matches(
            model.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
        guess = next((k for k in known if k.lower() == close[0].lower()), close[0]) if close else None
        raise errors.RepoNotFound(   # at the interactive model question: asked again
            f"Offline, nothing is known about {model}: it is neither in the local cache ({hub.cache_root()}) nor "
            "shipped with the template." + (f" Did you mean {guess}?" if guess else "")
            + f" Known offline: {', '.join(known) or 'none'}. To cache it, run once online (-d offline=false). "
            "To generate for a model nothing is known about, give what the project cannot derive: "
            "-d instanceType=ml.g5.xlarge (or another ml.* type) and -d maxModelLen=<tokens>.")
    return snap


def offline_models() -> list[str]:
    """The models an offline run knows: those in the local hub cache, and those shipped with the template."""
    names = set()
    for root in (hub.cache_root(), hub.PACKAGE_DATA):
        try:
            names.update(p.name.replace("--", "/", 1) for p in root.iterdir() if p.is_dir() and "--" in p.name)
        except OSError:
            continue
    return sorted(names)


def check_model(answers: dict[str, Any], render: Render | None = None) -> None:
    """At the modelName question: read the model now (the same cached read generation makes, so
    nothing is read twice), and report what the user must fix there: an unknown model, a hub that
    is down. A gated model without a token is not reported here: the token question comes next."""
    if not MODEL_ID_RE.match(str(answers.get("modelName") or "")):
        return
    try:
        _snapshot(answers, render)
    except (errors.GatedRepo, errors.BadToken):
        return


def checked(answers: dict[str, Any], render: Render | None = None) -> None:
    """``check_answers``, once per render for the same answers."""
    (render or Render()).once("check_answers", answers, lambda: check_answers(answers))


def model_pin(answers: dict[str, Any], render: Render | None = None) -> str:
    """``org/name@sha`` for the answers file, so updates and replays keep the same commit."""
    render = render or Render()
    return render.once("model_pin", answers, lambda: _model_pin(answers, render))


def _model_pin(answers: dict[str, Any], render: Render) -> str:
    checked(answers, render)
    if jumpstart.selected(answers):   # no commit: the lock records the JumpStart version read
        jumpstart.read(answers, is_offline(answers), render)
        return ""
    snap = _snapshot(answers, render)
    return f"{answers['modelName']}@{snap.sha}" if snap else ""


def _adapters(answers: dict[str, Any], render: Render) -> list[dict[str, Any]]:
    """The listed LoRA adapters, read (cached) with the token the model read uses."""
    if jumpstart.selected(answers):   # none listed (check_answers): no hub read, no token
        return []
    offline = is_offline(answers)
    token = None if offline else resolve_token(str(answers.get("hfToken") or ""))
    adapters = lora.read_all(answers, token, offline)
    pinned = lora.pins(answers)
    unpinned = [a["id"] for a in adapters if a["id"] not in pinned]
    if pinned and unpinned:   # loraPins is kept from before the adapter was listed
        render.warn(("lora-unpinned", tuple(unpinned)),
                    f"note: loraPins does not pin {', '.join(unpinned)}: it is read at its newest commit on every "
                    "update. To pin it: copier update --trust --defaults -d loraPins=refresh (moves every adapter to "
                    "its newest commit).")
    return adapters


def lora_pins(answers: dict[str, Any], render: Render | None = None) -> list[str]:
    """``org/adapter@sha`` of every listed adapter, for the answers file (``loraPins``)."""
    render = render or Render()
    checked(answers, render)
    return render.once("lora_pins", answers, lambda: [f"{a['id']}@{a['sha']}" for a in _adapters(answers, render)])


def _lora(answers: dict[str, Any], server: dict[str, Any], model: str, render: Render) -> dict[str, Any] | None:
    """LoRA settings (generator/lora.py), or None when off; refusals before anything is written."""
    if not lora.enabled(answers):
        return None
    problem = lora.refusal(server)
    if problem:
        raise InvalidAnswer("LoRA adapters (loraAdapters / enableLora): " + problem)
    adapters = _adapters(answers, render)
    lora.check(adapters, model, server)
    return lora.settings(adapters, server, True)


def _chat_template(answers: dict[str, Any], facts: dict[str, Any]) -> tuple[str | None, str]:
    given = str(answers.get("chatTemplateFile") or "").strip()
    if given:
        path = chat_template_path(given, answers.get("_dst_path"))
        return path.read_text(encoding="utf-8"), f"your file {path.name}"
    if facts.get("chat_template"):
        return facts["chat_template"], "the model's tokenizer"
    return None, "none"


def build_context(answers: dict[str, Any], render: Render | None = None) -> dict[str, Any]:
    """Model facts, server, deployment plan and the model.lock.json content: computed once per render
    for the same answers (``render``; copier renders the ``ctx`` default more than once)."""
    render = render or Render()
    return render.once("context", answers, lambda: _build_context(answers, render))


def _build_context(answers: dict[str, Any], render: Render) -> dict[str, Any]:
    checked(answers, render)
    model = str(answers["modelName"])
    revision = str(answers.get("modelRevision") or "main")
    server_name = str(answers.get("modelServer") or "vllm")
    server = servers.entry(server_name, str(answers.get("modelServerVersion") or "") or None)
    # LMI's ECR account differs by region (generator/registry.py, the SageMaker SDK's map); refused where none
    server = {**server, "image": registry.image_for_region(server, str(answers.get("awsRegion") or "us-east-1"))}
    version = server["version"]
    js = jumpstart.read(answers, is_offline(answers), render) if jumpstart.selected(answers) else None
    snap = js.snapshot if js else _snapshot(answers, render)
    facts = model_facts(snap, model, js.version if js else revision)
    if snap is None and not js:
        render.warn(("no-metadata", model),
                    f"warning: offline and no metadata for {model} in the cache or the template; generating without "
                    "model facts, from the instanceType and maxModelLen given (a chat model also needs "
                    "chatTemplateFile). Run `copier update --trust --defaults -d offline=false` online to fill them "
                    "in.")
    if facts.get("gated") and ("gated", model) not in render.warned and not _token_quietly(answers):
        where = ("generated offline from the metadata in the local cache or shipped with the template"
                 if is_offline(answers) else "its metadata came from the local cache")
        render.warn(("gated", model),
                    f"note: {model} is gated; {where}, so no token was needed now. The endpoint will need a token "
                    "with access: store one with python -m deploy secret before deploying.")
    template, template_source = _chat_template(answers, facts)
    _check_server_fit(server, facts, answers)
    lora_settings = _lora(answers, server, model, render)
    plan = sizing.plan_deployment(facts, str(answers.get("instanceType") or "auto"),
                                  tensor_parallel_size=_int(answers, "tensorParallelSize"),
                                  max_model_len=_int(answers, "maxModelLen"),
                                  engine_overhead_gib=server["engine_overhead_gib"], memory=server.get("memory"),
                                  lora=lora_settings)
    plan = servers.applied_length(server_name, plan, _int(answers, "maxModelLen"))
    project_name = str(answers.get("projectName") or "")
    secret_name = str(answers.get("hfTokenSecretName") or "").strip() or f"{project_name}/hf-token"
    needs_token = bool(facts["gated"])
    lock = {
        "$schema": lock_schema.SCHEMA_REF,
        "schema_version": 1,
        "project": {"name": project_name, "aws_region": answers.get("awsRegion") or "us-east-1",
                    "deploy_target": answers.get("deployTarget") or "sagemaker",
                    "hf_token_secret_name": secret_name if needs_token else None},
        "model": {k: facts[k] for k in (
            "id", "revision", "sha", "architecture", "model_type", "parameter_count", "dtype", "quantization",
            "num_layers", "hidden_size", "num_attention_heads", "num_key_value_heads",
            "max_position_embeddings", "gated")} | {"has_chat_template": template is not None},
        "server": {"name": server_name, "version": version, "image": server["image"],
                   "engine": server["engine"], "cuda": server["cuda"],
                   "inference_ami_version": server["inference_ami_version"]},
        "deployment": {k: plan[k] for k in (
            "instance_type", "gpu_count", "gpu_memory_gib", "tensor_parallel_size", "max_model_len",
            "weight_memory_gib", "kv_cache_memory_gib", "container_startup_health_check_timeout_s",
            "model_data_download_timeout_s", "volume_size_gb")}
        | sizing.host_memory(plan["instance_type"], plan["tensor_parallel_size"])
        | {"price": prices.for_lock(plan["instance_type"], answers.get("awsRegion") or "us-east-1")},
    }
    if js:   # the weights: JumpStart's prepacked HF-format artifacts (S3Prefix), deployed by default
        lock["weights"] = js.lock_entry()
    if lora_settings:
        lock["lora"] = {k: lora_settings[k] for k in ("max_lora_rank", "max_loras", "runtime_updates", "adapters")} \
            | {"memory_gib": plan.get("lora_memory_gib")}
    lock_schema.validate(lock)
    LOG.debug("context computed for %s on %s %s into %s", model, server_name, version, answers.get("_dst_path"))
    return {
        "facts": facts, "server": server, "plan": plan, "lock": lock, "lora": lora_settings,
        "pin": f"{model}@{facts['sha']}" if facts["sha"] else "",
        # the answers file names the project's own copy (rendered from this template), not the file given
        "chat_template_file": PROJECT_CHAT_TEMPLATE if str(answers.get("chatTemplateFile") or "").strip() else "",
        "chat_template": template, "chat_template_source": template_source,
        "needs_token": needs_token, "secret_name": secret_name,
        "engine_args": servers.engine_args(server_name, version),
        "managed_args": servers.managed_args(server_name, version)
        | ({"max-lora-rank": "MAX_LORA_RANK", "max-loras": "MAX_LORAS"} if lora_settings else {}),
        "fixed_args": servers.fixed_args(server_name, version),
        "flags": sorted(servers.flag_names(server_name, version)),
        "server_options": {**server.get("options", {}),
                           **({"model_loading_timeout": plan["container_startup_health_check_timeout_s"]}
                              if server["flag_style"] == "properties" else {})},
        "lock_json": json.dumps(lock, indent=2) + "\n",
    }


def _check_server_fit(server: dict, facts: dict[str, Any], answers: dict[str, Any]) -> None:
    arch = facts.get("architecture")
    name, label = server["name"], f"{server['title']} {server['version']}"
    if name == "djl" and str(answers.get("chatTemplateFile") or "").strip():
        raise InvalidAnswer(
            "modelServer=djl serves text generation ({\"inputs\", \"parameters\"}) with HF Accelerate, not chat, "
            "so a chat template has no use there; chatTemplateFile needs modelServer=vllm, sglang, tensorrt-llm "
            "or lmi.")
    if name == "tensorrt-llm" and arch and arch not in servers.TRTLLM_ARCHITECTURES:
        raise InvalidAnswer(
            f"{label} has no support we can vouch for {arch} ({facts['id']}). Use modelServer=vllm or sglang "
            "for this model.")
    needs = servers.too_old_for(server, arch)
    if needs:
        newer = [v for v in server["versions"] if not servers.too_old_for(servers.entry(name, v), arch)]
        fix = (f"Use -d modelServerVersion={newer[0]}, or modelServer=vllm or sglang." if newer
               else "Use modelServer=vllm or sglang for this model.")
        raise InvalidAnswer(
            f"{facts['id']} is a {arch} model, which needs {needs} or newer; {label} ships an older engine. {fix}")
    if facts.get("known") and facts.get("pipeline_tag") not in (None, "text-generation", "image-text-to-text"):
        raise InvalidAnswer(
            f"{facts['id']} is a '{facts['pipeline_tag']}' model, not a text-generation LLM; these servers "
            "serve chat and completions. Pick a text-generation model.")


def call_redacting_token(fn, answers: dict[str, Any]):
    """Run ``fn`` and make sure no token leaks through a message."""
    try:
        return fn(answers)
    except TemplateError as exc:
        answer = str(answers.get("hfToken") or "")
        raise errors.reworded(exc, redact(str(exc), "" if answer.startswith("$") else answer)) from None   # $VAR: a name


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
