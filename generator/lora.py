"""LoRA adapters (issue 23): which adapters a project serves, read and checked before any file is written.

Questions (copier.yml): ``loraAdapters`` (HF repo ids of PEFT LoRA adapters, ``id`` or ``name=id``),
``enableLora`` (adapters added at run time, none listed), and the hidden ``loraPins`` (each adapter's
commit, kept in the answers file like ``modelPin``).

Each adapter costs two hub calls, made concurrently with the model's own wave (``start_reads`` is
called where the model read starts): ``GET /api/models/{id}[/revision/{rev}]`` (its commit) and
``GET /{id}/resolve/{rev}/adapter_config.json``. The answers go to the hub's disk cache
(``<cache>/<org>--<name>/<sha>/``), so a pinned adapter costs no call on update, replay or offline.

Checks (``check``), each a refusal with one message: the adapter was made for another base model
(PEFT's ``base_model_name_or_path``), ``peft_type`` is not LORA, a feature the engine refuses
(vLLM 0.32.0 ``vllm/lora/peft_helper.py`` ``_validate_features`` ~53-87 and ``validate_legal``
~188-202: DoRA, LoRA bias, ``bias`` other than none), or a rank (``r``, and ``rank_pattern``'s
values, as ``validate_legal`` takes them) above the largest ``--max-lora-rank`` the engine allows.
"""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from . import errors, hub
from .answers import as_bool as _bool
from .errors import InvalidAnswer

ADAPTER_CONFIG = "adapter_config.json"
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")   # names an inference component too (deploy/adapter_cmd.py)
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
PIN_RE = re.compile(r"^(?P<id>[^@\s]+)@(?P<sha>[0-9a-f]{40})$")
ADAPTERS_DIR = "adapters"   # under MODEL_DIR (/opt/ml/model): adapters/<name>/ as upload-model puts them

# --max-lora-rank values each catalogued vLLM version accepts. Where the flag table (the engine's own
# parser) lists the choices, those are used (0.28.0 on: vllm/config/lora.py MaxLoRARanks, 0.32.0 line
# 26, `Literal[1, 8, 16, 32, 64, 128, 256, 320, 512]`). Older parsers take any int and the config
# refuses the rest; read from the PyPI wheels:
CONFIG_RANKS = {
    "0.10.1": ((8, 16, 32, 64, 128, 256, 320, 512),
               "vllm 0.10.1 vllm/config/__init__.py ~2446 LoRAConfig.__post_init__ possible_max_ranks"),
    "0.7.3": ((8, 16, 32, 64, 128, 256),
              "vllm 0.7.3 vllm/config.py ~2184 LoRAConfig.__post_init__ possible_max_ranks"),
}
# AWS's SageMaker layer (model-hosting-container-standards: the X-Amzn-SageMaker-Adapter-Identifier
# header on /invocations, POST/DELETE /adapters) is in vLLM from 0.11.1 (engines-2026.md section 4).
SAGEMAKER_LAYER_SINCE = (0, 11, 1)
DEFAULT_MAX_LORAS_RUNTIME = 4   # enableLora with no listed adapter: slots for adapters added at run time


# --------------------------------------------------------------------------- answers
def parse(value: Any) -> list[tuple[str, str]]:
    """``loraAdapters`` as [(name, repo id)]: a list, or one string of ids separated by commas or spaces;
    each ``org/repo`` (named after the repo, lower-case) or ``name=org/repo``."""
    if value in (None, "", [], ()):
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value).strip().strip("[]"))
    out: list[tuple[str, str]] = []
    for item in items:
        text = str(item or "").strip().strip("'\"")
        if not text:
            continue
        name, _, repo = text.rpartition("=")
        if not ID_RE.match(repo):
            raise InvalidAnswer(f"loraAdapters: '{text}' is not a HuggingFace repo id. Give each adapter as org/name "
                                "(or name=org/name to choose the name requests use), e.g. -d "
                                "'loraAdapters=[org/my-adapter]'.")
        if not name:
            name = re.sub(r"[^a-z0-9]+", "-", repo.split("/", 1)[1].lower()).strip("-")[:40].strip("-") or "adapter"
        if not NAME_RE.match(name):
            raise InvalidAnswer(f"loraAdapters: the name '{name}' of {repo} is not usable: use lower-case letters, "
                                "digits and '-' (at most 40, a letter or digit at each end), as in name=org/repo.")
        if any(n == name for n, _ in out):
            raise InvalidAnswer(f"loraAdapters: two adapters are named '{name}'; name one differently "
                                f"(name=org/repo).")
        out.append((name, repo))
    return out


def enabled(answers: dict[str, Any]) -> bool:
    """LoRA is on when adapters are listed, or when enableLora asks for run-time adapters."""
    return bool(parse(answers.get("loraAdapters"))) or _bool(answers.get("enableLora"))


def pins(answers: dict[str, Any]) -> dict[str, str]:
    """repo id -> pinned sha from ``loraPins`` (a list or a comma-separated string of id@sha)."""
    value = answers.get("loraPins")
    if value in (None, "", [], "refresh"):
        return {}
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,\s]+", str(value).strip().strip("[]"))
    out = {}
    for item in items:
        match = PIN_RE.match(str(item).strip().strip("'\""))
        if match:
            out[match.group("id")] = match.group("sha")
    return out


# --------------------------------------------------------------------------- the hub
def _dir(repo: str):
    return hub.cache_root() / repo.replace("/", "--")


def _cached(repo: str, revision: str, sha: str | None) -> dict[str, Any] | None:
    base = _dir(repo)
    if sha is None:
        try:
            value = (base / "refs" / quote(revision, safe="")).read_text().strip()
        except OSError:
            return None
        sha = value if hub.SHA_RE.match(value) else None
        if sha is None:
            return None
    try:
        config = json.loads((base / sha / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {"id": repo, "revision": revision, "sha": sha, "config": config, "source": "cache"}


def _store(found: dict[str, Any], pinned: bool) -> None:
    base = _dir(found["id"])
    try:
        hub._write_atomic(base / found["sha"] / ADAPTER_CONFIG, json.dumps(found["config"], indent=2))
        hub._write_atomic(base / found["sha"] / "model_info.json", json.dumps(found["info"], indent=2))
        if not pinned:
            hub._write_atomic(base / "refs" / quote(found["revision"], safe=""), found["sha"] + "\n")
    except OSError as exc:   # a read-only cache must not stop generation
        print(f"note: could not write the hub cache at {hub.cache_root()}: {exc}", file=sys.stderr)


def _fetch(repo: str, revision: str, token: str | None) -> dict[str, Any]:
    """The adapter's commit and its adapter_config.json, in one concurrent pair of calls."""
    client = hub.HubClient(token=token)
    with ThreadPoolExecutor(max_workers=2) as pool:
        info_f = pool.submit(client.model_info, repo, revision)
        file_f = pool.submit(client.fetch, repo, revision, ADAPTER_CONFIG)
        try:
            info = info_f.result()
        except errors.RepoNotFound as exc:
            said = f" (request id {exc.request_id})" if exc.request_id else ""
            raise errors.reworded(exc,
                f"LoRA adapter {repo} was not found on {client.base_url}. Check loraAdapters (org/name, as in "
                f"the adapter page's URL); a private or gated adapter needs a token with access "
                f"(export HF_TOKEN=hf_...).{said}") from None
        try:
            config, commit = file_f.result()
        except errors.HubError:
            config, commit = None, None
    sha = revision if hub.SHA_RE.match(revision) else info["sha"]
    if config is None or commit != sha:   # missing, or the branch moved between the two calls
        config, _ = client.fetch(repo, sha, ADAPTER_CONFIG)
    if config is None:
        raise InvalidAnswer(f"loraAdapters: {repo} has no {ADAPTER_CONFIG} at commit {sha[:12]}, so it is not a "
                            "PEFT adapter. List PEFT LoRA adapters (saved with save_pretrained) only.")
    return {"id": repo, "revision": revision, "sha": sha, "config": config, "info": info, "source": "hub"}


def _read(repo: str, sha: str | None, offline: bool, token: str | None) -> dict[str, Any]:
    """The adapter at its pin, else at main (adapters have no revision question: ``revision`` is main)."""
    revision = sha or "main"
    found = _cached(repo, "main", sha) if (sha or offline) else None
    if found is not None:
        return found
    if offline:
        raise InvalidAnswer(f"loraAdapters: {repo} is not in the local hub cache ({hub.cache_root()}) and "
                            "generation is offline. Run once online (-d offline=false) to cache it.")
    print(f"Reading LoRA adapter {repo} ({revision}) from {hub.endpoint()} ...", file=sys.stderr)
    found = _fetch(repo, revision, token)
    found["revision"] = "main"
    _store(found, pinned=bool(sha))
    return found


_PENDING: dict[tuple, Any] = {}
_DONE: dict[tuple, dict[str, Any]] = {}


def _key(repo: str, sha: str | None, offline: bool) -> tuple:
    return (hub.endpoint(), str(hub.cache_root()), repo, sha or "main", offline)


def start_reads(answers: dict[str, Any], token: str | None, offline: bool) -> None:
    """Start every listed adapter's read in the background, beside the model's wave; ``read_all``
    waits for them. Errors come from ``read_all``, before any file is written."""
    try:
        listed = parse(answers.get("loraAdapters"))
    except InvalidAnswer:
        return   # said by check_answers
    pinned = pins(answers)
    for _, repo in listed:
        key = _key(repo, pinned.get(repo), offline)
        if key in _DONE or key in _PENDING:
            continue
        sha = pinned.get(repo)
        _PENDING[key] = hub._Background(lambda r=repo, s=sha: _read(r, s, offline, token))


def read_all(answers: dict[str, Any], token: str | None, offline: bool) -> list[dict[str, Any]]:
    """Every listed adapter: name, id, sha, its config (waits for ``start_reads``' reads)."""
    listed = parse(answers.get("loraAdapters"))
    if str(answers.get("loraPins") or "") == "refresh" and offline:
        raise InvalidAnswer("loraPins=refresh needs the HuggingFace Hub, but this project generates offline.")
    start_reads(answers, token, offline)
    pinned = pins(answers)
    out = []
    for name, repo in listed:
        key = _key(repo, pinned.get(repo), offline)
        if key not in _DONE:
            _DONE[key] = _PENDING.pop(key).result()
        out.append({"name": name, **_DONE[key]})
    return out


# --------------------------------------------------------------------------- checks
def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", str(version))[:3])


def allowed_ranks(server: str, version: str) -> tuple[list[int], str]:
    """The --max-lora-rank values this vLLM version accepts, and where that is written."""
    from . import servers
    for row in servers.flag_table(server, version)["flags"]:
        if "--max-lora-rank" in row["names"] and row.get("choices"):
            return sorted(int(c) for c in row["choices"]), (
                f"the --max-lora-rank choices of vLLM {version}'s own parser (generator/data/flags/"
                f"{server}-{version}.json; vllm/config/lora.py MaxLoRARanks)")
    if version in CONFIG_RANKS:
        ranks, source = CONFIG_RANKS[version]
        return list(ranks), source
    raise InvalidAnswer(f"LoRA: no --max-lora-rank values are known for vLLM {version}.")


def refusal(server: dict[str, Any]) -> str | None:
    """Why this server version cannot serve the project's LoRA adapters, or None."""
    name, label = server["name"], f"{server['title']} {server['version']}"
    fix = "Use modelServer=vllm (0.32.0 or newer), or leave loraAdapters empty and enableLora false."
    if name == "vllm":
        if _version_tuple(server["version"]) < SAGEMAKER_LAYER_SINCE:
            return (f"{label} can load LoRA adapters (--enable-lora) but predates AWS's SageMaker layer "
                    "(model-hosting-container-standards, in vLLM since 0.11.1): its /invocations cannot pick an "
                    "adapter by the X-Amzn-SageMaker-Adapter-Identifier header and it has no /adapters routes, so "
                    "neither the listed adapters nor SageMaker adapter inference components could be reached. "
                    "Use -d modelServerVersion=0.32.0 (or newer).")
        return None
    if name == "sglang":
        return (f"{label} loads LoRA adapters in its own way (--enable-lora, --lora-paths name=path; a request picks "
                "one with \"lora_path\" or model \"<base>:<adapter>\"), but its /invocations "
                "(sglang/srt/entrypoints/http_server.py sagemaker_chat_completions, 0.5.23) reads no "
                "X-Amzn-SageMaker-Adapter-Identifier header and it has no /adapters routes, which SageMaker adapter "
                f"inference components use. This template does not serve adapters on SGLang yet. {fix}")
    if name == "tensorrt-llm":
        return (f"{label}: trtllm-serve has no LoRA flag (its flag table, generator/data/flags/tensorrt-llm-"
                f"{server['version']}.json, from its own code, has none); LoRA there goes through "
                "--extra_llm_api_options (lora_config) and a per-request lora_request, not the SageMaker adapter "
                f"header. {fix}")
    if name == "lmi":
        return (f"{label}: LMI has its own adapter handling (option.enable_lora, an adapter registry; "
                "djl-serving's djl_python input_parser.parse_adapters reads the X-Amzn-SageMaker-Adapter-Identifier "
                "header), which this template does not configure yet and cannot prove here (no LMI engine runs on "
                f"this CI; its vLLM mode also registers the model as 'lmi', findings-2026-12.md section 2). {fix}")
    if name == "djl":
        return (f"{label}: DJL Serving's HF Accelerate handler has an enable_lora option (its flag table, generator/data/"
                f"flags/djl-{server['version']}.json), but the path this template generates serves text generation "
                "without chat and its rolling batch does not work as generated (engines-2026.md section 4), so this "
                f"template serves no LoRA adapters on DJL. {fix}")
    return f"{label} serves no LoRA adapters in this template. {fix}"


def _same_base(base: str, model: str) -> bool:
    """PEFT's base_model_name_or_path names this model: the same repo id (case-insensitive), or a local
    path whose last part is the model's name (a checkpoint trained from a local copy)."""
    base, model = base.strip().rstrip("/"), model.strip()
    if base.lower() == model.lower():
        return True
    looks_local = base.startswith(("/", "./", "../", "~")) or base.count("/") != 1
    return looks_local and base.rsplit("/", 1)[-1].lower() == model.split("/", 1)[1].lower()


def rank_of(config: dict[str, Any]) -> int:
    ranks = [config.get("r")] + list((config.get("rank_pattern") or {}).values())
    return max(int(r) for r in ranks if isinstance(r, (int, float)) and not isinstance(r, bool)) if any(
        isinstance(r, (int, float)) and not isinstance(r, bool) for r in ranks) else 0


def target_modules(config: dict[str, Any]) -> list[str]:
    value = config.get("target_modules")
    if isinstance(value, str):   # PEFT allows a regex string
        return [value]
    return sorted(str(m) for m in value or [])


def check(adapters: list[dict[str, Any]], model: str, server: dict[str, Any]) -> None:
    """Refuse, before anything is written, what the engine would refuse at start (or serve wrongly)."""
    for a in adapters:
        cfg, repo = a["config"], a["id"]
        peft_type = str(cfg.get("peft_type") or "")
        if peft_type.upper() != "LORA":
            raise InvalidAnswer(f"loraAdapters: {repo} is a PEFT '{peft_type or 'unknown'}' adapter, not LORA; the "
                                "engine serves LoRA adapters only (peft_type LORA in its adapter_config.json).")
        base = str(cfg.get("base_model_name_or_path") or "")
        if not base:
            raise InvalidAnswer(f"loraAdapters: {repo}'s adapter_config.json names no base model "
                                "(base_model_name_or_path), so nothing proves it was made for " + model + ".")
        if not _same_base(base, model):
            raise InvalidAnswer(f"loraAdapters: {repo} was made for {base}, not for {model}. A LoRA adapter only "
                                f"works on the base model it was trained on: list adapters made for {model}, or "
                                f"serve {base} (modelName={base}).")
        problems = []
        if cfg.get("use_dora"):
            problems.append("it is a DoRA adapter (use_dora), which vLLM does not support")
        if cfg.get("lora_bias"):
            problems.append("it has LoRA bias (lora_bias), which vLLM does not support")
        if str(cfg.get("bias") or "none") != "none":
            problems.append(f"its bias is '{cfg['bias']}' (vLLM supports bias 'none' only)")
        if problems:
            raise InvalidAnswer(f"loraAdapters: {repo}: {'; '.join(problems)} (vllm/lora/peft_helper.py "
                                "validate_legal).")
        if rank_of(cfg) < 1:
            raise InvalidAnswer(f"loraAdapters: {repo}'s adapter_config.json has no rank r.")
    if server["name"] != "vllm":
        return
    ranks, source = allowed_ranks(server["name"], server["version"])
    for a in adapters:
        if rank_of(a["config"]) > ranks[-1]:
            raise InvalidAnswer(f"loraAdapters: {a['id']} has rank {rank_of(a['config'])}; vLLM "
                                f"{server['version']} allows --max-lora-rank up to {ranks[-1]} ({', '.join(map(str, ranks))}; "
                                f"{source}). Use an adapter of rank {ranks[-1]} or less.")


# --------------------------------------------------------------------------- what the project gets
def settings(adapters: list[dict[str, Any]], server: dict[str, Any], on: bool) -> dict[str, Any] | None:
    """The LoRA part of the context and the lock: None when LoRA is off."""
    if not on:
        return None
    ranks, source = allowed_ranks(server["name"], server["version"])
    largest = max([rank_of(a["config"]) for a in adapters] or [0])
    # the smallest allowed value that holds every listed adapter; with none listed vLLM's default (16)
    wanted = largest or 16
    rank = next(r for r in ranks if r >= wanted)
    return {
        "max_lora_rank": rank, "max_lora_rank_source": source,
        "max_loras": max(len(adapters), 1) if adapters else DEFAULT_MAX_LORAS_RUNTIME,
        "runtime_updates": True,
        "adapters_dir": f"/opt/ml/model/{ADAPTERS_DIR}",
        "adapters": [{"name": a["name"], "id": a["id"], "revision": a.get("revision") or "main", "sha": a["sha"],
                      "rank": rank_of(a["config"]), "lora_alpha": a["config"].get("lora_alpha"),
                      "target_modules": target_modules(a["config"]),
                      "base_model": str(a["config"].get("base_model_name_or_path") or "")}
                     for a in adapters],
    }
