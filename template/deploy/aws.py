"""boto3 clients for the deploy commands.

``Aws(region, session=None)``:
- ``client(service)``: a cached boto3 client for ``region`` with botocore's standard retry
  mode (``CONFIG``; AWS_MAX_ATTEMPTS sets the attempts). Endpoints: botocore's own
  configuration, so ``AWS_ENDPOINT_URL`` and
  ``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_SAGEMAKER``) are honoured as they
  were by the AWS CLI; the credential chain, ``AWS_PROFILE`` as usual.
- ``account_id`` / ``partition`` / ``caller_arn``: from STS GetCallerIdentity (once); no usable
  credentials is a DeployError that says how to configure them.
- ``call(service, operation, doing, **params)``: client.<operation>(**params) with a ClientError
  turned into the DeployError of deploy.errors.from_client_error(doing=...).
- ``ecr_registry()``: ``ECR_REGISTRY`` or <account>.dkr.ecr.<region>.amazonaws.com[.cn].

Tests pass their own ``boto3.Session`` (``session=``), e.g. one with event handlers.
"""
from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from .errors import DeployError, die, from_client_error

# botocore's standard retry mode (throttling and transient errors, with backoff); the number of
# attempts is botocore's default (3) unless AWS_MAX_ATTEMPTS or the profile's max_attempts says.
CONFIG = Config(retries={"mode": "standard"}, user_agent_extra="deploy-tool/1")


class Aws:
    def __init__(self, region: str, session: boto3.Session | None = None) -> None:
        self.region = region
        self.session = session or boto3.Session()
        self._clients: dict[str, Any] = {}
        self._identity: dict | None = None

    def client(self, service: str):
        """A boto3 client of ``service`` in this region (cached)."""
        if service not in self._clients:
            try:
                self._clients[service] = self.session.client(service, region_name=self.region, config=CONFIG)
            except (NoRegionError, BotoCoreError) as exc:
                die(f"cannot make an AWS client for {service}: {exc}")
        return self._clients[service]

    def call(self, service: str, operation: str, doing: str, **params):
        """``client(service).<operation>(**params)``; a ClientError becomes a DeployError."""
        method = getattr(self.client(service), operation)
        try:
            return method(**params)
        except ClientError as exc:
            raise from_client_error(exc, doing, region=self.region) from None
        except NoCredentialsError:
            raise no_credentials() from None

    def identity(self) -> dict:
        """STS GetCallerIdentity's answer (once); a DeployError when credentials do not work."""
        if self._identity is None:
            try:
                self._identity = self.client("sts").get_caller_identity()
            except NoCredentialsError:
                raise no_credentials() from None
            except ClientError as exc:
                raise no_credentials(f"sts GetCallerIdentity failed: {exc.response.get('Error', {}).get('Code')}"
                                     f": {exc.response.get('Error', {}).get('Message')}") from None
            except BotoCoreError as exc:
                raise no_credentials(str(exc)) from None
        return self._identity

    @property
    def caller_arn(self) -> str:
        return str(self.identity().get("Arn") or "")

    @property
    def account_id(self) -> str:
        account = str(self.identity().get("Account") or "")
        if not account:
            die(f"could not read the AWS account id from {self.caller_arn!r}")
        return account

    @property
    def partition(self) -> str:
        parts = self.caller_arn.split(":")
        return parts[1] if len(parts) > 1 and parts[1] else "aws"

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        """arn:<partition>:<service>:<region>:<account>:<resource>."""
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")

    def ecr_registry(self) -> str:
        preset = os.environ.get("ECR_REGISTRY", "").rstrip("/")
        if preset:
            return preset
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"{self.account_id}.dkr.ecr.{self.region}.{suffix}"


def no_credentials(detail: str = "no credentials found") -> DeployError:
    return DeployError(
        f"no usable AWS credentials ({detail}). Set AWS_PROFILE to a profile in ~/.aws/config (for SSO: log "
        "in first), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).")
