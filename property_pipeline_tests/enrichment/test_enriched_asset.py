"""The `enriched` asset: every pending listing gets the cheap lookups, failures stay pending."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import dagster as dg
import pytest

from property_pipeline.definitions import ASSETS
from property_pipeline.enrichment.epc import EpcResource
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.conftest import offline_resources
from property_pipeline_tests.sandbox.support import add_fault

DAY = "2026-11-29"
UP_TO_SCREENED = [
    "raw_listings",
    "listing_history",
    "property_links",
    "deduped_listings",
    "listing_features",
    "screened",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def resources_with_epc(warehouse: WarehouseResource, sandbox: SandboxServer) -> dict:
    epc = EpcResource(
        base_url=sandbox.url("epc"),
        token="sandbox-epc-token",
        retries=0,
        backoff_seconds=0.01,
        requests_per_second=500,
    )
    return {**offline_resources(warehouse), "epc": epc}


def materialize_enriched(resources: dict) -> dg.ExecuteInProcessResult:
    result = dg.materialize(ASSETS, selection=["enriched"], partition_key=DAY, resources=resources)
    assert result.success
    return result


def run_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (event,) = result.get_asset_materialization_events()
    return {key: value.value for key, value in event.materialization.metadata.items()}


def enriched_rows(warehouse: WarehouseResource) -> list[dict]:
    frame = warehouse.query_frame(
        """
        select listing_key, status, attempts, last_error, estimated_value, value_method,
            comparables_count, analysis_source, enriched_at
        from enriched
        where partition_date = $day
        order by listing_key
        """,
        {"day": dt.date.fromisoformat(DAY)},
    )
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def test_a_failed_epc_lookup_leaves_listings_pending_with_the_error_until_a_run_succeeds(
    warehouse, sandbox
) -> None:
    dg.materialize(
        ASSETS, selection=UP_TO_SCREENED, partition_key=DAY, resources=offline_resources(warehouse)
    )
    resources = resources_with_epc(warehouse, sandbox)
    add_fault(sandbox, upstream="epc", kind="server_error")
    try:
        failed_result = materialize_enriched(resources)
    finally:
        sandbox.context.reset()
    failed_run = run_metadata(failed_result)
    after_failure = enriched_rows(warehouse)

    retried_result = materialize_enriched(resources)
    retried_run = run_metadata(retried_result)
    after_retry = enriched_rows(warehouse)

    pending = len(after_failure)
    assert pending == 7  # the built-in sample's listings that pass screening
    assert {row["status"] for row in after_failure} == {"pending_enrichment"}
    assert all(row["attempts"] == 1 for row in after_failure)
    assert all("/epc/api/domestic/search" in row["last_error"] for row in after_failure)
    assert (failed_run["failed"], failed_run["still_pending"]) == (pending, pending)
    assert failed_run["analysed_this_run"] == 0
    (warning,) = [
        check
        for check in failed_result.get_asset_check_evaluations()
        if check.check_name == "lookups_succeeded"
    ]
    assert (warning.passed, warning.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert warning.metadata["failed_listings"].value == pending

    assert {row["status"] for row in after_retry} == {"analysed"}
    assert all(row["last_error"] is None and row["attempts"] == 1 for row in after_retry)
    assert (retried_run["analysed_this_run"], retried_run["still_pending"]) == (pending, 0)
    assert all(check.passed for check in retried_result.get_asset_check_evaluations())


def test_comparables_value_a_listing_and_are_kept_beside_it(warehouse) -> None:
    dg.materialize(
        ASSETS, selection=UP_TO_SCREENED, partition_key=DAY, resources=offline_resources(warehouse)
    )
    # Five standard sales of terraced houses in LS6 3 within 24 months value the terrace in
    # LS6 3HN; a repossession (category B), a detached house and a sale three years back do not.
    sales = [
        (180_000, "2026-02-01", "T", "A"),
        (190_000, "2025-12-11", "T", "A"),
        (200_000, "2026-06-30", "T", "A"),
        (210_000, "2025-03-01", "T", "A"),
        (220_000, "2026-09-15", "T", "A"),
        (50_000, "2026-05-05", "T", "B"),
        (900_000, "2026-05-05", "D", "A"),
        (120_000, "2023-10-01", "T", "A"),
    ]
    with warehouse.connection() as conn:
        for price, day, kind, category in sales:
            conn.execute(
                """
                insert into price_paid (transaction_id, price, transferred_on, postcode,
                    property_type, new_build, duration, paon, street, town, category,
                    record_status, postcode_sector, postcode_district)
                values (?, ?, ?, 'LS6 3AB', ?, false, 'F', '1', 'Cardigan Road', 'LEEDS', ?,
                    'A', 'LS6 3', 'LS6')
                """,
                [str(uuid.uuid4()), price, day, kind, category],
            )

    materialize_enriched(offline_resources(warehouse))

    rows = {row["listing_key"]: row for row in enriched_rows(warehouse)}
    terrace = rows["rightmove:150000102"]
    assert (terrace["estimated_value"], terrace["value_method"]) == (200_000, "median_price")
    assert terrace["comparables_count"] == 5
    kept = warehouse.query_frame(
        "select price from comparables where listing_key = 'rightmove:150000102' order by price"
    )["price"].tolist()
    assert kept == [180_000, 190_000, 200_000, 210_000, 220_000]
    assert rows["rightmove:150000104"]["value_method"] == "none"  # no detached sales nearby


def test_rerunning_after_every_listing_is_analysed_changes_nothing(warehouse) -> None:
    dg.materialize(
        ASSETS, selection=UP_TO_SCREENED, partition_key=DAY, resources=offline_resources(warehouse)
    )
    materialize_enriched(offline_resources(warehouse))
    first = enriched_rows(warehouse)

    second_run = run_metadata(materialize_enriched(offline_resources(warehouse)))

    assert enriched_rows(warehouse) == first
    assert second_run["pending_at_start"] == 0
    assert {row["analysis_source"] for row in first} == {"rules"}
