"""Validate recorded AWS requests against botocore's own service model.

botocore's ParamValidator checks member names, required members, types and minimum
lengths/values; the client runs it too, but not for enums, maximums or patterns.
`problems()` adds those, so a misspelt member, a wrong type, an enum value AWS does
not know (an instance type, a metric type, an AMI version) or an over-long name all
fail a test before they could fail a real deployment.

Requests come from tests/deploy/ (the ``aws`` fixture's recorder, cmdkit's) and tests/aws/recorder
(AWS_REQUEST_LOG, for the CLI run end to end): one JSON line per API call.
"""
from __future__ import annotations

import base64
import datetime
import io
import json
import re
from pathlib import Path

import botocore.loaders
import botocore.session
from botocore.validate import ParamValidator

# One botocore Loader for every session the in-process tests make: each service model (and
# endpoints.json) is read and decoded once per process instead of once per test's session.
LOADER = botocore.loaders.create_loader()


def botocore_session() -> botocore.session.Session:
    """A new botocore session (its own events, credentials and config, as a test needs) that reads
    the service models through the shared LOADER (``register_component("data_loader", ...)``).
    Give it to ``boto3.Session(botocore_session=...)``."""
    core = botocore.session.Session()
    core.register_component("data_loader", LOADER)
    return core


def tidy_loader() -> None:
    """boto3.Session adds its resource-model folder to the loader's search paths each time it is
    made: keep each folder once on the shared loader."""
    LOADER.search_paths[:] = list(dict.fromkeys(LOADER.search_paths))


_SESSION = botocore_session()
_MODELS: dict = {}


def service_model(service: str):
    if service not in _MODELS:
        _MODELS[service] = _SESSION.get_service_model(service)
    return _MODELS[service]


def _restore(value):
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        if set(value) == {"__stream__"}:
            return io.BytesIO(b"")
        if set(value) == {"__datetime__"}:
            return datetime.datetime.fromisoformat(value["__datetime__"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def load(path: Path) -> list[dict]:
    """The recorded requests, in order; each {"service", "operation", "params"}."""
    if not path.exists():
        return []
    calls = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            call = json.loads(line)
            call["params"] = _restore(call["params"])
            calls.append(call)
    return calls


def _pattern_ok(pattern: str, value: str) -> bool:
    try:
        regex = re.compile(pattern)
    except re.error:
        return True  # a Java-only construct: botocore's model is the judge, we cannot check it here
    # AWS services match the whole value (a name with "_" is refused by SageMaker's name pattern).
    return regex.fullmatch(value) is not None


def _walk(shape, value, where: str, out: list[str]) -> None:
    """Enums, maximums and patterns, which ParamValidator does not check."""
    if value is None:
        return
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _walk(member, value[name], f"{where}.{name}", out)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{where}: {len(value)} items, more than the maximum {meta['max']}")
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{where}[{i}]", out)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _walk(shape.key, key, f"{where} key", out)
            _walk(shape.value, item, f"{where}[{key!r}]", out)
    elif kind == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            out.append(f"{where}: {value!r} is not one of {shape.name}'s values {enum[:12]}{'...' if len(enum) > 12 else ''}")
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{where}: {len(value)} characters, more than the maximum {meta['max']}")
        if meta.get("pattern") and not _pattern_ok(meta["pattern"], value):
            out.append(f"{where}: {value!r} does not match the pattern {meta['pattern']!r}")
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        if "max" in meta and value > meta["max"]:
            out.append(f"{where}: {value} is more than the maximum {meta['max']}")


def problems(service: str, operation: str, params: dict) -> list[str]:
    """Everything wrong with one request, as readable lines ([] when it is valid)."""
    model = service_model(service)
    try:
        op = model.operation_model(operation)
    except Exception:  # noqa: BLE001 - an unknown operation name
        return [f"{service} has no operation {operation}"]
    shape = op.input_shape
    if shape is None:
        return [] if not params else [f"{operation} takes no parameters, got {sorted(params)}"]
    out: list[str] = []
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        out.extend(line.strip() for line in report.generate_report().splitlines() if line.strip())
    _walk(shape, params, operation, out)
    return out


def check_all(calls: list[dict]) -> list[str]:
    out = []
    for call in calls:
        for problem in problems(call["service"], call["operation"], call["params"]):
            out.append(f"{call['service']} {call['operation']}: {problem}")
    return out

