"""How well property matching agrees with a known truth, for tests and benchmarks.

Given a table `match_truth(source, source_id, property_id)` (the sandbox market knows which
adverts are one home), count, for one day's `property_links`: the cross-source pairs that are one
property, how many of them share a property key (recall), the pairs sharing a key, and how many
of those are different properties (1 - precision).
"""

from __future__ import annotations

import datetime as dt

import duckdb

MATCH_QUALITY_SQL = """
    with linked as (
        select links.listing_key, links.property_key, links.source, truth.property_id
        from property_links as links
        join match_truth as truth using (source, source_id)
        where links.partition_date = $day
    ),
    pairs as (
        select one.listing_key as one_key, other.listing_key as other_key
        from linked as one
        join linked as other
            on other.property_key = one.property_key
            and other.listing_key > one.listing_key
        union
        select one.listing_key, other.listing_key
        from linked as one
        join linked as other
            on other.property_id = one.property_id
            and other.listing_key > one.listing_key
    ),
    judged as (
        select
            one.property_key = other.property_key as same_key,
            one.property_id = other.property_id as same_property,
            one.source <> other.source as across_sources
        from pairs
        join linked as one
            on one.listing_key = pairs.one_key
        join linked as other
            on other.listing_key = pairs.other_key
    )
    select
        count(*) filter (where same_property and across_sources),
        count(*) filter (where same_property and across_sources and same_key),
        count(*) filter (where same_key),
        count(*) filter (where same_key and not same_property)
    from judged
"""


def match_quality_counts(
    conn: duckdb.DuckDBPyConnection, day: dt.date
) -> tuple[int, int, int, int]:
    """(cross-source true pairs, of those found, linked pairs, of those wrong) for `day`."""
    true_pairs, found, linked, wrong = conn.execute(MATCH_QUALITY_SQL, {"day": day}).fetchone()
    return true_pairs, found, linked, wrong
