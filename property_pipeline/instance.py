"""Instance storage chosen by the environment, so one dagster.yaml serves laptop and production.

With `DAGSTER_POSTGRES_URL` (or `DAGSTER_POSTGRES_HOST`, `_DB` and `_USER`, optionally
`_PASSWORD` and `_PORT`) set, runs, events and schedules go to PostgreSQL through
dagster-postgres; otherwise to SQLite files under `$DAGSTER_HOME` (`history/`, `schedules/`),
where Dagster keeps them when dagster.yaml says nothing about storage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from sqlalchemy.engine import URL, make_url

POSTGRES_URL_ENV = "DAGSTER_POSTGRES_URL"
POSTGRES_PART_ENVS = {
    "hostname": "DAGSTER_POSTGRES_HOST",
    "db_name": "DAGSTER_POSTGRES_DB",
    "username": "DAGSTER_POSTGRES_USER",
    "password": "DAGSTER_POSTGRES_PASSWORD",
    "port": "DAGSTER_POSTGRES_PORT",
}
REQUIRED_PARTS = ("hostname", "db_name", "username")


def postgres_url_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    """The PostgreSQL URL the environment asks for, or None for SQLite."""
    url = environ.get(POSTGRES_URL_ENV, "").strip()
    if url:
        return url
    parts = {key: environ.get(name, "").strip() for key, name in POSTGRES_PART_ENVS.items()}
    given = [key for key in REQUIRED_PARTS if parts[key]]
    if not given:
        return None
    missing = [POSTGRES_PART_ENVS[key] for key in REQUIRED_PARTS if not parts[key]]
    if missing:
        raise ValueError(
            f"PostgreSQL instance storage is half configured: set {', '.join(missing)}"
            f" as well, or {POSTGRES_URL_ENV} alone"
        )
    # SQLAlchemy's URL escapes every reserved character of the password; dagster-postgres's own
    # helper leaves "/" unescaped, which breaks the URL.
    return URL.create(
        "postgresql",
        username=parts["username"],
        password=parts["password"] or None,
        host=parts["hostname"],
        port=int(parts["port"] or 5432),
        database=parts["db_name"],
    ).render_as_string(hide_password=False)


def describe_storage(environ: Mapping[str, str] = os.environ) -> str:
    """Where instance storage goes, for logs: never includes the password."""
    url = postgres_url_from_env(environ)
    if url is None:
        return f"sqlite under {environ.get('DAGSTER_HOME', '$DAGSTER_HOME')}"
    return f"postgresql at {make_url(url).render_as_string(hide_password=True)}"


class EnvironmentSelectedStorage(DagsterStorage):
    """A `storage: custom:` entry for dagster.yaml that defers to PostgreSQL or SQLite.

    Never instantiated itself: `from_config_value` hands Dagster the real storage.
    """

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> DagsterStorage:
        url = postgres_url_from_env()
        if url is not None:
            return DagsterPostgresStorage(postgres_url=url, should_autocreate_tables=True)
        base_dir = config_value.get("base_dir") or os.environ.get("DAGSTER_HOME")
        if not base_dir:
            raise ValueError(
                "SQLite instance storage needs DAGSTER_HOME (or storage.custom.config.base_dir)"
            )
        return DagsterSqliteStorage.from_local(str(Path(base_dir)))


def project_instance() -> dg.DagsterInstance:
    """The instance in `$DAGSTER_HOME` (so the UI shows the runs), else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()
