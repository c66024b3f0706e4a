"""tools/batch_generate.py: many projects in one command, each failure isolated and explained."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from testkit import ROOT
from hubsim import GRANTED_TOKEN, HubServer


pytestmark = pytest.mark.cli   # the real command line: copier's CLI, a pty, git-based updates


def batch(template_dir, tmp_path, files):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    with HubServer() as hub:
        env.update(HF_ENDPOINT=hub.url, HF_TOKEN=GRANTED_TOKEN, XDG_CACHE_HOME=str(tmp_path / "cache"))
        return subprocess.run([sys.executable, str(ROOT / "tools" / "batch_generate.py"), *map(str, files),
                               "--template", str(template_dir), "--out", str(tmp_path / "out")],
                              env=env, capture_output=True, text=True, timeout=300)


def project_name(folder):
    return yaml.safe_load((folder / ".copier-answers.yml").read_text())["projectName"]


def test_batch_generation_isolates_failures(template_dir, tmp_path):
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "qwen-vllm.yml").write_text(yaml.safe_dump({"modelName": "Qwen/Qwen2.5-0.5B-Instruct",
                                                           "modelServer": "vllm"}))
    (answers / "bad-server.yml").write_text(yaml.safe_dump({"modelServer": "tgi"}))
    (answers / "unknown.yml").write_text(yaml.safe_dump({"modelName": "nobody/nothing"}))
    (answers / "mcc-llama.json").write_text(json.dumps({
        "framework": "transformers", "modelName": "meta-llama/Llama-3.1-8B-Instruct", "modelServer": "sglang",
        "hfToken": "$HF_TOKEN"}))
    (answers / "broken.yml").write_text("modelName: [unclosed\n")
    result = batch(template_dir, tmp_path, sorted(answers.iterdir()))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 generated, 3 failed" in result.stdout
    assert "modelServer 'tgi' is not supported" in result.stdout
    assert "Model nobody/nothing was not found" in result.stdout
    assert "YAMLError" in result.stdout or "ParserError" in result.stdout or "ScannerError" in result.stdout
    assert "[##############################] 5/5 done" in result.stderr
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    # folders are named by projectName (here the default derived from the model and server), not by the file
    assert made == ["llama-3-1-8b-instruct-sglang", "qwen2-5-0-5b-instruct-vllm"]   # nothing half-written
    for name in made:
        assert project_name(tmp_path / "out" / name) == name
    lock = json.loads((tmp_path / "out" / "llama-3-1-8b-instruct-sglang" / "model.lock.json").read_text())
    assert lock["server"]["name"] == "sglang" and lock["model"]["gated"] == "manual"
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert GRANTED_TOKEN.encode() not in path.read_bytes()
    assert GRANTED_TOKEN not in result.stdout + result.stderr


def test_batch_names_folders_by_project_name_and_never_overwrites(template_dir, tmp_path):
    answers = tmp_path / "answers"
    answers.mkdir()
    qwen = {"modelName": "Qwen/Qwen2.5-0.5B-Instruct", "modelServer": "vllm"}
    (answers / "1-first.yml").write_text(yaml.safe_dump(qwen))
    (answers / "2-same-model.yml").write_text(yaml.safe_dump(qwen))                   # same derived name
    (answers / "3-named.yml").write_text(yaml.safe_dump(qwen | {"projectName": "chat-bot"}))
    (answers / "4-mcc.json").write_text(json.dumps(qwen | {"framework": "transformers", "projectName": "from-mcc"}))
    (answers / "5-taken.yml").write_text(yaml.safe_dump(qwen | {"projectName": "already-there"}))
    existing = tmp_path / "out" / "already-there"
    existing.mkdir(parents=True)
    (existing / "mine.txt").write_text("keep me\n")
    result = batch(template_dir, tmp_path, sorted(answers.iterdir()))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "3 generated, 2 failed" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "already-there", "chat-bot", "from-mcc", "qwen2-5-0-5b-instruct-vllm"]      # no scratch folders left
    assert project_name(tmp_path / "out" / "chat-bot") == "chat-bot"
    assert project_name(tmp_path / "out" / "from-mcc") == "from-mcc"
    # the clash within the batch names the file that took the name and how to fix it
    assert ("projectName 'qwen2-5-0-5b-instruct-vllm' is already used by " + str(answers / "1-first.yml")) in out
    assert "nothing was overwritten" in out and "projectName: qwen2-5-0-5b-instruct-vllm-2" in out
    # a folder already under --out is left alone
    assert "already-there already exists (projectName 'already-there'); nothing was overwritten" in out
    assert sorted(p.name for p in existing.iterdir()) == ["mine.txt"]
