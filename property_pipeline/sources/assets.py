"""Dagster wiring for the sources stage: the day's raw listings."""

import dagster as dg

from property_pipeline.partitions import daily_partitions
from property_pipeline.sources.builtin import builtin_listings
from property_pipeline.warehouse.materialize import (
    WAREHOUSE_POOL,
    materialize_frame,
    partition_date,
)
from property_pipeline.warehouse.resource import WarehouseResource


@dg.asset(
    partitions_def=daily_partitions,
    group_name="sources",
    pool=WAREHOUSE_POOL,
    kinds={"python", "duckdb"},
)
def raw_listings(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every listing seen on the day from every configured source, normalised to one schema.

    Until the portal scrapers land, the listings come from the small built-in sample.
    """
    day = partition_date(context)
    listings = builtin_listings(day)
    sources = sorted(listings["source"].unique()) if len(listings) else []
    context.log.info(f"built-in sample: {len(listings)} listings for {day} from {sources}")

    return materialize_frame(
        context, warehouse, listings, {"sources": dg.MetadataValue.json(sources)}
    )
