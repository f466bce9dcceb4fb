"""Ingest stage tests, and the helpers they share to drive raw_listings by hand.

The helpers run the ingest SQL models the way their assets do (`store.replace_partition` on each
model, in dependency order, with the assets' default config) on an in-memory warehouse, so a
test can lay out many days of listings and still run in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from property_pipeline.ingest.assets import ListingHistoryConfig, PropertyMatchingConfig
from property_pipeline.warehouse import store
from property_pipeline.warehouse.models import SqlModel, load_models
from property_pipeline_tests.conftest import REPO_ROOT

INGEST_MODELS = ("listing_history", "property_links", "deduped_listings", "listing_price_history")
DEFAULT_PARAMS = {**ListingHistoryConfig().model_dump(), **PropertyMatchingConfig().model_dump()}


@cache
def ingest_models() -> dict[str, SqlModel]:
    """The project's SQL models, parsed once per test process."""
    with duckdb.connect(":memory:") as scratch:
        store.create_schema(scratch)
        tables = set(store.warehouse_tables(scratch))
    return load_models(REPO_ROOT / "dbt_like_sql", tables)


def empty_warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with every table created and nothing in it."""
    conn = duckdb.connect(":memory:")
    store.create_schema(conn)
    return conn


def run_ingest(conn: duckdb.DuckDBPyConnection, day: dt.date, **params: Any) -> None:
    """Materialise every ingest model's partition for `day`, as the ingest assets do."""
    values = {"partition_date": day, **DEFAULT_PARAMS, **params}
    models = ingest_models()
    for name in INGEST_MODELS:
        model = models[name]
        store.replace_partition(conn, name, day, model.sql, model.bind(values))


def listing(source: str, source_id: str, **fields: Any) -> dict[str, Any]:
    """One raw listing: a three-bedroom terrace in Leeds unless `fields` say otherwise."""
    return {
        "source": source,
        "source_id": source_id,
        "url": f"https://example.test/{source}/{source_id}",
        "listing_type": "auction_lot" if source in ("allsop", "auctionhouse") else "sale",
        "title": "3 bedroom terraced house for sale",
        "price": 165_000,
        "property_type": "terraced",
        "bedrooms": 3,
        "tenure": "freehold",
        "postcode": "LS6 3HN",
        "outcode": "LS6",
        "address": "Brudenell Grove, Leeds, LS6",
        "latitude": 53.8135,
        "longitude": -1.5672,
        "description": "A terraced house.",
        "key_features": ["Freehold"],
        "first_listed_at": dt.date(2026, 10, 1),
        **fields,
    }


def scrape(conn: duckdb.DuckDBPyConnection, day: dt.date, *listings: dict[str, Any]) -> None:
    """Store `listings` as the day's raw_listings partition, scraped at 07:00 unless they say."""
    frame = pd.DataFrame(
        [{"scraped_at": dt.datetime.combine(day, dt.time(7)), **item} for item in listings]
    )
    store.replace_partition_from_frame(conn, "raw_listings", day, frame)


def query(conn: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[tuple]:
    """The rows of a query."""
    return conn.execute(sql, list(params)).fetchall()


def table_snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of every ingest table, in a stable order, for comparing whole warehouses."""
    return {
        table: conn.execute(f"select * from {table} order by all").fetchall()
        for table in INGEST_MODELS
    }
