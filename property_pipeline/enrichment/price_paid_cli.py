"""`property-pipeline load-ppd FILE_OR_URL`: load a Price Paid file into the warehouse by hand.

Progress (rows so far, and each stage) goes to standard error, the one-line JSON summary of the
load to standard output. A mistake in what was asked for (a missing file, a URL off this machine
without PROPERTY_PIPELINE_LIVE=1, a file that is not Price Paid data) prints one line and a hint
and exits with 2; nothing is changed in the warehouse.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import duckdb

from property_pipeline import settings
from property_pipeline.enrichment.price_paid import (
    PricePaidFormatError,
    PricePaidSourceError,
    load_price_paid,
)
from property_pipeline.warehouse import store

USAGE_ERROR = 2
HINTS = {
    PricePaidFormatError: "the official files are headerless CSV with 16 quoted columns; see"
    " https://www.gov.uk/guidance/about-the-price-paid-data",
    PricePaidSourceError: "give a local pp-*.csv file, or the sandbox URL"
    " http://127.0.0.1:PORT/landregistry/pp-complete.csv",
}
PROGRESS_EVERY_S = 2.0


def add_load_ppd_command(commands: argparse._SubParsersAction) -> None:
    """Register `load-ppd` on the `property-pipeline` command line."""
    command = commands.add_parser(
        "load-ppd",
        help="load a Land Registry Price Paid file (complete, yearly or monthly) into DuckDB",
        description="Apply a Price Paid file to the warehouse's price_paid table in one"
        " transaction: A and C rows replace the sale with their transaction id, D rows delete"
        " it. Malformed rows are counted and skipped. Prints a JSON summary.",
    )
    command.add_argument("source", metavar="FILE_OR_URL", help="a pp-*.csv(.gz) file or URL")
    command.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="the DuckDB warehouse file (default: $PROPERTY_PIPELINE_WAREHOUSE or"
        " data/warehouse.duckdb)",
    )
    command.add_argument(
        "--replace",
        action="store_true",
        help="empty price_paid first (complete file only), so sales HMLR dropped go too",
    )
    command.set_defaults(handler=run_load_ppd)


def run_load_ppd(args: argparse.Namespace) -> int:
    """Open the warehouse, load the file with progress on stderr, print the summary."""
    try:
        warehouse = args.warehouse or settings.warehouse_path()
    except ValueError as error:
        return _usage_error(str(error), "check the PROPERTY_PIPELINE_* settings")
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    handler = _stage_lines_to_stderr()
    try:
        with duckdb.connect(str(warehouse)) as conn:
            store.create_schema(conn)
            load = load_price_paid(
                conn, args.source, progress=_ProgressLine(), replace=args.replace
            )
    except (PricePaidSourceError, ValueError) as error:
        hint = HINTS.get(type(error), HINTS[PricePaidSourceError])
        return _usage_error(str(error), hint)
    except duckdb.IOException as error:
        sys.stderr.write(f"property-pipeline load-ppd: {warehouse}: {error}\n")
        sys.stderr.write("hint: close other programs using the warehouse and retry\n")
        return 1
    finally:
        logging.getLogger("property_pipeline.enrichment.price_paid").removeHandler(handler)
    sys.stdout.write(json.dumps(load.summary()) + "\n")
    return 0


def _usage_error(message: str, hint: str) -> int:
    sys.stderr.write(f"property-pipeline load-ppd: {message}\nhint: {hint}\n")
    return USAGE_ERROR


def _stage_lines_to_stderr() -> logging.Handler:
    """Show the loader's stage messages (downloading, loading, done) on standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("load-ppd: %(message)s"))
    logger = logging.getLogger("property_pipeline.enrichment.price_paid")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


class _ProgressLine:
    """Prints "about N rows read" to stderr, at most once every few seconds."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        sys.stderr.write(f"load-ppd: about {rows:,} rows read\n")
        sys.stderr.flush()
