"""`codebuild`: build and push the image in AWS CodeBuild instead of on this machine.

Uploads the project (without .env, .git or other local state) to an S3 bucket, creates or
updates the CodeBuild project <repo>-image with a service role limited by
deploy/iam/codebuild-policy.json, starts a build of deploy/buildspec.yml (which runs
`python -m deploy build` and `python -m deploy push`, as a local build does) and waits for it.
On success prints the image URI; then run `python -m deploy deploy` as usual. For projects
generated with deployTarget=codebuild (they have deploy/buildspec.yml and deploy/iam/).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import time
import zipfile
from pathlib import Path

from botocore.exceptions import ClientError

from .build_cmd import ECR_IMAGE, ensure_repository
from .errors import DeployError, code, from_client_error, is_not_found
from .naming import codebuild_names, image_tag
from .ui import info, log

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
SKIP_DIRS = {".git", ".deploy", ".venv", "__pycache__"}


def _excluded(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    return (parts[0] in {".git", ".deploy", ".venv"} or "__pycache__" in parts
            or name == ".env" or name.endswith(".env.local") or name.endswith(".pyc"))


def source_bundle(root: Path) -> bytes:
    """The project as a zip: the files git knows or would add (git ls-files), else every file;
    never .env, .git or other local state."""
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True).stdout.decode().split("\0")
        files = [f for f in listed if f and (root / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                files.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(set(files)):
            if not _excluded(rel):
                zf.write(root / rel, rel)
    return out.getvalue()


def role_policy(path: Path, values: dict) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise DeployError(f"{path} not found: this project was generated for local builds (deployTarget="
                          "sagemaker); build with python -m deploy build and push, or regenerate with "
                          "deployTarget=codebuild") from None
    for key, value in values.items():
        text = text.replace(key, value)
    doc = json.loads(text)
    # No ECR base image (e.g. a Docker Hub one): drop the statement that would name it.
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Resource")]
    return json.dumps(doc)


def register(subparsers) -> None:
    p = subparsers.add_parser("codebuild", help="build and push the image in AWS CodeBuild",
                              description=__doc__.split("\n\n", 1)[1].replace("\n", " "))
    p.add_argument("--tag", help="image tag (default: the tag build computes)")
    p.add_argument("--no-wait", action="store_true", help="return once the build has started (prints its id)")
    p.set_defaults(handler=run)


def ensure_bucket(aws, bucket: str) -> None:
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        info(f"source bucket {bucket} exists")
        return
    except ClientError as exc:
        if not is_not_found(exc):
            raise from_client_error(exc, f"use bucket {bucket}", region=aws.region) from None
    info(f"creating source bucket {bucket}")
    params: dict = {"Bucket": bucket}
    if aws.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": aws.region}
    aws.call("s3", "create_bucket", f"create bucket {bucket}", **params)
    aws.call("s3", "put_public_access_block", f"block public access on bucket {bucket}", Bucket=bucket,
             PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                             "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def ensure_role(aws, role: str, cb_project: str, project_name: str, policy: str) -> tuple[str, bool]:
    """(role ARN, created now)."""
    iam = aws.client("iam")
    created = False
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
        info(f"using CodeBuild service role {role}")
    except ClientError as exc:
        if not is_not_found(exc):
            raise from_client_error(exc, f"look up IAM role {role}") from None
        info(f"creating CodeBuild service role {role}")
        arn = aws.call("iam", "create_role", f"create IAM role {role}", RoleName=role,
                       AssumeRolePolicyDocument=json.dumps(TRUST),
                       Description=f"CodeBuild role for {cb_project} (created by python -m deploy codebuild)",
                       Tags=[{"Key": "project", "Value": project_name}])["Role"]["Arn"]
        created = True
    aws.call("iam", "put_role_policy", f"attach the policy to role {role}", RoleName=role,
             PolicyName="codebuild-image-build", PolicyDocument=policy)
    return arn, created


def run(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    aws = ctx.aws
    aws.identity()
    base = str(lock.require("server.image"))
    tag = args.tag or image_tag(ctx.project_dir)
    repo = lock.repo_name()
    names = codebuild_names(repo, aws.account_id, aws.region)
    cb_project, bucket, role = names["project"], names["bucket"], names["role"]
    source_key = f"{cb_project}/source.zip"
    match = ECR_IMAGE.match(base)
    base_arn = (f"arn:{aws.partition}:ecr:{match['region']}:{match['account']}:repository/{match['repo']}"
                if match else "")
    policy = role_policy(Path(__file__).resolve().parent / "iam" / "codebuild-policy.json", {
        "__PARTITION__": aws.partition, "__REGION__": aws.region, "__ACCOUNT__": aws.account_id,
        "__CODEBUILD_PROJECT__": cb_project, "__BUCKET__": bucket, "__SOURCE_PREFIX__": cb_project,
        "__REPOSITORY__": repo, "__BASE_REPOSITORY_ARN__": base_arn})

    ensure_repository(aws, repo, lock.project_name)
    ensure_bucket(aws, bucket)
    info(f"uploading the project to s3://{bucket}/{source_key}")
    aws.call("s3", "put_object", "upload the source bundle", Bucket=bucket, Key=source_key,
             Body=source_bundle(ctx.project_dir))
    role_arn, created = ensure_role(aws, role, cb_project, lock.project_name, policy)

    spec = {
        "name": cb_project,
        "description": f"Builds the SageMaker serving image {repo}",
        "source": {"type": "S3", "location": f"{bucket}/{source_key}", "buildspec": "deploy/buildspec.yml"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {"type": "LINUX_CONTAINER",
                        "image": os.environ.get("CODEBUILD_IMAGE", "aws/codebuild/standard:7.0"),
                        "computeType": os.environ.get("CODEBUILD_COMPUTE_TYPE", "BUILD_GENERAL1_LARGE"),
                        "privilegedMode": True, "imagePullCredentialsType": "CODEBUILD"},
        "serviceRole": role_arn,
        "timeoutInMinutes": 90,
        "logsConfig": {"cloudWatchLogs": {"status": "ENABLED"}},
        "tags": [{"key": "project", "value": lock.project_name}],
    }
    cb = aws.client("codebuild")
    existing = aws.call("codebuild", "batch_get_projects", "look up the CodeBuild project",
                        names=[cb_project]).get("projects") or []
    if existing:
        info(f"updating CodeBuild project {cb_project}")
        aws.call("codebuild", "update_project", f"update CodeBuild project {cb_project}", **spec)
    else:
        info(f"creating CodeBuild project {cb_project}")
        attempt = 0
        while True:
            try:
                cb.create_project(**spec)
                break
            except ClientError as exc:
                # A service role created a moment ago can take a few seconds to become usable.
                attempt += 1
                if created and code(exc) == "InvalidInputException" and attempt < 12:
                    ctx.sleep(5)
                    continue
                raise from_client_error(exc, f"create CodeBuild project {cb_project}") from None

    build_id = aws.call("codebuild", "start_build", "start the build", projectName=cb_project,
                        environmentVariablesOverride=[{"name": "IMAGE_TAG", "value": tag, "type": "PLAINTEXT"}]
                        )["build"]["id"]
    image_uri = f"{aws.ecr_registry()}/{repo}:{tag}"
    info(f"build {build_id} started for {image_uri}")
    if args.no_wait:
        print(build_id, flush=True)
        return 0
    poll = int(os.environ.get("CODEBUILD_POLL_SECONDS") or 15)
    start = time.monotonic()
    while True:
        build = (aws.call("codebuild", "batch_get_builds", "read the build", ids=[build_id]).get("builds") or [{}])[0]
        status, phase = build.get("buildStatus", ""), build.get("currentPhase", "")
        log(f"   [{int(time.monotonic() - start):4d}s] {status} {phase}")
        if status == "SUCCEEDED":
            info(f"pushed {image_uri}; deploy it with python -m deploy deploy --image-uri {image_uri}")
            print(image_uri, flush=True)
            return 0
        if status != "IN_PROGRESS":
            group, stream = (build.get("logs") or {}).get("groupName"), (build.get("logs") or {}).get("streamName")
            if group and stream:
                log(f"---- last lines of the build log ({group}/{stream}) ----")
                try:
                    events = aws.client("logs").get_log_events(logGroupName=group, logStreamName=stream, limit=40,
                                                               startFromHead=False).get("events") or []
                    for event in events:
                        log(str(event.get("message", "")).rstrip("\n"))
                except ClientError as exc:
                    log(f"(cannot read the build log: {code(exc)})")
            raise DeployError(f"CodeBuild build {build_id} ended {status}")
        ctx.sleep(poll)
