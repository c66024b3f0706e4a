"""model.lock.json has one description, template/model.lock.schema.json: checked as the template
computes the lock (generator/lock_schema.py), in every rendered project (testkit.assert_valid_lock),
and by the project's deploy tool when it reads the lock (deploy/lock.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from generator import lock_schema

ROOT = Path(__file__).resolve().parent.parent

GOLDEN = ROOT / "tests" / "golden"


def golden_locks() -> list[dict]:
    """The locks of the golden files (tests/test_golden.py keeps them equal to what the template renders)."""
    return [json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*/model.lock.json"))]


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(lock_schema.schema())


def test_the_schema_is_the_file_the_project_gets_and_the_lock_names():
    assert lock_schema.SCHEMA_PATH == ROOT / "template" / "model.lock.schema.json"   # copied as is (no .jinja)
    assert {lock["$schema"] for lock in golden_locks()} == {lock_schema.SCHEMA_REF}


def test_every_catalog_entrys_lock_validates_and_fills_every_field():
    locks = golden_locks()
    assert len(locks) == len(list(GOLDEN.glob("*/")))
    for lock in locks:
        assert lock_schema.problems(lock) == []
        for section in lock_schema.schema()["required"]:   # optional sections (lora) only where they apply
            spec = lock_schema.schema()["properties"][section]
            if spec.get("type") == "object":
                assert set(lock[section]) == set(spec["properties"]), section


# (change, the path and the words the message names)
LORA = {"max_lora_rank": 16, "max_loras": 1, "runtime_updates": True, "memory_gib": 0.1,
        "adapters": [{"name": "a", "id": "org/a", "revision": "main", "sha": "0" * 40, "rank": 0, "target_modules": []}]}
BROKEN = [
    (lambda lock: lock.update(lora=LORA), "lora.adapters.0.rank: 0 is less than the minimum of 1"),
    (lambda lock: lock["server"].pop("cuda"), "server: 'cuda' is a required property"),
    (lambda lock: lock["deployment"].update(max_model_len="4096"), "deployment.max_model_len: '4096' is not of type"),
    (lambda lock: lock["deployment"].update(container_startup_health_check_timeout_s=7200),
     "deployment.container_startup_health_check_timeout_s: 7200 is greater than the maximum of 3600"),
    (lambda lock: lock["model"].update(gated=True), "model.gated: True is not one of [False, 'manual', 'auto']"),
    (lambda lock: lock["model"].update(sha="main"), "model.sha: 'main' does not match"),
    (lambda lock: lock["project"].update(deploy_target="ec2"), "project.deploy_target: 'ec2' is not one of"),
    (lambda lock: lock["server"].update(name="tgi"), "server.name: 'tgi' is not one of"),
    (lambda lock: lock["deployment"].update(spot=True), "deployment: Additional properties are not allowed ('spot'"),
    (lambda lock: lock.update(schema_version=2), "schema_version: 1 was expected"),
]


@pytest.mark.parametrize("change,message", BROKEN, ids=[m.split(":")[0] for _, m in BROKEN])
def test_a_lock_off_the_schema_stops_generation_with_the_field_and_the_reason(change, message):
    lock = copy.deepcopy(golden_locks()[0])
    change(lock)
    with pytest.raises(lock_schema.InvalidLock) as caught:
        lock_schema.validate(lock)
    text = str(caught.value)
    assert message in text, text
    assert text.startswith("The model.lock.json this template computed does not match model.lock.schema.json")
    assert "nothing was written" in text


# The deploy tool's own check (deploy/lock.py, no library beyond boto3) -----------------------------

def deploy_lock():
    import sys
    if str(ROOT / "template") not in sys.path:
        sys.path.insert(0, str(ROOT / "template"))
    from deploy import lock
    return lock


def keywords(schema) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    out = set(schema)
    for key, value in schema.items():
        if key == "properties":
            out |= set().union(*map(keywords, value.values()))
        elif isinstance(value, dict):
            out |= keywords(value)
    return out


def test_the_schema_uses_only_keywords_the_deploy_tools_check_knows():
    known = {"$schema", "$id", "title", "description", "type", "enum", "const", "required", "properties",
             "additionalProperties", "items", "pattern", "minLength", "minimum", "maximum"}
    assert keywords(lock_schema.schema()) <= known


@pytest.mark.parametrize("change,message", BROKEN, ids=[m.split(":")[0] for _, m in BROKEN])
def test_the_deploy_tool_finds_the_same_problem_as_jsonschema(change, message):
    lock = copy.deepcopy(golden_locks()[0])
    change(lock)
    found = deploy_lock().validate(lock, lock_schema.schema())
    assert len(found) == 1 and found[0].split(":")[0] == message.split(":")[0], found


def test_the_deploy_tool_accepts_every_generated_lock():
    for lock in golden_locks():
        assert deploy_lock().validate(lock, lock_schema.schema()) == []


def test_the_deploy_tool_refuses_to_read_a_lock_off_the_schema(tmp_path):
    mod = deploy_lock()
    lock = copy.deepcopy(golden_locks()[0])
    lock["deployment"]["instance_type"] = "g5.xlarge"
    (tmp_path / "model.lock.json").write_text(json.dumps(lock))
    (tmp_path / "model.lock.schema.json").write_bytes(lock_schema.SCHEMA_PATH.read_bytes())
    from deploy.errors import DeployError
    with pytest.raises(DeployError) as caught:
        mod.Lock.load(tmp_path / "model.lock.json")
    assert "does not match model.lock.schema.json: deployment.instance_type: 'g5.xlarge' does not match" \
        in str(caught.value)
    lock["deployment"]["instance_type"] = "ml.g5.xlarge"
    (tmp_path / "model.lock.json").write_text(json.dumps(lock))
    assert mod.Lock.load(tmp_path / "model.lock.json").instance_type == "ml.g5.xlarge"
