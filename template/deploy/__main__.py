"""``python -m deploy <command> [options]``: the project's deploy tool (see deploy/README.md).

Each module in COMMANDS has ``register(subparsers)``, which adds its command(s) with
``subparsers.add_parser(name, help=..., description=...)`` and ``set_defaults(handler=func)``;
``func(ctx)`` (ctx: deploy.context.Context) returns an exit status or None for 0. Known
failures are deploy.errors.DeployError: printed as ``error: <message>``, exit 1, no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

if sys.version_info < (3, 10):  # noqa: UP036 - the message is the point
    sys.exit("error: the deploy tool needs Python 3.10 or newer")

try:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError  # noqa: E402
except ImportError:  # the one runtime dependency: say how to install it, not a traceback
    sys.exit("error: the deploy tool needs boto3: pip install -r deploy/requirements.txt "
             "(from the project root)")

from .context import Context  # noqa: E402
from .errors import DeployError, from_client_error, redact  # noqa: E402

# One module per command (or group of commands), in the order --help lists them.
COMMANDS = [
    "deploy_cmd",
    "status_cmd",
    "cleanup_cmd",
    "build_cmd", "invoke_cmd", "logs_cmd", "secret_cmd", "autoscale_cmd", "upload_model_cmd", "codebuild_cmd",
    "bench_cmd",
    "adapter_cmd",
    "registry_cmd",
]


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line (``error: ...``, exit 1) like every other error."""

    def error(self, message: str):
        self.exit(1, f"error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = Parser(
        prog="python -m deploy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build, push, deploy, test and clean up this project's SageMaker endpoint.\n"
                    "Run from the project root; the facts come from model.lock.json, AWS access from\n"
                    "the usual credential chain (AWS_PROFILE, ...); AWS_ENDPOINT_URL is honoured.\n"
                    "`python -m deploy <command> --help` describes each command.",
    )
    sub = top.add_subparsers(dest="command", metavar="<command>")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__package__ or 'deploy'}.{name}").register(sub)
    return top


def main(argv: list[str] | None = None, *, session=None, sleep=None) -> int:
    """Run one command; returns its exit status. ``session``: a boto3.Session to use (tests)."""
    args = parser().parse_args(argv)
    ctx = Context(args, session=session, sleep=sleep)
    try:
        status = args.handler(ctx)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except NoCredentialsError:
        from .aws import no_credentials

        print(f"error: {no_credentials()}", file=sys.stderr)
        return 1
    except ClientError as exc:  # a call without its own handling: still one message
        print(f"error: {from_client_error(exc, 'call ' + exc.operation_name)}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
