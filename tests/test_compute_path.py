"""One compute path (issue 22, item 2): the project context is computed once per render and kept by
the render, not by a module; copier.yml's validators check with the generator's own forms and lists.

The count is read where generator/project.py documents it: one DEBUG record
``context computed for <model> on <server> <version> into <folder>`` on the logger
``sm_llm.generator`` per computation. Copier builds one Jinja environment per render
(``Worker.jinja_env``), and extensions/ keep one ``Render`` per environment; copier renders the
``ctx`` default more than once, and the Render keeps the first computation.

A ``copier update`` is three renders in copier 9.19 (``Worker._apply_update``): the old version into
a scratch folder, the new version into the project, and the new version again into a second scratch
folder, so that the diff of the two scratch folders can be applied. Each is a render of its own (its
own template clone and environment), and each computes the context once.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

from testkit import ROOT, copy_template

LOGGER = "sm_llm.generator"
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"   # gated; its metadata ships with the template


def computed(caplog) -> list[str]:
    """The folders the context was computed for, one per computation, since the last call."""
    out = [r.getMessage() for r in caplog.records
           if r.name == LOGGER and r.getMessage().startswith("context computed for ")]
    caplog.clear()
    return [message.rsplit(" into ", 1)[1] for message in out]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_a_copy_computes_the_context_once(template_dir, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    dst = tmp_path / "p"
    run_copy(str(template_dir), str(dst), data={"offline": True}, defaults=True, unsafe=True, quiet=True)
    assert computed(caplog) == [str(dst)]
    # a second copy in the same process computes its own: nothing is kept between renders
    run_copy(str(template_dir), str(tmp_path / "q"), data={"offline": True}, defaults=True, unsafe=True, quiet=True)
    assert computed(caplog) == [str(tmp_path / "q")]


@pytest.mark.cli   # a git-based update (clones of two tags): the cli tier, as tests/test_update.py
def test_an_update_computes_the_context_once_per_render(tmp_path, caplog):
    """1.0.0 generated, then updated to 1.1.0: once for the old version, once for each of the new
    version's two renders (the project and copier's scratch copy), never more."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    repo = copy_template(tmp_path / "template")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "1.0.0")
    git(repo, "tag", "1.0.0")
    dst = tmp_path / "proj"
    run_copy(str(repo), str(dst), data={"offline": True, "modelName": QWEN}, defaults=True, unsafe=True, quiet=True,
             vcs_ref="1.0.0")
    assert computed(caplog) == [str(dst)]
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "generated")
    readme = repo / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\n## Support\n\nOpen an issue on the template's repository.\n")
    git(repo, "commit", "-qam", "1.1.0")
    git(repo, "tag", "1.1.0")

    run_update(str(dst), defaults=True, unsafe=True, overwrite=True, quiet=True)
    folders = computed(caplog)
    assert len(folders) == 3, folders
    assert folders.count(str(dst)) == 1                                  # the new version, into the project
    assert sum("old_copy" in f for f in folders) == 1                    # the old version
    assert sum("new_copy" in f for f in folders) == 1                    # the new version, copier's scratch copy
    assert "## Support" in (dst / "README.md").read_text()
    assert yaml.safe_load((dst / ".copier-answers.yml").read_text())["_commit"] == "1.1.0"


def test_a_note_is_said_once_per_render_and_by_every_render(template_dir, tmp_path, monkeypatch, capsys):
    """The warned set belongs to the render: each copy says its note once, a later copy in the same
    process says it again."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("p", "q"):
        run_copy(str(template_dir), str(tmp_path / name), data={"modelName": LLAMA}, defaults=True, unsafe=True,
                 quiet=True)
        assert capsys.readouterr().err.count(f"note: {LLAMA} is gated") == 1


def test_no_module_keeps_what_a_render_said():
    from generator import jumpstart, project
    assert not hasattr(project, "WARNED") and not hasattr(jumpstart, "WARNED")


# ---------------------------------------------------------------- the validators' one source
def test_copier_yml_validators_hold_no_form_or_list_of_their_own():
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    text = (ROOT / "copier.yml").read_text()
    assert "regex_search" not in text and "'vllm', 'sglang'" not in text
    for key in ("framework", "modelName", "modelServer", "tensorParallelSize", "maxModelLen", "projectName",
                "modelRevision", "chatTemplateFile"):
        assert questions[key]["validator"] == f"{{{{ question_problem('{key}', {key}) }}}}", key


def test_the_prompt_checks_use_the_generator_forms_and_lists():
    from generator import jumpstart, prompts, servers
    from generator.answers import MODEL_ID_RE
    from generator.project import FRAMEWORKS, PROJECT_RE
    assert prompts.problem("modelServer", "triton", {}) == f"Choose one of: {', '.join(servers.SERVERS)}."
    assert all(prompts.problem("modelServer", name, {}) == "" for name in servers.SERVERS)
    assert prompts.problem("framework", "pytorch", {}) == "Only 'transformers' is supported."
    assert prompts.problem("framework", FRAMEWORKS[0], {}) == ""
    for name in ("Qwen/Qwen2.5-0.5B-Instruct", "acme/", "meta-textgeneration-llama-3-1-8b", "Not_An_Id", "x"):
        ok = MODEL_ID_RE.match(name) if "/" in name else jumpstart.ID_RE.match(name)
        assert (prompts.problem("modelName", name, {}) == "") == bool(ok), name
    assert "Use the form org/name" in prompts.problem("modelName", "acme/", {})
    assert "JumpStart model id" in prompts.problem("modelName", "Not_An_Id", {})
    for name in ("qwen-vllm", "Bad_Name", "a" * 63, "a" * 64, "-x"):
        assert (prompts.problem("projectName", name, {}) == "") == bool(PROJECT_RE.match(name)), name
    assert prompts.problem("projectName", "a" * 64, {}) == "Use lower-case letters, digits and dashes (at most 63)."
    for key in ("tensorParallelSize", "maxModelLen"):
        assert prompts.problem(key, -1, {}) == "Use 0 (automatic) or a positive number."
        assert prompts.problem(key, 0, {}) == ""
