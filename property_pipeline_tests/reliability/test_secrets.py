"""Secrets: API keys and tokens reach the upstreams and nowhere else.

The whole pipeline runs for one day against the sandbox, as `dagster asset materialize` would
in production, with marker values in EPC_API_TOKEN, OPENAI_API_KEY and SLACK_BOT_TOKEN. No
marker may then appear in the run's output, the Dagster event log and its metadata, any
warehouse table, or any file under the data folder or DAGSTER_HOME.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._serdes import serialize_value

from property_pipeline.definitions import DAILY_ASSET_NAMES
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import MarketConfig
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline_tests.conftest import REPO_ROOT
from property_pipeline_tests.reliability.support import DAGSTER_BIN

DAY = dt.date(2026, 3, 2)
RUN = uuid.uuid4().hex[:12]
# The Slack stand-in, like Slack, refuses a token without its xox?- prefix.
MARKERS = {
    "EPC_API_TOKEN": f"epc-SECRETMARKER-{RUN}",
    "OPENAI_API_KEY": f"sk-SECRETMARKER-{RUN}",
    "SLACK_BOT_TOKEN": f"xoxb-SECRETMARKER-{RUN}",
}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        market=MarketConfig(listings=5_000), date=DAY, epc_token=MARKERS["EPC_API_TOKEN"]
    )
    with SandboxServer(config) as server:
        yield server


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    """Files under `root` whose bytes contain any needle, as 'path: needle'."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {needle!r}" for needle in needles if needle in data]
    return found


def warehouse_cells_containing(warehouse: Path, needles: list[str]) -> list[str]:
    """'table.column' for every text or list column holding any needle."""
    found = []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        columns = conn.execute(
            """
            select table_name, column_name
            from information_schema.columns
            where table_schema = 'main'
                and (data_type like '%VARCHAR%' or data_type like '%[]' or data_type = 'JSON'
                    or data_type like 'STRUCT%' or data_type like 'MAP%')
            """
        ).fetchall()
        for table, column in columns:
            for needle in needles:
                hits = conn.execute(
                    f'select count(*) from "{table}" where cast("{column}" as varchar) like ?',
                    [f"%{needle}%"],
                ).fetchone()[0]
                if hits:
                    found.append(f"{table}.{column}: {hits} rows hold {needle!r}")
    return found


def event_log_entries_containing(home: Path, needles: list[str]) -> list[str]:
    """Run id and event type of every stored event (metadata included) holding any needle."""
    found = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                text = serialize_value(entry)
                found += [
                    f"{run.run_id[:8]} {entry.dagster_event_type}: {needle!r}"
                    for needle in needles
                    if needle in text
                ]
            tags_and_config = serialize_value(run)
            found += [f"run {run.run_id[:8]}: {n!r}" for n in needles if n in tags_and_config]
    return found


def test_a_full_day_with_marker_secrets_leaks_none_of_them(
    dagster_home: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = sandbox.base_url
    monkeypatch.setenv("PROPERTY_PIPELINE_SANDBOX_URL", base)
    monkeypatch.delenv("PROPERTY_PIPELINE_LIVE", raising=False)
    for name, value in MARKERS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EPC_API_BASE_URL", f"{base}/epc")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/openai/v1")
    monkeypatch.setenv("SLACK_API_URL", f"{base}/slack/api")
    warehouse = Path(os.environ["PROPERTY_PIPELINE_WAREHOUSE"])

    run = subprocess.run(
        [
            str(DAGSTER_BIN),
            "asset",
            "materialize",
            "-m",
            "property_pipeline.definitions",
            "--select",
            ",".join(DAILY_ASSET_NAMES),
            "--partition",
            DAY.isoformat(),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = run.stdout + run.stderr

    assert run.returncode == 0, output[-3000:]
    secrets = list(MARKERS.values())
    # The model was called with the marker key, so a leak had every chance to happen. Known
    # shortcoming: EPC and Slack use are not checked here (their stand-ins keep no request log).
    if "enriched" in DAILY_ASSET_NAMES:
        assert sandbox.context.openai_requests.entries(), "the AI step never used its key"
    assert [name for name, value in MARKERS.items() if value in output] == []
    assert event_log_entries_containing(dagster_home, secrets) == []
    assert warehouse_cells_containing(warehouse, secrets) == []
    assert files_containing(tmp_path, [secret.encode() for secret in secrets]) == []


def test_the_scanners_find_a_planted_marker(tmp_path: Path) -> None:
    """The leak checks above would see a secret if one were there."""
    marker = MARKERS["SLACK_BOT_TOKEN"]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "compute.err").write_text(f"posting with {marker}\n")
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create table outbox (partition_date date, payload varchar[])")
        conn.execute("insert into outbox values ('2026-03-02', ['a', ?])", [f"Bearer {marker}"])

    assert files_containing(tmp_path / "logs", [marker.encode()]) == [
        f"{tmp_path / 'logs' / 'compute.err'}: {marker.encode()!r}"
    ]
    assert warehouse_cells_containing(warehouse, [marker]) == [
        f"outbox.payload: 1 rows hold {marker!r}"
    ]
