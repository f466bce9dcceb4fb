"""The weekly_stats model on a small hand-made market whose numbers are worked out below."""

from __future__ import annotations

import datetime as dt

import pytest

from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.conftest import REPO_ROOT
from property_pipeline_tests.reporting.support import (
    floor_area,
    insert_rows,
    price_change,
    sale,
    scored_band,
    seen,
    withdrawn,
)

PREVIOUS_WEEK = dt.date(2026, 11, 16)
WEEK = dt.date(2026, 11, 23)
MON, TUE, WED, THU, FRI, SAT, SUN = (WEEK + dt.timedelta(days=n) for n in range(7))
NEXT_MONDAY = dt.date(2026, 11, 30)

# The market, property by property (P = property key, rm/zp = Rightmove/Zoopla listings):
# P1 E1 flat, on rm:1 and zp:1 since 1 Oct: 200k; Thursday rm:1 cut 5% and zp:1 cut 4% (one
#    cut, 5%); Sunday at 190k and 192k (asking price: the lower); 50 m2; 59 days on Sunday.
#    The week before it was cut 2% on Tuesday 17 Nov (not this week's cut).
# P2 E1 flat, rm:2 new on Wednesday at 250k: added; good on Wednesday, hot on Sunday: hot.
# P3 E1 terraced, rm:3 since 1 Sep, seen Monday and Tuesday at 300k (84 days on Tuesday),
#    withdrawn Friday; good on Monday.
# P4 E2 flat, rm:4 since 1 Nov at 180k, cut 10% to 162k on Saturday; 60 m2 (found on 10 Nov);
#    watchlist on Sunday; 28 days on Sunday.
# P5 E2 flat, zp:5 first listed 1 Jun, relisted on Tuesday at 150k: added; 181 days on Sunday.
# P6 E2 flat, rm:6, last seen the Saturday before the week at 120k, withdrawn on Monday:
#    withdrawn but not live.
# P7 E1 flat, rm:7 and zp:7 since 10 Nov at 220k; rm:7 withdrawn Wednesday but zp:7 still seen
#    Thursday and Sunday: not withdrawn; 19 days on Sunday.
# P8 E1 flat, seen only the Monday after the week: not counted; nor is its hot score.
FIRST_LISTED = {
    "P1": dt.date(2026, 10, 1),
    "P2": WED,
    "P3": dt.date(2026, 9, 1),
    "P4": dt.date(2026, 11, 1),
    "P5": dt.date(2026, 6, 1),
    "P6": dt.date(2026, 7, 1),
    "P7": dt.date(2026, 11, 10),
    "P8": NEXT_MONDAY,
}


def listing(day: dt.date, key: str, prop: str, where: str, kind: str, price: int, **extra):
    return seen(day, key, prop, where, kind, price, FIRST_LISTED[prop], **extra)


LISTINGS = [
    listing(dt.date(2026, 11, 16), "rm:1", "P1", "E1", "flat", 204_000),
    listing(dt.date(2026, 11, 17), "rm:1", "P1", "E1", "flat", 200_000),
    listing(MON, "rm:1", "P1", "E1", "flat", 200_000),
    listing(MON, "zp:1", "P1", "E1", "flat", 200_000),
    listing(THU, "rm:1", "P1", "E1", "flat", 190_000),
    listing(THU, "zp:1", "P1", "E1", "flat", 192_000),
    listing(SUN, "rm:1", "P1", "E1", "flat", 190_000),
    listing(SUN, "zp:1", "P1", "E1", "flat", 192_000),
    listing(WED, "rm:2", "P2", "E1", "flat", 250_000, status="new"),
    listing(SUN, "rm:2", "P2", "E1", "flat", 250_000),
    listing(MON, "rm:3", "P3", "E1", "terraced", 300_000),
    listing(TUE, "rm:3", "P3", "E1", "terraced", 300_000),
    listing(MON, "rm:4", "P4", "E2", "flat", 180_000),
    listing(SAT, "rm:4", "P4", "E2", "flat", 162_000),
    listing(SUN, "rm:4", "P4", "E2", "flat", 162_000),
    listing(TUE, "zp:5", "P5", "E2", "flat", 150_000, status="relisted"),
    listing(SUN, "zp:5", "P5", "E2", "flat", 150_000),
    listing(dt.date(2026, 11, 21), "rm:6", "P6", "E2", "flat", 120_000),
    listing(MON, "rm:7", "P7", "E1", "flat", 220_000),
    listing(MON, "zp:7", "P7", "E1", "flat", 220_000),
    listing(THU, "zp:7", "P7", "E1", "flat", 220_000),
    listing(SUN, "zp:7", "P7", "E1", "flat", 220_000),
    listing(NEXT_MONDAY, "rm:8", "P8", "E1", "flat", 500_000, status="new"),
]
WITHDRAWALS = [
    withdrawn(FRI, "rm:3", FIRST_LISTED["P3"]),
    withdrawn(MON, "rm:6", FIRST_LISTED["P6"]),
    withdrawn(WED, "rm:7", FIRST_LISTED["P7"]),
]
PRICE_CHANGES = [
    price_change(dt.date(2026, 11, 17), "rm:1", 204_000, 200_000),
    price_change(THU, "rm:1", 200_000, 190_000),
    price_change(THU, "zp:1", 200_000, 192_000),
    price_change(SAT, "rm:4", 180_000, 162_000),
]
FLOOR_AREAS = [
    floor_area(MON, "rm:1", "P1", 50.0),
    floor_area(dt.date(2026, 11, 10), "rm:4", "P4", 60.0),
]
SCORES = [
    scored_band(WED, "rm:2", "P2", "good"),
    scored_band(SUN, "rm:2", "P2", "hot"),
    scored_band(MON, "rm:3", "P3", "good"),
    scored_band(SUN, "rm:4", "P4", "watchlist"),
    scored_band(NEXT_MONDAY, "rm:8", "P8", "hot"),
]
# Sales: the 3 months to Sunday 29 Nov are 30 Aug to 29 Nov 2026; a year earlier, 30 Aug to
# 29 Nov 2025. E1 flats: 300k, 320k, 340k now (median 320k) against 280k, 300k (290k): +10.34%.
# E1 terraced: one sale now (400k), none then. Left out: a category B sale, one on 29 Aug (a
# day before the window), one in N1 (no listings there).
SALES = [
    sale(dt.date(2026, 9, 15), "E1", "F", 300_000),
    sale(dt.date(2026, 10, 20), "E1", "F", 320_000),
    sale(dt.date(2026, 11, 10), "E1", "F", 340_000),
    sale(dt.date(2025, 9, 10), "E1", "F", 280_000),
    sale(dt.date(2025, 10, 10), "E1", "F", 300_000),
    sale(dt.date(2026, 10, 5), "E1", "T", 400_000),
    sale(dt.date(2026, 10, 1), "E1", "F", 1_000_000, category="B"),
    sale(dt.date(2026, 8, 29), "E1", "F", 999_999),
    sale(dt.date(2026, 10, 1), "N1", "F", 500_000),
]


def seed_market(warehouse: WarehouseResource) -> None:
    with warehouse.connection() as conn:
        insert_rows(conn, "deduped_listings", LISTINGS)
        insert_rows(conn, "listing_history", WITHDRAWALS)
        insert_rows(conn, "listing_price_history", PRICE_CHANGES)
        insert_rows(conn, "enriched", FLOOR_AREAS)
        insert_rows(conn, "scored", SCORES)
        insert_rows(conn, "price_paid", SALES)


def weekly_rows(warehouse: WarehouseResource, week_start: dt.date) -> dict[tuple, dict]:
    frame = warehouse.query_frame(
        "select * exclude (week_start) from weekly_stats where week_start = ?"
        " order by location, property_type",
        [week_start],
    )
    frame = frame.astype(object).where(frame.notna(), None)
    return {(row["location"], row["property_type"]): row for row in frame.to_dict(orient="records")}


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> WarehouseResource:
    """The market above in a warehouse of its own, shared by the tests that only read it."""
    warehouse = WarehouseResource(
        database=str(tmp_path_factory.mktemp("market") / "warehouse.duckdb"),
        sql_dir=str(REPO_ROOT / "dbt_like_sql"),
    )
    seed_market(warehouse)
    return warehouse


@pytest.fixture(scope="module")
def stats(market: WarehouseResource) -> dict[tuple, dict]:
    market.run_model("weekly_stats", WEEK)
    return weekly_rows(market, WEEK)


def test_each_location_and_type_gets_a_row_with_roll_ups_to_all(stats) -> None:
    assert sorted(stats) == [
        ("ALL", "all"),
        ("ALL", "flat"),
        ("ALL", "terraced"),
        ("E1", "all"),
        ("E1", "flat"),
        ("E1", "terraced"),
        ("E2", "all"),
        ("E2", "flat"),
    ]


def test_supply_counts_properties_once_across_portals(stats) -> None:
    supply = {
        key: (row["listings_live"], row["listings_added"], row["listings_withdrawn"])
        for key, row in stats.items()
    }
    # E1 flats: P1, P2, P7 live; P2 added; P7 still on Zoopla, so not withdrawn.
    assert supply[("E1", "flat")] == (3, 1, 0)
    assert supply[("E1", "terraced")] == (1, 0, 1)
    # E2 flats: P4 and P5 live, P5 relisted, P6 withdrawn without being seen this week.
    assert supply[("E2", "flat")] == (2, 1, 1)
    assert supply[("ALL", "all")] == (6, 2, 2)


def test_asking_prices_are_medians_of_each_propertys_last_price_in_the_week(stats) -> None:
    prices = {key: row["median_asking_price"] for key, row in stats.items()}
    # P1 190k (the lower of its two portals), P2 250k, P7 220k.
    assert prices[("E1", "flat")] == 220_000
    # P4 162k after its cut, P5 150k.
    assert prices[("E2", "flat")] == 156_000
    # 150k, 162k, 190k, 220k, 250k, 300k.
    assert prices[("ALL", "all")] == 205_000


def test_price_per_square_metre_only_where_a_floor_area_is_known(stats) -> None:
    per_sqm = {
        key: (row["listings_with_floor_area"], row["median_price_per_sqm"])
        for key, row in stats.items()
    }
    assert per_sqm[("E1", "flat")] == (1, 3_800)  # 190,000 / 50
    assert per_sqm[("E2", "flat")] == (1, 2_700)  # 162,000 / 60, area found before the week
    assert per_sqm[("ALL", "flat")] == (2, 3_250)
    assert per_sqm[("E1", "terraced")] == (0, None)


def test_reductions_count_one_cut_per_property_day_and_average_the_cuts(stats) -> None:
    cuts = {
        key: (row["listings_reduced"], row["share_reduced"], row["avg_cut_pct"])
        for key, row in stats.items()
    }
    # P1's Thursday cut is 5% on Rightmove and 4% on Zoopla: one cut of 5%; its cut of the
    # week before does not count.
    assert cuts[("E1", "flat")] == (1, 0.3333, 0.05)
    assert cuts[("E2", "flat")] == (1, 0.5, 0.1)
    assert cuts[("ALL", "all")] == (2, 0.3333, 0.075)
    assert cuts[("E1", "terraced")][:2] == (0, 0.0)


def test_days_on_market_are_medians_on_each_propertys_last_day(stats) -> None:
    dom = {key: row["median_days_on_market"] for key, row in stats.items()}
    assert dom[("E1", "flat")] == 19  # 59, 4, 19
    assert dom[("E1", "terraced")] == 84
    assert dom[("E2", "flat")] == 104.5  # 28, 181
    assert dom[("ALL", "all")] == 43.5  # 4, 19, 28, 59, 84, 181


def test_deal_counts_take_each_propertys_latest_band_in_the_week(stats) -> None:
    deals = {
        key: (row["hot_deals"], row["good_deals"], row["watchlist_deals"])
        for key, row in stats.items()
    }
    assert deals[("E1", "flat")] == (1, 0, 0)
    assert deals[("E1", "terraced")] == (0, 1, 0)
    assert deals[("E2", "flat")] == (0, 0, 1)
    assert deals[("ALL", "all")] == (1, 1, 1)


def test_sold_trend_compares_category_a_sales_with_the_same_months_a_year_before(stats) -> None:
    def sold(key: tuple) -> tuple:
        row = stats[key]
        return (
            row["sold_count"],
            row["sold_median_price"],
            row["sold_count_year_before"],
            row["sold_median_price_year_before"],
            row["sold_price_change_pct"],
        )

    assert sold(("E1", "flat")) == (3, 320_000, 2, 290_000, 0.1034)
    # Every E1 sale: 300k, 320k, 340k, 400k now against 280k, 300k.
    assert sold(("E1", "all")) == (4, 330_000, 2, 290_000, 0.1379)
    assert sold(("E1", "terraced")) == (1, 400_000, 0, None, None)
    # The whole market takes the districts with listings: N1's sale is left out.
    assert sold(("ALL", "flat")) == (3, 320_000, 2, 290_000, 0.1034)
    assert sold(("E2", "flat"))[:3] == (0, None, 0)


def test_the_week_before_counts_only_its_own_days(market: WarehouseResource) -> None:
    market.run_model("weekly_stats", PREVIOUS_WEEK)

    rows = weekly_rows(market, PREVIOUS_WEEK)
    assert sorted(rows) == [
        ("ALL", "all"),
        ("ALL", "flat"),
        ("E1", "all"),
        ("E1", "flat"),
        ("E2", "all"),
        ("E2", "flat"),
    ]
    market = rows[("ALL", "all")]
    # P1 at 200k (cut 1.96% on the 17th) and P6 at 120k; nothing added or withdrawn.
    supply = (market["listings_live"], market["listings_added"], market["listings_withdrawn"])
    assert supply == (2, 0, 0)
    assert market["median_asking_price"] == 160_000
    assert (market["share_reduced"], market["avg_cut_pct"]) == (0.5, 0.0196)


def test_rerunning_a_week_replaces_its_rows_with_identical_ones(market, stats) -> None:
    write = market.run_model("weekly_stats", WEEK)

    assert (write.rows_deleted, write.rows_inserted) == (8, 8)
    assert weekly_rows(market, WEEK) == stats
    assert market.partition_row_count("weekly_stats", WEEK) == len(stats) == 8


def test_a_week_without_listings_has_no_rows(market: WarehouseResource) -> None:
    write = market.run_model("weekly_stats", dt.date(2026, 11, 2))

    assert write.rows_inserted == 0
    assert weekly_rows(market, dt.date(2026, 11, 2)) == {}


def test_no_land_registry_sales_leaves_the_trend_empty(warehouse: WarehouseResource) -> None:
    with warehouse.connection() as conn:
        insert_rows(conn, "deduped_listings", LISTINGS)

    warehouse.run_model("weekly_stats", WEEK)

    rows = weekly_rows(warehouse, WEEK)
    assert {(row["sold_count"], row["sold_median_price"]) for row in rows.values()} == {(0, None)}
    assert rows[("ALL", "all")]["listings_live"] == 6
