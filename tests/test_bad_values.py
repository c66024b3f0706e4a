"""Every question given an empty, a wrong-typed and an out-of-range value (as -d or a data file gives
them): one plain message (copier's UserMessageError: printed without a traceback, exit 1), nothing
written; or, where empty has a meaning, a project with that meaning."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from copier import run_copy
from copier.errors import UserMessageError

from testkit import ROOT
from generator import servers

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
QUESTIONS = [k for k, v in yaml.safe_load((ROOT / "copier.yml").read_text()).items()
             if not k.startswith("_") and isinstance(v, dict)]

# (question, value, what the message must say)
BAD = [
    ("framework", "", r"framework is given empty"),
    ("framework", 3, r"framework '3' is not supported"),
    ("framework", "pytorch", r"Supported: transformers"),
    ("modelName", "", r"modelName is given empty"),
    ("modelName", ["a/b"], r"modelName is given a list"),
    ("modelName", "not-a-repo", r"not a HuggingFace repo id"),
    ("modelRevision", None, r"modelRevision is given no value.*empty means main"),
    ("modelRevision", "two words", r"not a branch, tag or commit"),
    ("modelServer", "", r"modelServer is given empty"),
    ("modelServer", 7, r"modelServer '7' is not supported"),
    ("modelServer", "triton", r"Choose one of: vllm, sglang"),
    ("modelServerVersion", "9.9.9", r"modelServerVersion '9\.9\.9' is not in the vllm catalog"),
    ("modelServerVersion", 0.32, r"modelServerVersion '0\.32' is not in the vllm catalog"),
    ("hfToken", {"a": 1}, r"hfToken is given a dict"),
    ("offline", "maybe", r"offline must be true or false"),
    ("offline", [True], r"offline is given a list"),
    ("instanceType", "", r"instanceType is given empty"),
    ("instanceType", 5, r"instanceType '5' is not a supported SageMaker GPU instance type"),
    ("instanceType", "ml.t2.medium", r"not a supported SageMaker GPU instance type"),
    ("tensorParallelSize", "", r"tensorParallelSize must be a whole number"),
    ("tensorParallelSize", "two", r"tensorParallelSize must be a whole number"),
    ("tensorParallelSize", True, r"tensorParallelSize must be a whole number"),
    ("tensorParallelSize", 1.5, r"tensorParallelSize must be a whole number"),
    ("tensorParallelSize", -1, r"tensorParallelSize must be a whole number"),
    ("tensorParallelSize", 3, r"tensorParallelSize 3 is not valid"),
    ("tensorParallelSize", 4096, r"tensorParallelSize 4096 is not valid"),
    ("maxModelLen", "", r"maxModelLen must be a whole number"),
    ("maxModelLen", "long", r"maxModelLen must be a whole number"),
    ("maxModelLen", -5, r"maxModelLen must be a whole number"),
    ("maxModelLen", 10 ** 9, r"maxModelLen 1000000000 exceeds"),
    ("chatTemplateFile", "/no/such/template.jinja", r"chatTemplateFile '/no/such/template\.jinja' is not a readable"),
    ("chatTemplateFile", ["x"], r"chatTemplateFile is given a list"),
    ("deployTarget", "", r"deployTarget is given empty"),
    ("deployTarget", "ec2", r"deployTarget 'ec2' is not supported"),
    ("awsRegion", "", r"awsRegion is given empty"),
    ("awsRegion", 12, r"awsRegion '12' is not an AWS region"),
    ("awsRegion", "Mars", r"awsRegion 'Mars' is not an AWS region"),
    ("projectName", "", r"projectName is given empty"),
    ("projectName", "Bad_Name", r"projectName 'Bad_Name' must be lower-case"),
    ("projectName", "a" * 70, r"at most 63"),
    ("hfTokenSecretName", "two words", r"hfTokenSecretName 'two words' is not a Secrets Manager secret name"),
    ("hfTokenSecretName", "x" * 513, r"at most 512"),
    ("modelPin", "junk", r"modelPin 'junk' is not org/name@<40-hex commit>"),
    ("modelPin", "other/model@" + "a" * 40, r"pins another model than modelName 'Qwen/Qwen2\.5-0\.5B-Instruct'"),
    ("loraAdapters", "not-a-repo", r"loraAdapters: 'not-a-repo' is not a HuggingFace repo id"),
    ("loraAdapters", {"a": 1}, r"loraAdapters is given a dict"),
    ("enableLora", "maybe", r"enableLora must be true or false"),
    ("loraPins", "junk", r"loraPins 'junk' is not a list of org/name@<40-hex commit>"),
    ("loraPins", {"a": 1}, r"loraPins is given a dict"),
    ("modelSource", "", r"modelSource is given empty"),
    ("modelSource", 3, r"modelSource '3' is not supported"),
    ("modelSource", "s3", r"Choose one of: hub, jumpstart"),
    ("acceptEula", "maybe", r"acceptEula must be true or false"),
    ("acceptEula", [True], r"acceptEula is given a list"),
    ("ctx", "{}", r"ctx is computed by the template, not a question"),
    ("answers_check", "x", r"answers_check is computed by the template, not a question"),
    ("modelRead", "x", r"modelRead is computed by the template, not a question"),
]
# empty where empty has a meaning: (question, check of the answers file)
EMPTY_OK = ["modelRevision", "modelServerVersion", "hfToken", "offline", "chatTemplateFile", "hfTokenSecretName",
            "modelPin", "loraAdapters", "enableLora", "loraPins", "acceptEula"]


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")    # the shipped metadata of the default model: no hub


def test_every_question_is_covered():
    assert {q for q, _, _ in BAD} >= set(QUESTIONS)
    assert {q for q, v, _ in BAD if v == ""} | set(EMPTY_OK) >= set(QUESTIONS) - {"ctx", "answers_check", "modelRead"}


@pytest.mark.parametrize("key,value,message", BAD, ids=[f"{k}={str(v)[:12]!s}" for k, v, _ in BAD])
def test_a_bad_value_is_one_message_and_nothing_is_written(template_dir, tmp_path, offline, key, value, message):
    dst = tmp_path / "p"
    with pytest.raises(UserMessageError) as caught:
        run_copy(str(template_dir), str(dst), data={key: value}, defaults=True, unsafe=True, quiet=True)
    assert re.search(message, str(caught.value), re.S), str(caught.value)
    assert "\n" not in str(caught.value).strip()        # one paragraph
    assert not dst.exists()


@pytest.mark.parametrize("key", EMPTY_OK)
def test_empty_means_the_default(template_dir, tmp_path, offline, key):
    dst = tmp_path / "p"
    # only the answers file and the lock are written: they hold what the answers resolved to
    run_copy(str(template_dir), str(dst), data={key: ""}, defaults=True, unsafe=True, quiet=True,
             exclude=["*", "!.copier-answers.yml", "!model.lock.json"])
    assert sorted(p.name for p in dst.iterdir()) == [".copier-answers.yml", "model.lock.json"]
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["modelName"] == QWEN and json.loads((dst / "model.lock.json").read_text())["model"]["id"] == QWEN
    if key == "modelServerVersion":
        # stored as the version it resolved to, so that an update keeps it
        assert answers["modelServerVersion"] == servers.default_version("vllm")
    if key == "modelPin":
        assert answers["modelPin"].startswith(QWEN + "@")


@pytest.mark.cli
def test_cli_empty_server_version_and_a_bad_value(template_dir, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path / "c"), "HF_HOME": str(tmp_path / "hf"),
           "PATH": "/usr/bin:/bin"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", *args],  # noqa: E731
                                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    good = run("-d", "modelServerVersion=", str(template_dir), "ok")
    assert good.returncode == 0 and "Traceback" not in good.stderr, good.stderr
    bad = run("-d", "tensorParallelSize=", str(template_dir), "bad")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr, bad.stderr
    assert "tensorParallelSize must be a whole number" in bad.stderr
    assert not (tmp_path / "bad").exists()
