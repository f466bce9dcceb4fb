"""`load-ppd` on the command line: a JSON summary on success, one line and a hint on a mistake."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb
import pytest

from property_pipeline.enrichment.price_paid_cli import add_load_ppd_command

COMPLETE_2015 = "open-data/ppd/ppd_2015_200rows_epimorphics_appd-test.csv"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="property-pipeline")
    add_load_ppd_command(parser.add_subparsers())
    args = parser.parse_args(["load-ppd", *argv])
    return args.handler(args)


def test_loading_a_file_prints_a_json_summary_and_fills_the_warehouse(
    shared_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "data" / "warehouse.duckdb"

    code = run(str(shared_fixtures / COMPLETE_2015), "--warehouse", str(warehouse))

    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 0
    assert (summary["kind"], summary["rows_read"], summary["inserted"]) == ("complete", 200, 200)
    assert "load-ppd: loading Price Paid rows from" in err
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from price_paid").fetchone() == (200,)


def test_a_missing_file_is_one_line_and_a_hint_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(str(tmp_path / "pp-nowhere.csv"), "--warehouse", str(tmp_path / "w.duckdb"))

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("property-pipeline load-ppd: ") and "pp-nowhere.csv" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in err


def test_a_url_off_this_machine_is_refused_without_live_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROPERTY_PIPELINE_LIVE", raising=False)
    monkeypatch.delenv("PROPERTY_PIPELINE_SANDBOX_URL", raising=False)

    code = run("https://example.org/pp-complete.csv", "--warehouse", str(tmp_path / "w.duckdb"))

    assert code == 2
    assert "PROPERTY_PIPELINE_LIVE=1" in capsys.readouterr().err


def test_a_file_that_is_not_price_paid_data_exits_with_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listings = tmp_path / "listings.csv"
    listings.write_text("source,source_id,price\nrightmove,170000001,300000\n")

    code = run(str(listings), "--warehouse", str(tmp_path / "w.duckdb"))

    assert code == 2
    assert "is not a Price Paid file: line 1 has 3 columns" in capsys.readouterr().err


def test_a_sandbox_that_is_not_running_is_named_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 (discard) on loopback has no listener on a test machine.
    code = run(
        "http://127.0.0.1:9/landregistry/pp-complete.csv", "--warehouse", str(tmp_path / "w.duckdb")
    )

    assert code == 2
    assert "cannot be reached" in capsys.readouterr().err
