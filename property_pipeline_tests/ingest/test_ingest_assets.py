"""The ingest assets in Dagster: run on the built-in sample, report counts, refuse bad config."""

from __future__ import annotations

import dagster as dg
import pytest

from property_pipeline.definitions import ASSETS
from property_pipeline_tests.conftest import offline_resources
from property_pipeline_tests.ingest import INGEST_MODELS

DAY = "2026-11-29"
SELECTION = ["raw_listings", *INGEST_MODELS]


def materialize(warehouse, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS,
        selection=SELECTION,
        partition_key=DAY,
        resources=offline_resources(warehouse),
        run_config=run_config,
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def test_each_ingest_asset_reports_its_rows_and_what_they_hold(warehouse) -> None:
    result = materialize(
        warehouse,
        {
            "ops": {
                "listing_history": {"config": {"withdrawn_after_days": 2}},
                "property_links": {"config": {"min_match_confidence": 0.9}},
            }
        },
    )

    assert result.success
    reported = metadata(result)
    assert [reported[name]["dagster/partition_row_count"] for name in INGEST_MODELS] == [8, 8, 8, 0]
    assert reported["listing_history"]["listings_by_status"] == {"new": 8}
    assert reported["property_links"]["links_by_method"] == {
        "only_listing": 4,
        "postcode_and_street": 4,
    }
    assert reported["property_links"]["properties"] == {"on one source": 4, "on several sources": 2}
    assert reported["deduped_listings"]["listings_by_sources_seen"] == {
        "1": 4,
        "2": 4,
    }
    assert reported["deduped_listings"]["sql_model"] == "deduped_listings"


@pytest.mark.parametrize(
    ("asset", "config"),
    [
        ("listing_history", {"withdrawn_after_days": 0}),
        ("property_links", {"min_match_confidence": 1.5}),
        ("property_links", {"max_match_distance_m": 0}),
    ],
)
def test_a_config_value_out_of_range_is_refused_by_name(warehouse, asset: str, config) -> None:
    result = materialize(warehouse, {"ops": {asset: {"config": config}}})

    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == asset
    assert next(iter(config)) in str(failure.step_failure_data.error)


def test_deduped_listings_without_its_same_day_inputs_fails_naming_them(warehouse) -> None:
    result = dg.materialize(
        ASSETS,
        selection=["raw_listings", "deduped_listings"],
        partition_key=DAY,
        resources=offline_resources(warehouse),
        raise_on_error=False,
    )

    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "deduped_listings"
    assert "listing_history and property_links hold no rows for 2026-11-29" in str(
        failure.step_failure_data.user_failure_data.description
    )
