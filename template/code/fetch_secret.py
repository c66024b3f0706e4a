#!/usr/bin/env python3
"""Print the value of an AWS Secrets Manager secret (the HF token) to standard output.

Used by ``serve`` at container start: ``HF_TOKEN=$(python3 fetch_secret.py "$HF_TOKEN_SECRET_ID")``.
Standard library only, because the server images do not all ship boto3 (boto3 is used when
present). Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], else the
container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), else
the instance metadata service. Endpoint: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL,
else https://secretsmanager.<region>.amazonaws.com. The value is never logged.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT_S = 10


def _region(secret_id: str) -> str:
    if secret_id.startswith("arn:"):
        return secret_id.split(":")[3]
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise SystemExit("fetch_secret: set AWS_REGION (or pass the secret's ARN)")
    return region


def _get_json(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> dict:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (fixed hosts)
        return json.loads(response.read().decode())


def _credentials() -> tuple[str, str, str | None]:
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
    url = None
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        url = "http://169.254.170.2" + env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    elif env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    if url:
        headers = {}
        if env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
            headers["Authorization"] = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        data = _get_json(url, headers)
    else:
        base = "http://169.254.169.254/latest"
        request = urllib.request.Request(base + "/api/token", method="PUT",
                                         headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            imds = {"X-aws-ec2-metadata-token": response.read().decode()}
        role = urllib.request.urlopen(urllib.request.Request(  # noqa: S310
            base + "/meta-data/iam/security-credentials/", headers=imds), timeout=2).read().decode().split()[0]
        data = _get_json(f"{base}/meta-data/iam/security-credentials/{role}", imds)
    return data["AccessKeyId"], data["SecretAccessKey"], data.get("Token")


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def get_secret_value(secret_id: str) -> str:
    region = _region(secret_id)
    endpoint = (os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or os.environ.get("AWS_ENDPOINT_URL")
                or f"https://secretsmanager.{region}.amazonaws.com").rstrip("/")
    access_key, secret_key, session_token = _credentials()
    body = json.dumps({"SecretId": secret_id}).encode()
    host = urllib.parse.urlparse(endpoint).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-date": amz_date,
               "x-amz-target": "secretsmanager.GetSecretValue"}
    if session_token:
        headers["x-amz-security-token"] = session_token
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
                           hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{region}/secretsmanager/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(("AWS4" + secret_key).encode(), day), region), "secretsmanager"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
                                f"Signature={signature}")
    request = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
        answer = json.loads(response.read().decode())
    value = answer.get("SecretString")
    if value is None:
        raise SystemExit(f"fetch_secret: secret {secret_id} has no SecretString")
    return value


def _boto3_value(secret_id: str) -> str | None:
    try:
        import boto3  # type: ignore[import-not-found]
    except ImportError:
        return None
    client = boto3.client("secretsmanager", region_name=_region(secret_id))
    return client.get_secret_value(SecretId=secret_id)["SecretString"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: fetch_secret.py SECRET_ID_OR_ARN", file=sys.stderr)
        return 2
    secret_id = argv[1]
    try:
        value = _boto3_value(secret_id)
        if value is None:
            value = get_secret_value(secret_id)
    except urllib.error.HTTPError as exc:
        print(f"fetch_secret: Secrets Manager answered HTTP {exc.code} for {secret_id}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError) as exc:
        print(f"fetch_secret: cannot read {secret_id}: {type(exc).__name__}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - boto3 errors; never print the value
        print(f"fetch_secret: cannot read {secret_id}: {type(exc).__name__}", file=sys.stderr)
        return 1
    value = value.strip()
    if value.startswith("{"):  # a JSON secret: {"HF_TOKEN": "..."}
        try:
            data = json.loads(value)
            value = data.get("HF_TOKEN") or data.get("token") or value
        except ValueError:
            pass
    sys.stdout.write(value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
