"""Time the Price Paid load of a generated 30-million-row file and valuing 10,000 listings.

Run `.venv/bin/python bench/price_paid.py` (or `--quick`, 1,000,000 rows and 1,000 listings, or
`--rows N --listings M`). DuckDB writes a headerless, fully quoted Price Paid file of N rows
(the sandbox's generator builds Python objects per sale, far too slow for 30 million). Sales
fall in 2,880 postcode districts, 11,520 sectors and 1.15 million postcodes between 1995 and
2025; prices are a district's price per m² times a floor area fixed per address, with 1% of
sales at four times the price as outliers. Each step runs in a process of its own so its peak
resident memory is its own: the load into a fresh warehouse (`load_price_paid`, timed once, or
`--load-runs` times), then `value_listings` for the listings, timed `--value-runs` times (the
median is reported) after an untimed set-up writes the EPC cache for their postcodes. Results
go to `bench/results/price_paid.md` and `.json` (`price_paid_quick.*` for smaller runs).
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
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from property_pipeline.enrichment.comparables import ppd_address, value_listings
from property_pipeline.enrichment.epc_match import address_key
from property_pipeline.enrichment.price_paid import load_price_paid
from property_pipeline.warehouse import store

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FULL_ROWS, FULL_LISTINGS = 30_000_000, 10_000
QUICK_ROWS, QUICK_LISTINGS = 1_000_000, 1_000
AS_OF = dt.date(2025, 2, 1)
LOAD_TARGET_S, VALUE_TARGET_S = 180.0, 10.0
# Share of listings whose floor area is known, and of addresses the EPC cache has.
FLOOR_AREA_SHARE = 70

# One row per sale; `seed` varies every hash so two seeds give unrelated files. The location
# hash fixes area letters, district number, sector digit and unit letters; the address hash
# the house number and flat; type shares follow England and Wales roughly.
GENERATE_SQL = """
copy (
    with hashes as (
        select
            hash(i, $seed, 1) as place,
            hash(i, $seed, 2) as kind,
            hash(i, $seed, 3) as id_high,
            hash(i, $seed, 4) as id_low
        from range($rows) as numbers(i)
    ),

    located as (
        select
            *,
            chr(65 + (place % 12)::int) || chr(65 + ((place >> 8) % 10)::int)
                || (1 + (place >> 16) % 24)::varchar as district_code,
            (1 + (place >> 24) % 4)::varchar || chr(65 + ((place >> 32) % 10)::int)
                || chr(65 + ((place >> 40) % 10)::int) as inward,
            case
                when kind % 100 < 22 then 'D'
                when kind % 100 < 50 then 'S'
                when kind % 100 < 77 then 'T'
                when kind % 100 < 98 then 'F'
                else 'O'
            end as property_type,
            date '1995-01-01' + ((kind >> 8) % 11000)::int as transferred_on
        from hashes
    ),

    addressed as (
        select
            *,
            district_code || ' ' || inward as postcode,
            ((place >> 48) % 60 + 1)::varchar as paon,
            case
                when property_type = 'F' then 'FLAT ' || ((kind >> 40) % 12 + 1)::varchar
            end as saon
        from located
    ),

    priced as (
        select
            *,
            (1500 + hash(district_code, $seed) % 5000)
                * floor_area_sqm(property_type, postcode, paon, saon)
                * (0.3 + 0.7 * (transferred_on - date '1995-01-01') / 11000)
                * (0.85 + (id_low % 30) / 100)
                * case when (id_low >> 16) % 100 = 0 then 4 else 1 end as price
        from addressed
    )

    select
        printf(
            '{%08X-%04X-%04X-%04X-%012X}',
            id_high >> 32,
            (id_high >> 16) % 65536,
            id_high % 65536,
            id_low >> 48,
            id_low % 281474976710656
        ),
        (round(price / 500) * 500)::bigint::varchar,
        strftime(transferred_on, '%Y-%m-%d 00:00'),
        postcode,
        property_type,
        case when (id_high >> 4) % 10 = 0 then 'Y' else 'N' end,
        case when property_type = 'F' then 'L' else 'F' end,
        paon,
        coalesce(saon, ''),
        street_name(postcode),
        '',
        'TOWN ' || left(district_code, 2),
        'DISTRICT ' || district_code,
        'COUNTY ' || left(district_code, 1),
        case when (id_low >> 8) % 100 < 85 then 'A' else 'B' end,
        'A'
    from priced
) to '{path}' (format csv, header false, force_quote *)
"""

MACROS_SQL = """
create or replace macro street_name(postcode) as
    ['ALDER', 'BEECH', 'CEDAR', 'ELM', 'HAZEL', 'LARCH', 'MAPLE', 'OAK', 'ROWAN', 'WILLOW']
        [1 + (hash(postcode) % 10)::int]
    || ' '
    || ['ROAD', 'STREET', 'AVENUE', 'CLOSE', 'GARDENS'][(1 + (hash(postcode) >> 8) % 5)::int];
create or replace macro floor_area_sqm(property_type, postcode, paon, saon) as
    case property_type when 'D' then 140 when 'S' then 95 when 'T' then 85 when 'F' then 60
        else 120 end
    + (hash(postcode, paon, coalesce(saon, '')) % 31)::int - 15;
"""

LISTING_TYPES = {"D": "detached", "S": "semi_detached", "T": "terraced", "F": "flat"}


def generate_file(path: Path, rows: int, seed: int) -> float:
    """Write the Price Paid file and return the seconds it took."""
    started = time.perf_counter()
    with duckdb.connect() as conn:
        conn.execute(MACROS_SQL)
        # COPY's target cannot be a bound parameter; the path is ours, not user input.
        conn.execute(GENERATE_SQL.replace("{path}", str(path)), {"rows": rows, "seed": seed})
    return time.perf_counter() - started


def subjects_frame(conn: duckdb.DuckDBPyConnection, listings: int, seed: int) -> pd.DataFrame:
    """Listings at addresses of sold houses and flats (spread over the whole country), with a
    floor area for most, as enrichment would hand them over."""
    frame = conn.execute(
        """
        select
            postcode,
            property_type,
            floor_area_sqm(property_type, postcode, paon, saon) as floor_area_sqm,
            hash(transaction_id, $seed) % 100 < $floor_area_share as has_floor_area
        from price_paid
        where property_type <> 'O'
        order by hash(transaction_id, $seed)
        limit $listings
        """,
        {"seed": seed, "listings": listings, "floor_area_share": FLOOR_AREA_SHARE},
    ).df()
    frame.insert(0, "listing_key", [f"bench-{number}" for number in range(1, len(frame) + 1)])
    frame["property_type"] = frame["property_type"].map(LISTING_TYPES)
    frame["floor_area_sqm"] = frame["floor_area_sqm"].where(frame.pop("has_floor_area"))
    frame["unit_count"] = None
    frame["bedrooms"] = None
    return frame


def write_epc_cache(conn: duckdb.DuckDBPyConnection, subjects: pd.DataFrame, seed: int) -> int:
    """Certificates for most addresses in the listings' postcodes, as the EPC lookups of those
    listings would have cached them; returns how many."""
    conn.register("bench_subjects", subjects)
    addresses = conn.execute(
        """
        select distinct postcode, paon, saon, street, property_type
        from price_paid
        where postcode in (select postcode from bench_subjects)
            and hash(postcode, paon, coalesce(saon, ''), $seed) % 100 < $share
        """,
        {"seed": seed, "share": FLOOR_AREA_SHARE},
    ).fetchall()
    conn.unregister("bench_subjects")
    records = [
        {
            "certificate_number": f"BENCH-{index:08d}",
            "postcode": postcode,
            "address": ppd_address(saon, paon, street),
            "address_key": address_key(ppd_address(saon, paon, street), postcode),
            "paon": paon,
            "saon": saon,
            "property_type": property_type,
        }
        for index, (postcode, paon, saon, street, property_type) in enumerate(addresses)
    ]
    conn.register("bench_certificates", pd.DataFrame.from_records(records))
    conn.execute(
        """
        insert into epc_certificates by name
        select
            certificate_number,
            postcode,
            address,
            address_key,
            date '2020-06-01' as lodged_on,
            floor_area_sqm(property_type, postcode, paon, saon)::double as floor_area_sqm,
            date '2025-01-31' as fetched_on,
            timestamp '2025-01-31 07:00' as fetched_at
        from bench_certificates
        """
    )
    conn.unregister("bench_certificates")
    return len(records)


def run_load(warehouse: str, csv_path: str, queue: Any) -> None:
    """In a child process: load the file into a fresh warehouse and report the costs."""
    Path(warehouse).unlink(missing_ok=True)
    with duckdb.connect(warehouse) as conn:
        conn.execute("set enable_progress_bar = false")
        store.create_schema(conn)
        conn.execute(MACROS_SQL)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        load = load_price_paid(conn, csv_path)
        wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    queue.put(
        {
            "wall_s": wall,
            "cpu_s": cpu_seconds(before, after),
            "peak_rss_mb": peak_resident_mb(),
            "load": load.summary(),
            "warehouse_mb": Path(warehouse).stat().st_size / 1e6,
        }
    )


def run_valuation(warehouse: str, listings: int, seed: int, runs: int, queue: Any) -> None:
    """In a child process: cache EPCs for the listings (untimed), then value them `runs` times."""
    with duckdb.connect(warehouse) as conn:
        conn.execute("set enable_progress_bar = false")
        conn.execute(MACROS_SQL)
        conn.execute("delete from epc_certificates")
        subjects = subjects_frame(conn, listings, seed)
        started = time.perf_counter()
        certificates = write_epc_cache(conn, subjects, seed)
        setup = time.perf_counter() - started
        setup_peak_mb = peak_resident_mb()
        reset_peak_resident()
        walls: list[float] = []
        before = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(runs):
            started = time.perf_counter()
            valuation = value_listings(conn, subjects, AS_OF)
            walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
    values = valuation.values
    queue.put(
        {
            "walls_s": walls,
            "wall_s": statistics.median(walls),
            "cpu_s": cpu_seconds(before, after) / runs,
            "peak_rss_mb": peak_resident_mb(),
            "epc_setup_s": setup,
            "setup_peak_rss_mb": setup_peak_mb,
            "epc_certificates": certificates,
            "listings": len(values),
            "comparables_rows": len(valuation.comparables),
            "valued": int((values["value_method"] != "none").sum()),
            "methods": values["value_method"].value_counts().to_dict(),
            "areas": values["comparables_area"].value_counts().to_dict(),
            "median_comparables": float(values["comparables_count"].median()),
            "median_confidence": float(values["value_confidence"].median()),
        }
    )


def cpu_seconds(before: resource.struct_rusage, after: resource.struct_rusage) -> float:
    """User plus system CPU seconds between two readings."""
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def reset_peak_resident() -> None:
    """Start this process's peak resident memory afresh (Linux: clear_refs 5), so the peak
    read later belongs to what ran after; elsewhere the peak keeps counting from the start."""
    clear_refs = Path("/proc/self/clear_refs")
    if clear_refs.exists():
        clear_refs.write_text("5")


def peak_resident_mb() -> float:
    """This process's peak resident memory in MB (VmHWM: a spawned child's own peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(target: Any, *args: Any) -> dict[str, Any]:
    """Run `target(*args, queue)` in a spawned process and return what it reported."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    # The report is a few numbers, so joining before reading the queue cannot block.
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed in its process (exit {child.exitcode})")
    return queue.get()


def results_markdown(results: dict[str, Any]) -> str:
    """The results as Markdown: the run's facts, a table of the two steps, the valuation mix."""
    load, value = results["load"], results["valuation"]
    summary = load["runs"][0]["load"]
    full = results["rows"] == FULL_ROWS and results["listings"] == FULL_LISTINGS

    def met(below_target: bool) -> str:
        # The targets are for the issue's sizes; a smaller run says nothing about them.
        if not full:
            return "n/a (smaller run)"
        return "yes" if below_target else "no"

    generated = (
        f"written in {results['generate_s']:.0f}s"
        if results["generate_s"]
        else "an earlier run's file, reused"
    )
    return "\n".join(
        [
            "# price_paid benchmark",
            "",
            f"{summary['rows_read']:,} generated Price Paid rows ({results['file_mb']:,.0f} MB,"
            f" {generated}), {value['listings']:,} listings valued"
            f" as of {results['as_of']}; {results['cores']} cores, Python {results['python']},"
            f" DuckDB {results['duckdb']}; run {results['date']}.",
            "",
            "Other work shared the machine: 1-minute load average"
            f" {results['load_average_1min']} (the cores are {results['cores']}). CPU seconds are"
            " what a step itself used, all threads counted.",
            "",
            "| step | runs | wall s (median) | CPU s | peak RSS MB | target s | met |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| load_price_paid (empty table) | {len(load['runs'])} | {load['wall_s']:.1f}"
            f" | {load['cpu_s']:.1f} | {load['peak_rss_mb']:.0f} | {LOAD_TARGET_S:.0f}"
            f" | {met(load['wall_s'] < LOAD_TARGET_S)} |",
            f"| value_listings | {len(value['walls_s'])} | {value['wall_s']:.2f}"
            f" | {value['cpu_s']:.1f} | {value['peak_rss_mb']:.0f} | {VALUE_TARGET_S:.0f}"
            f" | {met(value['wall_s'] < VALUE_TARGET_S)} |",
            "",
            f"Load: {summary['inserted']:,} sales inserted, {summary['rejected']:,} rejected;"
            f" warehouse {load['warehouse_mb']:,.0f} MB.",
            f"Valuation: {value['valued']:,} of {value['listings']:,} listings valued"
            f" (methods {value['methods']}, areas {value['areas']}), median"
            f" {value['median_comparables']:.0f} comparables and confidence"
            f" {value['median_confidence']:.2f}; {value['comparables_rows']:,} comparable rows;"
            f" {value['epc_certificates']:,} EPC certificates cached for the listings' postcodes"
            f" (set-up, untimed: {value['epc_setup_s']:.1f}s, peak"
            f" {value['setup_peak_rss_mb']:,.0f} MB before the valuation's own peak was taken).",
            "",
        ]
    )


def write_results(results: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write price_paid.md and .json in `folder`; a smaller run than the issue's writes
    price_paid_quick.md and .json, so a smoke run never overwrites the real measurement."""
    folder.mkdir(parents=True, exist_ok=True)
    full = results["rows"] == FULL_ROWS and results["listings"] == FULL_LISTINGS
    stem = "price_paid" if full else "price_paid_quick"
    markdown, data = folder / f"{stem}.md", folder / f"{stem}.json"
    markdown.write_text(results_markdown(results))
    data.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return markdown, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help=f"Price Paid rows (default {FULL_ROWS:,})")
    parser.add_argument("--listings", type=int, help=f"listings (default {FULL_LISTINGS:,})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROWS:,} rows and {QUICK_LISTINGS:,} listings; not with --rows/--listings",
    )
    parser.add_argument("--load-runs", type=int, default=1, help="loads to time (default 1)")
    parser.add_argument("--value-runs", type=int, default=3, help="valuations (default 3)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--keep", type=Path, help="folder to keep the file and warehouse in")
    parser.add_argument(
        "--csv", type=Path, help="an existing generated file to load instead of writing one"
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS_DIR, help="folder for the .md and .json results"
    )
    args = parser.parse_args()
    if args.quick and (args.rows is not None or args.listings is not None):
        parser.error("--quick sets rows and listings itself; drop --rows/--listings or --quick")
    rows = QUICK_ROWS if args.quick else args.rows or FULL_ROWS
    listings = QUICK_LISTINGS if args.quick else args.listings or FULL_LISTINGS

    with tempfile.TemporaryDirectory(prefix="price_paid_bench_") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path, warehouse = folder / "pp-complete.csv", folder / "warehouse.duckdb"

        if args.csv:
            csv_path, generate_s = args.csv, 0.0
        else:
            generate_s = generate_file(csv_path, rows, args.seed)
        file_mb = csv_path.stat().st_size / 1e6
        print(f"{rows:,} rows ({file_mb:,.0f} MB) generated in {generate_s:.1f}s", flush=True)
        load_average = {"before_load": os.getloadavg()[0]}

        load_runs = []
        for run in range(args.load_runs):
            report = in_child(run_load, str(warehouse), str(csv_path))
            load_runs.append(report)
            print(
                f"load {run + 1}: {report['wall_s']:.1f}s wall, {report['cpu_s']:.1f}s CPU,"
                f" peak {report['peak_rss_mb']:,.0f} MB, {report['load']['inserted']:,} rows",
                flush=True,
            )
        load_average["before_valuation"] = os.getloadavg()[0]
        valuation = in_child(run_valuation, str(warehouse), listings, args.seed, args.value_runs)
        load_average["after_valuation"] = os.getloadavg()[0]
        print(
            f"value {valuation['listings']:,} listings: median {valuation['wall_s']:.2f}s"
            f" (runs {', '.join(f'{wall:.2f}' for wall in valuation['walls_s'])}),"
            f" peak {valuation['peak_rss_mb']:,.0f} MB, {valuation['valued']:,} valued",
            flush=True,
        )

    results = {
        "rows": rows,
        "listings": listings,
        "seed": args.seed,
        "as_of": AS_OF.isoformat(),
        "file_mb": round(file_mb, 1),
        "generate_s": round(generate_s, 1),
        "cores": os.cpu_count(),
        "load_average_1min": {name: round(value, 1) for name, value in load_average.items()},
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load": {
            "runs": load_runs,
            "wall_s": round(statistics.median(run["wall_s"] for run in load_runs), 2),
            "cpu_s": round(statistics.median(run["cpu_s"] for run in load_runs), 2),
            "peak_rss_mb": round(max(run["peak_rss_mb"] for run in load_runs), 1),
            "warehouse_mb": round(load_runs[-1]["warehouse_mb"], 1),
        },
        "valuation": valuation,
    }
    for path in write_results(results, args.results):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
