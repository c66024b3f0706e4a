"""copier's prompts as a person types them: `copier copy` on a pseudo-terminal (pexpect), keys sent
one at a time, against the local hub (tests/hubsim.py) whose request log counts the hub reads.

copier asks through questionary (prompt_toolkit), which runs a question's validator on every
keystroke; these tests type like a person so that a validator that reads the hub shows up as
reads while typing."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time

import pexpect
import pytest
import yaml

from hubsim import GRANTED_TOKEN, HubServer, info

pytestmark = pytest.mark.cli   # the real command line: copier's CLI, a pty, git-based updates

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
WAVE = 4   # one read: the model info and three files, in one concurrent wave (generator/hub.py)
PROMPTS = {   # question -> text of its prompt (copier prints the help)
    "framework": "Model framework", "offline": "Generate without the HuggingFace Hub",
    "modelName": "HuggingFace model id", "modelRevision": "Model revision", "hfToken": "HF token for hub calls",
    "modelServer": "Inference server", "modelServerVersion": "Server version",
    "instanceType": "SageMaker instance type", "tensorParallelSize": "Tensor-parallel size",
    "maxModelLen": "Maximum context length", "chatTemplateFile": "Jinja chat template file",
    "deployTarget": "Where the image is built", "awsRegion": "AWS region", "projectName": "Project name",
    "hfTokenSecretName": "Secrets Manager secret",
    "loraAdapters": "LoRA adapters for this model", "enableLora": "Serve LoRA adapters added at run time",
}
ORDER = ["framework", "offline", "modelName", "modelRevision", "loraAdapters", "enableLora", "hfToken", "modelServer",
         "modelServerVersion", "instanceType", "tensorParallelSize", "maxModelLen", "chatTemplateFile", "deployTarget", "awsRegion",
         "projectName", "hfTokenSecretName"]


@pytest.fixture
def hub_server():
    with HubServer() as server:
        yield server


class Prompts:
    """One `copier copy --trust` on a pty, driven question by question."""

    def __init__(self, template_dir, dst, env_extra, *args, update: bool = False):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
        env.update(env_extra, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        command = ["update", "--trust", *args] if update else ["copy", "--trust", *args, str(template_dir), str(dst)]
        self.child = pexpect.spawn(sys.executable, ["-m", "copier", *command], env=env, encoding="utf-8", timeout=60,
                                   dimensions=(60, 400), cwd=str(dst) if update else None)
        self.seen = ""

    def text(self, raw: str) -> str:
        return ANSI.sub("", raw)

    def at(self, question: str) -> str:
        """Wait for a question's prompt; returns what was printed since the last prompt was answered."""
        self.child.expect_exact(PROMPTS[question])
        before = self.text(self.child.before)
        self.seen += before
        time.sleep(0.3)   # the prompt is drawn and waits for keys
        return before

    def type(self, keys: str, clear: bool = False) -> None:
        """Type like a person: one key at a time."""
        if clear:
            self.child.send("\x15")   # Ctrl-U: clear the line (the default is pre-filled)
            time.sleep(0.1)
        for key in keys:
            self.child.send(key)
            time.sleep(0.06)

    def drain(self, wait: float = 0.5) -> str:
        out = self.child.after if isinstance(self.child.after, str) else ""   # the prompt text matched
        out += self.child.buffer                 # and what came after it, read already by expect
        self.child.buffer, self.child.after = "", None
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                out += self.child.read_nonblocking(65536, timeout=0.1)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
        out = self.text(out)
        self.seen += out
        return out

    def paste(self, text: str) -> None:
        """Replace the line with ``text`` in one go: the prompt redraws once, so a validator's message
        reaches the terminal whole (redraws while typing overwrite only the characters that change)."""
        self.child.send("\x15" + text)

    def shows(self, text: str) -> None:
        """Wait until ``text`` is on the screen (a validator's message comes a moment after the key)."""
        self.child.expect_exact(text, timeout=30)
        self.seen += self.text(self.child.before) + text

    def enter(self) -> None:
        self.child.send("\r")

    def finish(self) -> tuple[int, str]:
        self.child.expect(pexpect.EOF, timeout=120)
        self.seen += self.text(self.child.before)
        self.child.close()
        return self.child.exitstatus, self.seen


def _env(hub_url, tmp_path):
    return {"HF_ENDPOINT": hub_url, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf")}


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_the_model_is_read_once_after_its_questions_and_nothing_is_printed_into_a_prompt(
        template_dir, hub_server, tmp_path):
    """Typing the model id reads nothing (the check at its prompt is the form only); the one read
    (one wave) happens once revision and token are given, and nothing is printed into a prompt."""
    hub = hub_server.hub
    run = Prompts(template_dir, tmp_path / "proj", _env(hub_server.url, tmp_path))
    assert hub.requests == []                      # nothing is read before the first question
    run.at("framework")
    run.enter()
    run.at("offline")
    run.enter()
    run.at("modelName")
    run.type(QWEN, clear=True)
    shown = run.drain()
    assert hub.requests == [], hub.requests        # no read per keystroke
    assert "Reading" not in shown and "note:" not in shown and "not found" not in shown
    run.enter()
    run.at("modelRevision")
    run.enter()
    for question in ("loraAdapters", "enableLora"):   # none listed (issue 23): nothing more to read
        run.at(question)
        run.enter()
    run.at("hfToken")
    assert hub.requests == []                      # not even once the name is given: the revision comes next
    run.enter()
    before_server = run.at("modelServer")
    assert len(hub.requests) == WAVE, hub.requests
    assert sorted(hub.requests) == sorted([f"/api/models/{QWEN}"] + [
        f"/{QWEN}/resolve/main/{name}" for name in ("tokenizer_config.json", "config.json", "chat_template.jinja")])
    assert before_server.count("Reading") == 1     # said between the prompts, once
    for question in ORDER[ORDER.index("modelServer"):]:
        if question != "modelServer":
            shown = run.at(question)
            assert "Reading" not in shown and "note:" not in shown, (question, shown)
        run.enter()
    code, output = run.finish()
    assert code == 0, output[-3000:]
    assert len(hub.requests) == WAVE, hub.requests   # no read after the model's
    assert output.count("Reading") == 1
    lock = json.loads((tmp_path / "proj" / "model.lock.json").read_text())
    assert lock["model"]["sha"] == info(QWEN)["sha"]


@pytest.mark.parametrize("model,message", [
    ("acme/foobar", "Model acme/foobar was not found"),
    (LLAMA, "is a gated model and no HuggingFace token was found"),
])
def test_a_model_the_hub_refuses_is_one_read_and_one_message(template_dir, hub_server, tmp_path, model, message):
    hub = hub_server.hub
    run = Prompts(template_dir, tmp_path / "proj", _env(hub_server.url, tmp_path))
    for question in ("framework", "offline"):
        run.at(question)
        run.enter()
    run.at("modelName")
    run.type(model, clear=True)
    assert hub.requests == []
    run.enter()
    for question in ("modelRevision", "loraAdapters", "enableLora", "hfToken"):
        run.at(question)
        run.enter()
    code, output = run.finish()
    assert code == 1 and message in output, output[-3000:]
    assert output.count(message) == 1 and output.count("Reading") == 1, output[-3000:]
    assert "Traceback" not in output and PROMPTS["modelServer"] not in output
    assert len(hub.requests) == WAVE, hub.requests
    assert not (tmp_path / "proj").exists()


@pytest.mark.parametrize("args,message", [
    (["-d", "tensorParallelSize=3"], "tensorParallelSize 3 is not valid for Qwen/Qwen2.5-0.5B-Instruct"),
    (["-d", "modelName=openai-community/gpt2", "-d", "modelServer=tensorrt-llm"],
     "has no support we can vouch for GPT2LMHeadModel"),
])
def test_a_bad_value_given_with_d_is_one_message_once_the_model_is_read(template_dir, hub_server, tmp_path, args,
                                                                         message):
    """-d values are not asked, so their validators and choices cannot give a plain message: they are
    checked right after the model's read, before the other questions."""
    run = Prompts(template_dir, tmp_path / "proj", _env(hub_server.url, tmp_path), *args)
    for question in ("framework", "offline", "modelName", "modelRevision", "loraAdapters", "enableLora", "hfToken"):
        if "modelName=" in " ".join(args) and question == "modelName":
            continue
        run.at(question)
        run.enter()
    code, output = run.finish()
    assert code == 1 and message in output, output[-2000:]
    assert "Traceback" not in output and PROMPTS["modelServer"] not in output
    assert not (tmp_path / "proj").exists()


def test_offline_is_offered_first_when_the_hub_cannot_be_reached(template_dir, tmp_path):
    """No network: the run does not stop before asking; the offline question comes before the model,
    says why it defaults to yes, and the token question is skipped."""
    run = Prompts(template_dir, tmp_path / "proj", _env(f"http://127.0.0.1:{_closed_port()}", tmp_path))
    run.at("framework")
    run.enter()
    run.at("offline")
    run.shows("cannot be reached from here")
    run.shows("(Y/n)")
    run.enter()
    for question in ORDER[ORDER.index("modelName"):]:
        if question == "hfToken":
            continue
        run.at(question)
        run.enter()
    code, output = run.finish()
    assert code == 0, output[-3000:]
    assert PROMPTS["hfToken"] not in output
    assert "Cannot reach" not in output
    answers = yaml.safe_load((tmp_path / "proj" / ".copier-answers.yml").read_text())
    assert answers["offline"] is True
    assert json.loads((tmp_path / "proj" / "model.lock.json").read_text())["model"]["sha"] == info(QWEN)["sha"]


def test_a_bad_value_is_asked_again_at_its_own_question(template_dir, hub_server, tmp_path):
    """tensorParallelSize, maxModelLen and chatTemplateFile are checked against the model at their own
    prompts (no hub call: the model was read once); the prompt stays until the value is fixed, and
    the answers given before it are kept."""
    hub = hub_server.hub
    run = Prompts(template_dir, tmp_path / "proj", _env(hub_server.url, tmp_path))
    for question in ORDER[:ORDER.index("tensorParallelSize")]:
        run.at(question)
        if question == "awsRegion":
            break
        run.enter()
    run.at("tensorParallelSize")
    run.paste("3")
    run.shows("is not valid for Qwen/Qwen2.5-0.5B-Instruct: it must divide")
    run.enter()
    assert PROMPTS["maxModelLen"] not in run.drain(0.8)   # still at tensorParallelSize
    run.paste("1")
    run.enter()
    run.at("maxModelLen")
    run.paste("9999999")
    run.shows("exceeds Qwen/Qwen2.5-0.5B-Instruct's maximum context of 32768")
    run.enter()
    assert PROMPTS["chatTemplateFile"] not in run.drain(0.8)
    run.paste("8192")
    run.enter()
    run.at("chatTemplateFile")
    run.paste(str(tmp_path / "nope.jinja"))
    run.shows("is not a readable file")
    run.enter()
    assert PROMPTS["deployTarget"] not in run.drain(0.8)
    run.paste("")
    run.enter()
    for question in ORDER[ORDER.index("deployTarget"):]:
        run.at(question)
        run.enter()
    code, output = run.finish()
    assert code == 0, output[-3000:]
    assert len(hub.requests) == WAVE
    answers = yaml.safe_load((tmp_path / "proj" / ".copier-answers.yml").read_text())
    assert answers["tensorParallelSize"] == 1 and answers["maxModelLen"] == 8192
    lock = json.loads((tmp_path / "proj" / "model.lock.json").read_text())
    assert lock["deployment"]["max_model_len"] == 8192


@pytest.mark.parametrize("model,token,message", [
    (LLAMA, None, "is a gated model and no HuggingFace token was found"),
    (QWEN, "hf_NotARealTokenButLooksLikeOne1234567", "rejected the token"),
])
def test_a_refused_read_is_one_reading_line_and_one_message(template_dir, tmp_path, fake_hub, capfd, monkeypatch,
                                                            model, token, message):
    """--defaults: the read that fails (gated, bad token) is said once; copier's later answers that need
    the model get the same error without reading again."""
    from copier import run_copy
    from copier.errors import UserMessageError
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    with pytest.raises(UserMessageError, match=message):
        run_copy(str(template_dir), str(tmp_path / "proj"), data={"modelName": model}, defaults=True, unsafe=True,
                 quiet=True)
    err = capfd.readouterr().err
    assert err.count("Reading ") == 1, err
    assert len(fake_hub.requests) == WAVE
    assert not token or token not in err


def test_an_interactive_update_reads_nothing_and_judges_by_the_pinned_model(tmp_path, hub_server):
    """The pinned commit is in the disk cache: an interactive update asks every question with no hub
    call, and the instance choices already know the model."""
    import subprocess
    from testkit import copy_template
    def git(cwd, *args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                       capture_output=True)
    template = copy_template(tmp_path / "template")
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "1.0.0")
    git(template, "tag", "1.0.0")
    env = _env(hub_server.url, tmp_path)
    first = subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", str(template),
                            str(tmp_path / "proj")], env={**os.environ, **env}, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    git(tmp_path / "proj", "init", "-q")
    git(tmp_path / "proj", "add", "-A")
    git(tmp_path / "proj", "commit", "-qm", "generated")
    (template / "template" / "NOTES.md").write_text("Release notes.\n")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "1.1.0")
    git(template, "tag", "1.1.0")
    hub_server.hub.reset()
    run = Prompts(template, tmp_path / "proj", env, update=True)
    for question in ORDER:
        run.at(question)
        if question == "instanceType":
            run.shows(f"the cheapest type that fits {QWEN}")
        run.enter()
    code, output = run.finish()
    assert code == 0, output[-3000:]
    assert hub_server.hub.requests == []
    assert "Reading" not in output and (tmp_path / "proj" / "NOTES.md").is_file()


# ---------------------------------------------------------------- the checks themselves, in-process
def test_the_model_question_checks_the_form_only_and_reads_nothing(fake_hub):
    from generator import prompts
    assert prompts.model_name_problem("acme/no-such-model") == ""
    assert prompts.model_name_problem(QWEN) == ""
    assert "Use the form org/name" in prompts.model_name_problem("not-a-repo-id")
    assert "Use the form org/name" in prompts.model_name_problem("acme/")
    assert fake_hub.requests == []


def test_checks_at_a_prompt_never_call_the_hub(fake_hub):
    """Before the model is read, the per-question checks pass (nothing is known yet) without a call."""
    from generator import prompts
    answers = {"modelName": QWEN, "modelServer": "vllm"}
    assert prompts.problem("tensorParallelSize", 3, answers) == ""
    assert prompts.problem("maxModelLen", 10 ** 7, answers) == ""
    assert fake_hub.requests == []


def test_checks_at_a_prompt_use_the_one_read_and_make_the_plan_generation_makes(fake_hub, tmp_path):
    from generator import hub, prompts
    hub.load(QWEN, "main")
    count = len(fake_hub.requests)
    answers = {"modelName": QWEN, "modelServer": "vllm"}
    assert "tensorParallelSize 3 is not valid for Qwen/Qwen2.5-0.5B-Instruct" in \
        prompts.problem("tensorParallelSize", 3, answers)
    assert prompts.problem("tensorParallelSize", 2, answers) == ""
    assert "exceeds Qwen/Qwen2.5-0.5B-Instruct's maximum context of 32768" in \
        prompts.problem("maxModelLen", 10 ** 7, answers)
    assert prompts.problem("maxModelLen", 8192, answers) == ""
    djl = {**answers, "modelServer": "djl"}
    assert "has no setting that limits the context length" in prompts.problem("maxModelLen", 4096, djl)
    assert prompts.problem("maxModelLen", 0, djl) == ""
    assert "is not a readable file" in prompts.problem("chatTemplateFile", str(tmp_path / "nope.jinja"), answers)
    mine = tmp_path / "mine.jinja"
    mine.write_text("{{ messages }}")
    assert prompts.problem("chatTemplateFile", str(mine), answers) == ""
    assert "not chat" in prompts.problem("chatTemplateFile", str(mine), djl)
    assert "Give a branch, tag or commit" in prompts.problem("modelRevision", "v1 beta", answers)
    assert prompts.problem("modelRevision", "refs/pr/3", answers) == ""
    assert len(fake_hub.requests) == count


def test_a_server_that_cannot_serve_the_model_is_listed_not_selectable_and_refused_at_once(fake_hub):
    """GPT-2 (GPT2LMHeadModel): TensorRT-LLM has no support for it. Once the model is read, its choice says
    so and cannot be picked; a -d or earlier answer of it is refused right after the server questions."""
    from generator import errors, hub, prompts
    gpt2 = "openai-community/gpt2"
    answers = {"modelName": gpt2, "modelServer": "vllm"}
    assert all(isinstance(v, str) for v in prompts.server_choices(answers, interactive=True).values())
    hub.load(gpt2, "main")
    choices = prompts.server_choices(answers, interactive=True)
    assert list(choices) == list(prompts.SERVER_LABELS.values())
    assert choices["TensorRT-LLM (trtllm-serve behind nginx)"] == {"value": "tensorrt-llm",
                                                                  "validator": "cannot serve this model"}
    assert [v for v in choices.values() if isinstance(v, str)] == ["vllm", "sglang", "lmi", "djl"]
    assert all(isinstance(v, str) for v in prompts.server_choices(answers, interactive=False).values())
    prompts.server_fit(answers)
    with pytest.raises(errors.InvalidAnswer, match="has no support we can vouch for GPT2LMHeadModel"):
        prompts.server_fit({**answers, "modelServer": "tensorrt-llm"})
    given = {"modelName": gpt2, "modelServer": "tensorrt-llm"}   # -d modelServer=tensorrt-llm at a prompt
    with pytest.raises(errors.InvalidAnswer, match="has no support we can vouch for GPT2LMHeadModel"):
        prompts.read_model(given, given)
    assert len(fake_hub.requests) == WAVE


def test_instance_choices_list_the_types_that_fit_first_cheapest_first(fake_hub):
    """Llama-3.1-70B (141 GB of weights): the types that hold it are listed first, cheapest first; the
    others are still listed (the way to see all), after them and not selectable, with the reason."""
    from generator import hub, prompts, sizing
    answers = {"modelName": LLAMA_70B, "modelServer": "vllm", "hfToken": GRANTED_TOKEN}
    everything = prompts.instance_choices(answers, interactive=True)
    assert list(everything.values())[0] == "auto" and len(everything) == len(sizing.candidates()) + 1
    assert all(isinstance(v, str) for v in everything.values())   # not read yet: nothing to judge by
    hub.load(LLAMA_70B, "main", token=GRANTED_TOKEN)
    choices = prompts.instance_choices(answers, interactive=True)
    values = list(choices.values())
    assert values[0] == "auto" and len(values) == len(sizing.candidates()) + 1
    fits = [v for v in values[1:] if isinstance(v, str)]
    others = [v for v in values[1:] if isinstance(v, dict)]
    assert fits and others and values[1:] == fits + others
    assert fits == [n for n in sizing.candidates() if n in fits]            # cheapest first
    assert all(o["validator"] == "does not fit this model" for o in others)
    assert "ml.g6.xlarge" in [o["value"] for o in others]
    # the catalog's prices are training rates: the labels say so, never a bare "$/h"
    priced = [label for label in choices if "/h" in label]
    assert priced and all("/h training rate" in label for label in priced)
    from generator.facts import model_facts
    facts = model_facts(hub.load(LLAMA_70B, "main", token=GRANTED_TOKEN), LLAMA_70B, "main")
    assert sizing.plan_deployment(facts, "auto")["instance_type"] == fits[0]
    assert f"the cheapest type that fits {LLAMA_70B}: {fits[0]}" in next(iter(choices))
    # under --defaults (nothing asked; -d values are checked where the project is built) all are choices
    assert all(isinstance(v, str) for v in prompts.instance_choices(answers, interactive=False).values())
    assert len(fake_hub.requests) == WAVE
