"""`bench`: latency, throughput and cost per million tokens, at one or more concurrency levels.

Targets:
- ``--url http://127.0.0.1:8080``: the container on this machine (``docker run -p 8080:8080 ...``);
  POST /invocations (or the URL's own path) with ``"stream": true``, read as server-sent events
  with http.client, one thread per concurrent request.
- no ``--url``: the SageMaker endpoint (``--endpoint-name``, default the project's), through
  InvokeEndpointWithResponseStream (boto3 signs with SigV4 and decodes the AWS event stream into
  PayloadPart events, whose bytes are split into lines here); ``--inference-component`` addresses
  a component (picked automatically when the endpoint has one).

Each level sends ``--requests`` requests with ``--concurrency`` of them in flight at a time (a
closed loop: a worker sends its next request when its last one has finished). The request is the
project's own (deploy/invoke_cmd.py: OpenAI chat, or a completion for a model without a chat
template) with ``"stream": true`` and ``"stream_options": {"include_usage": true}``, so the engine
reports the tokens it read and wrote; token counts come from that ``usage``, never from counting
chunks. DJL Serving's HF Accelerate handler (and LMI for a model without a chat template) does not
stream: bench refuses it and says so.

Numbers (deploy/bench_report.py has the definitions): TTFT, inter-token latency and end-to-end
latency p50/p90/p99, output tokens/s and requests/s for the level, errors by kind, and
``usd_per_million_output_tokens`` (and input) from the hourly price. The price, first found wins:
``--price-usd-per-hour``; the AWS Price List API (``pricing`` GetProducts in us-east-1, service
AmazonSageMaker, the instance type's real-time Hosting rate in the project's region) when there
are credentials and it answers (``--no-price-api`` skips it); model.lock.json's deployment.price
(the template's dated snapshot, or a training rate labelled as one); else no cost columns. Every
report names the price's source and date.

``--out DIR`` writes bench.json, bench.md and bench.png (matplotlib, optional: without it the png
is skipped with a note and the command still succeeds). The table is printed on stdout;
progress, one bar per level, on stderr.

``--managed --s3 s3://bucket/prefix``: AWS's managed benchmark instead (SageMaker AI
benchmarking, which runs NVIDIA AIPerf against the endpoint): per level one CreateAIWorkloadConfig
and one CreateAIBenchmarkJob, one level at a time, waiting on DescribeAIBenchmarkJob; the job's
output.tar.gz under its S3 output location holds profile_export_aiperf.json, whose metrics
(time_to_first_token, inter_token_latency, request_latency, output_token_throughput,
request_throughput) become the same report. The workload spec is the one the SageMaker Python SDK
writes (aws/sagemaker-python-sdk sagemaker-serve/src/sagemaker/serve/ai_inference_recommender/
workload.py @0523e082, Workload.synthetic and to_inline: {"benchmark": {"type": "aiperf"},
"parameters": {...}, "tooling": {"api_standard": "openai"}, "secrets": {"hf_token": ARN}}), and
its results are read as result.py there reads them (output.tar.gz, profile_export_aiperf.json,
per-metric unit/avg/p50/p90/p99). The job runs as --role-arn / $SAGEMAKER_ROLE_ARN, else the
execution role deploy made (<endpoint>-sagemaker-exec); it needs to invoke the endpoint and
write to the S3 prefix.
"""
from __future__ import annotations

import datetime
import http.client
import io
import json
import os
import queue
import re
import socket
import sys
import tarfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

from .argtypes import positive as _positive, whole as _whole, usd_per_hour as _price
from .bench_report import Sample, markdown, summarize, table, write
from .errors import DeployError, code, die
from .invoke_cmd import DONE, StreamError, chunk_text, request_kind, sse_event
from .ui import info, log, warn

PRICING_REGION = "us-east-1"  # the Price List API's endpoint (also eu-central-1, ap-south-1)
WORDS = ("the quick brown fox jumps over a lazy dog while seven small birds sing near an old "
         "river and the sun rises slowly above green hills").split()
DEFAULT_CONCURRENCY = "1,4"


# Prompts ------------------------------------------------------------------------------------

def synthetic_prompt(tokens: int, index: int = 0, run: str = "") -> str:
    """About ``tokens`` tokens of plain English (one common word is one token for the usual
    tokenizers; the engine's usage.prompt_tokens reports the real count). It starts with
    ``run``-``index``, so no two requests (of this run or another) share a prefix an engine's
    prefix cache could answer from, as in vllm bench serve's random prompts."""
    words = [WORDS[(i + index * 7) % len(WORDS)] for i in range(max(tokens - 10, 1))]
    return f"{run}{index}: continue this text for as long as you can: " + " ".join(words)


def read_prompts(path: str) -> list[str]:
    """A prompts file: one prompt per line, or JSON lines with a "prompt" (or "text") member."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"cannot read {path}: {exc.strerror}") from None
    prompts = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                raise DeployError(f"{path}:{number} starts like JSON but is not JSON") from None
            text = obj.get("prompt") or obj.get("text") if isinstance(obj, dict) else None
            if not isinstance(text, str) or not text:
                raise DeployError(f"{path}:{number}: a JSON line needs a \"prompt\" string")
            prompts.append(text)
        else:
            prompts.append(line)
    if not prompts:
        die(f"{path} holds no prompts")
    return prompts


def bodies(kind: str, model: str | None, prompts: list[str], max_tokens: int, ignore_eos: bool) -> list[bytes]:
    """Streaming request bodies, one per prompt, with usage requested."""
    out = []
    for prompt in prompts:
        if kind == "completion":
            body: dict = {"prompt": prompt}
        else:
            body = {"messages": [{"role": "user", "content": prompt}]}
        if model:
            body = {"model": model, **body}
        body.update({"max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True}})
        if ignore_eos:
            body["ignore_eos"] = True
        out.append(json.dumps(body).encode())
    return out


# One streamed answer ------------------------------------------------------------------------

class Meter:
    """Reads a streamed answer as it arrives: SSE ``data:`` lines or JSON lines, split across
    parts anywhere. Notes when the first text came and keeps the last ``usage`` it saw."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.buffer = b""
        self.first = None
        self.chunks = 0
        self.usage: dict | None = None
        self.done = False

    def feed(self, data: bytes, now: float) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.line(line, now)

    def flush(self, now: float) -> None:
        if self.buffer:
            line, self.buffer = self.buffer, b""
            self.line(line, now)

    def line(self, raw: bytes, now: float) -> None:
        if self.done:
            return
        obj = sse_event(raw)
        if obj is DONE:
            self.done = True
            return
        if obj is None:
            return
        if isinstance(obj, dict) and isinstance(obj.get("usage"), dict) \
                and obj["usage"].get("completion_tokens") is not None:
            self.usage = obj["usage"]
        if chunk_text(obj):  # raises StreamError for an error the server reports
            self.chunks += 1
            if self.first is None:
                self.first = now

    def sample(self, end: float) -> Sample:
        if self.first is None:
            return Sample(latency=end - self.start, error="no_tokens", detail="the stream held no text")
        usage = self.usage or {}
        return Sample(ttft=self.first - self.start, latency=end - self.start, chunks=self.chunks,
                      output_tokens=_int(usage.get("completion_tokens")), input_tokens=_int(usage.get("prompt_tokens")))


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# Targets ------------------------------------------------------------------------------------

class UrlTarget:
    """POST <url> (path /invocations when the URL has none), one connection per request."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            die(f"--url wants http://host:port[/path], got {url!r}")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.path = (parts.path if parts.path not in ("", "/") else "/invocations") + \
            (f"?{parts.query}" if parts.query else "")
        self.url = url
        self.timeout = timeout

    def describe(self) -> dict:
        return {"kind": "url", "url": self.url}

    def send(self, body: bytes) -> Sample:
        make = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = make(self.host, self.port, timeout=self.timeout)
        start = time.perf_counter()
        try:
            conn.request("POST", self.path, body=body, headers={
                "Content-Type": "application/json", "Accept": "text/event-stream"})
            resp = conn.getresponse()
            if resp.status != 200:
                detail = resp.read(2000).decode("utf-8", errors="replace")
                return Sample(latency=time.perf_counter() - start, error=f"http_{resp.status}", detail=detail)
            meter = Meter(start)
            while not meter.done:
                line = resp.readline()
                if not line:
                    break
                meter.feed(line, time.perf_counter())
            meter.flush(time.perf_counter())
            return meter.sample(time.perf_counter())
        except StreamError as exc:
            return Sample(error="server_error", detail=str(exc))
        except (socket.timeout, TimeoutError):
            return Sample(error="timeout", detail=f"no answer within {self.timeout:.0f}s")
        except (ConnectionError, OSError) as exc:
            return Sample(error="connection", detail=str(exc))
        except http.client.HTTPException as exc:
            return Sample(error="protocol", detail=f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()


class EndpointTarget:
    """InvokeEndpointWithResponseStream on a SageMaker endpoint (or one inference component)."""

    def __init__(self, runtime, endpoint: str, component: str | None) -> None:
        self.runtime = runtime
        self.endpoint = endpoint
        self.component = component

    def describe(self) -> dict:
        return {"kind": "endpoint", "endpoint_name": self.endpoint, "inference_component": self.component}

    def send(self, body: bytes) -> Sample:
        from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError
        from botocore.exceptions import ReadTimeoutError

        request = {"EndpointName": self.endpoint, "Body": body, "ContentType": "application/json",
                   "Accept": "text/event-stream, application/jsonlines, application/json"}
        if self.component:
            request["InferenceComponentName"] = self.component
        start = time.perf_counter()
        try:
            response = self.runtime.invoke_endpoint_with_response_stream(**request)
            meter = Meter(start)
            for event in response["Body"]:
                now = time.perf_counter()
                if "PayloadPart" in event:
                    meter.feed(event["PayloadPart"].get("Bytes", b""), now)
                elif "ModelStreamError" in event:
                    err = event["ModelStreamError"]
                    return Sample(error=err.get("ErrorCode") or "ModelStreamError", detail=err.get("Message", ""))
                elif "InternalStreamFailure" in event:
                    return Sample(error="InternalStreamFailure",
                                  detail=event["InternalStreamFailure"].get("Message", ""))
            meter.flush(time.perf_counter())
            return meter.sample(time.perf_counter())
        except StreamError as exc:
            return Sample(error="server_error", detail=str(exc))
        except ClientError as exc:  # also EventStreamError (ModelStreamError raised by the parser)
            err = exc.response.get("Error", {})
            return Sample(error=code(exc) or "ClientError", detail=str(err.get("Message") or exc))
        except ReadTimeoutError as exc:
            return Sample(error="timeout", detail=str(exc))
        except BotoConnectionError as exc:
            return Sample(error="connection", detail=str(exc))
        except BotoCoreError as exc:
            return Sample(error=type(exc).__name__, detail=str(exc))


# Load ---------------------------------------------------------------------------------------

class Progress:
    """One bar per level on stderr: redrawn in place on a terminal, a line per quarter otherwise."""

    def __init__(self, concurrency: int, total: int, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.concurrency, self.total = concurrency, total
        self.lock = threading.Lock()
        self.done = self.errors = 0
        self.marks = {max(1, total * q // 4) for q in (1, 2, 3, 4)}
        self.start = time.perf_counter()

    def bar(self) -> str:
        width = 30
        full = width * self.done // max(self.total, 1)
        return (f"  concurrency {self.concurrency:>4} [{'#' * full}{'.' * (width - full)}] "
                f"{self.done}/{self.total}  errors {self.errors}  {time.perf_counter() - self.start:.1f}s")

    def tick(self, sample: Sample) -> None:
        with self.lock:
            self.done += 1
            self.errors += 0 if sample.ok else 1
            if self.tty:
                self.stream.write("\r" + self.bar())
                if self.done == self.total:
                    self.stream.write("\n")
            elif self.done in self.marks:
                self.stream.write(self.bar() + "\n")
            self.stream.flush()


def run_level(send, requests: list[bytes], concurrency: int, progress: Progress | None = None
              ) -> tuple[list[Sample], float]:
    """Sends every body in ``requests`` with ``concurrency`` in flight; (samples in order, wall s)."""
    todo: queue.Queue = queue.Queue()
    for i in range(len(requests)):
        todo.put(i)
    samples: list[Sample | None] = [None] * len(requests)

    def worker() -> None:
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                sample = send(requests[i])
            except Exception as exc:  # noqa: BLE001 - one request's failure must not stop the level
                sample = Sample(error=type(exc).__name__, detail=str(exc))
            samples[i] = sample
            if progress:
                progress.tick(sample)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, len(requests)))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins: Ctrl-C reaches the main thread
    return [s or Sample(error="lost") for s in samples], time.perf_counter() - start


# Prices -------------------------------------------------------------------------------------

@dataclass
class Price:
    usd_per_hour: float | None
    kind: str | None = None     # "override", "hosting", "training"
    source: str | None = None
    date: str | None = None
    region: str | None = None


def price_list_rate(session, instance_type: str, region: str) -> tuple[float, str] | None:
    """(USD per hour, publication date) of ``instance_type``'s on-demand real-time hosting rate
    in ``region`` from the AWS Price List API, or None when it has none. Raises botocore errors."""
    from botocore.config import Config

    client = session.client("pricing", region_name=PRICING_REGION, config=Config(
        connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2}))
    answer = client.get_products(ServiceCode="AmazonSageMaker", FormatVersion="aws_v1", MaxResults=100, Filters=[
        {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"}])
    for item in answer.get("PriceList") or []:
        product = json.loads(item) if isinstance(item, str) else item
        attributes = (product.get("product") or {}).get("attributes") or {}
        if "Host:" not in str(attributes.get("usagetype") or ""):
            continue  # asynchronous inference, batch transform, ... share the instance name
        for term in ((product.get("terms") or {}).get("OnDemand") or {}).values():
            for dim in (term.get("priceDimensions") or {}).values():
                usd = (dim.get("pricePerUnit") or {}).get("USD")
                if dim.get("unit") == "Hrs" and usd and float(usd) > 0:
                    return float(usd), str(product.get("publicationDate") or "")[:10]
    return None


def find_price(ctx, instance_type: str | None, region: str, override: float | None, use_api: bool) -> Price:
    if override is not None:
        return Price(override, "override", "--price-usd-per-hour", datetime.date.today().isoformat(), region)
    if not instance_type:
        return Price(None)
    if use_api:
        from botocore.exceptions import BotoCoreError, ClientError

        session = ctx.aws.session
        reason = None
        if session.get_credentials() is None:
            reason = "no AWS credentials"
        elif region.startswith("cn-"):
            reason = "China regions are priced by a separate Price List endpoint, not asked here"
        else:
            log(f"   price: asking the AWS Price List API for {instance_type} hosting in {region} "
                "(--no-price-api skips this)")
            try:
                found = price_list_rate(session, instance_type, region)
                if found:
                    return Price(found[0], "hosting",
                                 f"AWS Price List API (pricing GetProducts, AmazonSageMaker, {instance_type} Hosting, "
                                 f"{region})", found[1] or datetime.date.today().isoformat(), region)
                reason = f"no Hosting rate for {instance_type} in {region}"
            except (ClientError, BotoCoreError) as exc:
                reason = code(exc) or type(exc).__name__
        log(f"   price: the AWS Price List API gave none ({reason}); using the project's recorded price")
    stored = ctx.lock.get("deployment.price") or {}
    if stored.get("usd_per_hour") and ctx.lock.get("deployment.instance_type") == instance_type:
        return Price(float(stored["usd_per_hour"]), stored.get("kind"), stored.get("source"), stored.get("date"),
                     stored.get("region"))
    return Price(None)


# The command --------------------------------------------------------------------------------

def _levels(text: str) -> list[int]:
    import argparse

    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or any(n < 1 for n in levels):
        raise argparse.ArgumentTypeError(f"wants whole numbers separated by commas (1,4,16), got '{text}'")
    return levels


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="measure latency, throughput and cost per million tokens (locally or on SageMaker)",
        description="Streams requests at each concurrency level against the local container (--url) or the "
                    "SageMaker endpoint and reports per level: time to first token, inter-token and end-to-end "
                    "latency (p50/p90/p99), output tokens/s, requests/s, errors by kind, and USD per million "
                    "output (and input) tokens from the instance's hourly price. Tokens are the engine's usage "
                    "counts. --out DIR writes bench.json, bench.md and bench.png (matplotlib, optional).")
    p.add_argument("--url", default=None, metavar="URL", help="the local container, e.g. http://127.0.0.1:8080 "
                   "(POST /invocations); without it, the SageMaker endpoint")
    p.add_argument("--endpoint-name", default=None, metavar="NAME", help="endpoint (default: the project name)")
    p.add_argument("--inference-component", default=None, metavar="NAME", help="the inference component to address")
    p.add_argument("--concurrency", type=_levels, default=_levels(DEFAULT_CONCURRENCY), metavar="N,N,...",
                   help=f"requests in flight, one level per value (default {DEFAULT_CONCURRENCY})")
    p.add_argument("--requests", type=_positive, default=None, metavar="N",
                   help="requests per level (default: 4 x the level's concurrency, at least 8)")
    p.add_argument("--max-tokens", type=_positive, default=128, metavar="N",
                   help="max_tokens of each request (default 128)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--prompt-tokens", type=_positive, default=128, metavar="N",
                     help="synthetic prompts of about this many tokens (default 128)")
    src.add_argument("--prompts", default=None, metavar="FILE",
                     help="prompts to send, one per line (or JSON lines with \"prompt\"), used in turn")
    p.add_argument("--ignore-eos", action="store_true",
                   help="ask the engine to generate max-tokens every time (vLLM, SGLang: ignore_eos)")
    p.add_argument("--warmup", type=_whole, default=0, metavar="N",
                   help="requests sent one at a time before the first level, not measured (default 0)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="the requests' 'model' field (default: the served name)")
    p.add_argument("--timeout", type=_positive, default=300, metavar="S",
                   help="seconds one request may take (default 300)")
    p.add_argument("--instance-type", default=None, metavar="TYPE",
                   help="instance type to price (default: the endpoint's, or model.lock.json's for --url)")
    p.add_argument("--price-usd-per-hour", type=_price, default=None, metavar="USD",
                   help="hourly price to use for the cost")
    p.add_argument("--no-price-api", action="store_true", help="do not ask the AWS Price List API")
    p.add_argument("--out", default=None, metavar="DIR", help="write bench.json, bench.md and bench.png here")
    p.add_argument("--managed", action="store_true",
                   help="run AWS's managed benchmark (SageMaker AI benchmarking) instead; needs --s3")
    p.add_argument("--s3", default=None, metavar="S3_URI", help="output location of --managed")
    p.add_argument("--role-arn", default=os.environ.get("SAGEMAKER_ROLE_ARN") or None, metavar="ARN",
                   help="role the --managed job runs as (default: $SAGEMAKER_ROLE_ARN, else <endpoint>-sagemaker-exec)")
    p.add_argument("--managed-timeout", type=_positive, default=7200, metavar="S",
                   help="seconds to wait for each --managed job (default 7200)")
    p.set_defaults(handler=run_bench)


def _project_facts(ctx) -> dict:
    lock = ctx.lock
    return {"server": lock.server_name or "", "served_name": lock.get("server.served_model_name") or lock.model_id,
            "has_chat_template": lock.get("model.has_chat_template")}


def _kind(facts: dict) -> str:
    """The streaming request this server answers; DeployError where it cannot stream."""
    server = facts["server"]
    if server == "djl":
        die("DJL Serving's HF Accelerate handler does not stream, so bench cannot measure time to first token "
            "or inter-token latency; python -m deploy test sends its text-generation request")
    try:
        kind, _plain, _stream, _note = request_kind(facts, plain=True, stream=True)
    except DeployError as exc:
        die(f"bench cannot stream to this project: {exc}")
    if kind == "generation":
        die("LMI answers this model (no chat template) with a text generation that does not stream; "
            "give it a chat template (copier update -d chatTemplateFile=...) to bench it")
    return kind


def run_bench(ctx) -> int:
    args = ctx.args
    if args.managed:
        return run_managed(ctx)
    if args.s3:
        die("--s3 goes with --managed")
    facts = _project_facts(ctx)
    kind = _kind(facts)
    model = args.model or facts["served_name"]
    if args.prompts:
        prompts = read_prompts(args.prompts)
    else:
        total = args.warmup + sum(args.requests or max(4 * c, 8) for c in args.concurrency)
        run = f"{uuid.uuid4().hex[:8]}-"
        prompts = [synthetic_prompt(args.prompt_tokens, i, run) for i in range(total)]
    all_bodies = bodies(kind, model, prompts, args.max_tokens, args.ignore_eos)
    region = ctx.lock.region
    instance_type = args.instance_type
    instance_count = 1
    notes: list[str] = []

    if args.url:
        target = UrlTarget(args.url, args.timeout)
        instance_type = instance_type or ctx.lock.instance_type
    else:
        from botocore.config import Config

        from .aws import CONFIG
        from .invoke_cmd import endpoint_target

        aws = ctx.aws
        aws.identity()
        endpoint = ctx.lock.endpoint_name(args.endpoint_name)
        found, component = endpoint_target(aws, endpoint, args.inference_component)
        if found.mode == "async":
            die(f"endpoint {endpoint} is asynchronous: it does not stream, so bench cannot measure it")
        variant = (found.endpoint.get("ProductionVariants") or [{}])[0]
        instance_type = instance_type or (found.variants[0].get("InstanceType") if found.variants else None)
        instance_count = int(variant.get("CurrentInstanceCount") or 1)
        config = CONFIG.merge(Config(read_timeout=args.timeout, max_pool_connections=max(args.concurrency) + 2,
                                     retries={"mode": "standard", "max_attempts": 1}))
        runtime = aws.session.client("sagemaker-runtime", region_name=aws.region, config=config)
        target = EndpointTarget(runtime, endpoint, component)
        if component:
            notes.append(f"inference component {component}: the cost columns price the whole instance; "
                         "other components on it share that cost")

    price = find_price(ctx, instance_type, region, args.price_usd_per_hour, not args.no_price_api)
    hourly = price.usd_per_hour * instance_count if price.usd_per_hour else None
    if price.kind == "training":
        warn("no hosting price is known for this instance type and region: the cost columns use a SageMaker "
             "training rate, an estimate (pass --price-usd-per-hour for yours)")
    if instance_count > 1:
        notes.append(f"the endpoint ran {instance_count} instances: the cost columns price all of them")

    where = args.url or f"endpoint {target.endpoint}" + (f" ({target.component})" if target.component else "")
    info(f"bench {where}: concurrency {','.join(map(str, args.concurrency))}, "
         f"max_tokens {args.max_tokens}, {model}")
    report = {
        "schema": "deploy-bench/1",
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "target": target.describe(),
        "server": facts["server"], "model": model, "request_kind": kind, "region": region,
        "instance_type": instance_type, "instance_count": instance_count,
        "price_usd_per_hour": price.usd_per_hour, "price_kind": price.kind, "price_source": price.source,
        "price_date": price.date, "price_region": price.region,
        "load": {"concurrency": args.concurrency, "requests_per_level": args.requests, "max_tokens": args.max_tokens,
                 "prompt_tokens": None if args.prompts else args.prompt_tokens, "prompts_file": args.prompts,
                 "ignore_eos": args.ignore_eos, "warmup": args.warmup},
        "levels": [], "notes": notes,
    }
    used = 0  # synthetic prompts are used once each (a prompts file is used in turn)
    if args.warmup:
        warm = [target.send(all_bodies[i % len(all_bodies)]) for i in range(args.warmup)]
        used = args.warmup
        failed = [s for s in warm if not s.ok]
        if failed:
            warn(f"{len(failed)} of {args.warmup} warm-up requests failed "
                 f"({failed[0].error}: {failed[0].detail[:300]})")
    for concurrency in args.concurrency:
        count = args.requests or max(4 * concurrency, 8)
        level_bodies = [all_bodies[(used + i) % len(all_bodies)] for i in range(count)]
        used += count if not args.prompts else 0
        samples, duration = run_level(target.send, level_bodies, concurrency, Progress(concurrency, count))
        level = summarize(concurrency, samples, duration, hourly)
        report["levels"].append(level)
        failed = [s for s in samples if not s.ok]
        if failed:
            warn(f"concurrency {concurrency}: {len(failed)} of {count} requests failed "
                 f"({', '.join(f'{k} x{n}' for k, n in level['errors_by_kind'].items())}); "
                 f"first: {failed[0].detail[:300]}")
        if level["without_usage"]:
            notes.append(f"concurrency {concurrency}: {level['without_usage']} answers carried no usage "
                         "(stream_options.include_usage): their tokens are not counted")
        if failed and len(failed) == count and concurrency == args.concurrency[0] and len(args.concurrency) > 1:
            warn("every request of the first level failed; stopping here")
            break
    report["load"]["requests_per_level"] = args.requests or "4 x concurrency, at least 8"
    print(table(report["levels"]))
    if args.out:
        for note in write(report, args.out):
            log(f"note: {note}")
        info(f"wrote {Path(args.out) / 'bench.json'}, bench.md" + (", bench.png" if report.get("plot") else ""))
    else:
        log(markdown(report).split("\n\n")[-1].strip())
    if all(lv["succeeded"] == 0 for lv in report["levels"]):
        die("no request succeeded (see the warnings above)")
    return 0


# AWS's managed benchmark (--managed) --------------------------------------------------------

PROFILE_EXPORT = "profile_export_aiperf.json"   # the SageMaker SDK's result.py names these two
OUTPUT_ARCHIVE = "output.tar.gz"
S3_URI = re.compile(r"^s3://[^/]+(/.*)?$")
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "seconds": 1.0}


def workload_spec(lock, concurrency: int, requests: int, prompt_tokens: int, max_tokens: int,
                  ignore_eos: bool, hf_token_arn: str | None) -> dict:
    """The AIPerf workload of one level, in the SageMaker SDK's Workload.synthetic form."""
    parameters = {"tokenizer": lock.model_id, "concurrency": concurrency, "request_count": requests,
                  "prompt_input_tokens_mean": prompt_tokens, "prompt_input_tokens_stddev": 0,
                  "output_tokens_mean": max_tokens, "output_tokens_stddev": 0, "streaming": True}
    if ignore_eos:
        parameters["extra_inputs"] = "ignore_eos:true"
    spec = {"benchmark": {"type": "aiperf"}, "parameters": parameters, "tooling": {"api_standard": "openai"}}
    if hf_token_arn:
        spec["secrets"] = {"hf_token": hf_token_arn}
    return spec


def _seconds_spread(metric: dict | None) -> dict:
    metric = metric or {}
    scale = UNIT_SECONDS.get(str(metric.get("unit") or "ms").lower(), 1e-3)
    out = {}
    for pct in ("p50", "p90", "p99"):
        value = metric.get(pct)
        out[pct] = round(float(value) * scale, 6) if isinstance(value, (int, float)) else None
    return out


def _avg(metric: dict | None) -> float | None:
    value = (metric or {}).get("avg")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def managed_level(concurrency: int, requests: int, profile: dict, usd_per_hour: float | None) -> dict:
    """One level of bench.json from an AIPerf profile export."""
    from .bench_report import per_million

    out_tps = _avg(profile.get("output_token_throughput"))
    req_tps = _avg(profile.get("request_throughput"))
    isl = _avg(profile.get("input_sequence_length"))
    in_tps = isl * req_tps if isl is not None and req_tps is not None else None
    count = _avg(profile.get("request_count"))
    errors = _avg(profile.get("error_request_count"))
    cost_out, cost_in = per_million(usd_per_hour, out_tps), per_million(usd_per_hour, in_tps)
    return {
        "concurrency": concurrency,
        "requests": int(count) if count is not None else requests,
        "errors": int(errors) if errors is not None else 0,
        "errors_by_kind": {"aiperf_error": int(errors)} if errors else {},
        "ttft_s": _seconds_spread(profile.get("time_to_first_token")),
        "itl_s": _seconds_spread(profile.get("inter_token_latency")),
        "latency_s": _seconds_spread(profile.get("request_latency")),
        "mean_output_tokens": _avg(profile.get("output_sequence_length")),
        "mean_input_tokens": isl,
        "output_tokens_per_s": round(out_tps, 3) if out_tps is not None else None,
        "input_tokens_per_s": round(in_tps, 3) if in_tps is not None else None,
        "requests_per_s": round(req_tps, 4) if req_tps is not None else None,
        "usd_per_million_output_tokens": round(cost_out, 4) if cost_out is not None else None,
        "usd_per_million_input_tokens": round(cost_in, 4) if cost_in is not None else None,
    }


def read_profile(aws, location: str) -> dict:
    """profile_export_aiperf.json from the output.tar.gz under ``location``."""
    bucket, _, prefix = location[len("s3://"):].partition("/")
    listing = aws.call("s3", "list_objects_v2", f"list {location}", Bucket=bucket, Prefix=prefix)
    keys = [o["Key"] for o in listing.get("Contents") or [] if o.get("Key", "").endswith(OUTPUT_ARCHIVE)]
    if not keys:
        die(f"the benchmark job wrote no {OUTPUT_ARCHIVE} under {location}")
    body = aws.call("s3", "get_object", f"read s3://{bucket}/{keys[0]}", Bucket=bucket, Key=keys[0])["Body"].read()
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.name.endswith(PROFILE_EXPORT):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        return json.loads(handle.read().decode("utf-8"))
    except (tarfile.TarError, OSError, ValueError) as exc:
        die(f"cannot read s3://{bucket}/{keys[0]}: {exc}")
    die(f"s3://{bucket}/{keys[0]} holds no {PROFILE_EXPORT}")
    return {}


def _role(ctx, endpoint: str) -> str:
    from .naming import role_name

    if ctx.args.role_arn:
        return ctx.args.role_arn
    name = role_name(endpoint)
    return ctx.aws.call("iam", "get_role", f"read IAM role {name} (or pass --role-arn)", RoleName=name)["Role"]["Arn"]


def _token_arn(ctx) -> str | None:
    lock = ctx.lock
    if not (lock.gated and lock.secret_name):
        return None
    return ctx.aws.call("secretsmanager", "describe_secret", f"read secret {lock.secret_name}",
                        SecretId=lock.secret_name)["ARN"]


def run_managed(ctx) -> int:
    from .invoke_cmd import endpoint_target
    from .naming import sagemaker_name

    args = ctx.args
    if not args.s3 or not S3_URI.match(args.s3):
        die("--managed needs --s3 s3://bucket/prefix (where the benchmark jobs write their results)")
    if args.url:
        die("--managed benchmarks the SageMaker endpoint; --url is for the local container")
    if args.prompts:
        die("--managed sends AIPerf's synthetic prompts (--prompt-tokens); --prompts is for the local load generator")
    facts = _project_facts(ctx)
    _kind(facts)
    aws = ctx.aws
    aws.identity()
    endpoint = ctx.lock.endpoint_name(args.endpoint_name)
    found, component = endpoint_target(aws, endpoint, args.inference_component)
    if found.mode == "async":
        die(f"endpoint {endpoint} is asynchronous: AWS's benchmark measures real-time endpoints")
    instance_type = args.instance_type or (found.variants[0].get("InstanceType") if found.variants else None)
    variant = (found.endpoint.get("ProductionVariants") or [{}])[0]
    instance_count = int(variant.get("CurrentInstanceCount") or 1)
    role = _role(ctx, endpoint)
    token_arn = _token_arn(ctx)
    price = find_price(ctx, instance_type, ctx.lock.region, args.price_usd_per_hour, not args.no_price_api)
    hourly = price.usd_per_hour * instance_count if price.usd_per_hour else None
    stamp = time.strftime("%m%d%H%M%S", time.gmtime())
    target = {"Endpoint": {"Identifier": endpoint}}
    if component:
        target["Endpoint"]["InferenceComponents"] = [{"Identifier": component}]
    report = {
        "schema": "deploy-bench/1",
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "target": {"kind": "managed", "endpoint_name": endpoint, "inference_component": component,
                   "s3": args.s3},
        "server": facts["server"], "model": args.model or facts["served_name"], "request_kind": "chat",
        "region": ctx.lock.region, "instance_type": instance_type, "instance_count": instance_count,
        "price_usd_per_hour": price.usd_per_hour, "price_kind": price.kind, "price_source": price.source,
        "price_date": price.date, "price_region": price.region,
        "load": {"concurrency": args.concurrency, "requests_per_level": args.requests, "max_tokens": args.max_tokens,
                 "prompt_tokens": args.prompt_tokens, "prompts_file": None, "ignore_eos": args.ignore_eos},
        "levels": [], "notes": ["measured by SageMaker AI benchmarking (NVIDIA AIPerf), tokens by its tokenizer "
                                f"({ctx.lock.model_id})"], "managed_jobs": [],
    }
    for concurrency in args.concurrency:
        count = args.requests or max(4 * concurrency, 8)
        name = sagemaker_name(f"{endpoint[:44]}-c{concurrency}-{stamp}")
        spec = workload_spec(ctx.lock, concurrency, count, args.prompt_tokens, args.max_tokens, args.ignore_eos,
                             token_arn)
        tags = [{"Key": "project", "Value": ctx.lock.project_name}]
        aws.call("sagemaker", "create_ai_workload_config", f"create AI workload config {name}",
                 AIWorkloadConfigName=name, AIWorkloadConfigs={"WorkloadSpec": {"Inline": json.dumps(spec)}},
                 Tags=tags)
        location = f"{args.s3.rstrip('/')}/{name}/"
        aws.call("sagemaker", "create_ai_benchmark_job", f"create AI benchmark job {name}",
                 AIBenchmarkJobName=name, BenchmarkTarget=target, OutputConfig={"S3OutputLocation": location},
                 AIWorkloadConfigIdentifier=name, RoleArn=role, Tags=tags)
        info(f"benchmark job {name}: concurrency {concurrency}, {count} requests; results in {location}")
        start = time.monotonic()
        while True:
            job = aws.call("sagemaker", "describe_ai_benchmark_job", f"describe AI benchmark job {name}",
                           AIBenchmarkJobName=name)
            status = job.get("AIBenchmarkJobStatus")
            waited = time.monotonic() - start
            if status in ("Completed", "Failed", "Stopped"):
                break
            if waited > args.managed_timeout:
                die(f"benchmark job {name} is still {status} after {waited:.0f}s; it keeps running (see "
                    "DescribeAIBenchmarkJob) -- run bench --managed again later, or stop it")
            log(f"   {name}: {status} ({waited:.0f}s)")
            ctx.sleep(ctx.poll_seconds)
        report["managed_jobs"].append({"name": name, "arn": job.get("AIBenchmarkJobArn"), "status": status,
                                       "s3": (job.get("OutputConfig") or {}).get("S3OutputLocation") or location})
        if status != "Completed":
            die(f"benchmark job {name} {status.lower()}: {job.get('FailureReason') or 'no reason given'}")
        profile = read_profile(aws, (job.get("OutputConfig") or {}).get("S3OutputLocation") or location)
        report["levels"].append(managed_level(concurrency, count, profile, hourly))
    report["load"]["requests_per_level"] = args.requests or "4 x concurrency, at least 8"
    print(table(report["levels"]))
    if args.out:
        for note in write(report, args.out):
            log(f"note: {note}")
        info(f"wrote {Path(args.out) / 'bench.json'}, bench.md" + (", bench.png" if report.get("plot") else ""))
    return 0
