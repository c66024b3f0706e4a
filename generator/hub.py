"""The one HTTP funnel to the HuggingFace Hub, with typed errors, retries and an on-disk cache.

Calls (all to ``$HF_ENDPOINT``, default https://huggingface.co):
  GET /api/models/{id}[/revision/{rev}]            model info: sha, gated, tags, safetensors, siblings
  GET /{id}/resolve/{rev}/tokenizer_config.json    chat template, special tokens
  GET /{id}/resolve/{rev}/config.json              architecture facts
  GET /{id}/resolve/{rev}/chat_template.jinja      used only when listed in the info's siblings
All four go out in one concurrent wave, so a slow hub costs one round trip, not two.
When ``rev`` is a branch or tag, the model info names the commit sha and every file answer
must carry the same sha in its ``X-Repo-Commit`` header (the real hub sends it on resolve
answers, 404s included); a file whose header differs (the branch moved between the calls) or
is missing (a proxy that drops it: nothing proves which commit the file came from) is fetched
again at the immutable sha. When ``rev`` is already a sha (a pinned project being updated or
replayed) nothing needs checking. A branch whose last-seen sha is in the disk cache costs one
call (the info), plus one wave of files only if the branch moved to a commit not cached.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote

from . import errors
from .token import redact

if TYPE_CHECKING:   # imported when a call is made: cached and pinned runs never pay for `import requests`
    import requests

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 5.0
MAX_RETRIES = 3          # extra attempts after a 429 or a 5xx
MAX_RETRY_AFTER_S = 30   # a longer Retry-After is reported instead of waited for
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
FILES = ("tokenizer_config.json", "config.json")
CHAT_TEMPLATE_FILE = "chat_template.jinja"
WAVE_FILES = FILES + (CHAT_TEMPLATE_FILE,)   # the chat template file is asked for at once, used if listed
REPO_COMMIT_HEADER = "X-Repo-Commit"
PACKAGE_DATA = Path(__file__).resolve().parent / "data" / "models"


def endpoint(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline_from_env(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return (env.get("HF_HUB_OFFLINE") or "").strip().lower() in {"1", "true", "yes", "on"}


_REACHABLE: dict[str, bool] = {}


def reachable(timeout_s: float = 2.0) -> bool:
    """Whether a TCP connection to the hub (or to the proxy ``requests`` would use for it) opens: no
    HTTP request, so nothing is read and nothing counts against a rate limit. Asked once per process;
    the interactive offline question defaults to yes when it fails."""
    import socket
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass
    base = endpoint()
    if base not in _REACHABLE:
        url = urlsplit(base)
        target = url
        proxy = getproxies().get(url.scheme)
        if proxy and not proxy_bypass(url.hostname or ""):
            target = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            socket.create_connection((target.hostname, port), timeout=timeout_s).close()
            _REACHABLE[base] = True
        except (OSError, ValueError):
            _REACHABLE[base] = False
    return _REACHABLE[base]


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


def _requests():
    import requests   # 0.09 s to import; only a run that calls the hub needs it
    return requests


def _token_advice() -> str:
    return ("pass a token with read access: export HF_TOKEN=hf_... (or -d hfToken='$MY_TOKEN_VAR', "
            "or run `huggingface-cli login`), then run copier again")


_RETRY_NOTE_LOCK = threading.Lock()


@dataclass
class HubClient:
    token: str | None = None
    base_url: str = field(default_factory=endpoint)
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=lambda: _requests().Session())
    calls: int = 0
    retry_noted: bool = False

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "sagemaker-llm-template (copier)"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _fail(self, cls: type[errors.HubError], message: str) -> errors.HubError:
        return cls(redact(message, self.token))

    def _note_retry(self, status: int) -> None:
        """One line per client, however many calls of its wave are retried and how often."""
        with _RETRY_NOTE_LOCK:
            if self.retry_noted:
                return
            self.retry_noted = True
        print(f"note: the hub answered {status}; retrying (up to {MAX_RETRIES} times, at most "
              f"{2 ** (MAX_RETRIES - 1)} s apart) ...", file=sys.stderr)

    def get(self, model_id: str, path: str, *, optional: bool = False,
            keep_missing: bool = False) -> requests.Response | None:
        """GET ``path``; map every failure to a typed error. ``optional`` files may be absent: None,
        or with ``keep_missing`` the 404 response itself (its headers name the commit)."""
        requests = _requests()
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
                                 "add -d offline=true, or answer yes to the offline question (works for cached "
                                 "and shipped models).") from None
            except requests.RequestException as exc:
                raise self._fail(errors.HubUnreachable,
                                 f"Cannot reach the HuggingFace Hub at {self.base_url} ({type(exc).__name__}). "
                                 "Check your network, proxy or HF_ENDPOINT, or add -d offline=true (or answer yes "
                                 "to the offline question) to generate from the local cache or the metadata "
                                 "shipped with the template.") from None
            status = response.status_code
            if status == 429 or status in (500, 502, 503, 504):
                wait = _retry_after(response) if status == 429 else float(2 ** attempt)
                if attempt < MAX_RETRIES and wait <= MAX_RETRY_AFTER_S:
                    self._note_retry(status)
                    self.sleep(wait)
                    continue
                if status == 429:
                    raise self._fail(errors.RateLimited,
                                     f"The HuggingFace Hub is rate-limiting requests (HTTP 429, retry after "
                                     f"{_retry_after(response):g} s). Wait a few minutes and run copier again; "
                                     "requests with a token (export HF_TOKEN=hf_...) get a higher limit.")
                raise self._fail(errors.HubUnreachable,
                                 f"The HuggingFace Hub answered HTTP {status} for {what} after {MAX_RETRIES + 1} "
                                 "attempts: it looks down. Try again later, or add -d offline=true (or answer yes to "
                                 "the offline question) to use the local cache or the metadata shipped with the "
                                 "template.")
            if status < 400:
                return response
            self._raise_for_status(model_id, response, optional)
            return response if keep_missing else None
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
        """One file at a commit (None when the commit has no such file)."""
        return self.fetch(model_id, sha, name)[0]

    def fetch(self, model_id: str, revision: str, name: str) -> tuple[Any, str | None]:
        """One file at ``revision`` (branch, tag or sha), and the commit the hub says it came from."""
        response = self.get(model_id, f"/{model_id}/resolve/{quote(revision, safe='')}/{name}",
                            optional=True, keep_missing=True)
        commit = repo_commit(response)
        if response.status_code == 404:
            return None, commit
        if name.endswith(".jinja"):
            response.encoding = "utf-8"
            return response.text, commit
        return self._json(response, f"{name} of {model_id}"), commit

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
        """Info and files at one commit, in one concurrent wave of calls (see the module docstring)."""
        start = self.calls
        pinned = bool(SHA_RE.match(revision))
        known_sha = cache.ref(model_id, revision) if cache is not None and not pinned else None
        if known_sha and cache.get(model_id, revision, known_sha) is not None:
            # The files of the branch's last-seen commit are on disk: ask only where the branch is now.
            info = self.model_info(model_id, revision)
            known = cache.get(model_id, revision, info["sha"])
            if known is not None:
                known.source, known.calls = "hub+cache", self.calls - start
                return known
            answers: dict[str, tuple[Any, str | None]] = {}
        else:
            with ThreadPoolExecutor(max_workers=len(WAVE_FILES) + 1) as pool:
                info_f = pool.submit(self.model_info, model_id, revision)
                file_fs = {n: pool.submit(self.fetch, model_id, revision, n) for n in WAVE_FILES}
                info = info_f.result()               # its error (unknown model or revision) comes first
                answers = {n: _outcome(f) for n, f in file_fs.items()}
        sha = revision if pinned else info["sha"]
        siblings = {s.get("rfilename") for s in info.get("siblings") or [] if isinstance(s, dict)}
        wanted = [n for n in WAVE_FILES if n in FILES or n in siblings]
        for name in wanted:    # a file not needed (an unlisted chat template) may fail without harm
            if isinstance(answers.get(name), errors.HubError):
                raise answers[name]
        # At a sha the answers are the commit's files; at a branch each must say it came from that sha.
        stale = [n for n in wanted if n not in answers or (not pinned and answers[n][1] != sha)]
        if stale:
            with ThreadPoolExecutor(max_workers=len(stale)) as pool:
                again = {n: pool.submit(self.fetch, model_id, sha, n) for n in stale}
                answers.update({n: f.result() for n, f in again.items()})
        files = {n: answers[n][0] if n in wanted else None for n in WAVE_FILES}
        return Snapshot(model_id, revision, sha, info, files["tokenizer_config.json"], files["config.json"],
                        files[CHAT_TEMPLATE_FILE], source="hub", calls=self.calls - start)


def _outcome(future) -> Any:
    """A future's result, or the hub error it raised (raised later only if the file is needed)."""
    try:
        return future.result()
    except errors.HubError as exc:
        return exc


def repo_commit(response: requests.Response) -> str | None:
    """The commit sha the hub served a resolve answer from: ``X-Repo-Commit`` on the answer, or on
    the hub's own redirect before it (a redirect to a CDN carries it, the CDN's answer does not)."""
    for answer in (response, *reversed(response.history)):
        value = answer.headers.get(REPO_COMMIT_HEADER, "").strip().lower()
        if value:
            return value
    return None


# --------------------------------------------------------------------------- entry point
_PROCESS_CACHE: dict[tuple, Snapshot | None] = {}
_PENDING: dict[tuple, "_Background"] = {}
_FAILED: dict[tuple, errors.HubError] = {}   # (read, token fingerprint) -> the error it ended with


class _Background:
    """One ``load`` running in a daemon thread (a hung hub never holds the process at exit)."""

    def __init__(self, fn: Callable[[], Snapshot | None]):
        self._done = threading.Event()
        self._result: Snapshot | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = fn()
            except BaseException as exc:   # handed to the caller that waits, re-raised there
                self._error = exc
            finally:
                self._done.set()

        threading.Thread(target=run, name="hub-read", daemon=True).start()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> Snapshot | None:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


def reading() -> bool:
    """Whether a background read (``prefetch``) is still waiting for the hub."""
    return any(not pending.done() for pending in _PENDING.values())


def _key(model_id: str, revision: str, pinned_sha: str | None, offline: bool, client: HubClient | None,
         cache: DiskCache) -> tuple[tuple, str | None]:
    want = pinned_sha if pinned_sha and SHA_RE.match(pinned_sha) else (revision if SHA_RE.match(revision) else None)
    base = client.base_url if client else endpoint()
    return (base, str(cache.root), model_id, want or revision, offline), want


def prefetch(model_id: str, revision: str = "main", *, pinned_sha: str | None = None, offline: bool = False,
             token: str | None = None) -> None:
    """Start reading the model now; the next ``load`` of the same model waits for this read instead of
    starting its own. Copier goes on with the other questions meanwhile, so a slow hub's round trip
    overlaps that work. Errors (unknown model, hub down) are raised by that ``load``, before any file
    is written."""
    revision = revision or "main"
    cache = DiskCache()
    key, want = _key(model_id, revision, pinned_sha, offline, None, cache)
    if key in _PROCESS_CACHE or key in _PENDING:
        return
    snap = cache.get(model_id, revision, want) if want else None
    if snap is not None:   # a pinned commit already on disk: what ``load`` would answer, read once
        _PROCESS_CACHE[key] = snap
        return

    def read() -> Snapshot | None:
        return load(model_id, revision, pinned_sha=pinned_sha, offline=offline, token=token, cache=cache,
                    _waiting=False)
    if not offline:
        _requests()   # imported here: in the thread it would hold the GIL the questions need meanwhile
    _PENDING[key] = _Background(read)


def load(model_id: str, revision: str = "main", *, pinned_sha: str | None = None, offline: bool = False,
         token: str | None = None, client: HubClient | None = None, cache: DiskCache | None = None,
         _waiting: bool = True) -> Snapshot | None:
    """Model metadata at one commit: process cache, then disk cache, then the hub (or shipped data offline).

    Returns None only when offline and nothing is known about the model.
    """
    revision = revision or "main"
    cache = cache or DiskCache()
    key, want = _key(model_id, revision, pinned_sha, offline, client, cache)
    failed_key = (key, _fingerprint(client.token if client else token))
    if failed_key in _FAILED:   # this read failed already (gated, bad token, down): said once, not read again
        raise _FAILED[failed_key]
    try:
        return _load(model_id, revision, key, want, offline=offline, token=token, client=client, cache=cache,
                     waiting=_waiting)
    except errors.HubError as exc:
        _FAILED[failed_key] = exc
        raise


def _fingerprint(token: str | None) -> str:
    """Which token a failed read used, without keeping the token itself."""
    import hashlib
    return hashlib.sha256((token or "").encode()).hexdigest()[:16]


def _load(model_id: str, revision: str, key: tuple, want: str | None, *, offline: bool, token: str | None,
          client: HubClient | None, cache: DiskCache, waiting: bool) -> Snapshot | None:
    if waiting and key in _PENDING:
        snap = _PENDING.pop(key).result()
        _PROCESS_CACHE[key] = snap
        return snap
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
    for pending in list(_PENDING.values()):
        try:
            pending.result()
        except BaseException:
            pass
    _PENDING.clear()
    _PROCESS_CACHE.clear()
    _FAILED.clear()


def cached(model_id: str, revision: str = "main", *, pinned_sha: str | None = None,
           offline: bool = False) -> tuple[bool, Snapshot | None]:
    """What this process has read already, without any call or wait: (found, snapshot). For checks
    that run on every keystroke of a prompt (copier's validators)."""
    key, _ = _key(model_id, revision or "main", pinned_sha, offline, None, DiskCache())
    if key in _PROCESS_CACHE:
        return True, _PROCESS_CACHE[key]
    return False, None
