"""``python -m deploy register`` / ``approve`` / ``reject`` / ``versions``: release control with the
SageMaker Model Registry.

register: a model package group named after the project (created once) and a new model package
version in it: the pushed image (as deploy finds it: --image-uri, else the project's ECR image with
the build command's tag), the weights in S3 with --model-data (a JumpStart project: JumpStart's
artifacts), the non-secret container environment (never the token: a gated model's container
gets the ARN of its token secret), application/json in and out, the lock's instance type, ModelApprovalStatus PendingManualApproval, and the model id,
pinned commit, server, server version and template version as metadata.
approve VERSION / reject VERSION --description TEXT: set a version's approval status; VERSION is
the version number (see versions) or the model package ARN.
versions: the group's versions with their approval status.

`python -m deploy deploy --model-package latest-approved` (or an ARN) deploys an approved version.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from botocore.exceptions import ClientError

from .errors import DeployError, die, from_client_error
from .naming import model_package_group
from .ui import info, log

CONTENT_TYPES = ["application/json"]
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/.+")


def _describe(text: str) -> str:
    """The module docstring without its first paragraph (the title)."""
    return text.split("\n\n", 1)[1]


def register(subparsers) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser("register", help="register the pushed image as a new model package version "
                                               "(Model Registry), pending approval",
                              description=_describe(__doc__), formatter_class=fmt)
    p.add_argument("--image-uri", metavar="URI", help="image to register (default: the project's ECR image with the "
                                                      "tag the build command computes; it must be in ECR)")
    p.add_argument("--tag", metavar="TAG", help="image tag in the project's ECR repository")
    p.add_argument("--model-data", metavar="S3URI", help="the weights in s3://bucket/prefix/ (put there by "
                                                         "upload-model), copied to /opt/ml/model at start")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra non-secret container setting (repeatable)")
    p.add_argument("--description", metavar="TEXT", help="the version's description (default: model, commit, "
                                                         "server and image tag)")
    p.set_defaults(handler=run_register)

    p = subparsers.add_parser("approve", help="approve a model package version for deployment",
                              description="Set a model package version's status to Approved; `python -m deploy "
                                          "deploy --model-package latest-approved` deploys the newest approved one.")
    p.add_argument("version", metavar="VERSION", help="version number (see `python -m deploy versions`) or ARN")
    p.add_argument("--description", metavar="TEXT", help="why (kept as the version's approval description)")
    p.set_defaults(handler=run_approve)

    p = subparsers.add_parser("reject", help="reject a model package version",
                              description="Set a model package version's status to Rejected, with the reason.")
    p.add_argument("version", metavar="VERSION", help="version number (see `python -m deploy versions`) or ARN")
    p.add_argument("--description", metavar="TEXT", required=True, help="why it is rejected")
    p.set_defaults(handler=run_reject)

    p = subparsers.add_parser("versions", help="the model package versions and their approval status",
                              description="List the project's model package group's versions: number, approval "
                                          "status, creation time, description.")
    p.set_defaults(handler=run_versions)


# -- lookups ----------------------------------------------------------------------------------------
def group_name(lock) -> str:
    return model_package_group(lock.project_name)


def group_exists(aws, group: str) -> bool:
    """Existence by ListModelPackageGroups (an exact name among the NameContains answers)."""
    sm, token = aws.client("sagemaker"), None
    while True:
        try:
            page = sm.list_model_package_groups(NameContains=group, **({"NextToken": token} if token else {}))
        except ClientError as exc:
            raise from_client_error(exc, "list model package groups", region=aws.region) from None
        if any(g.get("ModelPackageGroupName") == group for g in page.get("ModelPackageGroupSummaryList") or []):
            return True
        token = page.get("NextToken")
        if not token:
            return False


def list_versions(aws, group: str, status: str | None = None, newest_first: bool = False) -> list[dict]:
    """ListModelPackages of ``group`` (every page), oldest first unless ``newest_first``."""
    sm, token, out = aws.client("sagemaker"), None, []
    while True:
        params = {"ModelPackageGroupName": group, "SortBy": "CreationTime",
                  "SortOrder": "Descending" if newest_first else "Ascending", "MaxResults": 100}
        if status:
            params["ModelApprovalStatus"] = status
        if token:
            params["NextToken"] = token
        try:
            page = sm.list_model_packages(**params)
        except ClientError as exc:
            raise from_client_error(exc, f"list the versions of model package group {group}", region=aws.region) \
                from None
        out += page.get("ModelPackageSummaryList") or []
        token = page.get("NextToken")
        if not token:
            return out


def find_version(aws, lock, version: str) -> dict:
    """DescribeModelPackage of VERSION (a number in the project's group, or a model package ARN)."""
    group = group_name(lock)
    if PACKAGE_ARN.match(version):
        arn = version
    elif version.isdigit():
        if not group_exists(aws, group):
            die(f"there is no model package group {group} in {aws.region} yet; `python -m deploy register` makes it")
        found = [v for v in list_versions(aws, group) if str(v.get("ModelPackageVersion")) == str(int(version))]
        if not found:
            have = ", ".join(str(v.get("ModelPackageVersion")) for v in list_versions(aws, group)) or "none"
            die(f"model package group {group} has no version {version} (it has: {have}; see `python -m deploy "
                "versions`)")
        arn = found[0]["ModelPackageArn"]
    else:
        die(f"'{version}' is neither a version number nor a model package ARN (arn:aws:sagemaker:...:model-package/...)")
    return aws.call("sagemaker", "describe_model_package", f"describe model package {arn}", ModelPackageName=arn)


def approved_package(aws, lock, wanted: str) -> dict:
    """The model package ``deploy --model-package`` deploys: ``latest-approved`` (the newest Approved version
    of the project's group) or an ARN / version number, which must be Approved."""
    group = group_name(lock)
    if wanted == "latest-approved":
        if not group_exists(aws, group):
            die(f"there is no model package group {group} in {aws.region}: register a version with `python -m deploy "
                "register`, approve it with `python -m deploy approve N`, then deploy")
        newest = list_versions(aws, group, status="Approved", newest_first=True)
        if not newest:
            pending = [str(v.get("ModelPackageVersion")) for v in list_versions(aws, group)
                       if v.get("ModelApprovalStatus") == "PendingManualApproval"]
            hint = (f" (pending approval: {', '.join(pending)}; approve one with `python -m deploy approve "
                    f"{pending[-1]}`)" if pending else " (approve one with `python -m deploy approve N`; "
                    "`python -m deploy versions` lists them)")
            die(f"model package group {group} has no Approved version{hint}")
        package = aws.call("sagemaker", "describe_model_package", "describe the newest approved model package",
                           ModelPackageName=newest[0]["ModelPackageArn"])
    else:
        package = find_version(aws, lock, wanted)
    status = package.get("ModelApprovalStatus") or "unset"
    if status != "Approved":
        number = package.get("ModelPackageVersion")
        approve = f"python -m deploy approve {number if number else package.get('ModelPackageArn')}"
        die(f"model package {package.get('ModelPackageArn')} is {status}, not Approved, so it is not deployed. "
            f"Approve it first (`{approve}`), or deploy --model-package latest-approved")
    return package


def package_container(package: dict) -> dict:
    return ((package.get("InferenceSpecification") or {}).get("Containers") or [{}])[0]


def template_version(project_dir: Path) -> str:
    """The template commit copier recorded in .copier-answers.yml (``_commit``), else 'unknown'."""
    answers = project_dir / ".copier-answers.yml"
    try:
        for line in answers.read_text(encoding="utf-8").splitlines():
            if line.startswith("_commit:"):
                return line.split(":", 1)[1].strip().strip("'\"") or "unknown"
    except OSError:
        pass
    return "unknown"


def _meta(value) -> str:
    """A CustomerMetadataProperties value: 1-256 characters of letters, digits, spaces and _.:/=+-@."""
    text = re.sub(r"[^\w .:/=+\-@]", "-", str(value if value not in (None, "") else "unknown"))
    return text[:256]


# -- commands -------------------------------------------------------------------------------------------
def run_register(ctx) -> int:
    from .deploy_cmd import SECRET_KEYS, Deploy, s3_prefix

    args, lock = ctx.args, ctx.lock
    env: dict[str, str] = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            die(f"--env wants KEY=VALUE, got '{item}'")
        if SECRET_KEYS.search(key) or value.startswith("hf_"):
            die(f"--env {key}: secrets must not go into a model package (anyone who may describe it reads its "
                "environment); store the token with `python -m deploy secret`")
        env[key] = value
    model_data = s3_prefix(args.model_data) if args.model_data else None
    aws = ctx.aws
    aws.identity()
    # The image and the weights are found and checked as deploy does.
    finder = Deploy(ctx)
    finder.aws, finder.lock, finder.region, finder.repo = aws, lock, lock.region, lock.repo_name()
    # modelSource=jumpstart (model.lock.json "weights", as deploy reads it): JumpStart's prepacked artifacts are
    # the model data unless --model-data is given; AcceptEula only when the project accepted the EULA.
    weights = lock.get("weights") or {}
    finder.jumpstart = finder.accept_eula = False
    if weights.get("source") == "jumpstart" and weights.get("s3_uri") and not model_data:
        js = weights.get("jumpstart") or {}
        if js.get("eula_required") and not js.get("eula_accepted"):
            die(f"JumpStart model {js.get('model_id')} needs its EULA accepted ({js.get('eula_key')}); regenerate "
                "with `copier update --trust --defaults -d acceptEula=true` if you accept it")
        model_data = s3_prefix(weights["s3_uri"])
        finder.jumpstart, finder.accept_eula = True, bool(js.get("eula_accepted"))
    finder.model_data, finder.async_uri = model_data, None
    finder.check_s3()
    image = finder.find_image()
    secret_arn = finder.find_secret()
    container: dict = {"Image": image}
    environment = ({"HF_TOKEN_SECRET_ID": secret_arn} if secret_arn else {}) | env
    if environment:
        container["Environment"] = environment
    if model_data:
        container["ModelDataSource"] = {"S3DataSource": {"S3Uri": model_data, "S3DataType": "S3Prefix",
                                                         "CompressionType": "None"}}
        if finder.accept_eula:
            container["ModelDataSource"]["S3DataSource"]["ModelAccessConfig"] = {"AcceptEula": True}
    group = group_name(lock)
    tags = [{"Key": "project", "Value": lock.project_name}]
    if not group_exists(aws, group):
        info(f"creating model package group {group}")
        aws.call("sagemaker", "create_model_package_group", f"create model package group {group}",
                 ModelPackageGroupName=group, Tags=tags,
                 ModelPackageGroupDescription=f"{lock.model_id} served by {lock.server_name or 'the server'} "
                                              "(python -m deploy register)"[:1024])
    sha = lock.model_sha or "unknown"
    server_version = lock.get("server.version") or "unknown"
    description = args.description or (f"{lock.model_id}@{sha[:12]}, {lock.server_name} {server_version}, image "
                                        f"{image.rsplit('/', 1)[-1]}")
    metadata = {"model-id": _meta(lock.model_id), "model-sha": _meta(sha), "server": _meta(lock.server_name),
                "server-version": _meta(server_version), "template-version": _meta(template_version(ctx.project_dir)),
                "image": _meta(image)}
    if model_data:
        metadata["model-data"] = _meta(model_data)
    info(f"registering a new version in model package group {group} (PendingManualApproval)")
    arn = aws.call("sagemaker", "create_model_package", f"create a model package in group {group}",
                   ModelPackageGroupName=group, ModelPackageDescription=description[:1024],
                   InferenceSpecification={"Containers": [container], "SupportedContentTypes": CONTENT_TYPES,
                                           "SupportedResponseMIMETypes": CONTENT_TYPES,
                                           "SupportedRealtimeInferenceInstanceTypes": [lock.instance_type]},
                   # No Tags: a version in a group takes the group's (botocore's CreateModelPackage docs).
                   ModelApprovalStatus="PendingManualApproval", CustomerMetadataProperties=metadata)["ModelPackageArn"]
    number = arn.rsplit("/", 1)[-1]
    info(f"registered {arn}; approve it with `python -m deploy approve {number}`, then deploy it with "
         "`python -m deploy deploy --model-package latest-approved`")
    print(arn)
    return 0


def _set_status(ctx, status: str, description: str | None) -> int:
    aws = ctx.aws
    aws.identity()
    package = find_version(aws, ctx.lock, ctx.args.version)
    arn = package["ModelPackageArn"]
    params = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
    if description:
        params["ApprovalDescription"] = description[:1024]
    aws.call("sagemaker", "update_model_package", f"set model package {arn} to {status}", **params)
    was = package.get("ModelApprovalStatus") or "unset"
    info(f"model package {arn}: {was} -> {status}")
    if status == "Approved":
        log("deploy it with `python -m deploy deploy --model-package latest-approved` (or --model-package " + arn + ")")
    print(arn)
    return 0


def run_approve(ctx) -> int:
    return _set_status(ctx, "Approved", ctx.args.description)


def run_reject(ctx) -> int:
    if not ctx.args.description.strip():
        die("reject wants a --description that says why")
    return _set_status(ctx, "Rejected", ctx.args.description)


def serving_arns(aws, endpoint: str) -> set[str]:
    """The model package ARNs the endpoint's models (or components' models) were made from."""
    from . import endpoints

    try:
        facts = endpoints.endpoint_facts(aws, endpoint)
        if facts is None:
            return set()
        models = list(facts.models)
        if facts.mode == "ic":
            models += [((endpoints.describe(aws, "inference-component", ic) or {}).get("Specification") or {})
                       .get("ModelName") for ic in endpoints.endpoint_ics(aws, endpoint)]
        found = set()
        for name in filter(None, models):
            for container in (endpoints.describe(aws, "model", name) or {}).get("Containers") or []:
                if container.get("ModelPackageName"):
                    found.add(container["ModelPackageName"])
        return found
    except DeployError:  # no permission to read the endpoint: the list without the marker
        return set()


def run_versions(ctx) -> int:
    aws, lock = ctx.aws, ctx.lock
    aws.identity()
    group = group_name(lock)
    if not group_exists(aws, group):
        log(f"no model package group {group} in {aws.region} yet (`python -m deploy register` makes it)")
        return 0
    serving = serving_arns(aws, lock.endpoint_name())
    rows = [("VERSION", "STATUS", "CREATED", "DESCRIPTION")]
    for v in list_versions(aws, group):
        created = v.get("CreationTime")
        status = str(v.get("ModelApprovalStatus") or "unset") + (" (serving)" if v.get("ModelPackageArn") in serving
                                                                  else "")
        rows.append((str(v.get("ModelPackageVersion") or "?"), status,
                     created.strftime("%Y-%m-%d %H:%M:%S") if hasattr(created, "strftime") else str(created or ""),
                     str(v.get("ModelPackageDescription") or "")))
    if len(rows) == 1:
        log(f"model package group {group} has no versions yet (`python -m deploy register`)")
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return 0


def serving_package(aws, arn: str | None) -> tuple[str | None, dict]:
    """For status: ("<arn> (version N, <status>)", the package's container) of the model package a model
    was made from, (None, {}) for a model that names none."""
    if not arn:
        return None, {}
    try:
        package = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    except ClientError as exc:
        return f"{arn} (cannot describe it: AWS {exc.response.get('Error', {}).get('Code')})", {}
    return (f"{arn} (version {package.get('ModelPackageVersion', '?')}, {package.get('ModelApprovalStatus') or 'unset'})",
            package_container(package))


def remove_registry(group: str, versions: list[dict], attempt) -> None:
    """cleanup --delete-registry: every version of ``group``, then the group. ``attempt(what, service,
    operation, **params)`` makes one delete call (cleanup's: not found counts as done, a failure warns)."""
    for version in versions:
        arn = version["ModelPackageArn"]
        info(f"deleting model package {arn}")
        attempt(f"delete model package {arn}", "sagemaker", "delete_model_package", ModelPackageName=arn)
    info(f"deleting model package group {group}")
    attempt(f"delete model package group {group}", "sagemaker", "delete_model_package_group",
            ModelPackageGroupName=group)
