"""generator/registry.py: the LMI base image comes from its region's Deep Learning Containers account
(issue 20 item 7), as the SageMaker Python SDK's image_uri_config/djl-lmi.json maps them; regions
with no LMI image are refused with a message."""

from __future__ import annotations

import json

import pytest
from copier import run_copy
from copier.errors import UserMessageError

from generator import registry, regions, servers
from generator.errors import InvalidAnswer

LMI = [(v,) for v in servers.versions("lmi")]

# Spot checks against djl-lmi.json (aws/sagemaker-python-sdk a2481266, versions.0.36.0.registries)
SDK_ACCOUNTS = {"us-east-1": "763104351884", "us-west-2": "763104351884", "eu-west-1": "763104351884",
                "af-south-1": "626614931356", "ap-east-1": "871362719292", "cn-north-1": "727897471807",
                "me-south-1": "217643126080", "eu-south-1": "692866216735", "us-gov-west-1": "442386744353",
                "il-central-1": "780543022126", "ca-west-1": "204538143572"}


@pytest.mark.parametrize("version", servers.versions("lmi"))
def test_every_mapped_region_gets_its_own_account_and_host(version):
    entry = servers.entry("lmi", version)
    tag = entry["image"].split("/", 1)[1]
    accounts = entry["registry"]["accounts"]
    assert "djl-lmi.json" in entry["registry"]["source"]
    assert registry.image_for_region(entry, "us-east-1") == entry["image"]
    for region, account in accounts.items():
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else registry.dns_suffix(region)
        assert registry.image_for_region(entry, region) == f"{account}.dkr.ecr.{region}.{suffix}/{tag}"
    for region, account in SDK_ACCOUNTS.items():
        assert accounts[region] == account, region
    assert registry.image_for_region(entry, "cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/djl-inference:")


@pytest.mark.parametrize("version,region", [("0.38.0-lmi29.0.0", "us-iso-west-1"),
                                            ("0.32.0-lmi14.0.0", "us-iso-east-1")])
def test_a_region_without_an_lmi_image_is_refused_with_the_regions_that_have_one(version, region):
    assert not regions.problem(region)                      # a real region (botocore), just no LMI image there
    with pytest.raises(InvalidAnswer) as err:
        registry.image_for_region(servers.entry("lmi", version), region)
    message = str(err.value)
    assert f"has no image in awsRegion '{region}'" in message and "us-east-1" in message
    assert "-d awsRegion=" in message and "modelServer=vllm" in message


def test_public_images_are_the_same_everywhere():
    for server in ("vllm", "sglang", "tensorrt-llm", "djl"):
        for version in servers.versions(server):
            entry = servers.entry(server, version)
            assert registry.image_for_region(entry, "af-south-1") == entry["image"]


def test_the_generated_dockerfile_and_lock_use_the_projects_region(template_dir, tmp_path):
    dst = tmp_path / "p"
    run_copy(str(template_dir), str(dst), data={"modelServer": "lmi", "awsRegion": "af-south-1", "offline": True},
             defaults=True, unsafe=True, quiet=True)
    image = "626614931356.dkr.ecr.af-south-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"
    assert f"FROM {image}\n" in (dst / "Dockerfile").read_text()
    assert json.loads((dst / "model.lock.json").read_text())["server"]["image"] == image
    assert f"| image | `{image}` |" in (dst / "README.md").read_text()
    assert "763104351884" not in (dst / "Dockerfile").read_text()


def test_generation_for_a_region_without_lmi_stops_before_writing(template_dir, tmp_path):
    dst = tmp_path / "p"
    with pytest.raises(UserMessageError, match=r"has no image in awsRegion 'us-iso-west-1'"):
        run_copy(str(template_dir), str(dst), data={"modelServer": "lmi", "awsRegion": "us-iso-west-1",
                                                    "offline": True}, defaults=True, unsafe=True, quiet=True)
    assert not dst.exists() or not any(dst.iterdir())
