"""Names the deploy commands give AWS resources, and the image tag (as deploy/lib.sh did).

- ``sagemaker_name(text)``: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
- ``ecr_repo_name(text)``: lower case, [a-z0-9] separated by single . _ or -
- ``docker_tag(text)``, ``image_tag(project_dir)``: <version>-<git short sha>[-dirty]; the version is
  the newest git tag, else the VERSION file, else 0.0.0; IMAGE_TAG overrides it.
- ``release_tags(project_dir)``: the extra tags push adds from a clean checkout.
- ``log_group(endpoint)``, ``ic_log_group(component)``, ``role_name(endpoint)``,
  ``scaling_names(name)``, ``model_package_group(project)`` (the Model Registry group register uses).
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .errors import die


def sagemaker_name(text: str) -> str:
    name = re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9-]", "-", str(text))).strip("-")[:63].rstrip("-")
    if not name:
        die(f"cannot make a SageMaker name from {text!r}")
    return name


def ecr_repo_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9._-]", "-", str(text).lower())
    name = re.sub(r"[._-]{2,}", lambda m: m.group(0)[0], name).strip("._-")
    if len(name) < 2:
        die(f"cannot make an ECR repository name from {text!r}")
    return name


def docker_tag(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text).lstrip(".-")[:128]


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def tag_parts(project_dir: Path) -> dict:
    """{"version", "sha" (may be ''), "dirty" (bool), "exact" (HEAD carries the version's tag)}."""
    version, sha, dirty, exact = "", "", False, False
    if _git(project_dir, "rev-parse", "--is-inside-work-tree") == "true":
        version = _git(project_dir, "describe", "--tags", "--abbrev=0") or ""
        sha = _git(project_dir, "rev-parse", "--short", "HEAD") or ""
        if sha and _git(project_dir, "status", "--porcelain"):
            dirty = True
        if version and _git(project_dir, "describe", "--tags", "--exact-match", "HEAD") is not None:
            exact = True
    version_file = project_dir / "VERSION"
    if not version and version_file.is_file():
        version = "".join(version_file.read_text(encoding="utf-8").split())
    version = (version or "0.0.0").removeprefix("v")
    return {"version": version, "sha": sha, "dirty": dirty, "exact": exact}


def image_tag(project_dir: Path) -> str:
    preset = os.environ.get("IMAGE_TAG")
    if preset:
        return preset
    parts = tag_parts(project_dir)
    sha = parts["sha"] + ("-dirty" if parts["sha"] and parts["dirty"] else "")
    return docker_tag(parts["version"] + (f"-{sha}" if sha else ""))


def release_tags(project_dir: Path) -> list[str]:
    if os.environ.get("IMAGE_TAG"):
        return []
    parts = tag_parts(project_dir)
    if not parts["sha"] or parts["dirty"]:
        return []
    return ([docker_tag(parts["version"])] if parts["exact"] else []) + [docker_tag(parts["sha"])]


def log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def ic_log_group(component: str) -> str:
    return f"/aws/sagemaker/InferenceComponents/{component}"


def role_name(endpoint: str) -> str:
    """The execution role deploy creates for an endpoint: <endpoint[:48]>-sagemaker-exec."""
    return endpoint[:48].rstrip("-") + "-sagemaker-exec"


def model_package_group(project: str) -> str:
    """The model package group ``register`` creates for the project: its SageMaker name."""
    return sagemaker_name(project)


def scaling_names(name: str) -> dict:
    """The names autoscale gives what it creates for NAME: tracking policy, wake policy, wake alarm."""
    return {"tracking_policy": sagemaker_name(f"{name[:40]}-target-tracking"),
            "wake_policy": sagemaker_name(f"{name[:40]}-scale-from-zero"),
            "wake_alarm": sagemaker_name(f"{name[:40]}-no-capacity")}


def codebuild_names(repo: str, account: str, region: str) -> dict:
    """What the CodeBuild target creates: {"project", "bucket", "role"} (as deploy/lib.sh named them)."""
    project = sagemaker_name(f"{repo[:200]}-image")
    bucket = re.sub(r"[._]", "-", repo[:28]).rstrip("-") + f"-cb-{account}-{region}"
    return {"project": project, "bucket": bucket, "role": f"{project[:54]}-codebuild"}


def update_suffix(now=None) -> str:
    """-<UTC yyyymmddHHMMSS>: the suffix of the model and endpoint config an in-place update creates."""
    import datetime

    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("-%Y%m%d%H%M%S")


def versioned(name: str, suffix: str) -> str:
    """``name`` cut to fit with ``suffix`` in SageMaker's 63 characters."""
    return name[:63 - len(suffix)].rstrip("-") + suffix


def is_version_of(name: str, candidate: str) -> bool:
    """``candidate`` is ``versioned(name, update_suffix())`` for some time."""
    suffix = candidate[len(candidate.rstrip("0123456789")):]
    return (len(suffix) == 14 and candidate.endswith(suffix) and candidate[:-15] == name[:63 - 15].rstrip("-")
            and candidate[-15] == "-")
