"""`python -m deploy upload-model`, in-process: the real huggingface_hub downloads from a local
hub stand-in (HF_ENDPOINT) that serves a tiny snapshot at the pinned commit, and the snapshot
goes to moto's S3. The token reaches the hub only as an Authorization header, never a command
line, an output or an error. Ported from the removed bash-script tests tests/test_deploy.py and test_deploy_hosting.py
(upload_model.sh)."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cmdkit  # noqa: E402
from cmdkit import session_on_moto  # noqa: F401  (the aws fixture)
from cmdkit import FAKE_TOKEN, run  # noqa: E402
from loopback import LoopbackServer  # noqa: E402

pytest.importorskip("huggingface_hub", reason="upload-model downloads with huggingface_hub (deploy/requirements.txt)")

FILES = {"config.json": b'{"model_type": "qwen2"}', "model.safetensors": b"weights" * 100,
         "tokenizer.json": b"{}", "original/consolidated.00.pth": b"duplicate checkpoint"}


class Hub(LoopbackServer):
    """GET /api/models/<id>/tree/<sha> and HEAD/GET /<id>/resolve/<sha>/<file>, as the Hub answers
    them; a gated repository answers 403 (GatedRepo) unless the request carries `granted`."""

    def __init__(self, model_id: str, sha: str, gated: bool = False, granted: str | None = None) -> None:
        self.model_id, self.sha, self.gated, self.granted = model_id, sha, gated, granted
        self.requests: list[dict] = []
        super().__init__()


    def answer(self, handler, body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        auth = handler.headers.get("Authorization")
        self.requests.append({"method": handler.command, "path": handler.path, "authorization": auth})
        status, headers, data = 404, {"X-Error-Code": "EntryNotFound", "X-Error-Message": "not found"}, b"{}"
        if self.gated and auth != f"Bearer {self.granted}":
            status, headers = 403, {"X-Error-Code": "GatedRepo",
                                    "X-Error-Message": f"Access to model {self.model_id} is restricted."}
            data = json.dumps({"error": "restricted"}).encode()
        elif path == f"/api/models/{self.model_id}/tree/{self.sha}":
            status, headers = 200, {"Content-Type": "application/json"}
            data = json.dumps([{"type": "file", "path": name, "size": len(content),
                                "oid": hashlib.sha1(content).hexdigest()} for name, content in FILES.items()]).encode()
        elif path.startswith(f"/{self.model_id}/resolve/{self.sha}/"):
            name = path[len(f"/{self.model_id}/resolve/{self.sha}/"):]
            if name in FILES:
                status, data = 200, FILES[name]
                headers = {"X-Repo-Commit": self.sha, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                           "Content-Type": "application/octet-stream"}
        self.reply(handler, status, headers, data, body)


@pytest.fixture
def proj(tmp_path, monkeypatch):
    project, lock = cmdkit.project(tmp_path, monkeypatch)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return project, lock


@pytest.fixture
def hub(proj, monkeypatch):
    lock = proj[1]
    server = Hub(lock["model"]["id"], lock["model"]["sha"])
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.close()


def keys(aws, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_pinned_snapshot_to_s3(aws, proj, hub, monkeypatch):
    project, lock = proj
    model_id, sha = lock["model"]["id"], lock["model"]["sha"]
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="model-store")
    s3.put_object(Bucket="model-store", Key="qwen/stale-shard.bin", Body=b"old")
    s3.put_object(Bucket="model-store", Key="qwenother/keep.bin", Body=b"not under the prefix")
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)

    result = run(aws, "upload-model", "s3://model-store/qwen")
    assert result.code == 0, result.err
    assert result.out.strip() == "s3://model-store/qwen/"
    assert "python -m deploy deploy --model-data s3://model-store/qwen/" in result.err
    assert FAKE_TOKEN not in result.out + result.err
    # The pinned commit, original/* left out; the token only as the Authorization header.
    paths = [r["path"] for r in hub.requests]
    assert any(p.startswith(f"/api/models/{model_id}/tree/{sha}") for p in paths)
    assert not [p for p in paths if "original/" in p]
    assert {r["authorization"] for r in hub.requests} == {f"Bearer {FAKE_TOKEN}"}
    assert not [p for p in paths if FAKE_TOKEN in p]
    assert keys(aws, "model-store", "qwen/") == ["qwen/config.json", "qwen/hf-snapshot.json",
                                                 "qwen/model.safetensors", "qwen/tokenizer.json"]
    assert keys(aws, "model-store", "qwenother/") == ["qwenother/keep.bin"]
    marker = json.loads(s3.get_object(Bucket="model-store", Key="qwen/hf-snapshot.json")["Body"].read())
    assert marker == {"model": model_id, "sha": sha}
    assert s3.get_object(Bucket="model-store", Key="qwen/model.safetensors")["Body"].read() == FILES["model.safetensors"]
    assert not [c for c in aws.calls if FAKE_TOKEN in json.dumps(c["params"], default=str)]

    # Again, into a kept work dir: files of the same commit and size are not sent again.
    aws.calls.clear()
    work = project / "snapshot"
    result = run(aws, "upload-model", "s3://model-store/qwen/", "--work-dir", str(work))
    assert result.code == 0, result.err
    assert (work / "config.json").is_file() and (work / "hf-snapshot.json").is_file()
    uploaded = [p["Key"] for p in aws.requests("PutObject")]
    assert uploaded == ["qwen/hf-snapshot.json"]
    assert not aws.requests("DeleteObjects")


def test_gated_model_needs_a_token(aws, proj, hub, monkeypatch, tmp_path):
    project, lock = proj
    model_id, sha = lock["model"]["id"], lock["model"]["sha"]
    aws.client("s3").create_bucket(Bucket="model-store")
    hub.gated, hub.granted = True, FAKE_TOKEN + "x"
    # The lock holds the hub's value for a gated repository: "manual" or "auto".
    for gated in ("manual", "auto"):
        cmdkit.set_lock(project, lambda lk: lk["model"].update(gated=gated))
        result = run(aws, "upload-model", "s3://model-store/qwen/")
        assert result.code == 1
        assert result.one_error() == (f"error: {model_id} is gated: set HF_TOKEN in the environment (or run 'hf "
                                      "auth login') with a token that has access to it"), gated
    assert hub.requests == []
    # A token without access: the download fails, and says so without the token.
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    result = run(aws, "upload-model", "s3://model-store/qwen/")
    assert result.code == 1
    assert f"the download of {model_id} at {sha} failed" in result.one_error()
    assert FAKE_TOKEN not in result.out + result.err
    assert keys(aws, "model-store", "qwen/") == []
    # A login token file counts as a token; with access the download works.
    monkeypatch.delenv("HF_TOKEN")
    (tmp_path / "hf-home").mkdir(exist_ok=True)
    (tmp_path / "hf-home" / "token").write_text(FAKE_TOKEN + "x")
    result = run(aws, "upload-model", "s3://model-store/qwen/")
    assert result.code == 0, result.err
    assert FAKE_TOKEN not in result.out + result.err


def test_a_large_file_goes_up_in_parts(aws, proj, hub, monkeypatch):
    """boto3's managed upload splits files above 8 MB (CreateMultipartUpload ... Complete...)."""
    big = bytes(range(256)) * (9 * 1024 * 4)  # 9 MiB
    monkeypatch.setitem(FILES, "model-00002.safetensors", big)
    aws.client("s3").create_bucket(Bucket="model-store")
    result = run(aws, "upload-model", "s3://model-store/big/")
    assert result.code == 0, result.err
    assert aws.requests("CreateMultipartUpload")[0]["Key"] == "big/model-00002.safetensors"
    assert aws.requests("CompleteMultipartUpload") and len(aws.requests("UploadPart")) == 2
    body = aws.client("s3").get_object(Bucket="model-store", Key="big/model-00002.safetensors")["Body"].read()
    assert body == big


def test_bucket_missing_or_created(aws, proj, hub):
    result = run(aws, "upload-model", "s3://no-such-bucket/m/")
    assert result.code == 1 and "bucket no-such-bucket does not exist" in result.one_error()
    assert hub.requests == []
    result = run(aws, "upload-model", "s3://new-bucket/m/", "--create-bucket")
    assert result.code == 0, result.err
    assert aws.requests("CreateBucket") == [{"Bucket": "new-bucket"}]
    assert keys(aws, "new-bucket", "m/")


def test_other_region_bucket_gets_its_location(aws, proj, hub):
    project, _ = proj
    cmdkit.set_lock(project, lambda lk: lk["project"].update(aws_region="eu-west-1"))
    result = run(aws, "upload-model", "s3://eu-bucket/m/", "--create-bucket")
    assert result.code == 0, result.err
    assert aws.requests("CreateBucket") == [{"Bucket": "eu-bucket",
                                             "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}]


@pytest.mark.parametrize("argv, message", [
    ([], "where to? give an S3 location: python -m deploy upload-model s3://bucket/prefix/"),
    (["https://bucket-x/a/"], "'https://bucket-x/a/' is not an S3 location like s3://bucket/prefix/"),
    (["s3://Bucket_X/"], "is not an S3 location like s3://bucket/prefix/"),
    (["s3://bucket-x/a//b/"], "has an empty path segment (//)"),
])
def test_location_mistakes_before_aws(proj, argv, message):
    session = cmdkit.Session(credentials=False)
    result = run(session, "upload-model", *argv)
    assert result.code == 1 and message in result.one_error()
    assert session.calls == []


def test_refuses_token_on_command_line(proj):
    session = cmdkit.Session(credentials=False)
    for argv in (["s3://bucket-x/m/", "--token", FAKE_TOKEN], [f"--token={FAKE_TOKEN}"]):
        result = run(session, "upload-model", *argv)
        assert result.code == 1 and "never taken from the command line" in result.err
        assert FAKE_TOKEN not in result.err + result.out
    assert session.calls == []


def test_no_pinned_commit(proj):
    project, lock = proj
    cmdkit.set_lock(project, lambda lk: lk["model"].update(sha=None))
    result = run(cmdkit.Session(credentials=False), "upload-model", "s3://bucket-x/m/")
    assert result.code == 1 and "pins no commit" in result.one_error()


def test_help_needs_no_aws(proj):
    session = cmdkit.Session(credentials=False)
    result = run(session, "upload-model", "--help")
    assert result.code == 0 and "--create-bucket" in result.out and "--token" not in result.out
    assert session.calls == []
