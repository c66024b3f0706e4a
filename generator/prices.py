"""The hourly price model.lock.json carries for ``python -m deploy bench`` (deployment.price).

``for_lock(instance_type, region)``: the catalog's SageMaker real-time hosting rate for that type
in that region (instances.json ``_hosting_prices``, a dated snapshot with its source) when it
has one; else the catalog's us-west-2 training rate, labelled as what it is (``kind``
"training", never passed off as a hosting price); else no price. The deploy tool asks the AWS
Price List API first when the user's credentials allow it, so this is the offline fallback.
"""
from __future__ import annotations

from typing import Any

from .sizing import catalog


def for_lock(instance_type: str, region: str) -> dict[str, Any]:
    cat = catalog()
    hosting = cat.get("_hosting_prices") or {}
    rate = ((hosting.get("regions") or {}).get(region) or {}).get(instance_type)
    if rate:
        return {"usd_per_hour": rate, "kind": "hosting", "region": region,
                "source": hosting.get("source"), "date": hosting.get("date")}
    training = cat.get("_prices") or {}
    rate = ((cat.get("instances") or {}).get(instance_type) or {}).get("price_usd_per_hour")
    if rate:
        return {"usd_per_hour": rate, "kind": training.get("kind") or "training", "region": "us-west-2",
                "source": training.get("label"), "date": "2026-11-25"}
    return {"usd_per_hour": None, "kind": None, "region": region, "source": None, "date": None}
