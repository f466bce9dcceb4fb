"""The checks every day's tables share, and the freshness deadlines: what goes red in the UI."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from property_pipeline.definitions import ASSETS, defs
from property_pipeline.warehouse.checks import duplicated_listings
from property_pipeline_tests.conftest import offline_resources

DAY = "2026-11-29"
UP_TO_SCREENED = [
    "raw_listings",
    "listing_history",
    "property_links",
    "deduped_listings",
    "listing_features",
    "screened",
]


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}": evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
    }


def test_a_days_tables_pass_the_shared_checks_as_they_are_written(warehouse) -> None:
    result = dg.materialize(
        ASSETS, selection=UP_TO_SCREENED, partition_key=DAY, resources=offline_resources(warehouse)
    )

    assert evaluations(result) == {
        "raw_listings:source_volumes": True,
        "deduped_listings:non_empty_partition": True,
        "deduped_listings:unique_listing_key": True,
        "listing_features:non_empty_partition": True,
        "listing_features:unique_listing_key": True,
        "screened:non_empty_partition": True,
        "screened:unique_listing_key": True,
    }


def test_an_empty_day_fails_its_non_empty_check_without_failing_the_run(warehouse) -> None:
    # Nothing was scraped or deduplicated for this day, so there is nothing to read.
    result = dg.materialize(
        ASSETS,
        selection=["listing_features"],
        partition_key=DAY,
        resources=offline_resources(warehouse),
    )

    assert result.success
    assert evaluations(result)["listing_features:non_empty_partition"] is False


def test_a_listing_stored_twice_is_named_by_the_unique_check_query(warehouse) -> None:
    dg.materialize(
        ASSETS, selection=UP_TO_SCREENED, partition_key=DAY, resources=offline_resources(warehouse)
    )
    day = dt.date.fromisoformat(DAY)
    with warehouse.connection() as conn:
        conn.execute(
            """
            insert into screened
            select * from screened where listing_key = 'rightmove:150000102' and partition_date = ?
            """,
            [day],
        )

    assert duplicated_listings(warehouse, "screened", day) == ["rightmove:150000102"]
    assert duplicated_listings(warehouse, "deduped_listings", day) == []


def test_the_scrape_the_scores_and_the_digest_have_deadlines_in_uk_time() -> None:
    policies = {
        spec.key.to_user_string(): spec.freshness_policy
        for spec in defs.resolve_all_asset_specs()
        if spec.freshness_policy is not None
    }

    assert policies["raw_listings"].deadline_cron == "30 8 * * *"
    assert policies["scored"].deadline_cron == "30 17 * * *"
    assert policies["digests"].deadline_cron == "30 18 * * *"
    assert policies["weekly_stats"].deadline_cron == "30 9 * * 1"
    assert {policy.timezone for policy in policies.values()} == {"Europe/London"}
