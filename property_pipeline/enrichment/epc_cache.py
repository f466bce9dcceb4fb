"""The EPC cache in the warehouse: which postcodes were searched when, and what was found.

Tables `epc_lookups` and `epc_certificates` (warehouse/schema/enrichment_epc.sql). Each write
is one transaction for a batch of postcodes: their certificates are deleted and inserted again,
and no other postcode's rows are touched. A certificate never changes once lodged, so details
fetched earlier are carried over when a postcode is searched again. Failed searches are recorded
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
from property_pipeline.warehouse import store

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
    return store_searches(conn, {postcode: rows}, today, fetched_at)


def store_searches(
    conn: duckdb.DuckDBPyConnection,
    answers: Mapping[str, Sequence[Mapping[str, Any]]],
    today: dt.date,
    fetched_at: dt.datetime,
) -> int:
    """Replace several postcodes' certificates with their searches' rows, in one transaction,
    and mark each postcode fresh as of `today`; returns the certificate rows stored.

    One set-based write for a batch: a write per postcode costs about 20 ms in DuckDB, which
    made storing a day's 3,600 searches slower than fetching them. Details fetched earlier for
    a certificate are carried over, as a certificate never changes once lodged.
    """
    if not answers:
        return 0
    records = []
    for postcode, rows in answers.items():
        seen: set[str] = set()
        for row in rows:
            number = row["certificate_number"]
            if number not in seen:
                seen.add(number)
                records.append([postcode, *(row.get(column) for column in SEARCH_COLUMNS)])
    found = pd.DataFrame(records, columns=["postcode", *SEARCH_COLUMNS])
    searched = pd.DataFrame({"postcode": list(answers)})
    kept_columns = [*DETAIL_COLUMNS, "details_fetched_at"]
    columns = ", ".join(STORED_COLUMNS)
    with _transaction(conn):
        store.register_frame(conn, "epc_found", found)
        store.register_frame(conn, "epc_searched", searched)
        try:
            conn.execute(
                f"""
                create or replace temp table epc_stored as
                select
                    found.*,
                    {", ".join(f"kept.{column}" for column in kept_columns)},
                    $today::date as fetched_on,
                    $fetched_at::timestamp as fetched_at
                from epc_found as found
                left join (
                    select certificate_number, {", ".join(kept_columns)}
                    from epc_certificates
                    where postcode in (select postcode from epc_searched)
                        and details_fetched_at is not null
                    qualify row_number() over (partition by certificate_number) = 1
                ) as kept
                    using (certificate_number)
                """,
                {"today": today, "fetched_at": fetched_at},
            )
            conn.execute(
                "delete from epc_certificates where postcode in (select postcode from epc_searched)"
            )
            conn.execute(
                f"insert into epc_certificates ({columns}) select {columns} from epc_stored"
            )
            conn.execute(
                "delete from epc_lookups where postcode in (select postcode from epc_searched)"
            )
            conn.execute(
                """
                insert into epc_lookups (postcode, fetched_on, fetched_at, certificates, error)
                select
                    searched.postcode,
                    $today::date,
                    $fetched_at::timestamp,
                    count(found.postcode),
                    null
                from epc_searched as searched
                left join epc_found as found
                    using (postcode)
                group by searched.postcode
                """,
                {"today": today, "fetched_at": fetched_at},
            )
            conn.execute("drop table epc_stored")
        finally:
            conn.unregister("epc_found")
            conn.unregister("epc_searched")
    return len(found)


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
    store_many_details(conn, {certificate_number: details}, at)


def store_many_details(
    conn: duckdb.DuckDBPyConnection, details: Mapping[str, Mapping[str, Any]], at: dt.datetime
) -> None:
    """Fill in several certificates' fields from `/api/certificate`, in one transaction;
    `details` maps a certificate number to its fields (keyed as DETAIL_COLUMNS)."""
    if not details:
        return
    fetched = pd.DataFrame(
        [
            [number, *(fields.get(column) for column in DETAIL_COLUMNS)]
            for number, fields in details.items()
        ],
        columns=["certificate_number", *DETAIL_COLUMNS],
    )
    assignments = ", ".join(f"{column} = fetched.{column}" for column in DETAIL_COLUMNS)
    with _transaction(conn):
        store.register_frame(conn, "epc_fetched", fetched)
        try:
            conn.execute(
                f"""
                update epc_certificates
                set {assignments}, details_fetched_at = $at::timestamp
                from epc_fetched as fetched
                where epc_certificates.certificate_number = fetched.certificate_number
                """,
                {"at": at},
            )
        finally:
            conn.unregister("epc_fetched")


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
