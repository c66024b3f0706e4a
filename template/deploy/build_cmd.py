"""`build` and `push`: the serving image, built with Docker and pushed to Amazon ECR.

Docker is run as the `docker` CLI (a prerequisite); the AWS side (the ECR repository, the
registry login) is boto3: ECR's GetAuthorizationToken gives the password, which reaches
`docker login` on its standard input, never its command line.

Tags: <version>-<git short sha>[-dirty] (deploy/naming.py image_tag: the version from
`git describe --tags`, else the VERSION file, else 0.0.0; IMAGE_TAG or --tag override it).
`push` also tags, from a clean git checkout, <git short sha>, and <version> when HEAD carries
that git tag.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys

from botocore.exceptions import ClientError

from .aws import Aws
from .errors import DeployError, from_client_error, is_not_found
from .naming import image_tag, release_tags
from .ui import info

DOCKER_HELP = "https://docs.docker.com/get-docker/"
# An image in an AWS-owned ECR registry (the LMI base image) needs a login to be pulled.
ECR_IMAGE = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                       r"(?P<repo>[^:@]+)")
TOKEN_ARG = re.compile(r"HF_TOKEN|HUGGING_FACE_HUB_TOKEN|=hf_[A-Za-z0-9]|^hf_[A-Za-z0-9]")


def need_docker() -> str:
    docker = shutil.which("docker")
    if not docker:
        raise DeployError(f"'docker' is not installed or not on PATH ({DOCKER_HELP})")
    return docker


def docker(*args: str, stdin: bytes | None = None, quiet: bool = False, silent: bool = False) -> int:
    """Runs `docker ARGS`; its output goes to stderr (stdout is for results): none of it with
    `silent`, only its errors with `quiet`. Returns its status."""
    try:
        # fd 2, not sys.stderr: Docker's progress goes straight to the terminal (or the caller's stderr).
        sys.stderr.flush()
        out = subprocess.DEVNULL if quiet or silent else 2
        done = subprocess.run(["docker", *args], input=stdin, stdout=out,
                              stderr=subprocess.DEVNULL if silent else 2, check=False)
    except OSError as exc:
        raise DeployError(f"cannot run docker: {exc.strerror} ({DOCKER_HELP})") from None
    return done.returncode


def image_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, silent=True) == 0


def docker_login(aws: Aws, registry: str) -> None:
    """`docker login` to `registry` with a password from ECR GetAuthorizationToken in aws's region
    (one token serves every registry of that region the caller may read), given on stdin."""
    try:
        data = aws.client("ecr").get_authorization_token()["authorizationData"][0]
    except ClientError as exc:
        raise from_client_error(exc, f"get an ECR login for {registry}", region=aws.region) from None
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    status = docker("login", "--username", user or "AWS", "--password-stdin", registry,
                    stdin=password.encode(), quiet=True)
    if status != 0:
        raise DeployError(f"docker login to {registry} failed")


def ensure_repository(aws: Aws, repo: str, project: str) -> None:
    """The ECR repository `repo`, created when it is missing (scan on push, AES256)."""
    ecr = aws.client("ecr")
    try:
        ecr.describe_repositories(repositoryNames=[repo])
        info(f"ECR repository {repo} exists")
        return
    except ClientError as exc:
        if not is_not_found(exc):
            raise from_client_error(exc, f"look up ECR repository {repo}", region=aws.region) from None
    info(f"creating ECR repository {repo}")
    aws.call("ecr", "create_repository", f"create ECR repository {repo}", repositoryName=repo,
             imageScanningConfiguration={"scanOnPush": True},
             encryptionConfiguration={"encryptionType": "AES256"},
             tags=[{"Key": "project", "Value": project}])


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build", help="build the serving image with Docker",
        description="Builds the image from the project's Dockerfile and tags it <project>:<tag> and "
                    "<project>:latest. The tag is <version>-<git short sha> (version from 'git describe "
                    "--tags', else the VERSION file, else 0.0.0); IMAGE_TAG or --tag overrides it. Prints the "
                    "image reference on stdout. Arguments after -- go to docker build (never a token: build "
                    "arguments stay readable in 'docker history').")
    p.add_argument("--tag", help="use TAG instead of the computed tag")
    p.add_argument("--platform", default="linux/amd64",
                   help="target platform (default linux/amd64, what SageMaker runs)")
    p.add_argument("--no-cache", action="store_true", help="build without the Docker layer cache")
    p.add_argument("--no-login", action="store_true",
                   help="do not log in to the base image's ECR registry (lmi)")
    p.add_argument("docker_args", nargs="*", metavar="-- DOCKER_ARGS", help="extra docker build arguments")
    p.set_defaults(handler=run_build)

    p = subparsers.add_parser(
        "push", help="push the built image to Amazon ECR",
        description="Creates the ECR repository <project> when it is missing (scan on push, AES256 "
                    "encryption), logs Docker in to the registry (ECR GetAuthorizationToken), tags the image "
                    "built by `build` and pushes it. Safe to run again. Prints the pushed image URI (the one "
                    "`deploy` deploys) on stdout. Tags: <version>-<git short sha>; from a clean git checkout "
                    "also <git short sha>, and <version> when HEAD carries that git tag. ECR_REGISTRY pushes to "
                    "another registry host (tests).")
    p.add_argument("--tag", help="push <project>:TAG (default: the tag build computes)")
    p.add_argument("--no-login", action="store_true", help="skip 'docker login' (for a registry that needs none)")
    p.set_defaults(handler=run_push)


def check_build_args(extra: list[str]) -> None:
    for arg in extra:
        if TOKEN_ARG.search(arg):
            raise DeployError("a Hugging Face token must not be a build argument (it would be readable in 'docker "
                              "history'); the container reads it at run time (.env locally, python -m deploy "
                              "secret on SageMaker)")


def run_build(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    extra = [a for a in args.docker_args if a != "--"]
    check_build_args(extra)
    need_docker()
    base = lock.require("server.image")
    project_dir = ctx.project_dir
    tag = args.tag or image_tag(project_dir)
    repo = lock.repo_name()

    match = ECR_IMAGE.match(str(base))
    if not args.no_login and match and not image_exists(base):
        registry = str(base).split("/", 1)[0]
        info(f"logging in to {registry} to pull the base image")
        docker_login(Aws(match["region"], session=ctx.aws.session), registry)

    info(f"building {repo}:{tag} from {project_dir} (base {base}, platform {args.platform})")
    command = ["build", "--platform", args.platform,
               "--label", f"org.opencontainers.image.version={tag}",
               "--label", f"org.opencontainers.image.title={lock.project_name}",
               "-t", f"{repo}:{tag}", "-t", f"{repo}:latest"]
    if args.no_cache:
        command.append("--no-cache")
    if docker(*command, *extra, str(project_dir)) != 0:
        raise DeployError("docker build failed")
    info(f"built {repo}:{tag}")
    print(f"{repo}:{tag}", flush=True)
    return 0


def run_push(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    need_docker()
    aws = ctx.aws
    aws.identity()
    project_dir = ctx.project_dir
    tag = args.tag or image_tag(project_dir)
    repo = lock.repo_name()
    local = f"{repo}:{tag}"
    if not image_exists(local):
        raise DeployError(f"image {local} not found locally; run python -m deploy build first")
    ensure_repository(aws, repo, lock.project_name)
    registry = aws.ecr_registry()
    if not args.no_login:
        info(f"logging Docker in to {registry}")
        docker_login(aws, registry)
    tags = [tag]
    if not args.tag and not os.environ.get("IMAGE_TAG"):
        tags += [t for t in release_tags(project_dir) if t and t not in tags]
    for t in tags:
        remote = f"{registry}/{repo}:{t}"
        if docker("tag", local, remote) != 0:
            raise DeployError(f"docker tag {local} failed")
        info(f"pushing {remote}")
        if docker("push", remote) != 0:
            raise DeployError(f"docker push {remote} failed")
    also = f" (also tagged {' '.join(tags[1:])})" if len(tags) > 1 else ""
    info(f"pushed {registry}/{repo}:{tag}{also}")
    print(f"{registry}/{repo}:{tag}", flush=True)
    return 0
