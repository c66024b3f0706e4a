"""`python -m deploy test`, `stream` and `async`, in-process.

moto (mock_aws) holds plain and asynchronous endpoints, S3 and InvokeEndpoint's canned answers;
a botocore Stubber answers what moto lacks (inference components, InvokeEndpointAsync's
locations); the streaming API goes to tests/aws/eventstream_server.py, a local HTTP stand-in
that writes AWS event-stream frames, through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, so botocore's
own parser reads them. Every request is checked against botocore's service model.
Ported from the removed bash-script tests tests/test_deploy_stream.py, test_deploy_lifecycle.py (test.sh) and
test_deploy_hosting.py (components, DJL, no chat template, asynchronous).
"""
from __future__ import annotations

import io
import json
import os
import sys
import threading
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdkit  # noqa: E402
from cmdkit import session_on_moto  # noqa: F401  (the aws fixture)
from aws.eventstream_server import Server, model_stream_error, payload_part  # noqa: E402
from cmdkit import run  # noqa: E402

CHAT = {"id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the endpoint"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 4}}


@pytest.fixture
def proj(tmp_path, monkeypatch):
    return cmdkit.project(tmp_path, monkeypatch)


@pytest.fixture
def standin(monkeypatch):
    with Server() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
        yield server


def sse(*texts: str, done: bool = True) -> bytes:
    out = "".join(f'data: {json.dumps({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]})}\n\n'
                  for t in texts)
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


# stream ---------------------------------------------------------------------------------------

def test_sse_parts_that_split_lines(aws, standin):
    # 7-byte parts: no part boundary lines up with a line.
    standin.script.items = [payload_part(p) for p in split(sse("Hel", "lo, ", "wörld"), 7)]
    result = run(aws, "stream", "--endpoint-name", "ep", "--prompt", "hi", "--model", "m")
    assert result.code == 0, result.err
    assert result.out == "Hello, wörld\n"
    (request,) = standin.script.requests
    assert request["path"] == "/endpoints/ep/invocations-response-stream"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 128,
                                           "stream": True, "model": "m"}
    (params,) = aws.requests("InvokeEndpointWithResponseStream")
    assert "InferenceComponentName" not in params


def test_stream_defaults_to_the_served_model_and_a_body_file(aws, standin, proj, tmp_path):
    standin.script.items = [payload_part(sse("ok"))]
    result = run(aws, "stream")
    assert result.code == 0, result.err
    body = json.loads(standin.script.requests[0]["body"])
    assert body["model"] == proj[1]["model"]["id"]
    assert standin.script.requests[0]["path"] == f"/endpoints/{proj[1]['project']['name']}/invocations-response-stream"
    (tmp_path / "body.json").write_text('{"messages": [], "stream": true, "x": 1}')
    standin.script.items = [payload_part(sse("ok"))]
    result = run(aws, "stream", "--body-file", str(tmp_path / "body.json"))
    assert result.code == 0, result.err
    assert json.loads(standin.script.requests[1]["body"]) == {"messages": [], "stream": True, "x": 1}


def test_json_lines_like_lmi(aws, standin):
    lines = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
             {"choices": [{"index": 0, "delta": {"content": "JSON "}}]},
             {"choices": [{"index": 0, "delta": {"content": "lines"}, "finish_reason": "stop"}]}]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    standin.script.content_type = "application/jsonlines"
    standin.script.items = [payload_part(p) for p in split(data, 11)]
    result = run(aws, "stream", "--endpoint-name", "ep")
    assert result.code == 0, result.err
    assert result.out == "JSON lines\n"


def test_tgi_style_tokens_and_last_line_without_newline(aws, standin):
    data = (b'data:{"token":{"text":"a","special":false}}\n\n'
            b'data:{"token":{"text":"</s>","special":true},"generated_text":"ab"}\n\n'
            b'{"token": {"text": "b", "special": false}}')
    standin.script.items = [payload_part(data)]
    result = run(aws, "stream", "--endpoint-name", "ep")
    assert result.code == 0, result.err
    assert result.out == "ab\n"


class Tee:
    """A stdout that signals when it has received `wanted`."""

    def __init__(self, wanted: str) -> None:
        self.text = ""
        self.wanted = wanted
        self.seen = threading.Event()

    def write(self, text: str) -> None:
        self.text += text
        if self.wanted in self.text:
            self.seen.set()

    def flush(self) -> None:
        pass


def test_prints_text_as_it_arrives(proj, standin):
    from deploy import invoke_cmd

    gate = threading.Event()
    standin.script.items = [payload_part(sse("first ", done=False)), gate, payload_part(sse("second"))]
    out = Tee("first ")
    session = cmdkit.Session()
    runtime = session.client("sagemaker-runtime")
    worker = threading.Thread(target=invoke_cmd.stream_request, args=(runtime, "ep", b"{}", None, out))
    worker.start()
    try:
        # The first piece is written while the server still holds the rest back.
        assert out.seen.wait(20)
        assert out.text == "first "
        assert worker.is_alive()
    finally:
        gate.set()
        worker.join(30)
    assert out.text == "first second\n"
    session.check()


def test_stream_error_event(aws, standin):
    standin.script.items = [payload_part(sse("partial ", done=False)), model_stream_error("model took too long")]
    result = run(aws, "stream", "--endpoint-name", "ep")
    assert result.code == 1
    assert result.out.startswith("partial ")
    assert "model took too long" in result.one_error()
    assert "Traceback" not in result.err


def test_server_error_line(aws, standin):
    data = b'data: {"object": "error", "message": "This model\'s maximum context length is 32768 tokens", "code": 400}\n\n'
    standin.script.items = [payload_part(data)]
    result = run(aws, "stream", "--endpoint-name", "ep")
    assert result.code == 1
    assert "maximum context length" in result.one_error()


def test_empty_stream_is_an_error(aws, standin):
    standin.script.items = [payload_part(b"data: [DONE]\n\n")]
    result = run(aws, "stream", "--endpoint-name", "ep")
    assert result.code == 1
    assert "without any text" in result.one_error()


# test: real-time endpoints ---------------------------------------------------------------------

def test_plain_request_then_streaming(aws, proj, standin, monkeypatch):
    project, lock = proj
    name = lock["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    # The plain request through moto's canned answers (the stand-in serves only the stream).
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME")
    cmdkit.moto_endpoint_results([{"Body": json.dumps(CHAT), "ContentType": "application/json"}])
    result = run(aws, "test", "--no-stream")
    assert result.code == 0, result.err
    assert result.out.strip() == "Hello from the endpoint"
    assert 'usage: {"prompt_tokens": 5, "completion_tokens": 4}' in result.err
    (invoke,) = aws.requests("InvokeEndpoint")
    assert invoke["EndpointName"] == name and invoke["ContentType"] == "application/json"
    assert json.loads(invoke["Body"]) == {"model": lock["model"]["id"], "messages": [
        {"role": "user", "content": "In one sentence, what is Amazon SageMaker?"}], "max_tokens": 64, "stream": False}
    assert "InferenceComponentName" not in invoke

    # Streaming: SageMaker Runtime goes to the event-stream stand-in.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", standin.url)
    standin.script.items = [payload_part(c.encode()) for c in [
        'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n',
        'data: {"choices":[{"delta":{"content":"Streamed "}}]}\n\n',
        'data: {"choices":[{"delta":{"content":"hello"}}]}\n\ndata: [DONE]\n\n']]
    result = run(aws, "test", "--stream-only", "--prompt", "hi")
    assert result.code == 0, result.err
    assert result.out.strip() == "Streamed hello"
    (request,) = standin.script.requests
    assert request["path"] == f"/endpoints/{name}/invocations-response-stream"
    body = json.loads(request["body"])
    assert body["stream"] is True and body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["model"] == lock["model"]["id"]
    assert len(aws.requests("InvokeEndpoint")) == 1  # --stream-only sent no plain request


def test_both_requests_by_default(aws, proj, standin):
    name = proj[1]["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    standin.script.items = [payload_part(sse("streamed"))]
    result = run(aws, "test", "--max-tokens", "7")
    assert result.code == 0, result.err
    assert result.out.splitlines() == ["plain answer", "streamed"]
    plain, streamed = standin.script.requests
    assert plain["path"].endswith("/invocations") and json.loads(plain["body"])["max_tokens"] == 7
    assert streamed["path"].endswith("/invocations-response-stream")


def test_endpoint_missing_or_not_in_service(aws, proj):
    result = run(aws, "test")
    assert result.code == 1
    assert result.one_error() == (f"error: endpoint '{proj[1]['project']['name']}' does not exist; deploy it with "
                                  "python -m deploy deploy")
    result = run(aws, "test", "--inference-component-name", "x", "--endpoint-name", "other")
    assert result.code == 1 and "does not exist" in result.one_error()


def test_a_named_component_on_a_plain_endpoint_is_refused(aws, proj):
    name = proj[1]["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    result = run(aws, "test", "--inference-component-name", "x")
    assert result.code == 1
    assert "hosts no inference components (deployed without --inference-component)" in result.one_error()


def test_failed_invoke_prints_logs_and_one_error(aws, proj):
    """An endpoint that refuses the request: the log tail, then one error (by code)."""
    name = proj[1]["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    runtime = aws.stub("sagemaker-runtime")
    runtime.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424,
                             service_message="Received server error (500) from primary")
    result = run(aws, "test", "--no-stream")
    assert result.code == 1
    assert f"(no CloudWatch logs in /aws/sagemaker/Endpoints/{name}" in result.err
    assert "ModelError" in result.one_error() and "Received server error (500)" in result.one_error()
    assert "Traceback" not in result.err


# test: inference components --------------------------------------------------------------------

def test_inference_component_requests_are_addressed_to_it(aws, proj, standin, monkeypatch):
    project, lock = proj
    name = lock["project"]["name"]
    sm = aws.stub("sagemaker")
    cmdkit.ic_endpoint_answers(sm, name, lock["deployment"]["instance_type"])
    cmdkit.list_components_answer(sm, name, [name])
    standin.script.invoke_answer = {"choices": [{"message": {"content": "Hello from the component"}}]}
    result = run(aws, "test", "--no-stream")
    assert result.code == 0, result.err
    assert result.out.strip() == "Hello from the component"
    (invoke,) = aws.requests("InvokeEndpoint")
    assert invoke["InferenceComponentName"] == name
    assert standin.script.requests[0]["headers"]["X-Amzn-SageMaker-Inference-Component"] == name

    cmdkit.ic_endpoint_answers(sm, name, lock["deployment"]["instance_type"])
    cmdkit.list_components_answer(sm, name, [name])
    standin.script.items = [payload_part(b'data: {"choices":[{"delta":{"content":"streamed"}}]}\n\ndata: [DONE]\n\n')]
    result = run(aws, "test", "--stream-only")
    assert result.code == 0, result.err
    assert result.out.strip() == "streamed"
    assert standin.script.requests[-1]["headers"]["X-Amzn-SageMaker-Inference-Component"] == name
    (stream,) = aws.requests("InvokeEndpointWithResponseStream")
    assert stream["InferenceComponentName"] == name
    sm.assert_no_pending_responses()


def test_inference_component_flag_without_a_name(aws, proj, standin):
    """--inference-component (deploy's spelling of the mode) without a name: the only component;
    on an endpoint without components, an error rather than a plain request."""
    name = proj[1]["project"]["name"]
    sm = aws.stub("sagemaker")
    cmdkit.ic_endpoint_answers(sm, name, "ml.g5.xlarge")
    cmdkit.list_components_answer(sm, name, ["only-one"])
    result = run(aws, "test", "--no-stream", "--inference-component")
    assert result.code == 0, result.err
    assert aws.requests("InvokeEndpoint")[0]["InferenceComponentName"] == "only-one"
    sm.assert_no_pending_responses()


def test_inference_component_flag_on_a_plain_endpoint(aws, proj, standin):
    cmdkit.plain_endpoint(aws, proj[1]["project"]["name"])
    for command in ("test", "stream"):
        result = run(aws, command, "--inference-component")
        assert result.code == 1 and "hosts no inference components" in result.one_error(), command
    assert standin.script.requests == []


def test_several_components_need_a_name(aws, proj):
    name = proj[1]["project"]["name"]
    sm = aws.stub("sagemaker")
    cmdkit.ic_endpoint_answers(sm, name, "ml.g5.xlarge")
    cmdkit.list_components_answer(sm, name, ["a", "b"])
    result = run(aws, "test")
    assert result.code == 1
    assert result.one_error() == (f"error: endpoint '{name}' hosts several inference components (a b); choose one "
                                  "with --inference-component-name")
    cmdkit.ic_endpoint_answers(sm, name, "ml.g5.xlarge")
    cmdkit.list_components_answer(sm, name, ["a", "b"])
    result = run(aws, "test", "--inference-component-name", "c")
    assert result.code == 1 and "hosts no inference component 'c' (it hosts: a b)" in result.one_error()


def test_component_at_zero_copies(aws, proj):
    """At zero copies the request fails (ValidationError) and wakes a copy: say what happens and
    what to do; --wait-for-capacity keeps asking."""
    project, lock = proj
    name = lock["project"]["name"]
    startup = lock["deployment"]["container_startup_health_check_timeout_s"]
    sm, runtime = aws.stub("sagemaker"), aws.stub("sagemaker-runtime")
    cmdkit.ic_endpoint_answers(sm, name, "ml.g5.xlarge")
    cmdkit.list_components_answer(sm, name, [name])
    runtime.add_client_error("invoke_endpoint", service_error_code="ValidationError", http_status_code=400,
                             service_message=f"Inference Component {name} has no capacity to process this request.")
    cmdkit.describe_component_answer(sm, name, name, copies=0)
    result = run(aws, "test", "--no-stream")
    assert result.code == 1
    error = result.one_error()
    assert "has no copy running (scaled to zero" in error and f"up to {startup}s" in error
    assert "--wait-for-capacity" in error

    cmdkit.ic_endpoint_answers(sm, name, "ml.g5.xlarge")
    cmdkit.list_components_answer(sm, name, [name])
    runtime.add_client_error("invoke_endpoint", service_error_code="ValidationError", http_status_code=400,
                             service_message="no capacity")
    cmdkit.describe_component_answer(sm, name, name, copies=0)
    data = json.dumps(CHAT).encode()
    runtime.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(data), len(data)),
                                             "ContentType": "application/json"},
                         {"EndpointName": name, "InferenceComponentName": name, "Body": ANY,
                          "ContentType": "application/json", "Accept": "application/json"})
    result = run(aws, "test", "--no-stream", "--wait-for-capacity", "900")
    assert result.code == 0, result.err
    assert result.out.strip() == "Hello from the endpoint"
    assert f"no copy of {name} yet" in result.err
    runtime.assert_no_pending_responses()


# test: what each server answers ----------------------------------------------------------------

def test_djl_gets_a_text_generation_request(aws, proj, standin):
    """DJL's HF Accelerate handler serves {"inputs", "parameters"}, not chat, and does not stream."""
    project, lock = proj
    cmdkit.set_lock(project, lambda lk: lk["server"].update(name="djl"))
    name = lock["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    standin.script.invoke_answer = [{"generated_text": "hi there, sea"}]
    result = run(aws, "test", "--prompt", "hi there", "--max-tokens", "5")
    assert result.code == 0, result.err
    assert result.out.strip() == "hi there, sea"
    assert "does not stream: one text-generation request" in result.err
    (request,) = standin.script.requests
    assert request["path"] == f"/endpoints/{name}/invocations"
    assert json.loads(request["body"]) == {"inputs": "hi there", "parameters": {"max_new_tokens": 5}}
    result = run(aws, "test", "--stream-only")
    assert result.code == 1 and "does not stream" in result.one_error()


@pytest.mark.parametrize("server,body", [
    ("vllm", {"model": "MODEL", "prompt": "hi there", "max_tokens": 5, "stream": False}),
    ("lmi", {"inputs": "hi there", "parameters": {"max_new_tokens": 5}}),
    ("sglang", None),
])
def test_a_model_without_chat_template_gets_a_completion_not_chat(aws, proj, standin, server, body):
    """gpt2-like models: chat messages would fail (HTTP 400), so test sends what the server can
    answer, and says so; SGLang's /invocations takes chat only, so it says how to add a template."""
    project, lock = proj
    cmdkit.set_lock(project, lambda lk: (lk["server"].update(name=server),
                                         lk["model"].update(has_chat_template=False)))
    name = lock["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    standin.script.invoke_answer = {"choices": [{"text": " sea"}]}
    result = run(aws, "test", "--prompt", "hi there", "--max-tokens", "5")
    if body is None:
        assert result.code == 1 and "chatTemplateFile" in result.one_error()
        assert standin.script.requests == [] and aws.calls == []
        return
    assert result.code == 0, result.err
    assert "no chat template: one completion request" in result.err
    assert result.out.strip() == "sea"
    (request,) = standin.script.requests
    sent = json.loads(request["body"])
    assert sent == {k: (lock["model"]["id"] if v == "MODEL" else v) for k, v in body.items()}
    assert "messages" not in sent
    result = run(aws, "test", "--stream-only")
    assert result.code == 1 and "no chat template" in result.one_error()


def test_lmi_is_asked_for_the_model_id(aws, proj, standin):
    """LMI serves the model under its id (the serve script sets option.served_model_name to it)."""
    project, lock = proj
    cmdkit.set_lock(project, lambda lk: lk["server"].update(name="lmi"))
    cmdkit.plain_endpoint(aws, lock["project"]["name"])
    standin.script.items = [payload_part(sse("ok"))]
    result = run(aws, "test")
    assert result.code == 0, result.err
    assert [json.loads(r["body"])["model"] for r in standin.script.requests] == [lock["model"]["id"]] * 2


def test_an_answer_of_another_shape_is_one_error(aws, proj, standin):
    cmdkit.plain_endpoint(aws, proj[1]["project"]["name"])
    standin.script.invoke_answer = {"unexpected": True}
    result = run(aws, "test", "--no-stream")
    assert result.code == 1
    assert "not a chat completion or a generation" in result.one_error()


# asynchronous ------------------------------------------------------------------------------------

def async_stub(aws, out_uri: str, fail_uri: str):
    runtime = aws.stub("sagemaker-runtime")
    runtime.add_response("invoke_endpoint_async",
                         {"InferenceId": "x", "OutputLocation": out_uri, "FailureLocation": fail_uri})
    return runtime


def test_async_endpoint_through_s3(aws, proj, tmp_path):
    project, lock = proj
    name = lock["project"]["name"]
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="async-jobs")
    cmdkit.plain_endpoint(aws, name, async_output="s3://async-jobs/llm")
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "async answer"}}]}
    s3.put_object(Bucket="async-jobs", Key="llm/output/one.out", Body=json.dumps(answer).encode())
    async_stub(aws, "s3://async-jobs/llm/output/one.out", "s3://async-jobs/llm/failure/one-error.out")

    # test goes through S3: the request lands under input/, the answer is read from output/.
    result = run(aws, "test", "--prompt", "hi")
    assert result.code == 0, result.err
    assert result.out.strip() == "async answer"
    (invoke,) = aws.requests("InvokeEndpointAsync")
    assert invoke["InputLocation"].startswith("s3://async-jobs/llm/input/") and invoke["EndpointName"] == name
    put = [p for p in aws.requests("PutObject") if p["Key"].startswith("llm/input/")]
    (put,) = put
    assert invoke["InputLocation"] == f"s3://async-jobs/{put['Key']}"
    body = json.loads(s3.get_object(Bucket="async-jobs", Key=put["Key"])["Body"].read())
    assert body["messages"] == [{"role": "user", "content": "hi"}] and body["model"] == lock["model"]["id"]
    assert not aws.requests("InvokeEndpointWithResponseStream")

    # The async command with a request file, --raw.
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"messages": [{"role": "user", "content": "long story"}], "max_tokens": 4000}))
    async_stub(aws, "s3://async-jobs/llm/output/one.out", "s3://async-jobs/llm/failure/one-error.out")
    result = run(aws, "async", "--request-file", str(request), "--raw", "--poll", "0", "--timeout", "30",
                 "--invocation-timeout", "1800")
    assert result.code == 0, result.err
    assert json.loads(result.out)["choices"][0]["message"]["content"] == "async answer"
    last = aws.requests("InvokeEndpointAsync")[-1]
    assert last["InvocationTimeoutSeconds"] == 1800
    key = last["InputLocation"].split("/", 3)[3]
    assert json.loads(s3.get_object(Bucket="async-jobs", Key=key)["Body"].read())["max_tokens"] == 4000

    # A failed request: the failure object's text ends the wait.
    s3.put_object(Bucket="async-jobs", Key="llm/failure/two-error.out", Body=b"CUDA out of memory")
    async_stub(aws, "s3://async-jobs/llm/output/two.out", "s3://async-jobs/llm/failure/two-error.out")
    result = run(aws, "async", "--request-file", str(request), "--poll", "0")
    assert result.code == 1
    assert result.one_error() == "error: the endpoint failed the request: CUDA out of memory"

    # No answer in time.
    async_stub(aws, "s3://async-jobs/llm/output/three.out", "s3://async-jobs/llm/failure/three-error.out")
    result = run(aws, "async", "--poll", "0", "--timeout", "0")
    assert result.code == 1 and "no answer at s3://async-jobs/llm/output/three.out after 0s" in result.one_error()


def test_async_command_on_a_real_time_endpoint(aws, proj, tmp_path):
    name = proj[1]["project"]["name"]
    cmdkit.plain_endpoint(aws, name)
    result = run(aws, "async")
    assert result.code == 1 and f"endpoint {name} is not asynchronous" in result.one_error()
    (tmp_path / "bad.json").write_text("not json")
    result = run(aws, "async", "--request-file", str(tmp_path / "bad.json"))
    assert result.code == 1 and result.one_error() == f"error: {tmp_path / 'bad.json'} is not JSON"


# the CLI -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["test", "stream", "async"])
def test_help_needs_no_aws(proj, command):
    session = cmdkit.Session(credentials=False)
    result = run(session, command, "--help")
    assert result.code == 0 and "--endpoint-name" in result.out
    assert session.calls == []


def test_no_credentials_is_one_clear_error(proj):
    for argv in (["test"], ["test", "--no-stream"]):
        result = run(cmdkit.Session(credentials=False), *argv)
        assert result.code == 1
        assert result.one_error().startswith("error: no usable AWS credentials"), result.err
        assert "Traceback" not in result.err


@pytest.mark.parametrize("args, message", [
    (["--max-tokens", "many"], "--max-tokens: wants a whole number, got 'many'"),
    (["--wait-for-capacity", "soon"], "--wait-for-capacity: wants a whole number, got 'soon'"),
    (["--no-stream", "--stream-only"], "not allowed with argument"),
])
def test_option_mistakes_before_aws(proj, args, message):
    session = cmdkit.Session(credentials=False)
    result = run(session, "test", *args)
    assert result.code != 0 and message in result.err
    assert session.calls == []


# end to end: the CLI as a user runs it, against moto_server ---------------------------------------

@pytest.mark.cli
def test_cli_end_to_end_against_moto_server(tmp_path):
    """python -m deploy secret/test/stream/async/logs/autoscale in subprocesses, against
    moto_server started by tests/aws/moto_launcher.py (which adds inference components), every
    request recorded (tests/aws/recorder) and checked against botocore's model."""
    import subprocess
    import time as _time

    pytest.importorskip("flask", reason="moto_server needs moto[server]")
    from aws import helpers

    proj = helpers.hand_made(tmp_path / "proj")
    import shutil

    shutil.copy(cmdkit.ROOT / "template" / "model.lock.schema.json", proj / "model.lock.schema.json")
    lock = helpers.make_gated(proj)
    name = lock["project"]["name"]
    moto = helpers.Moto(tmp_path)
    env = moto.env()

    def cli(*args, stdin="", extra=None):
        python = os.environ.get("DEPLOY_TEST_PYTHON") or sys.executable  # e.g. a 3.10 with boto3
        return subprocess.run([python, "-m", "deploy", *args], cwd=proj, env={**env, **(extra or {})},
                              input=stdin, capture_output=True, text=True, timeout=120)

    try:
        result = cli("secret", stdin=cmdkit.FAKE_TOKEN + "\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"arn:aws:secretsmanager:us-east-1:{cmdkit.ACCOUNT}:secret:{name}/hf-token")
        assert cmdkit.FAKE_TOKEN not in result.stdout + result.stderr

        sm = moto.client("sagemaker")
        role = f"arn:aws:iam::{cmdkit.ACCOUNT}:role/x"
        sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": "x"})
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.g5.xlarge",
            "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
        moto.set_endpoint_results([{"Body": json.dumps(CHAT), "ContentType": "application/json"}])
        result = cli("test", "--no-stream")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Hello from the endpoint"
        with Server() as standin:
            standin.script.items = [payload_part(sse("streamed"))]
            result = cli("stream", extra={"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": standin.url})
            assert result.returncode == 0, result.stderr
            assert result.stdout == "streamed\n"

        logs = moto.client("logs")
        logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{name}")
        logs.create_log_stream(logGroupName=f"/aws/sagemaker/Endpoints/{name}", logStreamName="AllTraffic/i-0")
        logs.put_log_events(logGroupName=f"/aws/sagemaker/Endpoints/{name}", logStreamName="AllTraffic/i-0",
                            logEvents=[{"timestamp": int(_time.time() * 1000), "message": "INFO: model loaded"}])
        result = cli("logs", "--since", "5")
        assert result.returncode == 0 and result.stdout.strip().endswith("INFO: model loaded"), result.stderr

        result = cli("autoscale", "--max", "2")
        assert result.returncode == 0, result.stderr
        result = cli("autoscale", "--off")
        assert result.returncode == 0, result.stderr
        assert moto.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker")["ScalableTargets"] == []

        # Inference components (the launcher's): scale to zero, then a request at zero copies.
        ic = "ic-endpoint"
        sm.create_endpoint_config(EndpointConfigName=ic, ExecutionRoleArn=role, ProductionVariants=[{
            "VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1,
            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 1},
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}])
        sm.create_endpoint(EndpointName=ic, EndpointConfigName=ic)
        sm.create_inference_component(
            InferenceComponentName=ic, EndpointName=ic, VariantName="AllTraffic", RuntimeConfig={"CopyCount": 1},
            Specification={"ModelName": name, "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024}})
        result = cli("autoscale", "--endpoint-name", ic, "--min", "0", "--max", "1")
        assert result.returncode == 0, result.stderr
        assert moto.client("cloudwatch").describe_alarms()["MetricAlarms"][0]["MetricName"] == \
            "NoCapacityInvocationFailures"
        sm.update_inference_component_runtime_config(InferenceComponentName=ic, DesiredRuntimeConfig={"CopyCount": 0})
        result = cli("test", "--endpoint-name", ic, "--no-stream")
        assert result.returncode == 1
        assert "has no copy running (scaled to zero" in result.stderr

        # Asynchronous: the launcher writes the answer where SageMaker would.
        moto.client("s3").create_bucket(Bucket="async-jobs")
        sm.create_endpoint_config(EndpointConfigName="async-ep", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.g5.xlarge",
            "InitialInstanceCount": 1}], AsyncInferenceConfig={"OutputConfig": {
                "S3OutputPath": "s3://async-jobs/llm/output/", "S3FailurePath": "s3://async-jobs/llm/failure/"}})
        sm.create_endpoint(EndpointName="async-ep", EndpointConfigName="async-ep")
        result = cli("async", "--endpoint-name", "async-ep", "--poll", "0.2", "--timeout", "30")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "async answer"
        ops = {c["operation"] for c in moto.check_requests()}
        assert {"CreateSecret", "InvokeEndpoint", "InvokeEndpointWithResponseStream", "FilterLogEvents",
                "RegisterScalableTarget", "PutMetricAlarm", "InvokeEndpointAsync"} <= ops
    finally:
        moto.stop()
