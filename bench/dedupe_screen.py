"""Time the ingest and screening steps on a million raw listings from the sandbox market.

Run `.venv/bin/python bench/dedupe_screen.py` (or `--quick`, 200,000 rows over 5 days, for a
quicker look). It builds the raw listings of consecutive days straight from `Market` (no HTTP),
normalised the way the parsers normalise a detail page, writes them to a temporary warehouse, then
runs each step over every day in order, as a backfill would, each step in a process of its own:
the four ingest models, `listing_features` (the Python extraction) and the `screened` model.
For each step it prints the wall time, the CPU time, the peak resident memory and raw listings a
second, then the totals and how well property matching agreed with the market's truth on the last
day. The same results go to `bench/results/dedupe_screen.md` and `.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from measure import children_cpu_seconds, peak_resident_mb

from property_pipeline.ingest.assets import ListingHistoryConfig, PropertyMatchingConfig
from property_pipeline.ingest.evaluation import match_quality_counts
from property_pipeline.sandbox import auctions, rightmove, zoopla
from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.model import SOURCES, Listing
from property_pipeline.screening.assets import ScreeningConfig
from property_pipeline.screening.features import CACHE_TABLE, write_listing_features
from property_pipeline.settings import sql_dir
from property_pipeline.sources.listing import (
    normalise_postcode,
    normalise_tenure,
    outcode_of,
)
from property_pipeline.warehouse import store
from property_pipeline.warehouse.models import load_models

INGEST_MODELS = ("listing_history", "property_links", "deduped_listings", "listing_price_history")
STEPS = (*INGEST_MODELS, "listing_features", "screened", "scored")
QUICK_ROWS, QUICK_DAYS = 200_000, 5
RESULTS_DIR = Path(__file__).resolve().parent / "results"
FIRST_DAY = dt.date(2026, 11, 2)
# Share of a market's listings live on the portals on a given day (measured: about 0.19);
# used to size the market so the requested days hold the requested rows.
LIVE_SHARE = 0.19
INGEST_PARAMS = {**ListingHistoryConfig().model_dump(), **PropertyMatchingConfig().model_dump()}
# Each SQL model's bound values besides the partition date: the defaults its asset's config gives.
MODEL_PARAMS = {
    **{name: INGEST_PARAMS for name in INGEST_MODELS},
    "screened": ScreeningConfig().model_dump(),
    "scored": {},
}
SOURCE_URLS = {
    "rightmove": "https://www.rightmove.co.uk/properties/{id}",
    "zoopla": "https://www.zoopla.co.uk/for-sale/details/{id}/",
    "allsop": "https://www.allsop.co.uk/lot-overview/{id}",
    "auctionhouse": "https://www.auctionhouse.co.uk/auction/lot/{id}",
}


def display_address(listing: Listing) -> str:
    """The address line each source shows: portals omit the house number, auctions keep it."""
    if listing.source == "rightmove":
        return rightmove.display_address(listing)
    if listing.source == "zoopla":
        return zoopla.display_address(listing)
    if listing.source == "allsop":
        return auctions.allsop_address(listing.property)
    return auctions.card_address(listing.property)


def advert_record(listing: Listing) -> dict[str, Any]:
    """The day-independent raw_listings fields of one advert, as a parser would give them."""
    prop = listing.property
    postcode = normalise_postcode(prop.postcode)
    # Auction House pages give no usable map position.
    positioned = listing.source != "auctionhouse"
    return {
        "source": listing.source,
        "source_id": listing.source_id,
        "url": SOURCE_URLS[listing.source].format(id=listing.source_id),
        "listing_type": "auction_lot" if listing.auction is not None else "sale",
        "title": listing.title,
        "price_qualifier": listing.price_qualifier,
        "property_type": prop.property_type,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "tenure": normalise_tenure(prop.tenure),
        "lease_years_remaining": prop.lease_years_remaining,
        "ground_rent": prop.ground_rent,
        "service_charge": prop.service_charge,
        "postcode": postcode,
        "outcode": outcode_of(postcode),
        "address": display_address(listing),
        "latitude": prop.latitude if positioned else None,
        "longitude": prop.longitude if positioned else None,
        "summary": listing.summary,
        "description": listing.description,
        "key_features": list(listing.key_features),
        "agent": listing.agent_name,
        "first_listed_at": listing.first_listed,
        "auction_date": listing.auction.auction_date if listing.auction else None,
        "lot_number": listing.auction.lot_number if listing.auction else None,
        "image_count": listing.image_count,
        "property_id": prop.property_id,
    }


class RawListingBuilder:
    """Raw listings of any day from one market, building each advert's text only once.

    A `Listing` takes about half a millisecond to write (its title, description and features);
    a million rows over a few days repeat the same adverts, so each is built on the day it is
    first seen and only its price is read for later days. That needs the market's advert rows
    and price schedule, which `Market` keeps private: this is a benchmark's shortcut, not an
    interface.
    """

    def __init__(self, market: Market) -> None:
        self.market = market
        self.adverts: dict[tuple[str, int], dict[str, Any]] = {}

    def day(self, day: dt.date) -> pd.DataFrame:
        """Every advert live on `day` on every source, one raw_listings row each."""
        records: list[dict[str, Any]] = []
        prices: list[np.ndarray] = []
        for source in SOURCES:
            found = self.market.search(day, source)
            rows = np.asarray(found._rows)  # private: see the class docstring
            prices.append(self.market._prices_on(rows, day.toordinal()))
            for index, row in enumerate(rows.tolist()):
                advert = self.adverts.get((source, row))
                if advert is None:
                    advert = advert_record(found[index])
                    self.adverts[(source, row)] = advert
                records.append(advert)
        frame = pd.DataFrame.from_records(records)
        frame["price"] = np.concatenate(prices)
        frame["scraped_at"] = dt.datetime.combine(day, dt.time(7, 0))
        return frame

    def live_count(self, day: dt.date) -> int:
        """How many rows `day` will hold, without building any advert."""
        return sum(len(self.market.search(day, source)) for source in SOURCES)


def build_warehouse(path: Path, rows: int, days: int, seed: int) -> tuple[list[dt.date], int]:
    """Write `days` days of raw listings (at least `rows` in all) and the truth to `path`."""
    started = time.perf_counter()
    market = Market(MarketConfig(seed=seed, listings=int(rows / days / LIVE_SHARE) + 1))
    builder = RawListingBuilder(market)
    print(f"market of {market.config.listings:,} listings in {time.perf_counter() - started:.1f}s")

    dates: list[dt.date] = []
    total = 0
    day = FIRST_DAY
    while total < rows:
        total += builder.live_count(day)
        dates.append(day)
        day += dt.timedelta(days=1)

    started = time.perf_counter()
    with duckdb.connect(str(path)) as conn:
        store.create_schema(conn)
        conn.execute(
            "create table match_truth (source varchar, source_id varchar, property_id bigint)"
        )
        for day in dates:
            frame = builder.day(day)
            conn.register("day_truth", frame[["source", "source_id", "property_id"]])
            conn.execute("insert into match_truth select * from day_truth")
            conn.unregister("day_truth")
            store.replace_partition_from_frame(
                conn, "raw_listings", day, frame.drop(columns="property_id")
            )
            print(f"  {day}: {len(frame):,} raw listings", flush=True)
        conn.execute("create or replace table match_truth as select distinct * from match_truth")
    print(
        f"{total:,} raw listings over {len(dates)} days ({len(builder.adverts):,} adverts)"
        f" built in {time.perf_counter() - started:.1f}s"
    )
    return dates, total


DayWriter = Callable[[dt.date], store.PartitionWrite]


def model_writer(conn: duckdb.DuckDBPyConnection, model_name: str) -> DayWriter:
    """Materialise one day of a SQL model, as its asset does with its default config."""
    model = load_models(sql_dir(), set(store.warehouse_tables(conn)))[model_name]

    def write(day: dt.date) -> store.PartitionWrite:
        values = {"partition_date": day, **model_params(model_name, day)}
        return store.replace_partition(conn, model_name, day, model.sql, model.bind(values))

    return write


def model_params(model_name: str, day: dt.date) -> dict[str, Any]:
    """A model's bound values besides the partition date, as its asset gives them by default.

    Scoring takes its numbers from scoring.yaml through `scoring.params` once that exists.
    """
    if model_name != "scored":
        return MODEL_PARAMS[model_name]
    try:
        from property_pipeline.scoring.config import load_scoring_config
        from property_pipeline.scoring.params import scored_params
    except ImportError:  # the foundation model, which needs nothing
        return {}
    return scored_params(load_scoring_config(), day)


def features_writer(conn: duckdb.DuckDBPyConnection) -> DayWriter:
    """Materialise one day of listing_features, as its asset does (cache and workers).

    The cache starts empty, so a repeat measures the same work as the first run.
    """
    conn.execute(f"drop table if exists {CACHE_TABLE}")

    def write(day: dt.date) -> store.PartitionWrite:
        return write_listing_features(conn, day).write

    return write


def scored_writer(conn: duckdb.DuckDBPyConnection) -> DayWriter:
    """Materialise one day of `scored` from synthetic `enriched` rows (see synthesise_enriched)."""
    write_model = model_writer(conn, "scored")

    def write(day: dt.date) -> store.PartitionWrite:
        synthesise_enriched(conn, day)
        return write_model(day)

    return write


# Plausible enrichment for a screened-in listing, derived from its key so runs repeat exactly:
# an EPC floor area from bedrooms, a value within -15%..+20% of the price, 3-14 comparables.
_KEY_HASH = "(hash(screened.listing_key) % 1000)::integer"
ENRICHED_VALUES = {
    "listing_key": "screened.listing_key",
    "property_key": "screened.property_key",
    "status": "'analysed'",
    "attempts": "1",
    "listing_type": "listings.listing_type",
    "price": "screened.price",
    "postcode": "listings.postcode",
    "outcode": "screened.outcode",
    "address": "listings.address",
    "property_type": "screened.property_type",
    "bedrooms": "listings.bedrooms",
    "unit_count": "screened.unit_count",
    "tenure": "screened.tenure",
    "epc_rating": "['B', 'C', 'D', 'E', 'F'][1 + {h} % 5]",
    "floor_area_sqm": "30 + 22 * coalesce(listings.bedrooms, 2)",
    "comparables_count": "3 + {h} % 12",
    "median_price_per_sqm": "3000 + {h} % 2500",
    "estimated_value": "round(screened.price * (0.85 + ({h} % 35) / 100))",
    "value_low": "round(screened.price * (0.75 + ({h} % 35) / 100))",
    "value_high": "round(screened.price * (0.95 + ({h} % 35) / 100))",
    "value_confidence": "0.7",
    "value_method": "'comparables'",
    "area_median_price": "screened.price * 1.05",
    "analysis_source": "'rules'",
    "condition": "'fair'",
    "enriched_at": "now()::timestamp",
}


def synthesise_enriched(conn: duckdb.DuckDBPyConnection, day: dt.date) -> int:
    """Fill `enriched` for the day's screened-in listings with ENRICHED_VALUES.

    A pure dedupe and screen run has no enrichment (it calls EPC, Land Registry and a model),
    so scoring would have nothing to score. Only the columns the warehouse's `enriched` table
    has are filled, so the bench follows that table as it changes.
    """
    present = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_name = 'enriched'"
        ).fetchall()
    }
    columns = [name for name in ENRICHED_VALUES if name in present]
    select = ",\n".join(
        f"{ENRICHED_VALUES[name].format(h=_KEY_HASH)} as {name}" for name in columns
    )
    query = f"""
        select {select}
        from screened
        join deduped_listings as listings
            on listings.listing_key = screened.listing_key
            and listings.partition_date = screened.partition_date
        where screened.partition_date = $day
            and screened.status = 'pending_enrichment'
    """
    return store.replace_partition(conn, "enriched", day, query, {"day": day}).rows_inserted


def run_step_over_days(warehouse: str, step: str, days: list[dt.date], queue: Any) -> None:
    """In a child process: run one step for each day in order and report its own costs.

    CPU time counts from the first day, so the child's imports are left out as they are from
    the wall time.
    """
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    rows = 0
    with duckdb.connect(warehouse) as conn:
        conn.execute("set enable_progress_bar = false")
        # Costs of a step's own worker processes (listing_features) are its CPU time too.
        children_before = children_cpu_seconds()
        writers = {"listing_features": features_writer, "scored": scored_writer}
        write = writers.get(step, lambda conn: model_writer(conn, step))(conn)
        for day in days:
            rows += write(day).rows_inserted
    after = resource.getrusage(resource.RUSAGE_SELF)
    queue.put(
        {
            "wall": time.perf_counter() - started,
            "cpu": (after.ru_utime + after.ru_stime)
            - (before.ru_utime + before.ru_stime)
            + children_cpu_seconds()
            - children_before,
            "peak_mb": peak_resident_mb(),
            "rows": rows,
        }
    )


def time_steps(
    warehouse: Path, days: list[dt.date], steps: tuple[str, ...] = STEPS
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each step's costs over all days, in order, measured in a fresh process per step.

    A step that fails reports {"error": ...} instead, and the later steps still run: the
    scoring model is being rewritten and must not take the other numbers down with it.
    """
    context = multiprocessing.get_context("spawn")
    for name in steps:
        queue = context.Queue()
        child = context.Process(target=run_step_over_days, args=(str(warehouse), name, days, queue))
        child.start()
        # The report is a few numbers, so joining before reading the queue cannot block.
        child.join()
        if child.exitcode != 0:
            yield name, {"error": f"{name} failed in its process (exit code {child.exitcode})"}
            continue
        yield name, queue.get()


def matching_quality(warehouse: Path, day: dt.date) -> dict[str, Any]:
    """Pairwise recall (cross-source pairs of one property sharing a key) and precision
    (pairs sharing a key that are one property), against the market's truth."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        true_pairs, found, linked, wrong = match_quality_counts(conn, day)
    return {
        "day": day.isoformat(),
        "recall": found / true_pairs if true_pairs else 1.0,
        "precision": 1 - wrong / linked if linked else 1.0,
        "cross_source_pairs": true_pairs,
        "cross_source_pairs_found": found,
        "linked_pairs": linked,
        "linked_pairs_wrong": wrong,
    }


def matching_line(matching: dict[str, Any]) -> str:
    """The matching quality in one sentence."""
    return (
        f"matching on {matching['day']}: recall {matching['recall']:.4f}"
        f" ({matching['cross_source_pairs_found']:,}/{matching['cross_source_pairs']:,}"
        f" cross-source pairs), precision {matching['precision']:.4f}"
        f" ({matching['linked_pairs_wrong']:,} of {matching['linked_pairs']:,} linked pairs wrong)"
    )


def step_result(name: str, reports: list[dict[str, Any]], listings: int) -> dict[str, Any]:
    """One step's median costs over its repeats, with raw listings handled a second of wall."""
    kind = {"listing_features": "python", "scored": "sql+synthetic enriched"}.get(name, "sql")
    failed = [report["error"] for report in reports if "error" in report]
    if failed:
        return {"step": name, "kind": kind, "error": failed[0]}
    wall = statistics.median(report["wall"] for report in reports)
    return {
        "step": name,
        "kind": kind,
        "wall_s": round(wall, 2),
        "cpu_s": round(statistics.median(report["cpu"] for report in reports), 2),
        "peak_rss_mb": round(max(report["peak_mb"] for report in reports), 1),
        "rows_out": reports[-1]["rows"],
        "listings_per_s": round(listings / wall) if wall else None,
        "repeats": len(reports),
    }


def total_result(steps: list[dict[str, Any]], listings: int, names: tuple[str, ...]) -> dict:
    """The steps in `names` together: summed times, the largest peak (each ran alone)."""
    chosen = [step for step in steps if step["step"] in names and "error" not in step]
    wall = sum(step["wall_s"] for step in chosen)
    return {
        "steps": [step["step"] for step in chosen],
        "wall_s": round(wall, 2),
        "cpu_s": round(sum(step["cpu_s"] for step in chosen), 2),
        "peak_rss_mb": max((step["peak_rss_mb"] for step in chosen), default=0.0),
        "listings_per_s": round(listings / wall) if wall else None,
    }


def step_line(step: dict[str, Any]) -> str:
    """One Markdown table row of a step, or its error."""
    if "error" in step:
        return f"| {step['step']} | {step['kind']} | failed: {step['error']} | | | | |"
    return (
        f"| {step['step']} | {step['kind']} | {step['wall_s']:.1f} | {step['cpu_s']:.1f}"
        f" | {step['peak_rss_mb']:.0f} | {step['rows_out']:,} | {step['listings_per_s']:,} |"
    )


def results_markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table with the run's facts above it."""
    lines = [
        "# dedupe_screen benchmark",
        "",
        f"{results['raw_listings']:,} raw listings (asked for {results['rows']:,}) over"
        f" {results['days']} days, {results['first_day']} to {results['last_day']};"
        f" {results['cores']} cores, Python {results['python']}, DuckDB {results['duckdb']};"
        f" run {results['date']}.",
        "",
        "Each step ran over every day in order, in a process of its own (median of"
        f" {results['repeats']}); listings/s is raw listings divided by the step's wall time.",
        "",
        "| step | kind | wall s | CPU s | peak RSS MB | rows out | listings/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [step_line(step) for step in results["steps"]]
    total = results["total"]
    lines += [
        f"| **total** | | {total['wall_s']:.1f} | {total['cpu_s']:.1f}"
        f" | {total['peak_rss_mb']:.0f} (max) | | {total['listings_per_s']:,} |",
        "",
        matching_line(results["matching"]) + ".",
        "",
    ]
    return "\n".join(lines)


def write_results(results: dict[str, Any], folder: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write the results to dedupe_screen.md and dedupe_screen.json in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown, data = folder / "dedupe_screen.md", folder / "dedupe_screen.json"
    markdown.write_text(results_markdown(results))
    data.write_text(json.dumps(results, indent=2) + "\n")
    return markdown, data


def run_scaling(
    rows: int,
    day_count: int,
    seed: int = 7,
    repeats: int = 1,
    keep: Path | None = None,
    steps: tuple[str, ...] = STEPS,
) -> dict[str, Any]:
    """Build `rows` raw listings over `day_count` days, time every step, return the results.

    The warehouse is also kept for the pandas baseline when `keep` names a folder.
    """
    with tempfile.TemporaryDirectory(prefix="dedupe_bench_") as folder:
        warehouse = (keep or Path(folder)) / "warehouse.duckdb"
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        warehouse.unlink(missing_ok=True)
        days, total = build_warehouse(warehouse, rows, day_count, seed)

        reports: dict[str, list[dict[str, Any]]] = {name: [] for name in steps}
        for _ in range(repeats):
            for name, report in time_steps(warehouse, days, steps):
                reports[name].append(report)
                shown = "failed" if "error" in report else f"{report['wall']:.1f}s"
                print(f"  {name:<24} {shown}", flush=True)
        results_steps = [step_result(name, reports[name], total) for name in steps]
        matching = matching_quality(warehouse, days[-1])

    return {
        "rows": rows,
        "raw_listings": total,
        "days": len(days),
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
        "seed": seed,
        "repeats": repeats,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "steps": results_steps,
        "total": total_result(results_steps, total, steps),
        "matching": matching,
    }


def main() -> None:
    """Parse the options, run the steps and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="raw listings to build (default 1,000,000)")
    parser.add_argument("--days", type=int, help="days to spread them over (default 10)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROWS:,} rows over {QUICK_DAYS} days; not with --rows or --days",
    )
    parser.add_argument("--seed", type=int, default=7, help="market seed")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step; medians shown")
    parser.add_argument("--keep", type=Path, help="folder to keep the warehouse in afterwards")
    parser.add_argument(
        "--results", type=Path, default=RESULTS_DIR, help="folder for the .md and .json results"
    )
    args = parser.parse_args()
    if args.quick and (args.rows is not None or args.days is not None):
        parser.error("--quick sets the rows and days itself; drop --rows/--days or --quick")
    rows = QUICK_ROWS if args.quick else args.rows or 1_000_000
    day_count = QUICK_DAYS if args.quick else args.days or 10

    results = run_scaling(rows, day_count, args.seed, args.repeat, args.keep)
    print(results_markdown(results))
    for path in write_results(results, args.results):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
