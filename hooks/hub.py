"""The one HTTP funnel to the HuggingFace Hub, with typed errors, retries and an on-disk cache.

Calls (all to ``$HF_ENDPOINT``, default https://huggingface.co):
  GET /api/models/{id}[/revision/{rev}]            model info: sha, gated, tags, safetensors, siblings
  GET /{id}/resolve/{sha}/tokenizer_config.json    chat template, special tokens
  GET /{id}/resolve/{sha}/config.json              architecture facts
  GET /{id}/resolve/{sha}/chat_template.jinja      only when listed in the info's siblings
Files are always fetched at the immutable commit sha. When the revision is already a sha
(a pinned project being updated or replayed) the calls run concurrently in one wave;
otherwise the info call resolves the sha first and the files follow concurrently.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import requests

from . import errors
from .token import redact

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 5.0
MAX_RETRIES = 3          # extra attempts after a 429 or a 5xx
MAX_RETRY_AFTER_S = 30   # a longer Retry-After is reported instead of waited for
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
FILES = ("tokenizer_config.json", "config.json")
CHAT_TEMPLATE_FILE = "chat_template.jinja"
PACKAGE_DATA = Path(__file__).resolve().parent / "data" / "models"


def endpoint(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline_from_env(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return (env.get("HF_HUB_OFFLINE") or "").strip().lower() in {"1", "true", "yes", "on"}


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sagemaker-llm-template" / "hub"


@dataclass
class Snapshot:
    """What the hub told us about one model at one commit."""

    model_id: str
    revision: str
    sha: str
    info: dict[str, Any]
    tokenizer_config: dict[str, Any] | None
    config: dict[str, Any] | None
    chat_template_file: str | None = None
    source: str = "hub"  # hub | cache | shipped
    calls: int = 0

    def files(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model_info.json": self.info}
        if self.tokenizer_config is not None:
            out["tokenizer_config.json"] = self.tokenizer_config
        if self.config is not None:
            out["config.json"] = self.config
        if self.chat_template_file is not None:
            out[CHAT_TEMPLATE_FILE] = self.chat_template_file
        return out


def _model_dir(model_id: str) -> str:
    return model_id.replace("/", "--")


# --------------------------------------------------------------------------- disk cache
def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _read_dir(model_id: str, revision: str, sha: str, folder: Path, source: str) -> Snapshot | None:
    try:
        info = json.loads((folder / "model_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

    def load(name: str) -> Any:
        path = folder / name
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8")
        return text if name.endswith(".jinja") else json.loads(text)

    try:
        return Snapshot(model_id, revision, sha, info, load("tokenizer_config.json"), load("config.json"),
                        load(CHAT_TEMPLATE_FILE), source=source)
    except ValueError:
        return None


class DiskCache:
    """``<root>/<org>--<name>/<sha>/<file>``, plus ``refs/<revision>`` holding the last sha seen."""

    def __init__(self, root: Path | None = None):
        self.root = root or cache_root()

    def get(self, model_id: str, revision: str, sha: str | None = None) -> Snapshot | None:
        base = self.root / _model_dir(model_id)
        if sha is None:
            sha = self.ref(model_id, revision)
        if not sha:
            return None
        return _read_dir(model_id, revision, sha, base / sha, "cache")

    def ref(self, model_id: str, revision: str) -> str | None:
        if SHA_RE.match(revision):
            return revision
        try:
            value = (self.root / _model_dir(model_id) / "refs" / quote(revision, safe="")).read_text().strip()
        except OSError:
            return None
        return value if SHA_RE.match(value) else None

    def put(self, snap: Snapshot) -> None:
        base = self.root / _model_dir(snap.model_id)
        try:
            for name, value in snap.files().items():
                text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
                _write_atomic(base / snap.sha / name, text)
            if not SHA_RE.match(snap.revision):
                _write_atomic(base / "refs" / quote(snap.revision, safe=""), snap.sha + "\n")
        except OSError as exc:  # a read-only cache must not stop generation
            print(f"note: could not write the hub cache at {self.root}: {exc}", file=sys.stderr)


def shipped(model_id: str, revision: str, sha: str | None) -> Snapshot | None:
    """Metadata shipped with the template for a few popular models (offline generation)."""
    folder = PACKAGE_DATA / _model_dir(model_id)
    try:
        info = json.loads((folder / "model_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if sha and sha != info.get("sha"):
        return None
    if not sha and revision not in ("main", info.get("sha")):
        return None
    return _read_dir(model_id, revision, info["sha"], folder, "shipped")


# --------------------------------------------------------------------------- HTTP funnel
def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 1.0


def _token_advice() -> str:
    return ("pass a token with read access: export HF_TOKEN=hf_... (or -d hfToken='$MY_TOKEN_VAR', "
            "or run `huggingface-cli login`), then run copier again")


@dataclass
class HubClient:
    token: str | None = None
    base_url: str = field(default_factory=endpoint)
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    calls: int = 0

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "sagemaker-llm-template (copier)"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _fail(self, cls: type[errors.HubError], message: str) -> errors.HubError:
        return cls(redact(message, self.token))

    def get(self, model_id: str, path: str, *, optional: bool = False) -> requests.Response | None:
        """GET ``path``; map every failure to a typed error. ``optional`` files may be absent (None)."""
        url = f"{self.base_url}{path}"
        what = f"{url}"
        for attempt in range(MAX_RETRIES + 1):
            self.calls += 1
            try:
                response = self.session.get(url, headers=self._headers(), timeout=TIMEOUT_S)
            except requests.Timeout:
                raise self._fail(errors.HubTimeout,
                                 f"The HuggingFace Hub did not answer within {TIMEOUT_S:g} s ({what}). "
                                 "Check your network or proxy and try again; to generate without the hub, "
                                 "add -d offline=true (works for cached and shipped models).") from None
            except requests.RequestException as exc:
                raise self._fail(errors.HubUnreachable,
                                 f"Cannot reach the HuggingFace Hub at {self.base_url} ({type(exc).__name__}). "
                                 "Check your network, proxy or HF_ENDPOINT, or add -d offline=true to generate "
                                 "from the local cache or the metadata shipped with the template.") from None
            status = response.status_code
            if status == 429 or status in (500, 502, 503, 504):
                wait = _retry_after(response) if status == 429 else float(2 ** attempt)
                if attempt < MAX_RETRIES and wait <= MAX_RETRY_AFTER_S:
                    print(f"note: the hub answered {status}; retrying in {wait:g} s "
                          f"({attempt + 1}/{MAX_RETRIES})", file=sys.stderr)
                    self.sleep(wait)
                    continue
                if status == 429:
                    raise self._fail(errors.RateLimited,
                                     f"The HuggingFace Hub is rate-limiting requests (HTTP 429, retry after "
                                     f"{_retry_after(response):g} s). Wait a few minutes and run copier again; "
                                     "requests with a token (export HF_TOKEN=hf_...) get a higher limit.")
                raise self._fail(errors.HubUnreachable,
                                 f"The HuggingFace Hub answered HTTP {status} for {what} after {MAX_RETRIES + 1} "
                                 "attempts: it looks down. Try again later, or add -d offline=true to use the "
                                 "local cache or the metadata shipped with the template.")
            if status < 400:
                return response
            return self._raise_for_status(model_id, response, optional)
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for_status(self, model_id: str, response: requests.Response, optional: bool) -> None:
        status = response.status_code
        code = response.headers.get("X-Error-Code", "")
        message = response.headers.get("X-Error-Message", "")
        if not message:
            try:
                body = response.json()
            except ValueError:
                body = None
            message = str(body.get("error", "")) if isinstance(body, dict) else ""
        page = f"{self.base_url}/{model_id}"
        if code == "GatedRepo":
            who = ("the token used has not been granted access" if self.token
                   else "no HuggingFace token was found")
            raise self._fail(errors.GatedRepo,
                             f"{model_id} is a gated model and {who}. Request access at {page} "
                             f"(approval may take a while), then {_token_advice()}.")
        if code == "RevisionNotFound":
            raise self._fail(errors.RevisionNotFound,
                             f"Revision not found for {model_id}: {message or response.url}. Check modelRevision "
                             f"(a branch, tag or commit of {page}).")
        if status == 401 and "invalid credentials" in message.lower():
            raise self._fail(errors.BadToken,
                             "The HuggingFace Hub rejected the token (invalid credentials). Create a new token "
                             "at https://huggingface.co/settings/tokens, then " + _token_advice() + ".")
        if code == "RepoNotFound" or (status == 401 and not optional) or (status == 404 and not optional):
            hint = (" If it is private, the token used has no access to it." if self.token else
                    " If it is private or gated, " + _token_advice() + ".")
            raise self._fail(errors.RepoNotFound,
                             f"Model {model_id} was not found on {self.base_url}. Check modelName "
                             f"(the form is org/name, as in the model page's URL).{hint}")
        if status == 404 and optional:
            return None
        if status == 403:
            raise self._fail(errors.BadToken,
                             f"The HuggingFace Hub refused access to {model_id} (HTTP 403: {message}). If you use a "
                             "fine-grained token, allow it to read this repository (and public gated repos), "
                             "then run copier again.")
        raise self._fail(errors.MalformedAnswer,
                         f"The HuggingFace Hub answered HTTP {status} for {response.url}: {message}. "
                         "Check modelName and modelRevision and try again.")

    # ----------------------------------------------------------------------- calls
    def model_info(self, model_id: str, revision: str) -> dict[str, Any]:
        path = f"/api/models/{model_id}" if revision == "main" else \
            f"/api/models/{model_id}/revision/{quote(revision, safe='')}"
        response = self.get(model_id, path)
        info = self._json(response, f"model info of {model_id}")
        sha = info.get("sha") if isinstance(info, dict) else None
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise self._fail(errors.MalformedAnswer,
                             f"The hub's model info for {model_id} has no commit sha; is {self.base_url} a "
                             "HuggingFace Hub? Check HF_ENDPOINT.")
        return info

    def file(self, model_id: str, sha: str, name: str) -> Any:
        response = self.get(model_id, f"/{model_id}/resolve/{sha}/{name}", optional=True)
        if response is None:
            return None
        if name.endswith(".jinja"):
            response.encoding = "utf-8"
            return response.text
        return self._json(response, f"{name} of {model_id}")

    def _json(self, response: requests.Response | None, what: str) -> Any:
        try:
            value = response.json() if response is not None else None
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise self._fail(errors.MalformedAnswer,
                             f"The hub's answer for {what} is not a JSON object; is HF_ENDPOINT "
                             f"({self.base_url}) a HuggingFace Hub? Try again later.")
        return value

    def snapshot(self, model_id: str, revision: str, cache: DiskCache | None = None) -> Snapshot:
        """Info and files at one commit. Files already in ``cache`` for the resolved sha are not fetched."""
        start = self.calls
        with ThreadPoolExecutor(max_workers=4) as pool:
            if SHA_RE.match(revision):
                sha = revision
                info_f = pool.submit(self.model_info, model_id, revision)
                file_fs = {n: pool.submit(self.file, model_id, sha, n) for n in FILES}
                info = info_f.result()
            else:
                info = self.model_info(model_id, revision)
                sha = info["sha"]
                known = cache.get(model_id, revision, sha) if cache else None
                if known is not None:
                    known.source, known.calls = "hub+cache", self.calls - start
                    return known
                file_fs = {n: pool.submit(self.file, model_id, sha, n) for n in FILES}
            siblings = {s.get("rfilename") for s in info.get("siblings") or [] if isinstance(s, dict)}
            chat_f = pool.submit(self.file, model_id, sha, CHAT_TEMPLATE_FILE) \
                if CHAT_TEMPLATE_FILE in siblings else None
            files = {n: f.result() for n, f in file_fs.items()}
            chat = chat_f.result() if chat_f else None
        return Snapshot(model_id, revision, sha, info, files["tokenizer_config.json"], files["config.json"],
                        chat, source="hub", calls=self.calls - start)


# --------------------------------------------------------------------------- entry point
_PROCESS_CACHE: dict[tuple, Snapshot | None] = {}


def load(model_id: str, revision: str = "main", *, pinned_sha: str | None = None, offline: bool = False,
         token: str | None = None, client: HubClient | None = None, cache: DiskCache | None = None) -> Snapshot | None:
    """Model metadata at one commit: process cache, then disk cache, then the hub (or shipped data offline).

    Returns None only when offline and nothing is known about the model.
    """
    revision = revision or "main"
    want = pinned_sha if pinned_sha and SHA_RE.match(pinned_sha) else (revision if SHA_RE.match(revision) else None)
    cache = cache or DiskCache()
    base = client.base_url if client else endpoint()
    key = (base, str(cache.root), model_id, want or revision, offline)
    if key in _PROCESS_CACHE:
        return _PROCESS_CACHE[key]
    snap = cache.get(model_id, revision, want) if (want or offline) else None
    if snap is None and offline:
        snap = shipped(model_id, revision, want)
    if snap is None and not offline:
        client = client or HubClient(token=token)
        print(f"Reading {model_id} ({want or revision}) from {client.base_url} ...", file=sys.stderr)
        snap = client.snapshot(model_id, want or revision, cache)
        snap.revision = revision if want is None else want   # a pinned fetch must not move refs/<branch>
        cache.put(snap)
        snap.revision = revision
    _PROCESS_CACHE[key] = snap
    return snap


def clear_process_cache() -> None:
    _PROCESS_CACHE.clear()
