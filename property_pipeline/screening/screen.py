"""Screening listings outside the pipeline, with the pipeline's own extraction and SQL model.

`property-pipeline screen` uses this: the records become the two tables the `screened` model
reads, in a throwaway in-memory DuckDB, so the command and the asset can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml
from pydantic import ValidationError

from property_pipeline import settings
from property_pipeline.screening.assets import ScreeningConfig
from property_pipeline.screening.features import FEATURE_COLUMNS, features_row, read_listing
from property_pipeline.sources.listing import normalise_postcode, outcode_of
from property_pipeline.warehouse import store
from property_pipeline.warehouse.models import load_models_if_changed

# Any fixed day will do: the in-memory tables hold one partition.
SCREEN_DAY = dt.date(2000, 1, 1)
LISTING_COLUMNS = ("listing_key", "property_key", "price", "outcode", "property_type", "tenure")
SCREEN_LISTINGS_DDL = """
    create table deduped_listings (
        partition_date date,
        listing_key varchar,
        property_key varchar,
        price bigint,
        outcode varchar,
        property_type varchar,
        tenure varchar,
        lease_years_remaining integer
    )
"""


def load_criteria(path: str | Path | None) -> ScreeningConfig:
    """Screening criteria from a YAML file of ScreeningConfig keys, or the defaults."""
    if path is None:
        return ScreeningConfig()
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot be read as YAML: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of criteria, got {type(data).__name__}")
    try:
        return ScreeningConfig(**data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise ValueError(f"{path}: {problems}") from None


def screen_records(
    records: Sequence[Mapping[str, Any]], criteria: ScreeningConfig
) -> list[dict[str, Any]]:
    """One result per record, in input order: what its words say, and whether it passes."""
    keys = [f"line:{number}" for number in range(1, len(records) + 1)]
    today = dt.date.today()
    extractions = [read_listing(record, as_of=today) for record in records]
    listings = pd.DataFrame(
        [_listing_row(key, record) for key, record in zip(keys, records, strict=True)],
        columns=[*LISTING_COLUMNS, "lease_years_remaining"],
    )
    features = pd.DataFrame(
        [features_row(key, found) for key, found in zip(keys, extractions, strict=True)],
        columns=list(FEATURE_COLUMNS),
    )
    verdicts = _run_screening_model(listings, features, criteria)

    results = []
    for key, record, found in zip(keys, records, extractions, strict=True):
        verdict = verdicts[key]
        result = {"id": record["id"]} if "id" in record else {}
        result |= {
            "unit_count": found.unit_count,
            "unit_kind": found.unit_kind,
            "commercial_units": found.commercial_units,
            "tenure": verdict["tenure"],
            "lease_years_remaining": _int_or_none(verdict["lease_years_remaining"]),
            "red_flags": list(found.red_flags),
            "signals": list(found.signals),
            "passes": verdict["status"] == "pending_enrichment",
            "reasons": verdict["reasons"],
        }
        results.append(result)
    return results


def _listing_row(key: str, record: Mapping[str, Any]) -> dict[str, Any]:
    postcode = normalise_postcode(record.get("postcode") or record.get("address"))
    return {
        "listing_key": key,
        "property_key": key,
        "price": record.get("price"),
        "outcode": record.get("outcode") or outcode_of(postcode),
        "property_type": record.get("property_type"),
        "tenure": record.get("tenure"),
        "lease_years_remaining": record.get("lease_years_remaining"),
    }


def _run_screening_model(
    listings: pd.DataFrame, features: pd.DataFrame, criteria: ScreeningConfig
) -> dict[str, dict[str, Any]]:
    model = load_models_if_changed(settings.sql_dir(), store.schema_tables())["screened"]
    with duckdb.connect(":memory:") as conn:
        store.create_schema(conn)
        # The model reads only these columns; a full deduped_listings row needs a real scrape.
        conn.execute("drop table deduped_listings")
        conn.execute(SCREEN_LISTINGS_DDL)
        for table, frame in (("deduped_listings", listings), ("listing_features", features)):
            conn.register(f"{table}_input", frame.assign(partition_date=SCREEN_DAY))
            conn.execute(f"insert into {table} by name select * from {table}_input")
        values = {"partition_date": SCREEN_DAY, **criteria.model_dump()}
        rows = conn.execute(model.sql, model.bind(values)).df()
    rows["reasons"] = rows["reasons"].map(list)
    return {row["listing_key"]: row for row in rows.to_dict(orient="records")}


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
