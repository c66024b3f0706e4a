"""The generated project's README.md says what is true (issue 20 items 2 and 20): its run steps
work as written, its memory facts are the catalog's per server version (generator/data/engines.json
"memory", cited there), prices say what they are, and its examples are settings people change."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from copier import run_copy

from generator import servers

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="module")
def projects(tmp_path_factory, template_dir, catalog_project):
    """One project per server at its default version and the LMI seed version (offline, shipped
    metadata: conftest.catalog_project), plus SGLang with Llama-3.1-8B (the issue's case)."""
    made = {s: catalog_project(s) for s in servers.SERVERS}
    made["lmi-seed"] = catalog_project("lmi", "0.32.0-lmi14.0.0")
    made["sglang-llama"] = tmp_path_factory.mktemp("readme") / "sglang-llama"
    run_copy(str(template_dir), str(made["sglang-llama"]), data={"offline": True, "modelServer": "sglang",
             "modelName": LLAMA}, defaults=True, unsafe=True, quiet=True)
    return made


def readme(project) -> str:
    return (project / "README.md").read_text()


def row(text: str, name: str) -> str:
    """The value cell of the README table row ``| name | ... |``."""
    return re.search(rf"^\| {re.escape(name)} \| (.*) \|$", text, re.M).group(1)


def lock(project) -> dict:
    return json.loads((project / "model.lock.json").read_text())


def test_the_run_steps_copy_the_env_file_that_docker_run_reads(projects):
    text = readme(projects["vllm"])
    cp = next(line for line in text.splitlines() if line.startswith("cp .env.example .env"))
    run = next(line for line in text.splitlines() if line.startswith("docker run"))
    assert "--env-file .env" in run and (projects["vllm"] / ".env.example").is_file()
    assert "optional" not in cp and "needs it" in cp      # docker run fails without the file


def test_the_readme_names_the_template_and_each_engine_once(projects):
    for name, project in projects.items():
        text = readme(project)
        assert "sagemaker-llm-template Copier template" in text, name
        server = row(text, "server")
        assert not re.search(r"(\w[\w.-]* [\d][\w.]*) \(\1\)", server), server   # "vLLM 0.32.0 (vLLM 0.32.0)"
    assert row(readme(projects["vllm"]), "server") == "vLLM 0.32.0, the template's default"
    assert row(readme(projects["lmi"]), "server").startswith("AWS LMI (DJL Serving + vLLM) 0.38.0-lmi29.0.0: "
                                                             "LMI 29 (vLLM 0.28.0)")


@pytest.mark.parametrize("name", ["vllm", "sglang", "tensorrt-llm", "lmi", "djl", "sglang-llama", "lmi-seed"])
def test_memory_rows_are_the_catalogs_short_facts(projects, name):
    text = readme(projects[name])
    entry = servers.entry(lock(projects[name])["server"]["name"], lock(projects[name])["server"]["version"])
    assert "engines use 90%" not in text
    total = row(text, "total per GPU")
    assert entry["engine_overhead_source"] not in text and len(total) < 160, total   # no essay in a cell
    assert row(text, "engine memory").startswith(entry["memory"]["summary"])


def test_sglang_readme_and_serve_pass_the_planned_fraction(projects):
    project = projects["sglang-llama"]
    env = {"PATH": os.environ["PATH"], "SERVE_PRINT_COMMAND": "1", "HF_TOKEN": "hf_x",
           "MODEL_DIR": str(project / "no-model-here")}
    argv = json.loads(subprocess.run([str(project / "code" / "serve"), "serve"], env=env, capture_output=True,
                                     text=True, check=True).stdout)
    fraction = argv[argv.index("--mem-fraction-static") + 1]
    # L4: (22.35 - 1.0 in use before loading - 3.0 activations and graphs) / 21.35 = 0.859, which holds
    # the 14.96 GiB of weights and the KV cache of 27,648 tokens (generator/sizing.py static_fraction)
    assert fraction == "0.859" and argv[argv.index("--context-length") + 1] == "27648"
    assert f"`--mem-fraction-static {fraction}`" in row(readme(project), "engine memory")


def test_prices_say_what_they_are(projects):
    cell = row(readme(projects["vllm"]), "instance type")
    assert "us-west-2 SageMaker training rate" in cell and "recorded 2026-11-25" in cell
    assert "on demand" not in cell and "not a hosting price for us-east-1" in cell


def test_the_engine_arg_example_is_a_setting_people_change(projects):
    expected = {"vllm": "ENGINE_ARG_MAX_NUM_SEQS=64", "sglang": "ENGINE_ARG_MAX_RUNNING_REQUESTS=64",
                "tensorrt-llm": "ENGINE_ARG_MAX_BATCH_SIZE=64", "lmi": "ENGINE_ARG_MAX_ROLLING_BATCH_SIZE=64",
                "djl": "ENGINE_ARG_DTYPE=fp16"}
    for server, example in expected.items():
        project = projects[server]
        assert f"e.g. `{example}`" in readme(project)
        assert f"# {example}" in (project / ".env.example").read_text()
        assert f"#   {example}" in (project / "code" / "serve").read_text()
        name = example.split("=")[0][len("ENGINE_ARG_"):].lower()
        names = [line.split("\t")[0] for line in (project / "code" / "engine_args.tsv").read_text().splitlines()
                 if line and not line.startswith("#")]
        assert name in {n.replace("-", "_") for n in names} and name != names[0].replace("-", "_")


@pytest.mark.parametrize("server,version", [(s, v) for s in servers.SERVERS for v in servers.versions(s)])
def test_every_catalog_example_is_a_setting_of_its_version(server, version):
    name, value = servers.entry(server, version)["example_setting"].split("=", 1)
    assert name in servers.engine_args(server, version) and value


def test_a_context_nobody_set_is_explained():
    """Copier cannot reach this branch any more (an unknown model needs maxModelLen, generator/project.py),
    so the README template is rendered directly, with a real context whose plan sets no length."""
    import jinja2
    from testkit import ROOT
    from generator import project
    answers = {"modelName": QWEN, "modelServer": "vllm", "offline": True, "projectName": "p",
               "awsRegion": "us-east-1", "deployTarget": "sagemaker"}
    ctx = project.build_context(answers)
    ctx["plan"]["max_model_len"] = None
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROOT)), undefined=jinja2.StrictUndefined)
    text = env.get_template("template/README.md.jinja").render(ctx=ctx, **answers)
    assert "engine default tokens" not in text
    assert row(text, "max model length") == "not set: vLLM takes the model's own maximum from its `config.json`"


@pytest.mark.parametrize("server", ["vllm", "djl"])
def test_the_readme_says_how_to_measure_the_endpoint(server, projects):
    """The generated README's "Measure your endpoint": the bench command and its report files for a
    streaming server; DJL, which does not stream, is told that bench refuses it."""
    text = " ".join(readme(projects[server]).split())
    assert "### Measure your endpoint" in text
    if server == "djl":
        assert "does not stream, so `python -m deploy bench` refuses this project" in text
    else:
        assert "python -m deploy bench --url http://127.0.0.1:8080" in text
        assert "`bench.json`, `bench.md` and `bench.png`" in text and "--managed --s3" in text
