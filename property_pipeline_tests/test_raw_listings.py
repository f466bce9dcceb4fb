"""raw_listings on the sandbox: what was served, failures kept apart, archive replay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from property_pipeline.definitions import ASSETS
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.market import MarketConfig
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.assets import volume_check
from property_pipeline.sources.resource import ListingSourcesResource
from property_pipeline_tests.conftest import offline_resources

DAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(market=MarketConfig(listings=20_000))) as server:
        yield server


@pytest.fixture
def targets(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """One busy area on both portals, every price, no auctions."""
    market = sandbox.context.market
    area = max(
        market.locations(),
        key=lambda place: len(market.search(DAY, "rightmove", outcode=place.outcode)),
    )
    path = tmp_path / "targets.yaml"
    path.write_text(
        f"""
locations:
  - name: {area.town} {area.outcode}
    rightmove_id: "{area.rightmove_id}"
    zoopla_slug: {area.zoopla_slug}
include_sstc: true
sources:
  rightmove: {{enabled: true}}
  zoopla: {{enabled: true}}
  allsop: false
  auctionhouse: false
"""
    )
    return path


def sources_for(sandbox_url: str, targets: Path, tmp_path: Path, **extra) -> ListingSourcesResource:
    return ListingSourcesResource(
        mode="sandbox",
        sandbox_url=sandbox_url,
        targets_path=str(targets),
        archive_root=str(tmp_path / "archive"),
        **extra,
    )


def materialize(warehouse, listing_sources, day: dt.date = DAY) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS,
        selection=["raw_listings"],
        partition_key=day.isoformat(),
        resources={**offline_resources(warehouse), "listing_sources": listing_sources},
    )


def stored(warehouse, table: str = "raw_listings", day: dt.date = DAY) -> list[tuple]:
    with duckdb.connect(warehouse.database, read_only=True) as conn:
        if table == "raw_listings":
            query = (
                "select source, source_id from raw_listings where partition_date = ? order by 1, 2"
            )
        else:
            query = (
                f"select source, url, reason from {table} where partition_date = ? order by 1, 2"
            )
        return conn.execute(query, [day]).fetchall()


def market_ids(sandbox: SandboxServer, targets: Path, source: str, day: dt.date = DAY) -> set:
    market = sandbox.context.market
    slug_or_id = targets.read_text()
    outcode = next(
        place.outcode for place in market.locations() if place.rightmove_id in slug_or_id
    )
    return {(source, item.source_id) for item in market.search(day, source, outcode=outcode)}


def check_result(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_a_days_scrape_stores_exactly_the_listings_the_sandbox_served(
    sandbox, targets, warehouse, tmp_path
) -> None:
    result = materialize(warehouse, sources_for(sandbox.base_url, targets, tmp_path))

    assert result.success
    expected = market_ids(sandbox, targets, "rightmove") | market_ids(sandbox, targets, "zoopla")
    assert len(expected) > 20
    assert set(stored(warehouse)) == expected
    assert len(stored(warehouse)) == len(expected)
    assert check_result(result).passed
    assert stored(warehouse, "source_failures") == []


def test_a_blocked_source_keeps_its_earlier_rows_and_fails_the_volume_check(
    sandbox, targets, warehouse, tmp_path
) -> None:
    listing_sources = sources_for(sandbox.base_url, targets, tmp_path, refetch=True)
    materialize(warehouse, listing_sources)
    before = stored(warehouse)
    fault = sandbox.context.faults.add(FaultSpec(upstream="zoopla", kind="challenge"))
    try:
        result = materialize(warehouse, listing_sources)
    finally:
        sandbox.context.faults.remove(fault)

    assert result.success, "one source failing must not fail the asset"
    assert stored(warehouse) == before
    failures = stored(warehouse, "source_failures")
    assert {source for source, _, _ in failures} == {"zoopla"}
    assert all("challenge" in reason.lower() for _, _, reason in failures)
    evaluation = check_result(result)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "zoopla yielded no listings" in evaluation.description


def test_a_past_day_is_re_parsed_from_its_archive_without_the_network(
    sandbox, targets, warehouse, tmp_path
) -> None:
    materialize(warehouse, sources_for(sandbox.base_url, targets, tmp_path))
    first = stored(warehouse)

    # Nothing listens on port 9 (discard): any fetch would fail and be recorded.
    offline = sources_for("http://127.0.0.1:9", targets, tmp_path)
    result = materialize(warehouse, offline)

    assert result.success
    assert stored(warehouse) == first
    assert stored(warehouse, "source_failures") == []
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["collected_by"].value == "re-parsed the archive"


def test_a_live_run_never_crawls_a_day_other_than_today(targets, warehouse, tmp_path) -> None:
    live = ListingSourcesResource(
        mode="live", targets_path=str(targets), archive_root=str(tmp_path / "empty")
    )

    result = materialize(warehouse, live)

    assert result.success
    assert stored(warehouse) == []
    reasons = {source: reason for source, _, reason in stored(warehouse, "source_failures")}
    assert set(reasons) == {"rightmove", "zoopla"}
    assert all("live sites only show today's listings" in reason for reason in reasons.values())


def test_the_volume_check_compares_each_source_with_its_recent_median() -> None:
    healthy = volume_check({"rightmove": 90, "zoopla": 40}, {"rightmove": 100, "zoopla": 45})
    thin = volume_check({"rightmove": 30, "zoopla": 40}, {"rightmove": 100, "zoopla": 45})
    first_day = volume_check({"rightmove": 3}, {})

    assert healthy.passed
    assert not thin.passed
    assert thin.description == "rightmove yielded 30 listings against a recent median of 100"
    assert first_day.passed
