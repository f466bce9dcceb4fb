"""The demo: run every asset for one day and its week, then say what each one holds."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import dagster as dg

from property_pipeline import settings
from property_pipeline.definitions import DAILY_ASSET_NAMES, defs
from property_pipeline.partitions import daily_partitions, weekly_partitions
from property_pipeline.resources import build_resources
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import MarketConfig
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.settings import warehouse_path
from property_pipeline.sources.resource import ListingSourcesResource

# Homes advertised over the sandbox's three years of history: enough for a few hundred live
# listings in the demo's target areas on any day.
DEMO_MARKET_LISTINGS = 20_000


@dataclass(frozen=True)
class DemoReport:
    day: dt.date
    week_start: dt.date
    row_counts: dict[str, int]
    success: bool
    instance_description: str
    upstreams: str

    def render(self) -> str:
        lines = [
            f"Materialised partition {self.day} (weekly_stats: week of {self.week_start})",
            f"warehouse: {warehouse_path()}",
            f"instance: {self.instance_description}",
            f"listings from: {self.upstreams}",
            "",
            f"{'asset':<24}{'rows':>7}",
        ]
        lines += [f"{asset:<24}{count:>7}" for asset, count in self.row_counts.items()]
        return "\n".join(lines)


def demo_week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s week, which must be a complete (valid) weekly partition."""
    monday = day - dt.timedelta(days=day.weekday())
    if monday.isoformat() not in weekly_partitions.get_partition_keys():
        raise ValueError(
            f"the week of {day} (from Monday {monday}) has not ended yet; pick a day in a"
            " finished week, e.g. last Sunday"
        )
    return monday


def run_demo(day: dt.date, *, sample: bool = False) -> DemoReport:
    """Materialise the six daily assets for `day` and weekly_stats for its week.

    The listings come from a sandbox started for the demo on a free loopback port, unless
    `sample` asks for the small built-in set.
    """
    if day.isoformat() not in daily_partitions.get_partition_keys():
        raise ValueError(f"--date {day} is outside the daily partitions (from 2025-01-01 to today)")
    week_start = demo_week_start(day)
    if sample:
        return _materialize_demo(day, week_start, build_resources(), "built-in sample")
    with SandboxServer(
        SandboxConfig(market=MarketConfig(listings=DEMO_MARKET_LISTINGS))
    ) as sandbox:
        resources = build_resources()
        resources["listing_sources"] = ListingSourcesResource(
            mode="sandbox", sandbox_url=sandbox.base_url, targets_path=settings.targets_path()
        )
        return _materialize_demo(day, week_start, resources, f"sandbox at {sandbox.base_url}")


def _materialize_demo(
    day: dt.date, week_start: dt.date, resources: dict[str, Any], upstreams: str
) -> DemoReport:
    assets = list(defs.assets or [])
    with _instance() as instance:
        daily = dg.materialize(
            assets,
            selection=list(DAILY_ASSET_NAMES),
            partition_key=day.isoformat(),
            resources=resources,
            instance=instance,
        )
        weekly = dg.materialize(
            assets,
            selection=["weekly_stats"],
            partition_key=week_start.isoformat(),
            resources=resources,
            instance=instance,
        )
        description = "DAGSTER_HOME=" + os.environ.get("DAGSTER_HOME", "(ephemeral)")

    warehouse = resources["warehouse"]
    counts = {name: warehouse.partition_row_count(name, day) for name in DAILY_ASSET_NAMES}
    counts["weekly_stats"] = warehouse.partition_row_count("weekly_stats", week_start)
    return DemoReport(
        day, week_start, counts, daily.success and weekly.success, description, upstreams
    )


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()
