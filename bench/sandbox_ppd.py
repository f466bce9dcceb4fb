"""Time the sandbox's bulk outputs: the complete Price Paid file and every EPC certificate.

Run `.venv/bin/python bench/sandbox_ppd.py` (or pass listing counts: `... 3000 20000`). For each
market size it prints the time to generate the market, to serve `/landregistry/pp-complete.csv`
through the real route, and to read every EPC certificate the market holds. Timings only, no
thresholds: compare runs on one machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from property_pipeline.sandbox import land_registry
from property_pipeline.sandbox.context import SandboxConfig, SandboxContext
from property_pipeline.sandbox.market import Market, MarketConfig

DEFAULT_SIZES = (3_000, 20_000, 100_000)
# Late in the history, so the complete file holds every sale the market will ever lodge.
MARKET_DAY = dt.date(2028, 6, 15)


def complete_file_seconds(market: Market) -> tuple[float, int, int]:
    """Seconds to stream the complete file, with its row count and size in bytes."""
    context = SandboxContext(SandboxConfig(date=MARKET_DAY), market=market)
    app = Starlette(routes=[Mount("/landregistry", routes=land_registry.routes(context))])
    started = time.perf_counter()
    rows = size = 0
    with TestClient(app) as client:
        with client.stream("GET", "/landregistry/pp-complete.csv") as response:
            for chunk in response.iter_bytes():
                rows += chunk.count(b"\n")
                size += len(chunk)
    return time.perf_counter() - started, rows, size


def certificates_seconds(market: Market) -> tuple[float, int]:
    """Seconds to build every EPC certificate object of the market, and how many there are."""
    started = time.perf_counter()
    count = sum(1 for _ in market.epc_certificates())
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listings", nargs="*", type=int, default=DEFAULT_SIZES)
    sizes = parser.parse_args().listings

    say(f"{'listings':>9} {'build s':>8} {'ppd rows':>9} {'ppd MB':>7} {'ppd s':>7}")
    say(f" {'epc certs':>9} {'epc s':>7}\n")
    for listings in sizes:
        started = time.perf_counter()
        market = Market(MarketConfig(listings=listings))
        built = time.perf_counter() - started
        ppd_seconds, rows, size = complete_file_seconds(market)
        epc_seconds, certificates = certificates_seconds(market)
        say(
            f"{listings:>9,} {built:>8.2f} {rows:>9,} {size / 1e6:>7.1f} {ppd_seconds:>7.2f}"
            f" {certificates:>9,} {epc_seconds:>7.2f}\n"
        )


def say(text: str) -> None:
    """Write to standard output at once, so each size shows as soon as it is timed."""
    sys.stdout.write(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
