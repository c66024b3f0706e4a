"""The read of a model's metadata from the HuggingFace Hub: one concurrent wave, caches, offline.

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

The read is built on two modules, as huggingface_hub separates ``utils/_http.py`` from
``errors.py``: ``generator/hub_http.py`` (the HTTP client: session, timeouts, retries on 429 and
5xx, each failure mapped to a typed error of ``generator/errors.py`` that carries the status, the
URL and the hub's request id) and ``generator/hub_cache.py`` (the disk cache by sha, its location,
the metadata shipped with the template). Their names that other modules use (``hub.HubClient``,
``hub.Snapshot``, ``hub.cache_root``, ``hub.SHA_RE`` ...) are importable from here as well.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from . import errors
from .hub_cache import CHAT_TEMPLATE_FILE, PACKAGE_DATA, DiskCache, Snapshot, cache_root, shipped
from .hub_cache import write_atomic as _write_atomic
from .hub_http import (DEFAULT_ENDPOINT, MAX_RETRIES, MAX_RETRY_AFTER_S, REPO_COMMIT_HEADER, SHA_RE, TIMEOUT_S,
                       HubClient, endpoint, import_requests, reachable, repo_commit)

__all__ = [   # the read's own names, and the names of hub_http and hub_cache that callers use from here
    "FILES", "WAVE_FILES", "offline_from_env", "snapshot", "prefetch", "load", "reading", "cached",
    "clear_process_cache",
    "CHAT_TEMPLATE_FILE", "PACKAGE_DATA", "DiskCache", "Snapshot", "cache_root", "shipped", "_write_atomic",
    "DEFAULT_ENDPOINT", "MAX_RETRIES", "MAX_RETRY_AFTER_S", "REPO_COMMIT_HEADER", "SHA_RE", "TIMEOUT_S",
    "HubClient", "endpoint", "reachable", "repo_commit",
]

FILES = ("tokenizer_config.json", "config.json")
WAVE_FILES = FILES + (CHAT_TEMPLATE_FILE,)   # the chat template file is asked for at once, used if listed


def offline_from_env(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return (env.get("HF_HUB_OFFLINE") or "").strip().lower() in {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------- the wave
def snapshot(client: HubClient, model_id: str, revision: str, cache: DiskCache | None = None) -> Snapshot:
    """Info and files at one commit, in one concurrent wave of calls (see the module docstring)."""
    start = client.calls
    pinned = bool(SHA_RE.match(revision))
    known_sha = cache.ref(model_id, revision) if cache is not None and not pinned else None
    if known_sha and cache.get(model_id, revision, known_sha) is not None:
        # The files of the branch's last-seen commit are on disk: ask only where the branch is now.
        info = client.model_info(model_id, revision)
        known = cache.get(model_id, revision, info["sha"])
        if known is not None:
            known.source, known.calls = "hub+cache", client.calls - start
            return known
        answers: dict[str, tuple[Any, str | None]] = {}
    else:
        with ThreadPoolExecutor(max_workers=len(WAVE_FILES) + 1) as pool:
            info_f = pool.submit(client.model_info, model_id, revision)
            file_fs = {n: pool.submit(client.fetch, model_id, revision, n) for n in WAVE_FILES}
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
            again = {n: pool.submit(client.fetch, model_id, sha, n) for n in stale}
            answers.update({n: f.result() for n, f in again.items()})
    files = {n: answers[n][0] if n in wanted else None for n in WAVE_FILES}
    return Snapshot(model_id, revision, sha, info, files["tokenizer_config.json"], files["config.json"],
                    files[CHAT_TEMPLATE_FILE], source="hub", calls=client.calls - start)


def _outcome(future) -> Any:
    """A future's result, or the hub error it raised (raised later only if the file is needed)."""
    try:
        return future.result()
    except errors.HubError as exc:
        return exc


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
        import_requests()   # imported here: in the thread it would hold the GIL the questions need meanwhile
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
        snap = snapshot(client, model_id, want or revision, cache)
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
