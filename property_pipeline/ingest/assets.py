"""Dagster wiring for the ingest stage: listing history, property matching, one row per listing.

Each asset runs one SQL model in `dbt_like_sql/ingest/`. Every partition is built from
`raw_listings` up to and including its own day (plus the same day's partitions of the assets
before it), never from earlier partitions of derived tables, so rematerialising a day or
backfilling a range in any order leaves identical tables.
"""

import datetime as dt
from typing import Any

import dagster as dg
from pydantic import Field

from property_pipeline.partitions import daily_partitions
from property_pipeline.sources.assets import raw_listings
from property_pipeline.warehouse.checks import table_check_specs
from property_pipeline.warehouse.materialize import (
    WAREHOUSE_POOL,
    materialize_model,
    partition_date,
)
from property_pipeline.warehouse.resource import WarehouseResource


class ListingHistoryConfig(dg.Config):
    """When a listing that has stopped appearing counts as withdrawn."""

    withdrawn_after_days: int = Field(
        default=3,
        ge=1,
        description=(
            "Scrapes of its source a listing may be missing from before it is marked withdrawn;"
            " seen again after that, it is marked relisted."
        ),
    )


class PropertyMatchingConfig(dg.Config):
    """How sure two listings must be of describing the same property to share its key."""

    min_match_confidence: float = Field(
        default=0.7,
        gt=0.0,
        le=1.0,
        description="Confidence (0-1) a pair of listings needs to be linked to one property.",
    )
    price_band_pct: float = Field(
        default=0.15,
        ge=0.0,
        description=(
            "How far apart two listings' prices may be and still describe one property (0.15:"
            " within 15% of the other's observed range)."
        ),
    )
    max_match_distance_m: float = Field(
        default=100.0,
        gt=0.0,
        description="Map positions further apart than this (metres) can never be one property.",
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    deps=[raw_listings],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def listing_history(
    context: dg.AssetExecutionContext, config: ListingHistoryConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Each listing in play on the day: new, active, relisted, or just withdrawn.

    A listing is (source, source_id). Seen listings carry when they were first and last seen,
    how often, and their price against the last one observed; a listing missing from
    `withdrawn_after_days` scrapes of its source is marked withdrawn on the day it crosses that
    line. Built by `dbt_like_sql/ingest/listing_history.sql`.
    """
    result = materialize_model(context, warehouse, config.model_dump())

    statuses = _counts(
        warehouse,
        "select status, count(*) from listing_history where partition_date = $day group by 1",
        partition_date(context),
    )
    context.log.info(f"listing statuses: {statuses}")
    return _with_metadata(result, {"listings_by_status": dg.MetadataValue.json(statuses)})


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    deps=[raw_listings, listing_history],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def property_links(
    context: dg.AssetExecutionContext, config: PropertyMatchingConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Which listings are one real property, across portals, auction lots and relists.

    One row per listing of every property in play on the day, with the property's key, the
    confidence (0-1) of the listing's strongest match and the rule that made it. Listings match
    on normalised address and postcode (or outcode and map position), bedrooms and price band.
    Built by `dbt_like_sql/ingest/property_links.sql`.
    """
    require_same_day_inputs(context, warehouse, "listing_history")
    result = materialize_model(context, warehouse, config.model_dump())

    methods = _counts(
        warehouse,
        "select method, count(*) from property_links where partition_date = $day group by 1",
        partition_date(context),
    )
    properties = _counts(
        warehouse,
        """
        select
            case when sources > 1 then 'on several sources' else 'on one source' end,
            count(*)
        from (
            select count(distinct source) as sources
            from property_links
            where partition_date = $day
            group by property_key
        )
        group by 1
        """,
        partition_date(context),
    )
    context.log.info(f"links by method: {methods}; properties: {properties}")
    return _with_metadata(
        result,
        {
            "links_by_method": dg.MetadataValue.json(methods),
            "properties": dg.MetadataValue.json(properties),
        },
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    deps=[raw_listings, listing_history, property_links],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
    check_specs=table_check_specs("deduped_listings", non_empty=True, unique=True),
)
def deduped_listings(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Each listing seen on the day once, with its history and its property across sources.

    The latest scrape of the listing, its status (new, active, relisted), the price before,
    and its property's key, days on market and price cuts counted across portals and relists.
    Built by `dbt_like_sql/ingest/deduped_listings.sql`.
    """
    require_same_day_inputs(context, warehouse, "listing_history", "property_links")
    result = materialize_model(context, warehouse)

    sources = _counts(
        warehouse,
        """
        select sources_seen::varchar, count(*)
        from deduped_listings
        where partition_date = $day
        group by 1
        """,
        partition_date(context),
    )
    context.log.info(f"listings by sources their property was seen on: {sources}")
    return _with_metadata(result, {"listings_by_sources_seen": dg.MetadataValue.json(sources)})


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    deps=[listing_history, property_links],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def listing_price_history(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every price change seen on the day: old price, new price, change and percentage.

    Filed under the day the change was observed, so the partitions together are each
    listing's full price history, never overwritten. Built by
    `dbt_like_sql/ingest/listing_price_history.sql`.
    """
    require_same_day_inputs(context, warehouse, "listing_history", "property_links")
    return materialize_model(context, warehouse)


# In dependency order: a job or a backfill selecting the ingest stage takes all of them.
INGEST_ASSETS = [listing_history, property_links, deduped_listings, listing_price_history]


def require_same_day_inputs(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, *inputs: str
) -> None:
    """Fail, naming them, when the day was scraped but `inputs` hold nothing for it.

    An ingest model joins the same day's partitions of the ingest assets before it; run alone
    (a hand-picked selection, a job missing them) it would quietly write an empty partition.
    """
    day = partition_date(context)
    scraped = warehouse.partition_row_count("raw_listings", day)
    missing = [name for name in inputs if scraped and not warehouse.partition_row_count(name, day)]
    if missing:
        names = " and ".join(missing)
        raise dg.Failure(
            description=(
                f"{names} hold no rows for {day} although raw_listings has {scraped}:"
                f" materialise {names} for {day} first (select the whole ingest group)"
            )
        )


def _counts(warehouse: WarehouseResource, sql: str, day: dt.date) -> dict[str, int]:
    """A {label: count} summary of the day's partition from a two-column query, for metadata."""
    rows = warehouse.query_frame(sql, {"day": day}).itertuples(index=False)
    return {str(label): int(count) for label, count in sorted(rows)}


def _with_metadata(result: dg.MaterializeResult, extra: dict[str, Any]) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={**(result.metadata or {}), **extra}, check_results=result.check_results
    )
