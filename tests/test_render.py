"""Render matrix: every server x several models, in-process (copier.run_copy / run_update)
against the recorded hub. Asserts what the files mean, not only that they exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update
from copier.errors import UserMessageError

from testkit import HF_ENDPOINT, assert_valid_lock, tool, tree_bytes
from hubsim import FAKE_TOKEN, GRANTED_TOKEN, info, model_dir
from tools import golden

# The images a project gets without modelServerVersion (the catalog's defaults) and with the seed
# version of shared/DESIGN.md (DJL's tag fixed to what upstream publishes), written out here on
# purpose: changing a pinned image must change this test too.
PINNED = {
    "vllm": "vllm/vllm-openai:v0.32.0",
    "sglang": "lmsysorg/sglang:v0.5.23",
    "tensorrt-llm": "nvcr.io/nvidia/tensorrt-llm/release:1.2.1",
    "lmi": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130",
    "djl": "deepjavalibrary/djl-serving:0.36.0-pytorch-gpu",
}
SEEDS = {
    "vllm": ("0.10.1", "vllm/vllm-openai:v0.10.1"),
    "sglang": ("0.5.4.post1", "lmsysorg/sglang:v0.5.4.post1"),
    "tensorrt-llm": ("1.2.0rc8", "nvcr.io/nvidia/tensorrt-llm/release:1.2.0rc8"),
    "lmi": ("0.32.0-lmi14.0.0", "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu126"),
    "djl": ("0.32.0", "deepjavalibrary/djl-serving:0.32.0-pytorch-gpu"),
}
SERVERS = list(PINNED)
CATALOG = golden.entries()
MODELS = {  # id: token source for the generation-time hub calls
    "Qwen/Qwen2.5-0.5B-Instruct": "env",
    "meta-llama/Llama-3.1-8B-Instruct": "answer",   # gated: token given as the hfToken answer
    "mistralai/Mistral-7B-Instruct-v0.3": "env",
    "google/gemma-2-2b-it": "answer",
    "openai-community/gpt2": "none",                # no chat template
}
TRTLLM_UNSUPPORTED = {"google/gemma-2-2b-it", "openai-community/gpt2"}


def model_chat_template(model_id: str) -> str | None:
    tok = json.loads((model_dir(model_id) / "tokenizer_config.json").read_text())
    return tok.get("chat_template")


def generate(template: Path, dst: Path, monkeypatch, model: str, server: str, token_from: str = "env", **data):
    answers = {"modelName": model, "modelServer": server, **data}
    if token_from == "answer":
        answers["hfToken"] = GRANTED_TOKEN
    elif token_from == "env":
        monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)
    run_copy(str(template), str(dst), data=answers, defaults=True, unsafe=True, quiet=True)
    assert_valid_lock(dst)
    return dst


def combos():
    for server in SERVERS:
        for model in MODELS:
            if server == "tensorrt-llm" and model in TRTLLM_UNSUPPORTED:
                continue
            yield pytest.param(server, model, id=f"{server}-{model.split('/')[1]}")


@pytest.fixture(scope="module")
def shellcheck():
    return tool("shellcheck")


@pytest.mark.parametrize("server,model", list(combos()))
def test_render_matrix(template_dir, tmp_path, monkeypatch, fake_hub, server, model):
    dst = generate(template_dir, tmp_path / "p", monkeypatch, model, server, MODELS[model])
    files = tree_bytes(dst)
    sha = info(model)["sha"]
    lock = json.loads(files["model.lock.json"])
    template = model_chat_template(model)

    # Dockerfile: the exact pinned image, our code, the serve entrypoint; no secrets.
    dockerfile = files["Dockerfile"].decode()
    assert re.findall(r"^FROM (.+)$", dockerfile, re.M) == [PINNED[server]]
    assert 'ENTRYPOINT ["/opt/program/serve"]' in dockerfile and "COPY code/ /opt/program/" in dockerfile
    assert not re.search(r"^(ARG|ENV) .*(TOKEN|SECRET)", dockerfile, re.M | re.I)

    # model.lock.json
    assert lock["model"]["id"] == model and lock["model"]["sha"] == sha
    assert {k: lock["server"][k] for k in ("name", "image")} == {"name": server, "image": PINNED[server]}
    assert lock["server"]["inference_ami_version"] == "al2023-ami-sagemaker-inference-gpu-4-1" \
        if lock["server"]["cuda"] >= 13 else lock["server"]["inference_ami_version"].startswith("al2-ami-")
    assert lock["model"]["has_chat_template"] is (template is not None)
    assert lock["model"]["gated"] == info(model)["gated"]
    assert lock["project"]["hf_token_secret_name"] == (
        f"{lock['project']['name']}/hf-token" if info(model)["gated"] else None)
    dep = lock["deployment"]
    assert dep["tensor_parallel_size"] >= 1 and dep["instance_type"].startswith("ml.")
    assert 60 <= dep["container_startup_health_check_timeout_s"] <= 3600
    assert 1 <= dep["volume_size_gb"] <= 512

    # The chat template: byte for byte, no HTML escaping; absent when the model has none.
    if template is None:
        assert "code/chat_template.jinja" not in files
    else:
        assert files["code/chat_template.jinja"] == template.encode()

    # LMI and DJL are configured through the environment: no serving.properties; nginx only
    # where the default version has no SageMaker routes of its own (TensorRT-LLM)
    assert "code/serving.properties" not in files
    assert ("code/nginx.conf" in files) is (server == "tensorrt-llm")
    assert "code/engine_args.tsv" in files

    # No token, no unrendered Jinja anywhere (the chat template is data and may hold Jinja).
    for name, content in files.items():
        assert GRANTED_TOKEN.encode() not in content, name
        assert FAKE_TOKEN.encode() not in content, name
        if name != "code/chat_template.jinja":
            # ${{ ... }} is a GitHub Actions expression (deploy/README.md's CI/CD example), ${#...}
            # a bash length
            assert not re.search(rb"(?<!\$)\{\{|\{%-?\s|(?<!\$)\{#", content), f"unrendered Jinja in {name}"

    # Answers file: parses, holds the pin, no secret.
    answers = yaml.safe_load(files[".copier-answers.yml"])
    assert answers["modelPin"] == f"{model}@{sha}"
    assert "hfToken" not in answers and "ctx" not in answers

    # Generated shell and data files are valid (shellcheck: test_every_serve_script_passes_shellcheck,
    # one pass over the variants).
    subprocess.run(["bash", "-n", str(dst / "code" / "serve")], check=True)
    for name in files:
        if name.endswith(".json"):
            json.loads(files[name])
        elif name.endswith((".yml", ".yaml")):
            yaml.safe_load(files[name])
    assert (dst / "code" / "serve").stat().st_mode & 0o111


@pytest.mark.parametrize("server", SERVERS)
def test_seed_version_still_renders(catalog_project, server):
    version, image = SEEDS[server]
    dst = catalog_project(server, version)
    assert re.findall(r"^FROM (.+)$", (dst / "Dockerfile").read_text(), re.M) == [image]
    lock = json.loads((dst / "model.lock.json").read_text())
    assert lock["server"]["version"] == version and lock["server"]["image"] == image
    assert yaml.safe_load((dst / ".copier-answers.yml").read_text())["modelServerVersion"] == version
    assert ("code/nginx.conf" in tree_bytes(dst)) is (server in ("tensorrt-llm", "sglang"))


def test_every_serve_script_passes_shellcheck(catalog_project, template_dir, tmp_path, monkeypatch, fake_hub,
                                              shellcheck):
    """One shellcheck pass over code/serve of every catalog entry and of the variants the answers
    change: a gated model (the token checks), one without a chat template, LoRA adapters."""
    projects = [catalog_project(server, version) for server, version in CATALOG]
    projects.append(generate(template_dir, tmp_path / "gated", monkeypatch, "meta-llama/Llama-3.1-8B-Instruct",
                             "vllm", "answer"))
    projects.append(generate(template_dir, tmp_path / "plain", monkeypatch, "openai-community/gpt2", "sglang",
                             "none"))
    projects.append(generate(template_dir, tmp_path / "lora", monkeypatch, "Qwen/Qwen2.5-0.5B-Instruct", "vllm",
                             "none", loraAdapters=["template-tests/qwen2.5-0.5b-instruct-lora-r8",
                                                   "support=template-tests/qwen2.5-0.5b-instruct-lora-r24"]))
    scripts = [str(p / "code" / "serve") for p in projects]
    assert any("is a gated model" in Path(s).read_text() for s in scripts)
    assert "--lora-modules" in Path(scripts[-1]).read_text()
    result = subprocess.run([shellcheck, *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_every_dockerfile_passes_hadolint(catalog_project):
    """One hadolint pass over the Dockerfile of every catalog entry, with the project's .hadolint.yaml."""
    projects = [catalog_project(server, version) for server, version in CATALOG]
    result = subprocess.run([tool("hadolint"), "--config", str(projects[0] / ".hadolint.yaml"),
                             *[str(p / "Dockerfile") for p in projects]], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", ["sagemaker", "codebuild"])
def test_deploy_is_the_python_package_and_the_remaining_shell_is_code_serve(
        template_dir, tmp_path, monkeypatch, fake_hub, target):
    """deploy/ is `python -m deploy` (no bash scripts, no AWS CLI); the CodeBuild target adds its buildspec
    and the build role's policy; the only shell script left is code/serve."""
    dst = generate(template_dir, tmp_path / "p", monkeypatch, "Qwen/Qwen2.5-0.5B-Instruct", "vllm",
                   deployTarget=target)
    deploy = dst / "deploy"
    names = {p.name for p in deploy.iterdir()}
    assert {"__main__.py", "deploy_cmd.py", "requirements.txt", "README.md"} <= names
    assert not [n for n in names if n.endswith(".sh") or n in ("stream_client.py", "async_client.py",
                                                               ".shellcheckrc")], names
    codebuild = {"buildspec.yml", "iam"}
    if target == "codebuild":
        assert codebuild <= names and (deploy / "iam" / "codebuild-policy.json").is_file()
        assert "-m deploy build" in (deploy / "buildspec.yml").read_text()
    else:
        assert not codebuild & names
    assert not [p for p in deploy.rglob("*") if "{" in p.name or p.suffix == ".jinja"]
    scripts = []
    for path in sorted(dst.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            head = path.read_bytes()[:64]
            if path.suffix in (".sh", ".bash") or (head.startswith(b"#!") and (b"bash" in head or b"/sh" in head)):
                scripts.append(str(path.relative_to(dst)))
    assert scripts == ["code/serve"], scripts   # shellcheck: test_every_serve_script_passes_shellcheck
    subprocess.run(["bash", "-n", "code/serve"], cwd=dst, check=True)


@pytest.mark.parametrize("server,model,ping,invocations", [
    ("tensorrt-llm", "Qwen/Qwen2.5-0.5B-Instruct", "health", "v1/chat/completions"),
    ("sglang", "Qwen/Qwen2.5-0.5B-Instruct", "ping", "v1/chat/completions"),
    ("sglang", "openai-community/gpt2", "ping", "v1/completions"),
])
def test_nginx_routes(template_dir, tmp_path, monkeypatch, fake_hub, server, model, ping, invocations):
    """nginx in front where the engine lacks SageMaker's routes (TensorRT-LLM) or answers /ping
    before warm-up (SGLang up to 0.5.19: the seed version)."""
    pin = {"modelServerVersion": "0.5.4.post1"} if server == "sglang" else {}
    dst = generate(template_dir, tmp_path / "p", monkeypatch, model, server, "none", **pin)
    conf = (dst / "code" / "nginx.conf").read_text()
    assert re.search(r"listen 8080", conf)
    ping_block = conf[conf.index("location = /ping {"):conf.index("location = /invocations {")]
    inv = re.search(r"location = /invocations \{(.*?)\}", conf, re.S).group(1)
    assert "if (!-f /tmp/engine-ready) {" in ping_block and "return 503;" in ping_block
    assert f"proxy_pass http://engine/{ping};" in ping_block
    assert f"proxy_pass http://engine/{invocations};" in inv
    assert subprocess.run(["nginx", "-t", "-c", str(dst / "code" / "nginx.conf")],
                          capture_output=True).returncode == 0
    assert "proxy_buffering off;" in inv
    assert re.search(r"server 127\.0\.0\.1:8081;", conf)
    # every proxied route keeps HTTP/1.1 connections to the engine (an HTTP/1.0 one is closed after
    # each answer), and nginx lets go of an idle one before the engine's uvicorn does (5 s)
    for block in (ping_block, inv):
        assert "proxy_http_version 1.1;" in block and 'proxy_set_header Connection "";' in block
    upstream = re.search(r"upstream engine \{(.*?)\}", conf, re.S).group(1)
    assert float(re.search(r"keepalive_timeout (\d+)s;", upstream).group(1)) < 5


def test_lmi_and_djl_configuration_is_environment(template_dir, tmp_path, monkeypatch, fake_hub):
    """LMI/DJL get HF_MODEL_ID, OPTION_* and TENSOR_PARALLEL_DEGREE; nothing is written to /opt/ml/model."""
    model = "Qwen/Qwen2.5-0.5B-Instruct"
    sha = info(model)["sha"]
    got = {}
    for server, version in (("lmi", ""), ("lmi", "0.32.0-lmi14.0.0"), ("djl", "")):
        dst = generate(template_dir, tmp_path / f"{server}{version}", monkeypatch, model, server,
                       **({"modelServerVersion": version} if version else {}))
        r = subprocess.run([str(dst / "code" / "serve"), "serve"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "SERVE_PRINT_COMMAND": "1", "MODEL_DIR": str(tmp_path / "none")})
        assert r.returncode == 0, r.stderr
        argv = json.loads(r.stdout)
        assert argv[0] == "env" and argv[-2:] == ["/usr/local/bin/dockerd-entrypoint.sh", "serve"]
        got[server + version] = dict(a.split("=", 1) for a in argv[1:-2] if not a.startswith("OPTION_CHAT_TEMPLATE="))
        assert "serving.properties" not in (dst / "code" / "serve").read_text()
    base = {"HF_MODEL_ID": model, "OPTION_REVISION": sha, "TENSOR_PARALLEL_DEGREE": "1",
            "OPTION_TRUST_REMOTE_CODE": "false", "OPTION_MODEL_LOADING_TIMEOUT": "619",
            "SERVING_MAX_REQUEST_SIZE": "1073741824"}   # DJL's 64 MiB default is below async's 1 GB
    assert got["lmi"] == {**base, "OPTION_MAX_MODEL_LEN": "32768",      # lmi29: async vLLM, its own default
                          "OPTION_SERVED_MODEL_NAME": "Qwen/Qwen2.5-0.5B-Instruct"}   # else it answers as "lmi"
    assert got["lmi0.32.0-lmi14.0.0"] == {**base, "OPTION_MAX_MODEL_LEN": "32768", "OPTION_ROLLING_BATCH": "vllm"}
    assert got["djl"] == {**base, "OPTION_ROLLING_BATCH": "disable", "OPTION_DEVICE_MAP": "auto"}


def test_sizing_in_lock_for_llama_8b(template_dir, tmp_path, monkeypatch, fake_hub):
    dst = generate(template_dir, tmp_path / "p", monkeypatch, "meta-llama/Llama-3.1-8B-Instruct", "vllm",
                   "answer")
    dep = json.loads((dst / "model.lock.json").read_text())["deployment"]
    # 8,030,261,248 BF16 params = 14.96 GiB; L4 22.35 GiB x 0.92 (vLLM 0.32's gpu_memory_utilization,
    # catalog memory.fraction) - 3 GiB (vLLM's overhead in the catalog: its profiling peak) = 17.56 GiB
    # usable; KV cache 2*32*8*128*2 B = 128 KiB/token -> (17.56-14.96) GiB / 128 KiB = 21,3xx -> 20,480
    # (a multiple of 1024).
    # ml.g6.xlarge is the cheapest 1-GPU type in the catalog.
    assert dep["instance_type"] == "ml.g6.xlarge" and dep["tensor_parallel_size"] == 1
    assert dep["weight_memory_gib"] == 14.96 and dep["max_model_len"] == 20480
    readme = (dst / "README.md").read_text()
    assert "lowered from the model's 131072" in readme
    assert "| weights | 14.96 GiB in total, 14.96 GiB per GPU |" in readme
    assert ("| total per GPU | 20.46 GiB (weights + KV cache + 3.0 GiB estimated for activations and CUDA graphs) "
            "of 22.35 GiB |") in readme


def test_user_chat_template_is_used(template_dir, tmp_path, monkeypatch, fake_hub):
    mine = tmp_path / "mine.jinja"
    mine.write_text("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}\n")
    monkeypatch.chdir(tmp_path)
    dst = generate(template_dir, tmp_path / "p", monkeypatch, "openai-community/gpt2", "vllm", "none",
                   chatTemplateFile="mine.jinja")                   # relative to where copier runs
    assert (dst / "code" / "chat_template.jinja").read_bytes() == mine.read_bytes()
    assert json.loads((dst / "model.lock.json").read_text())["model"]["has_chat_template"] is True
    # stored as the project's own copy, relative to the project: no path of this machine
    assert yaml.safe_load((dst / ".copier-answers.yml").read_text())["chatTemplateFile"] == "code/chat_template.jinja"
    assert str(tmp_path) not in (dst / ".copier-answers.yml").read_text()


@pytest.mark.cli
def test_user_chat_template_replays_and_updates_on_another_machine(copier_template, tmp_path, monkeypatch, fake_hub):
    """The answers file names code/chat_template.jinja: the project moved elsewhere (the original file
    gone) updates from inside itself and from outside, and its answers replay into a new folder."""
    mine = tmp_path / "mine.jinja"
    mine.write_text("{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}\n")
    first = generate(copier_template, tmp_path / "first", monkeypatch, "openai-community/gpt2", "vllm", "none",
                     chatTemplateFile=str(mine))
    mine.unlink()
    moved = tmp_path / "elsewhere" / "proj"
    moved.parent.mkdir()
    first.rename(moved)
    git = lambda *a: subprocess.run(["git", *a], cwd=moved, check=True, capture_output=True)  # noqa: E731
    git("init")
    git("add", "-A")
    git("commit", "-m", "generated")
    monkeypatch.chdir(tmp_path)                      # outside the project: said plainly, nothing changed
    with pytest.raises(UserMessageError, match=r"is the project's own copy of its chat template, and it is not "
                                               r"here\. Run copier from inside the project"):
        run_update(str(moved), data={"maxModelLen": 512}, defaults=True, unsafe=True, overwrite=True, quiet=True)
    assert not subprocess.run(["git", "status", "--porcelain"], cwd=moved, capture_output=True, text=True).stdout
    monkeypatch.chdir(moved)                         # inside it, as the README says
    run_update(".", data={"maxModelLen": 512}, defaults=True, unsafe=True, overwrite=True, quiet=True)
    assert "[{{ m.role }}]" in (moved / "code" / "chat_template.jinja").read_text()
    assert json.loads((moved / "model.lock.json").read_text())["model"]["has_chat_template"] is True
    assert "--chat-template" in (moved / "code" / "serve").read_text()
    answers = yaml.safe_load((moved / ".copier-answers.yml").read_text())
    assert answers["chatTemplateFile"] == "code/chat_template.jinja"
    # a replay of the answers from inside the project (where its copy is) into a new folder
    monkeypatch.chdir(moved)
    replay = {k: v for k, v in answers.items() if not k.startswith("_")}
    run_copy(str(copier_template), str(tmp_path / "replay"), data=replay, defaults=True, unsafe=True, quiet=True)
    assert (tmp_path / "replay" / "code" / "chat_template.jinja").read_bytes() == \
        (moved / "code" / "chat_template.jinja").read_bytes()
    # and from a folder without it: one message that says what to do
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserMessageError, match=r"chatTemplateFile 'code/chat_template\.jinja' is the project's own "
                                               r"copy.*-d chatTemplateFile=<path"):
        run_copy(str(copier_template), str(tmp_path / "none"), data=replay, defaults=True, unsafe=True, quiet=True)
    assert not (tmp_path / "none").exists()


def test_model_without_template_says_so(template_dir, tmp_path, monkeypatch, fake_hub):
    dst = generate(template_dir, tmp_path / "p", monkeypatch, "openai-community/gpt2", "vllm", "none")
    readme = (dst / "README.md").read_text()
    assert "no chat template" in readme and "/v1/completions" in readme
    assert "--chat-template" not in (dst / "code" / "serve").read_text()


def test_gated_model_project_reads_the_token_at_run_time(template_dir, tmp_path, monkeypatch, fake_hub):
    dst = generate(template_dir, tmp_path / "p", monkeypatch, "meta-llama/Llama-3.1-8B-Instruct", "vllm",
                   "answer")
    serve = (dst / "code" / "serve").read_text()
    assert "fetch_secret.py" in serve and "is a gated model" in serve
    assert re.search(r"^HF_TOKEN=$", (dst / ".env.example").read_text(), re.M)
    assert ".env" in (dst / ".gitignore").read_text().splitlines()


# ------------------------------------------------------------------------------ errors
ERRORS = [
    ({"modelServer": "tgi"}, r"modelServer 'tgi' is not supported\. Choose one of: vllm, sglang, tensorrt-llm, lmi, djl"),
    ({"framework": "pytorch"}, r"framework 'pytorch' is not supported\. Supported: transformers"),
    ({"modelName": "not-a-repo-id"}, r"not a HuggingFace repo id.*org/name"),
    ({"instanceType": "ml.m5.large"}, r"not a supported SageMaker GPU instance type.*ml\.g5\.xlarge"),
    ({"deployTarget": "ec2"}, r"deployTarget 'ec2' is not supported\. Choose one of: sagemaker, codebuild"),
    ({"modelName": "no-such-org/no-such-model"}, r"was not found on https://hub\.test"),
    ({"modelName": "meta-llama/Llama-3.1-8B-Instruct"},
     r"gated model.*https://hub\.test/meta-llama/Llama-3\.1-8B-Instruct.*export HF_TOKEN="),
    ({"modelName": "meta-llama/Llama-3.1-8B-Instruct", "hfToken": FAKE_TOKEN}, r"has not been granted access"),
    ({"hfToken": "hf_RejectedTokenValue0000000000000000"}, r"rejected the token"),
    ({"modelName": "openai-community/gpt2", "modelServer": "tensorrt-llm"}, r"TensorRT-LLM.*GPT2LMHeadModel"),
    ({"modelName": "meta-llama/Llama-3.1-70B-Instruct", "instanceType": "ml.g5.xlarge", "hfToken": GRANTED_TOKEN},
     r"does not fit ml\.g5\.xlarge \(1 x A10G\).*Instance types that fit: ml\.g6e\.12xlarge \(TP 4\)"),
    ({"hfToken": "$NOT_SET_ANYWHERE", "modelName": "meta-llama/Llama-3.1-8B-Instruct"},
     r"gated model and no HuggingFace token.*hfToken refers to \$NOT_SET_ANYWHERE, which is not set"),
    ({"hfToken": "hf_Abcdefgh12345678\u2019"}, r"non-ASCII character \(a pasted quote\?\)"),
    ({"offline": True, "modelName": "openai-community/gpt2", "modelPin": "openai-community/gpt2@" + "a" * 40},
     r"pinned to commit aaaaaaaaaaaa, which is not in the local cache.*offline=false"),
    ({"modelRevision": "b" * 40, "modelPin": "Qwen/Qwen2.5-0.5B-Instruct@7ae557604adf67be50417f59c2c2f167def9a775"},
     r"Revision not found for Qwen/Qwen2\.5-0\.5B-Instruct"),
]


@pytest.mark.parametrize("data,message", ERRORS, ids=[re.sub(r"\W+", "-", m[:30]) for _, m in ERRORS])
def test_user_errors_are_one_message_and_leave_nothing(template_dir, tmp_path, fake_hub, data, message):
    dst = tmp_path / "p"
    with pytest.raises(UserMessageError) as caught:
        run_copy(str(template_dir), str(dst), data=data, defaults=True, unsafe=True, quiet=True)
    assert re.search(message, str(caught.value), re.S), str(caught.value)
    assert FAKE_TOKEN not in str(caught.value) and GRANTED_TOKEN not in str(caught.value)
    assert not dst.exists()


def test_hub_down_is_one_message(template_dir, tmp_path, monkeypatch):
    import requests
    import responses
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, re.compile(re.escape(HF_ENDPOINT) + ".*"), body=requests.ConnectionError("down"))
        with pytest.raises(UserMessageError, match=r"Cannot reach the HuggingFace Hub.*offline=true"):
            run_copy(str(template_dir), str(tmp_path / "p"), defaults=True, unsafe=True, quiet=True)
    assert not (tmp_path / "p").exists()


# ------------------------------------------------------------------------------ offline
def test_offline_uses_shipped_metadata_without_network(template_dir, tmp_path):
    import responses
    with responses.RequestsMock():  # any request would fail: none is registered
        run_copy(str(template_dir), str(tmp_path / "p"), data={"offline": True}, defaults=True, unsafe=True,
                 quiet=True)
    lock = json.loads((tmp_path / "p" / "model.lock.json").read_text())
    assert lock["model"]["sha"] == info("Qwen/Qwen2.5-0.5B-Instruct")["sha"]


@pytest.mark.parametrize("model,guess", [("Qwen/Qwen2.5-0.5B-Instrcut", "Qwen/Qwen2.5-0.5B-Instruct"),
                                         ("meta-llama/llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct"),
                                         ("cached-org/Cached-Modle", "cached-org/Cached-Model"),
                                         ("some-org/unknown-model", None)])
def test_offline_unknown_model_is_refused_with_a_did_you_mean(template_dir, tmp_path, monkeypatch, isolated_env,
                                                              model, guess):
    """A mistyped model offline: refused (nothing written), with the nearest cached or shipped model and
    the way to generate for a model nothing is known about."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (isolated_env / "cache" / "sagemaker-llm-template" / "hub" / "cached-org--Cached-Model").mkdir(parents=True)
    with pytest.raises(UserMessageError) as caught:
        run_copy(str(template_dir), str(tmp_path / "p"), data={"modelName": model}, defaults=True, unsafe=True,
                 quiet=True)
    message = str(caught.value)
    assert f"Offline, nothing is known about {model}" in message
    assert (f"Did you mean {guess}?" in message) if guess else "Did you mean" not in message
    assert "cached-org/Cached-Model" in message and "Qwen/Qwen2.5-0.5B-Instruct" in message   # cached + shipped
    assert "-d instanceType=ml.g5.xlarge (or another ml.* type) and -d maxModelLen=<tokens>" in message
    assert not (tmp_path / "p").exists()


def test_offline_unknown_model_generates_with_a_warning(template_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run_copy(str(template_dir), str(tmp_path / "p"),
             data={"modelName": "some-org/unknown-model", "instanceType": "ml.g5.xlarge", "maxModelLen": 4096},
             defaults=True, unsafe=True, quiet=True)
    lock = json.loads((tmp_path / "p" / "model.lock.json").read_text())
    assert lock["model"]["sha"] is None and lock["deployment"]["instance_type"] == "ml.g5.xlarge"
    assert capsys.readouterr().err.count("generating without model facts") == 1     # said once
    assert "--revision" in (tmp_path / "p" / "code" / "serve").read_text()  # guarded by MODEL_SHA, empty here
    readme = (tmp_path / "p" / "README.md").read_text()
    assert "?" not in readme.split("## Hardware")[1].split("## Server")[0]    # no '?' placeholders
    assert "Whether this model has a chat template is **unknown**" in readme
    assert "This model has no chat template" not in readme
    assert "readonly MODEL_SHA=''" in (tmp_path / "p" / "code" / "serve").read_text()


def test_offline_gated_model_without_a_token_says_so_once(template_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    llama = "meta-llama/Llama-3.1-8B-Instruct"
    run_copy(str(template_dir), str(tmp_path / "p"), data={"modelName": llama}, defaults=True, unsafe=True,
             quiet=True)
    assert json.loads((tmp_path / "p" / "model.lock.json").read_text())["model"]["gated"]
    err = capsys.readouterr().err
    assert err.count(f"note: {llama} is gated; generated offline") == 1, err
    assert "store one with python -m deploy secret before deploying" in err
    monkeypatch.setenv("HF_TOKEN", GRANTED_TOKEN)      # a token at hand: nothing to say
    run_copy(str(template_dir), str(tmp_path / "q"), data={"modelName": llama}, defaults=True, unsafe=True,
             quiet=True)
    assert "is gated" not in capsys.readouterr().err


# ------------------------------------------------------------------------------ update
@pytest.mark.cli
def test_update_keeps_user_edits_and_the_pin(copier_template, tmp_path, monkeypatch, fake_hub):
    dst = generate(copier_template, tmp_path / "p", monkeypatch, "Qwen/Qwen2.5-0.5B-Instruct", "vllm")
    git = lambda *a: subprocess.run(["git", *a], cwd=dst, check=True, capture_output=True)  # noqa: E731
    git("init")
    git("add", "-A")
    git("commit", "-m", "generated")
    readme = dst / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes.\n")
    git("commit", "-am", "notes")
    fake_hub.requests.clear()
    run_update(str(dst), data={"maxModelLen": 8192}, defaults=True, unsafe=True, overwrite=True, quiet=True)
    assert "Our team's notes." in readme.read_text()
    lock = assert_valid_lock(dst)
    assert lock["deployment"]["max_model_len"] == 8192
    assert lock["model"]["sha"] == info("Qwen/Qwen2.5-0.5B-Instruct")["sha"]
    assert not list(dst.rglob("*.rej"))
    assert not [r for r in fake_hub.requests if "/resolve/" in r], "model files came from the cache"


def test_question_help_fits_an_80_column_prompt():
    """copier prints '? ' + help + '  ' before the prompt (issue: help texts wrapped)."""
    from testkit import ROOT
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    long = {k: len(v["help"]) for k, v in questions.items() if isinstance(v, dict) and len(v.get("help", "")) > 76}
    assert not long, long


def test_defaults_run_starts_the_wave_before_the_rest_of_the_generator_loads(tmp_path, fake_hub, monkeypatch):
    """With --defaults only the read's own modules (answers, hub, hub_http, hub_cache, token, errors) load
    before the first hub call; project, servers, sizing and facts load while the wave is on the wire."""
    import threading
    import time

    from testkit import copy_template
    template = copy_template(tmp_path / "tpl")   # a new location: its generator loads afresh in this process
    first_lookup: dict[str, float] = {}

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name.startswith("_sm_llm_generator_") and "." in name:
                first_lookup.setdefault(name.rsplit(".", 1)[1], time.perf_counter())
            return None

    started: list[float] = []
    original_start = threading.Thread.start

    def start(thread):
        if thread.name == "hub-read":
            started.append(time.perf_counter())
        return original_start(thread)

    monkeypatch.setattr(sys, "meta_path", [Spy(), *sys.meta_path])
    monkeypatch.setattr(threading.Thread, "start", start)
    fake_hub.latency_s = 0.5
    generate(template, tmp_path / "p", monkeypatch, "Qwen/Qwen2.5-0.5B-Instruct", "vllm")
    assert len(started) == 1
    assert max(first_lookup[m] for m in ("answers", "hub", "hub_http", "hub_cache", "token", "errors")) < started[0], first_lookup
    assert started[0] < min(first_lookup[m] for m in ("project", "servers", "sizing", "facts")), first_lookup
    assert fake_hub.waves() == 1 and len(fake_hub.requests) == 4


def test_an_unwritable_cache_folder_is_no_error(tmp_path, fake_hub, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    from testkit import copy_template
    dst = generate(copy_template(tmp_path / "tpl"), tmp_path / "p", monkeypatch, "Qwen/Qwen2.5-0.5B-Instruct", "vllm")
    assert "Qwen/Qwen2.5-0.5B-Instruct" in (dst / "README.md").read_text()


