"""The demo: run every asset for one day and its week, then say what each one holds."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from typing import Any

import dagster as dg

from property_pipeline import settings
from property_pipeline.backfill import materialize_day
from property_pipeline.definitions import DAILY_ASSET_NAMES, defs
from property_pipeline.enrichment.assets import EnrichmentConfig
from property_pipeline.enrichment.price_paid import load_price_paid
from property_pipeline.instance import project_instance
from property_pipeline.notify import outbox
from property_pipeline.notify.hot_deals import queue_hot_deals
from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.partitions import daily_partitions, weekly_partitions
from property_pipeline.resources import build_resources
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import MarketConfig
from property_pipeline.sandbox.server import SandboxServer, client_url
from property_pipeline.settings import warehouse_path
from property_pipeline.warehouse.resource import WarehouseResource

# Homes advertised over the sandbox's three years of history: enough for a few hundred live
# listings in the demo's target areas on any day.
DEMO_MARKET_LISTINGS = 20_000
# The sandbox's model costs nothing, so the demo reads a whole day's listings in one run
# instead of the schedule's batch of 20 every two hours.
DEMO_ENRICH_BATCH_SIZE = 500
# Each step's counts and timings as it finishes, without Dagster's step-by-step debug events.
PROGRESS_LOGGING = {"console": {"config": {"log_level": "INFO"}}}
# HM Land Registry's complete Price Paid file, as the sandbox serves it for its market.
PPD_FILE = "/pp-complete.csv"


@dataclass(frozen=True)
class DemoReport:
    day: dt.date
    week_start: dt.date
    row_counts: dict[str, int]
    success: bool
    instance_description: str
    upstreams: str
    top_deals: list[dict[str, Any]] = field(default_factory=list)
    land_registry_sales: int = 0
    slack: str = ""

    def render(self) -> str:
        lines = [
            f"Materialised partition {self.day} (weekly_stats: week of {self.week_start})",
            f"warehouse: {warehouse_path()}",
            f"instance: {self.instance_description}",
            f"listings from: {self.upstreams}",
            f"Land Registry sales loaded: {self.land_registry_sales:,}",
            f"Slack: {self.slack}",
            "",
            f"{'asset':<24}{'rows':>7}",
        ]
        lines += [f"{asset:<24}{count:>7}" for asset, count in self.row_counts.items()]
        lines += ["", f"Top deals of {self.day}:", *render_top_deals(self.top_deals), ""]
        lines += ["Browse the same data in the Dagster UI:", f"  {ui_command()}"]
        return "\n".join(lines)


def render_top_deals(deals: list[dict[str, Any]]) -> list[str]:
    """The day's best-scored listings as a fixed-width table."""
    if not deals:
        return ["  (no listing was scored)"]
    header = f"  {'score':>5}  {'band':<9}  {'price':>10}  {'value':>10}  {'disc.':>6}  listing"
    rows = [header]
    for deal in deals:
        value = f"£{deal['estimated_value']:,.0f}" if deal["estimated_value"] else "-"
        discount = (
            f"{deal['discount_to_value']:.0%}" if deal["discount_to_value"] is not None else "-"
        )
        headline = str(deal["headline"]).split(": £")[0][:60]
        price = f"£{deal['price']:,}" if deal["price"] else "-"
        rows.append(
            f"  {deal['score']:>5}  {deal['band']:<9}  {price:>10}  {value:>10}"
            f"  {discount:>6}  {headline}"
        )
    return rows


def ui_command() -> str:
    """The command that opens the UI on the warehouse and instance the demo just used."""
    settings_env = []
    if os.environ.get(settings.WAREHOUSE_ENV):
        settings_env.append(f"{settings.WAREHOUSE_ENV}={warehouse_path()}")
    if os.environ.get("DAGSTER_HOME"):
        settings_env.append(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}")
    return " ".join([*settings_env, "make dev"]) + "   (then open http://127.0.0.1:3000)"


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
        resources = build_resources(sandbox_url=sandbox.base_url)
        with resources["warehouse"].connection() as conn:
            sales = load_price_paid(conn, client_url(sandbox.base_url, "landregistry") + PPD_FILE)
        report = _materialize_demo(day, week_start, resources, f"sandbox at {sandbox.base_url}")
        return replace(report, land_registry_sales=sales.inserted + sales.unchanged)


def _materialize_demo(
    day: dt.date, week_start: dt.date, resources: dict[str, Any], upstreams: str
) -> DemoReport:
    assets = list(defs.assets or [])
    with project_instance() as instance:
        daily = materialize_day(
            day,
            resources,
            instance,
            dg.RunConfig(
                ops={"enriched": EnrichmentConfig(batch_size=DEMO_ENRICH_BATCH_SIZE)},
                loggers=PROGRESS_LOGGING,
            ),
        )
        weekly = dg.materialize(
            assets,
            selection=["weekly_stats"],
            partition_key=week_start.isoformat(),
            resources=resources,
            run_config=dg.RunConfig(loggers=PROGRESS_LOGGING),
            instance=instance,
        )
        description = "DAGSTER_HOME=" + os.environ.get("DAGSTER_HOME", "(ephemeral)")

    warehouse = resources["warehouse"]
    counts = {name: warehouse.partition_row_count(name, day) for name in DAILY_ASSET_NAMES}
    counts["weekly_stats"] = warehouse.partition_row_count("weekly_stats", week_start)
    return DemoReport(
        day,
        week_start,
        counts,
        daily.success and weekly.success,
        description,
        upstreams,
        top_deals=_top_deals(warehouse, day),
        slack=_send_messages(warehouse, resources["slack"], day),
    )


def _send_messages(warehouse: WarehouseResource, slack: SlackNotifier, day: dt.date) -> str:
    """Queue the day's hot deals as the sensor would, then deliver the outbox once."""
    with warehouse.connection() as conn:
        hot = queue_hot_deals(conn, day)
    report = outbox.deliver(warehouse, slack, limit=500)
    where = slack.base_url or "Slack"
    if not slack.configured:
        return f"not connected: {len(hot)} hot deal(s) and the digests written to the log"
    return f"{len(report.sent)} message(s) posted to {where} ({len(hot)} hot deal(s))"


def _top_deals(warehouse: WarehouseResource, day: dt.date, limit: int = 10) -> list[dict]:
    frame = warehouse.query_frame(
        """
        select score, band, price, estimated_value, discount_to_value, headline
        from scored
        where partition_date = $day
        order by score desc, listing_key
        limit $limit
        """,
        {"day": day, "limit": limit},
    )
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
