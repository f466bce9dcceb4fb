"""The steps every warehouse asset takes: write its partition, log it, report it to Dagster."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from property_pipeline.warehouse.checks import table_check_results
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline.warehouse.store import PartitionWrite

# Every asset that writes the DuckDB file takes a slot in this pool; dagster.yaml gives it one
# slot, so steps of concurrent runs (schedules, backfills, a hand rematerialisation) queue for
# the single writer instead of failing on DuckDB's file lock.
WAREHOUSE_POOL = "warehouse"


def partition_date(context: dg.AssetExecutionContext) -> dt.date:
    """The first day of the partition being materialised (the Monday, for a weekly asset)."""
    return context.partition_time_window.start.date()


def materialize_model(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    params: dict[str, Any] | None = None,
) -> dg.MaterializeResult:
    """Run the asset's SQL model for its partition and report what it wrote."""
    asset = context.asset_key.to_user_string()
    day = partition_date(context)
    started = time.perf_counter()

    write = warehouse.run_model(asset, day, params)

    return _report(
        context,
        write,
        time.perf_counter() - started,
        {"sql_model": asset},
        table_check_results(context, warehouse, asset, day),
    )


def materialize_frame(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    frame: pd.DataFrame,
    extra_metadata: dict[str, Any] | None = None,
    keep_stored_for_sources: Sequence[str] = (),
    check_results: Sequence[dg.AssetCheckResult] = (),
) -> dg.MaterializeResult:
    """Replace the asset's partition with a DataFrame built in Python and report it."""
    asset = context.asset_key.to_user_string()
    day = partition_date(context)
    started = time.perf_counter()

    write = warehouse.replace_partition_from_frame(asset, day, frame, keep_stored_for_sources)

    shared_checks = table_check_results(context, warehouse, asset, day)
    return _report(
        context,
        write,
        time.perf_counter() - started,
        extra_metadata or {},
        [*check_results, *shared_checks],
    )


def _report(
    context: dg.AssetExecutionContext,
    write: PartitionWrite,
    seconds: float,
    extra_metadata: dict[str, Any],
    check_results: Sequence[dg.AssetCheckResult] = (),
) -> dg.MaterializeResult:
    context.log.info(
        f"{write.table} {write.partition_column}={write.partition_value}: "
        f"replaced {write.rows_deleted} rows with {write.rows_inserted} in {seconds:.2f}s"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/partition_row_count": write.rows_inserted,
            "rows_replaced": write.rows_deleted,
            "duration_seconds": round(seconds, 3),
            "dagster/table_name": f"warehouse.main.{write.table}",
            **extra_metadata,
        },
        check_results=list(check_results),
    )
