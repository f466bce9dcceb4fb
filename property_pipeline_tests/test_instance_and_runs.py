"""The instance as users run it: concurrent runs, PostgreSQL storage and a daemon backfill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from property_pipeline.instance import describe_storage, postgres_url_from_env
from property_pipeline_tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
SCRAPE_ASSETS = [
    "raw_listings",
    "listing_history",
    "property_links",
    "deduped_listings",
    "listing_price_history",
    "listing_features",
    "screened",
]


def dagster_cli(*args: str) -> list[str]:
    return [str(BIN / "dagster"), *args]


def materializations(instance: dg.DagsterInstance, asset: str) -> list[str]:
    """Partition keys of every stored materialisation of `asset`, one entry per event."""
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
    return sorted(record.partition_key for record in records)


def rows_per_partition(warehouse_file: Path, table: str) -> dict[str, int]:
    with duckdb.connect(str(warehouse_file), read_only=True) as conn:
        rows = conn.execute(
            f"select partition_date::varchar, count(*) from {table} group by 1 order by 1"
        ).fetchall()
    return dict(rows)


def test_two_runs_launched_together_both_succeed(initialised_dagster_home: Path) -> None:
    """Two processes write the single-writer DuckDB file at once; the pool makes them take turns."""
    commands = [
        dagster_cli(
            "asset",
            "materialize",
            "-m",
            "property_pipeline.definitions",
            "--select",
            ",".join(SCRAPE_ASSETS),
            "--partition",
            day,
        )
        for day in ("2026-11-02", "2026-11-03")
    ]

    started = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for command in commands
    ]
    outputs = [process.communicate(timeout=300)[0] for process in started]

    for process, output in zip(started, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    instance = dg.DagsterInstance.from_config(str(initialised_dagster_home))
    runs = instance.get_runs()
    assert sorted(run.status.value for run in runs) == ["SUCCESS", "SUCCESS"]
    for asset in SCRAPE_ASSETS:
        assert materializations(instance, asset) == ["2026-11-02", "2026-11-03"]
    pool = instance.event_log_storage.get_concurrency_info("warehouse")
    assert pool.slot_count == 1
    warehouse_file = Path(os.environ["PROPERTY_PIPELINE_WAREHOUSE"])
    assert set(rows_per_partition(warehouse_file, "screened")) == {"2026-11-02", "2026-11-03"}


def test_a_materialisation_is_stored_in_postgresql_when_the_url_is_set(
    dagster_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_url)
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    from property_pipeline.definitions import ASSETS
    from property_pipeline.resources import build_resources

    result = dg.materialize(
        ASSETS,
        selection=SCRAPE_ASSETS,
        partition_key="2026-11-04",
        resources=build_resources(),
        instance=instance,
    )

    assert result.success
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert list(dagster_home.rglob("*.db")) == [], "nothing may fall back to SQLite"
    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cursor:
        cursor.execute("select status from runs where run_id = %s", [result.run_id])
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute(
            """
            select asset_key, partition from event_logs
            where dagster_event_type = 'ASSET_MATERIALIZATION' and run_id = %s
            order by asset_key
            """,
            [result.run_id],
        )
        stored = cursor.fetchall()
    assert stored == sorted((f'["{asset}"]', "2026-11-04") for asset in SCRAPE_ASSETS)
    instance.dispose()


def test_without_postgres_settings_the_instance_uses_sqlite_under_dagster_home(
    dagster_home: Path,
) -> None:
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    instance.get_runs()

    assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    assert (dagster_home / "history" / "runs.db").is_file()
    assert describe_storage() == f"sqlite under {dagster_home}"


def test_postgres_settings_from_parts_build_a_url_and_never_leak_the_password() -> None:
    parts = {
        "DAGSTER_POSTGRES_HOST": "db.internal",
        "DAGSTER_POSTGRES_DB": "dagster",
        "DAGSTER_POSTGRES_USER": "pipeline",
        "DAGSTER_POSTGRES_PASSWORD": "s3cret/with@signs",
    }

    url = postgres_url_from_env(parts)

    assert url == "postgresql://pipeline:s3cret%2Fwith%40signs@db.internal:5432/dagster"
    assert "s3cret" not in describe_storage(parts)


def test_half_configured_postgres_names_the_missing_variables() -> None:
    with pytest.raises(ValueError, match="DAGSTER_POSTGRES_DB, DAGSTER_POSTGRES_USER"):
        postgres_url_from_env({"DAGSTER_POSTGRES_HOST": "db.internal"})


def test_a_backfill_of_three_days_materialises_each_partition_once(
    initialised_dagster_home: Path,
) -> None:
    """`dagster job backfill` queues one run per day; the daemon launches them side by side."""
    days = ["2026-11-09", "2026-11-10", "2026-11-11"]
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        submitted = subprocess.run(
            dagster_cli(
                "job",
                "backfill",
                "-w",
                "workspace.yaml",
                "-j",
                "scrape_job",
                "--from",
                days[0],
                "--to",
                days[-1],
                "--noprompt",
            ),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr

        instance = dg.DagsterInstance.from_config(str(initialised_dagster_home))
        runs = wait_for_runs_to_finish(instance, expected=len(days), timeout=240)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)

    assert sorted(run.tags["dagster/partition"] for run in runs) == days
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    assert len({run.tags["dagster/backfill"] for run in runs}) == 1
    for asset in SCRAPE_ASSETS:
        assert materializations(instance, asset) == days
    warehouse_file = Path(os.environ["PROPERTY_PIPELINE_WAREHOUSE"])
    per_day = rows_per_partition(warehouse_file, "raw_listings")
    assert sorted(per_day) == days
    with duckdb.connect(str(warehouse_file), read_only=True) as conn:
        duplicated = conn.execute(
            """
            select count(*) from (
                select partition_date, source, source_id from raw_listings
                group by all having count(*) > 1
            )
            """
        ).fetchone()[0]
    assert duplicated == 0


def wait_for_runs_to_finish(
    instance: dg.DagsterInstance, expected: int, timeout: float
) -> list[dg.DagsterRun]:
    deadline = time.monotonic() + timeout
    finished: list[dg.DagsterRun] = []
    while time.monotonic() < deadline:
        runs = instance.get_runs()
        finished = [run for run in runs if run.is_finished]
        if len(runs) >= expected and len(finished) == len(runs):
            return finished
        time.sleep(1)
    states = {run.run_id[:8]: run.status.value for run in instance.get_runs()}
    pytest.fail(f"runs did not finish within {timeout}s: {states}")
