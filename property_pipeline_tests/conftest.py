"""Shared fixtures: throwaway warehouse and Dagster home, real services, real captures."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from property_pipeline.warehouse.resource import WarehouseResource

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "PROPERTY_PIPELINE_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def skip_or_fail(reason: str) -> None:
    """Skip locally when a service or folder is missing; under CI=true that is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a skipped service test is a failure)")
    pytest.skip(reason)


@pytest.fixture
def shared_fixtures() -> Path:
    """The real captures in ../shared/fixtures (read in place, never copied into the project)."""
    if not SHARED_FIXTURES.is_dir():
        skip_or_fail(f"real captures not found at {SHARED_FIXTURES}")
    return SHARED_FIXTURES


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    """A warehouse resource on a fresh DuckDB file, with the project's SQL models."""
    return WarehouseResource(
        database=str(tmp_path / "warehouse.duckdb"), sql_dir=str(REPO_ROOT / "dbt_like_sql")
    )


def offline_resources(warehouse: WarehouseResource) -> dict[str, object]:
    """Every resource the pipeline's assets take, offline: the built-in sample listings, no EPC,
    listings read by rules, Slack unconnected, writing to `warehouse`."""
    from property_pipeline.resources import build_resources

    return {**build_resources(sandbox_url=""), "warehouse": warehouse}


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DAGSTER_HOME holding the project's dagster.yaml, and a warehouse beside it.

    The environment is set for this process and inherited by any dagster CLI it starts.
    """
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PROPERTY_PIPELINE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    for name in ("DAGSTER_POSTGRES_URL", "DAGSTER_POSTGRES_HOST"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def initialised_dagster_home(dagster_home: Path) -> Path:
    """A DAGSTER_HOME whose SQLite storage exists, as after the webserver or daemon first starts.

    Two processes creating the storage of an empty home at the same moment race on it.
    """
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.upgrade()
    return dagster_home


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on this machine's server, dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as error:
        skip_or_fail(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}")
    admin.autocommit = True
    name = f"property_pipeline_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
