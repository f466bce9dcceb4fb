"""Hot deals: every listing scoring 85 or more, queued for Slack once per listing and price."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from property_pipeline.notify import blocks, outbox

HOT_SCORE = 85

HOT_DEALS_SQL = """
    select *
    from scored
    where partition_date = $partition_date
        and score >= $hot_score
    order by score desc, discount_to_value desc nulls last, listing_key
"""


def hot_deal_key(listing_key: str, price: int | None) -> str:
    """The outbox key of an alert: a price cut is a new key, so it alerts again."""
    return f"hot:{listing_key}:{price if price is not None else 'unknown'}"


def hot_deals(conn: duckdb.DuckDBPyConnection, partition_date: dt.date) -> list[dict[str, Any]]:
    """The day's scored listings at 85 or more, best first."""
    cursor = conn.execute(HOT_DEALS_SQL, {"partition_date": partition_date, "hot_score": HOT_SCORE})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def queue_hot_deals(
    conn: duckdb.DuckDBPyConnection, partition_date: dt.date, now: dt.datetime | None = None
) -> list[str]:
    """Queue an alert for each of the day's hot deals not alerted before at this price;
    the keys newly queued, best deal first."""
    queued = []
    for row in hot_deals(conn, partition_date):
        key = hot_deal_key(row["listing_key"], row["price"])
        message = {"text": blocks.hot_deal_text(row), "blocks": blocks.hot_deal_blocks(row)}
        if outbox.enqueue(conn, key=key, channel="deals", now=now, **message):
            queued.append(key)
    return queued
