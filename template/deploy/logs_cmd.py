"""`logs`: print (or follow) the endpoint's CloudWatch logs (FilterLogEvents), oldest first.

(The last lines of a log group that other commands print after a failure are
deploy.endpoints.print_logs.)
"""
from __future__ import annotations

import time

from botocore.exceptions import ClientError

from .argtypes import whole as _whole
from . import endpoints
from .errors import DeployError, from_client_error, is_not_found
from .naming import ic_log_group, log_group
from .invoke_cmd import add_component_option
from .ui import log


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "logs", help="print (or follow) the endpoint's CloudWatch logs",
        description="Prints the log events of /aws/sagemaker/Endpoints/<endpoint> (or, with "
                    "--inference-component-name, of /aws/sagemaker/InferenceComponents/<component>) from the "
                    "last --since minutes, oldest first; --follow keeps polling for new events.")
    p.add_argument("--endpoint-name", help="endpoint (default: the project name)")
    add_component_option(p, "print this inference component's log group instead")
    p.add_argument("--since", type=_whole, default=60, metavar="MINUTES", help="how far back to start (default 60)")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events (Ctrl-C to stop)")
    p.add_argument("--interval", type=_whole, default=5, metavar="SECONDS",
                   help="polling interval with --follow (default 5)")
    p.set_defaults(handler=run)


def events_since(logs, group: str, start_ms: int) -> list[dict]:
    """Every event of `group` from `start_ms` on (all pages), oldest first."""
    events: list[dict] = []
    params = {"logGroupName": group, "startTime": start_ms}
    while True:
        page = logs.filter_log_events(**params)
        events.extend(page.get("events") or [])
        token = page.get("nextToken")
        if not token or token == params.get("nextToken"):
            break
        params["nextToken"] = token
    events.sort(key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))
    return events


def line(event: dict) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.get("timestamp", 0) / 1000))
    return f"{stamp} {str(event.get('message', '')).rstrip()}"


def run(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    endpoint = lock.endpoint_name(args.endpoint_name)
    aws = ctx.aws
    aws.identity()
    component = args.inference_component
    if component == "":  # --inference-component without a name: the endpoint's only one
        component = endpoints.pick_ic(aws, endpoint)
    group = ic_log_group(component) if component else log_group(endpoint)
    logs = aws.client("logs")
    start_ms = int((time.time() - args.since * 60) * 1000)
    seen: set[str] = set()
    while True:
        try:
            events = events_since(logs, group, start_ms)
        except ClientError as exc:
            if not is_not_found(exc):
                raise from_client_error(exc, f"read log group {group}") from None
            if not args.follow:
                raise DeployError(f"log group {group} does not exist (yet); has the endpoint started?") from None
            log(f"(waiting for log group {group})")
            ctx.sleep(args.interval)
            continue
        for event in events:
            key = str(event.get("eventId") or f"{event.get('timestamp')}/{event.get('message')}")
            if key in seen:
                continue
            seen.add(key)
            print(line(event), flush=True)
        if not args.follow:
            return 0
        if events:
            # The newest timestamp again (events of the same millisecond may still come); seen
            # keeps them from printing twice.
            start_ms = max(e.get("timestamp", 0) for e in events)
        ctx.sleep(args.interval)
