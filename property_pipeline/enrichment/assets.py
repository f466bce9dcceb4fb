"""Dagster wiring for the enrichment stage: evidence for the promising listings."""

import dagster as dg

from property_pipeline import settings
from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.partitions import daily_partitions
from property_pipeline.screening.assets import screened
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, materialize_model
from property_pipeline.warehouse.resource import WarehouseResource


class EnrichmentConfig(dg.Config):
    """How many pending listings one run takes through the costly enrichment steps."""

    batch_size: int = settings.DEFAULT_ENRICH_BATCH_SIZE


@dg.asset(
    partitions_def=daily_partitions,
    group_name="enrichment",
    deps=[screened, deduped_listings],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
)
def enriched(
    context: dg.AssetExecutionContext, config: EnrichmentConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Listings analysed so far today: each run keeps earlier results and adds the next batch.

    Built by `dbt_like_sql/enrichment/enriched.sql`; the most promising pending listings go first.
    """
    if config.batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {config.batch_size}")
    return materialize_model(
        context,
        warehouse,
        {"batch_size": config.batch_size},
    )
