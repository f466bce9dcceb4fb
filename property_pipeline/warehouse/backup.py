"""Backups of the DuckDB warehouse as Parquet, with retention, and a restore that cannot lose data.

`backup` exports every table with DuckDB's EXPORT DATABASE into `backups/<UTC timestamp>/` next
to the warehouse file, with a manifest of row counts, and keeps the newest N backups. `restore`
imports a backup into a new file, checks its row counts against the manifest and only then
swaps it in place of the warehouse in one rename, keeping the replaced file beside it; any
failure before the swap leaves the warehouse as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from property_pipeline import settings

BACKUP_KEEP_ENV = "PROPERTY_PIPELINE_BACKUP_KEEP"
DEFAULT_KEEP = 7
MANIFEST_NAME = "manifest.json"
BEFORE_RESTORE_SUFFIX = ".before-restore"
# Backup folder names sort in time order, so the newest is simply the last one.
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
PARTIAL_PREFIX = ".partial-"
# How long a backup waits for a run holding the warehouse's write lock before giving up.
DEFAULT_LOCK_WAIT_SECONDS = 60.0


class BackupError(RuntimeError):
    """A backup or restore was refused or failed; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """One complete backup: its folder, when it was taken and each table's row count."""

    path: Path
    created_at: str
    row_counts: dict[str, int]

    @property
    def total_rows(self) -> int:
        """Rows over every table, for a one-line summary."""
        return sum(self.row_counts.values())


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup it used and where the replaced warehouse was kept."""

    backup: Backup
    warehouse: Path
    replaced_copy: Path | None


def backups_dir(warehouse: Path) -> Path:
    """The folder backups of `warehouse` go to: `backups/` beside the warehouse file."""
    return warehouse.parent / "backups"


def keep_from_env() -> int:
    """Backups to keep: `$PROPERTY_PIPELINE_BACKUP_KEEP`, else 7."""
    raw = os.environ.get(BACKUP_KEEP_ENV, "").strip()
    if not raw:
        return DEFAULT_KEEP
    try:
        return validate_keep(int(raw))
    except ValueError:
        raise BackupError(
            f"{BACKUP_KEEP_ENV}={raw!r} is not a whole number of at least 1; unset it or set e.g. 7"
        ) from None


def validate_keep(keep: int) -> int:
    """`keep` itself when it is at least 1: retention never deletes the backup just taken."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    return keep


def backup_warehouse(
    warehouse: Path,
    *,
    keep: int = DEFAULT_KEEP,
    now: dt.datetime | None = None,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> Backup:
    """Export `warehouse` to a new timestamped Parquet backup, then keep only the newest `keep`.

    The export is written under a hidden partial name and renamed once complete, so a crash
    leaves no folder that looks like a usable backup.
    """
    validate_keep(keep)
    if not warehouse.is_file():
        raise BackupError(
            f"no warehouse at {warehouse}; run the pipeline first, nothing to back up"
        )
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)
    folder = backups_dir(warehouse)
    final = folder / stamp
    if final.exists():
        raise BackupError(f"a backup named {final} already exists; try again in a moment")
    partial = folder / f"{PARTIAL_PREFIX}{stamp}"
    folder.mkdir(parents=True, exist_ok=True)

    try:
        with _open_waiting(warehouse, lock_wait_seconds) as conn:
            counts = table_row_counts(conn)
            # EXPORT writes one file per table and is no transaction: a crash mid-way leaves
            # only the partial folder, which is never listed as a backup.
            conn.execute(f"export database {sql_string(partial)} (format parquet)")
        manifest = {
            "created_at": stamp,
            "warehouse": str(warehouse),
            "duckdb_version": duckdb.__version__,
            "format": "parquet",
            "tables": counts,
        }
        (partial / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise

    prune_backups(folder, keep)
    return Backup(final, stamp, counts)


def table_row_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in every table of the connection's main schema, by table name."""
    tables = conn.execute(
        """
        select table_name
        from information_schema.tables
        where table_schema = 'main' and table_type = 'BASE TABLE'
        order by table_name
        """
    ).fetchall()
    # Table names come from the catalogue itself and are quoted as identifiers.
    return {
        name: conn.execute(f'select count(*) from main."{name}"').fetchone()[0]
        for (name,) in tables
    }


def list_backups(folder: Path) -> list[Backup]:
    """Complete backups in `folder`, oldest first; partial or manifest-less folders are left out."""
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            found.append(read_backup(entry))
        except BackupError:
            continue
    return found


def read_backup(path: Path) -> Backup:
    """The backup in `path`, read from its manifest; BackupError if it is not a complete one."""
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise BackupError(
            f"{path} is not a warehouse backup (no {MANIFEST_NAME}); pass a folder that"
            " `property-pipeline backup` made, or `latest`"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        tables = {str(name): int(rows) for name, rows in manifest["tables"].items()}
        created_at = str(manifest["created_at"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BackupError(
            f"{manifest_path} is unreadable ({type(error).__name__}: {error}); the backup is"
            " damaged, pick another one"
        ) from None
    return Backup(path, created_at, tables)


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` complete backups in `folder`; the deleted folders."""
    validate_keep(keep)
    backups = list_backups(folder)
    doomed = [backup.path for backup in backups[:-keep]]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def resolve_backup(warehouse: Path, which: str) -> Backup:
    """The backup `which` names: `latest`, or a backup folder path."""
    if which == "latest":
        backups = list_backups(backups_dir(warehouse))
        if not backups:
            raise BackupError(
                f"no backups in {backups_dir(warehouse)}; take one with `property-pipeline backup`"
            )
        return backups[-1]
    return read_backup(Path(which).expanduser().resolve())


def restore_warehouse(warehouse: Path, which: str = "latest") -> Restored:
    """Replace `warehouse` with the backup `which` names, verified before it is swapped in.

    Refuses while another process holds the warehouse; the replaced file is kept as
    `<warehouse>.before-restore` (one generation: an earlier one is overwritten).
    """
    backup = resolve_backup(warehouse, which)
    if warehouse.exists():
        _refuse_if_held(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    staged = warehouse.with_name(f"{warehouse.name}.restoring-{os.getpid()}")
    _remove_database_files(staged)

    try:
        _import_and_verify(staged, backup)
        replaced = _swap_in(staged, warehouse)
    finally:
        _remove_database_files(staged)
    return Restored(backup, warehouse, replaced)


def _import_and_verify(staged: Path, backup: Backup) -> None:
    """Import `backup` into the new file `staged` and check it holds what the manifest says."""
    with duckdb.connect(str(staged)) as conn:
        try:
            conn.execute(f"import database {sql_string(backup.path)}")
        except duckdb.Error as error:
            raise BackupError(
                f"importing {backup.path} failed: {_first_line(error)}; the warehouse was not"
                " touched, try an earlier backup"
            ) from None
        found = table_row_counts(conn)
        conn.execute("checkpoint")
    if found != backup.row_counts:
        differences = _count_differences(backup.row_counts, found)
        raise BackupError(
            f"{backup.path} does not match its manifest ({differences}); the warehouse was not"
            " touched, try an earlier backup"
        )


def _swap_in(staged: Path, warehouse: Path) -> Path | None:
    """Rename `staged` over `warehouse` in one step, keeping the old file; where it was kept.

    The old warehouse is held open for writing throughout, so no run can start writing it
    between the check and the rename; its write-ahead log is folded in first.
    """
    if not warehouse.exists():
        os.replace(staged, warehouse)
        return None
    kept = warehouse.with_name(warehouse.name + BEFORE_RESTORE_SUFFIX)
    with _open_exclusive(warehouse) as held:
        held.execute("checkpoint")
        _remove_database_files(kept)
        # A hard link keeps the old file under its new name while the rename below replaces
        # the warehouse path atomically: at no moment is there no warehouse file.
        try:
            os.link(warehouse, kept)
        except OSError:
            shutil.copy2(warehouse, kept)
        os.replace(staged, warehouse)
    return kept


def _refuse_if_held(warehouse: Path) -> None:
    with _open_exclusive(warehouse):
        pass


def _open_exclusive(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection to `warehouse`, or BackupError at once if another process has it."""
    try:
        return duckdb.connect(str(warehouse))
    except duckdb.IOException as error:
        raise BackupError(
            f"the warehouse {warehouse} is in use by another process ({_first_line(error)});"
            " stop runs, the daemon and `dagster dev` or wait for them, then retry"
        ) from None


def _open_waiting(warehouse: Path, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """A read-only connection to `warehouse`, retried while a run holds its write lock."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(warehouse), read_only=True)
        except duckdb.IOException as error:
            if time.monotonic() >= deadline:
                raise BackupError(
                    f"the warehouse {warehouse} stayed locked by another process for"
                    f" {wait_seconds:g}s ({_first_line(error)}); retry when the run finishes"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def sql_string(path: Path) -> str:
    """`path` as a quoted SQL string literal.

    EXPORT and IMPORT DATABASE take no bound parameters, so the folder is quoted here, with
    embedded quotes doubled as SQL requires.
    """
    return "'" + str(path).replace("'", "''") + "'"


def _remove_database_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def _count_differences(expected: dict[str, int], found: dict[str, int]) -> str:
    names = sorted(expected.keys() | found.keys())
    return ", ".join(
        f"{name}: manifest {expected.get(name, 'absent')}, imported {found.get(name, 'absent')}"
        for name in names
        if expected.get(name) != found.get(name)
    )


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def add_backup_commands(commands: argparse._SubParsersAction) -> None:
    """Register `backup [--keep N]` and `restore [BACKUP_DIR|latest]` on the CLI's subparsers."""
    backup = commands.add_parser(
        "backup",
        help="export the warehouse to Parquet under backups/ beside it, keeping the newest N",
        description="Export every warehouse table with DuckDB's EXPORT DATABASE into "
        "backups/<UTC timestamp>/ next to the warehouse file, with a manifest of row counts, "
        "then delete all but the newest N backups.",
    )
    backup.add_argument(
        "--keep",
        type=_positive_int,
        default=None,
        help=f"backups to keep (default ${BACKUP_KEEP_ENV} or {DEFAULT_KEEP})",
    )
    backup.set_defaults(handler=_run_backup)

    restore = commands.add_parser(
        "restore",
        help="replace the warehouse with a backup, verified first; the old file is kept",
        description="Import a backup into a new file, check its row counts against the "
        "backup's manifest, then swap it in place of the warehouse. The replaced file is kept "
        f"as <warehouse>{BEFORE_RESTORE_SUFFIX}. Refused while a run or the webserver holds "
        "the warehouse.",
    )
    restore.add_argument(
        "backup", nargs="?", default="latest", help="a backup folder, or latest (the default)"
    )
    restore.set_defaults(handler=_run_restore)


def _positive_int(text: str) -> int:
    try:
        return validate_keep(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--keep {text!r} must be a whole number >= 1") from None


def _run_backup(args: argparse.Namespace) -> int:
    warehouse = settings.warehouse_path()
    try:
        keep = args.keep if args.keep is not None else keep_from_env()
        made = backup_warehouse(warehouse, keep=keep)
    except BackupError as error:
        return _fail(str(error))
    tables = len(made.row_counts)
    _say(f"backed up {tables} tables ({made.total_rows} rows) to {made.path}; keeping {keep}")
    return 0


def _run_restore(args: argparse.Namespace) -> int:
    warehouse = settings.warehouse_path()
    try:
        done = restore_warehouse(warehouse, args.backup)
    except BackupError as error:
        return _fail(str(error))
    kept = f"; the replaced file is {done.replaced_copy}" if done.replaced_copy else ""
    _say(
        f"restored {warehouse} from {done.backup.path} ({len(done.backup.row_counts)} tables,"
        f" {done.backup.total_rows} rows, verified){kept}"
    )
    return 0


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _fail(message: str) -> int:
    sys.stderr.write(f"property-pipeline: {message}\n")
    return 2
