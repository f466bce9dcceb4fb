"""Screening in the pipeline and on the command line: the words read, the criteria applied."""

from __future__ import annotations

import datetime as dt
import io
import json

import dagster as dg
import duckdb
import pytest

from property_pipeline.cli import main
from property_pipeline.definitions import ASSETS
from property_pipeline.screening.assets import ScreeningConfig
from property_pipeline.screening.screen import screen_records
from property_pipeline_tests.conftest import offline_resources

DAY = "2026-11-29"
UP_TO_SCREENED = [
    "raw_listings",
    "listing_history",
    "property_links",
    "deduped_listings",
    "listing_features",
    "screened",
]


def run_screening(warehouse, criteria: dict | None = None) -> None:
    result = dg.materialize(
        ASSETS,
        selection=UP_TO_SCREENED,
        partition_key=DAY,
        resources=offline_resources(warehouse),
        run_config={"ops": {"screened": {"config": criteria or {}}}},
    )
    assert result.success


def screened_rows(warehouse) -> dict[str, tuple]:
    with duckdb.connect(warehouse.database, read_only=True) as conn:
        rows = conn.execute(
            "select listing_key, status, reasons, unit_count, red_flags, signals from screened"
        ).fetchall()
    return {key: rest for key, *rest in rows}


def test_the_features_asset_reads_every_listing_of_the_day(warehouse) -> None:
    run_screening(warehouse)

    with duckdb.connect(warehouse.database, read_only=True) as conn:
        features = dict(
            conn.execute("select listing_key, unit_count from listing_features").fetchall()
        )
        listings = conn.execute(
            "select count(*) from deduped_listings where partition_date = ?", [DAY]
        ).fetchone()[0]
    assert len(features) == listings
    assert features["rightmove:150000101"] == 4  # "block of four self-contained one bedroom flats"
    assert features["zoopla:70000102"] == 6  # "licensed HMO for six sharers"


def test_screening_keeps_both_what_passed_and_why_the_rest_did_not(warehouse) -> None:
    run_screening(warehouse)

    rows = screened_rows(warehouse)
    short_lease = rows["rightmove:150000103"]
    assert short_lease[0] == "rejected"
    assert short_lease[1] == ["lease_too_short"]
    assert "short_lease" in short_lease[3] and "cash_buyers_only" in short_lease[3]
    probate = rows["allsop:a1b2c3d4-0000-4000-8000-000000000101"]
    assert probate[0] == "pending_enrichment"
    assert "probate" in probate[4]


def test_every_configured_criterion_names_itself_when_it_rejects(warehouse) -> None:
    run_screening(
        warehouse,
        {
            "min_units": 2,
            "outcodes": ["m14", "b29"],
            "tenures": ["freehold"],
            "excluded_red_flags": ["cash_buyers_only"],
        },
    )

    rows = screened_rows(warehouse)
    passed = sorted(key for key, row in rows.items() if row[0] == "pending_enrichment")
    assert passed == ["rightmove:150000101", "zoopla:70000101", "zoopla:70000102"]
    flat = rows["rightmove:150000103"][1]
    assert set(flat) == {
        "location_not_targeted",
        "tenure_excluded",
        "too_few_units",
        "lease_too_short",
        "red_flag:cash_buyers_only",
    }
    assert rows["rightmove:150000104"][1] == ["location_not_targeted", "too_few_units"]


def test_an_unknown_criterion_value_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="property_types: 'castle' not known"):
        ScreeningConfig(property_types=["castle"])


def test_screen_records_answer_in_input_order_with_their_ids() -> None:
    records = [
        {
            "id": 7,
            "title": "Block of 3 flats",
            "description": "Freehold. Three flats.",
            "price": 300000,
        },
        {"title": "Flat", "description": "Shared ownership 40% share.", "price": 90000},
        {
            "id": "x",
            "title": "House",
            "description": "Not a short lease: freehold.",
            "price": 200000,
        },
    ]

    results = screen_records(records, ScreeningConfig())

    assert [result.get("id") for result in results] == [7, None, "x"]
    assert "id" not in results[1]
    assert (results[0]["unit_count"], results[0]["passes"]) == (3, True)
    assert results[1]["red_flags"] == ["shared_ownership"]
    assert results[1]["reasons"] == ["red_flag:shared_ownership"]
    assert results[2]["red_flags"] == [] and results[2]["passes"] is True


def test_the_screen_command_reads_json_lines_from_standard_input(capsys, monkeypatch) -> None:
    lines = [
        {
            "id": "a",
            "title": "HMO",
            "description": "HMO licensed for 6. Cash buyers only.",
            "price": 250000,
        },
        {
            "id": "b",
            "title": "2 bed flat",
            "description": "Lease of 64 years remaining.",
            "price": 150000,
        },
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(json.dumps(line) for line in lines)))

    assert main(["screen", "-"]) == 0

    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [item["id"] for item in out] == ["a", "b"]
    assert (out[0]["unit_count"], out[0]["unit_kind"]) == (6, "hmo_room")
    assert out[0]["red_flags"] == ["cash_buyers_only"]
    assert (out[1]["lease_years_remaining"], out[1]["passes"]) == (64, False)
    assert out[1]["reasons"] == ["lease_too_short"]


def test_the_screen_command_names_a_bad_line(tmp_path, capsys) -> None:
    path = tmp_path / "listings.jsonl"
    path.write_text('{"title": "a", "description": "b"}\n{not json}\n')

    assert main(["screen", str(path)]) == 1

    assert f"{path} line 2: not JSON" in capsys.readouterr().err


def test_the_screen_command_names_a_bad_criterion(tmp_path, capsys) -> None:
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text("min_units: lots\n")
    listings = tmp_path / "listings.jsonl"
    listings.write_text('{"title": "a", "description": "b"}\n')

    assert main(["screen", str(listings), "--criteria", str(criteria)]) == 1

    assert f"{criteria}: min_units:" in capsys.readouterr().err


def test_a_lease_given_by_its_start_year_is_counted_from_today() -> None:
    [result] = screen_records(
        [{"title": "Flat", "description": "A 125 year lease from 1990.", "price": 100000}],
        ScreeningConfig(),
    )

    years_left = 125 - (dt.date.today().year - 1990)
    assert result["lease_years_remaining"] in {years_left - 1, years_left}
