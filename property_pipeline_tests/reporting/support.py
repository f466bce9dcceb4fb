"""Hand-made warehouse rows for the reporting tests: only the columns a test cares about.

`insert_rows` fills every other NOT NULL column with a neutral value read from the live schema,
so a stage adding a required column does not break these tests.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import duckdb

Row = dict[str, Any]

NEUTRAL_VALUES: dict[str, Any] = {
    "VARCHAR": "",
    "VARCHAR[]": [],
    "INTEGER": 0,
    "BIGINT": 0,
    "DOUBLE": 0.0,
    "BOOLEAN": False,
    "DATE": dt.date(2026, 1, 1),
    "TIMESTAMP": dt.datetime(2026, 1, 1),
}


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, rows: list[Row]) -> None:
    """Insert rows given as dicts; required columns a row leaves out get a neutral value."""
    required = conn.execute(
        """
        select column_name, data_type
        from information_schema.columns
        where table_name = ? and is_nullable = 'NO' and column_default is null
        """,
        [table],
    ).fetchall()
    for row in rows:
        full = {name: NEUTRAL_VALUES[data_type] for name, data_type in required if name not in row}
        full.update(row)
        names = list(full)
        conn.execute(
            f"insert into {table} ({', '.join(names)}) values ({', '.join(['?'] * len(names))})",
            [full[name] for name in names],
        )


def seen(
    day: dt.date,
    listing_key: str,
    property_key: str,
    outcode: str,
    property_type: str,
    price: int,
    first_listed: dt.date,
    status: str = "active",
) -> Row:
    """A `deduped_listings` row: the listing seen on `day` at `price`."""
    source, source_id = listing_key.split(":")
    return {
        "partition_date": day,
        "listing_key": listing_key,
        "property_key": property_key,
        "source": source,
        "source_id": source_id,
        "listing_type": "sale",
        "outcode": outcode,
        "property_type": property_type,
        "price": price,
        "listing_status": status,
        "first_seen_on": first_listed,
        "times_seen": 1,
        "property_first_listed_at": first_listed,
        "days_on_market": (day - first_listed).days,
        "price_cuts": 0,
    }


def withdrawn(day: dt.date, listing_key: str, first_listed: dt.date) -> Row:
    """A `listing_history` row marking the listing withdrawn on `day`."""
    source, source_id = listing_key.split(":")
    return {
        "partition_date": day,
        "listing_key": listing_key,
        "source": source,
        "source_id": source_id,
        "status": "withdrawn",
        "first_seen_on": first_listed,
        "last_seen_on": day - dt.timedelta(days=1),
        "first_listed_at": first_listed,
    }


def price_change(day: dt.date, listing_key: str, old_price: int, new_price: int) -> Row:
    """A `listing_price_history` row: the listing's price went from old to new on `day`."""
    source, source_id = listing_key.split(":")
    return {
        "partition_date": day,
        "listing_key": listing_key,
        "source": source,
        "source_id": source_id,
        "previous_seen_on": day - dt.timedelta(days=1),
        "old_price": old_price,
        "new_price": new_price,
        "price_change": new_price - old_price,
        "price_change_pct": round((new_price - old_price) / old_price, 4),
    }


def floor_area(day: dt.date, listing_key: str, property_key: str, sqm: float) -> Row:
    """An `enriched` row giving the listing an EPC floor area."""
    return {
        "partition_date": day,
        "listing_key": listing_key,
        "property_key": property_key,
        "status": "analysed",
        "floor_area_sqm": sqm,
        "enriched_at": dt.datetime.combine(day, dt.time(9)),
    }


def scored_band(day: dt.date, listing_key: str, property_key: str, band: str) -> Row:
    """A `scored` row putting the listing in a band on `day`."""
    scores = {"hot": 90, "good": 75, "watchlist": 65, "pass": 30}
    return {
        "partition_date": day,
        "listing_key": listing_key,
        "property_key": property_key,
        "band": band,
        "score": scores[band],
        "scored_at": dt.datetime.combine(day, dt.time(10)),
    }


def sale(
    transferred_on: dt.date, district: str, ppd_type: str, price: int, category: str = "A"
) -> Row:
    """A `price_paid` row: a Land Registry sale in a postcode district."""
    return {
        "transaction_id": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{district}/{transferred_on}/{price}")
        ),
        "price": price,
        "transferred_on": transferred_on,
        "postcode": f"{district} 1AA",
        "postcode_district": district,
        "property_type": ppd_type,
        "category": category,
    }
