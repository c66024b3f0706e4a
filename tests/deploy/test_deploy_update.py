"""`python -m deploy deploy` on an endpoint that exists: the in-place update.

A new model and endpoint config, UpdateEndpoint with a deployment policy (blue/green by default,
rolling with --rolling, automatic rollback on --rollback-alarm), a wait, the old model and config
deleted; inference components: UpdateInferenceComponent. A failed update leaves the old endpoint
serving, removes what it created, and says so.
"""
from __future__ import annotations

import re

from deploy_support import ACCOUNT, one, ops, requests_for

NEW_TAG = "2.0.0-new"


def image(name: str, tag: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}:{tag}"


def deployed(cli, aws, project, *args: str) -> str:
    name = project.name
    aws.put_image(name)
    aws.put_image(name, NEW_TAG)
    result = cli("deploy", *args)
    assert result.code == 0, result.stderr
    aws.take()
    return name


def test_second_deploy_updates_in_place_blue_green(cli, aws, project):
    name = deployed(cli, aws, project)
    sm = aws.client("sagemaker")
    old_role = sm.describe_model(ModelName=name)["ExecutionRoleArn"]

    result = cli("deploy", "--tag", NEW_TAG)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == name
    calls = aws.take()
    assert "DeleteEndpoint" not in ops(calls) and "CreateEndpoint" not in ops(calls)
    new_model = one(requests_for(calls, "CreateModel"))
    new_config = one(requests_for(calls, "CreateEndpointConfig"))
    assert re.fullmatch(rf"{name}-\d{{14}}", new_model["ModelName"])
    assert new_config["EndpointConfigName"] == new_model["ModelName"]
    assert new_model["PrimaryContainer"]["Image"] == image(name, NEW_TAG)
    assert new_model["ExecutionRoleArn"] == old_role
    (variant,) = new_config["ProductionVariants"]
    assert variant["ModelName"] == new_model["ModelName"] and variant["InitialInstanceCount"] == 1
    update = one(requests_for(calls, "UpdateEndpoint"))
    assert update["EndpointName"] == name and update["EndpointConfigName"] == new_config["EndpointConfigName"]
    policy = update["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    assert policy["TerminationWaitInSeconds"] == 0
    assert 600 <= policy["MaximumExecutionTimeoutInSeconds"] <= 28800
    assert "AutoRollbackConfiguration" not in update["DeploymentConfig"]
    # Waited, then the old config and model removed -- in that order, after the update.
    order = ops(calls)
    assert order.index("UpdateEndpoint") < order.index("DeleteEndpointConfig") < order.index("DeleteModel")
    assert one(requests_for(calls, "DeleteEndpointConfig")) == {"EndpointConfigName": name}
    assert one(requests_for(calls, "DeleteModel")) == {"ModelName": name}
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [new_model["ModelName"]]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == \
        [new_config["EndpointConfigName"]]
    endpoint = sm.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == new_config["EndpointConfigName"]
    # The quota covers the new fleet beside the old one.
    assert "this deploy needs 2" in result.stderr

    # status shows which image serves.
    result = cli("status")
    assert result.code == 0
    assert f"image: {image(name, NEW_TAG)}" in result.stdout
    assert f"endpoint config: {new_config['EndpointConfigName']}" in result.stdout

    # And a third deploy replaces the versioned ones.
    result = cli("deploy", "--tag", "1.0.0-test")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert one(requests_for(calls, "DeleteModel")) == {"ModelName": new_model["ModelName"]}
    assert len(sm.list_models()["Models"]) == 1


def test_rolling_update_with_rollback_alarms(cli, aws, project):
    name = deployed(cli, aws, project)
    result = cli("deploy", "--tag", NEW_TAG, "--rolling", "--rollback-alarm", "p99-latency",
                 "--rollback-alarm", "errors-5xx")
    assert result.code == 0, result.stderr
    update = one(requests_for(aws.take(), "UpdateEndpoint"))
    config = update["DeploymentConfig"]
    assert "BlueGreenUpdatePolicy" not in config
    assert config["RollingUpdatePolicy"]["MaximumBatchSize"] == {"Type": "INSTANCE_COUNT", "Value": 1}
    assert config["RollingUpdatePolicy"]["WaitIntervalInSeconds"] == 0
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "p99-latency"},
                                                              {"AlarmName": "errors-5xx"}]}
    assert aws.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"


def test_blue_green_with_an_alarm_bakes(cli, aws, project):
    deployed(cli, aws, project)
    result = cli("deploy", "--tag", NEW_TAG, "--rollback-alarm", "errors-5xx")
    assert result.code == 0, result.stderr
    config = one(requests_for(aws.take(), "UpdateEndpoint"))["DeploymentConfig"]
    policy = config["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}
    assert policy["MaximumExecutionTimeoutInSeconds"] >= 600 + 600
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "errors-5xx"}]}
    result = cli("deploy", "--tag", "1.0.0-test", "--bake-seconds", "120")
    assert result.code == 0, result.stderr
    policy = one(requests_for(aws.take(), "UpdateEndpoint"))["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] == 120
    for args, message in [(["--bake-seconds", "4000"], "at most 3600"),
                          (["--bake-seconds", "60", "--rolling"], "goes with a blue/green update")]:
        result = cli("deploy", *args)
        assert result.code == 1 and message in one(result.errors)


def test_failed_update_leaves_the_old_endpoint_serving(cli, aws, project):
    name = deployed(cli, aws, project)
    sm = aws.client("sagemaker")
    aws.fake.fail_updates[name] = "The new production variant did not pass the ping health check; rolled back."
    result = cli("deploy", "--tag", NEW_TAG)
    assert result.code == 1
    error = one(result.errors)
    assert error.startswith(f"error: the update of endpoint {name} failed (The new production variant did not pass")
    assert f"still serves its previous configuration {name} (image {image(name, '1.0.0-test')})" in error
    calls = aws.take()
    new_name = one(requests_for(calls, "CreateModel"))["ModelName"]
    assert f"removed endpoint config {new_name}" in result.stderr and f"removed model {new_name}" in result.stderr
    endpoint = sm.describe_endpoint(EndpointName=name)
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == name
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [name]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == [name]


def test_refused_update_leaves_the_old_endpoint_serving(cli, aws, project):
    name = deployed(cli, aws, project)
    sm = aws.client("sagemaker")
    sm.update_endpoint(EndpointName=name, EndpointConfigName=name)  # busy: Updating
    aws.take()
    result = cli("deploy", "--tag", NEW_TAG)
    assert result.code == 1
    assert f"endpoint '{name}' is Updating; wait until it is InService" in one(result.errors)
    assert not requests_for(aws.take(), "CreateModel")


def test_update_with_a_missing_image_creates_nothing(cli, aws, project):
    deployed(cli, aws, project)
    result = cli("deploy", "--tag", "9.9.9")
    assert result.code == 1 and "is not in ECR" in one(result.errors)
    assert not {"CreateModel", "CreateEndpointConfig", "UpdateEndpoint"} & set(ops(aws.take()))


def test_update_quota_counts_the_new_fleet(cli, aws, project):
    name = deployed(cli, aws, project)
    itype = project.lock["deployment"]["instance_type"]
    aws.fake.quotas = {f"{itype} for endpoint usage": 1.0}
    result = cli("deploy", "--tag", NEW_TAG)
    assert result.code == 1
    assert "needs 2 (the new fleet runs beside the old one during the update)" in one(result.errors)
    assert not requests_for(aws.take(), "CreateModel")
    # Rolling needs one batch more than what runs (1 + 1 here), still more than 1.
    result = cli("deploy", "--tag", NEW_TAG, "--rolling")
    assert result.code == 1 and "one batch runs beside" in one(result.errors)
    assert aws.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointConfigName"] == name


def test_hosting_mode_is_kept(cli, aws, project):
    name = deployed(cli, aws, project)
    result = cli("deploy", "--inference-component")
    assert result.code == 1
    error = one(result.errors)
    assert "hosts its model real-time" in error and "inference components" in error
    assert f"--endpoint-name {name}" in error or "--endpoint-name" in error
    assert not requests_for(aws.take(), "CreateModel")


def test_failed_endpoint_is_not_updated(cli, aws, project):
    name = "failing"
    aws.put_image(project.name)
    aws.fake.fail_endpoints[name] = "ping health check"
    assert cli("deploy", "--endpoint-name", name).code == 1
    aws.take()
    result = cli("deploy", "--endpoint-name", name)
    assert result.code == 1
    assert f"endpoint '{name}' exists but is Failed" in one(result.errors)
    assert f"python -m deploy cleanup --endpoint-name {name}" in one(result.errors)


def test_inference_component_update(cli, aws, project):
    name = deployed(cli, aws, project, "--inference-component", "--copies", "2")
    sm = aws.client("sagemaker")
    result = cli("deploy", "--inference-component", "--tag", NEW_TAG, "--rollback-alarm", "ic-errors")
    assert result.code == 0, result.stderr
    calls = aws.take()
    assert not {"CreateEndpointConfig", "UpdateEndpoint", "CreateInferenceComponent", "DeleteInferenceComponent"} \
        & set(ops(calls))
    new_model = one(requests_for(calls, "CreateModel"))
    assert new_model["PrimaryContainer"]["Image"] == image(name, NEW_TAG)
    update = one(requests_for(calls, "UpdateInferenceComponent"))
    assert update["InferenceComponentName"] == name
    assert update["Specification"]["ModelName"] == new_model["ModelName"]
    assert update["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == \
        project.lock["deployment"]["inference_component_memory_mb"]
    assert "RuntimeConfig" not in update  # the copies autoscaling set are kept
    rolling = update["DeploymentConfig"]["RollingUpdatePolicy"]
    assert rolling["MaximumBatchSize"] == {"Type": "COPY_COUNT", "Value": 1}
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "ic-errors"}]}
    assert one(requests_for(calls, "DeleteModel")) == {"ModelName": name}
    ic = sm.describe_inference_component(InferenceComponentName=name)
    assert ic["Specification"]["ModelName"] == new_model["ModelName"]
    assert ic["RuntimeConfig"]["DesiredCopyCount"] == 2
    result = cli("status")
    assert f"model: {new_model['ModelName']} (image {image(name, NEW_TAG)})" in result.stdout

    # --copies changes the count with the update.
    result = cli("deploy", "--inference-component", "--copies", "1")
    assert result.code == 0, result.stderr
    assert one(requests_for(aws.take(), "UpdateInferenceComponent"))["RuntimeConfig"] == {"CopyCount": 1}


def test_failed_component_update_keeps_the_old_model(cli, aws, project):
    name = deployed(cli, aws, project, "--inference-component")
    sm = aws.client("sagemaker")
    aws.fake.fail_component_updates[name] = "The new copies did not pass the ping health check."
    result = cli("deploy", "--inference-component", "--tag", NEW_TAG)
    assert result.code == 1
    error = one(result.errors)
    assert error.startswith(f"error: the update of inference component {name} failed (The new copies")
    assert f"still serves model {name} (image {image(name, '1.0.0-test')})" in error
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [name]
    assert sm.describe_inference_component(InferenceComponentName=name)["Specification"]["ModelName"] == name


def test_component_update_keeps_the_instance_type(cli, aws, project):
    deployed(cli, aws, project, "--inference-component")
    result = cli("deploy", "--inference-component", "--instance-type", "ml.g6e.xlarge")
    assert result.code == 1 and "keeps the instance type" in one(result.errors)


def test_no_wait_update_leaves_the_old_until_cleanup(cli, aws, project):
    name = deployed(cli, aws, project)
    result = cli("deploy", "--tag", NEW_TAG, "--no-wait")
    assert result.code == 0, result.stderr
    assert "stay until the next deploy or cleanup" in result.stderr
    calls = aws.take()
    assert "DeleteModel" not in ops(calls)
    new_name = one(requests_for(calls, "CreateModel"))["ModelName"]
    result = cli("status")
    assert "status: Updating" in result.stdout and f"updating to: {new_name}" in result.stdout
    assert result.code == 5
    # cleanup finds both generations.
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    assert f"model {name}" in result.stderr and f"model {new_name}" in result.stderr
    sm = aws.client("sagemaker")
    assert sm.list_models()["Models"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []


def test_endpoint_without_its_component_gets_it_back(cli, aws, project):
    name = deployed(cli, aws, project, "--inference-component")
    sm = aws.client("sagemaker")
    sm.delete_inference_component(InferenceComponentName=name)
    aws.take()
    result = cli("deploy", "--inference-component", "--tag", NEW_TAG)
    assert result.code == 0, result.stderr
    assert "hosts no inference component; adding" in result.stderr
    calls = aws.take()
    ic = one(requests_for(calls, "CreateInferenceComponent"))
    assert ic["InferenceComponentName"] == name and ic["Specification"]["ModelName"] != name
    assert not requests_for(calls, "UpdateInferenceComponent")
    assert sm.describe_inference_component(InferenceComponentName=name)["InferenceComponentStatus"] == "InService"


def test_instance_type_change_under_autoscaling_is_refused_first(cli, aws, project):
    name = deployed(cli, aws, project)
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=f"endpoint/{name}/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=2)
    aws.take()
    result = cli("deploy", "--instance-type", "ml.g6e.xlarge")
    assert result.code == 1
    assert "autoscale --off --endpoint-name" in one(result.errors)
    assert not requests_for(aws.take(), "CreateModel")
    # The same type with autoscaling on: the update goes ahead (AWS keeps the scaling).
    result = cli("deploy", "--tag", NEW_TAG)
    assert result.code == 0, result.stderr


def test_asynchronous_endpoint_update(cli, aws, project):
    aws.client("s3").create_bucket(Bucket="async-jobs")
    name = deployed(cli, aws, project, "--async", "s3://async-jobs/llm/")
    result = cli("deploy", "--async", "s3://async-jobs/llm/", "--tag", NEW_TAG)
    assert result.code == 0, result.stderr
    calls = aws.take()
    config = one(requests_for(calls, "CreateEndpointConfig"))
    assert config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == "s3://async-jobs/llm/output/"
    update = one(requests_for(calls, "UpdateEndpoint"))
    assert update["EndpointConfigName"] == config["EndpointConfigName"] and "BlueGreenUpdatePolicy" in \
        update["DeploymentConfig"]
    sm = aws.client("sagemaker")
    assert sm.describe_endpoint(EndpointName=name)["EndpointConfigName"] == config["EndpointConfigName"]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == \
        [config["EndpointConfigName"]]
    result = cli("status")
    assert "mode: asynchronous" in result.stdout and f"image: {image(name, NEW_TAG)}" in result.stdout
    # Without --async the update would change the hosting mode: refused.
    result = cli("deploy", "--tag", NEW_TAG)
    assert result.code == 1 and "hosts its model asynchronous" in one(result.errors)
