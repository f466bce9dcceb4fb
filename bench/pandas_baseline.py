"""The yardstick: the same dedupe and screening written as a typical pandas script would.

It reads every raw listing into one DataFrame, then for each day, in order as a backfill would:
keeps each advert's latest scrape (sort and groupby), works out its history (first seen, times
seen, price before), matches adverts to properties on a normalised address built row by row,
and screens the day's listings with regexes applied row by row (units, lease, red flags) against
the same default criteria as `screened`. The results are close to the pipeline's, not equal:
the point is the cost of the usual way of writing it, not a second implementation to maintain.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import pandas as pd

ABBREVIATIONS = {"rd": "road", "st": "street", "ave": "avenue", "ln": "lane", "dr": "drive"}
RED_FLAG_PATTERNS = {
    "shared_ownership": r"shared[- ]ownership|\d+% share",
    "retirement_or_age_restricted": r"retirement|over[- ]?(?:55|60)s?|assisted living",
    "short_lease": r"short lease",
    "cash_buyers_only": r"cash buyers? only|non[- ]?mortgageable",
    "structural_movement": r"subsidence|underpinn|structural movement",
    "japanese_knotweed": r"japanese knotweed",
    "cladding_ews1": r"ews1|cladding",
    "non_standard_construction": r"non[- ]standard construction|prc|airey|bisf",
}
KILL_FLAGS = ("shared_ownership", "retirement_or_age_restricted")
UNITS = re.compile(r"(\d+|two|three|four|five|six) (?:self[- ]contained )?(?:flats|units)")
LEASE = re.compile(r"(\d{2,3}) years? (?:remaining|left|unexpired)")
WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def address_key(row: pd.Series) -> str:
    """Lower case, punctuation out, street words spelt out, postcode appended."""
    text = re.sub(r"[^a-z0-9 ]+", " ", str(row["address"] or "").lower())
    words = [ABBREVIATIONS.get(word, word) for word in text.split()]
    return " ".join(words) + "|" + str(row["postcode"] or row["outcode"] or "")


def screen_row(row: pd.Series) -> pd.Series:
    """Units, lease, red flags and the verdict for one listing, by regex over its words."""
    text = (
        " ".join(
            str(part or "") for part in (row["title"], row["summary"], row["description"])
        ).lower()
        + " "
        + " ".join(row["key_features"] if row["key_features"] is not None else [])
    )
    flags = [code for code, pattern in RED_FLAG_PATTERNS.items() if re.search(pattern, text)]
    units = UNITS.search(text)
    unit_count = None
    if units:
        count = units.group(1)
        unit_count = int(count) if count.isdigit() else WORDS[count]
    lease = row["lease_years_remaining"]
    if pd.isna(lease):
        found = LEASE.search(text)
        lease = int(found.group(1)) if found else None
    reasons = []
    price = row["price"]
    if pd.isna(price):
        reasons.append("price_missing")
    elif price < 50_000:
        reasons.append("price_below_minimum")
    elif price > 1_500_000:
        reasons.append("price_above_maximum")
    if lease is not None and lease < 70:
        reasons.append("lease_too_short")
    reasons += [f"red_flag:{flag}" for flag in flags if flag in KILL_FLAGS]
    return pd.Series(
        {
            "unit_count": unit_count,
            "lease_years_remaining": lease,
            "red_flags": flags,
            "status": "rejected" if reasons else "pending_enrichment",
            "reasons": reasons,
        }
    )


def dedupe_and_screen_day(raw: pd.DataFrame, day: Any) -> pd.DataFrame:
    """The day's listings, deduped, with history, property keys and the screening verdict."""
    upto = raw[raw["partition_date"] <= day]
    latest = upto.sort_values("scraped_at").groupby(["source", "source_id"]).tail(1).copy()
    history = upto.groupby(["source", "source_id"]).agg(
        first_seen_on=("partition_date", "min"), times_seen=("partition_date", "nunique")
    )
    previous = (
        upto[upto["partition_date"] < day]
        .sort_values("partition_date")
        .groupby(["source", "source_id"])["price"]
        .last()
        .rename("previous_price")
    )
    latest["address_key"] = latest.apply(address_key, axis=1)
    keys = latest.groupby(["address_key", "bedrooms"], dropna=False)["source_id"].transform("min")
    latest["property_key"] = keys
    today = latest[latest["partition_date"] == day]
    today = today.join(history, on=["source", "source_id"]).join(
        previous, on=["source", "source_id"]
    )
    verdicts = today.apply(screen_row, axis=1)
    return pd.concat([today.drop(columns=["lease_years_remaining"]), verdicts], axis=1)


def run(warehouse: str) -> dict[str, Any]:
    """In a child: read every raw listing, then dedupe and screen each day in order."""
    with duckdb.connect(warehouse, read_only=True) as conn:
        raw = conn.execute("select * from raw_listings").df()
    days = sorted(raw["partition_date"].unique())
    screened = passed = 0
    for day in days:
        result = dedupe_and_screen_day(raw, day)
        screened += len(result)
        passed += int((result["status"] == "pending_enrichment").sum())
    return {"rows_out": screened, "passed": passed, "days": len(days)}
