"""``python -m deploy deploy``: create the endpoint, or update a running one in place.

A new endpoint: a SageMaker model, an endpoint configuration and an endpoint, all named
<project> (or --endpoint-name), from the image the push command pushed, with the instance type,
timeouts and host AMI from model.lock.json; with --inference-component the model runs as an
inference component on an endpoint with managed instance scaling. It waits until InService;
a failure prints the reason and the last CloudWatch log lines. What a failed deploy created
before its endpoint existed is removed again.

An endpoint that exists and is InService is updated in place: a new model and endpoint
configuration (<name>-<UTC time>), then UpdateEndpoint with a deployment policy (blue/green by
default, --rolling as an option, --rollback-alarm for automatic rollback), a wait, and the old
model and configuration are deleted. With inference components: UpdateInferenceComponent
(a rolling update, the only policy SageMaker offers components). A failed update leaves the
old endpoint serving, and says so.

Preflight, before anything is created: the image is in ECR, the account's Service Quotas quota
"<type> for endpoint usage" covers the instances (a quota that cannot be read is a warning),
an inference component's memory fits the instance's host memory, the host AMI's CUDA is new
enough for the image's.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re

from botocore.exceptions import ClientError

from . import endpoints
from .errors import DeployError, code, die, from_client_error, is_not_found
from .naming import ic_log_group, log_group, role_name, update_suffix, versioned
from .ui import info, log, warn

SECRET_KEYS = re.compile(r"^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN)$|SECRET_ACCESS_KEY|PASSWORD")
S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+")
ECR_IMAGE = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                       r"(?P<repo>[^:@]+)(:(?P<tag>[^@]+))?(@(?P<digest>sha256:[0-9a-f]{64}))?$")
# The newest CUDA major version each SageMaker host AMI's driver runs (None: SageMaker's default AMI).
# AWS: "Inference AMI versions" in the SageMaker developer guide (ProductionVariant.InferenceAmiVersion).
AMI_MAX_CUDA = {
    None: 12,
    "al2-ami-sagemaker-inference-gpu-2": 12,
    "al2-ami-sagemaker-inference-gpu-2-1": 12,
    "al2-ami-sagemaker-inference-gpu-3-1": 12,
    "al2023-ami-sagemaker-inference-gpu-4-1": 13,
}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}

DESCRIPTION = __doc__.split(": ", 1)[1][:1].upper() + __doc__.split(": ", 1)[1][1:] + """
Hosting modes (deploy/README.md says when to choose which):
  (default)              a real-time endpoint on a fixed number of instances
  --inference-component  the model as an inference component (GPUs and host memory reserved per
                         copy) on an endpoint with managed instance scaling; autoscale scales the
                         copies, down to zero with --min 0
  --async S3URI          an asynchronous endpoint: requests and answers through S3, no 60 s limit

Environment: SAGEMAKER_ROLE_ARN, ECR_REGISTRY, IMAGE_TAG, AWS_ENDPOINT_URL, DEPLOY_POLL_SECONDS (30).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("deploy", help="create the endpoint, or update it in place",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--role-arn", metavar="ARN", default=os.environ.get("SAGEMAKER_ROLE_ARN") or None,
                   help="execution role (default: $SAGEMAKER_ROLE_ARN, else the role <name>-sagemaker-exec is "
                        "created or updated with least privilege)")
    p.add_argument("--endpoint-name", metavar="NAME", help="name of the endpoint, config and model (default: the project's)")
    p.add_argument("--image-uri", metavar="URI", help="image to deploy, no build (default: the project's ECR image with the tag "
                                       "the build command computes; it must be in ECR)")
    p.add_argument("--tag", metavar="TAG", help="image tag in the project's ECR repository")
    p.add_argument("--instance-type", metavar="TYPE", help="override deployment.instance_type")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra non-secret container setting, e.g. ENGINE_ARG_MAX_NUM_SEQS=64 (repeatable)")
    p.add_argument("--model-data", metavar="S3URI",
                   help="serve the weights from s3://bucket/prefix/ (uncompressed, put there by upload-model) "
                        "instead of downloading them from the Hugging Face Hub at start")
    p.add_argument("--model-package", metavar="ARN|latest-approved",
                   help="deploy an Approved model package version of the Model Registry (see `python -m deploy "
                        "register`): its ARN, its version number, or latest-approved; the package fixes the image "
                        "and the weights")
    p.add_argument("--inference-component", action="store_true", help="host the model as an inference component")
    p.add_argument("--copies", metavar="N", help="inference component copies to start (default 1)")
    p.add_argument("--max-instances", metavar="N", help="most instances managed instance scaling may run (default: what "
                                           "--copies, and at least 2 copies, need)")
    p.add_argument("--memory-mb", metavar="MB", help="host memory (RAM, not GPU memory) each copy reserves (default: "
                                       "deployment.inference_component_memory_mb; more than the instance's "
                                       "host memory is refused)")
    p.add_argument("--async", dest="async_uri", metavar="S3URI",
                   help="asynchronous endpoint; answers go to S3URI/output/, failures to S3URI/failure/")
    p.add_argument("--async-max-concurrency", metavar="N", help="requests each instance works on at once (default: SageMaker's)")
    p.add_argument("--rolling", action="store_true",
                   help="update a running endpoint with a rolling deployment (batches of instances) instead of "
                        "blue/green (a whole new fleet, then the switch); components always roll")
    p.add_argument("--rollback-alarm", action="append", default=[], metavar="NAME",
                   help="CloudWatch alarm that rolls an update back when it fires (repeatable); SageMaker watches "
                        "it while the update runs and during the baking period")
    p.add_argument("--bake-seconds", metavar="SECONDS",
                   help="baking period of a blue/green update: how long the new fleet takes all traffic, with the "
                        "old one kept, before the old one is terminated (default: 600 with --rollback-alarm, else 0)")
    p.add_argument("--no-wait", action="store_true",
                   help="return once creation has started (with --inference-component: once the component is "
                        "requested)")
    p.add_argument("--timeout", metavar="SECONDS", help="how long to wait for InService, in seconds (default: startup + download "
                                     "timeouts + 900)")
    p.set_defaults(handler=run)


def run(ctx) -> int:
    return Deploy(ctx).run()


def _whole(option: str, value: str | None, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if not str(value).isdigit() or int(value) < minimum:
        die(f"{option} wants a whole number of at least {minimum}, got '{value}'")
    return int(value)


def s3_prefix(uri: str) -> str:
    """s3://bucket/prefix/ (one trailing slash; s3://bucket/ for a whole bucket)."""
    match = S3_URI.match(uri or "")
    if not match:
        die(f"'{uri}' is not an S3 location like s3://bucket/prefix/ (bucket names are lower case)")
    path = (match.group(2) or "").strip("/")
    if "//" in path:
        die(f"'{uri}' has an empty path segment (//)")
    return f"s3://{match.group(1)}/{path + '/' if path else ''}"


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def role_policy(repo_arn: str, group_arns: list[str], secret_arn: str | None, partition: str,
                model_data: str | None, async_uri: str | None) -> dict:
    """The execution role's inline policy: ECR pull on one repository, logs on the endpoint's (and
    component's) groups, the one secret, the S3 prefixes it reads and writes; nothing else."""
    statements = [
        {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": repo_arn},
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "Resource": [arn for g in group_arns for arn in (g, g + ":log-stream:*")]},
    ]
    if secret_arn:
        statements.append({"Sid": "HfTokenSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": secret_arn})
    if model_data:  # SageMaker copies s3://bucket/prefix/ to /opt/ml/model with this role
        bucket, prefix = split_s3(model_data)
        statements.append({"Sid": "ModelDataRead", "Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*"})
        statements.append({"Sid": "ModelDataList", "Effect": "Allow", "Action": "s3:ListBucket",
                           "Resource": f"arn:{partition}:s3:::{bucket}",
                           "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}})
    if async_uri:  # requests are read from, answers written to s3://bucket/prefix/
        bucket, prefix = split_s3(async_uri)
        statements.append({"Sid": "AsyncRead", "Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*"})
        statements.append({"Sid": "AsyncWrite", "Effect": "Allow", "Action": "s3:PutObject",
                           "Resource": [f"arn:{partition}:s3:::{bucket}/{prefix}output/*",
                                        f"arn:{partition}:s3:::{bucket}/{prefix}failure/*"]})
    return {"Version": "2012-10-17", "Statement": statements}


class Deploy:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.args = ctx.args
        self.created: list[tuple[str, str]] = []  # (kind, name) this run created, for the roll-back

    # -- options, before any AWS call ------------------------------------------------------------
    def check_options(self) -> None:
        a = self.args
        self.use_ic = bool(a.inference_component)
        if not self.use_ic:
            for option, value in (("--copies", a.copies), ("--max-instances", a.max_instances),
                                  ("--memory-mb", a.memory_mb)):
                if value is not None:
                    die(f"{option} goes with --inference-component")
        if a.async_max_concurrency is not None and not a.async_uri:
            die("--async-max-concurrency goes with --async")
        if self.use_ic and a.async_uri:
            die("--async and --inference-component do not go together: SageMaker hosts inference components on "
                "real-time endpoints only")
        self.copies = _whole("--copies", a.copies)
        self.max_instances = _whole("--max-instances", a.max_instances)
        self.memory_mb = _whole("--memory-mb", a.memory_mb, 128)
        self.async_concurrency = _whole("--async-max-concurrency", a.async_max_concurrency)
        self.model_data = s3_prefix(a.model_data) if a.model_data else None
        self.package = None
        taken = [o for o, v in (("--image-uri", a.image_uri), ("--tag", a.tag), ("--model-data", a.model_data)) if v]
        if a.model_package and taken:
            die(f"--model-package fixes the image and the weights; leave out {' and '.join(taken)} (register a new "
                "version with them instead: `python -m deploy register`)")
        self.async_uri = s3_prefix(a.async_uri) if a.async_uri else None
        if a.timeout is not None and not str(a.timeout).isdigit():
            die(f"--timeout wants whole seconds, got '{a.timeout}'")
        self.ctx.poll_seconds  # noqa: B018 - checks DEPLOY_POLL_SECONDS now
        self.env: dict[str, str] = {}
        for item in a.env:
            key, sep, value = item.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                die(f"--env wants KEY=VALUE, got '{item}'")
            if SECRET_KEYS.search(key):
                die(f"--env {key}: secrets must not go into the model's environment (it is readable with "
                    "DescribeModel); store the token with `python -m deploy secret`")
            if value.startswith("hf_"):
                die(f"--env {key}: the value looks like a Hugging Face token; store it with `python -m deploy secret`")
            self.env[key] = value
        bake = _whole("--bake-seconds", a.bake_seconds, 0)
        if bake is not None and bake > 3600:
            die(f"--bake-seconds wants at most 3600 (SageMaker's limit), got {bake}")
        if bake is not None and (self.use_ic or a.rolling):
            die("--bake-seconds goes with a blue/green update (not --rolling, not --inference-component)")
        self.bake = bake if bake is not None else (600 if a.rollback_alarm else 0)
        for alarm in a.rollback_alarm:
            if not alarm or len(alarm) > 255:
                die(f"--rollback-alarm wants a CloudWatch alarm name, got '{alarm}'")

    def read_lock(self) -> None:
        lock, a = self.ctx.lock, self.args
        self.lock = lock
        self.region = lock.region
        # modelSource=jumpstart (model.lock.json "weights"): JumpStart's prepacked HF-format artifacts are the
        # model data unless --model-data or --model-package is given; AcceptEula only if acceptEula was true.
        weights = lock.get("weights") or {}
        self.jumpstart = weights.get("source") == "jumpstart" and not a.model_data and not a.model_package
        self.accept_eula = False
        if self.jumpstart:
            js = weights.get("jumpstart") or {}
            if js.get("eula_required") and not js.get("eula_accepted"):
                die(f"JumpStart model {js.get('model_id')} needs its EULA accepted ({js.get('eula_key')}); regenerate "
                    "with `copier update --trust --defaults -d acceptEula=true` if you accept it")
            self.model_data = s3_prefix(weights["s3_uri"])
            self.accept_eula = bool(js.get("eula_accepted"))
        self.name = lock.endpoint_name(a.endpoint_name)
        self.repo = lock.repo_name()
        lock_type = lock.instance_type
        self.instance_type = a.instance_type or lock_type
        other_type = bool(a.instance_type) and a.instance_type != lock_type
        self.startup = lock.number("deployment.container_startup_health_check_timeout_s")
        self.download = lock.number("deployment.model_data_download_timeout_s")
        self.volume = lock.number("deployment.volume_size_gb")
        self.tp = lock.number("deployment.tensor_parallel_size") or 1
        self.gpus = lock.number("deployment.gpu_count")
        host_gib = None if other_type else lock.get("deployment.host_memory_gib")
        ic_memory = None if other_type else lock.number("deployment.inference_component_memory_mb")
        self.ami = lock.ami_version
        self.timeout = int(a.timeout) if a.timeout is not None else \
            (self.startup or 600) + (self.download or 600) + 900
        if not self.use_ic:
            return
        # MinMemoryRequiredInMb is HOST memory (RAM), not GPU memory: the lock's
        # deployment.inference_component_memory_mb is what the engine process needs on the host.
        # Another instance type than the lock's: 1024 MB, the SageMaker Python SDK's default.
        self.copies = self.copies or 1
        host_mb = int(float(host_gib) * 1024) if isinstance(host_gib, (int, float)) and host_gib > 0 else None
        if self.memory_mb and host_mb and self.memory_mb > host_mb:
            die(f"--memory-mb {self.memory_mb} is more host memory than {self.instance_type} has ({host_gib:g} GiB = "
                f"{host_mb} MB), so no copy could ever be placed. It is host memory (RAM) for the engine process, "
                f"not GPU memory: leave --memory-mb out (the default is {ic_memory or 1024} MB) or choose a larger "
                "--instance-type.")
        if host_mb is None and a.instance_type:
            warn(f"the host memory of {self.instance_type} is not in model.lock.json, so --memory-mb is not checked here")
        self.memory_mb = self.memory_mb or ic_memory or 1024
        per_instance = 1
        if not a.instance_type and self.gpus and self.tp > 0:
            per_instance = max(1, self.gpus // self.tp)
        self.per_instance = per_instance
        self.initial_instances = math.ceil(self.copies / per_instance)
        self.max_instances = self.max_instances or math.ceil(max(self.copies, 2) / per_instance)
        if self.max_instances < self.initial_instances:
            die(f"--copies {self.copies} needs {self.initial_instances} instance(s) of {self.instance_type} "
                f"({per_instance} copies fit on one), more than --max-instances {self.max_instances}")

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> int:
        self.check_options()
        self.read_lock()
        self.check_instance_type()
        self.check_ami()
        aws = self.ctx.aws
        aws.identity()  # credentials first: one clear message when there are none
        self.aws = aws
        existing = endpoints.endpoint_facts(aws, self.name)
        if existing is not None:
            return self.update(existing)
        self.check_leftovers()
        self.preflight(instances=self.initial_instances if self.use_ic else 1)
        self.secret_arn = self.find_secret()
        self.role_arn, self.role_created = self.ensure_role()
        try:
            self.create_model(self.name)
            self.create_config(self.name, self.name)
            self.create_endpoint()
        except BaseException:
            self.roll_back()
            raise
        if self.args.no_wait and not self.use_ic:
            info(f"endpoint {self.name} is being created; follow it with `python -m deploy status` and "
                 "`python -m deploy logs`")
            print(self.name)
            return 0
        endpoints.wait_for(self.ctx, "endpoint", self.name, self.timeout,
                           on_failure=lambda reason, _: self.failed(self.name, reason),
                           hint=self.cleanup_hint(waiting=True))
        if self.use_ic:
            self.create_component(self.name, self.name)
            if self.args.no_wait:
                info(f"inference component {self.name} is being created; follow it with `python -m deploy status`")
                print(self.name)
                return 0
            endpoints.wait_for(self.ctx, "inference-component", self.name, self.timeout,
                               on_failure=lambda reason, _: self.failed(self.name, reason, component=True),
                               hint=self.cleanup_hint(waiting=True))
        info(f"endpoint {self.name} is InService (test it with `python -m deploy test`)")
        print(self.name)
        return 0

    def cleanup_hint(self, waiting: bool = False) -> str:
        if waiting:
            return f"To give up instead: `python -m deploy cleanup --endpoint-name {self.name}`."
        return f"Remove what is left with `python -m deploy cleanup --endpoint-name {self.name}`."

    def failed(self, name: str, reason: str, component: bool = False):
        if re.search(r"hardware resources|not enough (memory|accelerator)", reason, re.I):
            log(f"hint: one copy asks for {self.tp} GPU(s) and {getattr(self, 'memory_mb', None) or '?'} MB of host "
                f"memory, more than {self.instance_type} can give it; lower the memory reservation (--memory-mb, "
                "e.g. 1024) or choose a larger --instance-type.")
        elif re.search(r"capacity|instance type", reason, re.I):
            log(f"hint: {self.instance_type} may be short or not offered in {self.region}: try again later, another "
                "--instance-type, or another region.")
        what = f"inference component {name}" if component else name
        raise DeployError(f"deployment of {what} failed ({reason}). {self.cleanup_hint()}")

    # -- preflight -------------------------------------------------------------------------------
    def check_instance_type(self) -> None:
        shape = self.ctx.aws.client("sagemaker").meta.service_model.shape_for("ProductionVariantInstanceType")
        if shape.enum and self.instance_type not in shape.enum:
            die(f"'{self.instance_type}' is not a SageMaker endpoint instance type (botocore's list has "
                f"{len(shape.enum)}, e.g. ml.g6.xlarge). Choose another one (--instance-type, or regenerate with "
                "instanceType=...).")

    def check_ami(self) -> None:
        """The host AMI's driver must run the image's CUDA (CUDA 13 images need the AL2023 AMI)."""
        cuda = self.lock.cuda
        if cuda is None or not re.match(r"^ml\.(g|p)[0-9]", self.instance_type) or self.ami not in AMI_MAX_CUDA:
            return
        newest = AMI_MAX_CUDA[self.ami]
        if cuda > newest:
            needed = next((ami for ami, top in AMI_MAX_CUDA.items() if ami and top >= cuda), None)
            die(f"the image is built for CUDA {cuda}, but the host AMI {self.ami or '(SageMaker default)'} runs CUDA "
                f"{newest} at most, so the container could not start. Set server.inference_ami_version to {needed} in "
                "model.lock.json, or regenerate the project (copier update) to get it.")

    def check_leftovers(self) -> None:
        for kind in ("endpoint-config", "model"):
            if endpoints.exists(self.aws, kind, self.name):
                die(f"a SageMaker {kind} named '{self.name}' already exists (left over from an earlier deploy?). "
                    f"Remove it with `python -m deploy cleanup --endpoint-name {self.name}` or choose another name "
                    "with --endpoint-name.")
        if self.use_ic:
            try:
                found = endpoints.exists(self.aws, "inference-component", self.name)
            except DeployError:
                found = False  # a region without inference components: CreateEndpointConfig says so below
            if found:
                die(f"an inference component named '{self.name}' already exists (left over from an earlier "
                    f"deploy?). Remove it with `python -m deploy cleanup --endpoint-name {self.name}` or choose "
                    "another name with --endpoint-name.")

    def preflight(self, instances: int, extra_note: str = "") -> None:
        if self.args.model_package:  # the image and the weights are the Approved package's
            from .registry_cmd import approved_package, package_container

            self.package = approved_package(self.aws, self.lock, self.args.model_package)
            container = package_container(self.package)
            source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
            self.model_data = s3_prefix(source["S3Uri"]) if source.get("S3Uri") else None
            # A package registered from JumpStart's artifacts (AWS's bucket): not read by the tool, as without one.
            if self.model_data and self.model_data == (self.lock.get("weights") or {}).get("s3_uri"):
                self.jumpstart = True
                self.accept_eula = bool((source.get("ModelAccessConfig") or {}).get("AcceptEula"))
            info(f"model package {self.package['ModelPackageArn']} (Approved)")
        self.check_s3()
        if self.package:
            self.image_uri = str(container.get("Image") or "the package's image")
            info(f"image {self.image_uri} (from the model package)")
        else:
            self.image_uri = self.find_image()
        self.check_quota(instances, extra_note)

    def check_s3(self) -> None:
        s3 = self.aws.client("s3")
        if getattr(self, "jumpstart", False):   # AWS's bucket (the gated one is read by SageMaker only, with AcceptEula)
            info(f"weights from SageMaker JumpStart: {self.model_data}"
                 + (" (EULA accepted: ModelAccessConfig.AcceptEula)" if self.accept_eula else ""))
        elif self.model_data:
            bucket, key = split_s3(self.model_data)
            try:
                s3.head_object(Bucket=bucket, Key=key + "config.json")
            except ClientError as exc:
                if is_not_found(exc) or code(exc) in ("403",):
                    die(f"{self.model_data}config.json not found: put the pinned snapshot there first with "
                        f"`python -m deploy upload-model {self.model_data}`")
                raise from_client_error(exc, f"read {self.model_data}config.json") from None
            # upload-model leaves hf-snapshot.json ({"model", "sha"}) beside the weights.
            try:
                marker = json.loads(s3.get_object(Bucket=bucket, Key=key + "hf-snapshot.json")["Body"].read())
            except (ClientError, ValueError):
                marker = None
                warn(f"{self.model_data} has no hf-snapshot.json, so its revision is unknown (upload-model writes one)")
            sha, pinned = (marker or {}).get("sha"), self.lock.model_sha
            if sha and pinned and sha != pinned:
                die(f"{self.model_data} holds {self.lock.model_id} at {sha}, but model.lock.json pins {pinned}; upload "
                    f"the pinned snapshot with `python -m deploy upload-model {self.model_data}`")
            info(f"weights from {self.model_data} (no Hugging Face download at start)")
        if self.async_uri:
            bucket, _ = split_s3(self.async_uri)
            try:
                s3.head_bucket(Bucket=bucket)
            except ClientError as exc:
                die(f"bucket {bucket} is not there or not yours (AWS {code(exc)}); create it first (in the S3 "
                    f"console, or boto3's create_bucket) in {self.region}, or choose another --async location")

    def find_image(self) -> str:
        """The image to deploy; it must be in ECR when it is an ECR image (with --image-uri of another
        registry: a warning, SageMaker pulls it itself)."""
        ecr = self.aws.client("ecr")
        uri = self.args.image_uri
        if uri:
            match = ECR_IMAGE.match(uri)
            if not match:
                warn(f"{uri} is not an ECR image, so it is not checked here (SageMaker pulls images from ECR only "
                     "unless the registry is set up for it)")
                info(f"image {uri}")
                return uri
            repo, tag, digest = match["repo"], match["tag"], match["digest"]
            image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
            params = {"repositoryName": repo, "imageIds": [image_id]}
            if match["account"] != self.aws.account_id or match["region"] != self.region:
                params["registryId"] = match["account"]
                if match["region"] != self.region:
                    warn(f"{uri} is in {match['region']}, not {self.region}: SageMaker needs the image in the "
                         "endpoint's region")
                    info(f"image {uri}")
                    return uri
            shown = f"{repo}{'@' + digest if digest else ':' + (tag or 'latest')}"
        else:
            from .naming import image_tag

            tag = self.args.tag or image_tag(self.ctx.project_dir)
            uri = f"{self.aws.ecr_registry()}/{self.repo}:{tag}"
            params = {"repositoryName": self.repo, "imageIds": [{"imageTag": tag}]}
            shown = f"{self.repo}:{tag}"
        try:
            ecr.describe_images(**params)
        except ClientError as exc:
            if is_not_found(exc):
                die(f"image {shown} is not in ECR; run `python -m deploy build` and `python -m deploy push` first "
                    "(or pass --image-uri)")
            raise from_client_error(exc, f"look up image {shown} in ECR", region=self.region) from None
        info(f"image {uri}")
        return uri

    def check_quota(self, instances: int, note: str = "") -> None:
        """Service Quotas' '<type> for endpoint usage' must allow ``instances``; unreadable: a warning."""
        quota_name = f"{self.instance_type} for endpoint usage"
        sq = self.aws.client("service-quotas")
        found, token = None, None
        try:
            while found is None:
                page = sq.list_service_quotas(ServiceCode="sagemaker", MaxResults=100,
                                              **({"NextToken": token} if token else {}))
                found = next((q for q in page.get("Quotas") or [] if q.get("QuotaName") == quota_name), None)
                token = page.get("NextToken")
                if not token:
                    break
        except ClientError as exc:
            warn(f"could not read the quota '{quota_name}' (AWS {code(exc)}); not checked. AWS refuses the "
                 "endpoint later if the quota is too small.")
            return
        if found is None:
            warn(f"Service Quotas has no quota '{quota_name}' in {self.region}; not checked")
            return
        value = float(found.get("Value") or 0)
        if instances > value:
            die(f"your account's quota '{quota_name}' in {self.region} is {value:g} instance(s), and this deploy "
                f"needs {instances}{note}. Request more in Service Quotas (SageMaker, quota code "
                f"{found.get('QuotaCode')}: https://console.aws.amazon.com/servicequotas/home/services/sagemaker/"
                f"quotas/{found.get('QuotaCode')}), or choose another --instance-type or region.")
        info(f"quota '{quota_name}': {value:g}, this deploy needs {instances}")
        most = getattr(self, "max_instances", None) if self.use_ic else None
        if most and most > value:
            warn(f"managed instance scaling may grow to {most} instances (--max-instances), more than the quota "
                 f"'{quota_name}' ({value:g}) allows: copies beyond it would not be placed")

    # -- secret and role -------------------------------------------------------------------------
    def find_secret(self) -> str | None:
        """The ARN of the token's Secrets Manager secret (never its value), or None when none is needed."""
        secret_name = self.lock.secret_name
        if not (self.lock.gated or secret_name):
            return None
        if self.model_data:
            info(f"weights from {self.model_data}: the container makes no Hugging Face call, so it gets no token "
                 "(no secret needed)")
            return None
        if not secret_name:
            die("the model is gated but model.lock.json has no project.hf_token_secret_name")
        try:
            arn = self.aws.client("secretsmanager").describe_secret(SecretId=secret_name)["ARN"]
        except ClientError as exc:
            if is_not_found(exc):
                die(f"Secrets Manager secret '{secret_name}' not found; create it with `python -m deploy secret` (the "
                    f"model {self.lock.model_id} is gated), or serve the weights from S3 with --model-data "
                    "(`python -m deploy upload-model`), which needs no token on the endpoint")
            raise from_client_error(exc, f"look up secret {secret_name}", region=self.region) from None
        info(f"the container reads its Hugging Face token from secret {arn}")
        return arn

    def ensure_role(self) -> tuple[str, bool]:
        iam = self.aws.client("iam")
        given = self.args.role_arn
        if given:
            if not ROLE_ARN.match(given):
                die(f"'{given}' is not an IAM role ARN")
            try:
                iam.get_role(RoleName=given.rsplit("/", 1)[1])
            except ClientError as exc:
                if is_not_found(exc):
                    die(f"execution role {given} does not exist; create it, or omit --role-arn/SAGEMAKER_ROLE_ARN to "
                        "let deploy create one")
                warn(f"could not check role {given} (AWS {code(exc)}); using it anyway")
            return given, False
        name, created = role_name(self.name), False
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            info(f"using execution role {arn}")
        except ClientError as exc:
            if not is_not_found(exc):
                raise from_client_error(exc, f"read IAM role {name}", hint="Pass an existing role with --role-arn.") \
                    from None
            info(f"creating execution role {name}")
            try:
                arn = iam.create_role(
                    RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST),
                    Description=f"SageMaker execution role for endpoint {self.name} (created by python -m deploy)",
                    Tags=[{"Key": "project", "Value": self.lock.project_name}])["Role"]["Arn"]
            except ClientError as exc2:
                raise from_client_error(exc2, f"create IAM role {name}",
                                        hint="You need iam:CreateRole, or pass --role-arn.") from None
            created = True
        aws = self.aws
        groups = [aws.arn("logs", f"log-group:{log_group(self.name)}")]
        if self.use_ic:
            groups.append(aws.arn("logs", f"log-group:{ic_log_group(self.ic_name())}"))
        policy = role_policy(aws.arn("ecr", f"repository/{self.repo}"), groups, self.secret_arn, aws.partition,
                             self.model_data, self.async_uri)
        aws.call("iam", "put_role_policy", f"attach the inline policy to role {name}", RoleName=name,
                 PolicyName="sagemaker-endpoint", PolicyDocument=json.dumps(policy))
        return arn, created

    def ic_name(self) -> str:
        return getattr(self, "_ic_name", None) or self.name

    # -- creation --------------------------------------------------------------------------------
    def model_spec(self, model_name: str) -> dict:
        env = {}
        if self.secret_arn:
            env["HF_TOKEN_SECRET_ID"] = self.secret_arn
        env.update(self.env)
        container = {"Image": self.image_uri, "Mode": "SingleModel", "Environment": env}
        if self.package:
            # The registry's deployable form (AWS: "Deploy a Model from the Registry"): the package holds
            # image, weights and environment; extra --env settings are added to its environment.
            container = {"ModelPackageName": self.package["ModelPackageArn"], **({"Environment": env} if env else {})}
        elif self.model_data:
            # Uncompressed files under the prefix, copied to /opt/ml/model before the container starts;
            # the serve script serves that directory when it holds config.json.
            container["ModelDataSource"] = {"S3DataSource": {"S3Uri": self.model_data, "S3DataType": "S3Prefix",
                                                             "CompressionType": "None"}}
            if getattr(self, "accept_eula", False):
                container["ModelDataSource"]["S3DataSource"]["ModelAccessConfig"] = {"AcceptEula": True}
        return {"ModelName": model_name, "ExecutionRoleArn": self.role_arn,
                **({"Containers": [container]} if self.package else {"PrimaryContainer": container}),
                "Tags": [{"Key": "project", "Value": self.lock.project_name},
                         {"Key": "model-id", "Value": self.lock.model_id[:256]},
                         {"Key": "model-sha", "Value": self.lock.model_sha or "unknown"},
                         {"Key": "server", "Value": self.lock.server_name or "unknown"}]}

    def create_model(self, model_name: str) -> None:
        info(f"creating model {model_name}")
        sm = self.aws.client("sagemaker")
        for attempt in range(12):
            try:
                sm.create_model(**self.model_spec(model_name))
                break
            except ClientError as exc:
                # A role created a moment ago can take a few seconds to become assumable.
                if self.role_created and code(exc) == "ValidationException" and attempt < 11:
                    log(f"   waiting for the new role to become usable ({attempt + 1})...")
                    self.ctx.sleep(5)
                    continue
                raise from_client_error(exc, f"create model {model_name}", region=self.region) from None
        self.created.append(("model", model_name))

    def config_spec(self, config_name: str, model_name: str, with_volume: bool) -> dict:
        variant = {"VariantName": "AllTraffic", "InstanceType": self.instance_type}
        spec = {"EndpointConfigName": config_name, "ProductionVariants": [variant],
                "Tags": [{"Key": "project", "Value": self.lock.project_name}]}
        if self.use_ic:
            # The variant names no model; instances come and go with the copies (MinInstanceCount 0 lets
            # autoscale --min 0 reach zero), requests go to the copy with the fewest in flight.
            variant.update({"InitialInstanceCount": self.initial_instances,
                            "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0,
                                                       "MaxInstanceCount": self.max_instances},
                            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}})
            spec["ExecutionRoleArn"] = self.role_arn
        else:
            variant.update({"ModelName": model_name, "InitialInstanceCount": getattr(self, "instance_count", 1),
                            "InitialVariantWeight": 1.0})
            if self.startup:
                variant["ContainerStartupHealthCheckTimeoutInSeconds"] = self.startup
            if self.download:
                variant["ModelDataDownloadTimeoutInSeconds"] = self.download
        if self.volume and with_volume:
            variant["VolumeSizeInGB"] = self.volume
        if self.ami:  # CUDA 13 images need the newer host AMI; older images get none
            variant["InferenceAmiVersion"] = self.ami
        if self.async_uri:
            config = {"OutputConfig": {"S3OutputPath": self.async_uri + "output/",
                                       "S3FailurePath": self.async_uri + "failure/"}}
            if self.async_concurrency:
                config["ClientConfig"] = {"MaxConcurrentInvocationsPerInstance": self.async_concurrency}
            spec["AsyncInferenceConfig"] = config
        return spec

    def refused(self, exc: ClientError, doing: str) -> DeployError:
        """A hardware call refused: the instance-type and quota cases, and a region without components."""
        if self.use_ic and code(exc) in ("ValidationException", "ValidationError") and \
                not self.components_offered():
            return DeployError(
                f"SageMaker inference components are not available in {self.region} (AWS: "
                f"{exc.response.get('Error', {}).get('Message')}). Deploy without --inference-component (autoscale "
                "still scales instances), or in a region that offers them (project.aws_region in model.lock.json, "
                "or regenerate with awsRegion=...).")
        return from_client_error(exc, doing, instance_type=self.instance_type, region=self.region)

    def components_offered(self) -> bool:
        try:
            self.aws.client("sagemaker").list_inference_components(MaxResults=1)
            return True
        except ClientError:
            return False

    def create_config(self, config_name: str, model_name: str) -> None:
        mode = "real-time"
        if self.use_ic:
            mode = f"inference components, {self.initial_instances} to {self.max_instances} instance(s)"
        if self.async_uri:
            mode = f"asynchronous, answers in {self.async_uri}output/"
        info(f"creating endpoint config {config_name} ({mode}; {self.instance_type}, startup health check "
             f"{self.startup or 'default'}s, download {self.download or 'default'}s, volume "
             f"{self.volume or 'default'} GB{', host AMI ' + self.ami if self.ami else ''})")
        sm = self.aws.client("sagemaker")
        try:
            sm.create_endpoint_config(**self.config_spec(config_name, model_name, with_volume=True))
        except ClientError as exc:
            if not (self.volume and code(exc) == "ValidationException"):
                raise self.refused(exc, f"create endpoint config {config_name}") from None
            # Instances with local NVMe storage (e.g. ml.g5, ml.g6, ml.p4d) refuse VolumeSizeInGB.
            try:
                sm.create_endpoint_config(**self.config_spec(config_name, model_name, with_volume=False))
            except ClientError as exc2:
                raise self.refused(exc2, f"create endpoint config {config_name}") from None
            warn(f"{self.instance_type} does not take VolumeSizeInGB (it has instance storage); created the config "
                 "without it")
        self.created.append(("endpoint-config", config_name))

    def create_endpoint(self) -> None:
        info(f"creating endpoint {self.name}")
        try:
            self.aws.client("sagemaker").create_endpoint(
                EndpointName=self.name, EndpointConfigName=self.name,
                Tags=[{"Key": "project", "Value": self.lock.project_name}])
        except ClientError as exc:
            raise self.refused(exc, f"create endpoint {self.name}") from None
        self.created.clear()  # from here on the endpoint owns them; cleanup removes them

    def component_spec(self, model_name: str) -> dict:
        startup = {}
        if self.download:
            startup["ModelDataDownloadTimeoutInSeconds"] = self.download
        if self.startup:
            startup["ContainerStartupHealthCheckTimeoutInSeconds"] = self.startup
        spec = {"ModelName": model_name,
                "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": self.tp,
                                                "MinMemoryRequiredInMb": self.memory_mb}}
        if startup:
            spec["StartupParameters"] = startup
        return spec

    def create_component(self, ic_name: str, model_name: str) -> None:
        info(f"creating inference component {ic_name} ({self.copies} cop{'y' if self.copies == 1 else 'ies'}, each "
             f"{self.tp} GPU(s) and {self.memory_mb} MB of host memory)")
        try:
            self.aws.client("sagemaker").create_inference_component(
                InferenceComponentName=ic_name, EndpointName=self.name, VariantName="AllTraffic",
                Specification=self.component_spec(model_name), RuntimeConfig={"CopyCount": self.copies},
                Tags=[{"Key": "project", "Value": self.lock.project_name}])
        except ClientError as exc:
            raise from_client_error(exc, f"create inference component {ic_name}", region=self.region,
                                    hint=f"The endpoint is up without a model; {self.cleanup_hint()}") from None

    def roll_back(self) -> None:
        """Delete what this run created (newest first), when it stops before an endpoint uses it."""
        sm = self.aws.client("sagemaker")
        for kind, name in reversed(self.created):
            try:
                if kind == "endpoint-config":
                    sm.delete_endpoint_config(EndpointConfigName=name)
                else:
                    sm.delete_model(ModelName=name)
                log(f"removed {kind.replace('-', ' ')} {name}")
            except ClientError as exc:
                warn(f"could not remove {kind} {name} (AWS {code(exc)}); "
                     f"`python -m deploy cleanup --endpoint-name {self.name}` removes it")
        self.created.clear()

    # -- in-place update -------------------------------------------------------------------------
    def deployment_config(self, instances: int) -> dict:
        limit = min(max(self.timeout, 600), 28800)
        if self.args.rolling:
            batch = {"Type": "CAPACITY_PERCENT", "Value": 50} if instances > 1 else {"Type": "INSTANCE_COUNT", "Value": 1}
            config = {"RollingUpdatePolicy": {"MaximumBatchSize": batch, "WaitIntervalInSeconds": 0,
                                              "MaximumExecutionTimeoutInSeconds": limit}}
        else:
            # All traffic at once to the new fleet, then the baking period (alarms watched), then the old
            # fleet goes.
            config = {"BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": self.bake},
                "TerminationWaitInSeconds": 0,
                "MaximumExecutionTimeoutInSeconds": min(max(self.timeout + self.bake, 600), 28800)}}
        if self.args.rollback_alarm:
            config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in self.args.rollback_alarm]}
        return config

    def update(self, facts) -> int:
        name = self.name
        if facts.status != "InService":
            if facts.status == "Failed":
                die(f"endpoint '{name}' exists but is Failed ({facts.endpoint.get('FailureReason') or 'no reason'}); "
                    f"remove it with `python -m deploy cleanup --endpoint-name {name}`, then deploy again")
            die(f"endpoint '{name}' is {facts.status}; wait until it is InService (`python -m deploy status "
                f"--endpoint-name {name}`), then deploy again to update it")
        wanted = "ic" if self.use_ic else ("async" if self.async_uri else "model")
        labels = {"ic": "inference components", "async": "asynchronous", "model": "real-time"}
        if facts.mode != wanted:
            flag = {"ic": "--inference-component", "async": "--async S3URI", "model": "no hosting option"}[facts.mode]
            die(f"endpoint '{name}' hosts its model {labels[facts.mode]}, and this deploy asks for {labels[wanted]}: "
                f"an in-place update keeps the hosting mode (deploy with {flag}), or remove the endpoint first "
                f"(`python -m deploy cleanup --endpoint-name {name}`) or choose another --endpoint-name")
        suffix = self.free_suffix(name)
        new_model = versioned(name, suffix)
        if self.use_ic:
            return self.update_component(facts, new_model)
        variant = (facts.variants or [{}])[0]
        current = int(((facts.endpoint.get("ProductionVariants") or [{}])[0]).get("CurrentInstanceCount")
                      or variant.get("InitialInstanceCount") or 1)
        self.instance_count = current
        info(f"endpoint {name} exists ({current} instance(s) of {variant.get('InstanceType')}); updating it in place "
             f"({'rolling' if self.args.rolling else 'blue/green'})")
        # Blue/green starts a whole new fleet beside the old one; rolling, one batch at a time.
        same_type = variant.get("InstanceType") == self.instance_type
        if not same_type:
            self.refuse_type_change_under_autoscaling(variant.get("InstanceType"))
        need = current + (current if not self.args.rolling else max(1, current // 2)) if same_type else current
        self.preflight(need, " (the new fleet runs beside the old one during the update)" if not self.args.rolling
                       else " (one batch runs beside the old fleet during the update)")
        self.secret_arn = self.find_secret()
        self.role_arn, self.role_created = self.ensure_role()
        new_config = versioned(name, suffix)
        try:
            self.create_model(new_model)
            self.create_config(new_config, new_model)
            info(f"updating endpoint {name} to config {new_config}")
            try:
                self.aws.client("sagemaker").update_endpoint(
                    EndpointName=name, EndpointConfigName=new_config,
                    DeploymentConfig=self.deployment_config(current))
            except ClientError as exc:
                err = self.refused(exc, f"update endpoint {name}")
                raise DeployError(f"{err} The endpoint still serves its previous configuration "
                                  f"{facts.config_name}.") from None
        except BaseException:
            self.roll_back()
            raise
        if self.args.no_wait:
            info(f"endpoint {name} is being updated; the old config {facts.config_name} and model(s) "
                 f"{', '.join(facts.models)} stay until the next deploy or cleanup")
            print(name)
            return 0
        answer = self.wait_update(name)
        if answer.get("EndpointConfigName") != new_config:
            reason = answer.get("FailureReason") or "rolled back"
            self.created = [("model", new_model), ("endpoint-config", new_config)]
            endpoints.print_logs(self.aws, log_group(name))
            self.roll_back()
            status = answer.get("EndpointStatus")
            serving = (f"The endpoint still serves its previous configuration {facts.config_name} (image "
                       f"{self.serving_image(facts.models)})." if status == "InService"
                       else f"The endpoint is {status}; see `python -m deploy status --endpoint-name {name}`.")
            raise DeployError(f"the update of endpoint {name} failed ({reason}). {serving}")
        self.remove_old(facts.config_name, facts.models, keep_models={new_model})
        info(f"endpoint {name} is InService with {self.image_uri} (config {new_config})")
        print(name)
        return 0

    def refuse_type_change_under_autoscaling(self, old_type: str | None) -> None:
        """AWS fails an update that changes the instance type of a variant Application Auto Scaling
        manages ("Update endpoints that use automatic scaling"): say so before creating anything."""
        resource = f"endpoint/{self.name}/variant/AllTraffic"
        targets = self.aws.call("application-autoscaling", "describe_scalable_targets", "list scalable targets",
                                ServiceNamespace="sagemaker", ResourceIds=[resource],
                                ScalableDimension="sagemaker:variant:DesiredInstanceCount")
        if targets.get("ScalableTargets"):
            die(f"endpoint {self.name} autoscales its {old_type} instances, and AWS refuses to change the instance type "
                f"of an autoscaled variant: turn autoscaling off (`python -m deploy autoscale --off --endpoint-name "
                f"{self.name}`), deploy with --instance-type {self.instance_type}, then autoscale again")

    def free_suffix(self, name: str) -> str:
        """update_suffix(), a second later while a model or config of that name exists (two updates in
        one second)."""
        import datetime

        now = datetime.datetime.now(datetime.timezone.utc)
        while True:
            suffix = update_suffix(now)
            candidate = versioned(name, suffix)
            if not (endpoints.exists(self.aws, "model", candidate)
                    or endpoints.exists(self.aws, "endpoint-config", candidate)):
                return suffix
            now += datetime.timedelta(seconds=1)

    def serving_image(self, models: list[str]) -> str:
        return next((img for img in (endpoints.model_image(self.aws, m) for m in models) if img), "unknown")

    def wait_update(self, name: str) -> dict:
        """Poll an updating endpoint until it is no longer Updating/RollingBack; returns its description."""
        import time

        limit = self.timeout + self.bake
        info(f"waiting for endpoint {name} to finish updating (up to {limit}s, a baking period of {self.bake}s "
             "included; Ctrl-C stops waiting, not the update)")
        start, last = time.monotonic(), None
        while True:
            # botocore's endpoint_in_service waiter, one attempt per poll: InService again ends the update,
            # whether it rolled out or rolled back (the config name tells which).
            state, answer = endpoints.waiter_poll(self.ctx, "endpoint_in_service", EndpointName=name)
            if state != "pending" or not answer:
                answer = endpoints.describe(self.aws, "endpoint", name) or {}
            status = str(answer.get("EndpointStatus") or "gone")
            elapsed = int(time.monotonic() - start)
            log(f"   [{elapsed:4d}s] {'still ' if status == last else ''}{status}")
            last = status
            if status not in ("Updating", "RollingBack", "SystemUpdating", "UpdateRollbackFailed"):
                return answer
            if elapsed >= limit:
                die(f"endpoint {name} is still {status} after {elapsed}s; the old configuration serves until the "
                    f"update finishes. Check `python -m deploy status --endpoint-name {name}` later.")
            self.ctx.sleep(self.ctx.poll_seconds)

    def remove_old(self, old_config: str | None, old_models: list[str], keep_models: set[str]) -> None:
        sm = self.aws.client("sagemaker")
        if old_config:
            try:
                sm.delete_endpoint_config(EndpointConfigName=old_config)
                log(f"removed the old endpoint config {old_config}")
            except ClientError as exc:
                warn(f"could not remove the old endpoint config {old_config} (AWS {code(exc)})")
        for model in old_models:
            if model in keep_models:
                continue
            try:
                sm.delete_model(ModelName=model)
                log(f"removed the old model {model}")
            except ClientError as exc:
                warn(f"could not remove the old model {model} (AWS {code(exc)})")

    def update_component(self, facts, new_model: str) -> int:
        name = self.name
        if not endpoints.endpoint_ics(self.aws, name):
            return self.add_component(new_model)
        ic = endpoints.pick_ic(self.aws, name, None)
        self._ic_name = ic
        current = endpoints.describe(self.aws, "inference-component", ic) or {}
        if current.get("InferenceComponentStatus") != "InService":
            die(f"inference component {ic} is {current.get('InferenceComponentStatus') or 'gone'}; wait until it is "
                "InService, then deploy again to update it")
        old_model = (current.get("Specification") or {}).get("ModelName")
        variant = (facts.variants or [{}])[0]
        if variant.get("InstanceType") != self.instance_type:
            die(f"endpoint {name} runs {variant.get('InstanceType')}; an inference component update keeps the "
                f"instance type, so --instance-type {self.instance_type} needs a new endpoint (cleanup, then deploy)")
        runtime = current.get("RuntimeConfig") or {}
        copies = self.copies if self.args.copies else int(runtime.get("DesiredCopyCount")
                                                          or runtime.get("CurrentCopyCount") or 1)
        info(f"endpoint {name} exists; updating inference component {ic} in place (rolling, one copy at a time)")
        self.preflight(self.initial_instances)
        self.secret_arn = self.find_secret()
        self.role_arn, self.role_created = self.ensure_role()
        try:
            self.create_model(new_model)
            params = {"InferenceComponentName": ic, "Specification": self.component_spec(new_model),
                      "DeploymentConfig": {"RollingUpdatePolicy": {
                          "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1}, "WaitIntervalInSeconds": 0,
                          "MaximumExecutionTimeoutInSeconds": min(max(self.timeout, 600), 28800)}}}
            if self.args.copies:
                params["RuntimeConfig"] = {"CopyCount": copies}
            if self.args.rollback_alarm:
                params["DeploymentConfig"]["AutoRollbackConfiguration"] = {
                    "Alarms": [{"AlarmName": a} for a in self.args.rollback_alarm]}
            info(f"updating inference component {ic} to model {new_model}")
            try:
                self.aws.client("sagemaker").update_inference_component(**params)
            except ClientError as exc:
                err = from_client_error(exc, f"update inference component {ic}", region=self.region)
                raise DeployError(f"{err} The component still serves model {old_model}.") from None
        except BaseException:
            self.roll_back()
            raise
        if self.args.no_wait:
            info(f"inference component {ic} is being updated; the old model {old_model} stays until the next deploy "
                 "or cleanup")
            print(name)
            return 0
        answer = self.wait_component(ic)
        if (answer.get("Specification") or {}).get("ModelName") != new_model:
            reason = answer.get("FailureReason") or "rolled back"
            endpoints.print_logs(self.aws, ic_log_group(ic))
            self.created = [("model", new_model)]
            self.roll_back()
            raise DeployError(f"the update of inference component {ic} failed ({reason}). It still serves model "
                              f"{old_model} (image {self.serving_image([old_model] if old_model else [])}).")
        self.remove_old(None, [old_model] if old_model else [], keep_models={new_model})
        info(f"inference component {ic} on {name} is InService with {self.image_uri}")
        print(name)
        return 0

    def add_component(self, new_model: str) -> int:
        """The endpoint is up but hosts no component (its creation failed, or it was deleted): add it."""
        name = self.name
        if endpoints.exists(self.aws, "inference-component", name):
            die(f"an inference component named '{name}' exists on another endpoint; remove it with "
                f"`python -m deploy cleanup --endpoint-name {name}` or choose another --endpoint-name")
        info(f"endpoint {name} exists and hosts no inference component; adding {name}")
        self.preflight(self.initial_instances)
        self.secret_arn = self.find_secret()
        self.role_arn, self.role_created = self.ensure_role()
        try:
            self.create_model(new_model)
            self.create_component(name, new_model)
        except BaseException:
            self.roll_back()
            raise
        if self.args.no_wait:
            info(f"inference component {name} is being created; follow it with `python -m deploy status`")
            print(name)
            return 0
        endpoints.wait_for(self.ctx, "inference-component", name, self.timeout,
                           on_failure=lambda reason, _: self.failed(name, reason, component=True),
                           hint=self.cleanup_hint(waiting=True))
        info(f"endpoint {name} is InService (test it with `python -m deploy test`)")
        print(name)
        return 0

    def wait_component(self, ic: str) -> dict:
        import time

        info(f"waiting for inference component {ic} to finish updating (up to {self.timeout}s)")
        start, last = time.monotonic(), None
        while True:
            answer = endpoints.describe(self.aws, "inference-component", ic) or {}
            status = str(answer.get("InferenceComponentStatus") or "gone")
            elapsed = int(time.monotonic() - start)
            log(f"   [{elapsed:4d}s] {'still ' if status == last else ''}{status}")
            last = status
            if status not in ("Updating", "Creating"):
                return answer
            if elapsed >= self.timeout:
                die(f"inference component {ic} is still {status} after {elapsed}s; the old model serves until the "
                    "update finishes. Check `python -m deploy status` later.")
            self.ctx.sleep(self.ctx.poll_seconds)
