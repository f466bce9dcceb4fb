"""SQL models: each names its asset and inputs, binds its parameters, and fails by file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from property_pipeline.model_params import model_params
from property_pipeline.warehouse import store
from property_pipeline.warehouse.models import (
    ModelError,
    check_compiles,
    load_models,
    parse_model,
)
from property_pipeline_tests.conftest import REPO_ROOT

SQL_DIR = REPO_ROOT / "dbt_like_sql"
# Every table the warehouse holds: asset tables and the look-up tables models may read.
TABLES = store.schema_tables()


def write_model(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.sql"
    path.write_text(text)
    return path


def test_every_asset_but_raw_listings_is_built_by_one_model_that_compiles() -> None:
    models = load_models(SQL_DIR, TABLES)

    assert sorted(models) == [
        "deduped_listings",
        "digests",
        "listing_history",
        "listing_price_history",
        "property_links",
        "scored",
        "screened",
        "weekly_stats",
    ]
    with duckdb.connect(":memory:") as conn:
        store.create_schema(conn)
        for model in models.values():
            check_compiles(conn, model, model_params(model.asset, dt.date(2026, 11, 2)))
    assert models["screened"].refs == ("deduped_listings", "listing_features")
    assert models["deduped_listings"].refs == ("raw_listings", "listing_history", "property_links")
    assert models["listing_history"].params == ("partition_date", "withdrawn_after_days")
    assert models["property_links"].params == (
        "partition_date",
        "price_band_pct",
        "max_match_distance_m",
        "min_match_confidence",
    )
    assert models["weekly_stats"].refs == (
        "deduped_listings",
        "listing_history",
        "enriched",
        "listing_price_history",
        "scored",
        "price_paid",
    )
    assert models["digests"].params == ("partition_date", "watchlist_from", "watchlist_to")


def test_refs_become_table_names_and_parameters_stay_bound(tmp_path: Path) -> None:
    path = write_model(
        tmp_path,
        "cheap",
        "-- asset: screened\nselect * from {{ ref('scored') }} where price < $max_price"
        " and partition_date = $partition_date -- not $commented\n",
    )

    model = parse_model(path, TABLES)

    assert model.asset == "screened"
    assert "from scored where" in model.sql
    assert model.params == ("max_price", "partition_date")
    assert model.bind({"max_price": 1, "partition_date": 2, "unused": 3}) == {
        "max_price": 1,
        "partition_date": 2,
    }


def test_a_missing_parameter_value_names_the_file_and_the_parameter(tmp_path: Path) -> None:
    path = write_model(tmp_path, "m", "-- asset: scored\nselect $batch_size as n\n")

    with pytest.raises(ModelError, match=r"m\.sql: no value for parameter\(s\) batch_size"):
        parse_model(path, TABLES).bind({})


def test_a_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write_model(tmp_path, "broken", "-- asset: scored\nselec * frm {{ ref('enriched') }}\n")

    with pytest.raises(ModelError, match=r"broken\.sql: SQL syntax error"):
        parse_model(path, TABLES)


def test_an_unknown_input_names_the_file_and_the_input(tmp_path: Path) -> None:
    path = write_model(tmp_path, "typo", "-- asset: scored\nselect * from {{ ref('enrichd') }}\n")

    with pytest.raises(ModelError, match=r"typo\.sql: unknown input\(s\) enrichd"):
        parse_model(path, TABLES)


def test_a_model_without_an_asset_header_is_refused(tmp_path: Path) -> None:
    path = write_model(tmp_path, "orphan", "select 1\n")

    with pytest.raises(ModelError, match=r"orphan\.sql: the first line must name the asset"):
        parse_model(path, TABLES)


def test_two_statements_in_one_model_are_refused(tmp_path: Path) -> None:
    path = write_model(tmp_path, "two", "-- asset: scored\nselect 1; delete from scored\n")

    with pytest.raises(ModelError, match=r"two\.sql: holds 2 statements"):
        parse_model(path, TABLES)


def test_two_models_for_one_asset_are_refused(tmp_path: Path) -> None:
    write_model(tmp_path, "a", "-- asset: scored\nselect 1\n")
    write_model(tmp_path, "b", "-- asset: scored\nselect 2\n")

    with pytest.raises(ModelError, match=r"b\.sql: asset 'scored' already has a model"):
        load_models(tmp_path, TABLES)


def test_an_unknown_column_fails_when_bound_naming_the_file(tmp_path: Path) -> None:
    path = write_model(tmp_path, "col", "-- asset: scored\nselect no_such_column from scored\n")
    model = parse_model(path, TABLES)

    with duckdb.connect(":memory:") as conn:
        store.create_schema(conn)
        with pytest.raises(ModelError, match=r"col\.sql: .*no_such_column"):
            check_compiles(conn, model)


def test_a_failing_model_run_names_the_file_and_keeps_stored_rows(warehouse, tmp_path) -> None:
    day = dt.date(2026, 11, 2)
    write_model(
        tmp_path,
        "source_failures",
        "-- asset: source_failures\nselect 'zoopla' as source, null as url, 'timeout' as reason\n",
    )
    good = warehouse.model_copy(update={"sql_dir": str(tmp_path)})
    good.run_model("source_failures", day)
    write_model(
        tmp_path,
        "source_failures",
        "-- asset: source_failures\nselect 1 / 0 :: varchar as reason\n",
    )

    with pytest.raises(Exception, match=r"source_failures\.sql"):
        good.run_model("source_failures", day)

    assert good.partition_row_count("source_failures", day) == 1
