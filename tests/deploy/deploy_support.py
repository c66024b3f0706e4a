"""Small helpers the deploy tool's tests share (the fixtures are in conftest.py)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from aws.helpers import FAKE_TOKEN  # noqa: E402,F401
from fakes import ACCOUNT  # noqa: E402,F401

TAG = "1.0.0-test"
AMI = "al2023-ami-sagemaker-inference-gpu-4-1"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def requests_for(calls: list[dict], operation: str) -> list[dict]:
    """The parameters of each recorded request for one operation."""
    return [c["params"] for c in calls if c["operation"] == operation]


def ops(calls: list[dict]) -> list[str]:
    return [c["operation"] for c in calls]


def one(items: list):
    assert len(items) == 1, items
    return items[0]
