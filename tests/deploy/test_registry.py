"""The Model Registry commands, in-process: register -> approve -> deploy --model-package
latest-approved, an unapproved version refused, versions, reject, status, cleanup --delete-registry.

moto serves the model package groups and packages (tests/deploy/fakes.py lets those calls through);
the fake SageMaker control plane makes the model from the package (and, as AWS does, refuses a
version that is not Approved). Every request is validated against botocore's service model by the
``aws`` fixture.
"""
from __future__ import annotations

import json

import pytest
from deploy_support import ACCOUNT, FAKE_TOKEN, TAG, one, ops, requests_for

IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{{name}}:{TAG}"


def register(cli, *args: str) -> str:
    result = cli("register", *args)
    assert result.code == 0, result.stderr
    return result.stdout.strip()


def test_register_approve_deploy_latest_approved_and_update(cli, aws, project):
    name, lock = project.name, project.lock
    aws.put_image(name)
    aws.take()

    arn1 = register(cli)
    assert arn1.startswith(f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/") and arn1.endswith("/1")
    calls = aws.take()
    group = one(requests_for(calls, "CreateModelPackageGroup"))
    assert group["ModelPackageGroupName"] == name
    package = one(requests_for(calls, "CreateModelPackage"))
    assert package["ModelPackageGroupName"] == name
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert "Tags" not in package  # a version takes its group's tags (AWS refuses its own)
    assert group["Tags"] == [{"Key": "project", "Value": name}]
    spec = package["InferenceSpecification"]
    assert spec["Containers"] == [{"Image": IMAGE.format(name=name)}]  # not gated, no --env: no environment
    assert spec["SupportedContentTypes"] == ["application/json"] == spec["SupportedResponseMIMETypes"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == [lock["deployment"]["instance_type"]]
    meta = package["CustomerMetadataProperties"]
    assert meta["model-id"] == lock["model"]["id"] and meta["model-sha"] == lock["model"]["sha"]
    assert meta["server"] == lock["server"]["name"] and meta["server-version"] == lock["server"]["version"]
    assert "template-version" in meta

    # The group is made once; the next register is version 2.
    arn2 = register(cli, "--env", "ENGINE_ARG_MAX_NUM_SEQS=8")
    assert arn2.endswith("/2")
    calls = aws.take()
    assert "CreateModelPackageGroup" not in ops(calls)
    assert one(requests_for(calls, "CreateModelPackage"))["InferenceSpecification"]["Containers"][0][
        "Environment"] == {"ENGINE_ARG_MAX_NUM_SEQS": "8"}

    # Nothing approved yet: refused, saying how to approve; nothing created.
    result = cli("deploy", "--model-package", "latest-approved")
    assert result.code == 1
    error = one(result.errors)
    assert "no Approved version" in error and "python -m deploy approve 2" in error, error
    assert not {"CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateRole"} & set(ops(aws.take()))

    assert cli("approve", "1").stdout.strip() == arn1
    update = one(requests_for(aws.take(), "UpdateModelPackage"))
    assert update == {"ModelPackageArn": arn1, "ModelApprovalStatus": "Approved"}

    result = cli("deploy", "--model-package", "latest-approved")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == name
    model = one(requests_for(aws.take(), "CreateModel"))
    assert model["Containers"] == [{"ModelPackageName": arn1}] and "PrimaryContainer" not in model

    result = cli("status")
    assert result.code == 0, result.stderr
    assert f"model package: {arn1} (version 1, Approved)" in result.stdout
    assert f"image: {IMAGE.format(name=name)}" in result.stdout

    # Approve version 2: the in-place update deploys it the same way, and the old model goes.
    cli("approve", "2", "--description", "load test passed")
    assert one(requests_for(aws.take(), "UpdateModelPackage"))["ApprovalDescription"] == "load test passed"
    result = cli("deploy", "--model-package", "latest-approved")
    assert result.code == 0, result.stderr
    calls = aws.take()
    new = one(requests_for(calls, "CreateModel"))
    assert new["Containers"] == [{"ModelPackageName": arn2}]
    assert "UpdateEndpoint" in ops(calls)
    sm = aws.client("sagemaker")
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [new["ModelName"]]
    assert f"model package: {arn2} (version 2, Approved)" in cli("status").stdout
    listing = cli("versions").stdout.splitlines()
    assert "Approved (serving)" in listing[2] and "serving" not in listing[1], listing

    # An explicit ARN works the same.
    result = cli("deploy", "--model-package", arn1)
    assert result.code == 0, result.stderr
    assert one(requests_for(aws.take(), "CreateModel"))["Containers"] == [{"ModelPackageName": arn1}]


def test_unapproved_and_rejected_versions_are_refused(cli, aws, project):
    aws.put_image(project.name)
    arn = register(cli)
    aws.take()
    result = cli("deploy", "--model-package", "1")
    assert result.code == 1
    error = one(result.errors)
    assert "PendingManualApproval, not Approved" in error and "`python -m deploy approve 1`" in error, error
    assert not {"CreateModel", "CreateEndpointConfig", "CreateEndpoint"} & set(ops(aws.take()))

    result = cli("reject", "1")  # a reason is required
    assert result.code == 1 and "--description" in result.stderr
    result = cli("reject", "1", "--description", "answers in the wrong language")
    assert result.code == 0, result.stderr
    assert one(requests_for(aws.take(), "UpdateModelPackage")) == {
        "ModelPackageArn": arn, "ModelApprovalStatus": "Rejected", "ApprovalDescription": "answers in the wrong language"}
    result = cli("deploy", "--model-package", arn)
    assert result.code == 1 and "is Rejected, not Approved" in one(result.errors)
    result = cli("deploy", "--model-package", "latest-approved")
    assert result.code == 1 and "no Approved version" in one(result.errors)
    assert "CreateModel" not in ops(aws.take())

    # AWS itself refuses a model from an unapproved version (the fake does too).
    sm = aws.client("sagemaker")
    with pytest.raises(sm.exceptions.ClientError, match="only Approved"):
        sm.create_model(ModelName="direct", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/x",
                        Containers=[{"ModelPackageName": arn}])


@pytest.mark.parametrize("args, message", [
    (["--model-package", "latest-approved", "--image-uri", "x"], "leave out --image-uri"),
    (["--model-package", "3", "--tag", "v1", "--model-data", "s3://bucket-x/a/"], "leave out --tag and --model-data"),
])
def test_model_package_excludes_image_options(cli, aws, args, message):
    result = cli("deploy", *args)
    assert result.code == 1 and message in one(result.errors)
    assert aws.take() == []


def test_versions_lists_status_and_unknown_versions(cli, aws, project):
    result = cli("versions")
    assert result.code == 0 and "no model package group" in result.stderr and result.stdout == ""
    result = cli("approve", "1")
    assert result.code == 1 and "python -m deploy register" in one(result.errors)
    aws.put_image(project.name)
    for _ in range(3):
        register(cli)
    cli("approve", "2")
    cli("reject", "3", "--description", "too slow")
    result = cli("versions")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "STATUS", "CREATED", "DESCRIPTION"]
    assert [line.split()[:2] for line in lines[1:]] == [["1", "PendingManualApproval"], ["2", "Approved"],
                                                        ["3", "Rejected"]]
    assert project.lock["model"]["id"] in lines[1]
    result = cli("approve", "7")
    assert result.code == 1 and "has no version 7 (it has: 1, 2, 3" in one(result.errors)
    result = cli("approve", "latest")
    assert result.code == 1 and "neither a version number nor a model package ARN" in one(result.errors)


def test_gated_model_registers_its_secret_arn_never_the_token(cli, aws, project):
    lock = project.make_gated()
    aws.put_image(project.name)
    arn = aws.client("secretsmanager").create_secret(Name=lock["project"]["hf_token_secret_name"],
                                                     SecretString=FAKE_TOKEN)["ARN"]
    result = cli("register", "--env", f"HF_TOKEN={FAKE_TOKEN}")
    assert result.code == 1 and "python -m deploy secret" in one(result.errors)
    assert FAKE_TOKEN not in result.stderr
    register(cli)
    calls = aws.take()
    package = one(requests_for(calls, "CreateModelPackage"))
    assert package["InferenceSpecification"]["Containers"][0]["Environment"] == {"HF_TOKEN_SECRET_ID": arn}
    assert FAKE_TOKEN not in json.dumps([c for c in calls if c["service"] == "sagemaker"], default=str)


def test_register_with_model_data(cli, aws, project):
    project.make_gated()  # weights from S3: the container needs no token, so no secret either
    aws.put_image(project.name)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="model-store")
    s3.put_object(Bucket="model-store", Key="weights/config.json", Body=b"{}")
    s3.put_object(Bucket="model-store", Key="weights/hf-snapshot.json",
                  Body=json.dumps({"model": project.lock["model"]["id"], "sha": project.lock["model"]["sha"]}).encode())
    register(cli, "--model-data", "s3://model-store/weights")
    package = one(requests_for(aws.take(), "CreateModelPackage"))
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": "s3://model-store/weights/",
                                                             "S3DataType": "S3Prefix", "CompressionType": "None"}}
    assert "Environment" not in container
    cli("approve", "1")
    result = cli("deploy", "--model-package", "latest-approved")
    assert result.code == 0, result.stderr
    calls = aws.take()
    policy = json.loads(one(requests_for(calls, "PutRolePolicy"))["PolicyDocument"])
    assert "ModelDataRead" in [s.get("Sid") for s in policy["Statement"]]  # the package's weights, read by the role
    assert "weights: s3://model-store/weights/" in cli("status").stdout


def test_cleanup_leaves_the_registry_unless_asked(cli, aws, project):
    aws.put_image(project.name)
    register(cli)
    register(cli)
    cli("approve", "1")
    assert cli("deploy", "--model-package", "latest-approved").code == 0
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    assert f"Model Registry group {project.name} with 2 version(s), left alone (--delete-registry)" in result.stderr
    assert "DeleteModelPackage" not in ops(aws.take())
    result = cli("cleanup", "--delete-registry")  # no terminal, no --yes: nothing deleted
    assert result.code == 1 and "--yes" in one(result.errors)
    assert f"model package group {project.name} and its 2 version(s)" in result.stderr
    result = cli("cleanup", "--delete-registry", "--yes")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert ops(calls).count("DeleteModelPackage") == 2 and "DeleteModelPackageGroup" in ops(calls)
    assert aws.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert "Model Registry" not in cli("cleanup", "--yes").stderr


# -- the CLI end-to-end tier: `python -m deploy` as a user runs it, against moto's own server --------------
try:
    import flask  # noqa: F401 - moto's server needs moto[server]
    from test_cli_e2e import moto_server, user  # noqa: F401 - the e2e tier's fixtures
    HAVE_SERVER = True
except ImportError:
    HAVE_SERVER = False


@pytest.mark.cli
@pytest.mark.skipif(not HAVE_SERVER, reason="moto's server needs moto[server]")
def test_cli_register_approve_deploy_against_moto_server(user):
    name = json.loads((user.project / "model.lock.json").read_text())["project"]["name"]
    ecr = user.client("ecr")
    ecr.create_repository(repositoryName=name)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                      "digest": "sha256:" + "0" * 64}, "layers": []})
    ecr.put_image(repositoryName=name, imageManifest=manifest, imageTag=TAG)

    arn = user("register").stdout.strip()
    assert arn.endswith("/1")
    result = user("deploy", "--instance-type", "ml.m5.large", "--model-package", "latest-approved", check=1)
    assert "python -m deploy approve 1" in result.stderr
    user("approve", "1")
    assert user("versions").stdout.splitlines()[1].split()[:2] == ["1", "Approved"]
    result = user("deploy", "--instance-type", "ml.m5.large", "--model-package", "latest-approved")
    assert result.stdout.strip() == name and "InService" in result.stderr
    model = user.client("sagemaker").describe_model(ModelName=name)
    assert model["Containers"][0]["ModelPackageName"] == arn
    assert f"model package: {arn} (version 1, Approved)" in user("status").stdout
    result = user("cleanup", "--yes")
    assert f"Model Registry group {name} with 1 version(s), left alone" in result.stderr


def test_jumpstart_project_registers_jumpstarts_artifacts(cli, aws, project):
    prefix = "s3://jumpstart-private-cache-prod-us-east-1/meta-textgeneration/llama/artifacts/inference-prepack/v1.0.0/"

    def jumpstart(lock, accepted):
        lock["weights"] = {"source": "jumpstart", "s3_uri": prefix, "s3_data_type": "S3Prefix", "compression": "None",
                           "jumpstart": {"model_id": "meta-textgeneration-llama-3-2-1b-instruct", "version": "1.0.0",
                                         "spec_key": "community_models/x/specs_v1.0.0.json",
                                         "huggingface_id": "meta-llama/Llama-3.2-1B-Instruct", "gated_bucket": True,
                                         "eula_key": "fmhMetadata/eula/llama3_2Eula.txt", "eula_required": True,
                                         "eula_accepted": accepted, "license": "llama3.2"}}
    project.set_lock(lambda lock: jumpstart(lock, False))
    aws.put_image(project.name)
    result = cli("register")
    assert result.code == 1 and "acceptEula=true" in one(result.errors)
    assert "CreateModelPackage" not in ops(aws.take())
    project.set_lock(lambda lock: jumpstart(lock, True))
    register(cli)
    calls = aws.take()
    source = one(requests_for(calls, "CreateModelPackage"))["InferenceSpecification"]["Containers"][0][
        "ModelDataSource"]["S3DataSource"]
    assert source == {"S3Uri": prefix, "S3DataType": "S3Prefix", "CompressionType": "None",
                      "ModelAccessConfig": {"AcceptEula": True}}
    assert "HeadObject" not in ops(calls)  # AWS's bucket: SageMaker reads it, not the tool
    cli("approve", "1")
    result = cli("deploy", "--model-package", "latest-approved")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert one(requests_for(calls, "CreateModel"))["Containers"][0]["ModelPackageName"].endswith("/1")
    assert "HeadObject" not in ops(calls) and "weights from SageMaker JumpStart" in result.stderr
