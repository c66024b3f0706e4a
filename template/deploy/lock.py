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


def schema_for(lock_path: Path) -> dict | None:
    """The lock's schema: model.lock.schema.json beside the lock (its ``$schema``), else the project's own
    copy; None when neither is there (a project generated before the schema: the REQUIRED facts are
    checked alone then)."""
    for place in (lock_path.parent / "model.lock.schema.json", PROJECT_DIR / "model.lock.schema.json"):
        if place.is_file():
            try:
                return json.loads(place.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DeployError(f"cannot read {place}: {exc}") from None
    return None


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
          "integer": int, "number": (int, float)}


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[kind])


def validate(value: Any, schema: dict, where: str = "") -> list[str]:
    """What ``value`` breaks of ``schema``, one line each: the JSON Schema keywords model.lock.schema.json
    uses (type, enum, const, required, properties, additionalProperties, items, pattern, minLength,
    minimum, maximum), so that the deploy tool needs no library beyond boto3. tests/test_lock_schema.py checks
    that it agrees with the jsonschema package on the lock."""
    import re
    name = where or "(the lock)"
    kinds = schema.get("type")
    if kinds is not None and not any(_is(value, k) for k in ([kinds] if isinstance(kinds, str) else kinds)):
        return [f"{name}: {value!r} is not of type {kinds}"]
    if "const" in schema and not (value == schema["const"] and type(value) is type(schema["const"])):
        return [f"{name}: {schema['const']!r} was expected, not {value!r}"]
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        return [f"{name}: {value!r} is not one of {schema['enum']}"]
    out = []
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{name}: {value!r} does not match {schema['pattern']!r}")
        if len(value) < schema.get("minLength", 0):
            out.append(f"{name}: {value!r} is too short")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{name}: {value} is less than the minimum of {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{name}: {value} is greater than the maximum of {schema['maximum']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += validate(item, schema["items"], f"{where}.{i}" if where else str(i))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{name}: {key!r} is a required property" for key in schema.get("required", []) if key not in value]
        if schema.get("additionalProperties") is False:
            extra = sorted(key for key in value if key not in props)
            if extra:
                out.append(f"{name}: additional properties are not allowed ({', '.join(map(repr, extra))})")
        for key, sub in props.items():
            if key in value:
                out += validate(value[key], sub, f"{where}.{key}" if where else key)
    return out


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
        schema = schema_for(where)
        problems = validate(data, schema) if schema else []
        if problems:
            die(f"{where} does not match model.lock.schema.json: {'; '.join(problems[:5])}"
                + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
                + ". Regenerate it with `copier update --trust --defaults` rather than editing it.")
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
