"""Print the README's server table from the catalog (generator/data/engines.json).

    python tools/catalog_table.py            # the markdown table
tests/test_readme.py checks that README.md holds exactly this table, so the README cannot drift
from the catalog.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generator import servers  # noqa: E402


def table() -> str:
    rows = ["| `modelServer` | `modelServerVersion` | image | CUDA / `InferenceAmiVersion` | `/ping`, `/invocations` |",
            "|---|---|---|---|---|"]
    for name in servers.SERVERS:
        for version in servers.versions(name):
            e = servers.entry(name, version)
            label = f"`{version}` (default)" if version == e["default_version"] else f"`{version}`"
            tag = "" if e["tag_confirmed"] else " (tag not confirmed upstream)"
            rows.append(f"| `{name}` | {label} | `{e['image']}`{tag} | {e['cuda']} / "
                        f"`{e['inference_ami_version']}` | {e['routes']} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
