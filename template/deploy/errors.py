"""Known failures as one message each: exit 1, no traceback.

- ``DeployError(message)``: raise it (or call ``die(message)``) for any failure the user can fix;
  deploy/__main__.py prints ``error: <message>`` and exits 1.
- ``from_client_error(exc, doing, ...)``: a botocore ``ClientError`` turned into a DeployError by
  its error *code* (never its message text): quotas, validation (with the instance-type case),
  access, not found, throttling, credentials. ``doing`` says what was being done
  ("create endpoint config demo").
- ``code(exc)``, ``is_not_found(exc)``: the code sets, for callers that handle one case themselves.
- ``redact(text)``: Hugging Face tokens replaced; every message goes through it.
"""
from __future__ import annotations

import re

from botocore.exceptions import ClientError

QUOTAS_URL = "https://console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas"

NOT_FOUND_CODES = frozenset({
    "ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException",
    "RepositoryNotFoundException", "ImageNotFoundException", "NoSuchKey", "NoSuchBucket", "404",
    "NotFound", "NoSuchResource", "ObjectNotFoundException",
})
THROTTLING_CODES = frozenset({
    "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
    "SlowDown", "RequestThrottled", "RequestThrottledException", "ProvisionedThroughputExceededException",
})
ACCESS_CODES = frozenset({
    "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized",
    "AuthorizationError", "403",
})
CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "InvalidSignatureException", "SignatureDoesNotMatch", "InvalidAccessKeyId", "MissingAuthenticationToken",
})
_TOKEN = re.compile(r"hf_[A-Za-z0-9]{8,}")


class DeployError(Exception):
    """A failure with a message that says what to do; printed without a traceback, exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))
        self.message = redact(message)

    def __str__(self) -> str:
        return self.message


def die(message: str):
    """Raise DeployError(message)."""
    raise DeployError(message)


def redact(text: str) -> str:
    """``text`` with anything that looks like a Hugging Face token replaced by hf_***."""
    return _TOKEN.sub("hf_***", str(text))


def code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "")
    return ""


def aws_message(exc: BaseException) -> str:
    """AWS's own message of a ClientError (shown to the user, never parsed)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        text = " ".join(str(err.get("Message") or err.get("Code") or exc).split())
    else:
        text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:400] + "..."


def is_not_found(exc: BaseException) -> bool:
    """The error code says the resource does not exist."""
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code(exc) in NOT_FOUND_CODES or (status == 404 and not code(exc))


def is_throttling(exc: BaseException) -> bool:
    return code(exc) in THROTTLING_CODES


def from_client_error(exc: ClientError, doing: str, *, instance_type: str | None = None,
                      region: str | None = None, hint: str = "") -> DeployError:
    """One DeployError for ``exc``, chosen by its code.

    ``doing``: what failed, in words ("create endpoint demo"). ``instance_type``/``region``: pass
    them for calls that choose hardware (CreateEndpointConfig, CreateEndpoint, UpdateEndpoint,
    CreateInferenceComponent): a ValidationException there is the instance-type case (not
    offered in the region) and ResourceLimitExceeded names the quota. ``hint`` is appended.
    """
    c = code(exc)
    aws = aws_message(exc)
    where = f" in {region}" if region else ""
    if c == "ResourceLimitExceeded":
        if instance_type:
            msg = (f"your account may not run more {instance_type} endpoint instances{where} "
                   f"(AWS: {aws}). Ask for more in Service Quotas (quota '{instance_type} for endpoint usage': "
                   f"{QUOTAS_URL}), or deploy another instance type (--instance-type) or in another region "
                   "(project.aws_region in model.lock.json, or regenerate with awsRegion=...).")
        else:
            msg = (f"a SageMaker quota stops {doing}{where} (AWS: {aws}). Ask for more in Service Quotas "
                   f"({QUOTAS_URL}), or ask for less.")
    elif c in ("ValidationException", "ValidationError") and instance_type:
        msg = (f"SageMaker refused {instance_type} for {doing}{where} (AWS: {aws}). The type is valid, so the "
               "region probably does not offer it for endpoints: deploy in a region that has it "
               "(project.aws_region in model.lock.json, or regenerate with awsRegion=...), or choose another "
               "instance type (--instance-type, or regenerate with instanceType=...).")
    elif c in ("ValidationException", "ValidationError", "InvalidParameterValueException",
               "InvalidParameterException", "InvalidRequestException"):
        msg = f"AWS refused to {doing} (AWS {c}: {aws}). Correct the value it names and run again."
    elif c in ACCESS_CODES:
        msg = (f"your AWS identity may not {doing} (AWS {c}: {aws}). Ask your administrator for the permission "
               "named there, or use credentials that have it (AWS_PROFILE).")
    elif c in NOT_FOUND_CODES:
        msg = f"cannot {doing}: it was not found (AWS {c}: {aws})."
    elif c in THROTTLING_CODES:
        msg = (f"AWS kept throttling the requests to {doing} even after retries (AWS {c}: {aws}). "
               "Wait a minute and run the command again.")
    elif c in CREDENTIAL_CODES:
        msg = (f"the AWS credentials were refused while trying to {doing} (AWS {c}: {aws}). Refresh them "
               "(log in again for SSO, a new session token) or choose others (AWS_PROFILE, "
               "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).")
    else:
        msg = f"could not {doing} (AWS {c or 'error'}: {aws})."
    if hint:
        msg = f"{msg} {hint}"
    return DeployError(msg)
