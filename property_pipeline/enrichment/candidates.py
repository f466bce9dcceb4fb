"""Which listings an enrichment run works on, and what it keeps from the runs before it."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

# Listings screened in on the day that no earlier run of the day has analysed: new ones, the
# ones a batch did not reach yet, and the ones whose lookup failed (with their attempt count).
PENDING_SQL = """
    with stored as (
        select listing_key, status, attempts
        from enriched
        where partition_date = $partition_date
    )

    select
        screened.listing_key,
        screened.property_key,
        coalesce(stored.attempts, 0) as attempts,
        listings.listing_type,
        screened.price,
        listings.postcode,
        screened.outcode,
        listings.address,
        screened.property_type,
        listings.bedrooms,
        screened.unit_count,
        screened.tenure,
        listings.title,
        listings.summary,
        listings.description,
        listings.key_features,
        listings.agent,
        coalesce(len(screened.signals), 0) as signal_count
    from screened
    join deduped_listings as listings
        on listings.partition_date = screened.partition_date
        and listings.listing_key = screened.listing_key
    left join stored
        on stored.listing_key = screened.listing_key
    where screened.partition_date = $partition_date
        and screened.status = 'pending_enrichment'
        and coalesce(stored.status, '') <> 'analysed'
    order by screened.listing_key
"""

# Rows an earlier run of the day analysed: kept as they are, so a rerun never loses them.
ANALYSED_SQL = """
    select * exclude (partition_date)
    from enriched
    where partition_date = $partition_date
        and status = 'analysed'
"""


def pending_listings(conn: duckdb.DuckDBPyConnection, day: dt.date) -> pd.DataFrame:
    """The day's listings waiting for enrichment, with the text and facts the steps need."""
    return conn.execute(PENDING_SQL, {"partition_date": day}).df()


def preliminary_scores(pending: pd.DataFrame) -> pd.Series:
    """A cheap 0-1 ranking used only to decide which listings the costly AI step reads first.

    It weighs the discount to the comparables' value most, then several units and the count of
    motivation signals; it never reaches the stored score, which scoring computes in full.
    """
    value = pd.to_numeric(pending["estimated_value"], errors="coerce")
    price = pd.to_numeric(pending["price"], errors="coerce")
    discount = (1 - price / value.where(value > 0)).clip(-0.5, 0.5).fillna(0.0)
    units = pd.to_numeric(pending["unit_count"], errors="coerce").fillna(1)
    multi_unit = (units >= 2).astype(float)
    signals = pd.to_numeric(pending["signal_count"], errors="coerce").fillna(0).clip(0, 4) / 4
    return (0.6 * (discount + 0.5) + 0.25 * multi_unit + 0.15 * signals).round(4)
