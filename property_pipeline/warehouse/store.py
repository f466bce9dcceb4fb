"""Partition writes on an open DuckDB connection, independent of Dagster.

Every write replaces exactly one partition inside one transaction: the new rows are staged
first, then the partition's old rows are deleted and the staged rows inserted. A failure at any
step rolls the transaction back, so a crashed or re-executed run never leaves a half-written or
duplicated partition, and a model may read the very table it replaces (incremental assets).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import pandas as pd

STAGING_TABLE = "__staged_partition"


class WarehouseError(RuntimeError):
    """A warehouse write was refused; the message names the table and what was wrong."""


@dataclass(frozen=True)
class PartitionWrite:
    """What one partition replacement did, for logs and asset metadata."""

    table: str
    partition_column: str
    partition_value: dt.date
    rows_deleted: int
    rows_inserted: int


def schema_sql() -> str:
    """The DDL of every warehouse table (`warehouse/schema.sql`)."""
    return resources.files("property_pipeline.warehouse").joinpath("schema.sql").read_text()


def create_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet, and add columns the schema has
    gained since a table was created (as nullable columns); existing rows are untouched."""
    conn.execute(schema_sql())
    for table, column, data_type in _missing_columns(conn):
        conn.execute(f'alter table {table} add column "{column}" {data_type}')


def _missing_columns(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(table, column, type) in schema.sql but not in the connected warehouse."""
    wanted = _schema_columns(schema_sql())
    present = set(conn.execute(_COLUMNS_SQL).fetchall())
    present_names = {(table, column) for table, column, _ in present}
    return [row for row in wanted if (row[0], row[1]) not in present_names]


def schema_tables() -> set[str]:
    """Names of the tables schema.sql defines."""
    return {table for table, _, _ in _schema_columns(schema_sql())}


@functools.lru_cache(maxsize=4)
def _schema_columns(ddl: str) -> tuple[tuple[str, str, str], ...]:
    with duckdb.connect(":memory:") as reference:
        reference.execute(ddl)
        return tuple(reference.execute(_COLUMNS_SQL).fetchall())


_COLUMNS_SQL = """
    select table_name, column_name, data_type
    from information_schema.columns
    where table_schema = 'main'
    order by table_name, ordinal_position
"""


def warehouse_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the tables in the connection's main schema."""
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()
    return sorted(row[0] for row in rows)


def partition_column(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """The partition column of a warehouse table: by convention its first column, a DATE."""
    rows = conn.execute(
        """
        select column_name, data_type
        from information_schema.columns
        where table_schema = 'main' and table_name = ?
        order by ordinal_position
        limit 1
        """,
        [table],
    ).fetchall()
    if not rows:
        raise WarehouseError(f"table {table!r} does not exist in the warehouse")
    name, data_type = rows[0]
    if data_type != "DATE":
        raise WarehouseError(
            f"table {table!r} cannot be partitioned: its first column {name!r} is {data_type},"
            " not DATE"
        )
    return name


def replace_partition(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    partition_value: dt.date,
    select_sql: str,
    params: dict[str, Any] | None = None,
    *,
    source_name: str | None = None,
) -> PartitionWrite:
    """Replace one partition of `table` with the rows `select_sql` returns.

    The query must not produce the partition column itself: it is set here, so a model can
    never write into a partition other than the one being materialised.
    """
    column = partition_column(conn, table)
    origin = source_name or table
    conn.execute("begin transaction")
    try:
        conn.execute(f"create or replace temp table {STAGING_TABLE} as {select_sql}", params or {})
        staged_columns = [row[0] for row in conn.execute(f"describe {STAGING_TABLE}").fetchall()]
        if column in staged_columns:
            raise WarehouseError(
                f"{origin}: the query returns the partition column {column!r}; leave it out,"
                " the warehouse sets it from the partition being written"
            )
        deleted = conn.execute(
            f"delete from {table} where {column} = ?", [partition_value]
        ).fetchone()[0]
        inserted = conn.execute(
            f"insert into {table} by name select ?::date as {column}, * from {STAGING_TABLE}",
            [partition_value],
        ).fetchone()[0]
        conn.execute(f"drop table {STAGING_TABLE}")
        conn.execute("commit")
    except duckdb.Error as error:
        conn.execute("rollback")
        raise WarehouseError(f"{origin}: {error}") from error
    except BaseException:
        conn.execute("rollback")
        raise
    return PartitionWrite(table, column, partition_value, deleted, inserted)


def replace_partition_from_frame(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    partition_value: dt.date,
    frame: pd.DataFrame,
    *,
    keep_stored_for_sources: Sequence[str] = (),
) -> PartitionWrite:
    """Replace one partition of `table` with the rows of a DataFrame (columns matched by name).

    Stored rows of the sources in `keep_stored_for_sources` whose (source, source_id) the frame
    does not hold are kept: a source that failed today must not wipe what it gave earlier.
    """
    view = f"__frame_for_{table}"
    conn.register(view, frame)
    query = f"select * from {view}"
    params: dict[str, Any] = {}
    if keep_stored_for_sources:
        column = partition_column(conn, table)
        query += f"""
            union all by name
            select stored.* exclude ({column})
            from {table} as stored
            where stored.{column} = $partition_value
                and list_contains($kept_sources, stored.source)
                and not exists (
                    select 1 from {view} as fresh
                    where fresh.source = stored.source and fresh.source_id = stored.source_id
                )
        """
        params = {"partition_value": partition_value, "kept_sources": list(keep_stored_for_sources)}
    try:
        return replace_partition(conn, table, partition_value, query, params)
    finally:
        conn.unregister(view)


def partition_row_count(
    conn: duckdb.DuckDBPyConnection, table: str, partition_value: dt.date
) -> int:
    """Rows stored in one partition of `table`."""
    column = partition_column(conn, table)
    return conn.execute(
        f"select count(*) from {table} where {column} = ?", [partition_value]
    ).fetchone()[0]
