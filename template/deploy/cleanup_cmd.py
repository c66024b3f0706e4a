"""``python -m deploy cleanup``: delete the endpoint and what belongs to it.

In this order: the autoscaling the autoscale command set up (alarm, scaling policies, scalable
targets), its inference components (adapter components before their base), the endpoint, the
endpoint configuration and model(s) it uses, and any endpoint configuration, model or inference
component named <name> (or <name>-<time>, from an in-place update) that a failed or interrupted
deploy left behind.
The Model Registry (the model package group `register` made, and its versions) is left alone
unless --delete-registry. Asks first unless --yes. Safe to run again.
"""
from __future__ import annotations

import argparse
import time

from botocore.exceptions import ClientError

from . import endpoints
from .errors import code, die, is_not_found
from .naming import codebuild_names, is_version_of, model_package_group, role_name, scaling_names
from .ui import confirm, info, log, warn

IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
BUSY_CODES = ("ValidationException", "ConflictException", "ResourceInUse")


def register(subparsers) -> None:
    p = subparsers.add_parser("cleanup", help="delete the endpoint and what belongs to it",
                              description=__doc__.split(": ", 1)[1][:1].upper() + __doc__.split(": ", 1)[1][1:],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint-name", metavar="NAME", help="endpoint (default: the project's)")
    p.add_argument("--delete-repository", action="store_true", help="also delete the ECR repository and its images")
    p.add_argument("--delete-role", action="store_true",
                   help="also delete the execution role deploy created (<name>-sagemaker-exec)")
    p.add_argument("--delete-codebuild", action="store_true",
                   help="also delete what the CodeBuild target created: project, source bucket, role")
    p.add_argument("--delete-secret", action="store_true",
                   help="also delete the Hugging Face token secret (7-day recovery window)")
    p.add_argument("--delete-registry", action="store_true",
                   help="also delete the Model Registry's model package group of the project and all its versions "
                        "(kept by default: it is the release history)")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(handler=run)


def run(ctx) -> int:
    return Cleanup(ctx).run()


class Cleanup:
    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.args = ctx.args
        self.failed = False

    def names_like(self, kind: str) -> list[str]:
        """``name`` and ``name-<time>`` resources of ``kind`` (deploy's first and in-place-update names)."""
        operation, key, name_key = endpoints._LIST[kind]
        found = []
        for item in endpoints._pages(self.aws, operation, key, NameContains=self.name[:48]):
            candidate = item.get(name_key) or ""
            if candidate == self.name or is_version_of(self.name, candidate):
                found.append(candidate)
        return sorted(found)

    def collect(self) -> None:
        aws, name = self.aws, self.name
        facts = endpoints.endpoint_facts(aws, name)
        self.status = facts.status if facts else ""
        self.mode = facts.mode if facts else ""
        configs: list[str] = [facts.config_name] if facts and facts.config_name else []
        models: list[str] = list(facts.models) if facts else []
        pending = ((facts.endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
                   if facts else None)
        if pending and pending not in configs:
            configs.append(pending)
        for config in self.names_like("endpoint-config"):
            if config not in configs:
                configs.append(config)
        for config in configs:
            described = endpoints.describe(aws, "endpoint-config", config) or {}
            for variant in described.get("ProductionVariants") or []:
                if variant.get("ModelName") and variant["ModelName"] not in models:
                    models.append(variant["ModelName"])
        # Inference components outlive a deleted endpoint, so also the ones named after it.
        ics: list[str] = []
        if facts and self.mode == "ic":
            ics = endpoints.endpoint_ics(aws, name)
        try:
            for ic in self.names_like("inference-component"):
                if ic not in ics:
                    ics.append(ic)
        except Exception:  # noqa: BLE001 - a region without inference components
            pass
        adapters = []
        for ic in ics:
            spec = (endpoints.describe(aws, "inference-component", ic) or {}).get("Specification") or {}
            if spec.get("ModelName") and spec["ModelName"] not in models:
                models.append(spec["ModelName"])
            if spec.get("BaseInferenceComponentName"):
                adapters.append(ic)
        # Adapter components (python -m deploy adapter) run on their base component: they go first.
        ics = adapters + [ic for ic in ics if ic not in adapters]
        for model in self.names_like("model"):
            if model not in models:
                models.append(model)
        self.configs, self.models, self.ics = configs, models, ics
        # Autoscaling of each component and of the variant.
        resources = [(f"inference-component/{ic}", IC_DIMENSION, ic) for ic in ics]
        if facts:
            resources.append((f"endpoint/{name}/variant/AllTraffic", VARIANT_DIMENSION, name))
        self.alarms, self.policies, self.targets = [], [], []
        for resource, dimension, owner in resources:
            # Only components and async endpoints scale from zero (autoscale --min 0 makes the alarm).
            if resource.startswith("inference-component/") or self.mode == "async":
                alarm = scaling_names(owner)["wake_alarm"]
                got = aws.call("cloudwatch", "describe_alarms", "list CloudWatch alarms", AlarmNames=[alarm])
                if got.get("MetricAlarms"):
                    self.alarms.append(alarm)
            got = aws.call("application-autoscaling", "describe_scaling_policies", "list scaling policies",
                           ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension)
            self.policies += [(resource, dimension, p["PolicyName"]) for p in got.get("ScalingPolicies") or []]
            got = aws.call("application-autoscaling", "describe_scalable_targets", "list scalable targets",
                           ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=dimension)
            if got.get("ScalableTargets"):
                self.targets.append((resource, dimension))

    def plan(self) -> list[str]:
        a = self.args
        items = [f"CloudWatch alarm {alarm}" for alarm in self.alarms]
        items += [f"scaling policy {policy} of {resource}" for resource, _, policy in self.policies]
        items += [f"scalable target {resource}" for resource, _ in self.targets]
        items += [f"inference component {ic}" for ic in self.ics]
        if self.status:
            items.append(f"endpoint {self.name} ({self.status})")
        items += [f"endpoint config {config}" for config in self.configs]
        items += [f"model {model}" for model in self.models]
        if a.delete_repository:
            items.append(f"ECR repository {self.repo} with all its images")
        if a.delete_role:
            items.append(f"IAM role {self.role}")
        if a.delete_secret and self.secret:
            items.append(f"secret {self.secret}")
        if a.delete_registry and self.registry_versions() is not None:
            items.append(f"model package group {self.group} and its {len(self.registry_versions())} version(s)")
        if a.delete_codebuild:
            cb = self.codebuild()
            items.append(f"CodeBuild project {cb['project']}, bucket {cb['bucket']} and role {cb['role']}")
        return items

    def registry_versions(self) -> list[dict] | None:
        """The versions of the project's model package group (None: there is no group)."""
        if not hasattr(self, "_versions"):
            from .registry_cmd import group_exists, list_versions

            self._versions = list_versions(self.aws, self.group) if group_exists(self.aws, self.group) else None
        return self._versions

    def codebuild(self) -> dict:
        return codebuild_names(self.repo, self.aws.account_id, self.aws.region)

    def run(self) -> int:
        lock = self.ctx.lock
        self.aws = self.ctx.aws
        self.name = lock.endpoint_name(self.args.endpoint_name)
        self.repo = lock.repo_name()
        self.role = role_name(self.name)
        self.secret = lock.secret_name
        self.group = model_package_group(lock.project_name)
        self.aws.identity()
        self.collect()
        plan = self.plan()
        if not plan:
            info(f"nothing to delete for {self.name} in {self.aws.region}")
            self.report_kept()
            return 0
        log(f"This deletes, in {self.aws.region}:")
        for item in plan:
            log(f"  - {item}")
        if not confirm("Delete these?", self.args.yes):
            die("nothing deleted")
        self.delete()
        if self.failed:
            die("some resources could not be deleted (see the warnings above); run `python -m deploy cleanup` again")
        info(f"clean-up of {self.name} done")
        self.report_kept()
        return 0

    def attempt(self, what: str, service: str, operation: str, **params) -> bool:
        """One delete call; not found counts as done; anything else is a warning (and failed)."""
        try:
            getattr(self.aws.client(service), operation)(**params)
            return True
        except ClientError as exc:
            if is_not_found(exc):
                return True
            warn(f"{what} failed (AWS {code(exc)}: {exc.response.get('Error', {}).get('Message')})")
            self.failed = True
            return False

    def delete(self) -> None:
        sm = self.aws.client("sagemaker")
        poll = self.ctx.poll_seconds
        # Order: what scales first (an alarm or policy could act on a component being deleted), then the
        # components (deleting the endpoint leaves them behind), then the endpoint, configs, models.
        for alarm in self.alarms:
            info(f"deleting CloudWatch alarm {alarm}")
            self.attempt(f"delete alarm {alarm}", "cloudwatch", "delete_alarms", AlarmNames=[alarm])
        for resource, dimension, policy in self.policies:
            info(f"deleting scaling policy {policy}")
            self.attempt(f"delete scaling policy {policy}", "application-autoscaling", "delete_scaling_policy",
                         ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension,
                         PolicyName=policy)
        for resource, dimension in self.targets:
            info(f"deregistering scalable target {resource}")
            self.attempt(f"deregister scalable target {resource}", "application-autoscaling",
                         "deregister_scalable_target", ServiceNamespace="sagemaker", ResourceId=resource,
                         ScalableDimension=dimension)
        for ic in self.ics:
            info(f"deleting inference component {ic}")
            # SageMaker refuses while a component is being created or changes its copy count: ask again
            # until it is gone (up to 20 minutes).
            start = time.monotonic()
            while True:
                try:
                    sm.delete_inference_component(InferenceComponentName=ic)
                    break
                except ClientError as exc:
                    if is_not_found(exc) or not endpoints.exists(self.aws, "inference-component", ic):
                        break
                    if time.monotonic() - start > 1200 or code(exc) not in BUSY_CODES:
                        warn(f"delete inference component {ic} failed (AWS {code(exc)})")
                        self.failed = True
                        break
                    log(f"   {ic} is busy (AWS {code(exc)}); asking again in {poll}s")
                    self.ctx.sleep(poll)
            while endpoints.exists(self.aws, "inference-component", ic):
                if time.monotonic() - start > 1200:
                    warn(f"inference component {ic} is not gone after 20 minutes")
                    self.failed = True
                    break
                self.ctx.sleep(poll)
        if self.status:
            info(f"deleting endpoint {self.name}")
            if self.attempt(f"delete endpoint {self.name}", "sagemaker", "delete_endpoint", EndpointName=self.name):
                if not endpoints.wait_deleted(self.ctx, self.name):
                    warn(f"endpoint {self.name} is not gone yet")
                    self.failed = True
        for config in self.configs:
            info(f"deleting endpoint config {config}")
            self.attempt(f"delete endpoint config {config}", "sagemaker", "delete_endpoint_config",
                         EndpointConfigName=config)
        for model in self.models:
            info(f"deleting model {model}")
            self.attempt(f"delete model {model}", "sagemaker", "delete_model", ModelName=model)
        a = self.args
        if a.delete_repository:
            info(f"deleting ECR repository {self.repo}")
            self.attempt(f"delete ECR repository {self.repo}", "ecr", "delete_repository", repositoryName=self.repo,
                         force=True)
        if a.delete_role:
            info(f"deleting IAM role {self.role}")
            self.delete_role(self.role)
        if a.delete_secret and self.secret:
            info(f"scheduling deletion of secret {self.secret} (recoverable for 7 days)")
            self.attempt(f"delete secret {self.secret}", "secretsmanager", "delete_secret", SecretId=self.secret,
                         RecoveryWindowInDays=7)
        if a.delete_registry and self.registry_versions() is not None:
            from .registry_cmd import remove_registry

            remove_registry(self.group, self.registry_versions(), self.attempt)
        if a.delete_codebuild:
            cb = self.codebuild()
            info(f"deleting CodeBuild project {cb['project']}")
            self.attempt(f"delete CodeBuild project {cb['project']}", "codebuild", "delete_project", name=cb["project"])
            info(f"deleting bucket {cb['bucket']}")
            self.delete_bucket(cb["bucket"])
            info(f"deleting IAM role {cb['role']}")
            self.delete_role(cb["role"])

    def delete_role(self, name: str) -> None:
        iam = self.aws.client("iam")
        try:
            policies = iam.list_role_policies(RoleName=name).get("PolicyNames") or []
        except ClientError as exc:
            if not is_not_found(exc):
                warn(f"list the policies of role {name} failed (AWS {code(exc)})")
                self.failed = True
            return
        for policy in policies:
            self.attempt(f"delete policy {policy} of role {name}", "iam", "delete_role_policy", RoleName=name,
                         PolicyName=policy)
        self.attempt(f"delete role {name}", "iam", "delete_role", RoleName=name)

    def delete_bucket(self, bucket: str) -> None:
        s3 = self.aws.client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            return  # not there (or not ours)
        token = None
        while True:
            page = s3.list_object_versions(Bucket=bucket, **({"KeyMarker": token[0], "VersionIdMarker": token[1]}
                                                             if token else {}))
            objects = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                       for o in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            if not page.get("IsTruncated"):
                break
            token = (page.get("NextKeyMarker"), page.get("NextVersionIdMarker"))
        self.attempt(f"delete bucket {bucket}", "s3", "delete_bucket", Bucket=bucket)

    def report_kept(self) -> None:
        """Name what this run leaves in place, and the option that deletes it too."""
        a, aws = self.args, self.aws
        kept = []
        if not a.delete_repository:
            try:
                aws.client("ecr").describe_repositories(repositoryNames=[self.repo])
                kept.append(f"ECR repository {self.repo} (--delete-repository)")
            except ClientError:
                pass
        if not a.delete_role:
            try:
                aws.client("iam").get_role(RoleName=self.role)
                kept.append(f"IAM role {self.role} (--delete-role)")
            except ClientError:
                pass
        if not a.delete_secret and self.secret:
            try:
                aws.client("secretsmanager").describe_secret(SecretId=self.secret)
                kept.append(f"secret {self.secret} (--delete-secret)")
            except ClientError:
                pass
        if not a.delete_registry:
            try:
                versions = self.registry_versions()
            except Exception:  # noqa: BLE001 - no permission to list the registry: nothing to report
                versions = None
            if versions is not None:
                kept.append(f"Model Registry group {self.group} with {len(versions)} version(s), left alone "
                            "(--delete-registry)")
        if not a.delete_codebuild and self.ctx.lock.deploy_target == "codebuild":
            cb = self.codebuild()
            try:
                if aws.client("codebuild").batch_get_projects(names=[cb["project"]]).get("projects"):
                    kept.append(f"CodeBuild project {cb['project']}, its bucket and role (--delete-codebuild)")
            except ClientError:
                pass
        if kept:
            log("kept (pass the option to delete it too):")
            for item in kept:
                log(f"  - {item}")
