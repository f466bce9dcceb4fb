"""One day of the pipeline, scrape to digest, through the real Dagster assets against a sandbox.

The sandbox runs in a process of its own (so its page rendering is not charged to the pipeline)
with every market location searched and rate limits off; the pipeline process materialises the
daily assets for one partition on an ephemeral instance and a fresh warehouse. Step durations
come from the run's STEP_START / STEP_SUCCESS events: what the run took beyond the steps is
Dagster's own share (run set-up, planning, event writing between steps).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

DAY = dt.date(2026, 11, 30)
# Rate limits off: the loopback sandbox is the only host, and politeness only slows the bench.
FETCH = {"requests_per_second_per_host": 10_000.0, "concurrency": 16, "backoff_seconds": 0}
EPC = {"requests_per_second": 10_000.0, "concurrency": 16}


def _serve(listings: int, queue: Any, stop: Any) -> None:
    from property_pipeline.sandbox.context import SandboxConfig
    from property_pipeline.sandbox.market import MarketConfig
    from property_pipeline.sandbox.server import SandboxServer

    config = SandboxConfig(date=DAY, market=MarketConfig(listings=listings))
    with SandboxServer(config) as sandbox:
        locations = [
            {"name": p.outcode, "rightmove_id": p.rightmove_id, "zoopla_slug": p.zoopla_slug}
            for p in sandbox.context.market.locations()
        ]
        queue.put((sandbox.base_url, locations))
        stop.wait()


def targets_file(folder: Path, locations: list[dict[str, str]]) -> Path:
    """The shipped targets with every sandbox location, any price and rate limits off."""
    from property_pipeline.sources.config import DEFAULT_CONFIG_PATH

    targets = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    targets["locations"] = locations
    targets.pop("price", None)
    targets["fetch"] = {**targets.get("fetch", {}), **FETCH}
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump(targets))
    return path


def run_day(listings: int) -> dict[str, Any]:
    """In a child: start the sandbox, materialise the day, and time the steps from events."""
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(listings, queue, stop))
    server.start()
    try:
        base_url, locations = queue.get(timeout=300)
        with tempfile.TemporaryDirectory(prefix="bench_daily_") as folder:
            return _materialize_day(Path(folder), base_url, locations)
    finally:
        stop.set()
        server.join(timeout=30)


def _materialize_day(folder: Path, base_url: str, locations: list[dict[str, str]]) -> dict:
    os.environ["PROPERTY_PIPELINE_SANDBOX_URL"] = base_url
    os.environ["PROPERTY_PIPELINE_WAREHOUSE"] = str(folder / "warehouse.duckdb")
    os.environ["PROPERTY_PIPELINE_TARGETS"] = str(targets_file(folder, locations))
    os.environ.pop("DAGSTER_HOME", None)
    imports_started = time.perf_counter()
    import dagster as dg

    from property_pipeline.definitions import DAILY_ASSET_NAMES, defs
    from property_pipeline.resources import build_resources
    from property_pipeline.sources.resource import ListingSourcesResource

    imported = time.perf_counter() - imports_started
    resources = build_resources()
    resources["epc"] = resources["epc"].model_copy(update=EPC)
    resources["listing_sources"] = ListingSourcesResource(
        mode="sandbox",
        sandbox_url=base_url,
        targets_path=os.environ["PROPERTY_PIPELINE_TARGETS"],
        archive_root=str(folder / "archive"),
    )
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            list(defs.assets or []),
            selection=list(DAILY_ASSET_NAMES),
            partition_key=DAY.isoformat(),
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        run_wall = time.perf_counter() - started
        steps = step_seconds(instance.all_logs(result.run_id))
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        raise RuntimeError(f"the daily run failed at {', '.join(map(str, failed))}")
    warehouse = resources["warehouse"]
    rows = {name: warehouse.partition_row_count(name, DAY) for name in DAILY_ASSET_NAMES}
    in_steps = sum(steps.values())
    return {
        "run_wall_s": run_wall,
        "steps_s": sum(steps.values()),
        "dagster_s": run_wall - in_steps,
        "dagster_share": (run_wall - in_steps) / run_wall,
        "imports_s": imported,
        "raw_listings": rows["raw_listings"],
        "step_seconds": {name: round(value, 2) for name, value in steps.items()},
        "rows": rows,
    }


def step_seconds(entries: list[Any]) -> dict[str, float]:
    """Seconds from each step's start event to its success event, from the run's event log."""
    starts: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[entry.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and entry.step_key in starts:
            seconds[entry.step_key] = entry.timestamp - starts[entry.step_key]
    return seconds
