"""copier update and replay across template releases: a clone of the template with two
tags, a project generated from the first, edited and committed, updated to the second."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import responses
import yaml
from copier import run_copy, run_update

import hubsim
from testkit import copy_template, tree_bytes

pytestmark = pytest.mark.cli   # the real command line: copier's CLI, a pty, git-based updates

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
NEW_SHA = "1" * 40


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def releases(tmp_path) -> Path:
    """The template at 1.0.0, then 1.1.0 with a fix in the serve script and the README."""
    repo = copy_template(tmp_path / "template")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 1.0.0")
    git(repo, "tag", "1.0.0")
    return repo


def release_1_1(repo: Path) -> None:
    base = repo / "includes" / "serve" / "base.sh.jinja"
    text = base.read_text()
    assert "log() { printf '[serve] %s\\n' \"$*\" >&2; }" in text
    base.write_text(text.replace("log() { printf '[serve] %s\\n' \"$*\" >&2; }",
                                 "log() { printf '[serve %(%H:%M:%S)T] %s\\n' -1 \"$*\" >&2; }"))
    readme = repo / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\n## Support\n\nOpen an issue on the template's repository.\n")
    git(repo, "commit", "-qam", "release 1.1.0: timestamps in serve logs, support section")
    git(repo, "tag", "1.1.0")


def generate(repo: Path, dst: Path, **data) -> Path:
    run_copy(str(repo), str(dst), data={"modelName": QWEN, **data}, defaults=True, unsafe=True, quiet=True,
             vcs_ref="1.0.0")
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "generated")
    return dst


def test_update_merges_user_edits_keeps_pin_and_needs_no_hub(releases, tmp_path, fake_hub, capfd):
    dst = generate(releases, tmp_path / "proj")
    answers_before = (dst / ".copier-answers.yml").read_text()
    # The user's edits: one in a file the template changes, one in a file it does not, one owned file.
    serve = dst / "code" / "serve"
    serve.write_text(serve.read_text().replace("set -euo pipefail\n", "set -euo pipefail\nexport TEAM_FLAG=1\n"))
    (dst / ".env").write_text("HF_TOKEN=hf_userownedvalue000000000\n")
    dockerfile = dst / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# our team's note\n")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "our edits")
    release_1_1(releases)
    fake_hub.requests.clear()

    capfd.readouterr()
    run_update(str(dst), defaults=True, unsafe=True, overwrite=True)
    message = "".join(capfd.readouterr())
    assert "Review with `git status`" in message and "overlapped" not in message   # no conflict, none claimed

    text = serve.read_text()
    assert "export TEAM_FLAG=1" in text and "%(%H:%M:%S)T" in text          # both changes merged
    assert "## Support" in (dst / "README.md").read_text()
    assert dockerfile.read_text().endswith("# our team's note\n")
    assert (dst / ".env").read_text() == "HF_TOKEN=hf_userownedvalue000000000\n"   # user-owned, untouched
    for path in dst.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert not path.name.endswith(".rej"), path
            assert b"<<<<<<< " not in path.read_bytes(), path
    answers_after = (dst / ".copier-answers.yml").read_text()
    before, after = yaml.safe_load(answers_before), yaml.safe_load(answers_after)
    assert after.pop("_commit") == "1.1.0" and before.pop("_commit") == "1.0.0"
    assert before == after                                                   # the pin and every answer kept
    assert after["modelPin"] == f"{QWEN}@{hubsim.info(QWEN)['sha']}"
    assert fake_hub.requests == []                                          # pinned sha in the cache


def test_conflicting_edit_is_reported_with_markers(releases, tmp_path, fake_hub, capfd):
    dst = generate(releases, tmp_path / "proj")
    serve = dst / "code" / "serve"
    serve.write_text(serve.read_text().replace("log() { printf '[serve] %s\\n' \"$*\" >&2; }",
                                               "log() { printf '[our-serve] %s\\n' \"$*\" >&2; }"))
    git(dst, "commit", "-qam", "our log prefix")
    release_1_1(releases)
    capfd.readouterr()
    run_update(str(dst), defaults=True, unsafe=True, overwrite=True)
    assert "overlapped in: code/serve." in "".join(capfd.readouterr())    # the message names the file
    text = serve.read_text()
    assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
    assert "[our-serve]" in text and "%(%H:%M:%S)T" in text


def test_offline_update_works_from_the_cache(releases, tmp_path, fake_hub):
    dst = generate(releases, tmp_path / "proj", modelName="openai-community/gpt2")   # not shipped: cache only
    release_1_1(releases)
    with responses.RequestsMock():   # no hub at all
        run_update(str(dst), data={"offline": True}, defaults=True, unsafe=True, overwrite=True, quiet=True)
    lock = json.loads((dst / "model.lock.json").read_text())
    assert lock["model"]["sha"] == hubsim.info("openai-community/gpt2")["sha"]


def test_refresh_moves_the_pin_and_shows_what_changed(releases, tmp_path, fake_hub, monkeypatch):
    dst = generate(releases, tmp_path / "proj")
    old_sha = hubsim.info(QWEN)["sha"]
    real_info = hubsim.info
    # The model gets a new commit on main: same files, a new sha and a longer context.
    def newer(model_id):
        data = real_info(model_id)
        if model_id == QWEN:
            data["sha"] = NEW_SHA
        return data
    monkeypatch.setattr(hubsim, "info", newer)
    real_answer = fake_hub.answer

    def answer(method, path, headers):
        status, head, body = real_answer(method, path, headers)
        if path == f"/{QWEN}/resolve/{NEW_SHA}/config.json":
            config = json.loads(body)
            config["max_position_embeddings"] = 65536
            body = json.dumps(config).encode()
        return status, head, body
    monkeypatch.setattr(fake_hub, "answer", answer)

    run_update(str(dst), data={"modelPin": "refresh"}, defaults=True, unsafe=True, overwrite=True, quiet=True)
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["modelPin"] == f"{QWEN}@{NEW_SHA}"
    diff = git(dst, "diff", "--", "model.lock.json")
    assert f'-    "sha": "{old_sha}"' in diff and f'+    "sha": "{NEW_SHA}"' in diff
    assert '+    "max_position_embeddings": 65536' in diff
    # and the next plain update keeps the new pin without calling the hub
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "refresh model")
    fake_hub.requests.clear()
    run_update(str(dst), defaults=True, unsafe=True, overwrite=True, quiet=True, vcs_ref="1.0.0")
    assert yaml.safe_load((dst / ".copier-answers.yml").read_text())["modelPin"] == f"{QWEN}@{NEW_SHA}"
    assert fake_hub.requests == []


def test_replay_of_answers_file_is_byte_identical(releases, tmp_path, fake_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hubsim.GRANTED_TOKEN)
    first = tmp_path / "first"
    run_copy(str(releases), str(first), data={"modelName": "meta-llama/Llama-3.1-8B-Instruct",
                                             "modelServer": "lmi"}, defaults=True, unsafe=True, quiet=True)
    answers = yaml.safe_load((first / ".copier-answers.yml").read_text())
    fake_hub.requests.clear()
    second = tmp_path / "second"
    run_copy(str(releases), str(second), data={k: v for k, v in answers.items() if not k.startswith("_")},
             defaults=True, unsafe=True, quiet=True)
    assert tree_bytes(first) == tree_bytes(second)
    assert fake_hub.requests == []


def test_update_uses_the_projects_template_when_the_file_is_gone(releases, tmp_path, fake_hub, monkeypatch):
    mine = tmp_path / "mine.jinja"
    mine.write_text("{{ messages }}\n")
    dst = generate(releases, tmp_path / "proj", modelName="openai-community/gpt2", chatTemplateFile=str(mine))
    mine.unlink()                                         # another machine, or the file moved
    release_1_1(releases)
    monkeypatch.chdir(dst)
    run_update(".", defaults=True, unsafe=True, overwrite=True, quiet=True)
    assert (dst / "code" / "chat_template.jinja").read_text() == "{{ messages }}\n"
    assert "## Support" in (dst / "README.md").read_text()


# The last commit of release 0.1.0 (before the version catalog): its projects have no
# modelServerVersion in their answers.
RELEASE_0_1_0 = "0a0a02a"


def test_update_from_0_1_0_keeps_the_engine_and_moves_only_when_asked(tmp_path, fake_hub):
    """A project generated before the catalog keeps its seed image on `copier update`; the answers
    file then records the version; `-d modelServerVersion=...` moves it and the diff shows the FROM."""
    from testkit import ROOT
    repo = tmp_path / "template"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    if subprocess.run(["git", "cat-file", "-e", f"{RELEASE_0_1_0}^{{commit}}"], cwd=repo).returncode:
        pytest.fail(f"commit {RELEASE_0_1_0} (release 0.1.0) is not in this clone: run the tests in a full clone")
    git(repo, "tag", "0.1.0", RELEASE_0_1_0)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "0.2.0")
    git(repo, "tag", "0.2.0")
    dst = tmp_path / "proj"
    run_copy(str(repo), str(dst), data={"modelName": QWEN, "modelServer": "vllm"}, defaults=True, unsafe=True,
             quiet=True, vcs_ref="0.1.0")
    assert "modelServerVersion" not in yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert "FROM vllm/vllm-openai:v0.10.1" in (dst / "Dockerfile").read_text()
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "generated")

    run_update(str(dst), defaults=True, overwrite=True, unsafe=True, quiet=True, vcs_ref="0.2.0")
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "0.2.0" and answers["modelServerVersion"] == "0.10.1"
    assert "FROM vllm/vllm-openai:v0.10.1" in (dst / "Dockerfile").read_text()
    assert (dst / "code" / "engine_args.tsv").is_file()
    git(dst, "add", "-A")
    git(dst, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "update to 0.2.0")

    run_update(str(dst), data={"modelServerVersion": "0.32.0"}, defaults=True, overwrite=True, unsafe=True,
               quiet=True, vcs_ref="0.2.0")
    assert "FROM vllm/vllm-openai:v0.32.0" in (dst / "Dockerfile").read_text()
    assert "+FROM vllm/vllm-openai:v0.32.0" in git(dst, "diff", "--", "Dockerfile")
    lock = json.loads((dst / "model.lock.json").read_text())
    assert lock["server"]["version"] == "0.32.0" and lock["server"]["cuda"] == 13


def test_switching_server_says_the_project_name_still_names_the_old_one(releases, tmp_path, fake_hub, capfd):
    """projectName keeps its answer on update, so a project generated for vLLM stays ...-vllm on SGLang:
    the update message says so, what follows the name, and the command that renames it."""
    dst = generate(releases, tmp_path / "proj")
    release_1_1(releases)
    capfd.readouterr()
    run_update(str(dst), data={"modelServer": "sglang", "modelServerVersion": ""}, defaults=True, unsafe=True,
               overwrite=True)
    message = " ".join("".join(capfd.readouterr()).split())
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert answers["modelServer"] == "sglang" and answers["projectName"] == "qwen2-5-0-5b-instruct-vllm"
    assert ("projectName is still qwen2-5-0-5b-instruct-vllm, which names vllm, and the endpoint and the ECR "
            "repository are named after it.") in message, message
    assert ("copier update --trust --defaults -d projectName=qwen2-5-0-5b-instruct-sglang "
            "-d hfTokenSecretName=qwen2-5-0-5b-instruct-sglang/hf-token, and deploy again") in message, message
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "on sglang")
    capfd.readouterr()
    run_update(str(dst), data={"projectName": "qwen2-5-0-5b-instruct-sglang",
                               "hfTokenSecretName": "qwen2-5-0-5b-instruct-sglang/hf-token"},
               defaults=True, unsafe=True, overwrite=True)
    assert "projectName is still" not in "".join(capfd.readouterr())
    lock = json.loads((dst / "model.lock.json").read_text())
    assert lock["project"]["name"] == "qwen2-5-0-5b-instruct-sglang" and lock["server"]["name"] == "sglang"


def test_switching_server_without_a_version_says_how_to_take_the_new_servers_default(releases, tmp_path,
                                                                                       fake_hub):
    """The answers keep vLLM's 0.32.0, which SGLang has not got: one message that says it is vLLM's and
    gives the exact -d that takes SGLang's default; nothing changes in the project."""
    from copier.errors import UserMessageError
    dst = generate(releases, tmp_path / "proj")
    before = (dst / "model.lock.json").read_bytes()
    with pytest.raises(UserMessageError) as refused:
        run_update(str(dst), data={"modelServer": "sglang"}, defaults=True, unsafe=True, overwrite=True)
    message = str(refused.value)
    assert "modelServerVersion '0.32.0' is not in the sglang catalog. It is a version of vllm" in message, message
    assert "add -d modelServerVersion= for sglang's default (0.5.23)" in message, message
    assert (dst / "model.lock.json").read_bytes() == before


BEFORE_DEPLOY_PACKAGE = "2b2d224"   # the last commit whose generated deploy/ was bash scripts (issue 21)
BASH_SCRIPTS = ["lib.sh", "build.sh", "push.sh", "deploy.sh", "test.sh", "status.sh", "logs.sh", "cleanup.sh",
                "secret.sh", "autoscale.sh", "upload_model.sh", "stream_client.py", "async_client.py"]


def test_update_from_the_bash_scripts_to_the_python_deploy_tool(tmp_path, fake_hub, capfd):
    """A project generated while deploy/ was bash scripts: `copier update` to this working tree removes the
    scripts, brings the `python -m deploy` package, keeps the user's own edits, and says how commands map."""
    from testkit import ROOT
    repo = tmp_path / "template"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    if subprocess.run(["git", "cat-file", "-e", f"{BEFORE_DEPLOY_PACKAGE}^{{commit}}"], cwd=repo).returncode:
        pytest.fail(f"commit {BEFORE_DEPLOY_PACKAGE} is not in this clone: run the tests in a full clone")
    git(repo, "tag", "1.0.0", BEFORE_DEPLOY_PACKAGE)
    # 2.0.0: this working tree (committed or not), with the files it no longer has removed.
    git(repo, "checkout", "-q", "-b", "next")
    git(repo, "rm", "-rq", "--ignore-unmatch", *[p for p in ("copier.yml", "template", "hooks", "generator", "extensions",
                                                            "includes") if (repo / p).exists()])
    copy_template(repo)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "2.0.0", "--allow-empty")
    git(repo, "tag", "2.0.0")

    dst = tmp_path / "proj"
    run_copy(str(repo), str(dst), data={"modelName": QWEN}, defaults=True, unsafe=True, quiet=True, vcs_ref="1.0.0")
    assert {s for s in BASH_SCRIPTS if (dst / "deploy" / s).is_file()} == set(BASH_SCRIPTS)
    assert not (dst / "deploy" / "__main__.py").exists()
    dockerfile = dst / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# our team's note\n")
    (dst / "notes.md").write_text("our runbook\n")
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "generated, and our edits")

    capfd.readouterr()
    run_update(str(dst), defaults=True, overwrite=True, unsafe=True, vcs_ref="2.0.0")
    message = " ".join("".join(capfd.readouterr()).split())
    deploy = dst / "deploy"
    assert [s for s in BASH_SCRIPTS if (deploy / s).exists()] == []
    assert not list(deploy.glob("*.sh")) and not (deploy / ".shellcheckrc").exists()
    for name in ("__init__.py", "__main__.py", "deploy_cmd.py", "requirements.txt", "README.md"):
        assert (deploy / name).is_file(), name
    assert "python -m deploy" in (dst / "README.md").read_text()
    assert dockerfile.read_text().endswith("# our team's note\n")           # the user's edit is kept
    assert (dst / "notes.md").read_text() == "our runbook\n"
    for path in dst.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert not path.name.endswith(".rej"), path
            assert b"<<<<<<< " not in path.read_bytes(), path
    assert yaml.safe_load((dst / ".copier-answers.yml").read_text())["_commit"] == "2.0.0"
    assert "deploy/deploy.sh -> python -m deploy deploy" in message, message
    assert "upload_model.sh -> upload-model, async_client.py -> async, stream_client.py -> stream" in message
    assert "overlapped" not in message
