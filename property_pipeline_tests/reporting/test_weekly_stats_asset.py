"""The weekly_stats asset end to end: rows, the chart file, metadata and one Slack post a week."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path

import dagster as dg
import pytest

from property_pipeline.reporting.assets import weekly_stats
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.conftest import REPO_ROOT
from property_pipeline_tests.reporting.test_weekly_stats_sql import WEEK, seed_market

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Weeks must have ended to be partitions: a week long before the market's first listing.
EMPTY_WEEK = dt.date(2026, 11, 2)


def materialize(warehouse: WarehouseResource, week: dt.date) -> dict[str, object]:
    result = dg.materialize(
        [weekly_stats], partition_key=week.isoformat(), resources={"warehouse": warehouse}
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    return {key: entry.value for key, entry in event.materialization.metadata.items()}


def outbox(warehouse: WarehouseResource) -> list[dict]:
    frame = warehouse.query_frame(
        "select message_key, channel, text, blocks, file_path, file_title, status"
        " from notify_outbox order by id"
    )
    return frame.to_dict(orient="records")


def week_rows(warehouse: WarehouseResource, week: dt.date) -> list[tuple]:
    with warehouse.connection() as conn:
        return conn.execute(
            "select * from weekly_stats where week_start = ? order by all", [week]
        ).fetchall()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> WarehouseResource:
    """The hand-made market of test_weekly_stats_sql, shared by this module's tests."""
    warehouse = WarehouseResource(
        database=str(tmp_path_factory.mktemp("weekly") / "warehouse.duckdb"),
        sql_dir=str(REPO_ROOT / "dbt_like_sql"),
    )
    seed_market(warehouse)
    return warehouse


@pytest.fixture(scope="module")
def first_run(seeded: WarehouseResource) -> dict[str, object]:
    """The metadata of the week's first materialisation."""
    return materialize(seeded, WEEK)


def test_a_week_writes_its_rows_a_small_png_and_metadata(seeded, first_run) -> None:
    metadata = first_run

    chart = Path(seeded.database).parent / "reports" / "weekly-2026-11-23.png"
    png = chart.read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (960, 336)
    assert len(png) < 200_000
    assert metadata["dagster/partition_row_count"] == 8
    assert metadata["locations"] == 2
    assert metadata["properties_live"] == 6
    assert metadata["chart_path"] == str(chart)
    assert metadata["chart_bytes"] == len(png)
    assert metadata["slack_post_queued"] is True
    assert metadata["chart"].startswith("![Weekly market chart](data:image/png;base64,iVBORw0KGgo")
    assert "| All types | 6 | 2 | 2 | £205,000 | £3,250 | 33.3% | 7.5% |" in metadata["headline"]
    assert metadata["headline"] in metadata["chart"]
    assert metadata["duration_seconds"] > 0


def test_the_week_is_posted_to_the_stats_channel_with_its_chart(seeded, first_run) -> None:
    [message] = outbox(seeded)
    assert message["message_key"] == "weekly_stats:2026-11-23"
    assert message["channel"] == "stats"
    assert message["status"] == "queued"
    assert message["file_path"].endswith("reports/weekly-2026-11-23.png")
    assert message["file_title"] == "Weekly market stats 2026-11-23"
    assert message["text"].startswith("Weekly market stats: 23 Nov to 29 Nov 2026. 6 properties")
    blocks = json.loads(message["blocks"])
    assert blocks[0]["text"]["text"] == "Weekly market stats: 23 Nov to 29 Nov 2026"
    fields = [field["text"] for field in blocks[1]["fields"]]
    assert "*Added / withdrawn*\n2 / 2" in fields
    assert "*Sold (Land Registry, 3 months)*\n£330,000 median of 4, +13.8% on a year before" in (
        fields
    )


def test_rematerialising_a_week_gives_the_same_rows_and_chart_and_no_second_post(
    seeded, first_run
) -> None:
    rows = week_rows(seeded, WEEK)
    chart = Path(seeded.database).parent / "reports" / "weekly-2026-11-23.png"
    png = chart.read_bytes()

    metadata = materialize(seeded, WEEK)

    assert week_rows(seeded, WEEK) == rows
    assert chart.read_bytes() == png
    assert metadata["slack_post_queued"] is False
    assert metadata["rows_replaced"] == 8
    assert [message["message_key"] for message in outbox(seeded)] == ["weekly_stats:2026-11-23"]


def test_an_empty_week_has_no_rows_no_chart_and_no_post(seeded: WarehouseResource) -> None:
    # A chart left from an earlier run of the week must not outlive its data.
    stale = Path(seeded.database).parent / "reports" / "weekly-2026-11-02.png"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(PNG_SIGNATURE)

    metadata = materialize(seeded, EMPTY_WEEK)

    assert metadata["dagster/partition_row_count"] == 0
    assert metadata["locations"] == 0
    assert metadata["properties_live"] == 0
    assert metadata["headline"] == "No listings were seen this week."
    assert "chart" not in metadata
    assert not stale.exists()
    assert "weekly_stats:2026-11-02" not in {message["message_key"] for message in outbox(seeded)}
