"""Time the `scored` SQL model alone on 10k, 100k and 1M synthetic analysed listings.

Run `.venv/bin/python bench/scoring.py` (or `--sizes 100000`, `--repeat 3`). For each size it
writes the day's deduped_listings, listing_features, screened and enriched rows to a temporary
warehouse with property_pipeline_tests/scoring/synthetic.py (one process), then runs the model
for the day in a fresh process and reports that process's wall time, CPU time and peak resident
memory (bench/measure.py). `--compare FILE` also times another version of the model (an earlier one,
say) on the same rows; `--profile` also writes DuckDB's `explain analyze` of one run of the
model. Results go to bench/results/scoring.md and .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import measure, median_of

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MODEL_SQL = REPO_ROOT / "dbt_like_sql" / "scoring" / "scored.sql"
SIZES = (10_000, 100_000, 1_000_000)
DAY = dt.date(2026, 11, 29)

# The synthetic rows live with the scoring tests, which pin the model's results on them too.
sys.path.insert(0, str(REPO_ROOT))


def build(warehouse: str, rows: int) -> dict[str, Any]:
    """In a child process: a fresh warehouse holding `rows` analysed listings for DAY."""
    import duckdb

    from property_pipeline.warehouse import store
    from property_pipeline_tests.scoring.synthetic import write_synthetic_listings

    with duckdb.connect(warehouse) as conn:
        store.create_schema(conn)
        write_synthetic_listings(conn, DAY, rows)
    return {}


def score(warehouse: str, sql_path: str, profile_path: str | None = None) -> dict[str, Any]:
    """In a child process: run the model at `sql_path` for DAY, as the asset does by default."""
    import duckdb

    from property_pipeline.scoring.config import load_scoring_config
    from property_pipeline.scoring.params import scored_params
    from property_pipeline.warehouse import store
    from property_pipeline.warehouse.models import parse_model

    with duckdb.connect(warehouse) as conn:
        conn.execute("set enable_progress_bar = false")
        model = parse_model(Path(sql_path), set(store.warehouse_tables(conn)))
        values = {"partition_date": DAY, **scored_params(load_scoring_config(), DAY)}
        if profile_path:
            # The select alone: profiling the write would keep only its last statement.
            plan = conn.execute("explain analyze " + model.sql, model.bind(values)).fetchall()
            Path(profile_path).write_text(plan[0][1])
            return {}
        write = store.replace_partition(conn, "scored", DAY, model.sql, model.bind(values))
    return {"rows": write.rows_inserted}


def run_size(
    rows: int, models: dict[str, Path], repeats: int, profile: bool
) -> list[dict[str, Any]]:
    """Build the rows once, then time each model `repeats` times; the medians, one per model."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_scoring_") as folder:
        warehouse = str(Path(folder) / "warehouse.duckdb")
        started = time.perf_counter()
        measure("scoring:build", warehouse=warehouse, rows=rows)
        print(f"  built {rows:,} listings in {time.perf_counter() - started:.1f}s", flush=True)
        for label, sql_path in models.items():
            runs = []
            for _ in range(repeats):
                runs.append(measure("scoring:score", warehouse=warehouse, sql_path=str(sql_path)))
                print(f"  {label}: scored in {runs[-1]['wall_s']:.2f}s wall", flush=True)
            result = {"model": label, "listings": rows, **median_of(runs)}
            result["listings_per_s"] = round(rows / result["wall_s"])
            results.append(result)
        if profile:
            sql_path = models["model"]
            profile_path = RESULTS_DIR / f"scoring_profile_{rows}.txt"
            measure(
                "scoring:score",
                warehouse=warehouse,
                sql_path=str(sql_path),
                profile_path=str(profile_path),
            )
            results[0]["profile"] = str(profile_path.relative_to(REPO_ROOT))
    return results


def results_markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    lines = [
        "# Scoring model benchmark",
        "",
        f"`model` is {results['sql']}"
        + (f", `compared` is {results['compare']}" if results.get("compare") else "")
        + f"; {results['cores']} cores, Python {results['python']}, DuckDB"
        f" {results['duckdb']}, {results['date']}; load average {results['load_start']:.1f} at"
        f" the start (other work on the machine inflates wall times). Medians of"
        f" {results['repeats']} run(s); each run a fresh process, the model only.",
        "",
        "| analysed listings | model | wall s | CPU s | CPU/wall | peak RSS MB | listings/s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['listings']:,} | {run['model']} | {run['wall_s']:.2f} | {run['cpu_s']:.2f}"
            f" | {run['cpu_s'] / run['wall_s']:.2f} | {run['peak_rss_mb']:.0f}"
            f" | {run['listings_per_s']:,} |"
        )
    return "\n".join(lines) + "\n"


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the options, time every size and write the results."""
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median)")
    parser.add_argument("--sql", type=Path, default=MODEL_SQL, help="model file to time")
    parser.add_argument("--compare", type=Path, help="another model file to time on the same rows")
    parser.add_argument("--profile", action="store_true", help="also write DuckDB's profile")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--name", default="scoring", help="results file name, without suffix")
    args = parser.parse_args(argv)

    models = {"model": args.sql, **({"compared": args.compare} if args.compare else {})}
    results: dict[str, Any] = {
        "sql": _shown(args.sql),
        "compare": _shown(args.compare) if args.compare else None,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load_start": os.getloadavg()[0],
        "repeats": args.repeat,
        "runs": [],
    }
    for rows in args.sizes:
        print(f"scoring {rows:,} analysed listings", flush=True)
        results["runs"] += run_size(rows, models, args.repeat, args.profile)

    args.results.mkdir(parents=True, exist_ok=True)
    markdown = results_markdown(results)
    (args.results / f"{args.name}.md").write_text(markdown)
    (args.results / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(markdown)
    return results


if __name__ == "__main__":
    main()
