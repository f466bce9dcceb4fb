"""The real code location with a warehouse that stops dead just before one table's commit.

Only for test_crash_safety: with PROPERTY_PIPELINE_TEST_PAUSE_TABLE set, the warehouse
resource runs the project's own partition writes unchanged, but when the transaction that
inserted into that table is about to commit it writes PROPERTY_PIPELINE_TEST_PAUSE_MARKER and
sleeps, so the test can SIGKILL the run with the new rows staged, the old ones deleted and
nothing committed: the worst moment a crash can come.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from property_pipeline import definitions
from property_pipeline.warehouse.resource import WarehouseResource

PAUSE_TABLE_ENV = "PROPERTY_PIPELINE_TEST_PAUSE_TABLE"
PAUSE_MARKER_ENV = "PROPERTY_PIPELINE_TEST_PAUSE_MARKER"
_INSERT_INTO = re.compile(r"^\s*insert\s+into\s+(\w+)", re.I)


class _PausingConnection:
    """A DuckDB connection that hangs at the commit of a transaction inserting into `table`."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, table: str, marker: Path) -> None:
        self._conn = conn
        self._table = table
        self._marker = marker
        self._inserted_into: str | None = None

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        match = _INSERT_INTO.match(sql)
        if match:
            self._inserted_into = match.group(1)
        if sql.strip().lower() == "commit" and self._inserted_into == self._table:
            rows = self._conn.execute(f"select count(*) from {self._table}").fetchone()[0]
            self._marker.write_text(f"{self._table} {rows} rows staged, not committed\n")
            time.sleep(3600)
        return self._conn.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class PausingWarehouseResource(WarehouseResource):
    """The project's warehouse resource, pausing before the commit of `pause_table`'s write."""

    pause_table: str = ""
    pause_marker: str = ""

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().connection() as conn:
            if not self.pause_table:
                yield conn
                return
            pausing = _PausingConnection(conn, self.pause_table, Path(self.pause_marker))
            yield pausing  # type: ignore[misc]


def _resources() -> dict[str, object]:
    resources = dict(definitions.defs.resources or {})
    warehouse = resources["warehouse"]
    assert isinstance(warehouse, WarehouseResource)
    resources["warehouse"] = PausingWarehouseResource(
        database=warehouse.database,
        sql_dir=warehouse.sql_dir,
        pause_table=os.environ.get(PAUSE_TABLE_ENV, ""),
        pause_marker=os.environ.get(PAUSE_MARKER_ENV, ""),
    )
    return resources


defs = dg.Definitions(
    assets=definitions.ASSETS,
    jobs=definitions.defs.jobs,
    resources=_resources(),
    executor=dg.in_process_executor,
)
