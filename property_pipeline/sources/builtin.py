"""A small built-in set of listings, so the pipeline runs end to end with no network at all."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pandas as pd

from property_pipeline.sources.listing import LISTING_FIELDS

SOURCE_URLS = {
    "rightmove": "https://www.rightmove.co.uk/properties/{id}",
    "zoopla": "https://www.zoopla.co.uk/for-sale/details/{id}/",
    "allsop": "https://www.allsop.co.uk/lot-overview/{id}",
}


def builtin_listings(seen_on: dt.date) -> pd.DataFrame:
    """The sample listings as a scrape on `seen_on` would have normalised them.

    Listings first advertised after `seen_on` are left out, so earlier partitions hold fewer.
    """
    text = resources.files("property_pipeline.sources").joinpath("sample_listings.json")
    records = json.loads(text.read_text())
    scraped_at = dt.datetime.combine(seen_on, dt.time(7, 0))
    rows = []
    for record in records:
        first_listed = dt.date.fromisoformat(record["first_listed_at"])
        if first_listed > seen_on:
            continue
        row = {column: record.get(column) for column in LISTING_FIELDS}
        row["url"] = SOURCE_URLS[record["source"]].format(id=record["source_id"])
        row["outcode"] = record["postcode"].split()[0]
        row["first_listed_at"] = first_listed
        row["auction_date"] = (
            dt.date.fromisoformat(record["auction_date"]) if record.get("auction_date") else None
        )
        row["scraped_at"] = scraped_at
        rows.append(row)
    return pd.DataFrame(rows, columns=list(LISTING_FIELDS))
