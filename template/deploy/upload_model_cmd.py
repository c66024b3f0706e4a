"""`upload-model`: put the pinned model snapshot into S3, for `deploy --model-data`.

Downloads the commit model.lock.json pins (model.id at model.sha) with huggingface_hub's
snapshot_download into a temporary directory, and copies it uncompressed to
s3://bucket/prefix/ (the prefix then holds exactly that snapshot: objects of other files are
deleted), plus hf-snapshot.json naming the model and commit. `deploy --model-data
s3://bucket/prefix/` then serves it from /opt/ml/model: no download from the Hub when a
container starts. A gated model needs a Hugging Face token with access: huggingface_hub reads
it from HF_TOKEN or its own login ('hf auth login'); it is never an argument and never printed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from botocore.exceptions import ClientError

from .errors import DeployError, from_client_error, is_not_found, redact
from .secret_cmd import add_token_refusal
from .ui import info, log

MARKER = "hf-snapshot.json"
S3_PREFIX = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?P<path>/.*)?$")
EXCLUDE = ("original/*",)  # duplicate consolidated checkpoints some repositories ship (e.g. Llama's)
REFUSED = ("the token is never taken from the command line (it would show in the process list and shell "
           "history); set HF_TOKEN or run 'hf auth login'")


def s3_prefix_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix ending in '/' or ''), or a DeployError when `uri` is not an S3 location."""
    match = S3_PREFIX.match(uri or "")
    if not match:
        raise DeployError(f"'{uri}' is not an S3 location like s3://bucket/prefix/ (bucket names are lower case)")
    path = (match["path"] or "").strip("/")
    if "//" in path:
        raise DeployError(f"'{uri}' has an empty path segment (//)")
    return match["bucket"], f"{path}/" if path else ""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "upload-model", help="put the pinned model snapshot into S3 (for deploy --model-data)",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "))
    p.add_argument("location", nargs="?", metavar="s3://bucket/prefix/", help="where to put the snapshot")
    p.add_argument("--work-dir", help="download into DIR and keep it (default: a temporary directory, removed "
                                      "afterwards)")
    p.add_argument("--create-bucket", action="store_true", help="create the bucket in the project's region when "
                                                                "missing")
    add_token_refusal(p, REFUSED)
    p.set_defaults(handler=run)


def find_token() -> str | None:
    """The token huggingface_hub would use: HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), else its login's
    token file (HF_TOKEN_PATH, or HF_HOME/token, default ~/.cache/huggingface/token). Read here,
    at run time, and handed to huggingface_hub in-process (never a command line)."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token.strip()
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    path = Path(os.environ.get("HF_TOKEN_PATH") or os.path.join(home, "token"))
    try:
        return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None
    except OSError:
        return None


def ensure_bucket(aws, bucket: str, create: bool) -> None:
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if not is_not_found(exc):
            raise from_client_error(exc, f"use bucket {bucket}", region=aws.region) from None
    if not create:
        raise DeployError(f"bucket {bucket} does not exist; create it in {aws.region} (S3 console), or pass "
                          "--create-bucket")
    info(f"creating bucket {bucket} in {aws.region}")
    params: dict = {"Bucket": bucket}
    if aws.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    aws.call("s3", "create_bucket", f"create bucket {bucket}", **params)


def download(model_id: str, sha: str, directory: Path, token: str | None) -> None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise DeployError("upload-model downloads with huggingface_hub, which is not installed: "
                          "pip install -r deploy/requirements.txt (or pip install huggingface_hub)") from None
    info(f"downloading {model_id} at {sha} into {directory}")
    try:
        # HF_ENDPOINT as it is now (huggingface_hub reads its environment once, at import).
        snapshot_download(repo_id=model_id, revision=sha, local_dir=str(directory), ignore_patterns=list(EXCLUDE),
                          token=token or None, endpoint=os.environ.get("HF_ENDPOINT") or None)
    except Exception as exc:  # noqa: BLE001 - any failure of the download is this one message
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if token:
            reason = reason.replace(token, "***")
        raise DeployError(f"the download of {model_id} at {sha} failed (a gated model needs HF_TOKEN with access "
                          f"to it): {reason[:300]}") from None


def local_files(directory: Path) -> dict[str, Path]:
    """relative name -> path of every file to upload (huggingface_hub's .cache/ left out)."""
    found = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_file() and not rel.startswith(".cache/"):
            found[rel] = path
    return found


def sync(aws, directory: Path, bucket: str, prefix: str, sha: str) -> None:
    """Makes s3://bucket/prefix hold exactly the files of `directory`: uploads what is new or
    changed (a file of the same size under a marker for the same commit is kept), deletes the rest."""
    s3 = aws.client("s3")
    existing: dict[str, int] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents") or []:
                existing[obj["Key"]] = obj["Size"]
        same_commit = False
        if prefix + MARKER in existing:
            marker = s3.get_object(Bucket=bucket, Key=prefix + MARKER)["Body"].read()
            try:
                same_commit = json.loads(marker).get("sha") == sha
            except (ValueError, AttributeError):
                same_commit = False
        files = local_files(directory)
        for rel, path in files.items():
            key = prefix + rel
            if rel != MARKER and same_commit and existing.get(key) == path.stat().st_size:
                continue
            s3.upload_file(str(path), bucket, key)
        stale = [key for key in existing if key[len(prefix):] not in files]
        for start in range(0, len(stale), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start:start + 1000]],
                                                     "Quiet": True})
        for key in stale:
            log(f"   deleted s3://{bucket}/{key}")
    except ClientError as exc:
        raise from_client_error(exc, f"copy the snapshot to s3://{bucket}/{prefix}", region=aws.region) from None


def run(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    if not args.location:
        raise DeployError("where to? give an S3 location: python -m deploy upload-model s3://bucket/prefix/")
    bucket, prefix = s3_prefix_uri(args.location)
    uri = f"s3://{bucket}/{prefix}"
    model_id, sha = lock.model_id, lock.model_sha
    if not sha:
        raise DeployError(f"model.lock.json pins no commit of {model_id} (generated offline?); refresh the pin (see "
                          "the README) so the upload is the revision the project was sized for")
    token = find_token()
    if lock.gated and not token:
        raise DeployError(f"{model_id} is gated: set HF_TOKEN in the environment (or run 'hf auth login') with a "
                          "token that has access to it")
    aws = ctx.aws
    aws.identity()
    ensure_bucket(aws, bucket, args.create_bucket)

    keep = bool(args.work_dir)
    directory = Path(args.work_dir).resolve() if keep else Path(tempfile.mkdtemp(prefix="upload-model."))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        weight_gib = lock.get("deployment.weight_memory_gib")
        if isinstance(weight_gib, (int, float)) and not isinstance(weight_gib, bool):
            free = shutil.disk_usage(directory).free
            if free < weight_gib * 1.1 * 1024 ** 3:
                raise DeployError(f"{directory} has {free // 1024 ** 3} GiB free; the weights alone are about "
                                  f"{weight_gib} GiB. Use --work-dir on a larger disk.")
        download(model_id, sha, directory, token)
        if not (directory / "config.json").is_file():
            raise DeployError(f"the download has no config.json; {model_id} at {sha} is not a model the servers "
                              "can load")
        (directory / MARKER).write_text(json.dumps({"model": model_id, "sha": sha}) + "\n", encoding="utf-8")
        info(f"copying it to {uri}")
        sync(aws, directory, bucket, prefix, sha)
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
    info(f"done; deploy it with: python -m deploy deploy --model-data {uri}")
    print(uri, flush=True)
    return 0
