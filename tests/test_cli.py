"""The real `copier` command, as a user runs it: a git+file:// template, a local HTTP hub
(HF_ENDPOINT), answers from -d, a data file and an MCC config JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from testkit import tree_bytes
from hubsim import GRANTED_TOKEN, HubServer, info

pytestmark = pytest.mark.cli   # the real command line: copier's CLI, a pty, git-based updates

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def hub_server():
    with HubServer() as server:
        yield server


def cli_env(env_extra):
    """This process's environment without any HF setting, plus ``env_extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(env_extra)
    return env


def copier_cli(args, env_extra, cwd):
    return subprocess.run([sys.executable, "-m", "copier", *args], cwd=cwd, env=cli_env(env_extra),
                          capture_output=True, text=True, timeout=120)


def base_env(hub_server, tmp_path):
    return {"HF_ENDPOINT": hub_server.url, "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "HF_HOME": str(tmp_path / "hf")}


def test_copy_from_git_url_against_local_hub(copier_template, hub_server, tmp_path):
    env = base_env(hub_server, tmp_path) | {"HF_TOKEN": GRANTED_TOKEN}
    result = copier_cli(["copy", "--trust", "--defaults", "-d", f"modelName={LLAMA}", "-d", "modelServer=sglang",
                         f"git+file://{copier_template}", "proj"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    lock = json.loads((tmp_path / "proj" / "model.lock.json").read_text())
    assert lock["model"]["sha"] == info(LLAMA)["sha"] and lock["server"]["name"] == "sglang"
    sha = info(LLAMA)["sha"]
    # one concurrent wave at the branch: the info gives the sha, each file's X-Repo-Commit header
    # matches it, so nothing is read again at the sha (chat_template.jinja is asked for in the same
    # wave: this repo has none, a 404 that costs no extra round trip)
    assert sha and sorted(hub_server.hub.requests) == sorted([
        f"/api/models/{LLAMA}", f"/{LLAMA}/resolve/main/config.json",
        f"/{LLAMA}/resolve/main/tokenizer_config.json", f"/{LLAMA}/resolve/main/chat_template.jinja"])
    for name, content in tree_bytes(tmp_path / "proj").items():
        assert GRANTED_TOKEN.encode() not in content, name
    # nor in the user's cache of hub answers (by sha)
    cached = tree_bytes(tmp_path / "cache")
    assert any(n.startswith("sagemaker-llm-template/hub/") for n in cached), sorted(cached)
    for name, content in cached.items():
        assert GRANTED_TOKEN.encode() not in content, name
    assert GRANTED_TOKEN not in result.stdout + result.stderr
    assert "It serves meta-llama/Llama-3.1-8B-Instruct with sglang" in result.stderr + result.stdout


@pytest.mark.parametrize("args,message", [
    (["-d", f"modelName={LLAMA}"], "gated model and no HuggingFace token was found. Request access at "),
    (["-d", "modelServer=triton"], "modelServer 'triton' is not supported. Choose one of: vllm, sglang"),
    (["-d", "modelName=nobody/nothing"], "Model nobody/nothing was not found"),
    (["-d", "instanceType=ml.t2.medium"], "instanceType 'ml.t2.medium' is not a supported SageMaker GPU"),
])
def test_errors_are_one_message_no_traceback_no_project(copier_template, hub_server, tmp_path, args, message):
    result = copier_cli(["copy", "--trust", "--defaults", *args, f"git+file://{copier_template}", "proj"],
                        base_env(hub_server, tmp_path), tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "proj").exists()


def test_bad_token_is_redacted(copier_template, hub_server, tmp_path):
    bad = "hf_NotARealTokenButLooksLikeOne1234567"
    result = copier_cli(["copy", "--trust", "--defaults", f"git+file://{copier_template}", "proj"],
                        base_env(hub_server, tmp_path) | {"HF_TOKEN": bad}, tmp_path)
    assert result.returncode == 1 and "rejected the token" in result.stderr
    assert bad not in result.stderr + result.stdout


def test_current_mcc_config_keeps_server_and_region(copier_template, hub_server, tmp_path):
    """The issue's MCC config of the current format (deploymentConfig, region, deploymentTarget)."""
    mcc = tmp_path / "mcc.json"
    mcc.write_text(json.dumps({"deploymentConfig": "transformers-sglang", "region": "us-west-2",
                               "deploymentTarget": "realtime-inference", "modelName": "Qwen/Qwen2.5-0.5B-Instruct",
                               "instanceType": "ml.g6.xlarge", "includeTesting": True}))
    result = copier_cli(["copy", "--trust", "--defaults", "--data-file", str(mcc), f"git+file://{copier_template}",
                         "proj"], base_env(hub_server, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    lock = json.loads((tmp_path / "proj" / "model.lock.json").read_text())
    assert lock["server"]["name"] == "sglang" and lock["project"]["aws_region"] == "us-west-2"
    assert "deploymentConfig=transformers-sglang -> modelServer=sglang; region=us-west-2 -> awsRegion=us-west-2" \
        in result.stderr and "did you mean" not in result.stderr


def test_mcc_config_json_and_answers_file_replay_identically(copier_template, hub_server, tmp_path):
    env = base_env(hub_server, tmp_path) | {"HF_TOKEN": GRANTED_TOKEN}
    mcc = tmp_path / "mcc.json"
    mcc.write_text(json.dumps({"framework": "transformers", "modelName": LLAMA, "modelServer": "vllm",
                               "hfToken": "$HF_TOKEN", "includeTesting": True, "deployTarget": "sagemaker",
                               "region": "us-west-2"}))
    first = copier_cli(["copy", "--trust", "--defaults", "--data-file", str(mcc), f"git+file://{copier_template}",
                        "a"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    # MCC's region is awsRegion (the real mapping, said once); a key with no counterpart is named with why
    assert first.stderr.count("note: MCC config: region=us-west-2 -> awsRegion=us-west-2.") == 1, first.stderr
    assert first.stderr.count("warning: ignored MCC settings that have no counterpart here: includeTesting "
                              "(python -m deploy test is always included).") == 1, first.stderr
    assert "did you mean" not in first.stderr
    assert json.loads((tmp_path / "a" / "model.lock.json").read_text())["project"]["aws_region"] == "us-west-2"
    answers = yaml.safe_load((tmp_path / "a" / ".copier-answers.yml").read_text())
    assert "hfToken" not in answers and answers["modelPin"] == f"{LLAMA}@{info(LLAMA)['sha']}"
    replay = tmp_path / "answers.yml"
    replay.write_text((tmp_path / "a" / ".copier-answers.yml").read_text())
    hub_server.hub.requests.clear()
    second = copier_cli(["copy", "--trust", "--defaults", "--data-file", str(replay),
                         f"git+file://{copier_template}", "b"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "ignored" not in second.stderr and "MCC config" not in second.stderr
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    # the pinned sha was in the answers: files came from the cache, the hub was not called
    assert hub_server.hub.requests == []


def test_offline_from_environment_needs_no_hub(copier_template, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "XDG_CACHE_HOME": str(tmp_path / "c")}
    result = copier_cli(["copy", "--trust", "--defaults", f"git+file://{copier_template}", "proj"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "proj" / "model.lock.json").read_text())["model"]["id"] == \
        "Qwen/Qwen2.5-0.5B-Instruct"


def interactive_copy(args, env_extra, cwd, max_enters=40):
    """Run `copier copy` on a pseudo-terminal and accept every default by pressing Enter."""
    import pty
    import select
    import time
    env = cli_env({**env_extra, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"})
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(cwd)
        os.execvpe(sys.executable, [sys.executable, "-m", "copier", "copy", *args], env)
    output, last, enters = b"", time.time(), 0
    while True:
        ready, _, _ = select.select([fd], [], [], 0.3)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output, last = output + chunk, time.time()
        elif time.time() - last > 0.6:
            assert enters < max_enters, output.decode(errors="replace")[-2000:]
            os.write(fd, b"\r")
            enters, last = enters + 1, time.time()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace"), enters


def test_interactive_run_equals_answers_file_and_mcc_replay(copier_template, hub_server, tmp_path):
    env = base_env(hub_server, tmp_path) | {"HF_TOKEN": GRANTED_TOKEN}
    code, output, enters = interactive_copy(["--trust", f"git+file://{copier_template}", "asked"], env, tmp_path)
    assert code == 0, output[-2000:]
    assert enters >= 10                                     # the questions were really asked
    assert GRANTED_TOKEN not in output
    answers = tmp_path / "asked" / ".copier-answers.yml"
    replay = copier_cli(["copy", "--trust", "--defaults", "--data-file", str(answers),
                         f"git+file://{copier_template}", "replayed"], env, tmp_path)
    assert replay.returncode == 0, replay.stderr
    mcc = tmp_path / "mcc.json"
    mcc.write_text(json.dumps({"framework": "transformers", "modelName": "Qwen/Qwen2.5-0.5B-Instruct",
                               "modelServer": "vllm", "hfToken": "$HF_TOKEN"}))
    from_mcc = copier_cli(["copy", "--trust", "--defaults", "--data-file", str(mcc),
                           f"git+file://{copier_template}", "mcc"], env, tmp_path)
    assert from_mcc.returncode == 0, from_mcc.stderr
    asked = tree_bytes(tmp_path / "asked")
    assert asked == tree_bytes(tmp_path / "replayed") == tree_bytes(tmp_path / "mcc")


def test_copy_into_a_folder_with_a_clashing_file_writes_nothing_and_says_how_to_proceed(copier_template, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path / "c"), "HF_HOME": str(tmp_path / "hf")}
    dst = tmp_path / "proj"
    dst.mkdir()
    (dst / "README.md").write_text("mine\n")
    (dst / "notes.txt").write_text("unrelated\n")
    result = copier_cli(["copy", "--trust", "--defaults", f"git+file://{copier_template}", "proj"], env, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "proj already holds README.md, which this template writes; nothing was written. Generate into a new " \
           "or empty folder, or add --overwrite to replace those files." in result.stderr
    assert sorted(p.name for p in dst.iterdir()) == ["README.md", "notes.txt"]
    assert (dst / "README.md").read_text() == "mine\n"
    # --overwrite replaces them, as it says; a second copy into the project points to copier update
    again = copier_cli(["copy", "--trust", "--defaults", "--overwrite", f"git+file://{copier_template}", "proj"], env,
                       tmp_path)
    assert again.returncode == 0, again.stderr
    assert (dst / ".copier-answers.yml").is_file() and (dst / "notes.txt").is_file()
    third = copier_cli(["copy", "--trust", "--defaults", f"git+file://{copier_template}", "proj"], env, tmp_path)
    assert third.returncode == 1 and "It is a generated project: to take template changes or new answers, run " \
        "`copier update --trust` inside it" in third.stderr


def test_an_offline_answer_that_is_neither_yes_nor_no_reads_nothing_first(copier_template, hub_server, tmp_path):
    """`-d offline=maybe` is refused, and before the refusal no read may reach the hub: the user may
    have meant to stay offline."""
    result = copier_cli(["copy", "--trust", "--defaults", "-d", "offline=maybe",
                         f"git+file://{copier_template}", "proj"], base_env(hub_server, tmp_path), tmp_path)
    assert result.returncode == 1
    assert "offline must be true or false, not 'maybe'" in result.stderr
    assert "Reading" not in result.stderr + result.stdout
    assert hub_server.hub.requests == []
    assert not (tmp_path / "proj").exists()
