"""generator/hub.py (and hub_http.py, hub_cache.py) against the recorded hub: calls, sha pinning, cache, every error path."""

import json
import re

import pytest
import requests
import responses

from testkit import HF_ENDPOINT
from generator import errors, hub, hub_http
from generator.hub import DiskCache, HubClient, load
from hubsim import FAKE_TOKEN, GRANTED_TOKEN, info

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
QWEN_SHA = "7ae557604adf67be50417f59c2c2f167def9a775"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_SHA = "0e9e39f249a16976918f6564b8830bc894c89659"


def client(token=None, sleeps=None):
    return HubClient(token=token, base_url=HF_ENDPOINT,
                     sleep=(sleeps.append if sleeps is not None else lambda s: None))


def at(rev, *names):
    return [f"/{QWEN}/resolve/{rev}/{n}" for n in names]


FILES = ("config.json", "tokenizer_config.json", "chat_template.jinja")
OTHER_SHA = "b" * 40


def test_branch_reads_info_and_files_in_one_wave(fake_hub):
    fake_hub.latency_s = 0.1      # long enough that a second round trip cannot hide inside the first
    snap = hub.snapshot(client(), QWEN, "main")
    assert sorted(fake_hub.requests) == sorted([f"/api/models/{QWEN}", *at("main", *FILES)])
    assert fake_hub.waves() == 1
    assert snap.sha == QWEN_SHA and snap.calls == 4
    assert snap.config["architectures"] == ["Qwen2ForCausalLM"]
    assert "<|im_start|>" in snap.tokenizer_config["chat_template"]
    assert snap.chat_template_file is None          # not in the info's siblings


def test_pinned_sha_fetches_everything_in_one_wave(fake_hub):
    fake_hub.latency_s = 0.1
    snap = hub.snapshot(client(), QWEN, QWEN_SHA)
    assert sorted(fake_hub.requests) == sorted([f"/api/models/{QWEN}/revision/{QWEN_SHA}", *at(QWEN_SHA, *FILES)])
    assert fake_hub.waves() == 1 and snap.sha == QWEN_SHA


def _moved(fake_hub, monkeypatch, commit_header):
    """Answers at the branch come from another commit (or carry no commit header); at the sha, the real ones."""
    real = fake_hub._answer

    def answer(method, path, headers):
        status, head, body = real(method, path, headers)
        if "/resolve/main/" in path:
            head = {k: v for k, v in head.items() if k != "X-Repo-Commit"}
            if commit_header:
                head["X-Repo-Commit"] = commit_header
            if path.endswith("/config.json"):
                body = json.dumps({"architectures": ["MovedOnForCausalLM"]}).encode()
        return status, head, body

    monkeypatch.setattr(fake_hub, "_answer", answer)


@pytest.mark.parametrize("header", [OTHER_SHA, None], ids=["other-commit", "no-header"])
def test_file_answers_not_from_the_infos_commit_are_refetched_at_the_sha(fake_hub, monkeypatch, header):
    """The branch moved between the calls (or a proxy dropped X-Repo-Commit): never mix two commits.
    Without the header nothing proves which commit a file came from, so it is refetched too."""
    _moved(fake_hub, monkeypatch, header)
    fake_hub.latency_s = 0.1     # as in the other wave tests: a loaded machine must not split a wave
    snap = hub.snapshot(client(), QWEN, "main")
    assert snap.sha == QWEN_SHA and snap.config["architectures"] == ["Qwen2ForCausalLM"]
    # chat_template.jinja is not listed in the info, so its answer is dropped, not refetched
    assert sorted(fake_hub.requests) == sorted([f"/api/models/{QWEN}", *at("main", *FILES),
                                                *at(QWEN_SHA, "config.json", "tokenizer_config.json")])
    assert fake_hub.waves() == 2 and snap.calls == 6


def test_commit_header_on_the_hubs_redirect_counts(fake_hub, monkeypatch):
    """A resolve answer may be a redirect (to a CDN, or the hub's resolve cache): the hub's redirect
    carries X-Repo-Commit, the final answer may not."""
    real = fake_hub._answer

    def answer(method, path, headers):
        if path == f"/{QWEN}/resolve/main/config.json":
            return 302, {"Location": "https://cdn.test/config.json", "X-Repo-Commit": QWEN_SHA}, b""
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "_answer", answer)
    fake_hub.mock.add(responses.GET, "https://cdn.test/config.json",
                      body=(hub.PACKAGE_DATA / "Qwen--Qwen2.5-0.5B-Instruct" / "config.json").read_bytes())
    snap = hub.snapshot(client(), QWEN, "main")
    assert snap.config["architectures"] == ["Qwen2ForCausalLM"]
    assert not [r for r in fake_hub.requests if QWEN_SHA in r], "no refetch: the redirect named the commit"


def test_file_missing_at_the_branch_with_the_commit_header_is_trusted(fake_hub, monkeypatch):
    real = fake_hub._answer

    def answer(method, path, headers):
        if path == f"/{QWEN}/resolve/main/tokenizer_config.json":
            return 404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": QWEN_SHA}, b"{}"
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "_answer", answer)
    snap = hub.snapshot(client(), QWEN, "main")
    assert snap.tokenizer_config is None and snap.config is not None
    assert len(fake_hub.requests) == 4


def test_an_unlisted_chat_template_that_fails_does_not_matter(fake_hub, monkeypatch):
    """It is asked for only to save a round trip; a proxy refusing it must not stop generation."""
    real = fake_hub._answer

    def answer(method, path, headers):
        if path.endswith("/chat_template.jinja"):
            return 403, {"X-Error-Message": "Forbidden by proxy"}, b"{}"
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "_answer", answer)
    snap = hub.snapshot(client(), QWEN, "main")
    assert snap.config is not None and snap.chat_template_file is None


def test_a_needed_file_that_fails_raises_its_typed_error(fake_hub, monkeypatch):
    real = fake_hub._answer

    def answer(method, path, headers):
        if path.endswith("/config.json"):
            return 403, {"X-Error-Message": f"Forbidden {FAKE_TOKEN}"}, b"{}"
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "_answer", answer)
    with pytest.raises(errors.BadToken, match="HTTP 403") as caught:
        hub.snapshot(client(FAKE_TOKEN), QWEN, "main")
    assert FAKE_TOKEN not in str(caught.value)


def test_separate_chat_template_file_comes_in_the_same_wave_when_listed(fake_hub, monkeypatch):
    data = info(QWEN)
    data["siblings"].append({"rfilename": "chat_template.jinja"})
    real = fake_hub._answer

    def answer(method, path, headers):
        if path.endswith("/chat_template.jinja"):
            return 200, {"Content-Type": "text/plain", "X-Repo-Commit": QWEN_SHA}, "{{ messages }}\n".encode()
        if path.startswith("/api/models/"):
            return 200, {}, json.dumps(data).encode()
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "_answer", answer)
    fake_hub.latency_s = 0.1
    snap = hub.snapshot(client(), QWEN, "main")
    assert f"/{QWEN}/resolve/main/chat_template.jinja" in fake_hub.requests
    assert snap.chat_template_file == "{{ messages }}\n"
    assert fake_hub.waves() == 1 and len(fake_hub.requests) == 4


def test_token_is_sent_as_bearer(fake_hub):
    hub.snapshot(client(GRANTED_TOKEN), LLAMA, "main")
    sent = [c.request.headers.get("Authorization") for c in fake_hub.mock.calls]
    assert sent and all(h == f"Bearer {GRANTED_TOKEN}" for h in sent)


def test_unknown_model(fake_hub):
    with pytest.raises(errors.RepoNotFound, match=r"no-such-org/no-such-model was not found.*org/name.*HF_TOKEN"):
        hub.snapshot(client(), "no-such-org/no-such-model", "main")


def test_unknown_revision(fake_hub):
    with pytest.raises(errors.RevisionNotFound, match="modelRevision"):
        hub.snapshot(client(), QWEN, "v9-does-not-exist")


def test_gated_without_token_names_access_page_and_how_to_pass_token(fake_hub):
    with pytest.raises(errors.GatedRepo) as caught:
        hub.snapshot(client(), LLAMA, "main")
    message = str(caught.value)
    assert f"{HF_ENDPOINT}/{LLAMA}" in message and "no HuggingFace token" in message
    assert "export HF_TOKEN=" in message and "hfToken" in message


def test_gated_with_token_without_access(fake_hub):
    with pytest.raises(errors.GatedRepo, match="has not been granted access") as caught:
        hub.snapshot(client(FAKE_TOKEN), LLAMA, "main")
    assert FAKE_TOKEN not in str(caught.value)
    error = caught.value   # the recorded hub sends X-Request-Id on every answer, as the real one does
    assert error.status == 403 and error.url.startswith(f"{HF_ENDPOINT}/{LLAMA}/resolve/main/")
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", error.request_id) and error.request_id in fake_hub.request_ids
    assert str(error).endswith(f" (HTTP 403, request id {error.request_id})")


def test_gated_with_access(fake_hub):
    snap = hub.snapshot(client(GRANTED_TOKEN), LLAMA, "main")
    assert snap.sha == LLAMA_SHA and snap.info["gated"] == "manual"


def test_rejected_token(fake_hub):
    bad = "hf_ThisTokenIsNotValid000000000000000"
    with pytest.raises(errors.BadToken, match="rejected the token") as caught:
        hub.snapshot(client(bad), QWEN, "main")
    assert bad not in str(caught.value)


def _always(status, headers=None, body=b"{}"):
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add(responses.GET, f"{HF_ENDPOINT}/api/models/{QWEN}", status=status, headers=headers or {}, body=body)
    return mock


def test_rate_limit_honours_retry_after_then_succeeds(fake_hub, monkeypatch):
    real, limited = fake_hub.answer, []

    def answer(method, path, headers):
        if path.startswith("/api/models/") and not limited:
            limited.append(path)
            return 429, {"Retry-After": "7"}, b"{}"
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "answer", answer)
    sleeps = []
    snap = hub.snapshot(client(sleeps=sleeps), QWEN, "main")
    assert limited == [f"/api/models/{QWEN}"] and sleeps == [7.0] and snap.sha == QWEN_SHA


def test_rate_limit_is_bounded():
    sleeps = []
    with _always(429, {"Retry-After": "2"}) as mock:
        with pytest.raises(errors.RateLimited, match="Wait a few minutes"):
            client(sleeps=sleeps).model_info(QWEN, "main")
        assert len(mock.calls) == hub.MAX_RETRIES + 1
    assert sleeps == [2.0] * hub.MAX_RETRIES


def test_long_retry_after_is_reported_not_waited():
    sleeps = []
    with _always(429, {"Retry-After": "3600"}) as mock:
        with pytest.raises(errors.RateLimited, match="3600"):
            client(sleeps=sleeps).model_info(QWEN, "main")
        assert len(mock.calls) == 1
    assert sleeps == []


def test_hub_down_after_retries():
    sleeps = []
    with _always(503) as mock:
        with pytest.raises(errors.HubUnreachable, match="offline=true"):
            client(sleeps=sleeps).model_info(QWEN, "main")
        assert len(mock.calls) == hub.MAX_RETRIES + 1


def test_a_wave_retried_for_one_outage_says_so_once(fake_hub, monkeypatch, capsys):
    """A 503 on every call of the wave (info and three files, each retried three times) is one note,
    not twelve, and one plain error."""
    calls = []
    monkeypatch.setattr(fake_hub, "answer", lambda method, path, headers: calls.append(path) or (503, {}, b"{}"))
    sleeps = []
    with pytest.raises(errors.HubUnreachable, match="looks down"):
        hub.snapshot(client(sleeps=sleeps), QWEN, "main")
    assert len(calls) == 4 * (hub.MAX_RETRIES + 1)
    err = capsys.readouterr().err
    assert err.count("retrying") == 1, err


def test_a_failed_read_is_not_read_again_in_the_same_process(fake_hub, capsys):
    """Gated without a token, a bad token: the read is made and reported once; asking again (copier
    renders the answers more than once) raises the same error without another call or "Reading" line.
    Another token is another read."""
    with pytest.raises(errors.GatedRepo):
        load(LLAMA, "main")
    count = len(fake_hub.requests)
    with pytest.raises(errors.GatedRepo):
        load(LLAMA, "main")
    assert len(fake_hub.requests) == count
    assert capsys.readouterr().err.count("Reading ") == 1
    assert load(LLAMA, "main", token=GRANTED_TOKEN).sha == LLAMA_SHA
    assert len(fake_hub.requests) > count


def test_reachable_is_a_connection_not_a_request(fake_hub, monkeypatch):
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    assert hub.reachable() is True
    port = server.getsockname()[1]
    server.close()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert hub.reachable() is True            # asked once per process and endpoint
    hub_http._REACHABLE.clear()
    assert hub.reachable() is False
    assert fake_hub.requests == []


def test_timeout_is_five_seconds_and_typed(monkeypatch):
    seen = {}

    def fake_get(self, url, headers=None, timeout=None):
        seen["timeout"] = timeout
        raise requests.ReadTimeout("slow")

    monkeypatch.setattr(requests.Session, "get", fake_get)
    with pytest.raises(errors.HubTimeout, match="5 s"):
        client().model_info(QWEN, "main")
    assert seen["timeout"] == 5.0


def test_unreachable_hub():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{HF_ENDPOINT}/api/models/{QWEN}", body=requests.ConnectionError("refused"))
        with pytest.raises(errors.HubUnreachable, match="Cannot reach"):
            client().model_info(QWEN, "main")


@pytest.mark.parametrize("body", [b"<html>proxy login</html>", b"[]", json.dumps({"id": QWEN}).encode()])
def test_malformed_answer(body):
    with _always(200, body=body):
        with pytest.raises(errors.MalformedAnswer, match="HF_ENDPOINT"):
            client().model_info(QWEN, "main")


def test_messages_never_contain_the_token():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{HF_ENDPOINT}/api/models/{QWEN}", status=418,
                 headers={"X-Error-Message": f"echo {FAKE_TOKEN}"})
        with pytest.raises(errors.HubError) as caught:
            client(FAKE_TOKEN).model_info(QWEN, "main")
    assert FAKE_TOKEN not in str(caught.value)



# ------------------------------------------------------------------ errors: status, URL, request id
# Shapes of real hub answers: `x-request-id: Root=1-<8 hex>-<24 hex>` on every answer of the hub,
# `x-amz-cf-id` added by CloudFront in front of it (alone on CloudFront's own error pages).
RID = "Root=1-6a4598e7-35b8c27e0880eea165b56efd"
CF_ID = "TXoWbF0qo3d_AscNNdyO4lr-1T9AWMa4J-0vTRE688UEQ-tVNEiwCA=="
INFO_URL = f"{HF_ENDPOINT}/api/models/{QWEN}"
FILE_URL = f"{HF_ENDPOINT}/{QWEN}/resolve/main/config.json"


def _error_headers(code=None, message=None, **extra):
    headers = {"X-Request-Id": RID, **extra}
    if code:
        headers["X-Error-Code"] = code
    if message:
        headers["X-Error-Message"] = message
    return headers


MAPPING = [   # (token, url asked, status, headers) -> error class, words of its advice
    (None, INFO_URL, 401, _error_headers("RepoNotFound", "Repository not found"), errors.RepoNotFound, "Check modelName"),
    (FAKE_TOKEN, INFO_URL, 404, _error_headers("RepoNotFound", "Repository not found"), errors.RepoNotFound,
     "token used has no access"),
    (None, FILE_URL, 401, _error_headers("GatedRepo", "Access to model is restricted."), errors.GatedRepo,
     "Request access at"),
    (FAKE_TOKEN, FILE_URL, 403, _error_headers("GatedRepo", "you are not in the authorized list"), errors.GatedRepo,
     "has not been granted access"),
    ("hf_NotAValidToken00000000000000000", INFO_URL, 401,
     _error_headers(message="Invalid credentials in Authorization header"), errors.BadToken, "settings/tokens"),
    (FAKE_TOKEN, FILE_URL, 403, _error_headers(message="Forbidden"), errors.BadToken, "fine-grained token"),
    (None, INFO_URL, 404, _error_headers("RevisionNotFound", "Invalid rev id: v9"), errors.RevisionNotFound,
     "Check modelRevision"),
]


@pytest.mark.parametrize("token,url,status,headers,cls,advice", MAPPING,
                         ids=[f"{m[2]}-{m[4].__name__}-{'token' if m[0] else 'anonymous'}" for m in MAPPING])
def test_each_refusal_is_its_error_with_status_url_and_request_id(token, url, status, headers, cls, advice):
    """huggingface_hub's hf_raise_for_status order (X-Error-Code, then the status), our classes; each
    error carries what the hub answered, and its message names the request id for a report to the hub."""
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, status=status, headers=headers, body=b"{}")
        with pytest.raises(cls) as caught:
            if url == INFO_URL:
                client(token).model_info(QWEN, "main")
            else:
                client(token).fetch(QWEN, "main", "config.json")
    error = caught.value
    assert (error.status, error.url, error.request_id) == (status, url, RID)
    message = str(error)
    assert advice in message
    assert f"(HTTP {status}, request id {RID})" in message or f"HTTP {status}: " in message
    assert message.count(RID) == 1
    if token:
        assert token not in message and token not in repr(vars(error))


def test_a_message_that_names_the_status_gets_the_request_id_alone():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, FILE_URL, status=403, headers=_error_headers(message="Forbidden"), body=b"{}")
        with pytest.raises(errors.BadToken) as caught:
            client(FAKE_TOKEN).fetch(QWEN, "main", "config.json")
    assert "(HTTP 403: Forbidden)" in str(caught.value)
    assert str(caught.value).endswith(f" (request id {RID})")


@pytest.mark.parametrize("headers,expected", [
    ({"X-Request-Id": RID, "X-Amz-Cf-Id": CF_ID}, RID),            # the hub's own id first
    ({"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793"}, "Root=1-5759e988-bd862e3fe1be46a994272793"),
    ({"X-Amz-Cf-Id": CF_ID}, CF_ID),                               # CloudFront's error page: its id only
    ({}, None),
], ids=["x-request-id", "x-amzn-trace-id", "x-amz-cf-id", "none"])
def test_request_id_headers_in_huggingface_hubs_order(headers, expected):
    with _always(404, headers) as mock:
        with pytest.raises(errors.RepoNotFound) as caught:
            client(FAKE_TOKEN).model_info(QWEN, "main")
        assert len(mock.calls) == 1
    assert caught.value.request_id == expected and caught.value.status == 404
    if expected:
        assert str(caught.value).endswith(f" (HTTP 404, request id {expected})")
    else:
        assert "request id" not in str(caught.value)


def test_hub_down_names_the_last_answers_status_and_request_id():
    """CloudFront in front of a hub that does not answer: a 502 page with X-Amz-Cf-Id only."""
    sleeps = []
    with _always(502, {"X-Amz-Cf-Id": CF_ID, "Content-Type": "text/html"}, b"<html>502 ERROR</html>"):
        with pytest.raises(errors.HubUnreachable, match="HTTP 502.*looks down") as caught:
            client(sleeps=sleeps).model_info(QWEN, "main")
    error = caught.value
    assert (error.status, error.url, error.request_id) == (502, INFO_URL, CF_ID)
    assert str(error).endswith(f" (request id {CF_ID})")   # the message says HTTP 502 already
    assert sleeps == [1.0, 2.0, 4.0]


def test_rate_limit_error_carries_the_request_id():
    with _always(429, {"Retry-After": "3600", "X-Request-Id": RID}):
        with pytest.raises(errors.RateLimited) as caught:
            client().model_info(QWEN, "main")
    assert (caught.value.status, caught.value.request_id) == (429, RID)
    assert "(HTTP 429, retry after 3600 s)" in str(caught.value) and str(caught.value).endswith(f"(request id {RID})")


def test_no_answer_means_no_status_and_no_request_id(monkeypatch):
    def fake_get(self, url, headers=None, timeout=None):
        raise requests.ReadTimeout("slow")

    monkeypatch.setattr(requests.Session, "get", fake_get)
    with pytest.raises(errors.HubTimeout) as caught:
        client().model_info(QWEN, "main")
    assert (caught.value.status, caught.value.url, caught.value.request_id) == (None, INFO_URL, None)
    monkeypatch.undo()
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, INFO_URL, body=requests.ConnectionError("refused"))
        with pytest.raises(errors.HubUnreachable) as caught:
            client().model_info(QWEN, "main")
    assert (caught.value.status, caught.value.url, caught.value.request_id) == (None, INFO_URL, None)
    assert "request id" not in str(caught.value)


def test_a_token_echoed_in_a_header_is_redacted_in_the_error():
    with _always(418, {"X-Request-Id": f"id-{FAKE_TOKEN}", "X-Error-Message": f"echo {FAKE_TOKEN}"}):
        with pytest.raises(errors.MalformedAnswer) as caught:
            client(FAKE_TOKEN).model_info(QWEN, "main")
    assert caught.value.status == 418 and caught.value.request_id == "id-***"
    assert FAKE_TOKEN not in str(caught.value) and "(request id id-***)" in str(caught.value)


def test_a_malformed_answer_carries_its_status_and_request_id():
    with _always(200, {"X-Request-Id": RID}, b"<html>proxy login</html>"):
        with pytest.raises(errors.MalformedAnswer) as caught:
            client().model_info(QWEN, "main")
    assert (caught.value.status, caught.value.url, caught.value.request_id) == (200, INFO_URL, RID)


def test_errors_survive_pickling_with_their_fields():
    import pickle
    error = errors.GatedRepo("message", status=403, url=FILE_URL, request_id=RID)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is errors.GatedRepo and str(again) == "message"
    assert (again.status, again.url, again.request_id) == (403, FILE_URL, RID)
    assert errors.RepoNotFound("re-raised with another message").status is None


# ------------------------------------------------------------------ retries
def test_server_errors_back_off_then_succeed(fake_hub, monkeypatch):
    """Two 503s on the info, then the answer: waited 1 s, then 2 s (the injected sleep: no real wait)."""
    real, failed = fake_hub.answer, []

    def answer(method, path, headers):
        if path.startswith("/api/models/") and len(failed) < 2:
            failed.append(path)
            return 503, {"X-Request-Id": RID}, b"{}"
        return real(method, path, headers)

    monkeypatch.setattr(fake_hub, "answer", answer)
    sleeps = []
    snap = hub.snapshot(client(sleeps=sleeps), QWEN, "main")
    assert sleeps == [1.0, 2.0] and snap.sha == QWEN_SHA and len(failed) == 2


@pytest.mark.parametrize("headers,wait", [
    ({"RateLimit": '"api";r=0;t=4', "RateLimit-Policy": '"fixed window";"api";q=500;w=300', "Retry-After": "9"}, 5.0),
    ({"RateLimit": '"api";r=12;t=4', "Retry-After": "9"}, 9.0),      # requests left: the 429 is not the window's
    ({"Retry-After": "2.5"}, 2.5),
    ({}, 1.0),
], ids=["ratelimit-window", "ratelimit-not-exhausted", "retry-after", "nothing"])
def test_429_waits_what_the_hub_says(headers, wait):
    """huggingface_hub's order: the ratelimit header's reset (+1 s) when no request is left, else
    Retry-After, else a default."""
    sleeps = []
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, INFO_URL, status=429, headers=headers, body=b"{}")
        mock.add(responses.GET, INFO_URL, status=200, body=json.dumps(info(QWEN)).encode())
        assert client(sleeps=sleeps).model_info(QWEN, "main")["sha"] == QWEN_SHA
    assert sleeps == [wait]


def test_retry_after_as_an_http_date():
    import time
    from email.utils import formatdate
    sleeps = []
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, INFO_URL, status=429, body=b"{}",
                 headers={"Retry-After": formatdate(time.time() + 12, usegmt=True)})
        mock.add(responses.GET, INFO_URL, status=200, body=json.dumps(info(QWEN)).encode())
        client(sleeps=sleeps).model_info(QWEN, "main")
    assert len(sleeps) == 1 and 10 < sleeps[0] <= 12    # an HTTP date has whole seconds


# ------------------------------------------------------------------ load(): caches, offline
def test_disk_cache_means_no_second_fetch_of_model_facts(fake_hub, tmp_path):
    cache = DiskCache(tmp_path)
    first = load(QWEN, "main", cache=cache, client=client())
    assert first.calls == 4
    hub.clear_process_cache()
    fake_hub.requests.clear()
    again = load(QWEN, "main", cache=cache, client=client())      # branch: only the sha is resolved
    assert fake_hub.requests == [f"/api/models/{QWEN}"] and again.config == first.config
    hub.clear_process_cache()
    fake_hub.requests.clear()
    pinned = load(QWEN, "main", pinned_sha=QWEN_SHA, cache=cache, client=client())   # update / replay
    assert fake_hub.requests == [] and pinned.source == "cache" and pinned.sha == QWEN_SHA


def test_branch_moved_to_an_uncached_commit_reads_its_files_at_the_sha(fake_hub, tmp_path):
    cache = DiskCache(tmp_path)
    cache.put(hub.Snapshot(QWEN, "main", "2" * 40, {"sha": "2" * 40}, {}, {}))   # main was at 222... before
    snap = load(QWEN, "main", cache=cache, client=client())
    assert snap.sha == QWEN_SHA and snap.config["architectures"] == ["Qwen2ForCausalLM"]
    assert sorted(fake_hub.requests) == sorted([f"/api/models/{QWEN}",
                                                *at(QWEN_SHA, "config.json", "tokenizer_config.json")])
    assert cache.ref(QWEN, "main") == QWEN_SHA


def test_process_cache_serves_repeated_calls(fake_hub, tmp_path):
    cache = DiskCache(tmp_path)
    load(QWEN, "main", cache=cache, client=client())
    count = len(fake_hub.requests)
    load(QWEN, "main", cache=cache, client=client())
    assert len(fake_hub.requests) == count


def test_offline_uses_cache_then_shipped_then_nothing(fake_hub, tmp_path):
    cache = DiskCache(tmp_path)
    shipped = load(QWEN, "main", offline=True, cache=cache)
    assert shipped.source == "shipped" and shipped.sha == QWEN_SHA
    assert load("openai-community/gpt2", "main", offline=True, cache=cache) is None
    load("openai-community/gpt2", "main", cache=cache, client=client())
    hub.clear_process_cache()
    cached = load("openai-community/gpt2", "main", offline=True, cache=cache)
    assert cached.source == "cache"
    assert fake_hub.requests and all("gpt2" in r for r in fake_hub.requests)  # no hub call while offline


def test_offline_from_environment():
    assert hub.offline_from_env({"HF_HUB_OFFLINE": "1"}) is True
    assert hub.offline_from_env({"HF_HUB_OFFLINE": "0"}) is False


def test_pinned_fetch_does_not_move_the_branch_ref(fake_hub, tmp_path):
    cache = DiskCache(tmp_path)
    cache.put(hub.Snapshot(QWEN, "main", "2" * 40, {"sha": "2" * 40}, None, None))
    load(QWEN, "main", pinned_sha=QWEN_SHA, cache=cache, client=client())
    assert cache.ref(QWEN, "main") == "2" * 40
    assert cache.get(QWEN, "main", QWEN_SHA).sha == QWEN_SHA


@pytest.mark.parametrize("body", [b"[]", b'"text"'])
def test_error_body_that_is_not_an_object(body):
    with _always(418, body=body):
        with pytest.raises(errors.MalformedAnswer, match="HTTP 418"):
            client().model_info(QWEN, "main")


def test_a_run_served_from_the_cache_never_imports_requests(tmp_path):
    """`import requests` costs about 0.09 s: pinned updates and replays from the cache skip it."""
    import subprocess
    import sys

    from testkit import ROOT
    DiskCache(tmp_path).put(hub.Snapshot(QWEN, "main", QWEN_SHA, {"sha": QWEN_SHA}, {}, {}))
    code = ("import sys; from pathlib import Path; from generator import hub; "
            f"snap = hub.load({QWEN!r}, 'main', pinned_sha={QWEN_SHA!r}, cache=hub.DiskCache(Path({str(tmp_path)!r}))); "
            "print(snap.source, 'requests' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["cache", "False"]


# ------------------------------------------------------------------------------ background read
def test_prefetch_returns_at_once_and_the_next_load_takes_its_answer(fake_hub):
    """`copier --defaults` starts the read at the first question and goes on: a slow hub's round
    trip overlaps the other questions. The load that needs the model waits for that read; nothing
    is asked twice."""
    import time
    fake_hub.latency_s = 0.3
    start = time.perf_counter()
    hub.prefetch(QWEN, "main")
    assert time.perf_counter() - start < 0.25          # did not wait for the hub
    assert hub.reading()
    snap = load(QWEN, "main")
    assert time.perf_counter() - start >= 0.3
    assert not hub.reading()
    assert snap.sha == QWEN_SHA and snap.config["architectures"] == ["Qwen2ForCausalLM"]
    assert sorted(fake_hub.requests) == sorted([f"/api/models/{QWEN}", *at("main", *FILES)])
    assert fake_hub.waves() == 1
    hub.prefetch(QWEN, "main")                          # known now: no second read
    assert load(QWEN, "main") is snap and len(fake_hub.requests) == 4


def test_prefetch_error_is_raised_by_the_load_that_waits(fake_hub):
    hub.prefetch("some-org/unknown-model", "main")
    with pytest.raises(errors.RepoNotFound, match="some-org/unknown-model was not found"):
        load("some-org/unknown-model", "main")
    assert not hub.reading()
    with pytest.raises(errors.RepoNotFound):            # the failure is kept: raised again, not read again
        load("some-org/unknown-model", "main")
    assert fake_hub.requests.count("/api/models/some-org/unknown-model") == 1


def test_prefetch_of_a_cached_pinned_model_never_imports_requests(tmp_path):
    import subprocess
    import sys

    from testkit import ROOT
    cache_dir = tmp_path / "xdg"
    DiskCache(cache_dir / "sagemaker-llm-template" / "hub").put(
        hub.Snapshot(QWEN, "main", QWEN_SHA, {"sha": QWEN_SHA}, {}, {}))
    code = ("import sys, threading; from generator import hub; "
            "reads = []; get = hub.DiskCache.get; "
            "hub.DiskCache.get = lambda self, *a: reads.append(a) or get(self, *a); "
            f"hub.prefetch({QWEN!r}, 'main', pinned_sha={QWEN_SHA!r}); "
            f"snap = hub.load({QWEN!r}, 'main', pinned_sha={QWEN_SHA!r}); "
            "print(snap.source, 'requests' in sys.modules, len(reads), threading.active_count())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(cache_dir), "HOME": str(tmp_path)})
    assert out.stdout.split() == ["cache", "False", "1", "1"]   # the cache read once, no thread started


def test_a_reworded_hub_error_keeps_status_url_and_request_id(fake_hub):
    """project.call_redacting_token re-says every generator error without the token; a hub error
    keeps what the hub answered."""
    from generator import project

    with pytest.raises(errors.GatedRepo) as caught:
        hub.snapshot(client(FAKE_TOKEN), LLAMA, "main")
    first = caught.value

    def fail(_answers):
        raise first

    with pytest.raises(errors.GatedRepo) as again:
        project.call_redacting_token(fail, {"hfToken": FAKE_TOKEN})
    said = again.value
    assert (said.status, said.url, said.request_id) == (first.status, first.url, first.request_id)
    assert said.status == 403 and said.request_id and str(said) == str(first) and FAKE_TOKEN not in str(said)
    assert type(errors.reworded(errors.InvalidAnswer("x"), "y")) is errors.InvalidAnswer


def test_an_adapter_not_found_names_the_hubs_request_id(fake_hub):
    from generator import lora

    with pytest.raises(errors.RepoNotFound) as caught:
        lora._fetch("template-tests/no-such-adapter", "main", None)
    error = caught.value
    # the hub answers 401 (X-Error-Code: RepoNotFound) for a repository it does not show without a token
    assert error.status == 401 and error.request_id in fake_hub.request_ids
    assert str(error).startswith("LoRA adapter template-tests/no-such-adapter was not found")
    assert str(error).endswith(f" (request id {error.request_id})")
