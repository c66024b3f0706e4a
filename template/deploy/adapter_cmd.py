"""`adapter add|list|remove`: LoRA adapters as adapter inference components of the base component.

An adapter inference component (CreateInferenceComponent with Specification.BaseInferenceComponentName
and Specification.Container.ArtifactUrl, no compute requirements, AWS's "Fine-tune models with adapter
inference components") runs on the GPUs of the base component that `deploy --inference-component`
made: SageMaker fetches the adapter's .tar.gz and registers it with the engine in the base's container
(vLLM's POST /adapters, which VLLM_ALLOW_RUNTIME_LORA_UPDATING enables; the serve script sets it when
the project serves LoRA). A request addressed to the adapter's component (InvokeEndpoint's
InferenceComponentName) is answered by the adapter: `python -m deploy test --adapter NAME`.

- `add NAME --from-hub ID`: downloads the adapter at its pinned commit (model.lock.json's sha for an
  adapter listed at generation, else the commit --revision names now) with huggingface_hub, checks its
  adapter_config.json against the base model and the engine's --max-lora-rank, packs it as one .tar.gz
  and uploads it to --to s3://bucket/prefix/ (ArtifactUrl takes a single gzip tar). `add NAME --s3
  s3://bucket/key.tar.gz` uses an archive that is already there. `add NAME` alone: the adapter of that
  name listed in model.lock.json. Waits until the component is InService.
- `list`: the adapter components of the base (status, artifact), and the adapters the container loads
  at start (listed at generation).
- `remove NAME`: deletes the adapter's component and waits until it is gone.
The component is named <base component>-<NAME>; the execution role deploy created gets read access to
the artifact (inline policy lora-adapters).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from botocore.exceptions import ClientError

from .argtypes import whole_seconds as _seconds
from . import endpoints
from .errors import DeployError, code, die, from_client_error, is_not_found, redact
from .naming import role_name
from .secret_cmd import add_token_refusal
from .ui import confirm, info, log, warn
from .upload_model_cmd import download, ensure_bucket, find_token, s3_prefix_uri

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
ARCHIVE_RE = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^/].*\.tar\.gz)$")
POLICY = "lora-adapters"
IAM_SETTLE = 10  # seconds after a policy change, before SageMaker reads the artifact with the role
REFUSED = ("the token is never taken from the command line (it would show in the process list and shell "
           "history); set HF_TOKEN or run 'hf auth login'")


# -- names and lookups ------------------------------------------------------------------------------

def component_name(base: str, name: str) -> str:
    """The adapter component of ``name`` on ``base``: <base>-<name> in SageMaker's 63 characters."""
    return base[:62 - len(name)].rstrip("-") + "-" + name


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        die(f"adapter name '{name}' wants lower-case letters, digits and inner '-', 1 to 40 characters (it names "
            "the adapter's inference component and what requests ask for)")
    return name


def listed(lock) -> list[dict]:
    """The adapters model.lock.json lists (loaded in the container at start)."""
    return list(lock.get("lora.adapters") or [])


def describe_all(aws, endpoint: str) -> list[dict]:
    """DescribeInferenceComponent of every component on ``endpoint``."""
    found = (endpoints.describe(aws, "inference-component", n) for n in endpoints.endpoint_ics(aws, endpoint))
    return [d for d in found if d]


def base_of(component: dict) -> str | None:
    return (component.get("Specification") or {}).get("BaseInferenceComponentName") or None


def artifact_of(component: dict) -> str | None:
    return ((component.get("Specification") or {}).get("Container") or {}).get("ArtifactUrl") or None


def find_base(aws, endpoint: str, wanted: str | None = None) -> tuple[str, list[dict]]:
    """(the base component's name, every component on the endpoint); a DeployError when the endpoint
    is missing, not InService, or not an inference component deployment."""
    facts = endpoints.endpoint_facts(aws, endpoint)
    if facts is None:
        die(f"endpoint '{endpoint}' does not exist; deploy the base model first: python -m deploy deploy "
            "--inference-component")
    if facts.mode != "ic":
        die(f"endpoint '{endpoint}' was deployed without --inference-component, and adapter inference components "
            "need a base inference component to run on. Deploy it as one: python -m deploy cleanup, then python -m "
            "deploy deploy --inference-component")
    if facts.status != "InService":
        die(f"endpoint '{endpoint}' is {facts.status}, not InService (see python -m deploy status)")
    components = describe_all(aws, endpoint)
    bases = [c["InferenceComponentName"] for c in components if not base_of(c)]
    if wanted:
        if wanted not in bases:
            die(f"endpoint '{endpoint}' has no base inference component '{wanted}' (its base components: "
                f"{' '.join(bases) or 'none'})")
        return wanted, components
    if not bases:
        die(f"endpoint '{endpoint}' hosts no base inference component; deploy the model: python -m deploy deploy "
            "--inference-component")
    if len(bases) > 1:
        die(f"endpoint '{endpoint}' hosts several base inference components ({' '.join(bases)}); choose one with "
            "--base NAME")
    return bases[0], components


def pick_target(aws, endpoint: str, wanted_ic: str | None, adapter: str | None, lock=None) -> str:
    """The component a request goes to (test, stream): the adapter's component for ``adapter``, else
    endpoints.pick_ic's (``wanted_ic``, or the endpoint's only component). ``lock``: model.lock.json,
    to name an adapter loaded at start that SageMaker cannot select."""
    if not adapter:
        return endpoints.pick_ic(aws, endpoint, wanted_ic or None)
    base, components = find_base(aws, endpoint)
    by_name = {c["InferenceComponentName"]: c for c in components if base_of(c)}
    for candidate in (component_name(base, adapter), adapter):
        if candidate in by_name:
            return candidate
    if lock is not None and any(a.get("name") == adapter for a in listed(lock)):
        die(f"adapter '{adapter}' is loaded in the container at start (listed at generation), but SageMaker's "
            "InvokeEndpoint cannot select it: the container is told the adapter by the "
            "X-Amzn-SageMaker-Adapter-Identifier header, which SageMaker sets only for an adapter inference "
            f"component. Add it as one (its pinned commit): python -m deploy adapter add {adapter} --to "
            "s3://bucket/prefix/. On a local container, test --url http://127.0.0.1:8080 --adapter sends the header.")
    known = ", ".join(sorted(n[len(base) + 1:] if n.startswith(base + "-") else n for n in by_name)) or "none"
    die(f"endpoint '{endpoint}' has no adapter '{adapter}' (its adapters: {known}); add it with python -m deploy "
        f"adapter add {adapter} ...")


# -- the adapter's files ---------------------------------------------------------------------------

def same_base(base: str, model: str) -> bool:
    """PEFT's base_model_name_or_path names this model: the same repo id (case-insensitive), or a local path
    whose last part is the model's name (as generator/lora.py decides at generation)."""
    base, model = base.strip().rstrip("/"), model.strip()
    if base.lower() == model.lower():
        return True
    looks_local = base.startswith(("/", "./", "../", "~")) or base.count("/") != 1
    return looks_local and base.rsplit("/", 1)[-1].lower() == model.split("/", 1)[-1].lower()


def rank_of(config: dict) -> int:
    ranks = [config.get("r")] + list((config.get("rank_pattern") or {}).values())
    numbers = [int(r) for r in ranks if isinstance(r, (int, float)) and not isinstance(r, bool)]
    return max(numbers) if numbers else 0


def check_config(config: dict, what: str, lock) -> None:
    """What the running engine would refuse: not LoRA, another base model, DoRA/bias, a rank above the
    --max-lora-rank it started with (model.lock.json's lora.max_lora_rank)."""
    model = lock.model_id
    peft_type = str(config.get("peft_type") or "")
    if peft_type.upper() != "LORA":
        die(f"{what} is a PEFT '{peft_type or 'unknown'}' adapter, not LORA; the engine serves LoRA adapters only")
    base = str(config.get("base_model_name_or_path") or "")
    if base and not same_base(base, model):
        die(f"{what} was made for {base}, not for {model}; a LoRA adapter only works on the base model it was "
            "trained on")
    if config.get("use_dora") or config.get("lora_bias") or str(config.get("bias") or "none") != "none":
        die(f"{what} uses DoRA or LoRA bias, which vLLM does not serve (vllm/lora/peft_helper.py validate_legal)")
    rank, limit = rank_of(config), lock.number("lora.max_lora_rank")
    if rank < 1:
        die(f"{what}'s adapter_config.json has no rank r")
    if limit and rank > limit:
        die(f"{what} has rank {rank}, above the --max-lora-rank {limit} the engine was started with "
            "(model.lock.json lora.max_lora_rank); list an adapter of that rank at generation (copier update "
            "-d loraAdapters=...) so the project is sized for it, then build, push and deploy")


def pack(directory: Path, archive: Path) -> None:
    """The adapter's files at the top of one .tar.gz (huggingface_hub's .cache/ left out)."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            rel = path.relative_to(directory).as_posix()
            if path.is_file() and not rel.startswith(".cache/"):
                tar.add(path, arcname=rel)


def config_in_archive(aws, bucket: str, key: str) -> dict:
    """adapter_config.json read from the .tar.gz in S3 (streamed until that member)."""
    uri = f"s3://{bucket}/{key}"
    try:
        body = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if is_not_found(exc):
            die(f"{uri} is not there (or not yours); upload the adapter's .tar.gz first")
        raise from_client_error(exc, f"read {uri}", region=aws.region) from None
    try:
        with tarfile.open(fileobj=body, mode="r|gz") as tar:
            for member in tar:
                if member.isfile() and member.name.lstrip("./") == "adapter_config.json":
                    return json.loads(tar.extractfile(member).read())
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        die(f"{uri} is not a gzip tar with adapter_config.json at its top ({exc})")
    finally:
        body.close()
    die(f"{uri} has no adapter_config.json at its top; pack the adapter's folder so its files are at the archive's "
        "top (tar -C DIR -czf adapter.tar.gz .)")


def resolve(repo: str, revision: str, token: str | None) -> str:
    """The commit ``revision`` of ``repo`` names now (huggingface_hub's model_info)."""
    import os

    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise DeployError("adapter add --from-hub downloads with huggingface_hub, which is not installed: pip install "
                          "-r deploy/requirements.txt (or pip install huggingface_hub)") from None
    try:
        sha = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None).model_info(repo, revision=revision,
                                                                                token=token or None).sha
    except Exception as exc:  # noqa: BLE001 - any failure of the look-up is this one message
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if token:
            reason = reason.replace(token, "***")
        raise DeployError(f"cannot read {repo} at {revision} from the Hugging Face Hub (a private or gated adapter "
                          f"needs HF_TOKEN with access): {reason[:300]}") from None
    if not sha or not SHA_RE.match(sha):
        die(f"the Hub named no commit for {repo} at {revision}")
    return sha


# -- the execution role ----------------------------------------------------------------------------

def grant_read(aws, endpoint: str, base: dict, bucket: str, key: str) -> bool:
    """The base model's execution role must read the artifact: the role deploy created gets it in its
    inline policy lora-adapters (True when that changed the policy); a role of your own is named in a
    warning."""
    model_name = (base.get("Specification") or {}).get("ModelName")
    model = endpoints.describe(aws, "model", model_name) if model_name else None
    role_arn = (model or {}).get("ExecutionRoleArn") or ""
    ours = role_name(endpoint)
    resource = f"arn:{aws.partition}:s3:::{bucket}/{key}"
    if role_arn.rsplit("/", 1)[-1] != ours:
        warn(f"the execution role {role_arn or '(unknown)'} must be able to read s3://{bucket}/{key} (s3:GetObject) "
             "for SageMaker to fetch the adapter")
        return False
    iam = aws.client("iam")
    resources: list[str] = []
    try:
        doc = iam.get_role_policy(RoleName=ours, PolicyName=POLICY)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for statement in doc.get("Statement") or []:
            found = statement.get("Resource") or []
            resources += [found] if isinstance(found, str) else list(found)
    except ClientError as exc:
        if not is_not_found(exc):
            raise from_client_error(exc, f"read the inline policy {POLICY} of role {ours}", region=aws.region) from None
    if resource in resources:
        return False
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "AdapterArtifacts", "Effect": "Allow",
                                                      "Action": "s3:GetObject", "Resource": resources + [resource]}]}
    info(f"letting execution role {ours} read s3://{bucket}/{key}")
    aws.call("iam", "put_role_policy", f"attach the inline policy {POLICY} to role {ours}", RoleName=ours,
             PolicyName=POLICY, PolicyDocument=json.dumps(policy))
    return True


# -- commands --------------------------------------------------------------------------------------


def register(subparsers) -> None:
    doc = __doc__.split("\n\n", 1)[1]
    p = subparsers.add_parser("adapter", help="LoRA adapters as adapter inference components (add, list, remove)",
                              description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="adapter_command", metavar="<add|list|remove>")
    sub.required = True

    def common(q) -> None:
        q.add_argument("--endpoint-name", metavar="NAME", help="endpoint (default: the project's)")
        q.add_argument("--base", metavar="NAME", help="base inference component (default: the endpoint's only one)")

    a = sub.add_parser("add", help="add an adapter inference component and wait until it is InService",
                       description="Adds the LoRA adapter NAME as an adapter inference component of the base "
                                   "component (its GPUs, no compute of its own), from the Hub (--from-hub ID: "
                                   "downloaded at its pinned commit, packed and uploaded to --to) or from an S3 "
                                   ".tar.gz (--s3); without either, the adapter of that name listed in "
                                   "model.lock.json.")
    a.add_argument("name", metavar="NAME", help="the adapter's name (requests ask for it with test --adapter NAME)")
    source = a.add_mutually_exclusive_group()
    source.add_argument("--from-hub", metavar="ID", help="Hugging Face repo id of a PEFT LoRA adapter")
    source.add_argument("--s3", metavar="URI", help="s3://bucket/key.tar.gz: the adapter's files at the archive's top")
    a.add_argument("--revision", metavar="REV", help="branch, tag or commit of --from-hub (default: the commit "
                                                     "model.lock.json pins for a listed adapter, else main)")
    a.add_argument("--to", metavar="s3://bucket/prefix/", help="where --from-hub uploads <NAME>-<commit>.tar.gz")
    a.add_argument("--create-bucket", action="store_true", help="create the --to bucket in the project's region when "
                                                                "missing")
    a.add_argument("--work-dir", metavar="DIR", help="download into DIR and keep it (default: a temporary directory)")
    a.add_argument("--timeout", type=_seconds, default=900, metavar="SECONDS", help="wait up to SECONDS (default 900)")
    a.add_argument("--no-wait", action="store_true", help="return once creation has started")
    common(a)
    add_token_refusal(a, REFUSED)
    a.set_defaults(handler=run_add)

    q = sub.add_parser("list", help="the adapters of the base component, and those loaded at start",
                       description="Prints the adapter inference components of the base component (name, status, "
                                   "artifact) and the adapters model.lock.json lists (loaded in the container at "
                                   "start).")
    common(q)
    q.set_defaults(handler=run_list)

    r = sub.add_parser("remove", help="delete an adapter inference component and wait until it is gone",
                       description="Deletes the adapter inference component of NAME (the base component and the "
                                   "other adapters stay) and waits until it is gone. Asks first unless --yes.")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--timeout", type=_seconds, default=900, metavar="SECONDS", help="wait up to SECONDS (default 900)")
    r.add_argument("-y", "--yes", action="store_true", help="do not ask")
    common(r)
    r.set_defaults(handler=run_remove)


def check_lora(lock) -> None:
    if not lock.get("lora"):
        die("this project was generated without LoRA, so its engine cannot load adapters. Regenerate it with "
            "enableLora=true (copier update --trust --defaults -d enableLora=true), then build, push and deploy "
            "--inference-component")
    if lock.get("lora.runtime_updates") is False:
        die("this project's engine does not load adapters at run time (model.lock.json lora.runtime_updates is "
            "false); regenerate it with enableLora=true")


def run_add(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    name = check_name(args.name)
    check_lora(lock)
    entry = next((a for a in listed(lock) if a.get("name") == name), None)
    repo = args.from_hub or (None if args.s3 else (entry or {}).get("id"))
    if not repo and not args.s3:
        die(f"where is adapter '{name}'? give --from-hub ORG/NAME or --s3 s3://bucket/key.tar.gz (model.lock.json "
            f"lists no adapter '{name}')")
    archive = None
    if args.s3:
        archive = ARCHIVE_RE.match(args.s3)
        if not archive:
            die(f"--s3 wants one .tar.gz like s3://bucket/prefix/adapter.tar.gz, not '{args.s3}' (SageMaker's "
                "ArtifactUrl takes a single gzip tar; pack a folder with tar -C DIR -czf adapter.tar.gz .)")
    elif not args.to:
        die("where to upload it? give --to s3://bucket/prefix/ (adapter add puts <NAME>-<commit>.tar.gz there)")
    to = s3_prefix_uri(args.to) if args.to and not args.s3 else None
    aws = ctx.aws
    endpoint = lock.endpoint_name(args.endpoint_name)
    aws.identity()
    base, components = find_base(aws, endpoint, args.base)
    ic = component_name(base, name)
    existing = next((c for c in components if c["InferenceComponentName"] == ic), None)
    if existing is not None or endpoints.exists(aws, "inference-component", ic):
        status = (existing or {}).get("InferenceComponentStatus") or "on another endpoint"
        die(f"adapter '{name}' is already there (inference component {ic}, {status}); remove it first: python -m "
            f"deploy adapter remove {name}")
    base_info = next(c for c in components if c["InferenceComponentName"] == base)
    if base_info.get("InferenceComponentStatus") != "InService":
        die(f"base inference component {base} is {base_info.get('InferenceComponentStatus')}; wait until it is "
            "InService (python -m deploy status)")

    if archive:
        bucket, key = archive["bucket"], archive["key"]
        check_config(config_in_archive(aws, bucket, key), args.s3, lock)
    else:
        bucket, prefix = to
        token = find_token()
        if args.revision:
            sha = args.revision if SHA_RE.match(args.revision) else resolve(repo, args.revision, token)
        elif entry and entry.get("id") == repo and entry.get("sha"):
            sha = entry["sha"]
        else:
            sha = resolve(repo, "main", token)
        ensure_bucket(aws, bucket, args.create_bucket)
        keep = bool(args.work_dir)
        directory = Path(args.work_dir).resolve() if keep else Path(tempfile.mkdtemp(prefix="adapter."))
        try:
            directory.mkdir(parents=True, exist_ok=True)
            download(repo, sha, directory, token)
            config_path = directory / "adapter_config.json"
            if not config_path.is_file():
                die(f"{repo} at {sha} has no adapter_config.json; it is not a PEFT adapter")
            try:
                config = json.loads(config_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise DeployError(f"{repo}'s adapter_config.json is not JSON ({exc})") from None
            check_config(config, f"{repo} at {sha[:12]}", lock)
            key = f"{prefix}{name}-{sha[:12]}.tar.gz"
            packed = Path(tempfile.mkdtemp(prefix="adapter-archive."))
            try:
                pack(directory, packed / f"{name}.tar.gz")
                info(f"uploading it to s3://{bucket}/{key}")
                try:
                    aws.client("s3").upload_file(str(packed / f"{name}.tar.gz"), bucket, key)
                except ClientError as exc:
                    raise from_client_error(exc, f"upload s3://{bucket}/{key}", region=aws.region) from None
            finally:
                shutil.rmtree(packed, ignore_errors=True)
        finally:
            if not keep:
                shutil.rmtree(directory, ignore_errors=True)
    artifact = f"s3://{bucket}/{key}"
    if grant_read(aws, endpoint, base_info, bucket, key):
        ctx.sleep(IAM_SETTLE)  # IAM is eventually consistent: let the new statement reach SageMaker's read

    info(f"creating adapter inference component {ic} on {base} ({artifact})")
    tags = [{"Key": "project", "Value": lock.project_name}, {"Key": "adapter", "Value": name}]
    if repo and not archive:
        tags += [{"Key": "adapter-id", "Value": repo[:256]}, {"Key": "adapter-sha", "Value": sha}]
    try:
        aws.client("sagemaker").create_inference_component(
            InferenceComponentName=ic, EndpointName=endpoint,
            Specification={"BaseInferenceComponentName": base, "Container": {"ArtifactUrl": artifact}}, Tags=tags)
    except ClientError as exc:
        raise from_client_error(exc, f"create adapter inference component {ic}", region=aws.region) from None
    if args.no_wait:
        info(f"adapter inference component {ic} is being created; follow it with python -m deploy adapter list")
        print(ic, flush=True)
        return 0
    endpoints.wait_for(ctx, "inference-component", ic, args.timeout,
                       hint=f"Remove it with python -m deploy adapter remove {name}.")
    info(f"adapter {name} is InService; ask it with python -m deploy test --adapter {name}")
    print(ic, flush=True)
    return 0


def run_list(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    aws = ctx.aws
    endpoint = lock.endpoint_name(args.endpoint_name)
    aws.identity()
    base, components = find_base(aws, endpoint, args.base)
    rows = []
    for c in components:
        if base_of(c) == base:
            ic = c["InferenceComponentName"]
            short = ic[len(base) + 1:] if ic.startswith(base + "-") else ic
            rows.append((short, "component", c.get("InferenceComponentStatus") or "?", artifact_of(c) or "?", ic))
    for a in listed(lock):
        rows.append((a.get("name", "?"), "at start", "-", f"hub {a.get('id')}@{str(a.get('sha') or '')[:12]}", base))
    log(f"adapters of {base} on endpoint {endpoint}:")
    if not rows:
        log("   none (python -m deploy adapter add NAME --from-hub ID --to s3://bucket/prefix/ adds one)")
        return 0
    header = ("NAME", "KIND", "STATUS", "ARTIFACT", "COMPONENT")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    for row in [header] + rows:
        print("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(row[:4])) + "  " + row[4], flush=True)
    return 0


def run_remove(ctx) -> int:
    args, lock = ctx.args, ctx.lock
    name = check_name(args.name)
    aws = ctx.aws
    endpoint = lock.endpoint_name(args.endpoint_name)
    aws.identity()
    base, components = find_base(aws, endpoint, args.base)
    ic = component_name(base, name)
    if not any(c["InferenceComponentName"] == ic and base_of(c) for c in components):
        known = [c["InferenceComponentName"] for c in components if base_of(c) == base]
        if any(a.get("name") == name for a in listed(lock)):
            die(f"adapter '{name}' is loaded in the container at start (listed at generation), not a component; "
                "drop it from loraAdapters (copier update) and deploy again to remove it")
        die(f"endpoint '{endpoint}' has no adapter '{name}' (its adapter components: {' '.join(known) or 'none'})")
    if not confirm(f"Delete adapter inference component {ic} from {endpoint}?", args.yes):
        die("nothing deleted")
    info(f"deleting adapter inference component {ic}")
    sm = aws.client("sagemaker")
    start = time.monotonic()
    while True:
        try:
            sm.delete_inference_component(InferenceComponentName=ic)
            break
        except ClientError as exc:
            if is_not_found(exc) or not endpoints.exists(aws, "inference-component", ic):
                break
            if time.monotonic() - start > args.timeout or code(exc) not in ("ValidationException", "ConflictException",
                                                                             "ResourceInUse"):
                raise from_client_error(exc, f"delete inference component {ic}", region=aws.region) from None
            log(f"   {ic} is busy (AWS {code(exc)}); asking again in {ctx.poll_seconds}s")
            ctx.sleep(ctx.poll_seconds)
    while endpoints.exists(aws, "inference-component", ic):
        elapsed = int(time.monotonic() - start)
        if elapsed > args.timeout:
            die(f"inference component {ic} is not gone after {elapsed}s; check python -m deploy adapter list later")
        log(f"   [{elapsed:4d}s] still deleting")
        ctx.sleep(ctx.poll_seconds)
    info(f"adapter {name} removed from {endpoint}")
    return 0
