"""Helpers the reliability tests share: whole-warehouse snapshots and a process holding the lock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from property_pipeline_tests.conftest import REPO_ROOT

DAGSTER_BIN = Path(sys.executable).parent / "dagster"


def table_contents(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, by table name: equal snapshots mean identical warehouses."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
                " order by 1"
            ).fetchall()
        ]
        return {
            name: sorted(conn.execute(f'select * from "{name}"').fetchall(), key=repr)
            for name in names
        }


def row_counts(warehouse: Path) -> dict[str, int]:
    """Rows per table of the warehouse file."""
    return {name: len(rows) for name, rows in table_contents(warehouse).items()}


@contextmanager
def warehouse_held_by_another_process(warehouse: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate Python process with `warehouse` open for writing until the block ends.

    DuckDB's file lock is per process, so only another process shows what a concurrent run
    or `dagster dev` holding the warehouse does to a backup or restore.
    """
    script = (
        "import duckdb, sys\n"
        f"conn = duckdb.connect({str(warehouse)!r})\n"
        "print('holding', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
