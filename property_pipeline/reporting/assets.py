"""Dagster wiring for the reporting stage: the weekly market statistics."""

import dagster as dg

from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.partitions import weekly_partitions
from property_pipeline.scoring.assets import scored
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, materialize_model
from property_pipeline.warehouse.resource import WarehouseResource


@dg.asset(
    partitions_def=weekly_partitions,
    group_name="reporting",
    # The default mapping from daily to weekly partitions takes the seven days of the week.
    deps=[deduped_listings, scored],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def weekly_stats(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per-outcode market statistics for a Monday-to-Sunday week: stock, new, prices, deals.

    Built by `dbt_like_sql/reporting/weekly_stats.sql`.
    """
    return materialize_model(context, warehouse)
