#!/usr/bin/env python3
"""Stream a chat completion from a SageMaker endpoint and print the text as it arrives.

Uses InvokeEndpointWithResponseStream (boto3). The service hands the container's
chunked response back as PayloadPart events whose boundaries need not match lines,
so the parts are buffered and split on newlines. Each line is either an SSE
`data: {...}` line (vLLM, SGLang, TensorRT-LLM) or a bare JSON line (LMI/DJL).
The text of each chunk is printed to stdout as soon as its line is complete.

Usage: stream_client.py --endpoint-name NAME [--inference-component-name IC] [--region R]
                        [--prompt TEXT | --body-file F]
Honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME and --endpoint-url.
"""
from __future__ import annotations

import argparse
import json
import sys


def chunk_text(obj) -> str:
    """The generated text in one streamed JSON object (OpenAI chat/completions, TGI, LMI)."""
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


class StreamError(RuntimeError):
    pass


class LineDecoder:
    """Turns byte parts into text pieces; handles SSE `data:` lines and JSON lines."""

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
        line = raw.decode("utf-8", errors="replace").strip()
        if not line or self.done:
            return
        if line.startswith(":") or line.startswith(("event:", "id:", "retry:")):
            return  # SSE comment or field we do not need
        if line.startswith("data:"):
            line = line[5:].strip()
            if line == "[DONE]":
                self.done = True
                return
        try:
            obj = json.loads(line)
        except ValueError:
            raise StreamError(f"unexpected line in the stream: {line[:200]}") from None
        text = chunk_text(obj)
        if text:
            yield text


def request_body(args) -> bytes:
    if args.body_file:
        with open(args.body_file, "rb") as fh:
            return fh.read()
    body = {
        "messages": [{"role": "user", "content": args.prompt}],
        "max_tokens": args.max_tokens,
        "stream": True,
    }
    if args.model:
        body["model"] = args.model
    return json.dumps(body).encode()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--inference-component-name", default=None,
                        help="the inference component to address (endpoints deployed with --inference-component)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="SageMaker Runtime endpoint URL (tests)")
    parser.add_argument("--prompt", default="Write a haiku about the sea.")
    parser.add_argument("--model", default=None, help="value of the request's 'model' field")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--body-file", default=None, help="send this JSON body as is")
    parser.add_argument("--read-timeout", type=int, default=120)
    args = parser.parse_args(argv)

    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        print("error: stream_client.py needs boto3 (pip install boto3)", file=sys.stderr)
        return 2

    client = boto3.client(
        "sagemaker-runtime",
        region_name=args.region,
        endpoint_url=args.endpoint_url,
        config=Config(read_timeout=args.read_timeout, retries={"max_attempts": 1}),
    )
    decoder = LineDecoder()
    wrote = False
    try:
        request = {"EndpointName": args.endpoint_name, "Body": request_body(args),
                   "ContentType": "application/json",
                   "Accept": "text/event-stream, application/jsonlines, application/json"}
        if args.inference_component_name:
            request["InferenceComponentName"] = args.inference_component_name
        response = client.invoke_endpoint_with_response_stream(**request)
        for event in response["Body"]:
            if "PayloadPart" in event:
                for text in decoder.feed(event["PayloadPart"].get("Bytes", b"")):
                    sys.stdout.write(text)
                    sys.stdout.flush()
                    wrote = True
            elif "ModelStreamError" in event:
                err = event["ModelStreamError"]
                raise StreamError(f"model stream error {err.get('ErrorCode', '')}: {err.get('Message', '')}")
            elif "InternalStreamFailure" in event:
                raise StreamError(f"internal stream failure: {event['InternalStreamFailure'].get('Message', '')}")
        for text in decoder.flush():
            sys.stdout.write(text)
            wrote = True
    except StreamError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        print(f"error: {exc.response.get('Error', {}).get('Message') or exc}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if wrote:
        sys.stdout.write("\n")
    sys.stdout.flush()
    if not wrote:
        print("error: the stream ended without any text", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
