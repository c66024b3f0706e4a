"""Shared fixtures: an isolated environment, the fake hub, and the template copy."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import pytest
import responses

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testkit import HF_ENDPOINT, TEMPLATE_PATHS, copy_template  # noqa: E402
from generator import hub as hub_module  # noqa: E402
from hubsim import Hub  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path_factory):
    """No real token, cache or hub: every test starts from a blank HF environment."""
    # tempfile, not tmp_path_factory.mktemp: mktemp numbers a folder by listing the session's base
    # folder, which holds one folder per test by the end (quadratic over a thousand tests)
    home = Path(tempfile.mkdtemp(prefix="home-", dir=tmp_path_factory.getbasetemp()))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", HF_ENDPOINT)
    hub_module.clear_process_cache()
    yield home
    hub_module.clear_process_cache()


@pytest.fixture
def fake_hub():
    """The recorded hub behind `responses`, for in-process `requests` calls."""
    hub = Hub()

    def callback(request):
        path = request.url[len(HF_ENDPOINT):]
        return hub.answer(request.method, path, dict(request.headers))

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(re.escape(HF_ENDPOINT) + r"/.*"), callback=callback)
        hub.mock = mock
        yield hub


@pytest.fixture(scope="session")
def copier_template_paths() -> list[str]:
    return TEMPLATE_PATHS


@pytest.fixture(scope="session")
def copier_defaults() -> dict:
    return {}


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory) -> Path:
    """The template as a plain folder (no git): copier renders it without cloning, which keeps
    the render matrix fast. Tests of update and versions use git copies."""
    return copy_template(tmp_path_factory.mktemp("template-plain"))


@pytest.fixture(scope="session")
def catalog_project(template_dir, tmp_path_factory):
    """``catalog_project(server, version=None)``: the project the template renders offline for the
    golden files' reference model (tools/golden.py) at one catalog entry (the default version when
    none is given), rendered once per test process and shared: test_golden compares it, test_servers,
    test_serve and test_render's checks read it or run its code/serve. Read it; never change it."""
    from generator import servers
    from tools import golden

    root = tmp_path_factory.mktemp("catalog")
    made: dict[tuple[str, str], Path] = {}

    def get(server: str, version: str | None = None) -> Path:
        version = version or servers.default_version(server)
        if (server, version) not in made:
            dst = root / golden.folder_name(server, version)
            golden.render(template_dir, dst, server, version)
            made[(server, version)] = dst
        return made[(server, version)]

    return get


# With -n (pytest.ini: --dist loadgroup) the tests run in groups, each group in one worker: a test
# file is a group, so its module fixtures are made once, and the files that read catalog_project are
# one group, so its renders are made once (measured: 77 s with xdist's default `load`, 66 s by file).
CATALOG_FILES = {"test_golden.py", "test_servers.py", "test_serve.py", "test_generated_readme.py",
                 "test_render.py"}


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = "catalog" if item.path.name in CATALOG_FILES else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_sessionfinish(session, exitstatus):
    """After a run that built images, remove the untagged ones it left (tests/container_helpers.py)."""
    helpers = sys.modules.get("container_helpers")
    if helpers is not None and helpers.BUILT_IMAGES:
        removed = helpers.prune_test_images()
        if removed:
            print(f"\nremoved {len(removed)} untagged test image(s)")
