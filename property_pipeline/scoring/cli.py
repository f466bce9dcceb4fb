"""`property-pipeline sdlt PRICE`: the land tax on one purchase, band by band, as JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from property_pipeline.scoring.tax import TaxError, land_tax

NATION_CHOICES = ("england", "northern_ireland", "wales", "scotland")


def add_sdlt_command(commands: argparse._SubParsersAction) -> None:
    """Add the `sdlt` command to the CLI's subcommands."""
    sdlt = commands.add_parser(
        "sdlt",
        help="print the land tax on a purchase (SDLT, LTT or LBTT) as JSON, band by band",
        description="Work out the land tax on one purchase and print JSON with the total as "
        "`tax`, the treatment chosen as `regime` and each band's slice.",
    )
    sdlt.add_argument("price", help="the purchase price in whole pounds, e.g. 250000 or 250,000")
    sdlt.add_argument(
        "--additional",
        action="store_true",
        help="the higher rates: a further dwelling, or a company buying",
    )
    sdlt.add_argument(
        "--dwellings", default="1", help="dwellings bought in the one purchase (default 1)"
    )
    sdlt.add_argument("--mixed-use", action="store_true", help="part of the property is commercial")
    sdlt.add_argument("--nation", default="england", help=f"one of {', '.join(NATION_CHOICES)}")
    sdlt.add_argument(
        "--date", default=None, help="the completion date, YYYY-MM-DD (default today)"
    )
    sdlt.set_defaults(handler=run_sdlt)


def run_sdlt(args: argparse.Namespace) -> int:
    """Print the tax as JSON; a bad argument is one line with a hint on standard error, exit 2."""
    try:
        price = _whole_pounds(args.price, "PRICE")
        dwellings = _whole_pounds(args.dwellings, "--dwellings")
        nation = args.nation.strip().lower().replace(" ", "_").replace("-", "_")
        if nation not in NATION_CHOICES:
            raise TaxError(f"--nation {args.nation!r} is not one of {', '.join(NATION_CHOICES)}")
        on = _date(args.date)
        result = land_tax(
            price,
            nation=nation,
            additional=args.additional,
            dwellings=dwellings,
            mixed_use=args.mixed_use,
            on=on,
        )
    except TaxError as error:
        sys.stderr.write(f"property-pipeline sdlt: {error}\n")
        return 2
    sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
    return 0


def _whole_pounds(text: str, name: str) -> int:
    cleaned = text.strip().replace(",", "").replace("£", "").replace("_", "")
    if not cleaned.isdigit():
        raise TaxError(f"{name} {text!r} is not a whole number; give it like 250000")
    return int(cleaned)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise TaxError(f"--date {text!r} is not a date; give it like 2025-06-30") from None
