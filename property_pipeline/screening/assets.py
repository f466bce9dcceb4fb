"""Dagster wiring for the screening stage: what the words say, then which listings go forward."""

import time

import dagster as dg
from pydantic import field_validator

from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.partitions import daily_partitions
from property_pipeline.screening.features import write_listing_features
from property_pipeline.screening.taxonomy import RED_FLAG_CODES, RED_FLAGS
from property_pipeline.sources.listing import PROPERTY_TYPES, TENURES
from property_pipeline.warehouse.checks import table_check_results, table_check_specs
from property_pipeline.warehouse.materialize import (
    WAREHOUSE_POOL,
    materialize_model,
    partition_date,
)
from property_pipeline.warehouse.resource import WarehouseResource

KILL_FLAGS = [flag.code for flag in RED_FLAGS if flag.severity == "kill"]


class ScreeningConfig(dg.Config):
    """Hard criteria a listing must meet to be enriched; an empty list means any."""

    min_price: int = 50_000
    max_price: int = 1_500_000
    outcodes: list[str] = []
    property_types: list[str] = []
    tenures: list[str] = []
    min_units: int = 1
    min_lease_years: int = 70
    excluded_red_flags: list[str] = KILL_FLAGS

    @field_validator("outcodes")
    @classmethod
    def _upper_outcodes(cls, value: list[str]) -> list[str]:
        return [code.strip().upper() for code in value]

    @field_validator("property_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        return _known("property_types", value, PROPERTY_TYPES)

    @field_validator("tenures")
    @classmethod
    def _known_tenures(cls, value: list[str]) -> list[str]:
        return _known("tenures", value, TENURES)

    @field_validator("excluded_red_flags")
    @classmethod
    def _known_flags(cls, value: list[str]) -> list[str]:
        return _known("excluded_red_flags", value, RED_FLAG_CODES)


def _known(key: str, values: list[str], allowed: tuple[str, ...]) -> list[str]:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(
            f"{key}: {', '.join(map(repr, unknown))} not known; use any of {', '.join(allowed)}"
        )
    return values


@dg.asset(
    partitions_def=daily_partitions,
    group_name="screening",
    deps=[deduped_listings],
    pool=WAREHOUSE_POOL,
    kinds={"python", "duckdb"},
    check_specs=table_check_specs("listing_features", non_empty=True, unique=True),
)
def listing_features(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """What each of the day's listings says in its words: units, tenure, lease, red flags, signals.

    Read from title, summary, description and key features (screening/extract.py), with the
    matched phrases kept as evidence; a listing read the same way before comes from the cache.
    """
    day = partition_date(context)
    started = time.perf_counter()

    with warehouse.connection() as conn:
        written = write_listing_features(conn, day)

    seconds = time.perf_counter() - started
    context.log.info(
        f"listing_features partition_date={day}: replaced {written.write.rows_deleted} rows with"
        f" {written.write.rows_inserted} in {seconds:.2f}s ({written.extracted} extracted,"
        f" {written.from_cache} from the cache); {written.with_red_flags} with red flags"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/partition_row_count": written.write.rows_inserted,
            "rows_replaced": written.write.rows_deleted,
            "duration_seconds": round(seconds, 3),
            "dagster/table_name": "warehouse.main.listing_features",
            "listings_extracted": written.extracted,
            "listings_from_cache": written.from_cache,
            "listings_with_red_flags": written.with_red_flags,
        },
        check_results=table_check_results(context, warehouse, "listing_features", day),
    )


@dg.asset(
    partitions_def=daily_partitions,
    group_name="screening",
    deps=[deduped_listings, listing_features],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
    check_specs=table_check_specs("screened", non_empty=True, unique=True),
)
def screened(
    context: dg.AssetExecutionContext, config: ScreeningConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The day's listings marked pending_enrichment or rejected, with every rejecting criterion.

    Built by `dbt_like_sql/screening/screened.sql` from the configured hard criteria.
    """
    return materialize_model(context, warehouse, config.model_dump())
