"""Where the project keeps its files, read from the environment at call time.

Nothing here is evaluated at import: Dagster imports the code location in the webserver, the
daemon and every run worker, each of which may have its own environment.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

WAREHOUSE_ENV = "PROPERTY_PIPELINE_WAREHOUSE"
SQL_DIR_ENV = "PROPERTY_PIPELINE_SQL_DIR"
ENRICH_BATCH_SIZE_ENV = "PROPERTY_PIPELINE_ENRICH_BATCH_SIZE"
DEFAULT_ENRICH_BATCH_SIZE = 20


def project_root() -> Path:
    """The checkout the package runs from, or the working directory for an installed copy."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT
    return Path.cwd()


def warehouse_path() -> Path:
    """The DuckDB warehouse file: `$PROPERTY_PIPELINE_WAREHOUSE` or `data/warehouse.duckdb`."""
    configured = os.environ.get(WAREHOUSE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return project_root() / "data" / "warehouse.duckdb"


def sql_dir() -> Path:
    """The folder of SQL models: `$PROPERTY_PIPELINE_SQL_DIR` or the checkout's `dbt_like_sql/`."""
    configured = os.environ.get(SQL_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return project_root() / "dbt_like_sql"


def enrich_batch_size() -> int:
    """Listings the enrichment schedule sends to the costly AI step per run (default 20)."""
    raw = os.environ.get(ENRICH_BATCH_SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_ENRICH_BATCH_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ValueError(f"{ENRICH_BATCH_SIZE_ENV}={raw!r} is not a whole number") from None
    if size < 1:
        raise ValueError(f"{ENRICH_BATCH_SIZE_ENV}={raw!r} must be at least 1")
    return size
