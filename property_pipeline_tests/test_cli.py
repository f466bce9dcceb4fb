"""The command line as a new user meets it: the demo and the model listing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from property_pipeline.cli import last_sunday, main
from property_pipeline_tests.conftest import REPO_ROOT

CLI = str(Path(sys.executable).parent / "property-pipeline")
ASSETS = [
    "raw_listings",
    "deduped_listings",
    "screened",
    "enriched",
    "scored",
    "digests",
    "weekly_stats",
]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_the_demo_prints_row_counts_for_all_seven_assets(initialised_dagster_home) -> None:
    result = run_cli("demo", "--date", "2026-11-29")

    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "Materialised partition 2026-11-29 (weekly_stats: week of 2026-11-23)"
    counts = {
        parts[0]: int(parts[1])
        for parts in (line.split() for line in lines)
        if parts[:1] in [[a] for a in ASSETS]
    }
    assert list(counts) == ASSETS
    assert all(count > 0 for count in counts.values()), counts

    # It ends with the day's best deals, best first, and how to open the UI on the same data.
    top = lines.index("Top deals of 2026-11-29:")
    assert lines[top + 1].split()[:3] == ["score", "band", "price"]
    deal_rows = lines[top + 2 : lines.index("Browse the same data in the Dagster UI:") - 1]
    scores = [int(line.split()[0]) for line in deal_rows]
    assert 1 <= len(scores) <= 10 and scores == sorted(scores, reverse=True)
    assert f"DAGSTER_HOME={initialised_dagster_home} make dev" in lines[-1]
    slack = next(line for line in lines if line.startswith("Slack: "))
    assert int(slack.split()[1]) >= 2, slack  # the digest and the weekly statistics at least


def test_the_demo_refuses_a_day_whose_week_has_not_ended(initialised_dagster_home) -> None:
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()

    result = run_cli("demo", "--date", today.isoformat())

    assert result.returncode == 1
    assert f"the week of {today}" in result.stderr
    assert "has not ended yet" in result.stderr


def test_the_demo_refuses_a_day_after_today(initialised_dagster_home) -> None:
    tomorrow = dt.datetime.now(ZoneInfo("Europe/London")).date() + dt.timedelta(days=1)

    result = run_cli("demo", "--date", tomorrow.isoformat())

    assert result.returncode == 1
    assert f"--date {tomorrow} is outside the daily partitions" in result.stderr


def test_a_malformed_demo_date_names_the_option(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--date", "29/11/2026"])

    assert "--date '29/11/2026' is not a date like 2026-11-29" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("today", "sunday"),
    [
        (dt.date(2026, 12, 3), dt.date(2026, 11, 29)),  # a Thursday
        (dt.date(2026, 11, 30), dt.date(2026, 11, 29)),  # a Monday
        (dt.date(2026, 11, 29), dt.date(2026, 11, 22)),  # a Sunday: its week has not ended
    ],
)
def test_the_demo_defaults_to_the_last_finished_week(today: dt.date, sunday: dt.date) -> None:
    assert last_sunday(today) == sunday


def test_models_lists_each_file_with_its_asset_inputs_and_parameters(capsys) -> None:
    assert main(["models", "--check"]) == 0

    listing = capsys.readouterr().out
    screened = next(line for line in listing.splitlines() if line.startswith("screened "))
    assert "dbt_like_sql/screening/screened.sql" in screened
    assert "inputs: deduped_listings" in screened
    assert "$min_price" in screened


def test_a_backfill_reports_each_day_and_running_it_again_changes_no_table(
    initialised_dagster_home,
) -> None:
    warehouse = initialised_dagster_home.parent / "warehouse.duckdb"

    first = run_cli("backfill", "2026-11-02", "2026-11-03")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        before = conn.execute(TABLE_FINGERPRINT).fetchall()
    second = run_cli("backfill", "2026-11-02", "2026-11-03")
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        after = conn.execute(TABLE_FINGERPRINT).fetchall()

    assert first.returncode == second.returncode == 0, first.stderr[-2000:]
    lines = first.stdout.splitlines()
    assert lines[0] == "backfilling 2 day(s), 2026-11-02 to 2026-11-03"
    assert lines[1].startswith("[1/2] 2026-11-02 ok in ")
    assert lines[2].startswith("[2/2] 2026-11-03 ok in ")
    assert "raw_listings 5, screened 5" in lines[1]
    assert before == after and before[0][1] > 0


def test_a_backfill_range_the_wrong_way_round_is_one_line_and_a_hint() -> None:
    result = run_cli("backfill", "2026-11-03", "2026-11-02")

    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "property-pipeline: the range ends (2026-11-02) before it starts (2026-11-03); swap them",
        "hint: property-pipeline backfill 2026-11-01 2026-11-14",
    ]


# Row count and a content hash of every daily table written by the backfill, run times aside.
TABLE_FINGERPRINT = """
    select 'raw_listings', count(*), sum(hash(source_id, price)) from raw_listings
    union all
    select 'deduped_listings', count(*), sum(hash(listing_key, property_key)) from deduped_listings
    union all
    select 'scored', count(*), sum(hash(listing_key, score, band)) from scored
    union all
    select 'enriched', count(*), sum(hash(listing_key, status)) from enriched
"""
