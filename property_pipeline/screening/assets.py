"""Dagster wiring for the screening stage: which listings deserve enrichment, and why not."""

import dagster as dg

from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.partitions import daily_partitions
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, materialize_model
from property_pipeline.warehouse.resource import WarehouseResource


class ScreeningConfig(dg.Config):
    """Hard criteria a listing must meet to be enriched."""

    min_price: int = 50_000
    max_price: int = 1_500_000
    min_lease_years: int = 70


@dg.asset(
    partitions_def=daily_partitions,
    group_name="screening",
    deps=[deduped_listings],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def screened(
    context: dg.AssetExecutionContext, config: ScreeningConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The day's listings marked pending_enrichment or rejected, with every rejecting criterion.

    Built by `dbt_like_sql/screening/screened.sql`.
    """
    return materialize_model(context, warehouse, config.model_dump())
