"""Market values for listings from Land Registry comparables, for every listing at once.

`value_listings` finds, in DuckDB and for all subjects in one pass, the standard-price
(category A) sales of the listing's Price Paid property type in the 24 months up to `as_of`
(no new builds for a second-hand subject): in the listing's postcode sector, or in its whole
district when the sector has fewer than five; the 50 most recent are kept. Sales whose address
matches a cached EPC certificate get its floor area and a price per m². Outliers beyond
1.5 x IQR are flagged `trimmed`; the value is the median price per m² times the listing's floor
area when it has one and at least three comparables have one, else the median price, with the
interquartile range as low-high. The formula of `value_confidence` is in
`sql/listing_values.sql`.

Listing types map to Price Paid types as `PPD_TYPES` says. Price Paid has no bedrooms, so
`bedrooms` is not used. A block of flats with a `unit_count` is valued per unit: the median flat
price (never price per m², since a block's floor area is ambiguous) times its units, a
sum-of-parts value with no block discount. An HMO is valued as the terraced house most are, its
units ignored. Mixed use, land, other and a block without `unit_count` have no comparable type
and get `value_method` 'none'.

Known limits: prices are not index-adjusted for their age within the window, and a sale's
floor area is only found when the EPC cache holds its postcode (the cache is filled per
listing postcode, so it covers sales in the listings' own postcodes).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from importlib import resources

import duckdb
import pandas as pd

from property_pipeline.enrichment.epc_match import address_key, normalise_postcode

log = logging.getLogger(__name__)

WINDOW_MONTHS = 24
MIN_SECTOR_SALES = 5
MAX_COMPARABLES = 50
MIN_FLOOR_AREA_SALES = 3
MIN_VALUE_SALES = 3
IQR_FENCE = 1.5
# Listing property types (sources/listing.py PROPERTY_TYPES) to Price Paid's D/S/T/F/O.
PPD_TYPES: dict[str, str] = {
    "flat": "F",
    "terraced": "T",
    "semi_detached": "S",
    # Price Paid does not tell bungalows apart; most that sell are detached.
    "detached": "D",
    "bungalow": "D",
    "hmo": "T",
    "block_of_flats": "F",
}
# Types valued as unit_count flats rather than as one dwelling.
PER_UNIT_TYPES = frozenset({"block_of_flats"})
REQUIRED_COLUMNS = ("listing_key", "postcode", "property_type")
VALUE_COLUMNS = (
    "listing_key",
    "comparables_count",
    "comparables_area",
    "comparables_with_floor_area",
    "median_price_per_sqm",
    "estimated_value",
    "value_low",
    "value_high",
    "value_confidence",
    "value_method",
)
COMPARABLE_COLUMNS = (
    "listing_key",
    "transaction_id",
    "price",
    "transferred_on",
    "postcode",
    "address",
    "property_type",
    "new_build",
    "duration",
    "area_level",
    "floor_area_sqm",
    "price_per_sqm",
    "trimmed",
    "used_in_value",
)
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SUBJECTS_VIEW = "__valuation_subjects"
SALE_KEYS_VIEW = "__valuation_sale_keys"
CANDIDATES_TABLE = "__valuation_candidates"
COMPARABLES_TABLE = "__valuation_comparables"


@dataclass(frozen=True)
class Valuation:
    """One value row per listing (`VALUE_COLUMNS`) and the comparables behind them
    (`COMPARABLE_COLUMNS`, trimmed ones included): the rows of the `comparables` table without
    its partition column."""

    values: pd.DataFrame
    comparables: pd.DataFrame


def value_listings(
    conn: duckdb.DuckDBPyConnection,
    subjects: pd.DataFrame | str,
    as_of: dt.date,
    *,
    partition_date: dt.date | None = None,
) -> Valuation:
    """Value every subject listing from Price Paid comparables sold up to `as_of`.

    `subjects` is a DataFrame, or the name of a table or view, with listing_key, postcode and
    property_type, and optionally floor_area_sqm, unit_count, bedrooms and new_build. Reads
    `price_paid` and `epc_certificates`; writes no warehouse table (the caller stores
    `comparables` under `partition_date`, which is only named in the log here).
    """
    started = time.perf_counter()
    prepared = prepare_subjects(_subjects_frame(conn, subjects))
    window_start = months_before(as_of, WINDOW_MONTHS)
    conn.register(SUBJECTS_VIEW, prepared)
    try:
        conn.execute(
            f"create or replace temp table {CANDIDATES_TABLE} as {_sql('comparable_sales.sql')}",
            {
                "as_of": as_of,
                "window_start": window_start,
                "min_sector_sales": MIN_SECTOR_SALES,
                "max_comparables": MAX_COMPARABLES,
            },
        )
        conn.register(SALE_KEYS_VIEW, _sale_address_keys(conn))
        conn.execute(
            f"create or replace temp table {COMPARABLES_TABLE} as {_sql('comparable_flags.sql')}",
            {"min_floor_area_sales": MIN_FLOOR_AREA_SALES, "fence": IQR_FENCE},
        )
        values = conn.execute(
            _sql("listing_values.sql"),
            {
                "as_of": as_of,
                "window_days": (as_of - window_start).days,
                "min_value_sales": MIN_VALUE_SALES,
            },
        ).df()
        comparables = conn.execute(
            f"""
            select
                listing_key,
                transaction_id,
                price,
                transferred_on,
                postcode,
                concat_ws(', ', saon, concat_ws(' ', paon, street), town) as address,
                property_type,
                new_build,
                duration,
                area_level,
                floor_area_sqm,
                price_per_sqm,
                trimmed,
                used_in_value
            from {COMPARABLES_TABLE}
            order by listing_key, transferred_on desc, transaction_id
            """
        ).df()
    finally:
        conn.unregister(SUBJECTS_VIEW)
        conn.execute(f"drop view if exists {SALE_KEYS_VIEW}")
        conn.execute(f"drop table if exists {CANDIDATES_TABLE}")
        conn.execute(f"drop table if exists {COMPARABLES_TABLE}")
    valued = int((values["value_method"] != "none").sum())
    log.info(
        "valued %s of %s listings from %s comparables (as of %s, partition %s) in %.1fs",
        f"{valued:,}",
        f"{len(values):,}",
        f"{len(comparables):,}",
        as_of,
        partition_date or "-",
        time.perf_counter() - started,
    )
    return Valuation(values=values[list(VALUE_COLUMNS)], comparables=comparables)


def prepare_subjects(subjects: pd.DataFrame) -> pd.DataFrame:
    """The subjects as the SQL reads them: Price Paid type, normalised postcode with its sector
    and district, floor area (None unless positive), units valued and whether per unit."""
    missing = [column for column in REQUIRED_COLUMNS if column not in subjects.columns]
    if missing:
        raise ValueError(
            f"subjects: missing column(s) {', '.join(missing)}; give listing_key, postcode and"
            " property_type (floor_area_sqm, unit_count and new_build are optional)"
        )
    repeated = subjects["listing_key"][subjects["listing_key"].duplicated()]
    if not repeated.empty:
        raise ValueError(
            f"subjects: listing_key {repeated.iloc[0]!r} appears more than once; value each"
            " listing once"
        )
    rows = [_subject_row(record) for record in subjects.to_dict("records")]
    columns = [
        "listing_key",
        "ppd_type",
        "postcode",
        "postcode_sector",
        "postcode_district",
        "floor_area_sqm",
        "units",
        "per_unit",
        "new_build",
    ]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    return frame.astype(
        {
            "listing_key": "string",
            "ppd_type": "string",
            "postcode": "string",
            "postcode_sector": "string",
            "postcode_district": "string",
            "floor_area_sqm": "Float64",
            "units": "Int64",
            "per_unit": "boolean",
            "new_build": "boolean",
        }
    )


def _subject_row(record: dict[str, object]) -> dict[str, object]:
    listing_type = _text(record.get("property_type"))
    postcode = normalise_postcode(_text(record.get("postcode")))
    per_unit = listing_type in PER_UNIT_TYPES
    unit_count = _number(record.get("unit_count"))
    units = int(unit_count) if per_unit and unit_count and unit_count >= 1 else 1
    # A block without its unit count cannot be valued per unit, and as one flat it is wrong.
    ppd_type = None if per_unit and units == 1 else PPD_TYPES.get(listing_type or "")
    floor_area = _number(record.get("floor_area_sqm"))
    outward, _, inward = (postcode or "").partition(" ")
    return {
        "listing_key": str(record["listing_key"]),
        "ppd_type": ppd_type,
        "postcode": postcode,
        "postcode_sector": f"{outward} {inward[0]}" if postcode else None,
        "postcode_district": outward or None,
        "floor_area_sqm": floor_area if floor_area and floor_area > 0 else None,
        "units": units,
        "per_unit": per_unit,
        "new_build": _flag(record.get("new_build")),
    }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _flag(value: object) -> bool:
    return value is not None and value is not pd.NA and value == value and bool(value)


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier, on the month's last day when it is shorter
    (2024-02-29 less 24 months is 2022-02-28)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def ppd_address(saon: str | None, paon: str | None, street: str | None) -> str:
    """A sale's address as one line, in the order certificates write it: "FLAT 2, 10 HIGH
    STREET"."""
    building = " ".join(part for part in (paon, street) if part)
    return ", ".join(part for part in (saon, building) if part)


def _sale_address_keys(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The address key of each candidate sale whose postcode the EPC cache holds.

    Computed in Python (epc_match.address_key): the SQL macro gives the same key but is several
    times slower per row, and only sales in cached postcodes can match a certificate anyway.
    """
    sales = conn.execute(
        f"""
        select distinct transaction_id, postcode, saon, paon, street
        from {CANDIDATES_TABLE}
        where postcode in (
            select postcode from epc_certificates where floor_area_sqm > 0
        )
        """
    ).fetchall()
    keys = [
        (transaction_id, address_key(ppd_address(saon, paon, street), postcode))
        for transaction_id, postcode, saon, paon, street in sales
    ]
    return pd.DataFrame.from_records(keys, columns=["transaction_id", "address_key"]).astype(
        "string"
    )


def _subjects_frame(conn: duckdb.DuckDBPyConnection, subjects: pd.DataFrame | str) -> pd.DataFrame:
    """The subjects as a DataFrame; a table or view name is checked, then read."""
    if isinstance(subjects, pd.DataFrame):
        return subjects
    if not TABLE_NAME.fullmatch(subjects):
        raise ValueError(f"subjects: {subjects!r} is not a table or view name")
    columns = [
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_name = ?",
            [subjects],
        ).fetchall()
    ]
    if not columns:
        raise ValueError(f"subjects: no table or view named {subjects!r} in the warehouse")
    wanted = [
        column
        for column in (*REQUIRED_COLUMNS, "floor_area_sqm", "unit_count", "new_build")
        if column in columns
    ]
    return conn.execute(f'select {", ".join(wanted)} from "{subjects}"').df()


def _sql(name: str) -> str:
    return resources.files("property_pipeline.enrichment").joinpath("sql", name).read_text()
