"""Hand-made listings for scoring tests: the rows enrichment, screening and ingest would write."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from property_pipeline.warehouse import store
from property_pipeline.warehouse.resource import WarehouseResource

DAY = dt.date(2026, 11, 29)


def listing(key: str, **overrides: Any) -> dict[str, Any]:
    """One analysed listing's facts; every field the scoring reads, overridable by name.

    The default is an ordinary two-bedroom terraced house in Manchester M14, asking £200,000
    against a comparables value of £210,000 from 8 sales, with an EPC floor area.
    """
    facts = {
        "listing_key": key,
        "property_key": f"property:{key}",
        "price": 200_000,
        "postcode": "M14 5AB",
        "outcode": "M14",
        "address": f"{key} Road, Manchester",
        "listing_type": "sale",
        "property_type": "terraced",
        "bedrooms": 2,
        "unit_count": 1,
        "unit_kind": None,
        "tenure": "freehold",
        "lease_years_remaining": None,
        "commercial_units": 0,
        "red_flags": [],
        "signals": [],
        "estimated_value": 210_000,
        "value_low": 195_000,
        "value_high": 225_000,
        "value_confidence": 0.8,
        "comparables_count": 8,
        "floor_area_sqm": 75.0,
        "epc_rating": "D",
        "condition": "good",
        "refurbishment_scope": None,
        "unit_breakdown": None,
        "strategy_fit": [],
        "title": f"Two bedroom house {key}",
        "url": f"https://example.test/{key}",
        "description": "A two bedroom terraced house.",
        "agent": "Example Estates",
        "days_on_market": 10,
        "price_cuts": 0,
        "price_cut_pct": None,
        "listing_status": "active",
        "source": "rightmove",
    }
    unknown = set(overrides) - set(facts)
    if unknown:
        raise KeyError(f"unknown listing fields {sorted(unknown)}")
    facts.update(overrides)
    return facts


def insert_listings(
    warehouse: WarehouseResource, listings: Iterable[dict[str, Any]], day: dt.date = DAY
) -> None:
    """Write the listings as enriched, screened, listing_features and deduped_listings rows."""
    rows = list(listings)
    frames = {
        "enriched": [_enriched(row) for row in rows],
        "screened": [_screened(row) for row in rows],
        "listing_features": [_features(row) for row in rows],
        "deduped_listings": [_deduped(row, day) for row in rows],
    }
    with warehouse.connection() as conn:
        for table, records in frames.items():
            store.replace_partition_from_frame(conn, table, day, pd.DataFrame.from_records(records))


def market_listings(
    outcode: str, count: int, price: int, bedrooms: int = 2, property_type: str = "terraced"
) -> list[dict[str, Any]]:
    """Ordinary listings (not analysed) that make up an outcode's market on the day."""
    return [
        {
            "listing_key": f"market:{outcode}:{property_type}:{bedrooms}:{index}",
            "property_key": f"market-property:{outcode}:{property_type}:{bedrooms}:{index}",
            "price": price + 1_000 * index,
            "outcode": outcode,
            "bedrooms": bedrooms,
            "property_type": property_type,
        }
        for index in range(count)
    ]


def insert_market(
    warehouse: WarehouseResource, rows: Iterable[dict[str, Any]], day: dt.date = DAY
) -> None:
    """Add market listings to the day's deduped_listings, keeping the rows already there."""
    records = [
        _deduped(
            listing(row["listing_key"], **{k: v for k, v in row.items() if k != "listing_key"}),
            day,
        )
        for row in rows
    ]
    with warehouse.connection() as conn:
        existing = conn.execute(
            "select * exclude (partition_date) from deduped_listings where partition_date = ?",
            [day],
        ).df()
        frame = pd.concat([existing, pd.DataFrame.from_records(records)], ignore_index=True)
        store.replace_partition_from_frame(conn, "deduped_listings", day, frame)


def scored_rows(warehouse: WarehouseResource, day: dt.date = DAY) -> dict[str, dict[str, Any]]:
    """The scored partition keyed by listing_key, each row a dict of its columns."""
    with duckdb.connect(warehouse.database, read_only=True) as conn:
        frame = conn.execute("select * from scored where partition_date = ?", [day]).df()
    return {row["listing_key"]: row for row in frame.to_dict("records")}


def breakdown_total(breakdown_json: str) -> Decimal:
    """Components' points, penalties, clamp, caps and rounding added up exactly."""
    breakdown = json.loads(breakdown_json, parse_float=Decimal, parse_int=Decimal)
    return (
        sum((item["points"] for item in breakdown["components"]), Decimal(0))
        + sum((item["points"] for item in breakdown["penalties"]), Decimal(0))
        + sum((item["points"] for item in breakdown["caps"]), Decimal(0))
        + breakdown["clamp"]
        + breakdown["rounding"]
    )


def _enriched(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "listing_key": row["listing_key"],
        "property_key": row["property_key"],
        "status": "analysed",
        "attempts": 1,
        "listing_type": row["listing_type"],
        "price": row["price"],
        "postcode": row["postcode"],
        "outcode": row["outcode"],
        "address": row["address"],
        "property_type": row["property_type"],
        "bedrooms": row["bedrooms"],
        "unit_count": row["unit_count"],
        "tenure": row["tenure"],
        "floor_area_sqm": row["floor_area_sqm"],
        "epc_rating": row["epc_rating"],
        "comparables_count": row["comparables_count"],
        "estimated_value": row["estimated_value"],
        "value_low": row["value_low"],
        "value_high": row["value_high"],
        "value_confidence": row["value_confidence"],
        "condition": row["condition"],
        "refurbishment_scope": row["refurbishment_scope"],
        "unit_breakdown": row["unit_breakdown"],
        "strategy_fit": row["strategy_fit"],
        "enriched_at": dt.datetime(2026, 11, 29, 12, 0),
    }


def _screened(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "listing_key": row["listing_key"],
        "property_key": row["property_key"],
        "status": "pending_enrichment",
        "reasons": [],
        "price": row["price"],
        "outcode": row["outcode"],
        "property_type": row["property_type"],
        "tenure": row["tenure"],
        "lease_years_remaining": row["lease_years_remaining"],
        "unit_count": row["unit_count"],
        "unit_kind": row["unit_kind"],
        "red_flags": row["red_flags"],
        "signals": row["signals"],
    }


def _features(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "listing_key": row["listing_key"],
        "unit_count": row["unit_count"],
        "unit_kind": row["unit_kind"],
        "commercial_units": row["commercial_units"],
        "tenure": row["tenure"],
        "lease_years_remaining": row["lease_years_remaining"],
        "red_flags": row["red_flags"],
        "signals": row["signals"],
    }


def _deduped(row: dict[str, Any], day: dt.date) -> dict[str, Any]:
    return {
        "listing_key": row["listing_key"],
        "property_key": row["property_key"],
        "source": row["source"],
        "source_id": row["listing_key"],
        "url": row["url"],
        "listing_type": row["listing_type"],
        "title": row["title"],
        "price": row["price"],
        "property_type": row["property_type"],
        "bedrooms": row["bedrooms"],
        "tenure": row["tenure"],
        "lease_years_remaining": row["lease_years_remaining"],
        "postcode": row["postcode"],
        "outcode": row["outcode"],
        "address": row["address"],
        "description": row["description"],
        "key_features": [],
        "agent": row["agent"],
        "listing_status": row["listing_status"],
        "first_seen_on": day,
        "times_seen": 1,
        "match_confidence": 1.0,
        "match_method": "self",
        "sources_seen": 1,
        "sources": [row["source"]],
        "listings_linked": 1,
        "property_first_listed_at": day - dt.timedelta(days=row["days_on_market"]),
        "days_on_market": row["days_on_market"],
        "price_cuts": row["price_cuts"],
        "price_cut_pct": row["price_cut_pct"],
    }
