"""SageMaker lookups shared by the commands (deploy, status, cleanup, logs, autoscale, test).

Existence is decided by SageMaker's List* calls (an exact name among ``NameContains`` answers),
never by the text of an error message:
- ``exists(aws, kind, name)``: kind "endpoint", "endpoint-config", "model", "inference-component".
- ``describe(aws, kind, name)``: the Describe* answer, or None when there is no such resource.
- ``endpoint_facts(aws, name)``: EndpointFacts (status, config, mode "ic"/"async"/"model",
  models, image(s) serving) or None when there is no endpoint.
- ``endpoint_ics(aws, endpoint)``: names of its inference components; ``pick_ic(...)``.
- ``wait_for(ctx, kind, name, timeout, ...)``: poll until InService (botocore's waiter for
  endpoints), print progress; a failure raises DeployError with the failure reason after printing
  the last CloudWatch log lines. ``wait_deleted(ctx, name)``: botocore's endpoint_deleted waiter.
- ``print_logs(aws, group, lines=50)``: the newest lines of the two newest log streams.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from .errors import DeployError, die, from_client_error, is_not_found
from .naming import ic_log_group, log_group
from .ui import info, log

_LIST = {  # kind -> (ListX operation, answer key, name key)
    "endpoint": ("list_endpoints", "Endpoints", "EndpointName"),
    "endpoint-config": ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"),
    "model": ("list_models", "Models", "ModelName"),
    "inference-component": ("list_inference_components", "InferenceComponents", "InferenceComponentName"),
}
_DESCRIBE = {
    "endpoint": ("describe_endpoint", "EndpointName"),
    "endpoint-config": ("describe_endpoint_config", "EndpointConfigName"),
    "model": ("describe_model", "ModelName"),
    "inference-component": ("describe_inference_component", "InferenceComponentName"),
}


def _pages(aws, operation: str, key: str, **params):
    sm = aws.client("sagemaker")
    token = None
    while True:
        call = dict(params, **({"NextToken": token} if token else {}))
        try:
            page = getattr(sm, operation)(**call)
        except ClientError as exc:
            raise from_client_error(exc, f"list SageMaker resources ({operation})", region=aws.region) from None
        yield from page.get(key) or []
        token = page.get("NextToken")
        if not token:
            return


def exists(aws, kind: str, name: str) -> bool:
    operation, key, name_key = _LIST[kind]
    return any(item.get(name_key) == name for item in _pages(aws, operation, key, NameContains=name))


def describe(aws, kind: str, name: str) -> dict | None:
    """The Describe* answer for ``name``, or None when it does not exist (checked with List*)."""
    operation, name_key = _DESCRIBE[kind]
    try:
        return getattr(aws.client("sagemaker"), operation)(**{name_key: name})
    except ClientError as exc:
        if is_not_found(exc) or not exists(aws, kind, name):
            return None
        raise from_client_error(exc, f"describe {kind} {name}", region=aws.region) from None


@dataclass
class EndpointFacts:
    name: str
    endpoint: dict
    config: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.endpoint.get("EndpointStatus") or "")

    @property
    def config_name(self) -> str:
        return str(self.endpoint.get("EndpointConfigName") or "")

    @property
    def variants(self) -> list[dict]:
        return list(self.config.get("ProductionVariants") or [])

    @property
    def mode(self) -> str:
        """'async' (AsyncInferenceConfig), 'ic' (the variant names no model), else 'model'."""
        first = (self.variants or [{}])[0]
        if self.config.get("AsyncInferenceConfig"):
            return "async"
        if not first.get("ModelName") and first.get("InstanceType"):
            return "ic"
        return "model"

    @property
    def models(self) -> list[str]:
        return [v["ModelName"] for v in self.variants if v.get("ModelName")]


def endpoint_facts(aws, name: str) -> EndpointFacts | None:
    endpoint = describe(aws, "endpoint", name)
    if endpoint is None:
        return None
    config = describe(aws, "endpoint-config", endpoint.get("EndpointConfigName") or "") or {}
    return EndpointFacts(name, endpoint, config)


def model_image(aws, model_name: str) -> str | None:
    """The image a model runs (PrimaryContainer.Image), None when the model is gone."""
    model = describe(aws, "model", model_name)
    if not model:
        return None
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return container.get("Image")


def endpoint_ics(aws, endpoint: str) -> list[str]:
    return [ic["InferenceComponentName"] for ic in
            _pages(aws, "list_inference_components", "InferenceComponents", EndpointNameEquals=endpoint)]


def pick_ic(aws, endpoint: str, wanted: str | None = None) -> str:
    """``wanted`` when the endpoint hosts it; without it the endpoint's only component, or its only base
    component (one without Specification.BaseInferenceComponentName) when adapters sit beside it."""
    names = endpoint_ics(aws, endpoint)
    if not names:
        die(f"endpoint '{endpoint}' hosts no inference component yet (see python -m deploy status)")
    if wanted:
        if wanted not in names:
            die(f"endpoint '{endpoint}' hosts no inference component '{wanted}' (it hosts: {' '.join(names)})")
        return wanted
    if len(names) == 1:
        return names[0]
    # Several: adapter components (python -m deploy adapter add, named <base>-<adapter>) beside the base,
    # which deploy names after the endpoint; without a name the base is meant (deploy's update, test,
    # stream, autoscale, logs). The names come first: only when one of them can be that base are the
    # components described, and the base is the one without Specification.BaseInferenceComponentName.
    bases = []
    if any(n == endpoint or all(o == n or o.startswith(n + "-") for o in names) for n in names):
        for name in names:
            component = describe(aws, "inference-component", name)
            if component is not None and not (component.get("Specification") or {}).get("BaseInferenceComponentName"):
                bases.append(name)
        if len(bases) == 1:
            return bases[0]
    die(f"endpoint '{endpoint}' hosts several {'base ' if len(bases) > 1 else ''}inference components "
        f"({' '.join(bases if len(bases) > 1 else names)}); choose one with --inference-component-name")


def print_logs(aws, group: str, lines: int = 50) -> None:
    """The newest ``lines`` lines of the two newest streams of ``group`` (on stderr)."""
    logs = aws.client("logs")
    try:
        streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True,
                                            limit=2).get("logStreams") or []
    except ClientError as exc:
        log(f"(no CloudWatch logs in {group}: {exc.response.get('Error', {}).get('Code')})")
        return
    if not streams:
        log(f"(log group {group} has no streams yet)")
        return
    for stream in streams:
        name = stream["logStreamName"]
        log(f"---- last {lines} lines of {group}/{name} ----")
        try:
            events = logs.get_log_events(logGroupName=group, logStreamName=name, limit=lines,
                                         startFromHead=False).get("events") or []
        except ClientError as exc:
            log(f"(cannot read {name}: {exc.response.get('Error', {}).get('Code')})")
            continue
        for event in events:
            log(str(event.get("message", "")).rstrip("\n"))


FAILED = ("Failed", "OutOfService", "RollingBack")


def waiter_poll(ctx, waiter_name: str, **params) -> tuple[str, dict]:
    """One attempt of botocore's SageMaker waiter ``waiter_name`` (its own acceptors decide):
    ("success" | "failure" | "pending", the last answer; {} on success or when the resource is gone).
    The caller polls it DEPLOY_POLL_SECONDS apart, printing each status."""
    from botocore.exceptions import WaiterError

    waiter = ctx.aws.client("sagemaker").get_waiter(waiter_name)
    try:
        waiter.wait(WaiterConfig={"Delay": 1, "MaxAttempts": 1}, **params)
        return "success", {}
    except WaiterError as exc:
        last = exc.last_response or {}
        if "Error" in last:
            # A waiter that ends on an error code (endpoint_in_service: ValidationException = gone).
            return "failure", {}
        if str(last.get("EndpointStatus") or "") == "Failed":
            return "failure", last
        return "pending", last


def wait_for(ctx, kind: str, name: str, timeout: int, *, endpoint: str | None = None,
             done: tuple[str, ...] = ("InService",), on_failure=None, hint: str = "") -> dict:
    """Wait until ``kind`` ("endpoint" or "inference-component") is InService (or in ``done``).

    Endpoints: botocore's ``endpoint_in_service`` waiter, one attempt per poll; inference
    components (boto3 has no waiter for them): DescribeInferenceComponent. Prints each status with
    the elapsed time. On Failed/OutOfService/gone: prints the failure reason and the last
    CloudWatch log lines, then calls ``on_failure(reason, answer)`` when given (it may raise its
    own DeployError), else raises DeployError. After ``timeout`` seconds: the log lines and a
    DeployError (``hint`` appended to both messages). Returns the last Describe answer.
    """
    status_key = "EndpointStatus" if kind == "endpoint" else "InferenceComponentStatus"
    group = log_group(name) if kind == "endpoint" else ic_log_group(name)
    use_waiter = kind == "endpoint" and done == ("InService",)
    info(f"waiting for {kind} {name} to be {'/'.join(done)} (up to {timeout}s; Ctrl-C stops waiting, not "
         "the deployment)")
    start = time.monotonic()
    last = None
    while True:
        if use_waiter:
            state, answer = waiter_poll(ctx, "endpoint_in_service", EndpointName=name)
            if state == "success":
                answer = describe(ctx.aws, kind, name) or {"EndpointStatus": "InService"}
            elif state == "failure" and not answer:
                answer = describe(ctx.aws, kind, name) or {}
        else:
            answer = describe(ctx.aws, kind, name) or {}
        status = str(answer.get(status_key) or "")
        elapsed = int(time.monotonic() - start)
        log(f"   [{elapsed:4d}s] {status or 'gone'}" if status != last else f"   [{elapsed:4d}s] still {status}")
        last = status
        if status in done:
            return answer
        if status in FAILED or not status:
            reason = str(answer.get("FailureReason") or "unknown")
            log(f"{kind} {name}: {status or 'gone'}; reason: {reason}")
            print_logs(ctx.aws, group)
            if on_failure is not None:
                on_failure(reason, answer)
            raise DeployError(f"{kind} {name} failed ({reason}).{' ' + hint if hint else ''}")
        if elapsed >= timeout:
            print_logs(ctx.aws, group)
            raise DeployError(f"{kind} {name} is still {status} after {elapsed}s; check `python -m deploy status` "
                              f"later.{' ' + hint if hint else ''}")
        ctx.sleep(ctx.poll_seconds)


def wait_deleted(ctx, name: str, timeout: int = 1200) -> bool:
    """botocore's ``endpoint_deleted`` waiter, one attempt per poll; False after ``timeout`` or when the
    endpoint turned Failed instead."""
    start = time.monotonic()
    while True:
        state, _ = waiter_poll(ctx, "endpoint_deleted", EndpointName=name)
        if state != "pending":
            return state == "success"
        if time.monotonic() - start > timeout:
            return False
        ctx.sleep(ctx.poll_seconds)
