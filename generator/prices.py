"""The hourly price model.lock.json carries for ``python -m deploy bench`` (deployment.price).

``for_lock(instance_type, region)``: the catalog's SageMaker real-time hosting rate for that type
in that region (instances.json ``_hosting_prices``: a snapshot whose every rate names its source,
a key of ``_hosting_prices.sources``, and its date) when it has one; else the catalog's us-west-2
training rate, labelled as what it is (``kind`` "training", never passed off as a hosting price);
else no price. The deploy tool asks the AWS Price List API first when the user's credentials allow
it, so this is the offline fallback.
"""
from __future__ import annotations

from typing import Any

from .sizing import catalog


def hosting_rate(instance_type: str, region: str) -> dict[str, Any] | None:
    """The snapshot's entry for this type in this region, its source resolved to the source's text
    ({usd_per_hour, source, date, url}), or None when the snapshot has no rate for it."""
    hosting = catalog().get("_hosting_prices") or {}
    entry = ((hosting.get("regions") or {}).get(region) or {}).get(instance_type)
    if not entry or not entry.get("usd_per_hour"):
        return None
    cited = (hosting.get("sources") or {}).get(entry.get("source")) or {}
    return {"usd_per_hour": entry["usd_per_hour"], "source": cited.get("source"),
            "date": entry.get("date") or cited.get("date"), "url": cited.get("url")}


def for_lock(instance_type: str, region: str) -> dict[str, Any]:
    cat = catalog()
    hosting = hosting_rate(instance_type, region)
    if hosting:
        return {"usd_per_hour": hosting["usd_per_hour"], "kind": "hosting", "region": region,
                "source": hosting["source"], "date": hosting["date"]}
    training = cat.get("_prices") or {}
    rate = ((cat.get("instances") or {}).get(instance_type) or {}).get("price_usd_per_hour")
    if rate:
        return {"usd_per_hour": rate, "kind": training.get("kind") or "training", "region": "us-west-2",
                "source": training.get("label"), "date": "2026-11-25"}
    return {"usd_per_hour": None, "kind": None, "region": region, "source": None, "date": None}
