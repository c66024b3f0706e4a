"""The project's deploy tool: ``python -m deploy <command>`` from the project root.

One small package on boto3 (pinned in deploy/requirements.txt); no AWS CLI. Its facts come
from ../model.lock.json (override the path with MODEL_LOCK).

Shared modules, for the command modules:
  errors   DeployError / die() (a known failure: one message, exit 1, no traceback) and
           from_client_error(), which maps botocore ClientError codes to that message
  ui       info() / warn() / log() on stderr, confirm()
  aws      Aws: boto3 clients with standard retries, AWS_ENDPOINT_URL, the account id
  lock     Lock: model.lock.json, read and checked; project names
  naming   SageMaker / ECR names, the image tag
  context  Context: what a command handler gets (args, lock, aws), built lazily
  endpoints  SageMaker lookups shared by commands (exists, endpoint facts, waiting, log tail)

A command module exposes ``register(subparsers)``, which adds its sub-parser(s) and sets
``handler=<function(ctx) -> int | None>`` with ``set_defaults``; deploy/__main__.py lists the
command modules.
"""

__all__ = ["__version__"]
__version__ = "1.0.0"
