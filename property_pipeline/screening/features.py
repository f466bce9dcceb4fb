"""What each listing's words say, as a table: units, tenure, lease, red flags and signals.

The pipeline writes a day with `write_listing_features`, which reads each distinct listing text
once and keeps the result in a cache table, since most listings are unchanged from yesterday.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from property_pipeline.screening.extract import Extraction, extract_listing
from property_pipeline.warehouse import store

FEATURE_COLUMNS = (
    "listing_key",
    "unit_count",
    "unit_kind",
    "commercial_units",
    "tenure",
    "lease_years_remaining",
    "red_flags",
    "signals",
    "evidence",
)


def read_listing(record: Mapping[str, Any], as_of: dt.date | None = None) -> Extraction:
    """Extract from one listing record (a deduped_listings row or a `screen` input line).

    `as_of` dates leases given by start year ("125 years from 1990").
    """
    return extract_listing(
        title=_text(record.get("title")),
        summary=_text(record.get("summary")),
        description=_text(record.get("description")),
        key_features=tuple(_strings(record.get("key_features"))),
        property_type=_text(record.get("property_type")),
        tenure=_known_tenure(record.get("tenure")),
        lease_years_remaining=_whole(record.get("lease_years_remaining")),
        ground_rent=_whole(record.get("ground_rent")),
        price=_whole(record.get("price")),
        update_reason=_text(record.get("update_reason")),
        as_of=as_of,
    )


def features_row(listing_key: str, extraction: Extraction) -> dict[str, Any]:
    """One `listing_features` row."""
    return {
        "listing_key": listing_key,
        "unit_count": extraction.unit_count,
        "unit_kind": extraction.unit_kind,
        "commercial_units": extraction.commercial_units,
        "tenure": extraction.tenure,
        "lease_years_remaining": extraction.lease_years_remaining,
        "red_flags": list(extraction.red_flags),
        "signals": list(extraction.signals),
        "evidence": json.dumps(dict(extraction.evidence), ensure_ascii=False, sort_keys=True),
    }


def listing_features(listings: pd.DataFrame, as_of: dt.date | None = None) -> pd.DataFrame:
    """Features for every row of a frame with deduped_listings columns."""
    rows = [
        features_row(record["listing_key"], read_listing(record, as_of))
        for record in listings.to_dict(orient="records")
    ]
    return pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))


def _known_tenure(value: Any) -> str | None:
    text = _text(value)
    return None if text in (None, "unknown") else text


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)


def _whole(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _strings(value: Any) -> Iterable[str]:
    if value is None or isinstance(value, str | float):
        return [value] if isinstance(value, str) else []
    return [str(item) for item in value if item is not None]


# ---------------------------------------------------------------------------------------------
# The day's partition, extracting only what the cache has not seen

# What extraction reads from a deduped_listings row: a listing whose inputs hash alike reads alike.
INPUT_COLUMNS = (
    "title",
    "summary",
    "description",
    "key_features",
    "property_type",
    "tenure",
    "lease_years_remaining",
    "ground_rent",
    "price",
)
CACHE_TABLE = "listing_features_cache"
# Extractions by input hash. Not a partitioned table: a pure function's memo, valid for any day
# of the same lease year and extractor version, so reusing it never changes what a day holds.
CACHE_DDL = """
    create table if not exists listing_features_cache (
        input_hash varchar not null,
        extractor_version varchar not null,
        unit_count integer,
        unit_kind varchar,
        commercial_units integer not null,
        tenure varchar,
        lease_years_remaining integer,
        red_flags varchar[] not null,
        signals varchar[] not null,
        evidence varchar
    )
"""
_DAY_INPUTS = "__listing_features_inputs"
# `as_of` reaches the extraction only through its year ("125 years from 1990"), so the year is
# part of the key and the cache serves every day of it.
_DAY_INPUTS_SQL = f"""
    create or replace temp table {_DAY_INPUTS} as
    select
        listing_key,
        md5(
            to_json({{
                {", ".join(f"'{name}': {name}" for name in INPUT_COLUMNS)},
                'lease_year': $lease_year::integer,
                'extractor': $extractor_version::varchar
            }})::varchar
        ) as input_hash,
        {", ".join(INPUT_COLUMNS)}
    from deduped_listings
    where partition_date = $day
"""
_UNSEEN_SQL = f"""
    select distinct on (inputs.input_hash)
        inputs.input_hash,
        {", ".join(f"inputs.{name}" for name in INPUT_COLUMNS)}
    from {_DAY_INPUTS} as inputs
    anti join {CACHE_TABLE} as cache
        on cache.input_hash = inputs.input_hash
"""
_FROM_CACHE_SQL = f"""
    select
        inputs.listing_key,
        cache.* exclude (input_hash, extractor_version)
    from {_DAY_INPUTS} as inputs
    join {CACHE_TABLE} as cache
        on cache.input_hash = inputs.input_hash
"""
# Below this many unseen listings, starting worker processes costs more than it saves.
PARALLEL_MIN_LISTINGS = 4_000


@dataclass(frozen=True)
class FeaturesWrite:
    """What writing one day of listing_features did: rows, how many were extracted afresh."""

    write: store.PartitionWrite
    extracted: int
    with_red_flags: int

    @property
    def from_cache(self) -> int:
        """Listings whose features came from the cache, without reading their words again."""
        return self.write.rows_inserted - self.extracted


def write_listing_features(
    conn: duckdb.DuckDBPyConnection, day: dt.date, workers: int | None = None
) -> FeaturesWrite:
    """Replace `day`'s listing_features partition, extracting only inputs not seen before.

    Most listings read the same from one day to the next, and extraction is the screening
    stage's costly step: each distinct input (words, fields, lease year, extractor version) is
    read once, on up to `workers` processes (default: every core), and served from
    `listing_features_cache` after that. The rows are the same as `listing_features` gives.
    """
    conn.execute(CACHE_DDL)
    conn.execute(
        _DAY_INPUTS_SQL,
        {"day": day, "lease_year": day.year, "extractor_version": EXTRACTOR_VERSION},
    )
    try:
        unseen = conn.execute(_UNSEEN_SQL).fetchall()
        if unseen:
            _remember(conn, unseen, day, workers)
        write = store.replace_partition(conn, "listing_features", day, _FROM_CACHE_SQL)
    finally:
        conn.execute(f"drop table if exists {_DAY_INPUTS}")
    flagged = conn.execute(
        "select count(*) from listing_features where partition_date = $day and len(red_flags) > 0",
        {"day": day},
    ).fetchone()[0]
    return FeaturesWrite(write, len(unseen), flagged)


def _remember(
    conn: duckdb.DuckDBPyConnection,
    unseen: list[tuple[Any, ...]],
    day: dt.date,
    workers: int | None,
) -> None:
    """Extract the unseen inputs and add them to the cache, dropping other versions' rows."""
    columns = ("input_hash", *INPUT_COLUMNS)
    records = [dict(zip(columns, row, strict=True)) for row in unseen]
    features = pd.DataFrame(extract_records(records, day, workers), columns=list(FEATURE_COLUMNS))
    features = features.rename(columns={"listing_key": "input_hash"})
    conn.register("__unseen_features", features)
    conn.execute("begin transaction")
    try:
        conn.execute(
            f"delete from {CACHE_TABLE} where extractor_version <> $version",
            {"version": EXTRACTOR_VERSION},
        )
        conn.execute(
            f"insert into {CACHE_TABLE} by name"
            " select $version as extractor_version, * from __unseen_features",
            {"version": EXTRACTOR_VERSION},
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.unregister("__unseen_features")


def extract_records(
    records: list[dict[str, Any]], as_of: dt.date | None, workers: int | None = None
) -> list[dict[str, Any]]:
    """`features_row` of every record (keyed by its `input_hash`), over several processes when
    there are enough records to pay for starting them."""
    workers = min(workers or os.cpu_count() or 1, max(1, len(records) // PARALLEL_MIN_LISTINGS))
    if workers <= 1:
        return _extract_chunk(records, as_of)
    size = -(-len(records) // workers)
    chunks = [records[start : start + size] for start in range(0, len(records), size)]
    # Spawned, not forked: the parent holds DuckDB's and Dagster's threads. A spawned worker
    # imports the parent's main module, so a script without an `if __name__ == "__main__"`
    # guard breaks the pool; the listings are then read here, slower but the same.
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_extract_chunk, chunks, [as_of] * len(chunks)))
    except BrokenProcessPool:
        return _extract_chunk(records, as_of)
    return [row for part in parts for row in part]


def _extract_chunk(records: list[dict[str, Any]], as_of: dt.date | None) -> list[dict[str, Any]]:
    return [features_row(record["input_hash"], read_listing(record, as_of)) for record in records]


def _extractor_version() -> str:
    """A fingerprint of the extraction code: a changed rule must never be answered from cache."""
    folder = Path(__file__).resolve().parent
    digest = hashlib.sha1()
    for name in ("extract.py", "numbers.py", "taxonomy.py", "features.py"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


EXTRACTOR_VERSION = _extractor_version()
