"""Partition writes on an open DuckDB connection, independent of Dagster.

Every write replaces exactly one partition inside one transaction: the new rows are staged
first, then the partition's old rows are deleted and the staged rows inserted. A failure at any
step rolls the transaction back, so a crashed or re-executed run never leaves a half-written or
duplicated partition, and a model may read the very table it replaces (incremental assets).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
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
    """The DDL of every warehouse table: `warehouse/schema/<stage>.sql`, one file per stage."""
    folder = resources.files("property_pipeline.warehouse").joinpath("schema")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return "\n".join(entry.read_text() for entry in files)


def create_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet, add columns the schema has gained
    since a table was created (as nullable columns), and relax NOT NULL on columns it has
    dropped, so new rows can be written; existing rows and columns are untouched."""
    conn.execute(schema_sql())
    for table, column, data_type in _missing_columns(conn):
        conn.execute(f'alter table {table} add column "{column}" {data_type}')
    for table, column in _retired_required_columns(conn):
        conn.execute(f'alter table {table} alter column "{column}" drop not null')


def _missing_columns(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(table, column, type) in the schema files but not in the connected warehouse."""
    wanted = _schema_columns(schema_sql())
    present = set(conn.execute(_COLUMNS_SQL).fetchall())
    present_names = {(table, column) for table, column, _ in present}
    return [row for row in wanted if (row[0], row[1]) not in present_names]


def _retired_required_columns(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(table, column) NOT NULL in the warehouse but no longer in the schema files."""
    wanted = {(table, column) for table, column, _ in _schema_columns(schema_sql())}
    tables = {table for table, _ in wanted}
    rows = conn.execute(
        """
        select table_name, column_name
        from information_schema.columns
        where table_schema = 'main' and is_nullable = 'NO'
        """
    ).fetchall()
    return [row for row in rows if row[0] in tables and row not in wanted]


def schema_tables() -> set[str]:
    """Names of the tables the schema files define."""
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
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> PartitionWrite:
    """Replace one partition of `table` with the rows `select_sql` returns.

    The query must not produce the partition column itself: it is set here, so a model can
    never write into a partition other than the one being materialised. `frames` are DataFrames
    the query may read by name while it runs.
    """
    (write,) = replace_partitions(
        conn,
        partition_value,
        {table: select_sql},
        params,
        source_name=source_name,
        frames=frames,
    )
    return write


def replace_partitions(
    conn: duckdb.DuckDBPyConnection,
    partition_value: dt.date,
    queries: Mapping[str, str],
    params: dict[str, Any] | None = None,
    *,
    source_name: str | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> list[PartitionWrite]:
    """Replace the same partition of several tables in one transaction: all or none.

    `queries` maps each table to the select giving its new rows; every query is staged before
    any partition is deleted, so a query may read the tables being replaced.
    """
    for name, frame in (frames or {}).items():
        register_frame(conn, name, frame)
    conn.execute("begin transaction")
    try:
        staged = []
        for index, (table, select_sql) in enumerate(queries.items()):
            column = partition_column(conn, table)
            staging = f"{STAGING_TABLE}_{index}"
            origin = source_name or table
            sql_params = _params_used(select_sql, params or {})
            conn.execute(f"create or replace temp table {staging} as {select_sql}", sql_params)
            staged_columns = [row[0] for row in conn.execute(f"describe {staging}").fetchall()]
            if column in staged_columns:
                raise WarehouseError(
                    f"{origin}: the query returns the partition column {column!r}; leave it out,"
                    " the warehouse sets it from the partition being written"
                )
            staged.append((table, column, staging))
        writes = []
        for table, column, staging in staged:
            deleted = conn.execute(
                f"delete from {table} where {column} = ?", [partition_value]
            ).fetchone()[0]
            inserted = conn.execute(
                f"insert into {table} by name select ?::date as {column}, * from {staging}",
                [partition_value],
            ).fetchone()[0]
            conn.execute(f"drop table {staging}")
            writes.append(PartitionWrite(table, column, partition_value, deleted, inserted))
        conn.execute("commit")
    except duckdb.Error as error:
        conn.execute("rollback")
        origin = source_name or ", ".join(queries)
        raise WarehouseError(f"{origin}: {error}") from error
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        for name in frames or {}:
            conn.unregister(name)
    return writes


def register_frame(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Make `frame` readable as `name`, its column types read from every row.

    DuckDB guesses the type of a pandas object column from a sample of rows; a column empty in
    the sample (the text the AI step wrote for 20 listings out of 5,000) would be typed NULL and
    its values refused.
    """
    conn.execute(f"set pandas_analyze_sample = {max(len(frame), 1000)}")
    conn.register(name, frame)


def _params_used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The named parameters a query mentions: DuckDB refuses values it has no place for."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


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
    register_frame(conn, view, frame)
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
