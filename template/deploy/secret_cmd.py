"""`secret`: store the Hugging Face token in AWS Secrets Manager, for a gated model.

The token comes from HF_TOKEN, else from standard input (asked for without echo on a
terminal); never from the command line, and it is never printed. The SageMaker execution
role reads the secret by its ARN (HF_TOKEN_SECRET_ID, set by `deploy`).
"""
from __future__ import annotations

import argparse
import os
import sys

from botocore.exceptions import ClientError

from .errors import DeployError, from_client_error, is_not_found, redact
from .ui import info, warn

TOKEN_OPTIONS = ("--token", "--hf-token")
REFUSED = ("the token is never taken from the command line (it would show in the process list and shell "
           "history); set HF_TOKEN or pipe it on stdin")


class RefuseToken(argparse.Action):
    """--token/--hf-token: refused with one line that does not repeat the value (argparse's own
    'unrecognized arguments' error would print it)."""

    def __init__(self, option_strings, dest, refusal: str = REFUSED, **kwargs):
        self.refusal = refusal
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.exit(1, f"error: {self.refusal}\n")


def add_token_refusal(parser, refusal: str = REFUSED) -> None:
    parser.add_argument(*TOKEN_OPTIONS, action=RefuseToken, refusal=refusal, dest="refused_token")


def read_token(secret_name: str) -> str:
    token = os.environ.get("HF_TOKEN") or ""
    if not token:
        if sys.stdin is not None and sys.stdin.isatty():
            import getpass

            token = getpass.getpass(f"Hugging Face token for {secret_name}: ")
        elif sys.stdin is not None:
            token = sys.stdin.readline()
    token = "".join(token.split())
    if not token:
        raise DeployError("no token: set HF_TOKEN or pass the token on standard input")
    if not token.startswith("hf_"):
        warn("the token does not start with 'hf_'; storing it anyway")
    return token


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "secret", help="store the Hugging Face token in Secrets Manager (gated models)",
        description="Creates (or updates) the Secrets Manager secret named by project.hf_token_secret_name in "
                    "model.lock.json with the token from the HF_TOKEN environment variable, or else from "
                    "standard input (asked for on a terminal without echo). The token is never taken from the "
                    "command line and never printed. Prints the secret's ARN on stdout; python -m deploy deploy "
                    "gives the endpoint's role read access to exactly that secret.")
    p.add_argument("--secret-name", help="override project.hf_token_secret_name")
    p.add_argument("--kms-key-id", help="encrypt with this KMS key (on create; the execution role then also "
                                        "needs kms:Decrypt on it)")
    add_token_refusal(p)
    p.set_defaults(handler=run)


def store(aws, secret_name: str, token: str, project_name: str, kms_key: str | None = None) -> str:
    """Creates or updates the secret; returns its ARN. No error message carries the token."""
    client = aws.client("secretsmanager")
    try:
        try:
            arn = client.describe_secret(SecretId=secret_name)["ARN"]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            info(f"creating secret {secret_name}")
            request = {"Name": secret_name, "SecretString": token,
                       "Description": f"Hugging Face token for {project_name} (read by the SageMaker container)",
                       "Tags": [{"Key": "project", "Value": project_name}]}
            if kms_key:
                request["KmsKeyId"] = kms_key
            return client.create_secret(**request)["ARN"]
        info(f"updating secret {secret_name}")
        client.put_secret_value(SecretId=secret_name, SecretString=token)
        return arn
    except ClientError as exc:
        # AWS's messages do not echo the value, but be certain: the token is cut out of any.
        error = from_client_error(exc, f"store secret {secret_name}", region=aws.region)
        raise DeployError(redact(str(error)).replace(token, "***")) from None


def run(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    secret_name = args.secret_name or lock.secret_name
    if not secret_name:
        raise DeployError("model.lock.json has no project.hf_token_secret_name: the model is not gated, so no "
                          "secret is needed (use --secret-name to store one anyway)")
    token = read_token(secret_name)
    aws = ctx.aws
    aws.identity()
    try:
        arn = store(aws, secret_name, token, lock.project_name, args.kms_key_id)
    finally:
        token = ""
    info("stored; python -m deploy deploy will give the endpoint read access to exactly this secret")
    print(arn, flush=True)
    return 0
