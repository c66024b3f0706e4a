"""tools/batch_generate.py: many projects in one command, each failure isolated and explained."""

import json
import os
import subprocess
import sys

import yaml

from conftest import ROOT
from hubsim import GRANTED_TOKEN, HubServer


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
    files = sorted(answers.iterdir())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    with HubServer() as hub:
        env.update(HF_ENDPOINT=hub.url, HF_TOKEN=GRANTED_TOKEN, XDG_CACHE_HOME=str(tmp_path / "cache"))
        result = subprocess.run([sys.executable, str(ROOT / "tools" / "batch_generate.py"), *map(str, files),
                                 "--template", str(template_dir), "--out", str(tmp_path / "out")],
                                env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 generated, 3 failed" in result.stdout
    assert "modelServer 'tgi' is not supported" in result.stdout
    assert "Model nobody/nothing was not found" in result.stdout
    assert "YAMLError" in result.stdout or "ParserError" in result.stdout or "ScannerError" in result.stdout
    assert "[##############################] 5/5 done" in result.stderr
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == ["mcc-llama", "qwen-vllm"]            # nothing half-written for the failures
    lock = json.loads((tmp_path / "out" / "mcc-llama" / "model.lock.json").read_text())
    assert lock["server"]["name"] == "sglang" and lock["model"]["gated"] == "manual"
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert GRANTED_TOKEN.encode() not in path.read_bytes()
    assert GRANTED_TOKEN not in result.stdout + result.stderr
