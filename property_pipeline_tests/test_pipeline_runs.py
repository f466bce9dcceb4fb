"""The seven assets run end to end on the built-in input, idempotently, with row counts."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from property_pipeline.definitions import ASSETS
from property_pipeline.enrichment.analysis import ListingReader
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.builtin import builtin_listings
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.conftest import offline_resources

DAY = "2026-11-29"
WEEK = "2026-11-23"
INGEST = ["listing_history", "property_links", "deduped_listings", "listing_price_history"]
UP_TO_DEDUPED = ["raw_listings", *INGEST]
UP_TO_SCREENED = [*UP_TO_DEDUPED, "screened"]
DAILY = [*UP_TO_SCREENED, "enriched", "scored", "digests"]
ALL_TABLES = [*DAILY, "weekly_stats"]
# When a row was written: the one column a rerun may change.
RUN_TIMES = {"enriched": "enriched_at", "scored": "scored_at"}


def materialize(
    warehouse: WarehouseResource,
    selection: list[str],
    partition: str,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        ASSETS,
        selection=selection,
        partition_key=partition,
        resources=offline_resources(warehouse),
        run_config=run_config,
    )
    assert result.success
    return result


def table_contents(warehouse: WarehouseResource) -> dict[str, list[tuple]]:
    with duckdb.connect(warehouse.database, read_only=True) as conn:
        return {
            table: conn.execute(
                f"select * exclude ({RUN_TIMES[table]}) from {table} order by all"
                if table in RUN_TIMES
                else f"select * from {table} order by all"
            ).fetchall()
            for table in ALL_TABLES
        }


def test_a_partition_flows_from_raw_listings_to_digests_with_row_counts(warehouse) -> None:
    result = materialize(warehouse, DAILY, DAY)

    counts = {
        event.asset_key.to_user_string(): event.materialization.metadata[
            "dagster/partition_row_count"
        ].value
        for event in result.get_asset_materialization_events()
    }
    expected_raw = len(builtin_listings(dt.date.fromisoformat(DAY)))
    assert counts["raw_listings"] == expected_raw
    # A first day: every listing is new, in play and seen once; no price has changed yet.
    assert counts["listing_history"] == counts["property_links"] == expected_raw
    assert counts["deduped_listings"] == expected_raw
    assert counts["listing_price_history"] == 0
    assert counts["screened"] == expected_raw
    # The short-lease flat is rejected at screening; everything else is enriched and scored.
    assert counts["enriched"] == counts["scored"] == expected_raw - 1
    # A Sunday's digest holds the day's good deals only (the watchlist rides on Mondays).
    good = warehouse.query_frame(
        "select count(*) as n from scored where partition_date = $day and band = 'good'",
        {"day": dt.date.fromisoformat(DAY)},
    )["n"][0]
    assert counts["digests"] == good
    for name in DAILY:
        assert warehouse.partition_row_count(name, dt.date.fromisoformat(DAY)) == counts[name]


def test_screening_records_which_criterion_rejected_a_listing(warehouse) -> None:
    materialize(warehouse, UP_TO_SCREENED, DAY)

    with duckdb.connect(warehouse.database, read_only=True) as conn:
        rejected = conn.execute(
            "select listing_key, reasons from screened where status = 'rejected'"
        ).fetchall()
    assert rejected == [("rightmove:150000103", ["lease_too_short"])]


def test_listings_on_two_portals_share_a_property_key(warehouse) -> None:
    materialize(warehouse, UP_TO_DEDUPED, DAY)

    with duckdb.connect(warehouse.database, read_only=True) as conn:
        shared = conn.execute(
            """
            select property_key, list(listing_key order by listing_key), max(sources_seen)
            from deduped_listings
            group by property_key
            having count(*) > 1
            order by property_key
            """
        ).fetchall()
    # Both adverts were first seen that day: the key is the first of them by listing key.
    assert shared == [
        ("rightmove:150000101", ["rightmove:150000101", "zoopla:70000101"], 2),
        ("rightmove:150000102", ["rightmove:150000102", "zoopla:70000103"], 2),
    ]


def test_rematerialising_a_partition_leaves_identical_tables(warehouse) -> None:
    materialize(warehouse, DAILY, DAY)
    materialize(warehouse, ["weekly_stats"], WEEK)
    first = table_contents(warehouse)

    materialize(warehouse, DAILY, DAY)
    materialize(warehouse, ["weekly_stats"], WEEK)

    assert table_contents(warehouse) == first
    # The sample's prices never change, and without Land Registry sales or EPCs offline no
    # listing has the evidence to score as a good deal: those two tables may be empty.
    assert all(
        first[table] for table in ALL_TABLES if table not in {"listing_price_history", "digests"}
    )


def test_earlier_days_hold_only_listings_already_advertised(warehouse) -> None:
    materialize(warehouse, ["raw_listings"], "2026-10-02")
    materialize(warehouse, ["raw_listings"], DAY)

    early = warehouse.partition_row_count("raw_listings", dt.date(2026, 10, 2))
    late = warehouse.partition_row_count("raw_listings", dt.date.fromisoformat(DAY))
    assert early == len(builtin_listings(dt.date(2026, 10, 2))) < late


def test_each_enrichment_run_reads_one_batch_best_first_and_keeps_earlier_results(
    warehouse,
) -> None:
    materialize(warehouse, UP_TO_SCREENED, DAY)
    day = dt.date.fromisoformat(DAY)
    pending = warehouse.partition_row_count("screened", day) - 1
    batch_of_two = {"ops": {"enriched": {"config": {"batch_size": 2}}}}
    analysed_counts, first_batch_scores = [], None
    with SandboxServer() as sandbox:
        # A model costs money, so each run reads only its batch (rules would read everyone).
        resources = {
            **offline_resources(warehouse),
            "listing_reader": ListingReader(api_key="sk-sandbox", base_url=sandbox.url("openai")),
        }
        for _ in range(5):
            result = dg.materialize(
                ASSETS,
                selection=["enriched"],
                partition_key=DAY,
                resources=resources,
                run_config=batch_of_two,
            )
            assert result.success
            rows = warehouse.query_frame(
                "select status, preliminary_score from enriched where partition_date = $day",
                {"day": day},
            )
            analysed_counts.append(int((rows["status"] == "analysed").sum()))
            assert len(rows) == pending
            if first_batch_scores is None:
                first_batch_scores = rows

    assert analysed_counts == [2, 4, 6, pending, pending]
    best_read = first_batch_scores[first_batch_scores["status"] == "analysed"]
    left = first_batch_scores[first_batch_scores["status"] != "analysed"]
    assert best_read["preliminary_score"].min() >= left["preliminary_score"].max()
    with duckdb.connect(warehouse.database, read_only=True) as conn:
        duplicates = conn.execute(
            "select count(*) - count(distinct listing_key) from enriched"
        ).fetchone()[0]
    assert duplicates == 0


def test_enrichment_batch_size_below_one_is_refused_by_name(warehouse) -> None:
    materialize(warehouse, UP_TO_SCREENED, DAY)

    with pytest.raises(Exception, match="batch_size must be at least 1, got 0"):
        dg.materialize(
            ASSETS,
            selection=["enriched"],
            partition_key=DAY,
            resources=offline_resources(warehouse),
            run_config={"ops": {"enriched": {"config": {"batch_size": 0}}}},
        )


def test_weekly_stats_sum_up_the_seven_days_of_their_week(warehouse) -> None:
    week_days = [dt.date(2026, 11, 23) + dt.timedelta(days=offset) for offset in range(7)]
    for day in week_days[:3]:
        materialize(warehouse, DAILY, day.isoformat())
    # A day outside the week must not count.
    materialize(warehouse, DAILY, "2026-11-30")

    materialize(warehouse, ["weekly_stats"], WEEK)

    with duckdb.connect(warehouse.database, read_only=True) as conn:
        stats = dict(
            conn.execute(
                """
                select location, listings_live
                from weekly_stats
                where location <> 'ALL' and property_type = 'all'
                order by location
                """
            ).fetchall()
        )
        # Counted by property: one home on two portals is one listing live.
        expected = dict(
            conn.execute(
                """
                select outcode, count(distinct property_key)
                from deduped_listings
                where partition_date between date '2026-11-23' and date '2026-11-29'
                group by outcode
                order by outcode
                """
            ).fetchall()
        )
        properties = conn.execute(
            """
            select count(distinct property_key)
            from deduped_listings
            where partition_date between date '2026-11-23' and date '2026-11-29'
            """
        ).fetchone()[0]
    assert stats == expected
    assert sum(stats.values()) == properties < len(builtin_listings(week_days[2]))
