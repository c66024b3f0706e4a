"""Golden files (tools/golden.py): per catalog entry, the Dockerfile, code/serve, code/nginx.conf,
code/engine_args.tsv and model.lock.json the template renders for the reference model, offline,
equal to tests/golden/<server>-<version>/. A template or catalog change is a diff to review there."""

from __future__ import annotations

import pytest

from testkit import assert_valid_lock
from tools import golden

HOW = (f"The template renders something else than tests/golden/ holds. Review the diff below; if the change "
       f"is intended, run `{golden.REGENERATE}` and commit tests/golden/.")


def test_there_are_golden_files_for_every_catalog_entry_and_no_other():
    folders = sorted(p.name for p in golden.GOLDEN.iterdir() if p.is_dir())
    wanted = sorted(golden.folder_name(s, v) for s, v in golden.entries())
    assert folders == wanted, f"{HOW}\n(catalog entries: {wanted}; golden folders: {folders})"


@pytest.mark.parametrize("server,version", golden.entries(), ids=[golden.folder_name(*e) for e in golden.entries()])
def test_rendered_files_equal_the_golden_files(catalog_project, server, version):
    project = catalog_project(server, version)   # golden.render, shared with the tests that run it
    actual = golden.read(project)
    expected = golden.stored(server, version)
    assert {"Dockerfile", "code/serve", "code/engine_args.tsv", "model.lock.json"} <= set(actual)
    assert actual == expected, f"{HOW}\n{golden.diff(server, version, expected, actual)}"
    assert_valid_lock(project)
