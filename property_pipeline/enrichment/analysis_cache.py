"""The warehouse cache of model readings: look readings up by key, store new ones.

A reading costs money and seconds; the same listing text read by the same model with the same
prompt gives the same answer, so it is read once and kept in `listing_analyses` (declared in
warehouse/schema/enrichment_analysis.sql). Rows are plain dicts here so the cache knows nothing
of how readings are made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

CACHE_TABLE = "listing_analyses"
CACHED_FIELDS = (
    "condition",
    "works_needed",
    "refurbishment_scope",
    "unit_breakdown",
    "strategy_fit",
    "risks",
    "analysis_summary",
)

_LOOKUP_SQL = f"""
    select
        cache_key,
        {", ".join(CACHED_FIELDS)}
    from {CACHE_TABLE}
    where cache_key in (select unnest($keys))
"""

# One statement is one transaction in DuckDB's autocommit mode, and `do nothing` keeps the
# first reading when two runs store the same key, so a stored reading is never overwritten.
_STORE_SQL = f"""
    insert into {CACHE_TABLE} (
        cache_key,
        model,
        prompt_version,
        source,
        {", ".join(CACHED_FIELDS)},
        prompt_tokens,
        completion_tokens,
        cost_usd,
        created_at
    )
    values (
        $cache_key,
        $model,
        $prompt_version,
        $source,
        $condition,
        $works_needed,
        $refurbishment_scope,
        $unit_breakdown,
        $strategy_fit,
        $risks,
        $analysis_summary,
        $prompt_tokens,
        $completion_tokens,
        $cost_usd,
        $created_at
    )
    on conflict (cache_key) do nothing
"""


def cache_key(model: str, prompt_version: str, listing_data: str) -> str:
    """The sha256 naming one reading: the model, the prompt version and the listing data sent.

    Any change to one of the three is a different reading, so it misses the cache.
    """
    payload = json.dumps([model, prompt_version, listing_data], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def load_cached(conn: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored readings for the keys that have one, each as a dict of `CACHED_FIELDS`."""
    if not keys:
        return {}
    cursor = conn.execute(_LOOKUP_SQL, {"keys": list(dict.fromkeys(keys))})
    columns = [column[0] for column in cursor.description]
    return {row[0]: dict(zip(columns[1:], row[1:], strict=True)) for row in cursor.fetchall()}


def store_reading(
    conn: duckdb.DuckDBPyConnection,
    key: str,
    *,
    model: str,
    prompt_version: str,
    source: str,
    fields: Mapping[str, Any],
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: float | None,
    created_at: dt.datetime | None = None,
) -> None:
    """Keep one successful reading under `key`; an existing reading under the key is kept."""
    missing = [name for name in CACHED_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"reading for cache key {key[:12]}… lacks fields {missing}")
    params: dict[str, Any] = {name: fields[name] for name in CACHED_FIELDS}
    params.update(
        cache_key=key,
        model=model,
        prompt_version=prompt_version,
        source=source,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost_usd,
        created_at=created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    conn.execute(_STORE_SQL, params)
