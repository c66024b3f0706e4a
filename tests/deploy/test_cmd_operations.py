"""Every AWS call in the command modules build_cmd, invoke_cmd, logs_cmd, secret_cmd,
autoscale_cmd, upload_model_cmd and codebuild_cmd is an operation botocore knows, including
the ones only failure paths reach (a static read of their code; the tests run the calls and
validate each request against botocore's model)."""
from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

DEPLOY = Path(__file__).resolve().parents[2] / "template" / "deploy"
MODULES = ["build_cmd", "invoke_cmd", "logs_cmd", "secret_cmd", "autoscale_cmd", "upload_model_cmd",
           "codebuild_cmd"]
SESSION = botocore.session.get_session()
HELPERS = {"get_paginator", "upload_file", "read"}  # boto3's own helpers, not operations


def operations(service: str) -> set[str]:
    return {xform_name(op) for op in SESSION.get_service_model(service).operation_names}


def calls(module: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(service, operation) of aws.call(...) and of method calls on a variable (or expression)
    holding aws.client("service")."""
    tree = ast.parse((DEPLOY / f"{module}.py").read_text())
    via_call, direct = set(), set()
    clients: dict[str, str] = {}  # variable -> service
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            service = _client_service(node.value)
            if service:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        clients[target.id] = service
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        func = node.func
        if func.attr == "call" and len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2]):
            via_call.add((node.args[0].value, node.args[1].value))
        elif isinstance(func.value, ast.Name) and func.value.id in clients and func.attr not in HELPERS:
            direct.add((clients[func.value.id], func.attr))
        elif isinstance(func.value, ast.Call) and _client_service(func.value):
            direct.add((_client_service(func.value), func.attr))
    return via_call, direct


def _client_service(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute) and call.func.attr == "client" and call.args \
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


@pytest.mark.parametrize("module", MODULES)
def test_every_call_is_a_botocore_operation(module):
    via_call, direct = calls(module)
    for service, operation in via_call | direct:
        assert operation in operations(service), f"{module}: {service} has no operation {operation}"


def test_the_reader_sees_the_calls():
    found = set()
    for module in MODULES:
        via_call, direct = calls(module)
        found |= {op for _, op in via_call | direct}
    assert {"get_authorization_token", "create_repository", "describe_repositories", "invoke_endpoint",
            "invoke_endpoint_async", "put_object", "filter_log_events", "create_secret", "put_secret_value",
            "register_scalable_target", "put_scaling_policy", "put_metric_alarm", "delete_alarms",
            "deregister_scalable_target", "head_bucket", "create_bucket", "delete_objects", "create_project",
            "update_project", "start_build", "batch_get_builds", "put_role_policy", "create_role"} <= found
    assert len(found) >= 35, sorted(found)
