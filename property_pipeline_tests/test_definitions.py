"""The code location: seven assets on the right partitions, groups, descriptions and jobs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg

from property_pipeline.definitions import defs
from property_pipeline_tests.conftest import REPO_ROOT

EXPECTED_GROUPS = {
    "raw_listings": "sources",
    "listing_history": "ingest",
    "property_links": "ingest",
    "deduped_listings": "ingest",
    "listing_price_history": "ingest",
    "listing_features": "screening",
    "screened": "screening",
    "enriched": "enrichment",
    "scored": "scoring",
    "digests": "notify",
    "weekly_stats": "reporting",
}


def asset_specs() -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}


def test_every_asset_sits_in_a_group_named_for_its_stage() -> None:
    specs = asset_specs()

    assert {name: spec.group_name for name, spec in specs.items()} == EXPECTED_GROUPS


def test_every_asset_has_a_description_that_reads_as_a_sentence() -> None:
    for name, spec in asset_specs().items():
        assert spec.description, f"{name} has no description"
        first_line = spec.description.strip().splitlines()[0]
        assert first_line[0].isupper() and first_line.endswith("."), (name, first_line)


def test_daily_assets_use_london_days_and_weekly_stats_uses_monday_weeks() -> None:
    specs = asset_specs()

    for name in set(EXPECTED_GROUPS) - {"weekly_stats"}:
        partitions = specs[name].partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition), name
        assert partitions.timezone == "Europe/London"
    weekly = specs["weekly_stats"].partitions_def
    assert isinstance(weekly, dg.WeeklyPartitionsDefinition)
    assert weekly.timezone == "Europe/London"
    assert weekly.day_offset == 1
    mondays = {dt.date.fromisoformat(key).weekday() for key in weekly.get_partition_keys()}
    assert mondays == {0}


def test_the_lineage_runs_from_raw_listings_to_digests_and_weekly_stats() -> None:
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("raw_listings") == set()
    assert parents("listing_history") == {"raw_listings"}
    assert parents("property_links") == {"raw_listings", "listing_history"}
    assert parents("deduped_listings") == {"raw_listings", "listing_history", "property_links"}
    assert parents("listing_price_history") == {"listing_history", "property_links"}
    assert parents("listing_features") == {"deduped_listings"}
    assert parents("screened") == {"deduped_listings", "listing_features"}
    assert "screened" in parents("enriched")
    assert parents("enriched") == {"screened", "deduped_listings"}
    assert parents("scored") == {"enriched", "screened", "listing_features", "deduped_listings"}
    assert "scored" in parents("digests")
    assert parents("weekly_stats") == {
        "deduped_listings",
        "listing_history",
        "listing_price_history",
        "enriched",
        "scored",
    }


def test_jobs_split_the_day_into_scrape_enrich_digest_and_weekly_runs() -> None:
    def selected(job_name: str) -> set[str]:
        job = defs.resolve_job_def(job_name)
        return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}

    assert selected("scrape_job") == {
        "raw_listings",
        "listing_history",
        "property_links",
        "deduped_listings",
        "listing_price_history",
        "listing_features",
        "screened",
    }
    assert selected("enrich_job") == {"enriched", "scored"}
    assert selected("digest_job") == {"digests"}
    assert selected("weekly_stats_job") == {"weekly_stats"}


def test_dagster_definitions_validate_passes_on_the_workspace(dagster_home) -> None:
    result = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
