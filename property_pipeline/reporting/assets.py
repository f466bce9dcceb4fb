"""Dagster wiring for the reporting stage: the weekly market statistics, chart and Slack post."""

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from property_pipeline import settings
from property_pipeline.notify.outbox import enqueue
from property_pipeline.partitions import weekly_partitions
from property_pipeline.reporting.chart import chart_markdown, render_weekly_chart
from property_pipeline.reporting.summary import (
    ALL_LOCATIONS,
    headline_markdown,
    market_row,
    weekly_message,
)
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, partition_date
from property_pipeline.warehouse.resource import WarehouseResource

ASSET = "weekly_stats"
SLACK_CHANNEL = "stats"
# The daily tables the model reads; price_paid is loaded by `load-ppd`, not by an asset.
UPSTREAM_ASSETS = [
    "deduped_listings",
    "listing_history",
    "listing_price_history",
    "enriched",
    "scored",
]
WEEK_ROWS_SQL = """
    select * exclude (week_start)
    from weekly_stats
    where week_start = $week_start
    order by location, property_type
"""


def reports_dir(warehouse: WarehouseResource) -> Path:
    """Where report files go: `reports/` beside the warehouse file the run writes."""
    if warehouse.database == ":memory:":
        return settings.warehouse_path().parent / "reports"
    return Path(warehouse.database).parent / "reports"


def chart_path(warehouse: WarehouseResource, week_start: dt.date) -> Path:
    """The week's chart file, `reports/weekly-<week_start>.png`; a rerun rewrites it."""
    return reports_dir(warehouse) / f"weekly-{week_start.isoformat()}.png"


def outbox_key(week_start: dt.date) -> str:
    """The outbox key of a week's Slack post: one post per week, however often it reruns."""
    # Known shortcoming: a rerun after late data updates the rows and the chart file, but the
    # post queued first (with the numbers of that time) is the only one Slack gets.
    return f"weekly_stats:{week_start.isoformat()}"


@dg.asset(
    partitions_def=weekly_partitions,
    group_name="reporting",
    # The default mapping from daily to weekly partitions takes the seven days of the week.
    # Named by key, so reporting does not import (and wait on) every stage's code.
    deps=UPSTREAM_ASSETS,
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb", "slack"},
)
def weekly_stats(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Market statistics for a Monday-to-Sunday week, per outcode and property type.

    Supply (live, added, withdrawn), asking prices and £/m², price cuts, days on market, deals
    by band and the Land Registry sold-price trend, with whole-market roll-ups. Built by
    `dbt_like_sql/reporting/weekly_stats.sql`; also draws the week's chart
    (`reports/weekly-<week>.png`) and queues one Slack post for the week with the chart attached.
    """
    week_start = partition_date(context)
    started = time.perf_counter()

    write = warehouse.run_model(ASSET, week_start)
    stats = warehouse.query_frame(WEEK_ROWS_SQL, {"week_start": week_start})
    context.log.info(
        f"weekly_stats week_start={week_start}: replaced {write.rows_deleted} rows with"
        f" {write.rows_inserted} in {time.perf_counter() - started:.2f}s"
    )

    path = chart_path(warehouse, week_start)
    if stats.empty:
        # A week rerun after its data went away must not keep showing the old chart.
        path.unlink(missing_ok=True)
        context.log.info(f"weekly_stats week_start={week_start}: no listings; no chart or post")
        return _result(write.rows_inserted, write.rows_deleted, stats, started, None)

    render_weekly_chart(stats, week_start, path)
    message = weekly_message(stats, week_start)
    with warehouse.connection() as conn:
        queued = enqueue(
            conn,
            key=outbox_key(week_start),
            channel=SLACK_CHANNEL,
            text=message.text,
            blocks=message.blocks,
            file_path=str(path),
            file_title=f"Weekly market stats {week_start.isoformat()}",
        )
    context.log.info(
        f"weekly_stats week_start={week_start}: chart {path} ({path.stat().st_size} bytes);"
        f" Slack post {'queued' if queued else 'already queued earlier, not repeated'}"
    )
    return _result(write.rows_inserted, write.rows_deleted, stats, started, (path, queued))


def _result(
    rows: int,
    rows_replaced: int,
    stats: pd.DataFrame,
    started: float,
    chart_and_post: tuple[Path, bool] | None,
) -> dg.MaterializeResult:
    market = market_row(stats)
    metadata: dict[str, object] = {
        "dagster/partition_row_count": rows,
        "rows_replaced": rows_replaced,
        "dagster/table_name": f"warehouse.main.{ASSET}",
        "sql_model": ASSET,
        "locations": int(stats.loc[stats["location"] != ALL_LOCATIONS, "location"].nunique()),
        "properties_live": int(market["listings_live"]) if market else 0,
        "headline": dg.MetadataValue.md(headline_markdown(stats)),
    }
    if chart_and_post is not None:
        path, queued = chart_and_post
        metadata["chart"] = dg.MetadataValue.md(
            chart_markdown(path, "Weekly market chart") + "\n\n" + headline_markdown(stats)
        )
        metadata["chart_path"] = dg.MetadataValue.path(str(path))
        metadata["chart_bytes"] = path.stat().st_size
        metadata["slack_post_queued"] = queued
    metadata["duration_seconds"] = round(time.perf_counter() - started, 3)
    return dg.MaterializeResult(metadata=metadata)
