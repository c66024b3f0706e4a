"""The version catalog against the engines' own flag tables, for every catalog entry.

generator/data/flags/<server>-<version>.json are produced by `python -m tools.flags` from each
engine's own code (tests/test_flag_tools.py and tests/test_engine_parsers.py keep them equal to a
fresh extraction). Here: every flag a generated serve script passes, and every ENGINE_ARG_ name it
accepts, exists in the chosen version's table; the catalog's images and AMIs are well formed.
"""

from __future__ import annotations

import json
import os
import subprocess

import botocore.session
import pytest
from copier import run_copy

from generator import servers

CASES = [(s, v) for s in servers.SERVERS for v in servers.versions(s)]
IDS = [f"{s}@{v}" for s, v in CASES]


def engine_command(project, tmp_path, local_weights: bool, env: dict | None = None) -> list[str]:
    """The engine command line code/serve would run (SERVE_PRINT_COMMAND=1)."""
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    if local_weights:
        (model_dir / "config.json").write_text("{}")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_ARG_", "SM_", "HF_TOKEN"))}
    run_env.update(SERVE_PRINT_COMMAND="1", MODEL_DIR=str(model_dir), HF_TOKEN="hf_unused", **(env or {}))
    r = subprocess.run([str(project / "code" / "serve"), "serve"], env=run_env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def passed_settings(server: str, argv: list[str]) -> set[str]:
    """Flag names (dash-less) in a command line; for LMI/DJL the OPTION_<KEY> names of `env K=V ...`."""
    if servers.SERVER_TRAITS[server]["flag_style"] == "properties":
        assert argv[0] == "env", argv
        return {a.split("=", 1)[0][len("OPTION_"):].lower() for a in argv[1:] if a.startswith("OPTION_")}
    return {a[2:].split("=", 1)[0] for a in argv if a.startswith("--")}


@pytest.mark.parametrize(("server", "version"), CASES, ids=IDS)
@pytest.mark.parametrize("local_weights", [False, True], ids=["hub", "opt-ml-model"])
def test_every_flag_the_serve_script_passes_is_in_the_versions_table(catalog_project, tmp_path, server, version,
                                                                      local_weights):
    argv = engine_command(catalog_project(server, version), tmp_path, local_weights)
    flags = passed_settings(server, argv)
    assert flags, argv
    missing = sorted(flags - servers.flag_names(server, version))
    assert not missing, f"{server} {version} has no {missing}: {argv}"


@pytest.mark.parametrize(("server", "version"), CASES, ids=IDS)
def test_every_engine_arg_name_is_in_the_versions_table(catalog_project, server, version):
    table = servers.flag_names(server, version)
    tsv = (catalog_project(server, version) / "code" / "engine_args.tsv").read_text()
    names = [line.split("\t")[0] for line in tsv.splitlines() if line and not line.startswith("#")]
    assert len(names) > 20
    assert set(names) <= table
    assert not set(names) & set(servers.fixed_args(server, version))
    assert set(servers.managed_args(server, version)) <= set(names)


@pytest.mark.parametrize(("server", "version"), CASES, ids=IDS)
def test_every_alias_of_a_fixed_flag_is_refused(catalog_project, tmp_path, server, version):
    """SGLang's --model is an alias of --model-path (one row of its parser's table): ENGINE_ARG_MODEL
    replaced the pinned model. Every long spelling of a flag the project sets, as the engine's own
    parser lists them, stops the container before the engine starts."""
    fixed = set(servers.FIXED_ARGS[server])
    aliases = {n.lstrip("-") for row in servers.flag_table(server, version)["flags"]
               if fixed & {x.lstrip("-") for x in row["names"]}
               for n in row["names"] if n.startswith("--") or not n.startswith("-")}
    assert aliases >= fixed & servers.flag_names(server, version)
    if server == "sglang":
        assert "model" in aliases                     # server_args.py: "--model-path", "--model"
    if server == "lmi":
        aliases.add("model")                          # vLLM's name for it, passed through by LMI
    names = [line.split("\t")[0] for line in
             (catalog_project(server, version) / "code" / "engine_args.tsv").read_text().splitlines()]
    for alias in sorted(aliases):
        assert alias not in names, alias
        var = "ENGINE_ARG_" + alias.upper().replace("-", "_")
        run_env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_ARG_", "SM_", "HF_TOKEN"))}
        run_env.update(SERVE_PRINT_COMMAND="1", MODEL_DIR=str(tmp_path / "none"), HF_TOKEN="hf_unused",
                       **{var: "someone/else"})
        r = subprocess.run([str(catalog_project(server, version) / "code" / "serve"), "serve"], env=run_env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 64 and f"'{alias}' is set by this project" in r.stderr, (var, r.stderr)
        assert "someone/else" not in r.stdout


@pytest.mark.parametrize(("server", "version"), CASES, ids=IDS)
def test_engine_arg_kinds_follow_the_table(server, version):
    """A --x/--no-x flag takes true/false both ways; a bare flag is only added; values keep their type."""
    kinds = servers.engine_args(server, version)
    for row in servers.flag_table(server, version)["flags"]:
        for spelling in row["names"]:
            bare = spelling.lstrip("-")
            if bare not in kinds:
                continue
            want = {"bool": "bool+", "flag": "bool", "int": "int", "float": "float", "list": "list"}.get(row["kind"])
            if row["kind"] == "choice" and row.get("choices"):
                want = "choice:" + "|".join(map(str, row["choices"]))
            assert kinds[bare] == (want or "str"), (bare, row)


def test_removed_vllm_flags_are_refused_by_the_new_version_only():
    """engines-2026.md section 3: measured, the real vLLM 0.32.0 exits on these."""
    for flag in ("swap-space", "max-seq-len-to-capture", "disable-log-requests"):
        assert flag in servers.engine_args("vllm", "0.10.1")
        assert flag not in servers.engine_args("vllm", "0.32.0")


def test_catalog_entries_are_complete_and_amis_are_botocores():
    amis = set(botocore.session.get_session().get_service_model("sagemaker")
               .shape_for("ProductionVariantInferenceAmiVersion").enum)
    for server in servers.SERVERS:
        spec = servers.catalog()[server]
        assert spec["default"] in spec["versions"]
        assert len(spec["versions"]) >= 2, server
        for version in spec["versions"]:
            e = servers.entry(server, version)
            for key in ("image", "engine", "cuda", "routes", "tag_source", "tag_confirmed", "proxy"):
                assert key in e, (server, version, key)
            assert e["inference_ami_version"] in amis, (server, version)
            if e["cuda"] >= 13:
                assert e["inference_ami_version"] == "al2023-ami-sagemaker-inference-gpu-4-1", (server, version)
            assert e["flags_source"] and e["flags_generated_by"].startswith("python -m tools.flags"), (server, version)


def test_seed_images_stay_selectable():
    """DESIGN.md's seed pins, with DJL's tag fixed to what upstream publishes (-pytorch-gpu)."""
    seeds = {("vllm", "0.10.1"): "vllm/vllm-openai:v0.10.1",
             ("sglang", "0.5.4.post1"): "lmsysorg/sglang:v0.5.4.post1",
             ("tensorrt-llm", "1.2.0rc8"): "nvcr.io/nvidia/tensorrt-llm/release:1.2.0rc8",
             ("lmi", "0.32.0-lmi14.0.0"):
                 "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu126",
             ("djl", "0.32.0"): "deepjavalibrary/djl-serving:0.32.0-pytorch-gpu"}
    for (server, version), image in seeds.items():
        assert servers.entry(server, version)["image"] == image


def test_unknown_version_is_refused_with_the_list():
    from generator.errors import InvalidAnswer
    with pytest.raises(InvalidAnswer) as err:
        servers.check_version("vllm", "0.32")
    assert "Did you mean '0.32.0'?" in str(err.value)
    assert "0.32.0 (default), 0.34.0, 0.10.1" in str(err.value)


@pytest.mark.parametrize(("server", "version"), CASES, ids=IDS)
def test_a_planned_length_reaches_the_engine_or_is_not_claimed(catalog_project, tmp_path, server, version):
    """DJL claimed a max model length (lock, README) that nothing passed to its HF Accelerate handler,
    which has no length setting (hf_properties.py at v0.36.0 / 0.32.0-dlc). Every server with a length
    setting gets the planned length through it; DJL's lock and README claim none."""
    project = catalog_project(server, version)
    lock = json.loads((project / "model.lock.json").read_text())
    planned = lock["deployment"]["max_model_len"]
    argv = engine_command(project, tmp_path, local_weights=False)
    setting = servers.LENGTH_SETTING[server]
    if setting is None:
        assert planned is None, lock["deployment"]
        assert not [a for a in argv if "max_model_len" in a.lower() or "max_seq_len" in a.lower()], argv
        assert "| max model length | not set:" in (project / "README.md").read_text()
    elif setting.startswith("option."):
        assert f"OPTION_{setting[7:].upper()}={planned}" in argv, argv
    else:
        assert planned and argv[argv.index(setting) + 1] == str(planned), argv


def test_djl_refuses_a_length_it_cannot_apply(tmp_path, template_dir):
    from copier.errors import UserMessageError
    with pytest.raises(UserMessageError) as err:
        run_copy(str(template_dir), str(tmp_path / "p"), data={"modelServer": "djl", "offline": True,
                                                              "maxModelLen": 4096},
                 defaults=True, unsafe=True, quiet=True)
    assert "maxModelLen=4096: DJL Serving" in str(err.value) and "nothing would enforce it" in str(err.value)
    assert not (tmp_path / "p" / "model.lock.json").exists()
