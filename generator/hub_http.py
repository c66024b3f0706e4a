"""The HTTP client for the HuggingFace Hub: one session, timeouts, retries, and the error mapping.

The split follows huggingface_hub (read in huggingface_hub 1.33.0, the wheel from PyPI):
``utils/_http.py`` holds the client side (``http_backoff``: retry on 429 and 5xx, waiting what the
hub's ``ratelimit`` or ``Retry-After`` header says, else an exponential backoff) and the mapping of
an answer to an error (``hf_raise_for_status``: ``X-Error-Code`` ``RepoNotFound``,
``RevisionNotFound``, ``GatedRepo`` ...), and ``errors.py`` the errors, which carry the request id
(``HfHubHTTPError.request_id``: ``X-Request-Id``, else ``X-Amzn-Trace-Id``, else ``X-Amz-Cf-Id``).
Here: this module is the client and the mapping, ``generator/errors.py`` the errors (each carries
``status``, ``url`` and ``request_id``), ``generator/hub_cache.py`` the disk cache and
``generator/hub.py`` the read built on both.

Where this differs from huggingface_hub: every message says what to do next (check modelName,
request access, pass a token, go offline) instead of naming the URL and the server's words; the
request id is named at the end, ``(HTTP 403, request id Root=1-...)``, only when the hub sent one
(huggingface_hub writes ``(Request ID: ...)`` on its message's first line); a timeout or a refused
connection is reported at once (a 5 s timeout retried would keep a user waiting 20 s); a
``Retry-After`` over ``MAX_RETRY_AFTER_S`` is reported instead of waited for; an HTTP-date
``Retry-After`` is honoured (huggingface_hub reads delay-seconds only). The HF token never appears
in a message or in an error's fields (``generator/token.py`` ``redact``).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
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
RETRY_STATUSES = (429, 500, 502, 503, 504)
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_COMMIT_HEADER = "X-Repo-Commit"
# huggingface_hub 1.33.0 utils/_http.py X_REQUEST_ID, X_AMZN_TRACE_ID, X_AMZ_CF_ID, in its order:
# the hub's own id (``x-request-id: Root=1-...`` on every answer), then the ones a proxy or
# CloudFront adds (CloudFront's own error pages carry only ``X-Amz-Cf-Id``).
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Amzn-Trace-Id", "X-Amz-Cf-Id")
# IETF draft ratelimit header, as the hub sends it: ratelimit: "api";r=0;t=55 (huggingface_hub
# 1.33.0 utils/_http.py _RATELIMIT_REGEX): r requests remaining, t seconds until the window resets.
_RATELIMIT_RE = re.compile(r"\"(?P<resource>\w+)\"\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)")


def endpoint(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


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


def import_requests():
    """``requests``, imported on first use: 0.09 s to import, and only a run that calls the hub needs it."""
    import requests
    return requests


def retry_after(response: requests.Response) -> float:
    """Seconds to wait before asking again: the ``ratelimit`` header's reset when no request is left
    in the window (plus 1 s, as huggingface_hub does), else ``Retry-After`` (seconds or an HTTP
    date), else 1 s."""
    limit = _RATELIMIT_RE.search(response.headers.get("RateLimit", ""))
    if limit and int(limit["r"]) == 0:
        return float(int(limit["t"]) + 1)
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


def request_id(response: requests.Response | None) -> str | None:
    """The id the hub (or the proxy or CDN in front of it) gave the request, for a report to the hub's
    maintainers; None when the answer names none."""
    if response is None:
        return None
    for header in REQUEST_ID_HEADERS:
        value = response.headers.get(header, "").strip()
        if value:
            return value
    return None


def repo_commit(response: requests.Response) -> str | None:
    """The commit sha the hub served a resolve answer from: ``X-Repo-Commit`` on the answer, or on
    the hub's own redirect before it (a redirect to a CDN carries it, the CDN's answer does not)."""
    for answer in (response, *reversed(response.history)):
        value = answer.headers.get(REPO_COMMIT_HEADER, "").strip().lower()
        if value:
            return value
    return None


def token_advice() -> str:
    return ("pass a token with read access: export HF_TOKEN=hf_... (or -d hfToken='$MY_TOKEN_VAR', "
            "or run `huggingface-cli login`), then run copier again")


_RETRY_NOTE_LOCK = threading.Lock()


@dataclass
class HubClient:
    """Calls to one hub with one token. ``sleep`` is what waits between retries (tests pass their own)."""

    token: str | None = None
    base_url: str = field(default_factory=endpoint)
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=lambda: import_requests().Session())
    calls: int = 0
    retry_noted: bool = False

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "sagemaker-llm-template (copier)"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _fail(self, cls: type[errors.HubError], message: str, *, url: str,
              response: requests.Response | None = None) -> errors.HubError:
        """The error, with the answer's status, the URL and the request id; the message names the
        request id when the hub sent one, and the status beside it unless the message says it already."""
        status = response.status_code if response is not None else None
        rid = request_id(response)
        if rid:
            said = status is None or f"HTTP {status}" in message
            message += f" (request id {rid})" if said else f" (HTTP {status}, request id {rid})"
        return cls(redact(message, self.token), status=status, url=redact(url, self.token),
                   request_id=redact(rid, self.token) if rid else None)

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
        requests = import_requests()
        url = f"{self.base_url}{path}"
        for attempt in range(MAX_RETRIES + 1):
            self.calls += 1
            try:
                response = self.session.get(url, headers=self._headers(), timeout=TIMEOUT_S)
            except requests.Timeout:
                raise self._fail(errors.HubTimeout,
                                 f"The HuggingFace Hub did not answer within {TIMEOUT_S:g} s ({url}). "
                                 "Check your network or proxy and try again; to generate without the hub, "
                                 "add -d offline=true, or answer yes to the offline question (works for cached "
                                 "and shipped models).", url=url) from None
            except requests.RequestException as exc:
                raise self._fail(errors.HubUnreachable,
                                 f"Cannot reach the HuggingFace Hub at {self.base_url} ({type(exc).__name__}). "
                                 "Check your network, proxy or HF_ENDPOINT, or add -d offline=true (or answer yes "
                                 "to the offline question) to generate from the local cache or the metadata "
                                 "shipped with the template.", url=url) from None
            status = response.status_code
            if status in RETRY_STATUSES:
                wait = retry_after(response) if status == 429 else float(2 ** attempt)
                if attempt < MAX_RETRIES and wait <= MAX_RETRY_AFTER_S:
                    self._note_retry(status)
                    self.sleep(wait)
                    continue
                if status == 429:
                    raise self._fail(errors.RateLimited,
                                     f"The HuggingFace Hub is rate-limiting requests (HTTP 429, retry after "
                                     f"{retry_after(response):g} s). Wait a few minutes and run copier again; "
                                     "requests with a token (export HF_TOKEN=hf_...) get a higher limit.",
                                     url=url, response=response)
                raise self._fail(errors.HubUnreachable,
                                 f"The HuggingFace Hub answered HTTP {status} for {url} after {MAX_RETRIES + 1} "
                                 "attempts: it looks down. Try again later, or add -d offline=true (or answer yes to "
                                 "the offline question) to use the local cache or the metadata shipped with the "
                                 "template.", url=url, response=response)
            if status < 400:
                return response
            self._raise_for_status(model_id, url, response, optional)
            return response if keep_missing else None
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for_status(self, model_id: str, url: str, response: requests.Response, optional: bool) -> None:
        """The answer's error, in huggingface_hub's order (``hf_raise_for_status``): the hub's
        ``X-Error-Code`` first, then the status. Returns for an optional file that is missing."""
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

        def fail(cls: type[errors.HubError], text: str) -> errors.HubError:
            return self._fail(cls, text, url=url, response=response)

        if code == "GatedRepo":
            who = ("the token used has not been granted access" if self.token
                   else "no HuggingFace token was found")
            raise fail(errors.GatedRepo, f"{model_id} is a gated model and {who}. Request access at {page} "
                                         f"(approval may take a while), then {token_advice()}.")
        if code == "RevisionNotFound":
            raise fail(errors.RevisionNotFound,
                       f"Revision not found for {model_id}: {message or response.url}. Check modelRevision "
                       f"(a branch, tag or commit of {page}).")
        if status == 401 and "invalid credentials" in message.lower():
            raise fail(errors.BadToken,
                       "The HuggingFace Hub rejected the token (invalid credentials). Create a new token "
                       "at https://huggingface.co/settings/tokens, then " + token_advice() + ".")
        # The hub answers 401 for an unknown repo when no token is sent, 404 with one
        # (huggingface_hub maps both to RepositoryNotFoundError).
        if code == "RepoNotFound" or (status == 401 and not optional) or (status == 404 and not optional):
            hint = (" If it is private, the token used has no access to it." if self.token else
                    " If it is private or gated, " + token_advice() + ".")
            raise fail(errors.RepoNotFound,
                       f"Model {model_id} was not found on {self.base_url}. Check modelName "
                       f"(the form is org/name, as in the model page's URL).{hint}")
        if status == 404 and optional:
            return None
        if status == 403:
            raise fail(errors.BadToken,
                       f"The HuggingFace Hub refused access to {model_id} (HTTP 403: {message}). If you use a "
                       "fine-grained token, allow it to read this repository (and public gated repos), "
                       "then run copier again.")
        raise fail(errors.MalformedAnswer,
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
                             "HuggingFace Hub? Check HF_ENDPOINT.", url=f"{self.base_url}{path}", response=response)
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
                             f"({self.base_url}) a HuggingFace Hub? Try again later.",
                             url=response.url if response is not None else self.base_url, response=response)
        return value
