"""AWS region names, from botocore's own partition data (``botocore/data/partitions.json``, read
with ``botocore.loaders``): every partition's ``regions`` (aws, aws-cn, aws-us-gov, the ISO and
EU sovereign partitions), without the ``*-global`` pseudo-regions. A region that botocore does not
list is refused with a did-you-mean; a region newer than the installed botocore needs a newer one.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

from .errors import InvalidAnswer

DEFAULT = "us-east-1"


@lru_cache(maxsize=1)
def known_regions() -> tuple[tuple[str, str], ...]:
    """(region, partition id) for every region botocore knows; () without botocore."""
    try:
        from botocore.loaders import create_loader
    except ImportError:
        return ()
    data = create_loader().load_data("partitions")
    return tuple(sorted((region, part["id"]) for part in data["partitions"]
                        for region in part.get("regions", {}) if not region.endswith("-global")))


def botocore_version() -> str:
    try:
        import botocore
    except ImportError:
        return "none"
    return botocore.__version__


def problem(region: str) -> str:
    """'' for a region botocore lists, else the one-paragraph message."""
    region = str(region).strip()
    if region == DEFAULT:   # the default needs no look-up
        return ""
    regions = known_regions()
    if not regions:
        return ("" if region[:2].isalpha() and region.count("-") >= 2 else
                f"awsRegion '{region}' is not an AWS region name such as us-east-1.")
    names = [name for name, _ in regions]
    if region in names:
        return ""
    close = difflib.get_close_matches(region.lower(), names, n=1, cutoff=0.6)
    guess = f" Did you mean '{close[0]}'?" if close else ""
    return (f"awsRegion '{region}' is not an AWS region.{guess} Regions botocore {botocore_version()} knows: "
            f"{', '.join(n for n, p in regions if p == 'aws')} (and {len(names) - sum(p == 'aws' for _, p in regions)} "
            "in the China, GovCloud and isolated partitions). A region newer than that needs a newer botocore: "
            "pip install -U botocore.")


def check(region: str) -> None:
    message = problem(region)
    if message:
        raise InvalidAnswer(message)
