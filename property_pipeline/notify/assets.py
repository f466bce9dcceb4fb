"""Dagster wiring for the notify stage: what people are told about."""

import dagster as dg

from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.partitions import daily_partitions
from property_pipeline.scoring.assets import scored
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, materialize_model
from property_pipeline.warehouse.resource import WarehouseResource


@dg.asset(
    partitions_def=daily_partitions,
    group_name="notify",
    deps=[scored, deduped_listings],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def digests(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The day's hot (85+), good (70-84) and watchlist (60-69) deals, ranked within each band.

    Built by `dbt_like_sql/notify/digests.sql`.
    """
    return materialize_model(context, warehouse)
