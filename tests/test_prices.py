"""The hosting-price snapshot (generator/data/instances.json _hosting_prices) and generator/prices.py.

Every rate in the snapshot must name its source (a key of _hosting_prices.sources, whose text says
where the figure was recorded and from which AWS Price List file) and its date; a cited hosting rate
is what the lock carries, ahead of the catalog's us-west-2 training rate.
"""
from __future__ import annotations

import datetime
import re

import pytest

from generator import prices
from generator.sizing import catalog

SNAPSHOT = catalog()["_hosting_prices"]
ENTRIES = [(region, itype, entry) for region, rates in SNAPSHOT["regions"].items()
           for itype, entry in rates.items()]
REGION = re.compile(r"^(us|eu|ap|ca|sa|me|af|il|mx)-[a-z]+-\d$")


def iso_date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def test_the_snapshot_is_not_empty_and_says_what_it_is():
    assert SNAPSHOT["kind"] == "hosting" and "real-time hosting" in SNAPSHOT["currency"]
    assert len(ENTRIES) >= 3 and SNAPSHOT["sources"]


@pytest.mark.parametrize("region, itype, entry", ENTRIES, ids=[f"{r}-{t}" for r, t, _ in ENTRIES])
def test_every_rate_has_a_source_a_date_and_a_region(region, itype, entry):
    assert REGION.match(region), region
    assert itype in catalog()["instances"], f"{itype} is not a catalog instance type"
    assert isinstance(entry["usd_per_hour"], (int, float)) and entry["usd_per_hour"] > 0
    source = SNAPSHOT["sources"][entry["source"]]
    assert "Price List" in source["source"] and source["url"].startswith("https://github.com/")
    assert re.search(r"/blob/[0-9a-f]{40}/", source["url"]), "the source is pinned to a commit"
    iso_date(entry["date"])
    assert set(entry) <= {"usd_per_hour", "source", "date", "confirmed_by"}
    for other in entry.get("confirmed_by", []):
        assert other in SNAPSHOT["sources"] and other != entry["source"]


def test_every_source_is_dated_and_used():
    used = {entry["source"] for _, _, entry in ENTRIES}
    used |= {other for _, _, entry in ENTRIES for other in entry.get("confirmed_by", [])}
    assert used == set(SNAPSHOT["sources"])
    for key, source in SNAPSHOT["sources"].items():
        assert source["source"] and key in source["source"], key
        iso_date(source["date"])


@pytest.mark.parametrize("region, itype, entry", ENTRIES, ids=[f"{r}-{t}" for r, t, _ in ENTRIES])
def test_the_lock_carries_the_cited_hosting_rate(region, itype, entry):
    price = prices.for_lock(itype, region)
    assert (price["usd_per_hour"], price["kind"], price["region"], price["date"]) == \
        (entry["usd_per_hour"], "hosting", region, entry["date"])
    assert price["source"] == SNAPSHOT["sources"][entry["source"]]["source"]


def test_a_cited_hosting_rate_wins_over_the_training_rate():
    training = catalog()["instances"]["ml.g6e.2xlarge"]["price_usd_per_hour"]
    hosting = SNAPSHOT["regions"]["us-east-1"]["ml.g6e.2xlarge"]["usd_per_hour"]
    assert training and hosting != training
    price = prices.for_lock("ml.g6e.2xlarge", "us-east-1")
    assert (price["usd_per_hour"], price["kind"], price["region"]) == (hosting, "hosting", "us-east-1")
    # the same type elsewhere has no cited hosting rate: the training rate, labelled as one
    other = prices.for_lock("ml.g6e.2xlarge", "eu-west-1")
    assert (other["usd_per_hour"], other["kind"], other["region"]) == (training, "training", "us-west-2")


def test_a_hosting_rate_is_given_where_the_catalog_has_no_training_rate():
    assert catalog()["instances"]["ml.g6.16xlarge"]["price_usd_per_hour"] is None
    assert prices.for_lock("ml.g6.16xlarge", "us-east-1")["kind"] == "hosting"
    assert prices.for_lock("ml.g6.16xlarge", "us-west-2")["usd_per_hour"] is None


def test_no_rate_is_borrowed_from_another_region():
    for region, itype, _ in ENTRIES:
        for elsewhere in ("ap-southeast-2", "sa-east-1"):
            assert prices.for_lock(itype, elsewhere)["kind"] != "hosting"
