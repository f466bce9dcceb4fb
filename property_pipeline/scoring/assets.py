"""Dagster wiring for the scoring stage: a 0-100 score and a recommendation per listing."""

import dagster as dg

from property_pipeline.enrichment.assets import enriched
from property_pipeline.partitions import daily_partitions
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, materialize_model
from property_pipeline.warehouse.resource import WarehouseResource


@dg.asset(
    partitions_def=daily_partitions,
    group_name="scoring",
    deps=[enriched],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def scored(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every analysed listing scored 0-100 with a band (hot, good, watchlist, pass).

    Built by `dbt_like_sql/scoring/scored.sql`.
    """
    return materialize_model(context, warehouse)
