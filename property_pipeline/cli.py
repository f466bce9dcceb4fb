"""`property-pipeline`: the command line for running and inspecting the pipeline by hand."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from property_pipeline.enrichment.price_paid_cli import add_load_ppd_command
from property_pipeline.partitions import TIMEZONE
from property_pipeline.sandbox.server import add_sandbox_command
from property_pipeline.scoring.cli import add_sdlt_command
from property_pipeline.warehouse.backup import add_backup_commands


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `property-pipeline` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="property-pipeline",
        formatter_class=_one_line_per_command,
        description="UK property deal sourcing on Dagster: run the demo, load Land Registry "
        "prices, work out stamp duty, back up the warehouse, inspect SQL models and pages, "
        "serve the offline sandbox.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run every asset for one day and its week, then print row counts"
    )
    demo.add_argument(
        "--date",
        type=_parse_date,
        default=None,
        help="the day to run, YYYY-MM-DD (default: last Sunday, UK time)",
    )
    demo.add_argument(
        "--sample",
        action="store_true",
        help="use the small built-in listing set instead of starting the offline sandbox",
    )
    demo.set_defaults(handler=_run_demo)

    backfill = commands.add_parser(
        "backfill",
        help="run the daily pipeline for each day of a range, with a line of progress a day",
        description="Materialise every daily asset for each day from FIRST to LAST, in order, in "
        "this process, recording the runs in the instance ($DAGSTER_HOME) so the UI shows them. "
        "Upstreams are chosen as for the schedules (sandbox, live or the built-in sample).",
    )
    backfill.add_argument("first", type=_parse_day, help="first day, YYYY-MM-DD")
    backfill.add_argument("last", type=_parse_day, help="last day, YYYY-MM-DD")
    backfill.set_defaults(handler=_run_backfill)

    models = commands.add_parser("models", help="list the SQL models and the asset each builds")
    models.add_argument(
        "--check", action="store_true", help="also bind each model against the warehouse schema"
    )
    models.set_defaults(handler=_list_models)

    parse = commands.add_parser(
        "parse",
        help="print the listings in a saved page or API response as JSON lines",
        description="Read a saved search or detail page, an API response, or a JSON array of "
        "listing objects, and print one normalised listing a line, deduplicated by source_id.",
    )
    parse.add_argument("file", help="the saved file, or - for standard input")
    parse.add_argument(
        "--source",
        choices=["rightmove", "zoopla", "allsop", "auctionhouse"],
        help="the site it came from, when the content alone leaves it open",
    )
    parse.set_defaults(handler=_parse_file)

    screen = commands.add_parser(
        "screen",
        help="screen listings given as JSON lines: units, tenure, red flags, pass or reject",
        description="Read listings as JSON lines (the parse output or hand-written objects with "
        "at least title and description) and print one JSON line each, in input order, with what "
        "their words say and whether they pass the screening criteria.",
    )
    screen.add_argument("file", help="JSON lines file, or - for standard input")
    screen.add_argument(
        "--criteria", help="YAML file of screening criteria (min_price, outcodes, min_units, ...)"
    )
    screen.set_defaults(handler=_screen_file)

    add_load_ppd_command(commands)
    add_sdlt_command(commands)
    add_backup_commands(commands)
    add_sandbox_command(commands)
    return parser


def _one_line_per_command(prog: str) -> argparse.HelpFormatter:
    """Help wide enough that each command's summary stays on its own line."""
    return argparse.HelpFormatter(prog, max_help_position=14, width=110)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--date {text!r} is not a date like 2026-11-29") from None


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-29") from None


def _fail(message: str) -> int:
    print(f"property-pipeline: {message}", file=sys.stderr)
    return 1


def last_sunday(today: dt.date) -> dt.date:
    """The most recent Sunday strictly before `today`: the end of the last complete week."""
    return today - dt.timedelta(days=(today.weekday() + 1) % 7 or 7)


def _run_demo(args: argparse.Namespace) -> int:
    from property_pipeline.demo import run_demo

    day = args.date or last_sunday(dt.datetime.now(ZoneInfo(TIMEZONE)).date())
    try:
        report = run_demo(day, sample=args.sample)
    except ValueError as error:
        return _fail(str(error))
    print(report.render())
    return 0 if report.success else 1


def _run_backfill(args: argparse.Namespace) -> int:
    from property_pipeline.backfill import backfill_days, progress_line, run_backfill

    try:
        days = backfill_days(args.first, args.last)
    except ValueError as error:
        return _fail(f"{error}\nhint: property-pipeline backfill 2026-11-01 2026-11-14")
    print(f"backfilling {len(days)} day(s), {days[0]} to {days[-1]}", flush=True)
    results = run_backfill(
        days, lambda result, number, total: print(progress_line(result, number, total), flush=True)
    )
    failed = [result for result in results if not result.success]
    if failed:
        return _fail(
            f"{failed[0].day} failed (run {failed[0].run_id}); later days were not run\n"
            "hint: open the run in the UI (make dev) for its error, then run the range again"
        )
    return 0


def _parse_file(args: argparse.Namespace) -> int:
    import json

    from property_pipeline.sources.listing import (
        BotChallengeError,
        ParseError,
        dedupe_by_source_id,
    )
    from property_pipeline.sources.parsers.detect import parse_document

    name = "standard input" if args.file == "-" else args.file
    try:
        body = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(errors="replace")
    except OSError as error:
        return _fail(f"{name}: cannot be read: {error.strerror or error}")
    try:
        parsed = parse_document(body, None, args.source)
    except BotChallengeError as error:
        return _fail(f"{name}: a bot challenge page, not listings: {error}")
    except ParseError as error:
        return _fail(f"{name}: {error}")
    for listing in dedupe_by_source_id(parsed.listings):
        print(json.dumps(listing.to_json_record(), ensure_ascii=False))
    return 0


def _screen_file(args: argparse.Namespace) -> int:
    import json

    from property_pipeline.screening.screen import load_criteria, screen_records

    name = "standard input" if args.file == "-" else args.file
    try:
        criteria = load_criteria(args.criteria)
    except ValueError as error:
        return _fail(str(error))
    try:
        lines = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    except OSError as error:
        return _fail(f"{name}: cannot be read: {error.strerror or error}")
    records = []
    for number, line in enumerate(lines.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            return _fail(f"{name} line {number}: not JSON: {error.msg}")
        if not isinstance(record, dict) or not {"title", "description"} <= set(record):
            return _fail(f"{name} line {number}: expected an object with title and description")
        records.append(record)
    for result in screen_records(records, criteria):
        print(json.dumps(result, ensure_ascii=False))
    return 0


def _list_models(args: argparse.Namespace) -> int:
    import duckdb

    from property_pipeline import settings
    from property_pipeline.model_params import model_params
    from property_pipeline.warehouse import store
    from property_pipeline.warehouse.models import ModelError, check_compiles, load_models

    with duckdb.connect(":memory:") as scratch:
        store.create_schema(scratch)
        try:
            models = load_models(settings.sql_dir(), set(store.warehouse_tables(scratch)))
            for asset, model in sorted(models.items()):
                if args.check:
                    check_compiles(scratch, model, model_params(asset, dt.date.today()))
                inputs = ", ".join(model.refs) or "-"
                params = ", ".join(f"${name}" for name in model.params) or "-"
                print(f"{asset:18} {model.path}  inputs: {inputs}  parameters: {params}")
        except ModelError as error:
            return _fail(str(error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
