"""Records every AWS API request a test's scripts make (AWS CLI v1 and boto3 alike).

Put this directory on PYTHONPATH and set AWS_REQUEST_LOG to a file: every botocore
session made in the process then appends one JSON line per API call to that file,
{"service", "operation", "params"}, with the parameters exactly as the client is about
to serialize them (after the CLI's argument parsing and botocore's own parameter
handlers). tests/aws/botocore_check.py validates them against botocore's service model.
Recording at the client covers every protocol the scripts use (JSON, query, REST-XML,
REST-JSON, CloudWatch's CBOR) without parsing the wire format of each one.

Nothing is imported unless AWS_REQUEST_LOG is set and botocore.session is imported,
so the scripts' many small python3 calls stay as fast as without it.
"""
import os
import sys

_LOG = os.environ.get("AWS_REQUEST_LOG")


def _jsonable(value):
    import base64
    import datetime

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (datetime.datetime, datetime.date)):
        return {"__datetime__": value.isoformat()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return {"__stream__": type(value).__name__}


def _record(params, model, **_kwargs):
    import json

    line = json.dumps({"service": model.service_model.service_name, "operation": model.name,
                       "params": _jsonable(params)})
    with open(_LOG, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _patch(module):
    original = module.Session.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        # Last, so that botocore's own before-parameter-build handlers have run.
        self._events.register_last("before-parameter-build", _record, unique_id="aws-request-recorder")

    module.Session.__init__ = __init__


if _LOG:
    import importlib.abc
    import importlib.util

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "botocore.session":
                return None
            sys.meta_path.remove(self)
            try:
                spec = importlib.util.find_spec(name)
            finally:
                sys.meta_path.insert(0, self)
            if spec is None or spec.loader is None:
                return spec
            loader_exec = spec.loader.exec_module

            def exec_module(module):
                loader_exec(module)
                _patch(module)
                if self in sys.meta_path:
                    sys.meta_path.remove(self)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _Finder())
