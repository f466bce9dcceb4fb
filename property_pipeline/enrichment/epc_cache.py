"""The EPC cache in the warehouse: which postcodes were searched when, and what was found.

Tables `epc_lookups` and `epc_certificates` (warehouse/schema/enrichment_epc.sql). Each write
is one transaction for one postcode: its certificates are deleted and inserted again, and no
other postcode's rows are touched. A certificate never changes once lodged, so details fetched
earlier are carried over when a postcode is searched again. Failed searches are recorded
against the postcode but never counted as fresh, so they are retried on the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from property_pipeline.enrichment.epc_match import ADDRESS_KEY_MACRO

SEARCH_COLUMNS = (
    "certificate_number",
    "uprn",
    "address",
    "post_town",
    "address_key",
    "lodged_on",
    "epc_rating",
    "schema_type",
)
DETAIL_COLUMNS = (
    "epc_efficiency",
    "floor_area_sqm",
    "property_type",
    "built_form",
    "construction_age_band",
    "habitable_rooms",
)
STORED_COLUMNS = (
    "postcode",
    *SEARCH_COLUMNS,
    *DETAIL_COLUMNS,
    "details_fetched_at",
    "fetched_on",
    "fetched_at",
)

# The cached certificates, for other steps to join (Land Registry comparables join their sales
# on `address_key`, computed for a sale with the `address_key` macro of ADDRESS_KEY_MACRO).
CACHED_CERTIFICATES_SQL = """
    select
        certificate_number,
        postcode,
        uprn,
        address,
        address_key,
        lodged_on,
        epc_rating,
        epc_efficiency,
        floor_area_sqm,
        property_type,
        built_form,
        construction_age_band,
        habitable_rooms
    from epc_certificates
"""


@contextmanager
def _transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    conn.execute("begin transaction")
    try:
        yield
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


def install_address_key_macro(conn: duckdb.DuckDBPyConnection) -> None:
    """Define `address_key(address, postcode)` (and its helper macros) on the connection."""
    conn.execute(ADDRESS_KEY_MACRO)


def cached_certificates(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """Every cached certificate, one row each, with its `address_key` for joins."""
    return conn.sql(CACHED_CERTIFICATES_SQL)


def fresh_postcodes(
    conn: duckdb.DuckDBPyConnection, postcodes: Sequence[str], today: dt.date, cache_days: int
) -> set[str]:
    """The postcodes whose last successful search is fewer than `cache_days` days before
    `today` (a search dated after `today`, as in a backfill, also counts as fresh)."""
    if not postcodes or cache_days <= 0:
        return set()
    rows = conn.execute(
        """
        select postcode
        from epc_lookups
        where list_contains($postcodes, postcode)
            and fetched_on is not null
            and fetched_on > $today::date - $cache_days::integer
        """,
        {"postcodes": list(postcodes), "today": today, "cache_days": cache_days},
    ).fetchall()
    return {row[0] for row in rows}


def store_search(
    conn: duckdb.DuckDBPyConnection,
    postcode: str,
    rows: Sequence[Mapping[str, Any]],
    today: dt.date,
    fetched_at: dt.datetime,
) -> int:
    """Replace one postcode's certificates with a successful search's rows (keyed as
    SEARCH_COLUMNS) and mark the postcode fresh as of `today`; returns the rows stored."""
    with _transaction(conn):
        kept = _stored_details(conn, postcode)
        conn.execute("delete from epc_certificates where postcode = ?", [postcode])
        seen: set[str] = set()
        records = []
        for row in rows:
            number = row["certificate_number"]
            if number in seen:
                continue
            seen.add(number)
            details = kept.get(number, {})
            record = {
                "postcode": postcode,
                **{column: row.get(column) for column in SEARCH_COLUMNS},
                **{column: details.get(column) for column in DETAIL_COLUMNS},
                "details_fetched_at": details.get("details_fetched_at"),
                "fetched_on": today,
                "fetched_at": fetched_at,
            }
            records.append([record[column] for column in STORED_COLUMNS])
        if records:
            placeholders = ", ".join("?" for _ in STORED_COLUMNS)
            conn.executemany(
                f"insert into epc_certificates ({', '.join(STORED_COLUMNS)}) "
                f"values ({placeholders})",
                records,
            )
        conn.execute("delete from epc_lookups where postcode = ?", [postcode])
        conn.execute(
            """
            insert into epc_lookups (postcode, fetched_on, fetched_at, certificates, error)
            values (?, ?, ?, ?, null)
            """,
            [postcode, today, fetched_at, len(records)],
        )
    return len(records)


def _stored_details(conn: duckdb.DuckDBPyConnection, postcode: str) -> dict[str, dict[str, Any]]:
    """Details already fetched for a postcode's certificates, by certificate number."""
    columns = [*DETAIL_COLUMNS, "details_fetched_at"]
    rows = conn.execute(
        f"""
        select certificate_number, {", ".join(columns)}
        from epc_certificates
        where postcode = ? and details_fetched_at is not null
        """,
        [postcode],
    ).fetchall()
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def record_failure(
    conn: duckdb.DuckDBPyConnection, postcode: str, error: str, at: dt.datetime
) -> None:
    """Note a failed search of `postcode`; what an earlier search stored stays as it was."""
    with _transaction(conn):
        updated = conn.execute(
            "update epc_lookups set error = ?, error_at = ? where postcode = ?",
            [error, at, postcode],
        ).fetchone()[0]
        if not updated:
            conn.execute(
                "insert into epc_lookups (postcode, error, error_at) values (?, ?, ?)",
                [postcode, error, at],
            )


def store_details(
    conn: duckdb.DuckDBPyConnection,
    certificate_number: str,
    details: Mapping[str, Any],
    at: dt.datetime,
) -> None:
    """Fill in a certificate's fields from `/api/certificate` (keyed as DETAIL_COLUMNS)."""
    assignments = ", ".join(f"{column} = ?" for column in DETAIL_COLUMNS)
    with _transaction(conn):
        conn.execute(
            f"update epc_certificates set {assignments}, details_fetched_at = ? "
            "where certificate_number = ?",
            [*(details.get(column) for column in DETAIL_COLUMNS), at, certificate_number],
        )


def certificates_for(conn: duckdb.DuckDBPyConnection, postcodes: Sequence[str]) -> pd.DataFrame:
    """The cached certificates of these postcodes, every stored column."""
    return conn.execute(
        f"""
        select {", ".join(STORED_COLUMNS)}
        from epc_certificates
        where list_contains($postcodes, postcode)
        order by postcode, lodged_on desc, certificate_number
        """,
        {"postcodes": list(postcodes)},
    ).df()
