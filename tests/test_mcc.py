"""MCC config files (awslabs/ml-container-creator), both formats, as --data-file answers: the current
format's keys (config/parameter-schema-v2.json at 7edd757e, docs/configuration.md at a37243a1) map to
this template's questions; the old format's (docs/configuration.md at 6eaaaf51) are its questions."""

from __future__ import annotations

import json

import pytest
import yaml
from copier import run_copy
from copier.errors import UserMessageError

from generator import mcc
from generator.errors import InvalidAnswer

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
CURRENT = {"projectName": "my-llm", "deploymentConfig": "transformers-sglang", "modelName": QWEN,
           "deploymentTarget": "realtime-inference", "buildTarget": "codebuild", "instanceType": "ml.g5.xlarge",
           "region": "us-west-2", "roleArn": "arn:aws:iam::123456789012:role/SageMakerAIRole",
           "includeTesting": True, "hfToken": "$HF_TOKEN"}
OLD = {"projectName": "old-llm", "framework": "transformers", "modelServer": "lmi", "modelName": QWEN,
       "includeTesting": True, "testTypes": ["hosted-model-endpoint"], "deployTarget": "codebuild",
       "awsRegion": "eu-west-1", "awsRoleArn": "arn:aws:iam::123456789012:role/SageMakerRole"}


@pytest.mark.parametrize("config,server", list(mcc.DEPLOYMENT_CONFIGS.items()))
def test_every_transformers_deployment_config_is_a_server(config, server):
    assert mcc.mapped({"deploymentConfig": config}) == {"modelServer": server}
    mcc.check({"deploymentConfig": config})


def test_region_and_build_target_map_to_their_questions():
    assert mcc.mapped(CURRENT) == {"modelServer": "sglang", "awsRegion": "us-west-2", "deployTarget": "codebuild"}
    assert mcc.notes(CURRENT) == [
        "deploymentConfig=transformers-sglang -> modelServer=sglang", "region=us-west-2 -> awsRegion=us-west-2",
        "buildTarget=codebuild -> deployTarget=codebuild",
        "deploymentTarget=realtime-inference: a real-time endpoint, as this template deploys"]


@pytest.mark.parametrize("data,message", [
    ({"deploymentTarget": "batch-transform"}, r"deploymentTarget 'batch-transform' is a Batch Transform job"),
    ({"deploymentTarget": "hyperpod-eks"}, r"deploymentTarget 'hyperpod-eks' is a HyperPod EKS cluster"),
    ({"deploymentTarget": "edge"}, r"deploymentTarget 'edge' is not an MCC deployment target"),
    ({"deploymentConfig": "http-flask"}, r"deploymentConfig 'http-flask' serves traditional ML models \(Flask\); "
                                         r"this template serves HuggingFace LLMs\. Use one of: transformers-vllm"),
    ({"deploymentConfig": "triton-vllm"}, r"deploymentConfig 'triton-vllm' runs NVIDIA Triton"),
    ({"buildTarget": "local"}, r"buildTarget 'local' is not an MCC build target"),
    ({"instanceType": "gpu-enabled"}, r"instanceType 'gpu-enabled' is an instance class of MCC's old config format"
                                      r".*Give instanceType=auto"),
    ({"instanceType": "custom", "customInstanceType": "ml.g6.12xlarge"}, r"Give instanceType=ml\.g6\.12xlarge in "
                                                                          r"the config instead"),
    ({"instanceType": "cpu-optimized"}, r"a CPU instance, which no LLM server here runs on"),
    ({"deploymentConfig": "transformers-vllm", "modelServer": "sglang"},
     r"deploymentConfig=transformers-vllm means modelServer=vllm, but modelServer=sglang is given too"),
    ({"region": "us-west-2", "awsRegion": "eu-west-1"}, r"region=us-west-2 means awsRegion=us-west-2, but "
                                                        r"awsRegion=eu-west-1 is given too"),
])
def test_what_this_template_cannot_make_is_refused_with_the_reason(data, message):
    with pytest.raises(InvalidAnswer, match=message):
        mcc.check(data)


def _copy(template_dir, dst, data, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run_copy(str(template_dir), str(dst), data=data, defaults=True, unsafe=True, quiet=True)
    return json.loads((dst / "model.lock.json").read_text()), yaml.safe_load((dst / ".copier-answers.yml").read_text())


def test_a_current_format_config_keeps_its_server_region_and_build(template_dir, tmp_path, monkeypatch, capsys):
    lock, answers = _copy(template_dir, tmp_path / "p", CURRENT, monkeypatch)
    assert lock["server"]["name"] == "sglang" and lock["project"]["aws_region"] == "us-west-2"
    assert lock["project"]["deploy_target"] == "codebuild" and lock["deployment"]["instance_type"] == "ml.g5.xlarge"
    assert (answers["modelServer"], answers["awsRegion"], answers["deployTarget"]) == ("sglang", "us-west-2",
                                                                                       "codebuild")
    err = capsys.readouterr().err
    assert ("note: MCC config: deploymentConfig=transformers-sglang -> modelServer=sglang; region=us-west-2 -> "
            "awsRegion=us-west-2; buildTarget=codebuild -> deployTarget=codebuild; deploymentTarget="
            "realtime-inference: a real-time endpoint, as this template deploys.") in err
    assert ("warning: ignored MCC settings that have no counterpart here: includeTesting (python -m deploy test "
            "is always included), roleArn (the deploy tool takes the role from SAGEMAKER_ROLE_ARN).") in err
    assert "did you mean" not in err and "not questions of this template" not in err
    # the answers file replays to the same project without the MCC keys
    replay = {k: v for k, v in answers.items() if not k.startswith("_")}
    lock2, _ = _copy(template_dir, tmp_path / "q", replay, monkeypatch)
    assert lock2 == lock


def test_an_old_format_config_is_read_as_is(template_dir, tmp_path, monkeypatch, capsys):
    lock, answers = _copy(template_dir, tmp_path / "p", OLD, monkeypatch)
    assert lock["server"]["name"] == "lmi" and lock["project"]["aws_region"] == "eu-west-1"
    assert lock["project"]["deploy_target"] == "codebuild"
    err = capsys.readouterr().err
    assert "awsRoleArn (the deploy tool takes the role from SAGEMAKER_ROLE_ARN)" in err
    assert "testTypes (python -m deploy test is always included)" in err


def test_async_target_is_accepted_and_says_how_to_deploy(template_dir, tmp_path, monkeypatch, capsys):
    lock, _ = _copy(template_dir, tmp_path / "p", {"deploymentConfig": "transformers-vllm",
                                                    "deploymentTarget": "async-inference"}, monkeypatch)
    assert lock["server"]["name"] == "vllm"
    assert "deploy it with python -m deploy deploy --async s3://bucket/prefix/" in capsys.readouterr().err


def test_a_refused_target_stops_before_anything_is_written(template_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserMessageError, match=r"deploymentTarget 'batch-transform' is a Batch Transform job"):
        run_copy(str(template_dir), str(tmp_path / "p"), data=CURRENT | {"deploymentTarget": "batch-transform"},
                 defaults=True, unsafe=True, quiet=True)
    assert not (tmp_path / "p").exists()


def test_a_typo_of_a_question_still_gets_a_guess_and_an_mcc_key_never_does(template_dir, tmp_path, monkeypatch,
                                                                           capsys):
    _copy(template_dir, tmp_path / "p", {"modelname": QWEN, "deploymentConfig": "transformers-vllm"}, monkeypatch)
    err = capsys.readouterr().err
    assert "ignored answers that are not questions of this template: modelname (did you mean modelName?)" in err
    assert "deploymentConfig (did you mean" not in err
