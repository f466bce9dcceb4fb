"""Concurrency: a scrape, two enrichment runs and a backfill launched at once all succeed.

Four processes against one DAGSTER_HOME and one DuckDB file: the single-slot "warehouse" pool
makes their steps take turns, so none fails on DuckDB's file lock, and every partition ends
holding exactly the rows its last materialisation reported.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from property_pipeline.definitions import ASSETS
from property_pipeline.resources import build_resources
from property_pipeline_tests.conftest import REPO_ROOT
from property_pipeline_tests.reliability.support import DAGSTER_BIN
from property_pipeline_tests.test_instance_and_runs import SCRAPE_ASSETS, wait_for_runs_to_finish

SCRAPED_DAY = "2026-11-02"
SCRAPE_DAY = "2026-11-03"
BACKFILL_DAYS = ["2026-11-04", "2026-11-05"]
ENRICH_ASSETS = ["enriched", "scored"]
LOCK_ERRORS = ("Could not set lock", "Conflicting lock", "database is locked")


def cli(*args: str) -> list[str]:
    return [str(DAGSTER_BIN), *args]


def materialize(assets: list[str], day: str) -> list[str]:
    return cli(
        "asset",
        "materialize",
        "-m",
        "property_pipeline.definitions",
        "--select",
        ",".join(assets),
        "--partition",
        day,
    )


def latest_reported_rows(instance: dg.DagsterInstance, asset: str) -> dict[str, int]:
    """Partition -> row count its latest materialisation reported."""
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
    latest: dict[str, tuple[float, int]] = {}
    for record in records:
        materialization = record.asset_materialization
        assert materialization is not None and record.partition_key is not None
        rows = materialization.metadata["dagster/partition_row_count"].value
        if record.timestamp >= latest.get(record.partition_key, (0.0, 0))[0]:
            latest[record.partition_key] = (record.timestamp, int(rows))  # type: ignore[arg-type]
    return {partition: rows for partition, (_, rows) in latest.items()}


def nonempty(counts: dict[str, int]) -> dict[str, int]:
    """The partitions with rows: an empty partition has no row to group in the warehouse."""
    return {partition: rows for partition, rows in counts.items() if rows}


def stored_rows(warehouse: Path, table: str) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            f"select partition_date::varchar, count(*) from {table} group by 1"
        ).fetchall()
    return dict(rows)


# About three and a half minutes on two busy cores: seven runs queue for the one warehouse slot.
@pytest.mark.slow
def test_scrape_two_enrichments_and_a_backfill_at_once_all_succeed_and_lose_no_row(
    initialised_dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROPERTY_PIPELINE_SANDBOX_URL", "PROPERTY_PIPELINE_LIVE"):
        monkeypatch.delenv(name, raising=False)
    warehouse = Path(os.environ["PROPERTY_PIPELINE_WAREHOUSE"])
    with dg.DagsterInstance.from_config(str(initialised_dagster_home)) as instance:
        scraped = dg.materialize(
            ASSETS,
            selection=SCRAPE_ASSETS,
            partition_key=SCRAPED_DAY,
            resources=build_resources(),
            instance=instance,
        )
        assert scraped.success

    daemon = subprocess.Popen(
        [str(DAGSTER_BIN.parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        commands = [
            materialize(SCRAPE_ASSETS, SCRAPE_DAY),
            materialize(ENRICH_ASSETS, SCRAPED_DAY),
            materialize(ENRICH_ASSETS, SCRAPED_DAY),
            cli(
                "job",
                "backfill",
                "-w",
                "workspace.yaml",
                "-j",
                "scrape_job",
                "--from",
                BACKFILL_DAYS[0],
                "--to",
                BACKFILL_DAYS[-1],
                "--noprompt",
            ),
        ]
        started = [
            subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for command in commands
        ]
        outputs = [process.communicate(timeout=600)[0] for process in started]
        for process, output in zip(started, outputs, strict=True):
            assert process.returncode == 0, output[-3000:]
        instance = dg.DagsterInstance.from_config(str(initialised_dagster_home))
        # The setup run, the four launched, and one more run for the backfill's second day.
        runs = wait_for_runs_to_finish(instance, expected=6, timeout=600)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)

    assert sorted(run.status.value for run in runs) == ["SUCCESS"] * 6
    assert not [error for error in LOCK_ERRORS for output in outputs if error in output]
    for asset in SCRAPE_ASSETS:
        reported = latest_reported_rows(instance, asset)
        assert sorted(reported) == [SCRAPED_DAY, SCRAPE_DAY, *BACKFILL_DAYS]
        assert stored_rows(warehouse, asset) == nonempty(reported), asset
    for asset in ENRICH_ASSETS:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
        assert sorted(record.partition_key for record in records) == [SCRAPED_DAY] * 2
        assert stored_rows(warehouse, asset) == nonempty(latest_reported_rows(instance, asset))
    pool = instance.event_log_storage.get_concurrency_info("warehouse")
    assert (pool.slot_count, pool.claimed_slots) == (1, [])
    instance.dispose()
