"""modelSource=jumpstart (generator/jumpstart.py): JumpStart's manifest, spec and prepacked artifacts, read
from a local stand-in of the region's bucket (tests/jumpstart_sim.py) over the recorded fixtures of
tests/fixtures/jumpstart (sources: tests/fixtures/jumpstart/SOURCES.md); never the HF hub."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from copier import run_copy
from copier.errors import UserMessageError

from jumpstart_sim import BucketServer
from testkit import HF_ENDPOINT, assert_valid_lock
from generator import jumpstart

OPEN = "openai-reasoning-gpt-oss-20b"          # open weights, HF format (openai/gpt-oss-20b)
EULA = "meta-textgeneration-llama-3-1-70b"     # gated bucket, hosting_eula_key
NOT_HF = "pytorch-ic-mobilenet-v2"             # S3Prefix artifacts without config.json
TOKEN = "hf_ShouldNeverBeReadForJumpStart0123456789"


@pytest.fixture
def bucket(monkeypatch, fake_hub):
    """The bucket stand-in, reached through JUMPSTART_BUCKET_URL; the fake hub (responses) records any hub call."""
    with BucketServer() as sim:
        monkeypatch.setenv(jumpstart.URL_ENV, sim.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)   # set, so that a use of it would show
        fake_hub.mock.add_passthru("http://127.0.0.1")
        jumpstart._PROCESS.clear()
        sim.hub = fake_hub
        yield sim
    jumpstart._PROCESS.clear()


def hub_calls(sim) -> list[str]:
    return [c.request.url for c in sim.hub.mock.calls if c.request.url.startswith(HF_ENDPOINT)]


def copy(template: Path, dst: Path, **data):
    run_copy(str(template), str(dst), data={"modelSource": "jumpstart", **data}, defaults=True, unsafe=True,
             quiet=True)
    return assert_valid_lock(dst)


def no_token_anywhere(dst: Path) -> None:
    for path in dst.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


def test_open_model_lock_points_at_the_prepacked_artifacts_and_no_hub_call(template_dir, tmp_path, bucket):
    lock = copy(template_dir, tmp_path / "p", modelName=OPEN)
    weights = lock["weights"]
    assert weights["source"] == "jumpstart"
    assert weights["s3_uri"] == ("s3://jumpstart-cache-prod-us-east-1/openai-reasoning/openai-reasoning-gpt-oss-20b/"
                                 "artifacts/inference-prepack/v1.0.0/")
    assert (weights["s3_data_type"], weights["compression"]) == ("S3Prefix", "None")
    js = weights["jumpstart"]
    assert js["version"] == "3.38.0" and js["huggingface_id"] == "openai/gpt-oss-20b"
    assert js["eula_required"] is False and js["eula_accepted"] is False
    model = lock["model"]
    assert model["id"] == OPEN and model["revision"] == "3.38.0" and model["sha"] is None
    assert model["architecture"] == "GptOssForCausalLM" and model["num_layers"] == 24   # from its config.json
    assert lock["project"]["hf_token_secret_name"] is None
    assert hub_calls(bucket) == []
    keys = [k for _, k in bucket.requests]
    assert keys[:2] == ["models_manifest.json", "community_models/openai-reasoning-gpt-oss-20b/specs_v3.38.0.json"]
    assert any(k.endswith("inference-prepack/v1.0.0/config.json") for k in keys)
    answers = (tmp_path / "p" / ".copier-answers.yml").read_text()
    assert "modelSource: jumpstart" in answers and "\nhfToken:" not in answers
    no_token_anywhere(tmp_path / "p")


def test_unknown_id_gets_a_did_you_mean(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"not a SageMaker JumpStart model.*Did you mean "
                                               r"meta-textgeneration-llama-3-1-70b\?"):
        copy(template_dir, tmp_path / "p", modelName="meta-textgeneration-llama-3-1-70", acceptEula=True)
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())
    assert hub_calls(bucket) == []


def test_a_hub_id_is_not_a_jumpstart_id(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"not a SageMaker JumpStart model id.*modelSource=hub"):
        copy(template_dir, tmp_path / "p", modelName="Qwen/Qwen2.5-0.5B-Instruct")


def test_artifacts_not_in_hf_format_are_refused(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"pytorch-ic-mobilenet-v2 cannot be served.*no config\.json.*not a "
                                               r"HuggingFace-format model"):
        copy(template_dir, tmp_path / "p", modelName=NOT_HF)
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_compressed_artifacts_are_refused(bucket, tmp_path):
    spec = json.loads((jumpstart_sim_fixtures() / "specs" / f"{NOT_HF}.json").read_text())
    spec.pop("hosting_prepacked_artifact_key")
    with pytest.raises(jumpstart.JumpStartError, match="no prepacked inference artifacts"):
        _read_with_spec(spec, tmp_path)


def jumpstart_sim_fixtures() -> Path:
    return Path(__file__).resolve().parent / "fixtures" / "jumpstart"


def _read_with_spec(spec: dict, tmp_path: Path):
    """generator/jumpstart.read over a cache holding ``spec`` (specs are versioned, so cached ones are used)."""
    reader = jumpstart.Reader("us-east-1", offline=False)
    header = next(h for h in json.loads((jumpstart_sim_fixtures() / "models_manifest.json").read_text())
                  if h["model_id"] == spec["model_id"])
    path = reader.root / reader.content / header["spec_key"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec))
    return jumpstart.read({"modelName": spec["model_id"]}, offline=False)


def test_eula_model_is_refused_without_accept_eula(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"requires accepting its end-user license agreement.*"
                                               r"https://jumpstart-cache-prod-us-east-1\.s3\.us-east-1\.amazonaws\.com/"
                                               r"fmhMetadata/eula/llama3_1Eula\.txt.*-d acceptEula=true"):
        copy(template_dir, tmp_path / "p", modelName=EULA)
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_eula_model_in_the_gated_bucket_needs_the_sizing_answers(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"gated bucket \(jumpstart-private-cache-prod-us-east-1\).*"
                                               r"-d instanceType=<ml\.\* type, e\.g\. ml\.p4d\.24xlarge>"):
        copy(template_dir, tmp_path / "p", modelName=EULA, acceptEula=True)


def test_eula_model_accepted_generates_with_model_access_config(template_dir, tmp_path, bucket):
    lock = copy(template_dir, tmp_path / "p", modelName=EULA, acceptEula=True, instanceType="ml.p4d.24xlarge",
                maxModelLen=8192, modelServer="vllm")
    js = lock["weights"]["jumpstart"]
    assert lock["weights"]["s3_uri"] == ("s3://jumpstart-private-cache-prod-us-east-1/meta-textgeneration/"
                                         "meta-textgeneration-llama-3-1-70b/artifacts/inference-prepack/v2.0.0/")
    assert js["eula_required"] and js["eula_accepted"] and js["gated_bucket"]
    assert js["eula_key"] == "fmhMetadata/eula/llama3_1Eula.txt"
    assert lock["deployment"]["instance_type"] == "ml.p4d.24xlarge"
    assert "acceptEula: true" in (tmp_path / "p" / ".copier-answers.yml").read_text()
    assert hub_calls(bucket) == []
    no_token_anywhere(tmp_path / "p")


def test_gated_bucket_readable_gives_the_facts(template_dir, tmp_path, bucket):
    bucket.gated_readable = True   # e.g. AWS_JUMPSTART_GATED_CONTENT_BUCKET_OVERRIDE naming a readable copy
    lock = copy(template_dir, tmp_path / "p", modelName=EULA, acceptEula=True)
    assert lock["model"]["num_layers"] == 80 and lock["model"]["num_key_value_heads"] == 8
    assert lock["deployment"]["gpu_count"] >= 4


def test_offline_works_from_the_cache(template_dir, tmp_path, bucket):
    first = copy(template_dir, tmp_path / "online", modelName=OPEN)
    seen = len(bucket.requests)
    jumpstart._PROCESS.clear()
    second = copy(template_dir, tmp_path / "offline", modelName=OPEN, offline=True)
    assert len(bucket.requests) == seen   # nothing asked
    assert second["weights"] == first["weights"] and second["model"] == first["model"]


def test_offline_without_the_cache_says_how_to_fill_it(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"Offline, s3://jumpstart-cache-prod-us-east-1/models_manifest\.json "
                                               r"is not in the local cache"):
        copy(template_dir, tmp_path / "p", modelName=OPEN, offline=True)
    assert bucket.requests == []


def test_version_is_chosen_with_model_revision(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"has no JumpStart version 9\.9\.9; versions: 3\.38\.0"):
        copy(template_dir, tmp_path / "p", modelName=OPEN, modelRevision="9.9.9")


def test_lora_adapters_are_refused(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"loraAdapters are HF repos"):
        copy(template_dir, tmp_path / "p", modelName=OPEN, loraAdapters=["org/adapter"])


def test_bad_model_source(template_dir, tmp_path, bucket):
    with pytest.raises(UserMessageError, match=r"modelSource 's3' is not supported. Choose one of: hub, jumpstart"):
        copy(template_dir, tmp_path / "p", modelName=OPEN, modelSource="s3")


def test_bucket_url_and_sdk_overrides():
    env = {jumpstart.BUCKET_OVERRIDE: "my-copy", jumpstart.GATED_BUCKET_OVERRIDE: "my-gated"}
    assert jumpstart.buckets("eu-west-1", env) == ("my-copy", "my-gated")
    assert jumpstart.buckets("eu-west-1", {}) == ("jumpstart-cache-prod-eu-west-1",
                                                  "jumpstart-private-cache-prod-eu-west-1")
    assert jumpstart.url_for("b", "eu-west-1", "models_manifest.json", {}) == \
        "https://b.s3.eu-west-1.amazonaws.com/models_manifest.json"


# --------------------------------------------------------------------------- the deploy side (moto_server)
@pytest.mark.cli
def test_deploy_uses_the_jumpstart_artifacts_with_accept_eula(template_dir, tmp_path, bucket, tmp_path_factory):
    """`python -m deploy deploy` with no --model-data: the lock's JumpStart prefix as S3Prefix model data, uncompressed, with
    ModelAccessConfig.AcceptEula (acceptEula=true); no token secret. Every request checked against botocore."""
    pytest.importorskip("flask", reason="moto_server needs moto[server]")
    from aws import helpers
    lock = copy(template_dir, tmp_path / "p", modelName=EULA, acceptEula=True, instanceType="ml.g5.48xlarge",
                maxModelLen=8192)
    moto = helpers.Moto(tmp_path_factory.mktemp("moto"))
    try:
        helpers.put_image(moto, lock["project"]["name"], "1.0.0-test")
        moto.take_requests()
        result = subprocess.run([sys.executable, "-m", "deploy", "deploy", "--tag", "1.0.0-test", "--no-wait"],
                                cwd=tmp_path / "p", env=moto.env(), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "weights from SageMaker JumpStart" in result.stdout + result.stderr
        calls = moto.check_requests()
    finally:
        moto.stop()
    model = [c["params"] for c in calls if c["operation"] == "CreateModel"]
    assert len(model) == 1
    source = model[0]["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source == {"S3Uri": lock["weights"]["s3_uri"], "S3DataType": "S3Prefix", "CompressionType": "None",
                      "ModelAccessConfig": {"AcceptEula": True}}
    assert "HF_TOKEN_SECRET_ID" not in model[0]["PrimaryContainer"].get("Environment", {})
    assert not [c for c in calls if c["operation"] in ("DescribeSecret", "GetSecretValue")]


def test_chat_template_and_readme_come_from_the_artifacts(template_dir, tmp_path, bucket):
    """tokenizer_config.json beside config.json gives the chat template (a test value, put in the cache
    where the read finds it: artifact files are cached by key like the specs)."""
    prefix = "openai-reasoning/openai-reasoning-gpt-oss-20b/artifacts/inference-prepack/v1.0.0/"
    cached = jumpstart.cache_dir() / "jumpstart-cache-prod-us-east-1" / prefix / "tokenizer_config.json"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
                                  "eos_token": "<|return|>"}))
    lock = copy(template_dir, tmp_path / "p", modelName=OPEN)
    assert lock["model"]["has_chat_template"] is True
    template = (tmp_path / "p" / "code" / "chat_template.jinja").read_text()
    assert template == "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    readme = (tmp_path / "p" / "README.md").read_text()
    assert f"`s3://jumpstart-cache-prod-us-east-1/{prefix}`" in readme and "huggingface.co/openai/gpt-oss-20b" in readme
    assert not [k for _, k in bucket.requests if k.endswith("tokenizer_config.json")]


# --------------------------------------------------------------------------- the copier command line
def _cli_env(tmp_path, sim, hub_url) -> dict:
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE", "JUMPSTART_"))}
    env.update(HF_ENDPOINT=hub_url, HF_TOKEN=TOKEN, XDG_CACHE_HOME=str(tmp_path / "cache"),
               HF_HOME=str(tmp_path / "hf"), JUMPSTART_BUCKET_URL=sim.url, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    return env


@pytest.mark.cli
def test_cli_generates_with_no_hub_call_and_refuses_with_one_message(template_dir, tmp_path, bucket):
    """`copier copy` in a subprocess: the hub stand-in (HF_ENDPOINT) sees no request; a refusal is one
    message, exit 1, nothing written."""
    from hubsim import HubServer
    with HubServer() as hub:
        env = _cli_env(tmp_path, bucket, hub.url)
        run = lambda *a: subprocess.run([sys.executable, "-m", "copier", "copy", "--trust", "--defaults", *a],  # noqa: E731
                                        env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
        good = run("-d", "modelSource=jumpstart", "-d", f"modelName={OPEN}", str(template_dir), str(tmp_path / "ok"))
        assert good.returncode == 0, good.stderr[-2000:]
        bad = run("-d", "modelSource=jumpstart", "-d", f"modelName={EULA}", str(template_dir), str(tmp_path / "no"))
        assert hub.hub.requests == []
    assert json.loads((tmp_path / "ok" / "model.lock.json").read_text())["weights"]["source"] == "jumpstart"
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "-d acceptEula=true" in bad.stderr and not (tmp_path / "no").exists()
    no_token_anywhere(tmp_path / "ok")


@pytest.mark.cli
def test_interactive_jumpstart_id_asks_the_source_and_the_eula_not_the_token(template_dir, tmp_path, bucket):
    pexpect = pytest.importorskip("pexpect")
    from hubsim import HubServer
    with HubServer() as hub:
        child = pexpect.spawn(sys.executable, ["-m", "copier", "copy", "--trust", str(template_dir),
                                               str(tmp_path / "p")], env=_cli_env(tmp_path, bucket, hub.url),
                              encoding="utf-8", timeout=60, dimensions=(60, 400))
        steps = [("Model framework", "\r"), ("Generate without the HuggingFace Hub", "n"),   # a confirm takes "n"
                 ("HuggingFace model id", "\x15" + OPEN + "\r"), ("Model source", "\x1b[B\r"),
                 ("EULA", "\r")]
        for prompt, keys in steps:
            child.expect_exact(prompt)
            time.sleep(0.4)
            child.send(keys)
        seen = ""
        while True:   # every other question at its default (each prompt is drawn again with its answer)
            index = child.expect(["\U0001f3a4", pexpect.EOF], timeout=120)
            seen += child.before or ""
            if index == 1:
                break
            time.sleep(0.4)
            child.send("\r")
        child.close()
        assert hub.hub.requests == []
    assert child.exitstatus == 0, seen[-3000:]
    for never in ("HF token for hub calls", "LoRA adapters for this model", "run-time HF token"):
        assert never not in seen
    lock = json.loads((tmp_path / "p" / "model.lock.json").read_text())
    assert lock["weights"]["jumpstart"]["model_id"] == OPEN
    answers = (tmp_path / "p" / ".copier-answers.yml").read_text()
    assert "modelSource: jumpstart" in answers and "acceptEula: false" in answers


def test_an_unreachable_bucket_is_one_message(template_dir, tmp_path, bucket, monkeypatch):
    monkeypatch.setenv(jumpstart.URL_ENV, "http://127.0.0.1:9/{bucket}")   # nothing listens there
    with pytest.raises(UserMessageError, match=r"Cannot reach SageMaker JumpStart's bucket.*-d offline=true"):
        copy(template_dir, tmp_path / "p", modelName=OPEN)
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())
