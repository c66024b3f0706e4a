"""`test`, `stream` and `async`: send requests to the deployed endpoint.

- `test` sends the request this project's server answers (OpenAI chat, an OpenAI completion
  when the model has no chat template, or DJL/LMI's {"inputs", "parameters"}) with
  InvokeEndpoint and prints the text, then a streaming one (InvokeEndpointWithResponseStream);
  an endpoint with inference components gets both addressed to the component; an
  asynchronous endpoint gets one request through S3 (InvokeEndpointAsync). `--adapter NAME`
  addresses a LoRA adapter's inference component (python -m deploy adapter); `--url URL` asks
  the container on this machine instead, an adapter by its X-Amzn-SageMaker-Adapter-Identifier
  header.
- `stream` prints a streamed chat completion as it arrives. The service hands the container's
  chunked answer back as PayloadPart events whose boundaries need not match lines, so the
  parts are buffered and split on newlines; each line is an SSE `data: {...}` line (vLLM,
  SGLang, TensorRT-LLM) or a bare JSON line (LMI/DJL).
- `async` uploads one request to S3, submits it with InvokeEndpointAsync and waits for the
  answer at the output location SageMaker returns (a failure object ends the wait).
"""
from __future__ import annotations

import json
import sys
import time
import uuid

from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from .argtypes import whole as _whole, seconds as _seconds
from . import endpoints
from .aws import CONFIG
from .errors import DeployError, aws_message, code, from_client_error, is_not_found
from .naming import ic_log_group, log_group
from .ui import info, log

DEFAULT_PROMPT = "In one sentence, what is Amazon SageMaker?"
STREAM_ACCEPT = "text/event-stream, application/jsonlines, application/json"


# Answers ------------------------------------------------------------------------------------

class StreamError(RuntimeError):
    """The model server (or the stream) reported an error."""


def chunk_text(obj) -> str:
    """The generated text in one JSON object (OpenAI chat/completions, TGI tokens, LMI/DJL)."""
    if not isinstance(obj, dict):
        return ""
    error = obj.get("error") or (obj.get("message") if obj.get("object") == "error" else None)
    if error:
        if isinstance(error, dict):
            error = error.get("message") or json.dumps(error)
        raise StreamError(f"the model server reported an error: {error}")
    choices = obj.get("choices")
    if isinstance(choices, list) and choices:
        first = choices[0] or {}
        delta = first.get("delta")
        if isinstance(delta, dict):
            return delta.get("content") or ""
        if isinstance(first.get("text"), str):
            return first["text"]
        message = first.get("message")
        if isinstance(message, dict):
            return message.get("content") or ""
        return ""
    token = obj.get("token")
    if isinstance(token, dict) and not token.get("special"):
        return token.get("text") or ""
    if isinstance(obj.get("generated_text"), str) and "token" not in obj:
        return obj["generated_text"]
    return ""


DONE = object()   # sse_event's answer to "data: [DONE]"


def sse_event(raw: bytes):
    """One line of a server-sent event stream: None for a line to skip (blank, an SSE comment, a
    field we do not need), DONE for ``data: [DONE]``, else the JSON object of a data line (or of a
    bare JSON line, as LMI sends); anything else is a StreamError."""
    line = raw.decode("utf-8", errors="replace").strip()
    if not line or line.startswith((":", "event:", "id:", "retry:")):
        return None
    if line.startswith("data:"):
        line = line[5:].strip()
        if line == "[DONE]":
            return DONE
    try:
        return json.loads(line)
    except ValueError:
        raise StreamError(f"unexpected line in the stream: {line[:200]}") from None


class LineDecoder:
    """Turns byte parts into text pieces; reads SSE `data:` lines and JSON lines."""

    def __init__(self) -> None:
        self.buffer = b""
        self.done = False

    def feed(self, data: bytes):
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            yield from self.line(line)

    def flush(self):
        if self.buffer:
            line, self.buffer = self.buffer, b""
            yield from self.line(line)

    def line(self, raw: bytes):
        if self.done:
            return
        obj = sse_event(raw)
        if obj is DONE:
            self.done = True
        elif obj is not None:
            text = chunk_text(obj)
            if text:
                yield text


def answer_text(raw: bytes) -> str:
    """The text of a whole (not streamed) answer: a chat completion, a completion, or DJL's
    [{"generated_text": ...}]. Raises DeployError for anything else."""
    text = raw.decode("utf-8", errors="replace")
    try:
        obj = json.loads(text)
    except ValueError:
        raise DeployError(f"the endpoint's answer is not JSON: {text[:500]}") from None
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):  # DJL: [{"generated_text": ...}]
        obj = obj[0]
    found = None
    if isinstance(obj, dict):
        try:
            if isinstance(obj.get("choices"), list) and obj["choices"] or "generated_text" in obj \
                    or obj.get("error") or obj.get("object") == "error":
                found = chunk_text(obj)
        except StreamError as exc:
            raise DeployError(str(exc)) from None
    if found is None:
        raise DeployError(f"the endpoint's answer is not a chat completion or a generation: {text[:500]}")
    return found


# Request bodies -----------------------------------------------------------------------------

def request_kind(facts: dict, *, plain: bool, stream: bool) -> tuple[str, bool, bool, str | None]:
    """(kind, plain, stream, note): kind is "chat", "completion" (an OpenAI completion, for a
    model without a chat template) or "generation" (DJL's HF Accelerate handler, LMI without a
    chat template: {"inputs", "parameters"}). Raises DeployError for what cannot work."""
    server = facts["server"]
    note = None
    kind = "chat"
    if server == "djl":
        kind = "generation"
        if not plain:
            raise DeployError("DJL Serving's HF Accelerate handler does not stream; "
                              "run python -m deploy test without --stream-only")
        if stream:
            stream = False
            note = "DJL Serving's HF Accelerate handler does not stream: one text-generation request"
    if kind == "chat" and facts["has_chat_template"] is False:
        if server == "sglang":
            raise DeployError("this model has no chat template and SGLang's /invocations takes chat requests "
                              "only; give the project one: copier update --trust --defaults "
                              "-d chatTemplateFile=path/to/template.jinja")
        kind = "generation" if server == "lmi" else "completion"
        if not plain:
            raise DeployError("this model has no chat template: the streaming chat request would fail; "
                              "run python -m deploy test without --stream-only")
        if stream:
            stream = False
            note = "this model has no chat template: one completion request, no streaming chat"
    return kind, plain, stream, note


def request_body(kind: str, model: str | None, prompt: str, max_tokens: int, stream: bool = False) -> bytes:
    if kind == "generation":
        body: dict = {"inputs": prompt, "parameters": {"max_new_tokens": max_tokens}}
    elif kind == "completion":
        body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "stream": stream}
    else:
        body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, "stream": stream}
        if model:
            body = {"model": model, **body}
    return json.dumps(body).encode()


def project_facts(lock) -> dict:
    """What the requests need from model.lock.json."""
    return {"server": lock.server_name or "",
            # The name every serve script gives the model (LMI's option.served_model_name too).
            "served_name": lock.model_id,
            "has_chat_template": lock.get("model.has_chat_template"),
            "startup": lock.number("deployment.container_startup_health_check_timeout_s") or 600}


def endpoint_target(aws, endpoint: str, wanted_ic: str | None, adapter: str | None = None, lock=None):
    """(EndpointFacts, inference component or None) for an InService endpoint. ``wanted_ic``: a
    component's name, "" for the endpoint's only one, None for whatever the endpoint hosts.
    ``adapter``: a LoRA adapter's name: its adapter inference component (deploy/adapter_cmd.py)."""
    if adapter and wanted_ic is not None:
        raise DeployError("--adapter names the adapter's inference component itself; leave out --inference-component")
    facts = endpoints.endpoint_facts(aws, endpoint)
    if facts is None:
        raise DeployError(f"endpoint '{endpoint}' does not exist; deploy it with python -m deploy deploy")
    if facts.status != "InService":
        raise DeployError(f"endpoint '{endpoint}' is {facts.status}, not InService (see python -m deploy status)")
    ic = None
    if facts.mode == "ic" or adapter:
        from .adapter_cmd import pick_target

        ic = pick_target(aws, endpoint, wanted_ic or None, adapter, lock)
    elif wanted_ic is not None:
        raise DeployError(f"endpoint '{endpoint}' hosts no inference components "
                          "(deployed without --inference-component)")
    return facts, ic


def stream_client(aws, read_timeout: int = 120):
    """A SageMaker Runtime client for one streaming request: no retries (a retry would send
    the request again after text was printed), a read timeout for slow first tokens."""
    config = CONFIG.merge(Config(read_timeout=read_timeout, retries={"mode": "standard", "max_attempts": 1}))
    return aws.session.client("sagemaker-runtime", region_name=aws.region, config=config)


# Streaming ----------------------------------------------------------------------------------

def stream_request(runtime, endpoint: str, body: bytes, ic: str | None = None, out=None) -> None:
    """Sends one streaming request and writes the text to `out` as it arrives."""
    out = out or sys.stdout
    request = {"EndpointName": endpoint, "Body": body, "ContentType": "application/json",
               "Accept": STREAM_ACCEPT}
    if ic:
        request["InferenceComponentName"] = ic
    decoder = LineDecoder()
    wrote = False
    try:
        response = runtime.invoke_endpoint_with_response_stream(**request)
        for event in response["Body"]:
            if "PayloadPart" in event:
                for text in decoder.feed(event["PayloadPart"].get("Bytes", b"")):
                    out.write(text)
                    out.flush()
                    wrote = True
            elif "ModelStreamError" in event:
                err = event["ModelStreamError"]
                raise StreamError(f"model stream error {err.get('ErrorCode', '')}: {err.get('Message', '')}")
            elif "InternalStreamFailure" in event:
                raise StreamError(f"internal stream failure: {event['InternalStreamFailure'].get('Message', '')}")
        for text in decoder.flush():
            out.write(text)
            wrote = True
    except StreamError as exc:
        if wrote:
            out.write("\n")
            out.flush()
        raise DeployError(str(exc)) from None
    except EventStreamError as exc:  # an exception event (ModelStreamError) the parser raises
        if wrote:
            out.write("\n")
            out.flush()
        raise DeployError(f"the stream failed: {aws_message(exc)}") from None
    if not wrote:
        raise DeployError("the stream ended without any text")
    out.write("\n")
    out.flush()


# Asynchronous -------------------------------------------------------------------------------

def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise DeployError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def input_prefix(output_path: str) -> str:
    """s3://bucket/prefix/output/ -> s3://bucket/prefix/input/ (the layout deploy --async makes)."""
    base = output_path.rstrip("/")
    if base.endswith("/output"):
        base = base[: -len("/output")]
    return base + "/input/"


def _s3_exists(s3, uri: str) -> bool:
    bucket, key = split_s3(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if is_not_found(exc):
            return False
        raise from_client_error(exc, f"read {uri}") from None


def _s3_read(s3, uri: str) -> bytes:
    bucket, key = split_s3(uri)
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise from_client_error(exc, f"read {uri}") from None


def async_request(ctx, endpoint: str, body: bytes, *, config: dict | None = None,
                  input_location: str | None = None, invocation_timeout: int | None = None,
                  poll: float = 5.0, timeout: float = 3900.0) -> bytes:
    """Puts the request in S3, submits it, waits for the answer; returns its raw bytes."""
    aws = ctx.aws
    if config is None:
        facts = endpoints.endpoint_facts(aws, endpoint)
        if facts is None:
            raise DeployError(f"endpoint '{endpoint}' does not exist; deploy it with python -m deploy deploy "
                              "--async s3://bucket/prefix/")
        config = facts.config
    output = (config.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}
    if not output.get("S3OutputPath"):
        raise DeployError(f"endpoint {endpoint} is not asynchronous (deploy it with python -m deploy deploy "
                          "--async s3://bucket/prefix/, or use python -m deploy test)")
    s3 = aws.client("s3")
    request_id = str(uuid.uuid4())
    prefix = input_location or input_prefix(output["S3OutputPath"])
    input_uri = prefix.rstrip("/") + f"/{request_id}.json"
    bucket, key = split_s3(input_uri)
    aws.call("s3", "put_object", f"upload the request to {input_uri}", Bucket=bucket, Key=key, Body=body,
             ContentType="application/json")
    request = {"EndpointName": endpoint, "InputLocation": input_uri, "ContentType": "application/json",
               "Accept": "application/json", "InferenceId": request_id}
    if invocation_timeout:
        request["InvocationTimeoutSeconds"] = invocation_timeout
    response = aws.call("sagemaker-runtime", "invoke_endpoint_async", f"submit the request to {endpoint}",
                        **request)
    out_uri, fail_uri = response["OutputLocation"], response.get("FailureLocation")
    log(f"submitted {input_uri}; waiting for {out_uri}")
    deadline = time.monotonic() + timeout
    while True:
        if _s3_exists(s3, out_uri):
            return _s3_read(s3, out_uri)
        if fail_uri and _s3_exists(s3, fail_uri):
            reason = _s3_read(s3, fail_uri)[:2000].decode("utf-8", errors="replace")
            raise DeployError(f"the endpoint failed the request: {reason}")
        if time.monotonic() > deadline:
            raise DeployError(f"no answer at {out_uri} after {timeout:.0f}s; it may still come "
                              "(see python -m deploy status and python -m deploy logs)")
        ctx.sleep(poll)


def print_async_answer(raw: bytes, whole: bool) -> None:
    """The answer's text (or, with `whole` or an answer of another shape, the whole answer);
    an error the model server reported is a DeployError."""
    text = None
    if not whole:
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        if isinstance(obj, list) and obj and isinstance(obj[0], dict):  # DJL: [{"generated_text": ...}]
            obj = obj[0]
        try:
            text = chunk_text(obj) or None
        except StreamError as exc:
            raise DeployError(str(exc)) from None
    sys.stdout.write((text if text is not None else raw.decode("utf-8", errors="replace")).rstrip("\n") + "\n")
    sys.stdout.flush()


# Commands -----------------------------------------------------------------------------------

def add_component_option(parser, help_text: str) -> None:
    """--inference-component-name NAME, and --inference-component [NAME] (as deploy spells the
    mode; without NAME: the endpoint's only component). Both set args.inference_component."""
    parser.add_argument("--inference-component-name", dest="inference_component", metavar="NAME", help=help_text)
    parser.add_argument("--inference-component", dest="inference_component", nargs="?", const="", metavar="NAME",
                        help="the same; without NAME the endpoint's only component (an error for an endpoint "
                             "without components)")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "test", help="send a chat request (and a streaming one) to the endpoint",
        description="Sends this project's server the request it answers (OpenAI chat; a completion when the "
                    "model has no chat template; DJL's text generation) with InvokeEndpoint and prints the "
                    "answer, then a streaming request that prints the text as it arrives. An endpoint with an "
                    "inference component gets both addressed to the component; an asynchronous endpoint gets "
                    "one request through S3 (no streaming).")
    p.add_argument("--endpoint-name", help="endpoint (default: the project name)")
    add_component_option(p, "component to address (default: the endpoint's only one)")
    p.add_argument("--adapter", metavar="NAME", help="ask the LoRA adapter NAME (its adapter inference component, "
                                                     "python -m deploy adapter add; with --url: the "
                                                     "X-Amzn-SageMaker-Adapter-Identifier header)")
    p.add_argument("--url", metavar="URL", help="the container on this machine instead, e.g. http://127.0.0.1:8080 "
                                                "(path /invocations unless the URL has one)")
    p.add_argument("--prompt", default=DEFAULT_PROMPT, help="user message (default: a short question)")
    p.add_argument("--max-tokens", type=_whole, default=64, help="default 64")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--no-stream", action="store_true", help="skip the streaming request")
    group.add_argument("--stream-only", action="store_true", help="only the streaming request")
    p.add_argument("--wait-for-capacity", type=_whole, default=0, metavar="SECONDS",
                   help="when the component is scaled to zero, keep asking for up to SECONDS while a copy "
                        "starts (default: fail at once)")
    p.set_defaults(handler=run_test)

    p = subparsers.add_parser(
        "stream", help="stream a chat completion and print the text as it arrives",
        description="Sends a chat request with InvokeEndpointWithResponseStream and prints the text as it "
                    "arrives (SSE data: lines or JSON lines). An endpoint with inference components gets it "
                    "addressed to its component.")
    p.add_argument("--endpoint-name", help="endpoint (default: the project name)")
    add_component_option(p, "the inference component to address (default: the endpoint's only one)")
    p.add_argument("--adapter", metavar="NAME", help="ask the LoRA adapter NAME (its adapter inference component)")
    p.add_argument("--prompt", default="Write a haiku about the sea.")
    p.add_argument("--model", default=None, help="the request's 'model' field (default: the served name)")
    p.add_argument("--max-tokens", type=_whole, default=128, help="default 128")
    p.add_argument("--body-file", default=None, help="send this JSON body as is")
    p.add_argument("--read-timeout", type=_whole, default=120, help="seconds (default 120)")
    p.set_defaults(handler=run_stream)

    p = subparsers.add_parser(
        "async", help="send one request to an asynchronous endpoint and wait for its answer",
        description="For endpoints made with deploy --async s3://bucket/prefix/: uploads the request (a JSON "
                    "file, or a chat request built from --prompt) to s3://bucket/prefix/input/<id>.json, "
                    "submits it with InvokeEndpointAsync and polls for the answer at the output location "
                    "SageMaker returns; an object at the failure location ends the wait with its text. A "
                    "generation may run for up to an hour this way (the real-time limit is 60 s).")
    p.add_argument("--endpoint-name", help="endpoint (default: the project name)")
    p.add_argument("--request-file", default=None, help="send this JSON file as the request body")
    p.add_argument("--prompt", default="Write a haiku about the sea.")
    p.add_argument("--model", default=None, help="the request's 'model' field (default: the served name)")
    p.add_argument("--max-tokens", type=_whole, default=256, help="default 256")
    p.add_argument("--input-location", default=None,
                   help="S3 prefix for the request (default: <prefix>input/ beside the endpoint's output)")
    p.add_argument("--invocation-timeout", type=_whole, default=None,
                   help="seconds the container may take (InvocationTimeoutSeconds, at most 3600)")
    p.add_argument("--poll", type=_seconds, default=5.0, help="seconds between looks at S3 (default 5)")
    p.add_argument("--timeout", type=_seconds, default=3900.0, help="seconds to wait for the answer")
    p.add_argument("--raw", action="store_true", help="print the whole answer, not just its text")
    p.set_defaults(handler=run_async)


def _read_body(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            body = fh.read()
    except OSError as exc:
        raise DeployError(f"cannot read {path}: {exc.strerror}") from None
    try:
        json.loads(body)  # fail here, not an hour later, when the file is not JSON
    except ValueError:
        raise DeployError(f"{path} is not JSON") from None
    return body


def _no_copies(aws, component: str) -> bool:
    answer = endpoints.describe(aws, "inference-component", component) or {}
    return (answer.get("RuntimeConfig") or {}).get("CurrentCopyCount") == 0


def local_request(url: str, body: bytes, adapter: str | None, stream: bool, timeout: float = 120) -> str | None:
    """POST ``body`` to the local container; the adapter named by the header SageMaker sends for an adapter
    inference component (X-Amzn-SageMaker-Adapter-Identifier). Returns the text, or prints it as it streams."""
    import http.client
    import itertools
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise DeployError(f"--url wants http://host:port[/path], got {url!r}")
    headers = {"Content-Type": "application/json", "Accept": STREAM_ACCEPT if stream else "application/json"}
    if adapter:
        headers["X-Amzn-SageMaker-Adapter-Identifier"] = adapter
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request("POST", parts.path if parts.path not in ("", "/") else "/invocations", body=body, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise DeployError(f"{url} answered HTTP {response.status}: "
                              f"{response.read()[:500].decode('utf-8', errors='replace')}")
        if not stream:
            return answer_text(response.read())
        decoder, wrote = LineDecoder(), False
        for text in itertools.chain.from_iterable(map(decoder.feed, iter(response.readline, b""))):
            sys.stdout.write(text)
            sys.stdout.flush()
            wrote = True
        for text in decoder.flush():
            sys.stdout.write(text)
            wrote = True
        if not wrote:
            raise DeployError("the stream ended without any text")
        sys.stdout.write("\n")
        return None
    except StreamError as exc:
        raise DeployError(str(exc)) from None
    except OSError as exc:
        raise DeployError(f"cannot reach {url} ({exc}); is the container running (docker run -p 8080:8080 ...)?") \
            from None
    finally:
        conn.close()


def local_test(args, facts: dict, kind: str, plain: bool, stream: bool, note: str | None) -> int:
    if args.inference_component is not None:
        raise DeployError("--url asks the container on this machine; --inference-component is for the endpoint")
    if note:
        info(note)
    who = f" (adapter {args.adapter})" if args.adapter else ""
    if plain:
        info(f"POST {args.url}{who}: {args.prompt}")
        print(local_request(args.url, request_body(kind, facts["served_name"], args.prompt, args.max_tokens),
                            args.adapter, False), flush=True)
    if stream:
        info(f"streaming request to {args.url}{who}")
        local_request(args.url, request_body(kind, facts["served_name"], args.prompt, args.max_tokens, stream=True),
                      args.adapter, True)
    info("done")
    return 0


def run_test(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    facts = project_facts(lock)
    endpoint = lock.endpoint_name(args.endpoint_name)
    kind, plain, stream, note = request_kind(facts, plain=not args.stream_only, stream=not args.no_stream)
    if args.url:
        return local_test(args, facts, kind, plain, stream, note)
    aws = ctx.aws
    aws.identity()
    if note:
        info(note)
    found, ic = endpoint_target(aws, endpoint, args.inference_component, args.adapter, lock)
    target = f"{endpoint} ({'adapter ' + args.adapter + ', ' if args.adapter else ''}inference component {ic})" \
        if ic else endpoint
    body = request_body(kind, facts["served_name"], args.prompt, args.max_tokens)

    if found.mode == "async":
        info(f"asynchronous request to {endpoint} (through S3): {args.prompt}")
        raw = async_request(ctx, endpoint, body, config=found.config, poll=min(5.0, ctx.poll_seconds))
        print_async_answer(raw, whole=False)
        info("done (asynchronous endpoints do not stream)")
        return 0

    if plain:
        info(f"POST /invocations on {target}: {args.prompt}")
        request = {"EndpointName": endpoint, "Body": body, "ContentType": "application/json",
                   "Accept": "application/json"}
        if ic:
            request["InferenceComponentName"] = ic
        runtime = aws.client("sagemaker-runtime")
        start = time.monotonic()
        while True:
            try:
                response = runtime.invoke_endpoint(**request)
                break
            except ClientError as exc:
                # A component at zero copies (scaled to zero): AWS refuses the request with a
                # ValidationError, and the request wakes a copy. The code alone does not say so:
                # the component's copy count does.
                if ic and code(exc) in ("ValidationError", "ValidationException") and _no_copies(aws, ic):
                    waited = time.monotonic() - start
                    if waited >= args.wait_for_capacity:
                        raise DeployError(
                            f"inference component {ic} has no copy running (scaled to zero by python -m deploy "
                            "autoscale --min 0). This request has started one: expect several minutes (an "
                            f"instance to provision, then up to {facts['startup']}s for the model to load, "
                            "model.lock.json's startup timeout), then run python -m deploy test again, or pass "
                            "--wait-for-capacity 900.") from None
                    log(f"   no copy of {ic} yet ({waited:.0f}s); asking again in 30s")
                    ctx.sleep(30)
                    continue
                endpoints.print_logs(aws, ic_log_group(ic) if ic else log_group(endpoint), 20)
                raise from_client_error(exc, f"invoke endpoint {target}") from None
        raw = response["Body"].read()
        print(answer_text(raw), flush=True)
        try:
            usage = json.loads(raw).get("usage")
        except (ValueError, AttributeError):
            usage = None
        if usage:
            log(f"   usage: {json.dumps(usage)}")

    if stream:
        info(f"streaming request to {target}")
        stream_request(stream_client(aws), endpoint,
                       request_body(kind, facts["served_name"], args.prompt, args.max_tokens, stream=True), ic)
    info("done")
    return 0


def run_stream(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    facts = project_facts(lock)
    endpoint = lock.endpoint_name(args.endpoint_name)
    if args.body_file:
        body = _read_body(args.body_file)
    else:
        body = request_body("chat", args.model or facts["served_name"], args.prompt, args.max_tokens, stream=True)
    ic = args.inference_component
    if args.adapter:
        ic = endpoint_target(ctx.aws, endpoint, ic, args.adapter, lock)[1]
    elif not ic:
        found = endpoints.endpoint_facts(ctx.aws, endpoint)
        if found is not None and found.mode == "ic":
            ic = endpoints.pick_ic(ctx.aws, endpoint)
        elif ic is not None:
            raise DeployError(f"endpoint '{endpoint}' hosts no inference components "
                              "(deployed without --inference-component)")
    try:
        stream_request(stream_client(ctx.aws, args.read_timeout), endpoint, body, ic)
    except ClientError as exc:
        raise from_client_error(exc, f"stream from endpoint {endpoint}") from None
    return 0


def run_async(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    facts = project_facts(lock)
    endpoint = lock.endpoint_name(args.endpoint_name)
    if args.request_file:
        body = _read_body(args.request_file)
    else:
        body = request_body("chat", args.model or facts["served_name"], args.prompt, args.max_tokens)
    raw = async_request(ctx, endpoint, body, input_location=args.input_location,
                        invocation_timeout=args.invocation_timeout, poll=args.poll, timeout=args.timeout)
    print_async_answer(raw, whole=args.raw)
    return 0
