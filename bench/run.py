"""The benchmark suite: every measurement the issue asks for, with medians, in one summary.

Run `.venv/bin/python bench/run.py` (everything, as `make bench` does) or `--smoke` (tiny
sizes, one repeat, under half a minute: what the test suite runs so this cannot rot). Suites:
`parsing` (pages a second per real format), `daily` (one day scrape to digest through Dagster,
with Dagster's own share), `scaling` (dedupe, screening and scoring of 10k/100k/1M raw listings,
with the pandas baseline on the same rows) and `price_paid` (bench/price_paid.py, when present).
Each measurement runs in a fresh process; results go to `bench/results/summary.md` and `.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dedupe_screen
from measure import measure, median_of

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SUITES = ("parsing", "daily", "scaling", "price_paid")
SCALING_SIZES = (10_000, 100_000, 1_000_000)
SCALING_DAYS = 10
# The baseline reads every raw listing into pandas and screens row by row: at a million rows it
# takes many minutes, so by default it runs up to this size only (--baseline-max to change).
BASELINE_MAX_ROWS = 1_000_000
DEDUPE_SCREEN_SCORE = ("listing_history", "property_links", "deduped_listings")
DEDUPE_SCREEN_SCORE += ("listing_features", "screened", "scored")
TARGETS = {
    "daily_wall_s": 60.0,
    "scaling_1m_wall_s": 20.0,
    "scaling_1m_peak_mb": 3072.0,
    "parsing_pages_per_s": 200.0,
    "baseline_speedup": 5.0,
}


def parsing_suite(smoke: bool, repeats: int) -> dict[str, Any]:
    """Pages a second for each format found among the captures and the sandbox's pages."""
    with tempfile.TemporaryDirectory(prefix="bench_pages_") as folder:
        pages = Path(folder) / "pages.pickle"
        measure("parsing:gather_pages", path=pages, per_kind=1 if smoke else 5)
        runs = [
            measure("parsing:parse_formats", pages_path=str(pages), min_seconds=0.1 if smoke else 2)
            for _ in range(repeats)
        ]
    formats = {
        name: median_of([run["formats"][name] for run in runs]) for name in runs[0]["formats"]
    }
    return {"formats": formats, "peak_rss_mb": runs[-1]["peak_rss_mb"]}


def daily_suite(smoke: bool, repeats: int, listings: int) -> dict[str, Any]:
    """One day from scrape to digest on a sandbox market of `listings` homes."""
    return measure("daily_pipeline:run_day", 1 if smoke else repeats, listings=listings)


def scaling_suite(
    sizes: tuple[int, ...], days: int, repeats: int, baseline_max: int
) -> dict[str, Any]:
    """Dedupe, screening and scoring at each size, and the pandas baseline on the same rows."""
    runs: dict[str, Any] = {}
    for rows in sizes:
        print(f"scaling: {rows:,} raw listings over {days} days", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench_scaling_") as folder:
            results = dedupe_screen.run_scaling(rows, days, repeats=repeats, keep=Path(folder))
            results["dedupe_screen_score"] = dedupe_screen.total_result(
                results["steps"], results["raw_listings"], DEDUPE_SCREEN_SCORE
            )
            if rows <= baseline_max:
                warehouse = str(Path(folder) / "warehouse.duckdb")
                baseline = measure("pandas_baseline:run", 1, warehouse=warehouse)
                ours = dedupe_screen.total_result(
                    results["steps"],
                    results["raw_listings"],
                    ("listing_history", "property_links", "deduped_listings")
                    + ("listing_features", "screened"),
                )
                results["baseline"] = {
                    **baseline,
                    "ours_wall_s": ours["wall_s"],
                    "ours_cpu_s": ours["cpu_s"],
                    "ours_peak_rss_mb": ours["peak_rss_mb"],
                    "wall_ratio": ours["wall_s"] / baseline["wall_s"],
                    "cpu_ratio": ours["cpu_s"] / baseline["cpu_s"],
                    "memory_ratio": ours["peak_rss_mb"] / baseline["peak_rss_mb"],
                }
        runs[str(rows)] = results
    return {"runs": runs}


def price_paid_suite(smoke: bool) -> dict[str, Any]:
    """bench/price_paid.py's own results (it writes its own file), run as it is meant to run."""
    script = BENCH_DIR / "price_paid.py"
    if not script.exists():
        return {"skipped": "bench/price_paid.py does not exist yet"}
    command = [sys.executable, str(script), *(["--quick"] if smoke else [])]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"price_paid.py exited {done.returncode}: {done.stderr[-500:]}")
    written = RESULTS_DIR / ("price_paid_quick.json" if smoke else "price_paid.json")
    results = json.loads(written.read_text()) if written.exists() else {}
    return {"wall_s": time.perf_counter() - started, "results": results}


def run_suites(args: argparse.Namespace) -> dict[str, Any]:
    """Every chosen suite; a suite that fails is recorded with its error, the rest still run."""
    summary: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "smoke": args.smoke,
        "repeats": args.repeat,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "targets": TARGETS,
        "suites": {},
    }
    calls = {
        "parsing": lambda: parsing_suite(args.smoke, args.repeat),
        "daily": lambda: daily_suite(args.smoke, args.repeat, args.daily_listings),
        "scaling": lambda: scaling_suite(
            tuple(args.sizes), args.days, args.repeat, args.baseline_max
        ),
        "price_paid": lambda: price_paid_suite(args.smoke),
    }
    for name in args.suite:
        print(f"== {name}", flush=True)
        try:
            summary["suites"][name] = calls[name]()
        except Exception as error:  # recorded in the summary: one broken suite is not the run
            summary["suites"][name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"{name} failed: {error}", flush=True)
    summary["load_average_at_end"] = os.getloadavg()[0]
    return summary


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown tables, one per suite, with the targets they are judged by."""
    suites = summary["suites"]
    lines = [
        "# Benchmarks",
        "",
        f"Run {summary['date']} on {summary['cores']} cores, Python {summary['python']};"
        f" load average {summary['load_average_at_start']:.1f} at the start and"
        f" {summary.get('load_average_at_end', 0):.1f} at the end (other work on the machine"
        " inflates wall times; CPU times are steadier). Medians of"
        f" {summary['repeats']} run(s){' (smoke sizes)' if summary['smoke'] else ''}.",
        "",
    ]
    lines += _parsing_lines(suites.get("parsing"))
    lines += _daily_lines(suites.get("daily"))
    lines += _scaling_lines(suites.get("scaling"))
    lines += _price_paid_lines(suites.get("price_paid"))
    return "\n".join(lines) + "\n"


def _failed(name: str, suite: dict[str, Any] | None) -> list[str] | None:
    if suite is None:
        return []
    if "error" in suite:
        return [f"## {name}", "", f"Failed: {suite['error']}", ""]
    return None


def _parsing_lines(suite: dict[str, Any] | None) -> list[str]:
    failed = _failed("Parsing", suite)
    if failed is not None:
        return failed
    lines = [
        "## Parsing (target: over 200 pages/s for every format)",
        "",
        "| origin:format | distinct pages | mean KB | pages/s (wall) | pages/s (CPU) | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, row in suite["formats"].items():
        met = "met" if row["pages_per_cpu_s"] > TARGETS["parsing_pages_per_s"] else "MISSED"
        lines.append(
            f"| {name} | {row['distinct_pages']} | {row['mean_page_kb']:.0f}"
            f" | {row['pages_per_s']:,.0f} | {row['pages_per_cpu_s']:,.0f} | {met} |"
        )
    return [*lines, ""]


def _daily_lines(suite: dict[str, Any] | None) -> list[str]:
    failed = _failed("Daily pipeline", suite)
    if failed is not None:
        return failed
    met = "met" if suite["run_wall_s"] < TARGETS["daily_wall_s"] else "MISSED"
    lines = [
        "## Daily pipeline, scrape to digest (target: 5,000 listings in under 60 s)",
        "",
        f"{suite['raw_listings']:,} raw listings; run {suite['run_wall_s']:.1f} s wall"
        f" ({met}), process CPU {suite['cpu_s']:.1f} s, peak RSS {suite['peak_rss_mb']:.0f} MB;"
        f" Dagster's own share {suite['dagster_s']:.1f} s ({suite['dagster_share']:.0%});"
        f" importing Dagster and the code location {suite['imports_s']:.1f} s.",
        "",
        "| step | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {step} | {seconds:.2f} |" for step, seconds in suite["step_seconds"].items()]
    return [*lines, ""]


def _scaling_lines(suite: dict[str, Any] | None) -> list[str]:
    failed = _failed("Scaling", suite)
    if failed is not None:
        return failed
    lines = [
        "## Dedupe, screening and scoring by size (target at 1M: under 20 s and 3 GB)",
        "",
        "Raw listings over consecutive days, each step over every day in order (a backfill).",
        "",
        "| raw listings | step | wall s | CPU s | peak RSS MB | listings/s |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    baselines = []
    for run in suite["runs"].values():
        for step in run["steps"]:
            if "error" in step:
                lines.append(
                    f"| {run['raw_listings']:,} | {step['step']} | failed: {step['error']} |||"
                )
                continue
            lines.append(
                f"| {run['raw_listings']:,} | {step['step']} | {step['wall_s']:.1f}"
                f" | {step['cpu_s']:.1f} | {step['peak_rss_mb']:.0f}"
                f" | {step['listings_per_s']:,} |"
            )
        total = run["dedupe_screen_score"]
        lines.append(
            f"| {run['raw_listings']:,} | **total** ({len(total['steps'])} steps)"
            f" | {total['wall_s']:.1f} | {total['cpu_s']:.1f} | {total['peak_rss_mb']:.0f}"
            f" | {total['listings_per_s']:,} |"
        )
        if "baseline" in run:
            baselines.append((run["raw_listings"], run["baseline"]))
    lines += ["", "### Against the pandas baseline (dedupe and screening only)", ""]
    lines += [
        "| raw listings | pandas wall s | pandas CPU s | pandas MB | ours wall s | ours CPU s"
        " | ours MB | speed-up (CPU) | memory ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, base in baselines:
        lines.append(
            f"| {rows:,} | {base['wall_s']:.1f} | {base['cpu_s']:.1f} | {base['peak_rss_mb']:.0f}"
            f" | {base['ours_wall_s']:.1f} | {base['ours_cpu_s']:.1f}"
            f" | {base['ours_peak_rss_mb']:.0f} | {1 / base['cpu_ratio']:.1f}x"
            f" | {base['memory_ratio']:.2f} |"
        )
    return [*lines, ""]


def _price_paid_lines(suite: dict[str, Any] | None) -> list[str]:
    failed = _failed("Price Paid", suite)
    if failed is not None:
        return failed
    if "skipped" in suite:
        return ["## Price Paid load and comparables", "", f"Skipped: {suite['skipped']}", ""]
    return [
        "## Price Paid load and comparables",
        "",
        f"bench/price_paid.py ran in {suite['wall_s']:.1f} s; its results:",
        "",
        "```json",
        json.dumps(suite["results"], indent=2)[:4000],
        "```",
        "",
    ]


def write_summary(summary: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """summary.md and summary.json in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown, data = folder / "summary.md", folder / "summary.json"
    markdown.write_text(summary_markdown(summary))
    data.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return markdown, data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options; `--smoke` shrinks every size and forces one repeat."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=SUITES, help="default: all")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SCALING_SIZES))
    parser.add_argument("--days", type=int, default=SCALING_DAYS)
    parser.add_argument("--baseline-max", type=int, default=BASELINE_MAX_ROWS)
    parser.add_argument("--daily-listings", type=int, default=26_000, help="sandbox market size")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    args.suite = args.suite or list(SUITES)
    if args.smoke:
        args.repeat, args.sizes, args.days, args.daily_listings = 1, [2_000], 2, 600
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the chosen suites and write the summary; the summary is returned for tests."""
    args = parse_args(argv)
    summary = run_suites(args)
    for path in write_summary(summary, args.results):
        print(f"wrote {path}")
    return summary


if __name__ == "__main__":
    main()
