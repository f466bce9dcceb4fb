"""`property-pipeline backfill`: run the daily pipeline over a range of days, one day at a time.

The Dagster UI and `dagster job backfill` do the same through the daemon; this runs in the
command's own process, in order, with a line of progress per day, and records each run in the
project's instance so the UI shows them. Every write replaces its partition, so a backfill run
twice leaves the same tables.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from property_pipeline.definitions import DAILY_ASSET_NAMES, defs
from property_pipeline.instance import project_instance
from property_pipeline.partitions import daily_partitions
from property_pipeline.resources import build_resources

# What each day's line reports, upstream first.
REPORTED = ("raw_listings", "screened", "enriched", "scored", "digests")
# A run's own console log would bury the progress lines: warnings and errors only.
QUIET_LOGGING = {"console": {"config": {"log_level": "WARNING"}}}


@dataclass(frozen=True)
class DayResult:
    """One day of a backfill: whether its run succeeded, its row counts, how long it took."""

    day: dt.date
    success: bool
    row_counts: dict[str, int]
    seconds: float
    run_id: str


def backfill_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The days from `first` to `last` inclusive, refused by name when outside the partitions."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first}); swap them")
    known = set(daily_partitions.get_partition_keys())
    days = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    outside = [day for day in days if day.isoformat() not in known]
    if outside:
        raise ValueError(
            f"{outside[0]} is outside the daily partitions (2025-01-01 to today, UK time)"
        )
    return days


def run_backfill(
    days: list[dt.date], progress: Callable[[DayResult, int, int], None] | None = None
) -> list[DayResult]:
    """Materialise every daily asset for each day in order; stops at the first failed day."""
    resources = build_resources()
    results = []
    with project_instance() as instance:
        for number, day in enumerate(days, start=1):
            result = _run_day(day, resources, instance)
            results.append(result)
            if progress is not None:
                progress(result, number, len(days))
            if not result.success:
                break
    return results


def materialize_day(
    day: dt.date,
    resources: dict[str, object],
    instance: dg.DagsterInstance,
    run_config: dg.RunConfig,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Every daily asset for `day` in this process, upstream first, recorded in `instance`; a
    failed step is reported in the result (and its log), not raised."""
    return dg.materialize(
        list(defs.assets or []),
        selection=list(DAILY_ASSET_NAMES),
        partition_key=day.isoformat(),
        resources=resources,
        instance=instance,
        run_config=run_config,
        tags=tags,
        raise_on_error=False,
    )


def _run_day(day: dt.date, resources: dict[str, object], instance: dg.DagsterInstance) -> DayResult:
    started = time.perf_counter()
    run = materialize_day(
        day,
        resources,
        instance,
        dg.RunConfig(loggers=QUIET_LOGGING),
        tags={"property_pipeline/backfill": "cli"},
    )
    counts = {
        event.asset_key.to_user_string(): int(
            event.materialization.metadata["dagster/partition_row_count"].value
        )
        for event in run.get_asset_materialization_events()
        if "dagster/partition_row_count" in event.materialization.metadata
    }
    return DayResult(day, run.success, counts, time.perf_counter() - started, run.run_id)


def progress_line(result: DayResult, number: int, total: int) -> str:
    """`[3/14] 2026-11-03 ok in 12.3s: raw_listings 300, screened 300, ...`."""
    outcome = "ok" if result.success else f"FAILED (run {result.run_id})"
    counts = ", ".join(
        f"{name} {result.row_counts[name]}" for name in REPORTED if name in result.row_counts
    )
    width = len(str(total))
    return f"[{number:>{width}}/{total}] {result.day} {outcome} in {result.seconds:.1f}s: {counts}"
