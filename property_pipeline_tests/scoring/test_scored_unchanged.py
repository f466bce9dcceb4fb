"""The `scored` model gives the same rows it gave before it was made fast (issue 9).

scored_pin.json holds a digest of every column of every row (all but `scored_at`) that the
model scored for 600 synthetic listings before the speed work, one digest per listing_key. A
change that is meant to alter results must regenerate it on purpose (`write_pin` below, with the
model as it should now be) and say why in its commit. The pin also moves with scoring.yaml,
tax.py and DuckDB's hash() (which the synthetic rows are drawn from): a failure after changing
one of those is expected, and the pin is regenerated the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from property_pipeline.scoring.config import load_scoring_config
from property_pipeline.scoring.params import scored_params
from property_pipeline.warehouse.resource import WarehouseResource
from property_pipeline_tests.scoring.synthetic import write_synthetic_listings

PIN = Path(__file__).with_name("scored_pin.json")
PIN_DAY = dt.date(2026, 11, 29)
PIN_LISTINGS = 600


def row_digests(conn: duckdb.DuckDBPyConnection, day: dt.date) -> dict[str, str]:
    """Each scored row of `day` as a SHA-256 of its values in column order, by listing_key."""
    cursor = conn.execute(
        "select * exclude (partition_date, scored_at) from scored"
        " where partition_date = ? order by listing_key",
        [day],
    )
    columns = [column[0] for column in cursor.description]
    digests = {}
    for row in cursor.fetchall():
        values: dict[str, Any] = dict(zip(columns, row, strict=True))
        text = json.dumps(values, default=str, sort_keys=False)
        digests[values["listing_key"]] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def score_pin_listings(database: str, sql_dir: str) -> dict[str, str]:
    """Score the pinned synthetic listings with the models in `sql_dir`; their row digests."""
    warehouse = WarehouseResource(database=database, sql_dir=sql_dir)
    with warehouse.connection() as conn:
        write_synthetic_listings(conn, PIN_DAY, PIN_LISTINGS)
    warehouse.run_model("scored", PIN_DAY, scored_params(load_scoring_config(), PIN_DAY))
    with warehouse.connection() as conn:
        return row_digests(conn, PIN_DAY)


def write_pin(database: str, sql_dir: str) -> None:
    """Regenerate scored_pin.json from the models in `sql_dir` (only when results must change)."""
    PIN.write_text(json.dumps(score_pin_listings(database, sql_dir), indent=1) + "\n")


def test_synthetic_listings_cover_the_models_branches(warehouse: WarehouseResource) -> None:
    with warehouse.connection() as conn:
        write_synthetic_listings(conn, PIN_DAY, PIN_LISTINGS)
    warehouse.run_model("scored", PIN_DAY, scored_params(load_scoring_config(), PIN_DAY))

    with warehouse.connection() as conn:
        covered = conn.execute(
            """
            select
                count(*),
                count(distinct band),
                count(*) filter (where rent_basis = 'stated in the listing'),
                count(*) filter (where value_basis = 'sum_of_parts'),
                count(distinct tax_regime),
                count(*) filter (where list_contains(evidence_caps, 'few comparables')),
                count(*) filter (where evidence_caps[1] like 'deal-killer:%')
            from scored
            where partition_date = ?
            """,
            [PIN_DAY],
        ).fetchone()
    assert covered[0] == PIN_LISTINGS
    assert covered[1] >= 3
    assert min(covered[2:]) > 0
    assert covered[4] >= 3


def test_scored_rows_match_the_rows_scored_before_the_speed_work(
    warehouse: WarehouseResource,
) -> None:
    pinned = json.loads(PIN.read_text())

    digests = score_pin_listings(warehouse.database, warehouse.sql_dir)

    assert len(digests) == PIN_LISTINGS
    changed = sorted(key for key in pinned if digests.get(key) != pinned[key])
    assert changed == [], f"{len(changed)} rows differ from scored_pin.json, e.g. {changed[:3]}"
    assert digests == pinned
