"""Listing history: new, active, withdrawn and relisted listings, and every price change kept."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from property_pipeline_tests.ingest import (
    empty_warehouse,
    listing,
    query,
    run_ingest,
    scrape,
)

DAY = dt.date(2026, 11, 2)


def day(offset: int) -> dt.date:
    return DAY + dt.timedelta(days=offset)


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    return empty_warehouse()


def statuses(conn: duckdb.DuckDBPyConnection, listing_key: str) -> dict[dt.date, str]:
    rows = query(
        conn,
        "select partition_date, status from listing_history where listing_key = ? order by 1",
        listing_key,
    )
    return dict(rows)


def test_a_listing_seen_for_the_first_time_is_new(conn) -> None:
    scrape(conn, DAY, listing("rightmove", "1", first_listed_at=day(-10)))

    run_ingest(conn, DAY)

    assert query(
        conn,
        """
        select status, first_seen_on, last_seen_on, previous_seen_on, times_seen, price,
            previous_price, price_change
        from listing_history
        """,
    ) == [("new", DAY, DAY, None, 1, 165_000, None, None)]
    assert query(
        conn, "select listing_key, listing_status, days_on_market, price_cuts from deduped_listings"
    ) == [("rightmove:1", "new", 10, 0)]


def test_a_listing_seen_again_is_active_and_counts_its_sightings(conn) -> None:
    for offset in range(3):
        scrape(conn, day(offset), listing("rightmove", "1"))
        run_ingest(conn, day(offset))

    assert query(
        conn,
        "select status, first_seen_on, previous_seen_on, times_seen, scrapes_missed"
        " from listing_history where partition_date = ?",
        day(2),
    ) == [("active", DAY, day(1), 3, 0)]


def test_a_price_cut_is_recorded_with_the_old_price_the_new_and_the_change(conn) -> None:
    prices = [250_000, 250_000, 240_000, 228_000]
    for offset, price in enumerate(prices):
        scrape(conn, day(offset), listing("rightmove", "1", price=price))
        run_ingest(conn, day(offset))

    history = query(
        conn,
        """
        select partition_date, listing_key, previous_seen_on, old_price, new_price,
            price_change, price_change_pct
        from listing_price_history
        order by partition_date
        """,
    )
    # The first cut stays filed under its own day after the second one is seen.
    assert history == [
        (day(2), "rightmove:1", day(1), 250_000, 240_000, -10_000, -0.04),
        (day(3), "rightmove:1", day(2), 240_000, 228_000, -12_000, -0.05),
    ]
    assert query(
        conn,
        "select previous_price, price_change, price_cuts, price_cut_pct from deduped_listings"
        " where partition_date = ?",
        day(3),
    ) == [(240_000, -12_000, 2, 0.088)]


def test_a_day_shown_without_a_price_does_not_hide_the_last_real_one(conn) -> None:
    for offset, price in enumerate([250_000, None, 240_000]):
        scrape(conn, day(offset), listing("rightmove", "1", price=price))
        run_ingest(conn, day(offset))

    assert query(
        conn, "select partition_date, old_price, new_price from listing_price_history"
    ) == [(day(2), 250_000, 240_000)]


@pytest.mark.parametrize("withdrawn_after_days", [1, 3])
def test_a_listing_missing_from_n_scrapes_is_withdrawn_once_on_the_nth(
    conn, withdrawn_after_days: int
) -> None:
    scrape(conn, DAY, listing("rightmove", "gone"), listing("rightmove", "stays"))
    run_ingest(conn, DAY, withdrawn_after_days=withdrawn_after_days)
    for offset in range(1, 6):
        scrape(conn, day(offset), listing("rightmove", "stays"))
        run_ingest(conn, day(offset), withdrawn_after_days=withdrawn_after_days)

    assert statuses(conn, "rightmove:gone") == {
        DAY: "new",
        day(withdrawn_after_days): "withdrawn",
    }
    assert query(
        conn,
        "select last_seen_on, scrapes_missed, price from listing_history"
        " where status = 'withdrawn'",
    ) == [(DAY, withdrawn_after_days, 165_000)]
    assert query(
        conn, "select count(*) from deduped_listings where listing_key = 'rightmove:gone'"
    ) == [(1,)]


def test_a_day_its_source_was_not_scraped_does_not_count_towards_withdrawal(conn) -> None:
    scrape(conn, DAY, listing("rightmove", "gone"), listing("zoopla", "9"))
    run_ingest(conn, DAY)
    # Rightmove failed outright for two days: only Zoopla rows were stored.
    for offset in (1, 2):
        scrape(conn, day(offset), listing("zoopla", "9"))
        run_ingest(conn, day(offset))
    for offset in (3, 4, 5):
        scrape(conn, day(offset), listing("zoopla", "9"), listing("rightmove", "other"))
        run_ingest(conn, day(offset))

    assert statuses(conn, "rightmove:gone") == {DAY: "new", day(5): "withdrawn"}


def test_a_withdrawn_listing_that_returns_is_relisted_and_keeps_its_listing_date(conn) -> None:
    listed = day(-30)
    scrape(conn, DAY, listing("rightmove", "1", first_listed_at=listed, price=300_000))
    run_ingest(conn, DAY, withdrawn_after_days=2)
    for offset in (1, 2, 3):
        scrape(conn, day(offset), listing("rightmove", "other"))
        run_ingest(conn, day(offset), withdrawn_after_days=2)
    # Back on day 4 at a lower price; the portal now shows a later "added" date.
    scrape(conn, day(4), listing("rightmove", "1", first_listed_at=day(4), price=285_000))
    run_ingest(conn, day(4), withdrawn_after_days=2)

    assert statuses(conn, "rightmove:1") == {DAY: "new", day(2): "withdrawn", day(4): "relisted"}
    assert query(
        conn,
        """
        select listing_status, first_listed_at, previous_seen_on, times_seen, days_on_market,
            previous_price, price_change
        from deduped_listings
        where partition_date = ?
            and listing_key = 'rightmove:1'
        """,
        day(4),
    ) == [("relisted", listed, DAY, 2, 34, 300_000, -15_000)]
    assert query(
        conn, "select partition_date, old_price, new_price from listing_price_history"
    ) == [(day(4), 300_000, 285_000)]


def test_a_listing_scraped_twice_in_a_day_is_one_row_from_the_later_scrape(conn) -> None:
    early = listing("zoopla", "5", price=200_000, scraped_at=dt.datetime(2026, 11, 2, 7))
    late = listing("zoopla", "5", price=195_000, scraped_at=dt.datetime(2026, 11, 2, 9))
    scrape(conn, DAY, late, early)

    run_ingest(conn, DAY)

    assert query(conn, "select listing_key, price, times_seen from deduped_listings") == [
        ("zoopla:5", 195_000, 1)
    ]
