"""The benchmark suite at smoke sizes: every suite still runs and reports real numbers.

`make bench` takes many minutes; this runs the same code on a couple of thousand listings so a
change that breaks a suite shows up in `make test` rather than on the next benchmark day.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from property_pipeline_tests.conftest import REPO_ROOT

BENCH_DIR = REPO_ROOT / "bench"


@pytest.fixture(scope="module")
def smoke_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One smoke run of the parsing, scaling and daily suites, written to a temp folder."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import run  # bench/run.py: a script folder, not a package

        folder = tmp_path_factory.mktemp("bench_results")
        argv = ["--smoke", "--results", str(folder)]
        argv += ["--suite", "parsing", "--suite", "scaling", "--suite", "daily"]
        summary = run.main(argv)
    finally:
        sys.path.remove(str(BENCH_DIR))
    summary["folder"] = folder
    return summary


def test_smoke_run_writes_the_summary_table_and_json(smoke_summary: dict[str, Any]) -> None:
    folder: Path = smoke_summary["folder"]

    markdown = (folder / "summary.md").read_text()

    assert markdown.startswith("# Benchmarks")
    assert "## Dedupe, screening and scoring by size" in markdown
    assert (folder / "summary.json").exists()


def test_smoke_run_times_every_sandbox_page_format(smoke_summary: dict[str, Any]) -> None:
    formats = smoke_summary["suites"]["parsing"]["formats"]

    sandbox = {name for name in formats if name.startswith("sandbox:")}
    assert {"sandbox:rightmove_api_search", "sandbox:zoopla_rsc_search"} <= sandbox
    assert all(row["pages"] > 0 and row["pages_per_cpu_s"] > 0 for row in formats.values())


def test_smoke_run_dedupes_screens_and_scores_with_the_baseline(
    smoke_summary: dict[str, Any],
) -> None:
    (run,) = smoke_summary["suites"]["scaling"]["runs"].values()
    steps = {step["step"]: step for step in run["steps"]}

    assert not [name for name, step in steps.items() if "error" in step]
    assert steps["listing_features"]["rows_out"] == run["raw_listings"]
    assert steps["screened"]["rows_out"] == run["raw_listings"]
    assert steps["scored"]["rows_out"] > 0
    assert run["baseline"]["rows_out"] == run["raw_listings"]
    assert run["baseline"]["cpu_ratio"] > 0


def test_smoke_run_materialises_one_day_through_dagster(smoke_summary: dict[str, Any]) -> None:
    daily = smoke_summary["suites"]["daily"]

    assert "error" not in daily, daily.get("error")
    assert daily["rows"]["raw_listings"] > 0
    assert daily["rows"]["digests"] >= 0
    assert 0 < daily["dagster_share"] < 1
    assert set(daily["step_seconds"]) >= {"raw_listings", "listing_features", "screened"}
