"""Time the ingest models on a million raw listings from the sandbox market.

Run `.venv/bin/python bench/dedupe_screen.py` (or `--rows 200000 --days 5` for a quicker look).
It builds the raw listings of consecutive days straight from `Market` (no HTTP), normalised the
way the parsers normalise a detail page, writes them to a temporary warehouse, then runs each
ingest model over every day in order, as a backfill would, each model in a process of its own.
For each model it prints the wall time, the CPU time and the peak resident memory, and at the end
how well property matching agreed with the market's truth on the last day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from property_pipeline.ingest.assets import ListingHistoryConfig, PropertyMatchingConfig
from property_pipeline.sandbox import auctions, rightmove, zoopla
from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.model import SOURCES, Listing
from property_pipeline.settings import sql_dir
from property_pipeline.sources.listing import (
    normalise_postcode,
    normalise_tenure,
    outcode_of,
)
from property_pipeline.warehouse import store
from property_pipeline.warehouse.models import load_models

INGEST_MODELS = ("listing_history", "property_links", "deduped_listings", "listing_price_history")
FIRST_DAY = dt.date(2026, 11, 2)
# Share of a market's listings live on the portals on a given day (measured: about 0.19);
# used to size the market so the requested days hold the requested rows.
LIVE_SHARE = 0.19
MODEL_PARAMS = {**ListingHistoryConfig().model_dump(), **PropertyMatchingConfig().model_dump()}
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
            "create table bench_truth (source varchar, source_id varchar, property_id bigint)"
        )
        for day in dates:
            frame = builder.day(day)
            conn.register("day_truth", frame[["source", "source_id", "property_id"]])
            conn.execute("insert into bench_truth select * from day_truth")
            conn.unregister("day_truth")
            store.replace_partition_from_frame(
                conn, "raw_listings", day, frame.drop(columns="property_id")
            )
            print(f"  {day}: {len(frame):,} raw listings", flush=True)
        conn.execute("create or replace table bench_truth as select distinct * from bench_truth")
    print(
        f"{total:,} raw listings over {len(dates)} days ({len(builder.adverts):,} adverts)"
        f" built in {time.perf_counter() - started:.1f}s"
    )
    return dates, total


def run_model_over_days(warehouse: str, model_name: str, days: list[dt.date], queue: Any) -> None:
    """In a child process: run one model for each day in order and report its own costs."""
    started = time.perf_counter()
    rows = 0
    with duckdb.connect(warehouse) as conn:
        conn.execute("set enable_progress_bar = false")
        models = load_models(sql_dir(), set(store.warehouse_tables(conn)))
        model = models[model_name]
        for day in days:
            values = {"partition_date": day, **MODEL_PARAMS}
            write = store.replace_partition(conn, model_name, day, model.sql, model.bind(values))
            rows += write.rows_inserted
    usage = resource.getrusage(resource.RUSAGE_SELF)
    queue.put(
        {
            "wall": time.perf_counter() - started,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": peak_resident_mb(),
            "rows": rows,
        }
    )


def peak_resident_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM belongs to the process image, so a spawned child reports its own peak;
    ru_maxrss would carry over the parent's peak through exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_models(
    warehouse: Path, days: list[dt.date], models: tuple[str, ...] = INGEST_MODELS
) -> Iterator[tuple[str, dict[str, float]]]:
    """Each SQL model's costs over all days, in order, measured in a fresh process per model."""
    context = multiprocessing.get_context("spawn")
    for name in models:
        queue = context.Queue()
        child = context.Process(
            target=run_model_over_days, args=(str(warehouse), name, days, queue)
        )
        child.start()
        # The report is a few numbers, so joining before reading the queue cannot block.
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"{name} failed in its process (exit code {child.exitcode})")
        yield name, queue.get()


MATCHING_SQL = """
    with linked as (
        select links.listing_key, links.property_key, links.source, truth.property_id
        from property_links as links
        join bench_truth as truth using (source, source_id)
        where links.partition_date = $day
    ),
    pairs as (
        select one.listing_key as one_key, other.listing_key as other_key
        from linked as one
        join linked as other
            on other.property_key = one.property_key
            and other.listing_key > one.listing_key
        union
        select one.listing_key, other.listing_key
        from linked as one
        join linked as other
            on other.property_id = one.property_id
            and other.listing_key > one.listing_key
    ),
    judged as (
        select
            one.property_key = other.property_key as same_key,
            one.property_id = other.property_id as same_property,
            one.source <> other.source as across_sources
        from pairs
        join linked as one
            on one.listing_key = pairs.one_key
        join linked as other
            on other.listing_key = pairs.other_key
    )
    select
        count(*) filter (where same_property and across_sources),
        count(*) filter (where same_property and across_sources and same_key),
        count(*) filter (where same_key),
        count(*) filter (where same_key and not same_property)
    from judged
"""


def matching_quality(warehouse: Path, day: dt.date) -> str:
    """Pairwise recall (cross-source pairs of one property sharing a key) and precision
    (pairs sharing a key that are one property), against the market's truth."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        true_pairs, found, linked, wrong = conn.execute(MATCHING_SQL, {"day": day}).fetchone()
    recall = found / true_pairs if true_pairs else 1.0
    precision = 1 - wrong / linked if linked else 1.0
    return (
        f"matching on {day}: recall {recall:.4f} ({found:,}/{true_pairs:,} cross-source pairs),"
        f" precision {precision:.4f} ({wrong:,} of {linked:,} linked pairs wrong)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="raw listings to build")
    parser.add_argument("--days", type=int, default=10, help="days to spread them over")
    parser.add_argument("--seed", type=int, default=7, help="market seed")
    parser.add_argument("--keep", type=Path, help="folder to keep the warehouse in afterwards")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dedupe_bench_") as folder:
        warehouse = (args.keep or Path(folder)) / "warehouse.duckdb"
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        warehouse.unlink(missing_ok=True)
        days, total = build_warehouse(warehouse, args.rows, args.days, args.seed)

        print(f"\n{'model':<24} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'rows out':>10}")
        for name, report in time_models(warehouse, days):
            print(
                f"{name:<24} {report['wall']:>8.1f} {report['cpu']:>8.1f}"
                f" {report['peak_mb']:>8.0f} {report['rows']:>10,}",
                flush=True,
            )
        print(f"\n{total:,} raw listings, {len(days)} days: {days[0]} to {days[-1]}")
        print(matching_quality(warehouse, days[-1]))


if __name__ == "__main__":
    main()
