"""The warehouse as a Dagster resource: one DuckDB file, opened briefly for each write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from property_pipeline import settings
from property_pipeline.warehouse import store
from property_pipeline.warehouse.models import SqlModel, load_models_if_changed


class WarehouseResource(DuckDBResource):
    """The project's DuckDB warehouse: schema set-up, partition writes and SQL models.

    DuckDB admits one writing process per file, so connections are opened only for the
    moment of a write and closed even when the write fails; dagster-duckdb retries the open
    with backoff while another run holds the file.
    """

    sql_dir: str = Field(
        default="",
        description="Folder of SQL models; empty: $PROPERTY_PIPELINE_SQL_DIR or dbt_like_sql/.",
    )

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An open connection with the schema in place, closed on exit whatever happens."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as conn:
            try:
                store.create_schema(conn)
                yield conn
            finally:
                conn.close()

    def models(self) -> dict[str, SqlModel]:
        """The SQL models, keyed by asset; an edited file takes effect at the next step."""
        folder = Path(self.sql_dir) if self.sql_dir else settings.sql_dir()
        return load_models_if_changed(folder, store.schema_tables())

    def run_model(
        self, asset: str, partition_value: dt.date, params: dict[str, Any] | None = None
    ) -> store.PartitionWrite:
        """Replace `asset`'s partition with what its SQL model selects for that partition."""
        model = self.models().get(asset)
        if model is None:
            raise store.WarehouseError(f"no SQL model builds asset {asset!r}")
        values = {"partition_date": partition_value, **(params or {})}
        with self.connection() as conn:
            return store.replace_partition(
                conn,
                asset,
                partition_value,
                model.sql,
                model.bind(values),
                source_name=str(model.path),
            )

    def replace_partition_from_frame(
        self,
        table: str,
        partition_value: dt.date,
        frame: pd.DataFrame,
        keep_stored_for_sources: Sequence[str] = (),
    ) -> store.PartitionWrite:
        """Replace one partition of `table` with a DataFrame's rows (see store for `keep_...`)."""
        with self.connection() as conn:
            return store.replace_partition_from_frame(
                conn,
                table,
                partition_value,
                frame,
                keep_stored_for_sources=keep_stored_for_sources,
            )

    def query_frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """The result of a read-only query as a DataFrame (for checks and reports)."""
        with self.connection() as conn:
            return conn.execute(sql, params or {}).df()

    def partition_row_count(self, table: str, partition_value: dt.date) -> int:
        """Rows currently stored in one partition of `table`."""
        with self.connection() as conn:
            return store.partition_row_count(conn, table, partition_value)
