"""Idempotency: rematerialising every asset, or a whole backfill, leaves identical tables.

The whole warehouse is compared, so a notify outbox that queued an alert twice, or any table
that gained a duplicate row, fails these tests as surely as a changed value. Columns of the
moment a row was written (TIMESTAMP columns such as enriched_at) are left out: they say when,
not what.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from property_pipeline.definitions import ASSETS, DAILY_ASSET_NAMES
from property_pipeline.resources import build_resources
from property_pipeline.sources.resource import ListingSourcesResource
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.conftest import REPO_ROOT

# The last days of the built-in sample, when all of its listings are advertised.
DAY = dt.date(2026, 11, 23)
BACKFILL = [dt.date(2026, 11, 10) + dt.timedelta(days=offset) for offset in range(14)]


def contents_without_write_times(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, leaving out TIMESTAMP columns."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        columns: dict[str, list[str]] = {}
        for table, column, data_type in conn.execute(
            """
            select table_name, column_name, data_type
            from information_schema.columns
            where table_schema = 'main'
            order by table_name, ordinal_position
            """
        ).fetchall():
            columns.setdefault(table, [])
            if not data_type.startswith("TIMESTAMP"):
                columns[table].append(f'"{column}"')
        return {
            table: sorted(
                conn.execute(f'select {", ".join(names)} from "{table}"').fetchall(), key=repr
            )
            for table, names in columns.items()
            if names
        }


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(
        database=str(tmp_path / "warehouse.duckdb"), sql_dir=str(REPO_ROOT / "dbt_like_sql")
    )


def run_day(warehouse: WarehouseResource, instance: dg.DagsterInstance, day: dt.date) -> None:
    result = dg.materialize(
        ASSETS,
        selection=list(DAILY_ASSET_NAMES),
        partition_key=day.isoformat(),
        resources={
            **build_resources(),
            "warehouse": warehouse,
            "listing_sources": ListingSourcesResource(),
        },
        instance=instance,
    )
    assert result.success


def test_every_daily_asset_rematerialised_three_times_gives_identical_tables(
    warehouse: WarehouseResource,
) -> None:
    snapshots = []
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(3):
            run_day(warehouse, instance, DAY)
            snapshots.append(contents_without_write_times(Path(warehouse.database)))

    assert snapshots[0]["raw_listings"], "the day must hold listings"
    assert snapshots[1] == snapshots[0]
    assert snapshots[2] == snapshots[0]


# Twenty-eight full daily runs: about four minutes on two busy cores.
@pytest.mark.slow
def test_a_fourteen_day_backfill_run_twice_gives_identical_tables(
    warehouse: WarehouseResource,
) -> None:
    snapshots = []
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            for day in BACKFILL:
                run_day(warehouse, instance, day)
            snapshots.append(contents_without_write_times(Path(warehouse.database)))

    assert len({row[0] for row in snapshots[0]["raw_listings"]}) == len(BACKFILL)
    assert snapshots[1] == snapshots[0]
