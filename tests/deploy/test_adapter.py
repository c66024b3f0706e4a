"""`python -m deploy adapter add|list|remove`, `test/stream --adapter`, and cleanup's order, in-process.

The SageMaker control plane is tests/deploy/fakes.py's (adapter inference components: a base on the same
endpoint, InService, no model or compute of their own, a .tar.gz ArtifactUrl), S3 and IAM are moto's, the
Hub is a local stand-in the real huggingface_hub downloads from (HF_ENDPOINT), and SageMaker Runtime is
answered on botocore's before-call hook. Every request is validated against botocore's service model by
the ``aws`` fixture (conftest.py).
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import pytest
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from deploy_support import one, ops, requests_for
from loopback import LoopbackServer  # noqa: E402

SHA = "a" * 40
OTHER_SHA = "b" * 40
BUCKET = "lora-store"


def adapter_config(base: str, rank: int = 8, **extra) -> dict:
    return {"peft_type": "LORA", "base_model_name_or_path": base, "r": rank, "lora_alpha": 16,
            "target_modules": ["q_proj", "v_proj"], "bias": "none", **extra}


def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def lora(project):
    """The project as generated with enableLora and one listed adapter, ad1 (loaded at start)."""
    def change(lock):
        lock["lora"] = {"max_lora_rank": 16, "max_loras": 2, "runtime_updates": True, "memory_gib": 0.02,
                        "adapters": [{"name": "ad1", "id": "acme/ad1-lora", "revision": "main", "sha": SHA, "rank": 8,
                                      "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
                                      "base_model": lock["model"]["id"]}]}
    project.set_lock(change)
    return project


def deploy_base(cli, aws, project, *args: str) -> str:
    aws.put_image(project.name)
    result = cli("deploy", "--inference-component", *args)
    assert result.code == 0, result.stderr
    aws.take()
    return project.name


def put_adapter(aws, key: str, config: dict) -> str:
    s3 = aws.client("s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=BUCKET, Key=key, Body=tarball({"adapter_config.json": json.dumps(config).encode(),
                                                        "adapter_model.safetensors": b"lora" * 64}))
    return f"s3://{BUCKET}/{key}"


def components(aws) -> dict[str, dict]:
    return {name: ic for (_, name), ic in aws.fake.components.items()}


# -- add, list, remove ----------------------------------------------------------------------------

def test_add_from_s3_list_duplicate_remove(cli, aws, lora):
    name = deploy_base(cli, aws, lora)
    uri = put_adapter(aws, "adapters/ad2.tar.gz", adapter_config(lora.lock["model"]["id"]))
    aws.take()

    result = cli("adapter", "add", "ad2", "--s3", uri)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"{name}-ad2"
    calls = aws.take()
    (create,) = requests_for(calls, "CreateInferenceComponent")
    assert create["InferenceComponentName"] == f"{name}-ad2" and create["EndpointName"] == name
    assert create["Specification"] == {"BaseInferenceComponentName": name, "Container": {"ArtifactUrl": uri}}
    assert "RuntimeConfig" not in create and "VariantName" not in create
    assert {"Key": "adapter", "Value": "ad2"} in create["Tags"]
    # It waited, printing each status, until the component was InService.
    assert "Creating" in result.stderr and "InService" in result.stderr
    assert components(aws)[f"{name}-ad2"]["InferenceComponentStatus"] == "InService"
    # The role deploy made may read the artifact.
    policy = aws.client("iam").get_role_policy(RoleName=f"{name}-sagemaker-exec", PolicyName="lora-adapters")
    assert policy["PolicyDocument"]["Statement"][0]["Resource"] == [f"arn:aws:s3:::{BUCKET}/adapters/ad2.tar.gz"]

    result = cli("adapter", "list")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "STATUS", "ARTIFACT", "COMPONENT"]
    assert lines[1].split() == ["ad2", "component", "InService", uri, f"{name}-ad2"]
    assert lines[2].split() == ["ad1", "at", "start", "-", "hub", f"acme/ad1-lora@{SHA[:12]}", name]

    result = cli("status")
    assert f"adapter of: {name}" in result.stdout and f"artifact: {uri}" in result.stdout

    aws.take()
    result = cli("adapter", "add", "ad2", "--s3", uri)
    assert result.code == 1
    assert result.errors == [f"error: adapter 'ad2' is already there (inference component {name}-ad2, InService); "
                             "remove it first: python -m deploy adapter remove ad2"]
    assert "CreateInferenceComponent" not in ops(aws.take())

    result = cli("adapter", "remove", "ad2", "--yes")
    assert result.code == 0, result.stderr
    assert requests_for(aws.take(), "DeleteInferenceComponent") == [{"InferenceComponentName": f"{name}-ad2"}]
    assert set(components(aws)) == {name}
    result = cli("adapter", "remove", "ad2", "--yes")
    assert result.code == 1 and "has no adapter 'ad2'" in result.errors[0]


def test_add_a_listed_adapter_from_the_hub_at_its_pinned_commit(cli, aws, lora, hub):
    deploy_base(cli, aws, lora)
    model = lora.lock["model"]["id"]
    hub.repos["acme/ad1-lora"] = (SHA, {"adapter_config.json": json.dumps(adapter_config(model)).encode(),
                                         "adapter_model.safetensors": b"weights" * 10, "README.md": b"# ad1"})
    hub.revisions[("acme/ad1-lora", "main")] = OTHER_SHA  # the branch moved on: the lock's pin wins

    result = cli("adapter", "add", "ad1", "--to", f"s3://{BUCKET}/lora", "--create-bucket")
    assert result.code == 0, result.stderr
    key = f"lora/ad1-{SHA[:12]}.tar.gz"
    (create,) = requests_for(aws.take(), "CreateInferenceComponent")
    assert create["Specification"]["Container"]["ArtifactUrl"] == f"s3://{BUCKET}/{key}"
    assert {"Key": "adapter-sha", "Value": SHA} in create["Tags"]
    paths = [r["path"] for r in hub.requests]
    assert paths and all(SHA in p for p in paths), paths   # no look-up of main
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["README.md", "adapter_config.json", "adapter_model.safetensors"]


def test_add_another_hub_adapter_resolves_its_revision(cli, aws, lora, hub):
    deploy_base(cli, aws, lora)
    model = lora.lock["model"]["id"]
    hub.repos["acme/support-lora"] = (OTHER_SHA, {"adapter_config.json": json.dumps(adapter_config(model)).encode(),
                                                  "adapter_model.safetensors": b"w" * 10})
    hub.revisions[("acme/support-lora", "main")] = OTHER_SHA
    aws.client("s3").create_bucket(Bucket=BUCKET)
    result = cli("adapter", "add", "support", "--from-hub", "acme/support-lora", "--to", f"s3://{BUCKET}/lora/")
    assert result.code == 0, result.stderr
    assert any(r["path"].endswith("/revision/main") for r in hub.requests)
    (create,) = requests_for(aws.take(), "CreateInferenceComponent")
    assert create["Specification"]["Container"]["ArtifactUrl"] == f"s3://{BUCKET}/lora/support-{OTHER_SHA[:12]}.tar.gz"


def test_hub_adapter_for_another_base_is_refused_before_sagemaker(cli, aws, lora, hub):
    deploy_base(cli, aws, lora)
    hub.repos["acme/llama-lora"] = (OTHER_SHA, {
        "adapter_config.json": json.dumps(adapter_config("meta-llama/Llama-3.1-8B-Instruct")).encode()})
    hub.revisions[("acme/llama-lora", "main")] = OTHER_SHA
    aws.client("s3").create_bucket(Bucket=BUCKET)
    result = cli("adapter", "add", "llama", "--from-hub", "acme/llama-lora", "--to", f"s3://{BUCKET}/lora/")
    assert result.code == 1
    assert "was made for meta-llama/Llama-3.1-8B-Instruct, not for" in result.errors[0]
    calls = aws.take()
    assert "CreateInferenceComponent" not in ops(calls) and "PutObject" not in ops(calls)


@pytest.mark.parametrize("config, message", [
    ({"r": 64}, "has rank 64, above the --max-lora-rank 16 the engine was started with"),
    ({"peft_type": "IA3"}, "is a PEFT 'IA3' adapter, not LORA"),
    ({"use_dora": True}, "uses DoRA or LoRA bias"),
])
def test_archive_the_engine_would_refuse(cli, aws, lora, config, message):
    deploy_base(cli, aws, lora)
    uri = put_adapter(aws, "bad.tar.gz", adapter_config(lora.lock["model"]["id"]) | config)
    result = cli("adapter", "add", "bad", "--s3", uri)
    assert result.code == 1 and message in result.errors[0], result.stderr
    assert "CreateInferenceComponent" not in ops(aws.take())


def test_refusals(cli, aws, lora, project):
    # Mistakes in the command: before any AWS call.
    for argv, message in [
        (["add", "Bad_Name", "--s3", "s3://b-1/a.tar.gz"], "adapter name 'Bad_Name' wants lower-case letters"),
        (["add", "ad9"], "where is adapter 'ad9'? give --from-hub ORG/NAME or --s3"),
        (["add", "ad9", "--s3", "s3://b-1/folder/"], "--s3 wants one .tar.gz like s3://bucket/prefix/adapter.tar.gz"),
        (["add", "ad9", "--from-hub", "acme/x"], "where to upload it? give --to s3://bucket/prefix/"),
        (["add", "ad9", "--from-hub", "acme/x", "--s3", "s3://b-1/a.tar.gz"], "not allowed with argument"),
    ]:
        result = cli("adapter", *argv)
        assert result.code == 1 and message in result.stderr, (argv, result.stderr)
    assert not [c for c in aws.take() if c["service"] == "sagemaker"]

    # No endpoint yet; then a real-time endpoint (no base component to run on).
    uri = put_adapter(aws, "ad2.tar.gz", adapter_config(lora.lock["model"]["id"]))
    result = cli("adapter", "add", "ad2", "--s3", uri)
    assert result.code == 1 and "does not exist; deploy the base model first" in result.errors[0]
    aws.put_image(project.name)
    assert cli("deploy").code == 0
    for argv in (["add", "ad2", "--s3", uri], ["list"], ["remove", "ad2", "--yes"]):
        result = cli("adapter", *argv)
        assert result.code == 1, argv
        assert "was deployed without --inference-component" in result.errors[0]
        assert "python -m deploy deploy --inference-component" in result.errors[0]
    assert "CreateInferenceComponent" not in ops(aws.take())


def test_project_without_lora_is_refused(cli, aws, project):
    deploy_base(cli, aws, project)
    result = cli("adapter", "add", "ad2", "--s3", "s3://b-1/a.tar.gz")
    assert result.code == 1
    assert "generated without LoRA" in result.errors[0] and "enableLora=true" in result.errors[0]


def test_no_wait_and_a_failed_adapter(cli, aws, lora):
    name = deploy_base(cli, aws, lora)
    uri = put_adapter(aws, "ad2.tar.gz", adapter_config(lora.lock["model"]["id"]))
    aws.fake.fail_components[f"{name}-ad2"] = "adapter could not be loaded"
    result = cli("adapter", "add", "ad2", "--s3", uri)
    assert result.code == 1
    assert "failed (adapter could not be loaded). Remove it with python -m deploy adapter remove ad2" in \
        result.errors[0]
    assert cli("adapter", "remove", "ad2", "--yes").code == 0
    result = cli("adapter", "add", "ad3", "--s3", uri, "--no-wait")
    assert result.code == 0 and result.stdout.strip() == f"{name}-ad3"
    assert "DescribeInferenceComponent" not in ops(aws.take()[-1:])


def test_the_execution_role_reads_each_artifact(cli, aws, lora, monkeypatch):
    name = deploy_base(cli, aws, lora)
    del cli.sleeps[:]
    for adapter in ("ad2", "ad3"):
        assert cli("adapter", "add", adapter, "--s3", put_adapter(aws, f"a/{adapter}.tar.gz",
                                                               adapter_config(lora.lock["model"]["id"]))).code == 0
    policy = aws.client("iam").get_role_policy(RoleName=f"{name}-sagemaker-exec", PolicyName="lora-adapters")
    assert policy["PolicyDocument"]["Statement"] == [{
        "Sid": "AdapterArtifacts", "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::{BUCKET}/a/ad2.tar.gz", f"arn:aws:s3:::{BUCKET}/a/ad3.tar.gz"]}]
    assert cli.sleeps.count(10) == 2  # a moment for IAM after each change, before SageMaker reads the artifact
    # deploy's own policy is left as it was.
    assert aws.client("iam").get_role_policy(RoleName=f"{name}-sagemaker-exec", PolicyName="sagemaker-endpoint")


def test_a_role_of_your_own_is_named_not_changed(cli, aws, lora, monkeypatch):
    role = aws.client("iam").create_role(RoleName="my-role", AssumeRolePolicyDocument="{}")["Role"]
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", role["Arn"])
    deploy_base(cli, aws, lora)
    del cli.sleeps[:]
    uri = put_adapter(aws, "ad2.tar.gz", adapter_config(lora.lock["model"]["id"]))
    result = cli("adapter", "add", "ad2", "--s3", uri)
    assert result.code == 0, result.stderr
    assert f"warning: the execution role {role['Arn']} must be able to read {uri} (s3:GetObject)" in result.stderr
    assert not requests_for(aws.take(), "PutRolePolicy") and 10 not in cli.sleeps


# -- cleanup --------------------------------------------------------------------------------------

def test_cleanup_deletes_adapters_before_their_base(cli, aws, lora):
    name = deploy_base(cli, aws, lora)
    for adapter in ("zz", "aa"):  # one sorts after the base's name, one before
        uri = put_adapter(aws, f"{adapter}.tar.gz", adapter_config(lora.lock["model"]["id"]))
        assert cli("adapter", "add", adapter, "--s3", uri).code == 0
    aws.take()
    result = cli("cleanup", "--yes")
    assert result.code == 0, result.stderr
    deleted = [p["InferenceComponentName"] for p in requests_for(aws.take(), "DeleteInferenceComponent")]
    assert sorted(deleted[:2]) == [f"{name}-aa", f"{name}-zz"] and deleted[2:] == [name]
    assert components(aws) == {} and aws.fake.endpoints == {}


# -- test / stream --adapter ----------------------------------------------------------------------

class Runtime:
    """SageMaker Runtime on the before-call hook: answers which component it was addressed to."""

    def __init__(self, aws) -> None:
        self.seen: list[dict] = []
        aws.session.events.register("before-call.sagemaker-runtime", self, unique_id="adapter-runtime")

    def __call__(self, model, context=None, **_):
        params = (context or {}).get("fake_params", {})
        self.seen.append(dict(params, operation=model.name))
        text = f"answered by {params.get('InferenceComponentName')}"
        if model.name == "InvokeEndpoint":
            data = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
            return AWSResponse("https://fake", 200, {}, None), {
                "Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json",
                "ResponseMetadata": {"HTTPStatusCode": 200}}
        chunk = f'data: {json.dumps({"choices": [{"delta": {"content": text}}]})}\n\ndata: [DONE]\n\n'
        return AWSResponse("https://fake", 200, {}, None), {
            "Body": [{"PayloadPart": {"Bytes": chunk.encode()}}], "ResponseMetadata": {"HTTPStatusCode": 200}}


def test_test_and_stream_ask_the_adapter_component(cli, aws, lora):
    name = deploy_base(cli, aws, lora)
    uri = put_adapter(aws, "ad2.tar.gz", adapter_config(lora.lock["model"]["id"]))
    assert cli("adapter", "add", "ad2", "--s3", uri).code == 0
    runtime = Runtime(aws)

    result = cli("test", "--adapter", "ad2")
    assert result.code == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [f"answered by {name}-ad2"] * 2
    assert [s["operation"] for s in runtime.seen] == ["InvokeEndpoint", "InvokeEndpointWithResponseStream"]
    assert {s["InferenceComponentName"] for s in runtime.seen} == {f"{name}-ad2"}
    assert f"adapter ad2, inference component {name}-ad2" in result.stderr

    result = cli("stream", "--adapter", "ad2")
    assert result.code == 0 and result.stdout.strip() == f"answered by {name}-ad2"
    # The base still answers when named; with adapters beside it, the base is named.
    result = cli("test", "--no-stream", "--inference-component-name", name)
    assert result.code == 0 and result.stdout.strip() == f"answered by {name}"

    # An adapter loaded at start (listed at generation) has no component SageMaker can address.
    runtime.seen.clear()
    result = cli("test", "--adapter", "ad1")
    assert result.code == 1 and "loaded in the container at start" in result.errors[0]
    assert "X-Amzn-SageMaker-Adapter-Identifier" in result.errors[0] and "adapter add ad1" in result.errors[0]
    result = cli("test", "--adapter", "nope")
    assert result.code == 1 and "has no adapter 'nope' (its adapters: ad2)" in result.errors[0]
    result = cli("test", "--adapter", "ad2", "--inference-component-name", name)
    assert result.code == 1 and "leave out --inference-component" in result.errors[0]
    assert runtime.seen == []



def test_without_a_name_the_base_is_meant_beside_adapters(cli, aws, lora):
    """With adapter components beside the base, no component name means the base: test, stream,
    autoscale, logs and deploy's in-place update address it instead of asking for a name."""
    name = deploy_base(cli, aws, lora)
    for adapter in ("ad2", "zz"):
        uri = put_adapter(aws, f"{adapter}.tar.gz", adapter_config(lora.lock["model"]["id"]))
        assert cli("adapter", "add", adapter, "--s3", uri).code == 0
    assert set(components(aws)) == {name, f"{name}-ad2", f"{name}-zz"}
    runtime = Runtime(aws)

    result = cli("test")
    assert result.code == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [f"answered by {name}"] * 2
    assert {s["InferenceComponentName"] for s in runtime.seen} == {name}
    result = cli("stream")
    assert result.code == 0 and result.stdout.strip() == f"answered by {name}", result.stderr

    result = cli("autoscale", "--max", "2")
    assert result.code == 0, result.stderr
    target = one(requests_for(aws.take(), "RegisterScalableTarget"))
    assert target["ResourceId"] == f"inference-component/{name}"
    assert cli("autoscale", "--off").code == 0

    result = cli("logs", "--inference-component")
    assert "several" not in result.stderr, result.stderr

    aws.put_image(name, "2.0.0-new")
    aws.take()
    result = cli("deploy", "--inference-component", "--tag", "2.0.0-new")
    assert result.code == 0, result.stderr
    update = one(requests_for(aws.take(), "UpdateInferenceComponent"))
    assert update["InferenceComponentName"] == name
    assert set(components(aws)) == {name, f"{name}-ad2", f"{name}-zz"}

    # Two bases: still a name to choose.
    aws.client("sagemaker").create_inference_component(
        InferenceComponentName=f"{name}-other", EndpointName=name, VariantName="AllTraffic",
        Specification={"ModelName": components(aws)[name]["Specification"]["ModelName"],
                       "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1,
                                                       "MinMemoryRequiredInMb": 1024}},
        RuntimeConfig={"CopyCount": 1})
    result = cli("test", "--no-stream")
    assert result.code == 1
    assert result.errors == [f"error: endpoint '{name}' hosts several base inference components ({name} "
                             f"{name}-other); choose one with --inference-component-name"]


class Container:
    """The container on this machine (test --url): records each request's headers and body; answers which
    adapter the SageMaker header named, as vLLM's SageMaker layer does."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        box = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                box.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                who = self.headers.get("X-Amzn-SageMaker-Adapter-Identifier") or "base"
                if body.get("stream"):
                    data = "".join(f'data: {json.dumps({"choices": [{"delta": {"content": t}}]})}\n\n'
                                   for t in ("streamed by ", who)) + "data: [DONE]\n\n"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    self.wfile.write(data.encode())
                    return
                data = json.dumps({"model": who, "choices": [{"message": {"content": f"answered by {who}"}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


def test_local_container_gets_the_adapter_header(cli, aws, lora):
    container = Container()
    try:
        result = cli("test", "--url", container.url, "--adapter", "ad1")
        assert result.code == 0, result.stderr
        assert result.stdout.splitlines() == ["answered by ad1", "streamed by ad1"]
        assert [r["path"] for r in container.requests] == ["/invocations"] * 2
        assert {r["headers"]["X-Amzn-SageMaker-Adapter-Identifier"] for r in container.requests} == {"ad1"}
        assert {r["body"]["model"] for r in container.requests} == {lora.lock["model"]["id"]}
        container.requests.clear()
        result = cli("test", "--url", container.url + "/invocations", "--no-stream")
        assert result.code == 0 and result.stdout.strip() == "answered by base"
        assert "X-Amzn-SageMaker-Adapter-Identifier" not in container.requests[0]["headers"]
    finally:
        container.httpd.shutdown()
        container.httpd.server_close()
    result = cli("test", "--url", container.url, "--no-stream")
    assert result.code == 1 and f"cannot reach {container.url}" in result.errors[0]
    assert aws.take() == []  # the local container needs no AWS


# -- the Hub --------------------------------------------------------------------------------------

class Hub(LoopbackServer):
    """The Hub's model API as huggingface_hub reads it: /api/models/<id>/revision/<rev>, .../tree/<sha>,
    and HEAD/GET /<id>/resolve/<sha>/<file>, for the repos in ``repos`` ({id: (sha, {file: bytes})})."""

    def __init__(self) -> None:
        self.repos: dict[str, tuple[str, dict[str, bytes]]] = {}
        self.revisions: dict[tuple[str, str], str] = {}
        self.requests: list[dict] = []
        super().__init__()

    def answer(self, handler, body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        self.requests.append({"method": handler.command, "path": path})
        status, headers, data = 404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "not found"}, b"{}"
        for repo, (sha, files) in self.repos.items():
            if path.startswith(f"/api/models/{repo}/revision/"):
                rev = path.rsplit("/", 1)[1]
                found = sha if rev == sha else self.revisions.get((repo, rev))
                if found:
                    status, headers = 200, {"Content-Type": "application/json"}
                    data = json.dumps({"id": repo, "modelId": repo, "sha": found, "siblings": [
                        {"rfilename": f} for f in files]}).encode()
            elif path.startswith(f"/api/models/{repo}/tree/{sha}"):
                status, headers = 200, {"Content-Type": "application/json"}
                data = json.dumps([{"type": "file", "path": f, "size": len(c), "oid": hashlib.sha1(c).hexdigest()}
                                   for f, c in files.items()]).encode()
            elif path.startswith(f"/{repo}/resolve/{sha}/") and path[len(f"/{repo}/resolve/{sha}/"):] in files:
                data = files[path[len(f"/{repo}/resolve/{sha}/"):]]
                status, headers = 200, {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                                        "Content-Type": "application/octet-stream"}
        self.reply(handler, status, headers, data, body)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    pytest.importorskip("huggingface_hub", reason="adapter add --from-hub downloads with huggingface_hub")
    server = Hub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
