"""The EPC cache in the warehouse: freshness, per-postcode upserts and failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest

from property_pipeline.enrichment import epc_cache
from property_pipeline.enrichment.epc_match import address_key
from property_pipeline.warehouse import store

DAY = dt.date(2026, 4, 20)
AT = dt.datetime(2026, 4, 20, 9, 30)


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        store.create_schema(connection)
        yield connection


def row(number: str, address: str, postcode: str = "RM6 4FD") -> dict[str, object]:
    return {
        "certificate_number": number,
        "uprn": 1000 + int(number[-1]),
        "address": address,
        "post_town": "Romford",
        "address_key": f"{postcode}|{address.lower()}",
        "lodged_on": dt.date(2024, 1, 5),
        "epc_rating": "D",
        "schema_type": "RdSAP-Schema-21.0.1",
    }


def test_a_search_is_fresh_for_cache_days_counted_from_its_day(conn) -> None:
    epc_cache.store_search(conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens")], DAY, AT)

    def fresh(today: dt.date, days: int = 30) -> set[str]:
        return epc_cache.fresh_postcodes(conn, ["RM6 4FD", "RM6 4FE"], today, days)

    assert fresh(DAY + dt.timedelta(days=29)) == {"RM6 4FD"}
    assert fresh(DAY + dt.timedelta(days=30)) == set()
    assert fresh(DAY, days=0) == set()


def test_storing_a_postcode_replaces_only_that_postcodes_certificates(conn) -> None:
    epc_cache.store_search(conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens")], DAY, AT)
    epc_cache.store_search(conn, "RM6 4FE", [row("B-2", "2 Other Road", "RM6 4FE")], DAY, AT)

    epc_cache.store_search(
        conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens"), row("A-3", "23 Bexley Gardens")], DAY, AT
    )

    stored = conn.execute(
        "select postcode, certificate_number from epc_certificates order by 1, 2"
    ).fetchall()
    lookups = conn.execute("select postcode, certificates from epc_lookups order by 1").fetchall()
    assert stored == [("RM6 4FD", "A-1"), ("RM6 4FD", "A-3"), ("RM6 4FE", "B-2")]
    assert lookups == [("RM6 4FD", 2), ("RM6 4FE", 1)]


def test_details_fetched_once_survive_a_later_search_of_the_postcode(conn) -> None:
    epc_cache.store_search(conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens")], DAY, AT)
    epc_cache.store_details(conn, "A-1", {"floor_area_sqm": 86.0, "habitable_rooms": 5}, AT)

    later = DAY + dt.timedelta(days=40)
    epc_cache.store_search(conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens")], later, AT)

    found = conn.execute(
        "select floor_area_sqm, habitable_rooms, fetched_on from epc_certificates"
    ).fetchall()
    assert found == [(86.0, 5, later)]


def test_a_failed_search_is_recorded_but_never_fresh_and_keeps_what_was_stored(conn) -> None:
    epc_cache.store_search(conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens")], DAY, AT)

    epc_cache.record_failure(conn, "RM6 4FD", "HTTP 503 at http://x/api", AT)
    epc_cache.record_failure(conn, "RM6 4FE", "HTTP 503 at http://x/api", AT)

    lookups = conn.execute(
        "select postcode, fetched_on, error from epc_lookups order by postcode"
    ).fetchall()
    assert lookups == [
        ("RM6 4FD", DAY, "HTTP 503 at http://x/api"),
        ("RM6 4FE", None, "HTTP 503 at http://x/api"),
    ]
    assert epc_cache.fresh_postcodes(conn, ["RM6 4FD", "RM6 4FE"], DAY, 30) == {"RM6 4FD"}
    assert conn.execute("select count(*) from epc_certificates").fetchone() == (1,)


def test_cached_certificates_join_a_land_registry_sale_on_the_address_key_macro(conn) -> None:
    certificate = row("A-1", "Flat 2, 21 Bexley Gardens")
    certificate["address_key"] = address_key("Flat 2, 21 Bexley Gardens", "RM6 4FD")
    epc_cache.store_search(conn, "RM6 4FD", [certificate], DAY, AT)
    epc_cache.store_details(conn, "A-1", {"floor_area_sqm": 61.0}, AT)
    epc_cache.install_address_key_macro(conn)

    joined = conn.execute(
        f"""
        with sales as (
            select 'FLAT 2' as saon, '21' as paon, 'BEXLEY GARDENS' as street,
                'CHADWELL HEATH' as locality, 'RM6 4FD' as postcode
        )
        select certificates.certificate_number, certificates.floor_area_sqm
        from sales
        join ({epc_cache.CACHED_CERTIFICATES_SQL}) as certificates
            on certificates.address_key = address_key(
                concat_ws(', ', saon, paon, street, locality), sales.postcode
            )
        """
    ).fetchall()

    assert joined == [("A-1", 61.0)]


def test_a_batch_of_searches_is_stored_as_each_would_be_alone(conn) -> None:
    epc_cache.store_search(conn, "RM6 4FD", [row("A-1", "21 Bexley Gardens")], DAY, AT)
    epc_cache.store_details(conn, "A-1", {"floor_area_sqm": 86.0}, AT)
    epc_cache.record_failure(conn, "RM6 4FF", "HTTP 503 at http://x/api", AT)
    later = DAY + dt.timedelta(days=40)

    stored = epc_cache.store_searches(
        conn,
        {
            "RM6 4FD": [row("A-1", "21 Bexley Gardens"), row("A-3", "23 Bexley Gardens")],
            "RM6 4FE": [row("B-2", "2 Other Road", "RM6 4FE"), row("B-2", "2 Other Road")],
            "RM6 4FF": [],
        },
        later,
        AT,
    )
    epc_cache.store_many_details(
        conn, {"A-3": {"floor_area_sqm": 70.0}, "B-2": {"habitable_rooms": 3}}, AT
    )

    certificates = conn.execute(
        """
        select postcode, certificate_number, floor_area_sqm, habitable_rooms, fetched_on
        from epc_certificates
        order by 1, 2
        """
    ).fetchall()
    lookups = conn.execute(
        "select postcode, fetched_on, certificates, error from epc_lookups order by 1"
    ).fetchall()
    assert stored == 3
    assert certificates == [
        ("RM6 4FD", "A-1", 86.0, None, later),
        ("RM6 4FD", "A-3", 70.0, None, later),
        ("RM6 4FE", "B-2", None, 3, later),
    ]
    assert lookups == [
        ("RM6 4FD", later, 2, None),
        ("RM6 4FE", later, 1, None),
        ("RM6 4FF", later, 0, None),
    ]
