"""model.lock.json, read once and checked.

``Lock.load(path=None)``: ``path``, else ``MODEL_LOCK``, else <project>/model.lock.json (the folder
above this package). A missing or unparsable file, or one without the facts every command needs
(project.name, project.aws_region, model.id, deployment.instance_type), is a DeployError.

``lock.get("deployment.instance_type", default)`` reads a dotted path (None for null or missing);
``lock.require(path)`` makes a missing value a DeployError. Properties for what the commands use
most: project_name, region, deploy_target, secret_name, gated, model_id, model_sha,
server_name, image, cuda, ami_version, instance_type, endpoint_name(override),
repo_name(override).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import DeployError, die
from .naming import ecr_repo_name, sagemaker_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
REQUIRED = ("project.name", "project.aws_region", "model.id", "deployment.instance_type")


class Lock:
    def __init__(self, data: dict, path: Path) -> None:
        self.data = data
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Lock:
        where = Path(path or os.environ.get("MODEL_LOCK") or PROJECT_DIR / "model.lock.json")
        if not where.is_file():
            die(f"{where} not found (run `python -m deploy` from a generated project, or set MODEL_LOCK)")
        try:
            data = json.loads(where.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DeployError(f"cannot read {where}: {exc.strerror}") from None
        except ValueError as exc:
            raise DeployError(f"{where} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            die(f"{where} is not a JSON object")
        lock = cls(data, where)
        for key in REQUIRED:
            lock.require(key)
        return lock

    def get(self, key: str, default: Any = None) -> Any:
        value: Any = self.data
        for part in key.split("."):
            if isinstance(value, list) and part.isdigit():
                value = value[int(part)] if int(part) < len(value) else None
            elif isinstance(value, dict):
                value = value.get(part)
            else:
                value = None
        return default if value is None else value

    def require(self, key: str) -> Any:
        value = self.get(key)
        if value is None or value == "":
            die(f"{self.path} has no value for '{key}'")
        return value

    def number(self, key: str) -> int | None:
        """A whole number, or None; anything else is a DeployError."""
        value = self.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not str(value).isdigit():
            die(f"{self.path}: {key} wants a whole number, got {value!r}")
        return int(value)

    @property
    def project_name(self) -> str:
        return str(self.require("project.name"))

    @property
    def region(self) -> str:
        return str(self.require("project.aws_region"))

    @property
    def deploy_target(self) -> str:
        return str(self.get("project.deploy_target") or "sagemaker")

    @property
    def secret_name(self) -> str | None:
        return self.get("project.hf_token_secret_name") or None

    @property
    def gated(self) -> bool:
        """The hub's gated value: "manual"/"auto"/true for a gated repository."""
        value = self.get("model.gated")
        return bool(value) and value != "false"

    @property
    def model_id(self) -> str:
        return str(self.require("model.id"))

    @property
    def model_sha(self) -> str | None:
        return self.get("model.sha") or None

    @property
    def server_name(self) -> str | None:
        return self.get("server.name")

    @property
    def image(self) -> str | None:
        return self.get("server.image")

    @property
    def cuda(self) -> int | None:
        """The CUDA major version of the server image (None when the lock predates it)."""
        value = self.get("server.cuda")
        try:
            return int(str(value).split(".")[0]) if value is not None else None
        except ValueError:
            return None

    @property
    def ami_version(self) -> str | None:
        """SageMaker InferenceAmiVersion the image needs (None: SageMaker's default AMI)."""
        return self.get("server.inference_ami_version") or None

    @property
    def instance_type(self) -> str:
        return str(self.require("deployment.instance_type"))

    def endpoint_name(self, override: str | None = None) -> str:
        return sagemaker_name(override or os.environ.get("ENDPOINT_NAME") or self.project_name)

    def repo_name(self, override: str | None = None) -> str:
        return ecr_repo_name(override or os.environ.get("REPO_NAME") or self.project_name)
