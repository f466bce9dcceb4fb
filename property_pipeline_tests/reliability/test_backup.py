"""Backups: the warehouse exported to Parquet, pruned to the newest N, and restored intact."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from property_pipeline.warehouse import store
from property_pipeline.warehouse.backup import (
    BackupError,
    add_backup_commands,
    backup_warehouse,
    backups_dir,
    list_backups,
    restore_warehouse,
)
from property_pipeline_tests.reliability.support import (
    table_contents,
    warehouse_held_by_another_process,
)

DAY = dt.date(2026, 11, 2)
NEXT_DAY = dt.date(2026, 11, 3)
NOON = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse file with the real schema, two days of source failures and a cache row."""
    path = tmp_path / "data" / "warehouse.duckdb"
    path.parent.mkdir()
    with duckdb.connect(str(path)) as conn:
        store.create_schema(conn)
        conn.execute(
            """
            insert into source_failures (partition_date, source, url, reason) values
                ($day, 'rightmove', 'https://www.rightmove.co.uk/x?a=1', 'HTTP 503'),
                ($day, 'zoopla', null, 'it''s a bot challenge; drop table x; --'),
                ($next_day, 'allsop', 'https://www.allsop.co.uk/api', 'é ✓ 🏠 text')
            """,
            {"day": DAY, "next_day": NEXT_DAY},
        )
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_then_restore_gives_back_every_row_of_every_table(warehouse: Path) -> None:
    before = table_contents(warehouse)

    made = backup_warehouse(warehouse, now=NOON)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("delete from source_failures where source = 'zoopla'")
    restored = restore_warehouse(warehouse, "latest")

    assert made.path == warehouse.parent / "backups" / "20261102T120000000000Z"
    assert made.row_counts["source_failures"] == 3
    assert table_contents(warehouse) == before
    assert restored.replaced_copy == warehouse.with_name("warehouse.duckdb.before-restore")
    kept = table_contents(restored.replaced_copy)
    assert sorted(row[1] for row in kept["source_failures"]) == ["allsop", "rightmove"]


def test_backup_folder_holds_parquet_per_table_and_a_manifest_of_row_counts(
    warehouse: Path,
) -> None:
    made = backup_warehouse(warehouse, now=NOON)

    manifest = json.loads((made.path / "manifest.json").read_text())
    assert manifest["tables"]["source_failures"] == 3
    assert manifest["tables"]["raw_listings"] == 0
    assert set(manifest["tables"]) == store.schema_tables()
    assert (made.path / "source_failures.parquet").is_file()
    assert not any(entry.name.startswith(".partial") for entry in made.path.parent.iterdir())


def test_retention_keeps_only_the_newest_backups(warehouse: Path) -> None:
    times = [NOON + dt.timedelta(hours=hour) for hour in range(4)]

    for moment in times:
        backup_warehouse(warehouse, keep=2, now=moment)

    kept = [backup.created_at for backup in list_backups(backups_dir(warehouse))]
    assert kept == ["20261102T140000000000Z", "20261102T150000000000Z"]


def test_restore_latest_ignores_a_partial_backup_left_by_a_crash(warehouse: Path) -> None:
    backup_warehouse(warehouse, now=NOON)
    crashed = backups_dir(warehouse) / ".partial-20261102T130000000000Z"
    crashed.mkdir()
    (crashed / "source_failures.parquet").write_bytes(b"half a file")

    restored = restore_warehouse(warehouse, "latest")

    assert restored.backup.created_at == "20261102T120000000000Z"


def test_restore_with_a_manifest_that_disagrees_leaves_the_warehouse_untouched(
    warehouse: Path,
) -> None:
    made = backup_warehouse(warehouse, now=NOON)
    manifest_path = made.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["source_failures"] = 4
    manifest_path.write_text(json.dumps(manifest))
    digest = file_digest(warehouse)

    with pytest.raises(BackupError, match="source_failures: manifest 4, imported 3"):
        restore_warehouse(warehouse, str(made.path))

    assert file_digest(warehouse) == digest
    assert sorted(path.name for path in warehouse.parent.iterdir()) == [
        "backups",
        "warehouse.duckdb",
    ]


def test_restore_of_a_damaged_parquet_file_leaves_the_warehouse_untouched(
    warehouse: Path,
) -> None:
    made = backup_warehouse(warehouse, now=NOON)
    (made.path / "source_failures.parquet").write_bytes(b"PAR1 not really parquet")
    digest = file_digest(warehouse)

    with pytest.raises(BackupError, match="importing .* failed.*warehouse was not touched"):
        restore_warehouse(warehouse, str(made.path))

    assert file_digest(warehouse) == digest


def test_restore_is_refused_while_another_process_holds_the_warehouse(warehouse: Path) -> None:
    backup_warehouse(warehouse, now=NOON)
    before = table_contents(warehouse)

    with warehouse_held_by_another_process(warehouse):
        with pytest.raises(BackupError, match="in use by another process"):
            restore_warehouse(warehouse, "latest")

    assert table_contents(warehouse) == before
    assert not warehouse.with_name("warehouse.duckdb.before-restore").exists()


def test_backup_waits_for_a_writer_then_gives_up_with_a_clear_error(warehouse: Path) -> None:
    with warehouse_held_by_another_process(warehouse):
        with pytest.raises(BackupError, match="stayed locked by another process for 0.5s"):
            backup_warehouse(warehouse, now=NOON, lock_wait_seconds=0.5)

    assert list_backups(backups_dir(warehouse)) == []
    assert not any(backups_dir(warehouse).iterdir())


def test_restored_warehouse_takes_the_next_partition_write(warehouse: Path) -> None:
    backup_warehouse(warehouse, now=NOON)
    restore_warehouse(warehouse, "latest")

    with duckdb.connect(str(warehouse)) as conn:
        store.create_schema(conn)
        write = store.replace_partition(
            conn,
            "source_failures",
            DAY,
            "select 'zoopla' as source, null as url, 'HTTP 429' as reason",
        )

    assert (write.rows_deleted, write.rows_inserted) == (2, 1)


def test_restore_into_a_missing_warehouse_creates_it(warehouse: Path) -> None:
    made = backup_warehouse(warehouse, now=NOON)
    before = table_contents(warehouse)
    warehouse.unlink()

    restored = restore_warehouse(warehouse, str(made.path))

    assert restored.replaced_copy is None
    assert table_contents(warehouse) == before


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="property-pipeline")
    add_backup_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_backup_and_restore_round_trip(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROPERTY_PIPELINE_WAREHOUSE", str(warehouse))
    before = table_contents(warehouse)

    assert run_cli("backup", "--keep", "1") == 0
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("delete from source_failures")
    assert run_cli("restore") == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("backed up ") and "(3 rows)" in out[0] and out[0].endswith("keeping 1")
    assert out[1].startswith(f"restored {warehouse} from ") and "verified" in out[1]
    assert table_contents(warehouse) == before


def test_cli_errors_are_one_line_with_a_hint_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROPERTY_PIPELINE_WAREHOUSE", str(tmp_path / "none.duckdb"))

    assert run_cli("backup") == 2
    assert run_cli("restore", str(tmp_path)) == 2
    monkeypatch.setenv("PROPERTY_PIPELINE_BACKUP_KEEP", "seven")
    assert run_cli("backup") == 2

    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"property-pipeline: no warehouse at {tmp_path / 'none.duckdb'}; run the pipeline first,"
        " nothing to back up",
        f"property-pipeline: {tmp_path} is not a warehouse backup (no manifest.json); pass a"
        " folder that `property-pipeline backup` made, or `latest`",
        "property-pipeline: PROPERTY_PIPELINE_BACKUP_KEEP='seven' is not a whole number of at"
        " least 1; unset it or set e.g. 7",
    ]


def test_cli_rejects_a_keep_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("backup", "--keep", "0")

    assert exit_info.value.code == 2
    assert "--keep '0' must be a whole number >= 1" in capsys.readouterr().err
