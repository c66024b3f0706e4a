"""README.md says what is true: its setup command gives a project that updates, and its server
table is the catalog's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testkit import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import catalog_table  # noqa: E402


def _block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    after = text[text.index(f"<!-- {marker} -->"):]
    return re.search(r"```bash\n(.*?)```", after, re.S).group(1).strip()


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.mark.cli
def test_quick_start_project_updates(tmp_path):
    """README's setup command, word for word, in a clone of this repository; then the update a user
    runs next (issue: `_src_path: .` made `copier update` fail with 'Unknown revision')."""
    clone = tmp_path / "sagemaker-llm-template"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "HF_"))}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    r = subprocess.run(["bash", "-c", _block("setup-command")], cwd=clone, env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    project = tmp_path / "my-llm-project"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert Path(answers["_src_path"]).is_absolute()
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "generated")
    copier = clone / ".venv" / "bin" / "copier"
    r = subprocess.run([str(copier), "update", "--trust", "--defaults"], cwd=project, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["modelServerVersion"] == "0.32.0"


def test_server_table_is_the_catalogs():
    assert catalog_table.table() in (ROOT / "README.md").read_text(), \
        "README.md's server table differs from the catalog: paste `python tools/catalog_table.py` into it"
