"""Time listing-text extraction (units, tenure, red flags, signals) on sandbox adverts.

Run `.venv/bin/python bench/screening_extract.py` (options: `--listings 20000 --day 2026-06-15
--source rightmove --repeat 5`). It builds the sandbox market, takes every advert live on that
day, and times `extract_listing` over their title, summary, description and key features on one
core, printing listings a second by wall clock and by CPU time (the CPU figure is the steadier
one on a busy machine). Building the adverts is not timed. Timings only, no thresholds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.screening.extract import extract_listing

Texts = list[tuple[str, str, str, tuple[str, ...]]]


def listing_texts(listings: int, day: dt.date, source: str) -> Texts:
    """Title, summary, description and key features of every advert live on `day`."""
    market = Market(MarketConfig(listings=listings))
    return [
        (listing.title, listing.summary, listing.description, listing.key_features)
        for listing in market.search(day, source)
    ]


def time_extraction(texts: Texts, day: dt.date) -> tuple[float, float]:
    """Wall and CPU seconds to extract every listing once."""
    wall, cpu = time.perf_counter(), time.process_time()
    for title, summary, description, features in texts:
        extract_listing(title, summary, description, features, as_of=day)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Parse the options, time the repeats and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=20_000, help="sandbox market size")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2026, 6, 15))
    parser.add_argument("--source", default="rightmove")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the best is shown")
    args = parser.parse_args()

    started = time.perf_counter()
    texts = listing_texts(args.listings, args.day, args.source)
    built = time.perf_counter() - started
    sizes = [len(t) + len(s) + len(d) + sum(map(len, f)) for t, s, d, f in texts]
    say(
        f"{len(texts):,} {args.source} adverts on {args.day} from a {args.listings:,}-listing "
        f"market (built in {built:.1f} s); text {statistics.mean(sizes):,.0f} characters "
        f"on average, {max(sizes):,} at most\n"
    )

    extract_listing(*texts[0])  # first call pays for nothing the timed passes should see
    runs = [time_extraction(texts, args.day) for _ in range(args.repeat)]
    wall = min(run[0] for run in runs)
    cpu = min(run[1] for run in runs)
    say(
        f"best of {args.repeat}: {len(texts) / wall:,.0f} listings/s wall "
        f"({wall / len(texts) * 1e6:.0f} us each), {len(texts) / cpu:,.0f} listings/s CPU\n"
    )


def say(text: str) -> None:
    """Write to standard output at once, so each result shows as soon as it is measured."""
    sys.stdout.write(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
