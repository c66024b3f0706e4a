"""The server image for the project's region.

AWS's LMI images live in a Deep Learning Containers ECR account that differs by region (most
regions 763104351884, others their own: af-south-1 626614931356, ap-east-1 871362719292, the
China regions 727897471807, ...). The catalog entry's ``registry.accounts`` is the SageMaker
Python SDK's map (``image_uri_config/djl-lmi.json``, cited in ``registry.source``); the host is
``<account>.dkr.ecr.<region>.<dnsSuffix>``, the DNS suffix of the region's partition in botocore's
``partitions.json`` (``amazonaws.com.cn`` in China). A region with no LMI image is refused.
Images on public registries (Docker Hub, NGC) have no ``registry`` and are the same everywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import InvalidAnswer


@lru_cache(maxsize=None)
def dns_suffix(region: str) -> str:
    """The DNS suffix of ``region``'s partition (botocore's partitions.json); amazonaws.com by default."""
    try:
        from botocore.loaders import create_loader
    except ImportError:
        return "amazonaws.com"
    for part in create_loader().load_data("partitions")["partitions"]:
        if region in part.get("regions", {}) or re.match(part["regionRegex"], region):
            return part["outputs"]["dnsSuffix"]
    return "amazonaws.com"


def host(account: str, region: str) -> str:
    return f"{account}.dkr.ecr.{region}.{dns_suffix(region)}"


def image_for_region(entry: dict, region: str) -> str:
    """``entry['image']`` (a catalog entry, servers.entry) for ``region``: LMI's regional ECR account
    and host; other images unchanged. Raises InvalidAnswer for a region with no such image."""
    registry = entry.get("registry")
    if not registry:
        return entry["image"]
    accounts = registry["accounts"]
    default = registry["default_region"]
    prefix = host(accounts[default], default) + "/"
    if not entry["image"].startswith(prefix):
        raise ValueError(f"catalog image {entry['image']} is not in {prefix} (registry.default_region)")
    if region not in accounts:
        label = f"{entry['title']} {entry['version']}"
        raise InvalidAnswer(
            f"{label} has no image in awsRegion '{region}': AWS publishes the LMI image (djl-inference) in "
            f"these regions only: {', '.join(sorted(accounts))} (the SageMaker Python SDK's djl-lmi.json). "
            f"Choose one of them with -d awsRegion=<region>, or a server whose image is public: "
            f"modelServer=vllm, sglang, tensorrt-llm or djl.")
    return host(accounts[region], region) + "/" + entry["image"][len(prefix):]
