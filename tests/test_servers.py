"""hooks/servers.py against the servers' own argument tables.

The stand-in engines' flag tables (tests/standins/) were extracted from vLLM v0.10.1 and
SGLang v0.5.4.post1 wheels and read from trtllm-serve's source; every setting the serve
script accepts through ENGINE_ARG_* must be a real flag of that version, of the right kind.
"""

import importlib.machinery
import importlib.util
import sys

import pytest

from conftest import ROOT
from hooks.servers import ENGINE_ARGS, MANAGED_ARGS, SERVERS

STANDINS = ROOT / "tests" / "standins"


def _load(path, name):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def argparse_table(server):
    module = _load(STANDINS / "common" / f"{server}_flags.py", f"{server}_flags")
    return {name: kind for names, kind, _ in module.FLAGS for name in names}


def trtllm_table():
    sys.path.insert(0, str(STANDINS / "common"))   # the stand-in imports its shared runtime
    try:
        module = _load(STANDINS / "trtllm" / "trtllm-serve", "trtllm_serve_standin")
    finally:
        sys.path.remove(str(STANDINS / "common"))
    return {name: ("true" if kind == module.FLAG else "value") for names, kind, _ in module.OPTIONS for name in names}


TABLES = {"vllm": lambda: argparse_table("vllm"), "sglang": lambda: argparse_table("sglang"),
          "tensorrt-llm": trtllm_table}


@pytest.mark.parametrize("server", sorted(TABLES))
def test_every_engine_arg_is_a_real_flag_of_the_pinned_version(server):
    table = TABLES[server]()
    wrong = []
    for name, kind in ENGINE_ARGS[server].items():
        real = table.get(f"--{name}")
        if real is None:
            wrong.append(f"--{name}: no such flag")
        elif kind == "bool+" and real != "bool":
            wrong.append(f"--{name}: has no --no-{name} form")
        elif kind == "bool" and real not in ("bool", "true"):
            wrong.append(f"--{name}: takes a value, not a boolean")
        elif kind not in ("bool", "bool+") and real in ("bool", "true"):
            wrong.append(f"--{name}: is a boolean flag")
    assert not wrong, wrong


def test_managed_args_are_accepted_settings():
    for server, managed in MANAGED_ARGS.items():
        assert set(managed) <= set(ENGINE_ARGS[server]), server


def test_every_server_has_a_pinned_image_and_settings():
    assert set(SERVERS) == set(ENGINE_ARGS) == set(MANAGED_ARGS) == {"vllm", "sglang", "tensorrt-llm", "lmi", "djl"}
