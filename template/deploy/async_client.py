#!/usr/bin/env python3
"""Send one request to an asynchronous SageMaker endpoint and wait for its answer.

For endpoints made with `deploy/deploy.sh --async s3://bucket/prefix/`: the
request (a JSON file, or a chat request built from --prompt) is uploaded to
s3://bucket/prefix/input/<id>.json, submitted with InvokeEndpointAsync, and the
answer is polled for at the output location SageMaker returns
(s3://bucket/prefix/output/<id>.out); an object at the failure location ends
the wait with its text. A generation may run for up to an hour this way (the
real-time limit is 60 s). Prints the answer's text, or the whole answer with
--raw. Needs boto3.

Usage: async_client.py --endpoint-name NAME [--request-file F | --prompt TEXT]
Honours AWS_ENDPOINT_URL and --endpoint-url (one URL for S3, SageMaker and its runtime).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stream_client import StreamError, chunk_text  # noqa: E402


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def input_prefix(output_path: str) -> str:
    """s3://bucket/prefix/output/ -> s3://bucket/prefix/input/ (deploy.sh's layout)."""
    base = output_path.rstrip("/")
    if base.endswith("/output"):
        base = base[: -len("/output")]
    return base + "/input/"


def request_body(args) -> bytes:
    if args.request_file:
        with open(args.request_file, "rb") as fh:
            data = fh.read()
        json.loads(data)  # fail here, not an hour later, when the file is not JSON
        return data
    body = {"messages": [{"role": "user", "content": args.prompt}], "max_tokens": args.max_tokens,
            "stream": False}
    if args.model:
        body["model"] = args.model
    return json.dumps(body).encode()


def exists(s3, uri: str) -> bool:
    from botocore.exceptions import ClientError

    bucket, key = split_s3(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def read(s3, uri: str) -> bytes:
    bucket, key = split_s3(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def answer_text(raw: bytes) -> str | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):  # DJL: [{"generated_text": ...}]
        obj = obj[0]
    text = chunk_text(obj)
    return text or None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-name", required=True)
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="one endpoint URL for all AWS calls (tests)")
    parser.add_argument("--request-file", default=None, help="send this JSON file as the request body")
    parser.add_argument("--prompt", default="Write a haiku about the sea.")
    parser.add_argument("--model", default=None, help="value of the request's 'model' field")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--input-location", default=None,
                        help="S3 prefix for the request (default: <prefix>input/ beside the endpoint's output)")
    parser.add_argument("--invocation-timeout", type=int, default=None,
                        help="seconds the container may take (InvocationTimeoutSeconds, at most 3600)")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between looks at S3")
    parser.add_argument("--timeout", type=float, default=3900.0, help="seconds to wait for the answer")
    parser.add_argument("--raw", action="store_true", help="print the whole answer, not just its text")
    args = parser.parse_args(argv)

    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        print("error: async_client.py needs boto3 (pip install boto3)", file=sys.stderr)
        return 2

    def client(name):
        return boto3.client(name, region_name=args.region, endpoint_url=args.endpoint_url)

    sagemaker, runtime, s3 = client("sagemaker"), client("sagemaker-runtime"), client("s3")
    try:
        config_name = sagemaker.describe_endpoint(EndpointName=args.endpoint_name)["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        output = (config.get("AsyncInferenceConfig") or {}).get("OutputConfig") or {}
        if not output.get("S3OutputPath"):
            print(f"error: endpoint {args.endpoint_name} is not asynchronous (deploy it with deploy/deploy.sh "
                  "--async s3://bucket/prefix/, or use deploy/test.sh)", file=sys.stderr)
            return 1
        request_id = str(uuid.uuid4())
        prefix = args.input_location or input_prefix(output["S3OutputPath"])
        input_uri = prefix.rstrip("/") + f"/{request_id}.json"
        bucket, key = split_s3(input_uri)
        s3.put_object(Bucket=bucket, Key=key, Body=request_body(args), ContentType="application/json")
        request = {"EndpointName": args.endpoint_name, "InputLocation": input_uri,
                   "ContentType": "application/json", "Accept": "application/json", "InferenceId": request_id}
        if args.invocation_timeout:
            request["InvocationTimeoutSeconds"] = args.invocation_timeout
        response = runtime.invoke_endpoint_async(**request)
        out_uri, fail_uri = response["OutputLocation"], response.get("FailureLocation")
        print(f"submitted {input_uri}; waiting for {out_uri}", file=sys.stderr)
        deadline = time.monotonic() + args.timeout
        while True:
            if exists(s3, out_uri):
                raw = read(s3, out_uri)
                break
            if fail_uri and exists(s3, fail_uri):
                print(f"error: the endpoint failed the request: {read(s3, fail_uri)[:2000].decode(errors='replace')}",
                      file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(f"error: no answer at {out_uri} after {args.timeout:.0f}s; it may still come "
                      "(see deploy/status.sh and deploy/logs.sh)", file=sys.stderr)
                return 1
            time.sleep(args.poll)
    except (ClientError, BotoCoreError, ValueError, OSError) as exc:
        message = exc.response.get("Error", {}).get("Message") if isinstance(exc, ClientError) else None
        print(f"error: {message or exc}", file=sys.stderr)
        return 1
    try:
        text = None if args.raw else answer_text(raw)
    except StreamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write((text if text is not None else raw.decode("utf-8", errors="replace")).rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
