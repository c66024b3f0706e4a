"""awsRegion is checked against botocore's partition data (botocore.loaders, data/partitions.json)."""

from __future__ import annotations

import json

import pytest
from botocore.loaders import create_loader
from copier import run_copy
from copier.errors import UserMessageError

from generator import regions
from generator.errors import InvalidAnswer


def test_every_region_botocore_lists_is_accepted_and_no_pseudo_region():
    listed = {r for p in create_loader().load_data("partitions")["partitions"] for r in p["regions"]}
    names = {name for name, _ in regions.known_regions()}
    assert names == {r for r in listed if not r.endswith("-global")}
    assert {"us-east-1", "us-west-2", "eu-central-1", "cn-north-1", "us-gov-west-1"} <= names
    for name in names:
        regions.check(name)


@pytest.mark.parametrize("typo,guess", [("us-easst-1", "us-east-1"), ("eu-wset-1", "eu-west-1"),
                                        ("US-WEST-2", "us-west-2"), ("moon", None)])
def test_an_unknown_region_is_refused_with_a_did_you_mean(typo, guess):
    with pytest.raises(InvalidAnswer) as caught:
        regions.check(typo)
    message = str(caught.value)
    assert f"awsRegion '{typo}' is not an AWS region." in message
    assert (f"Did you mean '{guess}'?" in message) if guess else "Did you mean" not in message
    assert "pip install -U botocore" in message and "us-west-2" in message


def test_a_mistyped_region_stops_generation_before_anything_is_written(template_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserMessageError, match=r"awsRegion 'us-easst-1' is not an AWS region\. Did you mean "
                                               r"'us-east-1'\?"):
        run_copy(str(template_dir), str(tmp_path / "p"), data={"awsRegion": "us-easst-1"}, defaults=True,
                 unsafe=True, quiet=True)
    assert not (tmp_path / "p").exists()
    run_copy(str(template_dir), str(tmp_path / "q"), data={"awsRegion": "eu-central-2"}, defaults=True,
             unsafe=True, quiet=True)
    assert json.loads((tmp_path / "q" / "model.lock.json").read_text())["project"]["aws_region"] == "eu-central-2"


def test_the_interactive_validator_gives_the_same_message():
    import importlib.util
    from testkit import ROOT
    spec = importlib.util.spec_from_file_location("ctx_ext_regions", ROOT / "extensions" / "context.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    assert ext.region_question("us-west-2") == ""
    assert "Did you mean 'us-east-1'?" in ext.region_question("us-easst-1")
