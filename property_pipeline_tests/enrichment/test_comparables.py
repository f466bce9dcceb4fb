"""Comparables valuation: hand-made sales whose right answers are worked out here in the open.

Every sale is a terraced house on Bexley Gardens in sector RM6 4 unless a test says otherwise;
the subject listing is at RM6 4FD and the valuation date is 20 April 2026, so the 24-month
window opens on 20 April 2024. Sales are written as a Price Paid file and loaded with the real
loader, so the postcode sector and district come from the same code as in production.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from property_pipeline.enrichment.comparables import (
    COMPARABLE_COLUMNS,
    VALUE_COLUMNS,
    months_before,
    value_listings,
)
from property_pipeline.enrichment.epc_match import address_key
from property_pipeline.enrichment.price_paid import load_price_paid
from property_pipeline.warehouse import store

AS_OF = dt.date(2026, 4, 20)
SOLD_ON = "2025-10-20"  # 182 days before AS_OF
WINDOW_DAYS = (AS_OF - dt.date(2024, 4, 20)).days  # 730
RECENCY = 1 - 0.4 * 182 / WINDOW_DAYS  # every sale on SOLD_ON


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as connection:
        store.create_schema(connection)
        yield connection


def sale(
    number: int,
    price: int,
    *,
    on: str = SOLD_ON,
    postcode: str = "RM6 4FD",
    kind: str = "T",
    new_build: bool = False,
    category: str = "A",
    saon: str = "",
) -> list[str]:
    """The 16 Price Paid fields of a sale at `number` Bexley Gardens."""
    return [
        f"{{00000000-0000-0000-0000-{number:012d}}}",
        str(price),
        f"{on} 00:00",
        postcode,
        kind,
        "Y" if new_build else "N",
        "L" if kind == "F" else "F",
        str(number),
        saon,
        "BEXLEY GARDENS",
        "CHADWELL HEATH",
        "ROMFORD",
        "BARKING AND DAGENHAM",
        "GREATER LONDON",
        category,
        "A",
    ]


def load_sales(conn: duckdb.DuckDBPyConnection, tmp_path: Path, sales: list[list[str]]) -> None:
    path = tmp_path / "pp-sales.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(sales)
    load_price_paid(conn, path)


def add_certificate(
    conn: duckdb.DuckDBPyConnection,
    address: str,
    floor_area_sqm: float,
    lodged_on: dt.date = dt.date(2022, 5, 1),
    postcode: str = "RM6 4FD",
) -> None:
    """An EPC certificate as the EPC cache stores it, written the way the register writes
    addresses ("12 Bexley Gardens"), keyed by the EPC helper's own address_key."""
    conn.execute(
        """
        insert into epc_certificates by name
        select
            'CERT-' || $address || $lodged_on as certificate_number,
            $postcode as postcode,
            $address as address,
            $key as address_key,
            $lodged_on as lodged_on,
            $floor_area as floor_area_sqm,
            date '2026-04-19' as fetched_on,
            timestamp '2026-04-19 07:00' as fetched_at
        """,
        {
            "address": address,
            "postcode": postcode,
            "key": address_key(address, postcode),
            "lodged_on": lodged_on,
            "floor_area": floor_area_sqm,
        },
    )


def subject(key: str = "house", **fields: object) -> dict[str, object]:
    """A three-bed terraced listing at RM6 4FD with no floor area, unless told otherwise."""
    base: dict[str, object] = {
        "listing_key": key,
        "postcode": "RM6 4FD",
        "property_type": "terraced",
        "bedrooms": 3,
        "floor_area_sqm": None,
        "unit_count": None,
    }
    return base | fields


def value_of(conn: duckdb.DuckDBPyConnection, *subjects: dict[str, object]) -> pd.DataFrame:
    return value_listings(conn, pd.DataFrame(subjects), AS_OF).values.set_index("listing_key")


def test_the_sector_is_enough_when_it_has_five_comparables(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    prices = [200_000, 210_000, 220_000, 230_000, 240_000]
    in_sector = [sale(n, price) for n, price in enumerate(prices, 1)]
    # Dear sales elsewhere in the district, which must not count.
    next_sector = [sale(10 + n, 900_000, postcode="RM6 5AB") for n in range(3)]
    load_sales(conn, tmp_path, in_sector + next_sector)

    value = value_of(conn, subject()).loc["house"]

    assert value["comparables_area"] == "sector"
    assert value["comparables_count"] == 5
    assert value["value_method"] == "median_price"
    # Median and quartiles of 200k..240k in steps of 10k.
    assert (value["estimated_value"], value["value_low"], value["value_high"]) == (
        220_000,
        210_000,
        230_000,
    )
    # 5 comparables (0.5) x sector (1.0) x median price (0.6) x recency.
    assert value["value_confidence"] == round(0.5 * 1.0 * 0.6 * RECENCY, 3) == 0.27


def test_the_district_is_searched_when_the_sector_has_fewer_than_five(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    in_sector = [sale(n, price) for n, price in enumerate([200_000, 210_000, 220_000, 230_000], 1)]
    next_sector = [sale(10 + n, 300_000, postcode="RM6 5AB") for n in range(3)]
    other_district = [sale(20 + n, 900_000, postcode="RM7 4AB") for n in range(3)]
    load_sales(conn, tmp_path, in_sector + next_sector + other_district)

    valuation = value_listings(conn, pd.DataFrame([subject()]), AS_OF)
    value = valuation.values.set_index("listing_key").loc["house"]

    assert value["comparables_area"] == "district"
    assert value["comparables_count"] == 7
    # 200k, 210k, 220k, 230k, 300k, 300k, 300k: the median is the fourth.
    assert value["estimated_value"] == 230_000
    assert set(valuation.comparables["area_level"]) == {"district"}
    assert set(valuation.comparables["postcode"]) == {"RM6 4FD", "RM6 5AB"}


def test_only_sales_within_the_24_months_up_to_the_valuation_date_count(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sales(
        conn,
        tmp_path,
        [
            sale(1, 200_000, on="2024-04-19"),  # a day too old
            sale(2, 210_000, on="2024-04-20"),  # the window's first day
            sale(3, 220_000, on="2026-04-20"),  # the valuation date itself
            sale(4, 230_000, on="2026-04-21"),  # after it
        ],
    )

    valuation = value_listings(conn, pd.DataFrame([subject()]), AS_OF)

    dates = sorted(valuation.comparables["transferred_on"].dt.date)
    assert dates == [dt.date(2024, 4, 20), dt.date(2026, 4, 20)]
    value = valuation.values.set_index("listing_key").loc["house"]
    # Two comparables are too few for a value, but they are kept for the report.
    assert (value["comparables_count"], value["value_method"]) == (2, "none")
    assert pd.isna(value["estimated_value"])
    assert value["value_confidence"] == 0.0


def test_other_types_additional_price_sales_and_new_builds_are_left_out(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    terraced = [sale(n, 200_000 + n * 10_000) for n in range(1, 6)]
    others = [
        sale(11, 150_000, kind="F", saon="FLAT 1"),
        sale(12, 400_000, kind="S"),
        sale(13, 90_000, category="B"),
        sale(14, 260_000, new_build=True),
    ]
    load_sales(conn, tmp_path, terraced + others)

    values = value_of(conn, subject("second_hand"), subject("new_build", new_build=True))

    assert values.loc["second_hand", "comparables_count"] == 5
    assert values.loc["second_hand", "estimated_value"] == 230_000
    # A new-build subject may be compared with new builds too.
    assert values.loc["new_build", "comparables_count"] == 6
    assert values.loc["new_build", "estimated_value"] == 235_000


def test_an_outlier_is_trimmed_from_the_value_and_kept_flagged(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    prices = [200_000, 210_000, 220_000, 230_000, 240_000, 1_000_000]
    load_sales(conn, tmp_path, [sale(n, price) for n, price in enumerate(prices, 1)])

    valuation = value_listings(conn, pd.DataFrame([subject()]), AS_OF)

    # Quartiles of the six prices: 212.5k and 237.5k, IQR 25k, upper fence 275k.
    flags = valuation.comparables.set_index("price")[["trimmed", "used_in_value"]]
    assert flags.loc[1_000_000].tolist() == [True, False]
    assert not flags.drop(index=1_000_000)["trimmed"].any()
    value = valuation.values.set_index("listing_key").loc["house"]
    assert value["comparables_count"] == 5
    assert (value["estimated_value"], value["value_low"], value["value_high"]) == (
        220_000,
        210_000,
        230_000,
    )


def test_epc_floor_areas_give_a_price_per_square_metre_value(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sales(
        conn,
        tmp_path,
        [
            sale(1, 200_000),  # 100 m²: £2,000/m²
            sale(2, 240_000),  # 96 m²: £2,500/m²
            sale(3, 180_000),  # 60 m²: £3,000/m²
            sale(4, 270_000),  # 90 m²: £3,000/m²
            sale(5, 300_000),  # no certificate
        ],
    )
    add_certificate(conn, "1 Bexley Gardens", 55.0, lodged_on=dt.date(2012, 3, 1))
    add_certificate(conn, "1 Bexley Gardens", 100.0)  # the latest certificate wins
    add_certificate(conn, "2 Bexley Gardens", 96.0)
    add_certificate(conn, "3 Bexley Gdns", 60.0)
    add_certificate(conn, "4, Bexley Gardens", 90.0)

    valuation = value_listings(conn, pd.DataFrame([subject(floor_area_sqm=80.0)]), AS_OF)
    value = valuation.values.set_index("listing_key").loc["house"]

    assert value["value_method"] == "price_per_sqm"
    assert (value["comparables_count"], value["comparables_with_floor_area"]) == (5, 4)
    # £/m² 2,000, 2,500, 3,000, 3,000: median 2,750, quartiles 2,375 and 3,000; times 80 m².
    assert value["median_price_per_sqm"] == 2_750
    assert (value["estimated_value"], value["value_low"], value["value_high"]) == (
        220_000,
        190_000,
        240_000,
    )
    # 4 used (0.4) x sector (1.0) x (0.7 + 0.3 x 4/5 with a floor area) x recency.
    assert value["value_confidence"] == round(0.4 * 1.0 * 0.94 * RECENCY, 3) == 0.339
    by_number = valuation.comparables.set_index("price")
    assert by_number.loc[200_000, "floor_area_sqm"] == 100.0
    assert by_number.loc[240_000, "price_per_sqm"] == 2_500.0
    assert by_number.loc[300_000, "used_in_value"] == False  # noqa: E712 (numpy bool)


def test_too_few_floor_areas_fall_back_to_the_median_price(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sales(conn, tmp_path, [sale(n, 200_000 + n * 10_000) for n in range(1, 6)])
    add_certificate(conn, "1 Bexley Gardens", 100.0)
    add_certificate(conn, "2 Bexley Gardens", 100.0)

    value = value_of(conn, subject(floor_area_sqm=80.0)).loc["house"]

    assert value["value_method"] == "median_price"
    assert value["comparables_with_floor_area"] == 2
    assert value["estimated_value"] == 230_000
    assert value["median_price_per_sqm"] == 2_150  # of 2,100 and 2,200, for information


def test_a_block_of_flats_is_valued_as_its_units_times_the_median_flat_price(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    flats = [
        sale(n, price, kind="F", saon=f"FLAT {n}")
        for n, price in enumerate([150_000, 160_000, 170_000, 180_000, 190_000], 1)
    ]
    load_sales(conn, tmp_path, flats)

    values = value_of(
        conn,
        subject("block", property_type="block_of_flats", unit_count=4, floor_area_sqm=300.0),
        subject("block_without_units", property_type="block_of_flats"),
    )

    block = values.loc["block"]
    assert block["value_method"] == "median_price"
    assert (block["estimated_value"], block["value_low"], block["value_high"]) == (
        4 * 170_000,
        4 * 160_000,
        4 * 180_000,
    )
    unknown = values.loc["block_without_units"]
    assert (unknown["comparables_area"], unknown["value_method"]) == ("none", "none")


def test_listings_without_a_comparable_type_or_postcode_get_an_empty_row(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sales(conn, tmp_path, [sale(n, 200_000) for n in range(1, 6)])

    values = value_of(
        conn,
        subject("land", property_type="land"),
        subject("shop", property_type="mixed_use"),
        subject("no_postcode", postcode=None),
    )

    assert list(values.index) == ["land", "no_postcode", "shop"]
    assert values["comparables_count"].tolist() == [0, 0, 0]
    assert set(values["comparables_area"]) == {"none"}
    assert set(values["value_method"]) == {"none"}


def test_subjects_may_be_a_table_and_valuing_writes_no_table(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sales(conn, tmp_path, [sale(n, 200_000 + n * 10_000) for n in range(1, 6)])
    conn.execute(
        """
        create table todays_listings as
        select 'house' as listing_key, 'RM6 4FD' as postcode, 'terraced' as property_type,
            3 as bedrooms, null::double as floor_area_sqm, null::integer as unit_count
        """
    )
    tables_before = conn.execute("select table_name from duckdb_tables() order by 1").fetchall()
    stored_comparables = conn.execute("select count(*) from comparables").fetchone()

    valuation = value_listings(conn, "todays_listings", AS_OF)

    assert valuation.values["estimated_value"].tolist() == [230_000]
    assert conn.execute("select table_name from duckdb_tables() order by 1").fetchall() == (
        tables_before
    )
    assert conn.execute("select count(*) from comparables").fetchone() == stored_comparables
    with pytest.raises(ValueError, match="no table or view named 'yesterdays_listings'"):
        value_listings(conn, "yesterdays_listings", AS_OF)


def test_the_frames_fit_the_comparables_table_and_the_value_columns(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    load_sales(conn, tmp_path, [sale(n, 200_000 + n * 10_000) for n in range(1, 6)])

    valuation = value_listings(conn, pd.DataFrame([subject()]), AS_OF)
    written = store.replace_partition_from_frame(conn, "comparables", AS_OF, valuation.comparables)

    assert tuple(valuation.values.columns) == VALUE_COLUMNS
    assert tuple(valuation.comparables.columns) == COMPARABLE_COLUMNS
    assert written.rows_inserted == 5
    assert conn.execute(
        "select transaction_id, address from comparables order by transferred_on, price limit 1"
    ).fetchone() == ("00000000-0000-0000-0000-000000000001", "1 BEXLEY GARDENS, ROMFORD")


def test_a_repeated_listing_key_is_refused(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="listing_key 'house' appears more than once"):
        value_of(conn, subject(), subject())


@pytest.mark.parametrize(
    ("day", "earlier"),
    [
        (dt.date(2026, 4, 20), dt.date(2024, 4, 20)),
        (dt.date(2024, 2, 29), dt.date(2022, 2, 28)),
        (dt.date(2025, 1, 31), dt.date(2023, 1, 31)),
    ],
)
def test_the_window_opens_24_calendar_months_earlier(day: dt.date, earlier: dt.date) -> None:
    assert months_before(day, 24) == earlier
