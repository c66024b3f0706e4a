"""The generated deploy/README.md: this project's numbers and the commands as `python -m deploy` takes
them (moved from tests/test_deploy.py when the bash scripts went)."""
from __future__ import annotations

import json
import re


def test_hosting_readme_quotes_the_lock(rendered, deploy_main):
    """deploy/README.md gives this project's numbers (cold start, per-copy reservation) and commands that
    the CLI parses; it names no deploy/*.sh script or client."""
    dep = json.loads((rendered / "model.lock.json").read_text())["deployment"]
    raw = (rendered / "deploy" / "README.md").read_text()
    text = " ".join(raw.split())
    assert text.startswith("# Hosting modes")
    assert f"up to {dep['container_startup_health_check_timeout_s']} s for this model" in text
    memory = dep["inference_component_memory_mb"]
    assert f"reserves {dep['tensor_parallel_size']} GPU(s) (the tensor-parallel size) and {memory} MB" in text
    assert f"of the {dep['host_memory_gib']} GiB {dep['instance_type']} has" in text
    commands = ["deploy --inference-component", "autoscale --min 0", "deploy --async s3://bucket/prefix/",
                "upload-model s3://bucket/prefix/", "async --request-file request.json", "test --wait-for-capacity 900"]
    parser = deploy_main.parser()
    for command in commands:
        assert f"python -m deploy {command}" in text, command
        parser.parse_args(command.split())  # the CLI takes it as written
    assert not re.search(r"deploy/\w+\.sh|stream_client|async_client", raw), raw
