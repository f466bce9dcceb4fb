"""EPC lookups end to end against the sandbox register: search, certificate, cache and faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import pandas as pd
import pytest

from property_pipeline.enrichment.epc import (
    MATCH_COLUMNS,
    EpcAuthError,
    EpcOutcome,
    EpcResource,
    lookup_certificates,
)
from property_pipeline.sandbox import epc as sandbox_epc
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.model import EpcCertificate, Property
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse import store
from property_pipeline_tests.sandbox.support import (
    MARKET_DAY,
    FakeMarket,
    add_fault,
    faults_cleared_after,
    make_property,
    terraced_house,
)
from property_pipeline_tests.sandbox.test_epc_api import make_certificate

TOKEN = "sandbox-epc-token"
no_faults_left = faults_cleared_after("server")


def certificate(index: int, prop: Property, lodged: str, **changes: Any) -> EpcCertificate:
    """The sandbox tests' certificate `index` (a 1935 semi, band D) for `prop`, lodged then."""
    lodged_on = dt.date.fromisoformat(lodged)
    return make_certificate(
        index,
        property=prop,
        uprn=100_000_000 + prop.property_id,
        lodged_on=lodged_on,
        inspected_on=lodged_on - dt.timedelta(days=3),
        **changes,
    )


def number(index: int) -> str:
    """Certificate `index`'s number, as make_certificate writes it."""
    return f"0{index:03d}-2026-0417-5512-{index:04d}"


def register() -> FakeMarket:
    """Seven certificates on RM6 4FD (two for number 21, one for flat 2 at 22) and two for
    houses on Whalebone Lane North, RM6 4FE."""
    flat = make_property(2, saon="Flat 2", property_type="flat", bedrooms=1)
    lane = [terraced_house(n, postcode="RM6 4FE") for n in (40, 41)]
    return FakeMarket(
        certificates=[
            certificate(1, make_property(1), "2016-05-01", current_band="E", current_score=45),
            certificate(2, make_property(1), "2024-02-10", floor_area_sqm=88),
            certificate(3, flat, "2021-07-01", property_type_label="Flat", floor_area_sqm=48),
            *(certificate(n + 1, make_property(n), f"2019-0{n}-01") for n in range(3, 7)),
            certificate(8, lane[0], "2022-03-03", built_form="Mid-Terrace"),
            certificate(9, lane[1], "2023-03-03", built_form="Mid-Terrace"),
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(date=MARKET_DAY)
    upstreams = {"epc": sandbox_epc.routes}
    # The hand-filled register stands in for the generated market (same query methods).
    market: Any = register()
    with SandboxServer(config, upstreams=upstreams, market=market) as running:
        yield running


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        store.create_schema(connection)
        yield connection


def settings(server: SandboxServer, **changes: Any) -> EpcResource:
    """The sandbox register, asked fast and retried quickly, one request at a time so each
    fault lands on a known request."""
    base: dict[str, Any] = {
        "concurrency": 1,
        "base_url": server.url("epc"),
        "token": TOKEN,
        "requests_per_second": 1000.0,
        "backoff_seconds": 0.01,
        "timeout": 2.0,
        "retries": 2,
        "page_size": 3,
    }
    return EpcResource(**(base | changes))


SUBJECTS = pd.DataFrame(
    [
        (
            "number-21",
            "RM6 4FD",
            "21 Bexley Gdns, Chadwell Heath, Romford, RM6 4FD",
            "semi_detached",
            3,
            None,
        ),
        ("flat-2", "rm64fd", "Flat 2, 22 Bexley Gardens, Romford", "flat", 1, None),
        (
            "street-only",
            "RM6 4FD",
            "Bexley Gardens, Chadwell Heath, Romford, RM6",
            "semi_detached",
            3,
            None,
        ),
        ("no-postcode", None, "Bexley Gardens, Romford RM6", "semi_detached", 3, None),
        ("by-uprn", "RM6 4FE", "Whalebone Lane North, Romford", "terraced", 3, 100_000_041),
        ("empty-postcode", "SW1A 2AA", "10 Downing Street", "terraced", 5, None),
    ],
    columns=["listing_key", "postcode", "address", "property_type", "bedrooms", "uprn"],
)


def lookup(
    server: SandboxServer,
    conn: duckdb.DuckDBPyConnection,
    today: dt.date = MARKET_DAY,
    **changes: Any,
) -> EpcOutcome:
    return lookup_certificates(settings(server, **changes), conn, SUBJECTS, today)


def by_key(outcome: EpcOutcome) -> dict[str, dict[str, Any]]:
    return outcome.matches.set_index("listing_key").to_dict("index")


def test_search_pages_and_certificates_give_each_listing_its_latest_epc(server, conn) -> None:
    outcome = lookup(server, conn)

    matches = by_key(outcome)
    assert list(outcome.matches.columns) == list(MATCH_COLUMNS)
    assert list(outcome.matches["listing_key"]) == list(SUBJECTS["listing_key"])
    assert matches["number-21"] == {
        "epc_certificate": number(2),
        "epc_match_method": "address",
        "epc_match_confidence": 0.95,
        "epc_rating": "D",
        "epc_efficiency": 61,
        "floor_area_sqm": 88.0,
        "epc_property_type": "House",
        "epc_built_form": "Semi-Detached",
        "construction_age_band": "England and Wales: 1930-1949",
        "habitable_rooms": 5,
        "epc_lodged_on": dt.date(2024, 2, 10),
        "epc_error": None,
    }
    assert (matches["flat-2"]["epc_certificate"], matches["flat-2"]["epc_property_type"]) == (
        number(3),
        "Flat",
    )
    assert (matches["by-uprn"]["epc_certificate"], matches["by-uprn"]["epc_match_method"]) == (
        number(9),
        "uprn",
    )
    for key in ("street-only", "no-postcode", "empty-postcode"):
        assert (matches[key]["epc_match_method"], matches[key]["epc_error"]) == ("none", None)
    # RM6 4FD takes three pages of three; RM6 4FE and SW1A 2AA one each; three certificates.
    assert (outcome.looked_up, outcome.from_cache, outcome.failed, outcome.requests) == (3, 0, 0, 8)
    cached = conn.execute(
        "select postcode, count(*) from epc_certificates group by 1 order by 1"
    ).fetchall()
    assert cached == [("RM6 4FD", 7), ("RM6 4FE", 2)]


def test_requests_in_parallel_give_the_same_matches_as_one_at_a_time(
    server, conn, tmp_path
) -> None:
    one_at_a_time = lookup(server, conn)
    with duckdb.connect(str(tmp_path / "parallel.duckdb")) as parallel_conn:
        store.create_schema(parallel_conn)
        four_at_once = lookup(server, parallel_conn, concurrency=4)

    assert four_at_once.matches.equals(one_at_a_time.matches)
    assert (four_at_once.looked_up, four_at_once.requests) == (3, 8)


def test_a_postcode_is_served_from_the_cache_within_cache_days_and_searched_again_after(
    server, conn
) -> None:
    first = lookup(server, conn)

    within = lookup(server, conn, today=MARKET_DAY + dt.timedelta(days=29))
    after = lookup(server, conn, today=MARKET_DAY + dt.timedelta(days=30))

    assert (within.looked_up, within.from_cache, within.requests) == (0, 3, 0)
    pd.testing.assert_frame_equal(within.matches, first.matches)
    # Searched again (five pages), but the certificates' details are kept, never refetched.
    assert (after.looked_up, after.from_cache, after.requests) == (3, 0, 5)
    pd.testing.assert_frame_equal(after.matches, first.matches)


def test_a_rate_limited_search_waits_its_retry_after_and_succeeds(server, conn) -> None:
    add_fault(server, upstream="epc", kind="rate_limit", count=1, retry_after=1)

    outcome = lookup(server, conn)

    assert (outcome.failed, outcome.requests) == (0, 9)
    assert outcome.duration_s >= 1.0
    assert by_key(outcome)["number-21"]["epc_certificate"] == number(2)


def test_server_errors_are_retried_then_recorded_on_that_postcodes_listings_only(
    server, conn
) -> None:
    add_fault(server, upstream="epc", kind="server_error", count=3, path_prefix="/api/domestic")

    failed = lookup(server, conn)
    retried = lookup(server, conn)

    matches = by_key(failed)
    for key in ("number-21", "flat-2", "street-only"):
        assert matches[key]["epc_match_method"] == "none"
        assert "postcode RM6 4FD" in matches[key]["epc_error"]
        assert "/epc/api/domestic/search?postcode=RM6+4FD" in matches[key]["epc_error"]
        assert "after 3 attempts: HTTP 503" in matches[key]["epc_error"]
    assert matches["by-uprn"]["epc_certificate"] == number(9)
    assert matches["no-postcode"]["epc_error"] is None
    assert (failed.looked_up, failed.failed) == (2, 1)
    # Not cached as a success: the next run searches RM6 4FD again and matches it.
    assert (retried.looked_up, retried.from_cache, retried.failed) == (1, 2, 0)
    assert by_key(retried)["number-21"]["epc_certificate"] == number(2)


def test_one_server_error_is_retried_without_trace(server, conn) -> None:
    add_fault(server, upstream="epc", kind="server_error", count=1)

    outcome = lookup(server, conn)

    assert (outcome.failed, outcome.requests) == (0, 9)
    assert outcome.matches["epc_error"].isna().all()


def test_a_timeout_is_retried_and_one_without_retries_is_recorded(server, conn) -> None:
    add_fault(server, upstream="epc", kind="timeout", count=1, duration_ms=10_000)
    retried = lookup(server, conn, timeout=0.5)

    add_fault(server, upstream="epc", kind="timeout", count=1, duration_ms=10_000)
    given_up = lookup(server, conn, timeout=0.5, retries=0, cache_days=0)

    assert (retried.failed, retried.requests) == (0, 9)
    assert given_up.failed == 1
    assert "timed out after 0.5 s" in by_key(given_up)["number-21"]["epc_error"]


def test_a_refused_token_stops_with_an_error_naming_the_variable_not_the_token(
    server, conn
) -> None:
    with pytest.raises(EpcAuthError) as raised:
        lookup(server, conn, token="my-secret-token-123")

    message = str(raised.value)
    assert "EPC_API_TOKEN" in message and "HTTP 403" in message
    assert "my-secret-token-123" not in message


def test_a_changed_response_structure_is_recorded_not_crashed_on(server, conn) -> None:
    add_fault(server, upstream="epc", kind="changed_structure", count=1)

    outcome = lookup(server, conn)

    error = by_key(outcome)["number-21"]["epc_error"]
    assert "postcode RM6 4FD" in error and "unexpected response structure" in error
    assert by_key(outcome)["by-uprn"]["epc_certificate"] == number(9)
    assert outcome.failed == 1


def test_a_truncated_body_is_retried_and_one_truncated_every_time_is_recorded(server, conn) -> None:
    add_fault(server, upstream="epc", kind="truncate", count=1)
    retried = lookup(server, conn)

    add_fault(server, upstream="epc", kind="truncate")
    broken = lookup(server, conn, cache_days=0, retries=1)

    assert (retried.failed, retried.requests) == (0, 9)
    assert broken.failed == 3
    errors = by_key(broken)
    assert all(errors[key]["epc_error"] for key in ("number-21", "by-uprn", "empty-postcode"))
    assert errors["no-postcode"]["epc_error"] is None


def test_a_failed_certificate_fetch_leaves_that_listing_pending_until_the_next_run(
    server, conn
) -> None:
    add_fault(server, upstream="epc", kind="server_error", count=3, path_prefix="/api/certificate")

    failed = lookup(server, conn)
    retried = lookup(server, conn)

    errors = failed.matches.dropna(subset=["epc_error"])
    assert len(errors) == 1
    assert "certificate_number=0" in errors["epc_error"].iloc[0]
    assert failed.matches["epc_certificate"].notna().sum() == 2
    # The search is cached; only the missing certificate is fetched on the next run.
    assert (retried.looked_up, retried.from_cache, retried.requests, retried.failed) == (0, 3, 1, 0)
    assert retried.matches["epc_certificate"].notna().sum() == 3


def test_without_a_token_the_step_is_skipped_not_failed(server, conn) -> None:
    outcome = lookup(server, conn, token=None)

    assert outcome.disabled
    assert (outcome.looked_up, outcome.requests, outcome.failed) == (0, 0, 0)
    assert set(outcome.matches["epc_match_method"]) == {"none"}
    assert outcome.matches["epc_error"].isna().all()


def test_details_for_all_fetches_the_latest_certificate_of_every_dwelling(server, conn) -> None:
    outcome = lookup(server, conn, details_for="all")

    detailed = conn.execute(
        """
        select postcode, count(*)
        from epc_certificates
        where floor_area_sqm is not null
        group by 1
        order by 1
        """
    ).fetchall()
    # Six dwellings on RM6 4FD (number 21 has two certificates), two on RM6 4FE; five pages.
    assert detailed == [("RM6 4FD", 6), ("RM6 4FE", 2)]
    assert outcome.requests == 5 + 8
    assert by_key(outcome)["number-21"]["floor_area_sqm"] == 88.0


def test_subjects_without_the_needed_columns_are_refused_by_name(server, conn) -> None:
    with pytest.raises(ValueError, match=r"missing columns \['address'\]"):
        lookup_certificates(settings(server), conn, SUBJECTS.drop(columns="address"), MARKET_DAY)


def test_no_subjects_make_no_requests(server, conn) -> None:
    outcome = lookup_certificates(settings(server), conn, SUBJECTS.iloc[0:0], MARKET_DAY)

    assert outcome.requests == 0
    assert list(outcome.matches.columns) == list(MATCH_COLUMNS)
    assert outcome.matches.empty
