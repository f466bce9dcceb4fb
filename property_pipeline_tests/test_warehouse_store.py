"""Partition writes: each replaces exactly its own partition, atomically."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from property_pipeline.warehouse import store

# Look-up and cache tables, filled outside the daily partitions (loads, API caches, outbox).
REFERENCE_TABLES = {
    "epc_certificates",
    "epc_lookups",
    "listing_analyses",
    "notify_outbox",
    "price_paid",
    "price_paid_loads",
}

DAY = dt.date(2026, 11, 2)
NEXT_DAY = dt.date(2026, 11, 3)


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    store.create_schema(connection)
    # A table of the warehouse's shape kept apart from the real ones, whose columns grow.
    connection.execute(
        """
        create table deal_scores (
            partition_date date not null,
            listing_key varchar not null,
            property_key varchar not null,
            score integer not null,
            band varchar not null,
            recommendation varchar not null
        )
        """
    )
    return connection


def scored_rows(*keys_and_scores: tuple[str, int]) -> str:
    values = ", ".join(
        f"('{key}', 'p-{key}', {score}, 'good', 'analyse')" for key, score in keys_and_scores
    )
    return (
        "select * from (values "
        + values
        + ") as t(listing_key, property_key, score, band, recommendation)"
    )


def test_schema_creates_every_asset_table_with_a_date_partition_column(conn) -> None:
    tables = set(store.warehouse_tables(conn))

    assert tables >= set(
        [
            "raw_listings",
            "source_failures",
            "listing_history",
            "property_links",
            "deduped_listings",
            "listing_price_history",
            "listing_features",
            "screened",
            "enriched",
            "scored",
            "digests",
            "weekly_stats",
        ]
    )
    asset_tables = tables - REFERENCE_TABLES - {"deal_scores"}
    assert {table: store.partition_column(conn, table) for table in asset_tables} == {
        "raw_listings": "partition_date",
        "source_failures": "partition_date",
        "listing_history": "partition_date",
        "property_links": "partition_date",
        "deduped_listings": "partition_date",
        "listing_price_history": "partition_date",
        "listing_features": "partition_date",
        "screened": "partition_date",
        "enriched": "partition_date",
        "comparables": "partition_date",
        "scored": "partition_date",
        "digests": "partition_date",
        "weekly_stats": "week_start",
    }


def test_creating_the_schema_again_keeps_existing_rows(conn) -> None:
    store.replace_partition(conn, "deal_scores", DAY, scored_rows(("a", 90)))

    store.create_schema(conn)

    assert store.partition_row_count(conn, "deal_scores", DAY) == 1


def test_a_table_from_an_older_schema_gains_the_new_columns_and_keeps_its_rows() -> None:
    conn = duckdb.connect(":memory:")
    conn.execute("create table scored (partition_date date not null, listing_key varchar not null)")
    conn.execute("insert into scored values (date '2026-11-02', 'a')")

    store.create_schema(conn)

    columns = [row[0] for row in conn.execute("describe scored").fetchall()]
    assert columns[:2] == ["partition_date", "listing_key"]
    assert {"score", "band", "recommendation"} <= set(columns)
    assert conn.execute("select partition_date, listing_key, score from scored").fetchall() == [
        (DAY, "a", None)
    ]


def test_replacing_a_partition_twice_leaves_one_copy_of_its_rows(conn) -> None:
    first = store.replace_partition(conn, "deal_scores", DAY, scored_rows(("a", 90), ("b", 70)))
    second = store.replace_partition(conn, "deal_scores", DAY, scored_rows(("a", 91), ("b", 71)))

    assert (first.rows_deleted, first.rows_inserted) == (0, 2)
    assert (second.rows_deleted, second.rows_inserted) == (2, 2)
    rows = conn.execute(
        "select listing_key, score from deal_scores order by listing_key"
    ).fetchall()
    assert rows == [("a", 91), ("b", 71)]


def test_replacing_one_partition_leaves_other_partitions_alone(conn) -> None:
    store.replace_partition(conn, "deal_scores", DAY, scored_rows(("a", 90)))
    store.replace_partition(conn, "deal_scores", NEXT_DAY, scored_rows(("b", 80), ("c", 60)))

    store.replace_partition(conn, "deal_scores", DAY, scored_rows(("d", 65)))

    rows = conn.execute(
        "select partition_date, listing_key from deal_scores order by partition_date, listing_key"
    ).fetchall()
    assert rows == [(DAY, "d"), (NEXT_DAY, "b"), (NEXT_DAY, "c")]


def test_a_failing_write_rolls_back_and_keeps_the_partition_as_it_was(conn) -> None:
    store.replace_partition(conn, "deal_scores", DAY, scored_rows(("a", 90)))

    # score is NOT NULL: the insert fails after the delete has run inside the transaction.
    broken = (
        "select 'z' as listing_key, 'p' as property_key, null::integer as score,"
        " 'good' as band, 'x' as recommendation"
    )
    with pytest.raises(store.WarehouseError, match="deal_scores"):
        store.replace_partition(conn, "deal_scores", DAY, broken)

    assert conn.execute("select listing_key, score from deal_scores").fetchall() == [("a", 90)]


def test_a_query_that_sets_the_partition_column_itself_is_refused(conn) -> None:
    query = "select date '2026-01-01' as partition_date, 'a' as listing_key"

    with pytest.raises(store.WarehouseError, match="partition column 'partition_date'"):
        store.replace_partition(conn, "deal_scores", DAY, query, source_name="models/bad.sql")

    assert store.partition_row_count(conn, "deal_scores", dt.date(2026, 1, 1)) == 0


def test_a_model_may_read_the_table_it_replaces(conn) -> None:
    store.replace_partition(conn, "deal_scores", DAY, scored_rows(("a", 90)))

    incremental = (
        "select * exclude (partition_date) from deal_scores where partition_date = $day"
        " union all by name " + scored_rows(("b", 75))
    )
    store.replace_partition(conn, "deal_scores", DAY, incremental, {"day": DAY})

    keys = conn.execute("select listing_key from deal_scores order by 1").fetchall()
    assert keys == [("a",), ("b",)]


def test_a_dataframe_replaces_a_partition_matching_columns_by_name(conn) -> None:
    frame = pd.DataFrame(
        {
            "source": ["rightmove", "zoopla"],
            "source_id": ["1", "2"],
            "listing_type": ["sale", "auction_lot"],
            "price": [100_000, 250_000],
            "key_features": [["Freehold"], ["Chain free", "Garden"]],
        }
    )

    store.replace_partition_from_frame(conn, "raw_listings", DAY, frame)
    store.replace_partition_from_frame(conn, "raw_listings", DAY, frame)

    rows = conn.execute(
        "select partition_date, source, price, key_features from raw_listings order by source"
    ).fetchall()
    assert rows == [
        (DAY, "rightmove", 100_000, ["Freehold"]),
        (DAY, "zoopla", 250_000, ["Chain free", "Garden"]),
    ]


def test_writing_to_an_unknown_table_names_it(conn) -> None:
    with pytest.raises(store.WarehouseError, match="'listings_typo' does not exist"):
        store.replace_partition(conn, "listings_typo", DAY, "select 1 as x")


def test_a_required_column_the_schema_dropped_is_relaxed_so_new_rows_fit() -> None:
    conn = duckdb.connect(":memory:")
    conn.execute(
        "create table digests (partition_date date not null, retired_column varchar not null)"
    )
    conn.execute("insert into digests values (date '2026-11-02', 'kept')")

    store.create_schema(conn)
    conn.execute("insert into digests (partition_date) values (date '2026-11-03')")

    assert conn.execute(
        "select partition_date, retired_column from digests order by 1"
    ).fetchall() == [(DAY, "kept"), (NEXT_DAY, None)]
