"""Dagster wiring for the notify stage: the daily digest of good deals."""

import datetime as dt
import time
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from property_pipeline import settings
from property_pipeline.notify import blocks, digest_files, outbox
from property_pipeline.partitions import daily_partitions
from property_pipeline.warehouse import store
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, partition_date
from property_pipeline.warehouse.resource import WarehouseResource

DIGESTS_FOLDER = "digests"
PREVIEW_LIMIT = 4000

DIGEST_ROWS_SQL = """
    select *
    from digests
    where partition_date = $partition_date
    order by section, rank
"""


def watchlist_week(day: dt.date) -> tuple[dt.date, dt.date] | None:
    """On a Monday, the previous Monday-to-Sunday week whose watchlist the digest carries."""
    if day.weekday() != 0:
        return None
    return day - dt.timedelta(days=7), day - dt.timedelta(days=1)


def digests_folder(warehouse: WarehouseResource) -> Path:
    """`digests/` next to the warehouse file (the data folder)."""
    if warehouse.database == ":memory:":
        return settings.warehouse_path().parent / DIGESTS_FOLDER
    return Path(warehouse.database).parent / DIGESTS_FOLDER


def stored_digest(conn: duckdb.DuckDBPyConnection, day: dt.date) -> list[dict[str, Any]]:
    """The rows a day's digest holds, by section and rank."""
    cursor = conn.execute(DIGEST_ROWS_SQL, {"partition_date": day})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dg.asset(
    partitions_def=daily_partitions,
    group_name="notify",
    deps=[dg.AssetKey("scored")],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb", "slack"},
)
def digests(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The day's good deals (70-84) not sent before, ranked, with last week's watchlist on Mondays.

    One Slack message (queued in the outbox, key `digest:<date>`) plus `digests/<date>.html` and
    `.md` next to the warehouse; on Mondays the previous week's watchlist (60-69) joins it.

    A day's contents are fixed by its first run (`dbt_like_sql/notify/digests.sql`): a rerun
    writes the same files and queues nothing new.
    """
    day = partition_date(context)
    week = watchlist_week(day)
    started = time.perf_counter()

    with warehouse.connection() as conn:
        rows = stored_digest(conn, day)
        reused = bool(rows)
        if not reused:
            model = warehouse.models()["digests"]
            params = {
                "partition_date": day,
                "watchlist_from": week[0] if week else None,
                "watchlist_to": week[1] if week else None,
            }
            store.replace_partition(
                conn, "digests", day, model.sql, model.bind(params), source_name=str(model.path)
            )
            rows = stored_digest(conn, day)
    good = [row for row in rows if row["section"] == "good"]
    watchlist = [row for row in rows if row["section"] == "watchlist"]
    context.log.info(
        f"digest {day}: {len(good)} good deal(s), {len(watchlist)} on the watchlist"
        + (" (as first written)" if reused else "")
    )

    sections = digest_files.digest_sections(good, watchlist, monday=week is not None)
    markdown = digest_files.render_markdown(day, sections)
    html_path, markdown_path = digest_files.write_digest_files(
        digests_folder(warehouse), day, digest_files.render_html(day, sections), markdown
    )

    queued = False
    if good or watchlist:
        with warehouse.connection() as conn:
            queued = outbox.enqueue(
                conn,
                key=f"digest:{day.isoformat()}",
                channel="digest",
                text=blocks.mrkdwn_escape(blocks.digest_text(day, good, watchlist)),
                blocks=blocks.digest_blocks(day, good, watchlist),
            )
    context.log.info(
        f"digest {day}: files {html_path.name}, {markdown_path.name};"
        f" Slack message {'queued' if queued else 'not queued (empty or queued before)'}"
        f" in {time.perf_counter() - started:.2f}s"
    )

    return dg.MaterializeResult(
        metadata={
            "dagster/partition_row_count": len(rows),
            "good_deals": len(good),
            "watchlist": len(watchlist),
            "reused_stored_digest": reused,
            "slack_message_queued": queued,
            "html_path": dg.MetadataValue.path(str(html_path)),
            "markdown_path": dg.MetadataValue.path(str(markdown_path)),
            "preview": dg.MetadataValue.md(markdown[:PREVIEW_LIMIT]),
            "dagster/table_name": "warehouse.main.digests",
        }
    )
