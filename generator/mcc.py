"""ML Container Creator (MCC) config files, both formats, read as answers (`--data-file mcc.json`).

Sources (awslabs/ml-container-creator):
- the current format: ``config/parameter-schema-v2.json`` at 7edd757e647b0e91aa0b88c139c1e1323fe22e2d
  (its ``configKey``s and enums) and ``docs/configuration.md`` at a37243a15f7e78f303258af8b06640f571ee8c85
  ("Parameter Reference"; the config file example: ``deploymentConfig``, ``deploymentTarget``,
  ``buildTarget``, ``region``, ``roleArn``);
- the old format: ``docs/configuration.md`` at 6eaaaf51 (``framework``, ``modelServer``, ``deployTarget``,
  ``awsRegion``, ``awsRoleArn``, ``instanceType`` cpu-optimized / gpu-enabled, ``customInstanceType``).

The old format's keys are this template's question names already. The current format's keys that say
what a project here is are mapped (``MAPPED``); the rest are named as ignored, with why.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidAnswer

# deploymentConfig (schema v2 enum): the transformers ones are this template's servers
DEPLOYMENT_CONFIGS = {
    "transformers-vllm": "vllm", "transformers-sglang": "sglang", "transformers-tensorrt-llm": "tensorrt-llm",
    "transformers-lmi": "lmi", "transformers-djl": "djl",
}
REFUSED_CONFIGS = {
    "http-flask": "serves traditional ML models (Flask)", "http-fastapi": "serves traditional ML models (FastAPI)",
    "triton-fil": "runs NVIDIA Triton", "triton-onnxruntime": "runs NVIDIA Triton",
    "triton-tensorflow": "runs NVIDIA Triton", "triton-pytorch": "runs NVIDIA Triton",
    "triton-vllm": "runs NVIDIA Triton", "triton-tensorrtllm": "runs NVIDIA Triton",
    "triton-python": "runs NVIDIA Triton", "diffusors-vllm-omni": "serves diffusion models",
    "marketplace": "deploys AWS Marketplace model packages without a container build",
}
# deploymentTarget (schema v2 enum; docs: "managed-inference is accepted but deprecated")
ACCEPTED_TARGETS = {
    "realtime-inference": "a real-time endpoint, as this template deploys",
    "managed-inference": "MCC's deprecated name of realtime-inference: a real-time endpoint",
    "async-inference": "an asynchronous endpoint: deploy it with python -m deploy deploy --async s3://bucket/prefix/",
}
REFUSED_TARGETS = {
    "batch-transform": "a Batch Transform job, which needs no endpoint; this template deploys SageMaker endpoints "
                       "(real-time, or asynchronous with python -m deploy deploy --async)",
    "hyperpod-eks": "a HyperPod EKS cluster (Kubernetes); this template deploys SageMaker endpoints",
}
# buildTarget (docs: "Build target (codebuild)", default codebuild): the only value is codebuild
BUILD_TARGETS = {"codebuild": "codebuild"}

# the old format's instanceType classes (generators/app/lib/prompts.js at 6eaaaf51: cpu-optimized is
# ml.m6g.large, gpu-enabled ml.g5.xlarge; custom takes customInstanceType)
OLD_INSTANCE_CLASSES = {"cpu-optimized": "a CPU instance, which no LLM server here runs on",
                        "gpu-enabled": "one fixed GPU type", "custom": "the type in customInstanceType"}

# current-format key -> this template's question
MAPPED = {"deploymentConfig": "modelServer", "region": "awsRegion", "buildTarget": "deployTarget"}
CHECKED = ("deploymentTarget",)   # no question of its own: accepted or refused

# MCC keys with no counterpart here (both formats), and why
IGNORED = {
    "roleArn": "the deploy tool takes the role from SAGEMAKER_ROLE_ARN",
    "awsRoleArn": "the deploy tool takes the role from SAGEMAKER_ROLE_ARN",
    "hfTokenArn": "set hfTokenSecretName to the secret's name",
    "includeTesting": "python -m deploy test is always included",
    "testTypes": "python -m deploy test is always included",
    "includeSample": "no sample model here", "includeSampleModel": "no sample model here",
    "includeBenchmark": "the deploy tool has a bench command",
    "modelFormat": "HuggingFace models only", "customInstanceType": "give instanceType=ml.* instead",
    "codebuildComputeType": "deployTarget=codebuild picks its own", "codebuildProjectName": "named after projectName",
    "serverEnv": "set ENGINE_ARG_* / SM_VLLM_* / SM_SGLANG_* in the project's environment",
    "modelEnv": "set ENGINE_ARG_* in the project's environment", "baseImage": "modelServerVersion picks the image",
    "icGpuCount": "the deploy tool sizes inference components", "icCopyCount": "the deploy tool sizes them",
    "icMemorySize": "the deploy tool sizes them", "icCpuCount": "the deploy tool sizes them",
    "icModelWeight": "the deploy tool sizes them",
    "enableLora": "no LoRA adapters at generation", "maxLoras": "no LoRA adapters at generation",
    "maxLoraRank": "no LoRA adapters at generation",
    "asyncS3OutputPath": "pass it to python -m deploy deploy --async", "asyncSnsSuccessTopic": "not supported",
    "asyncSnsErrorTopic": "not supported", "asyncMaxConcurrent": "not supported",
    "endpointInitialInstanceCount": "use the deploy tool's autoscale", "endpointDataCapturePercent": "not supported",
    "endpointVariantName": "the deploy tool names the variant", "endpointVolumeSize": "sized from the model",
    "capacityReservationArn": "not supported", "instancePools": "not supported",
    "ngcToken": "not needed", "ngcTokenArn": "not needed",
    "projectDir": "copier's destination argument", "config": "MCC's own option", "skipPrompts": "use --defaults",
    "autoPrompt": "MCC's own option", "force": "use --overwrite", "smart": "MCC's own option",
    "discover": "MCC's own option", "noValidate": "MCC's own option", "validateEnvVars": "MCC's own option",
    "validateWithDocker": "MCC's own option",
}
BATCH_AND_HYPERPOD = ("batchInputPath", "batchOutputPath", "batchInstanceCount", "batchSplitType", "batchStrategy",
                      "batchJoinSource", "batchMaxConcurrent", "batchMaxPayload", "hyperpodCluster",
                      "hyperpodNamespace", "hyperpodReplicas", "fsxVolumeHandle")
IGNORED.update({key: "batch and HyperPod targets are not supported" for key in BATCH_AND_HYPERPOD})


def _given(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def mapped(data: dict[str, Any]) -> dict[str, str]:
    """This template's answers that an MCC config's current-format keys give ({question: value})."""
    out = {}
    config = _given(data, "deploymentConfig")
    if config in DEPLOYMENT_CONFIGS:
        out["modelServer"] = DEPLOYMENT_CONFIGS[config]
    region = _given(data, "region")
    if region:
        out["awsRegion"] = region
    build = _given(data, "buildTarget")
    if build in BUILD_TARGETS:
        out["deployTarget"] = BUILD_TARGETS[build]
    return out


def check(data: dict[str, Any]) -> None:
    """Refuse what an MCC config asks for that this template cannot make, or that contradicts itself."""
    config = _given(data, "deploymentConfig")
    if config and config not in DEPLOYMENT_CONFIGS:
        why = REFUSED_CONFIGS.get(config)
        raise InvalidAnswer(
            f"deploymentConfig '{config}' " + (f"{why}; " if why else "is not an MCC deployment config; ")
            + "this template serves HuggingFace LLMs. Use one of: " + ", ".join(DEPLOYMENT_CONFIGS)
            + " (or modelServer=" + "|".join(DEPLOYMENT_CONFIGS.values()) + ").")
    target = _given(data, "deploymentTarget")
    if target and target not in ACCEPTED_TARGETS:
        why = REFUSED_TARGETS.get(target)
        raise InvalidAnswer(f"deploymentTarget '{target}' " + (f"is {why}. " if why else "is not an MCC deployment "
                            "target. ") + "Use realtime-inference or async-inference, or leave deploymentTarget out.")
    build = _given(data, "buildTarget")
    if build and build not in BUILD_TARGETS:
        raise InvalidAnswer(f"buildTarget '{build}' is not an MCC build target (codebuild). Leave it out to build "
                            "locally with Docker, or use deployTarget=sagemaker|codebuild.")
    klass = _given(data, "instanceType")
    if klass in OLD_INSTANCE_CLASSES:
        custom = _given(data, "customInstanceType")
        fix = (f"instanceType={custom}" if klass == "custom" and custom else
               "instanceType=auto (the cheapest GPU type that fits the model) or an ml.* GPU type")
        raise InvalidAnswer(f"instanceType '{klass}' is an instance class of MCC's old config format "
                            f"({OLD_INSTANCE_CLASSES[klass]}); here instanceType is 'auto' or an ml.* type. "
                            f"Give {fix} in the config instead.")
    for key, question in MAPPED.items():
        ours, theirs = _given(data, question), mapped(data).get(question)
        if ours and theirs and ours != theirs:
            raise InvalidAnswer(f"{key}={_given(data, key)} means {question}={theirs}, but {question}={ours} is given "
                                f"too. Keep one of them.")


def notes(data: dict[str, Any]) -> list[str]:
    """What the MCC keys given became: one line per mapped or accepted key, and one for the ignored ones."""
    out = []
    for key, question in MAPPED.items():
        value = mapped(data).get(question)
        if value and _given(data, question) is None:
            out.append(f"{key}={_given(data, key)} -> {question}={value}")
    target = _given(data, "deploymentTarget")
    if target in ACCEPTED_TARGETS:
        out.append(f"deploymentTarget={target}: {ACCEPTED_TARGETS[target]}")
    return out


def ignored(keys) -> list[str]:
    """The MCC keys among ``keys`` that have no counterpart here, each with why."""
    return [f"{key} ({IGNORED[key]})" for key in keys if key in IGNORED]


def known(key: str) -> bool:
    return key in MAPPED or key in CHECKED or key in IGNORED
