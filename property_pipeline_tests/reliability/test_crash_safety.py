"""Crash safety: a run SIGKILLed in the middle of a partition write leaves the warehouse as it was.

The run is stopped at the worst moment: its transaction has deleted the partition's old rows
and inserted the new ones, and is about to commit (see crash_definitions.py). After the kill
the warehouse must hold exactly what it held before, and the next run must complete.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from property_pipeline.definitions import ASSETS, DAILY_ASSET_NAMES
from property_pipeline.resources import build_resources
from property_pipeline_tests.conftest import REPO_ROOT
from property_pipeline_tests.reliability.crash_definitions import (
    PAUSE_MARKER_ENV,
    PAUSE_TABLE_ENV,
)
from property_pipeline_tests.reliability.support import DAGSTER_BIN, table_contents

EARLIER_DAY = "2026-11-22"
DAY = "2026-11-23"
# Every daily asset is killed in its own write in the slow sweep (about a minute each on two
# busy cores); raw_listings, the write that keeps failed sources' rows, runs
# by default.
QUICK_ASSETS = ("raw_listings",)
KILL_WAIT_SECONDS = 120
# Assets that keep a partition once written (a digest people were sent stays as it was).
WRITTEN_ONCE = {"digests"}


@pytest.fixture(scope="module")
def two_days_stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAGSTER_HOME and warehouse where every daily asset has run for two days (sample data)."""
    root = tmp_path_factory.mktemp("two_days")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    warehouse = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        _isolate(patch, home, warehouse)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            for day in (EARLIER_DAY, DAY):
                result = dg.materialize(
                    ASSETS,
                    selection=list(DAILY_ASSET_NAMES),
                    partition_key=day,
                    resources=build_resources(),
                    instance=instance,
                )
                assert result.success
    return root


def _isolate(patch: pytest.MonkeyPatch, home: Path, warehouse: Path) -> None:
    patch.setenv("DAGSTER_HOME", str(home))
    patch.setenv("PROPERTY_PIPELINE_WAREHOUSE", str(warehouse))
    for name in (
        "PROPERTY_PIPELINE_SANDBOX_URL",
        "PROPERTY_PIPELINE_LIVE",
        "DAGSTER_POSTGRES_URL",
        "DAGSTER_POSTGRES_HOST",
    ):
        patch.delenv(name, raising=False)


@pytest.fixture
def stored(two_days_stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the two stored days, with the environment pointed at it."""
    copy = tmp_path / "stored"
    shutil.copytree(two_days_stored, copy)
    _isolate(monkeypatch, copy / "dagster_home", copy / "warehouse.duckdb")
    return copy


def materialize_command(module: str, asset: str) -> list[str]:
    return [
        str(DAGSTER_BIN),
        "asset",
        "materialize",
        "-m",
        module,
        "--select",
        asset,
        "--partition",
        DAY,
    ]


def kill_mid_commit(asset: str, marker: Path) -> str:
    """Run `asset` for DAY in a child process and SIGKILL it once its write is staged."""
    env = {**os.environ, PAUSE_TABLE_ENV: asset, PAUSE_MARKER_ENV: str(marker)}
    child = subprocess.Popen(
        materialize_command("property_pipeline_tests.reliability.crash_definitions", asset),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while not marker.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            output = child.communicate()[0]
            pytest.fail(f"{asset}: the run never reached its commit:\n{output[-3000:]}")
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return marker.read_text()


def check_crash_leaves_data_and_next_run_completes(asset: str, stored: Path) -> None:
    warehouse = stored / "warehouse.duckdb"
    if asset in WRITTEN_ONCE:
        # A stored digest is reused, never rewritten: only its first write can be killed.
        with duckdb.connect(str(warehouse)) as conn:
            conn.execute(f"delete from {asset} where partition_date = ?", [DAY])
    before = table_contents(warehouse)
    # The sample's two days leave some tables (listing_price_history) empty: the kill then
    # proves that no staged row shows, rather than that old rows survive.
    assert asset in before

    staged = kill_mid_commit(asset, stored / "paused.txt")

    assert staged.startswith(f"{asset} ")
    assert table_contents(warehouse) == before, "the killed write must leave no trace"
    free_the_dead_runs_pool_slots(stored / "dagster_home")
    rerun = subprocess.run(
        materialize_command("property_pipeline.definitions", asset),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=KILL_WAIT_SECONDS,
    )
    assert rerun.returncode == 0, (rerun.stdout + rerun.stderr)[-3000:]
    after = table_contents(warehouse)
    if asset in WRITTEN_ONCE:
        assert DAY in _partition_sizes(after[asset]), "the next run writes the digest"
        return
    assert {name: rows for name, rows in after.items() if name != asset} == {
        name: rows for name, rows in before.items() if name != asset
    }
    assert _partition_sizes(after[asset]) == _partition_sizes(before[asset])


def free_the_dead_runs_pool_slots(home: Path) -> None:
    """Mark the killed run failed and free its "warehouse" pool slot, as the daemon would.

    A SIGKILLed run stays STARTED and keeps its slot in the one-slot warehouse pool, so every
    later run would queue behind it for ever. Known shortcoming: nothing in the project frees
    it yet. The daemon does what this function does when dagster.yaml sets `run_monitoring`
    (max_runtime_seconds marks the dead run failed, free_slots_after_run_end_seconds frees the
    slot); until then an operator does it by hand (see docs/reliability.md).
    """
    with dg.DagsterInstance.from_config(str(home)) as instance:
        pool = instance.event_log_storage.get_concurrency_info("warehouse")
        stuck = {slot.run_id for slot in pool.claimed_slots}
        started = {run.run_id for run in instance.get_runs() if not run.is_finished}
        assert stuck and stuck <= started, "the killed run is expected to hold the pool slot"
        for run_id in stuck:
            run = instance.get_run_by_id(run_id)
            assert run is not None
            instance.report_run_failed(run, "run worker killed (SIGKILL); slot freed by the test")
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []


def _partition_sizes(rows: list[tuple[object, ...]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for row in rows:
        sizes[str(row[0])] = sizes.get(str(row[0]), 0) + 1
    return sizes


@pytest.mark.parametrize("asset", QUICK_ASSETS)
def test_a_run_killed_mid_commit_leaves_the_previous_data_and_the_next_run_completes(
    asset: str, stored: Path
) -> None:
    check_crash_leaves_data_and_next_run_completes(asset, stored)


@pytest.mark.slow
@pytest.mark.parametrize("asset", [name for name in DAILY_ASSET_NAMES if name not in QUICK_ASSETS])
def test_every_other_daily_asset_survives_a_kill_mid_commit(asset: str, stored: Path) -> None:
    check_crash_leaves_data_and_next_run_completes(asset, stored)
