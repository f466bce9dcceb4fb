"""Dagster wiring for the ingest stage: one row per listing, keyed to its property."""

import dagster as dg

from property_pipeline.partitions import daily_partitions
from property_pipeline.sources.assets import raw_listings
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, materialize_model
from property_pipeline.warehouse.resource import WarehouseResource


@dg.asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    deps=[raw_listings],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def deduped_listings(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Each listing seen on the day once, with a key shared by the same property elsewhere.

    Built by `dbt_like_sql/ingest/deduped_listings.sql`.
    """
    return materialize_model(context, warehouse)
