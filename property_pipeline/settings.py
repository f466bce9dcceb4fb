"""Where the project keeps its files, read from the environment at call time.

Nothing here is evaluated at import: Dagster imports the code location in the webserver, the
daemon and every run worker, each of which may have its own environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]

WAREHOUSE_ENV = "PROPERTY_PIPELINE_WAREHOUSE"
SQL_DIR_ENV = "PROPERTY_PIPELINE_SQL_DIR"
ENRICH_BATCH_SIZE_ENV = "PROPERTY_PIPELINE_ENRICH_BATCH_SIZE"
SANDBOX_URL_ENV = "PROPERTY_PIPELINE_SANDBOX_URL"
LIVE_ENV = "PROPERTY_PIPELINE_LIVE"
TARGETS_ENV = "PROPERTY_PIPELINE_TARGETS"
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


def sandbox_url() -> str:
    """The loopback sandbox every upstream client is pointed at, or "" for none."""
    url = os.environ.get(SANDBOX_URL_ENV, "").strip().rstrip("/")
    if not url:
        return ""
    host = urlsplit(url).hostname or ""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(
            f"{SANDBOX_URL_ENV}={url!r} is not a loopback address; the sandbox runs on this"
            " machine, e.g. http://127.0.0.1:8765"
        )
    return url


def upstream_mode() -> str:
    """Which upstreams the pipeline talks to: "sandbox", "live" or the offline "sample".

    Real sites are only contacted when asked for explicitly with PROPERTY_PIPELINE_LIVE=1.
    """
    live = os.environ.get(LIVE_ENV, "").strip().lower() in {"1", "true", "yes"}
    sandbox = sandbox_url()
    if live and sandbox:
        raise ValueError(f"set {LIVE_ENV} or {SANDBOX_URL_ENV}, not both")
    if sandbox:
        return "sandbox"
    return "live" if live else "sample"


def targets_path() -> str:
    """The scrapers' targets YAML (`$PROPERTY_PIPELINE_TARGETS`); "" for the shipped one."""
    return os.environ.get(TARGETS_ENV, "").strip()


# Secrets and service addresses: read only from the environment, never from files in the repo.
EPC_TOKEN_ENV = "EPC_API_TOKEN"
EPC_URL_ENV = "EPC_API_BASE_URL"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
OPENAI_URL_ENV = "OPENAI_BASE_URL"
OPENAI_MODEL_ENV = "PROPERTY_PIPELINE_OPENAI_MODEL"
SLACK_TOKEN_ENV = "SLACK_BOT_TOKEN"
SLACK_URL_ENV = "SLACK_API_URL"
UI_URL_ENV = "PROPERTY_PIPELINE_UI_URL"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
DEFAULT_UI_URL = "http://127.0.0.1:3000"


def env_value(name: str) -> str | None:
    """An environment variable's value with surrounding space removed, or None when unset/empty."""
    value = os.environ.get(name, "").strip()
    return value or None


def openai_model() -> str:
    """The model the AI reading uses (`$PROPERTY_PIPELINE_OPENAI_MODEL`, default gpt-4o-mini)."""
    return env_value(OPENAI_MODEL_ENV) or DEFAULT_OPENAI_MODEL
