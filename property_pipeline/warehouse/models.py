"""SQL models: the files in `dbt_like_sql/` that assets run in DuckDB.

A model is one SELECT in a file of its own. Its first line says which asset it builds
(`-- asset: screened`); it names its inputs with `{{ ref('table') }}`, which must be warehouse
tables; and it reads run values as bound parameters (`$partition_date`, `$batch_size`), never as
text formatted into the query. The runner (`store.replace_partition`) adds the partition column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

REF_PATTERN = re.compile(r"\{\{\s*ref\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\)\s*\}\}")
LEFTOVER_TEMPLATE_PATTERN = re.compile(r"\{\{.*?\}\}", re.S)
PARAM_PATTERN = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")
ASSET_HEADER_PATTERN = re.compile(r"\A\s*--\s*asset:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.M)


class ModelError(ValueError):
    """A SQL model is unusable; the message starts with the model's file."""


@dataclass(frozen=True)
class SqlModel:
    """A parsed, checked model: which asset it builds, from what, with which parameters."""

    path: Path
    asset: str
    sql: str  # refs resolved to table names; parameters left as $name for binding
    refs: tuple[str, ...]
    params: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    def bind(self, values: dict[str, object]) -> dict[str, object]:
        """The parameter values this model uses, failing on any that were not supplied."""
        missing = [name for name in self.params if name not in values]
        if missing:
            raise ModelError(f"{self.path}: no value for parameter(s) {', '.join(missing)}")
        return {name: values[name] for name in self.params}


def parse_model(path: Path, known_tables: set[str]) -> SqlModel:
    """Read and check one model file: header, inputs and syntax."""
    text = path.read_text()
    header = ASSET_HEADER_PATTERN.search(text)
    if header is None:
        raise ModelError(f"{path}: the first line must name the asset, like '-- asset: screened'")

    refs = tuple(dict.fromkeys(REF_PATTERN.findall(text)))
    unknown = [ref for ref in refs if ref not in known_tables]
    if unknown:
        raise ModelError(
            f"{path}: unknown input(s) {', '.join(unknown)}; "
            f"known tables are {', '.join(sorted(known_tables))}"
        )
    sql = REF_PATTERN.sub(lambda match: match.group(1), text)
    leftover = LEFTOVER_TEMPLATE_PATTERN.search(sql)
    if leftover:
        raise ModelError(f"{path}: cannot resolve {leftover.group(0)!r}; only ref('table') exists")

    try:
        statements = duckdb.connect(":memory:").extract_statements(sql)
    except duckdb.Error as error:
        raise ModelError(f"{path}: SQL syntax error: {error}") from error
    if len(statements) != 1:
        raise ModelError(f"{path}: holds {len(statements)} statements; a model is one select")

    params = tuple(dict.fromkeys(PARAM_PATTERN.findall(_without_comments_and_strings(sql))))
    return SqlModel(path=path, asset=header.group(1), sql=sql, refs=refs, params=params)


def load_models(sql_dir: Path, known_tables: set[str]) -> dict[str, SqlModel]:
    """Every model under `sql_dir`, keyed by the asset it builds (one model per asset)."""
    if not sql_dir.is_dir():
        raise ModelError(f"{sql_dir}: the SQL model folder does not exist")
    models: dict[str, SqlModel] = {}
    for path in sorted(sql_dir.rglob("*.sql")):
        model = parse_model(path, known_tables)
        if model.asset in models:
            raise ModelError(
                f"{path}: asset {model.asset!r} already has a model, {models[model.asset].path}"
            )
        models[model.asset] = model
    return models


def load_models_if_changed(sql_dir: Path, known_tables: set[str]) -> dict[str, SqlModel]:
    """`load_models`, answered from memory while no model file has changed on disk.

    Every warehouse step asks for its model; parsing the whole folder each time costs more
    than most writes. A file's path, size and modification time decide whether it changed.
    """
    files = sorted(sql_dir.rglob("*.sql")) if sql_dir.is_dir() else []
    signature = (
        str(sql_dir),
        frozenset(known_tables),
        tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files),
    )
    if signature not in _LOADED:
        _LOADED.clear()
        _LOADED[signature] = load_models(sql_dir, known_tables)
    return _LOADED[signature]


_LOADED: dict[tuple, dict[str, SqlModel]] = {}


def check_compiles(
    conn: duckdb.DuckDBPyConnection, model: SqlModel, params: dict[str, object] | None = None
) -> None:
    """Bind the model against the warehouse schema without running it (catches unknown columns).

    Parameters not given in `params` are bound as NULL.
    """
    placeholders = {name: (params or {}).get(name) for name in model.params}
    try:
        conn.execute(f"explain {model.sql}", placeholders)
    except duckdb.Error as error:
        raise ModelError(f"{model.path}: {error}") from error


def _without_comments_and_strings(sql: str) -> str:
    without_comments = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", without_comments)
