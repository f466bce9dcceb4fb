"""Loading HM Land Registry Price Paid files into the warehouse's `price_paid` table.

`load_price_paid` takes the complete file (about 30 million rows), a yearly file or a monthly
change file, from a path or an http(s) URL, and applies it in one transaction: A and C rows
replace the sale with their transaction id, D rows delete it. DuckDB streams the CSV itself, so
the file never sits in Python's memory. Into an empty table (the first load, or `replace=True`)
the rows are inserted straight from the file; otherwise the file is staged in a temporary table
and merged with anti-joins, which needs no index on 30 million ids.

Malformed rows (wrong column count, an id that is not a GUID, a price, date or code that does not
parse, a non-UTF-8 byte) are counted, the first few reported by line number, and skipped. A file
whose first lines are not Price Paid rows, or more than half of whose rows are rejected, is
refused and nothing is changed.

Known limits: a complete file loaded over a non-empty table without `replace=True` is staged
whole in DuckDB's memory (it spills to disk past the memory limit), and sales HMLR dropped without
a D row stay until a `replace=True` load of the complete file. Rows holding bytes that are not
UTF-8 (older complete files had a few) are rejected rather than guessed at.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import ipaddress
import logging
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import httpx

from property_pipeline import settings
from property_pipeline.sources.fetch import retry_after_seconds

log = logging.getLogger(__name__)

FIELD_COUNT = 16
GUID_IN_BRACES = re.compile(r"\{?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}?")
TRANSFER_DATE = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?")
HEAD_BYTES = 1 << 20
HEAD_LINES_CHECKED = 20
REJECTED_EXAMPLES = 5
# More rejected rows than this share means the file is not in the layout we read.
MAX_REJECTED_SHARE = 0.5
PROGRESS_INTERVAL_S = 1.0
LOOPBACK_HOSTS = {"localhost"}
REJECTS_TABLE = "__price_paid_rejects"
# A busy or failing server, or a download cut short, is tried this many times in all.
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_BACKOFF_SECONDS = 2.0
MAX_RETRY_AFTER_SECONDS = 60.0
REJECT_SCANS_TABLE = "__price_paid_reject_scans"
STAGED_TABLE = "__price_paid_staged"
CHANGES_TABLE = "__price_paid_changes"


class PricePaidSourceError(ValueError):
    """The file or URL given cannot be loaded as it is: missing, refused, broken off mid-way or
    not a Price Paid file. The message names it and says what to do; nothing was changed."""


class PricePaidFormatError(PricePaidSourceError):
    """The file is readable but not in the Price Paid layout (a header row, other columns, too
    many rows that do not parse)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row of the file that was skipped: its line number and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class PricePaidLoad:
    """What one load read and did, for the CLI, logs and the `price_paid_loads` table.

    `kind` is 'monthly' when the file held C or D rows, else 'complete' (the complete and yearly
    files hold current records only). `updated` counts sales whose values changed; `unchanged`
    those the file repeated as they were stored (so re-running a file changes nothing).
    """

    source: str
    kind: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    rejected: int
    rejected_examples: tuple[RejectedRow, ...]
    duration_s: float

    def summary(self) -> dict[str, object]:
        """The load as a JSON-ready dict (examples as "line N: reason")."""
        fields = asdict(self)
        fields["rejected_examples"] = [
            f"line {row.line}: {row.reason}" for row in self.rejected_examples
        ]
        fields["duration_s"] = round(self.duration_s, 2)
        return fields


@dataclass(frozen=True)
class _Applied:
    inserted: int
    updated: int
    unchanged: int
    deleted: int
    change_rows: int
    accepted_rows: int


def load_price_paid(
    conn: duckdb.DuckDBPyConnection,
    source: str | Path,
    *,
    progress: Callable[[int], None] | None = None,
    replace: bool = False,
) -> PricePaidLoad:
    """Apply a Price Paid file (path or http(s) URL, .csv or .csv.gz) to `price_paid`.

    One transaction: a failure, or a file that is not Price Paid data, leaves the table as it
    was. `progress` is called with the rows read so far (estimated from the bytes DuckDB has
    scanned) about once a second, and with the exact count at the end. `replace=True` empties
    the table first and only accepts a file without change rows: the way to reload the complete
    file so that sales HMLR dropped disappear too.
    """
    started = dt.datetime.now()
    clock = time.perf_counter()
    name = str(source)
    with _local_copy(source) as path:
        check_head(path, name)
        log.info("loading Price Paid rows from %s", name)
        applied, rejected, examples = _apply_file(conn, path, name, progress, replace, started)
    load = PricePaidLoad(
        source=name,
        kind="monthly" if applied.change_rows else "complete",
        rows_read=applied.accepted_rows + rejected,
        inserted=applied.inserted,
        updated=applied.updated,
        unchanged=applied.unchanged,
        deleted=applied.deleted,
        rejected=rejected,
        rejected_examples=examples,
        duration_s=time.perf_counter() - clock,
    )
    log.info(
        "Price Paid %s file %s: %s rows read, %s inserted, %s updated, %s unchanged, %s deleted,"
        " %s rejected in %.1fs",
        load.kind,
        name,
        f"{load.rows_read:,}",
        f"{load.inserted:,}",
        f"{load.updated:,}",
        f"{load.unchanged:,}",
        f"{load.deleted:,}",
        f"{load.rejected:,}",
        load.duration_s,
    )
    return load


def _apply_file(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    progress: Callable[[int], None] | None,
    replace: bool,
    started: dt.datetime,
) -> tuple[_Applied, int, tuple[RejectedRow, ...]]:
    """Read and apply the file inside one transaction; roll back on any failure."""
    estimated_rows = estimate_rows(path)
    conn.execute("begin transaction")
    try:
        replaced = conn.execute("delete from price_paid").fetchone()[0] if replace else 0
        empty = conn.execute("select not exists (select 1 from price_paid)").fetchone()[0]
        reading = _ProgressWatch(conn, estimated_rows, progress)
        if empty:
            applied = _insert_file(conn, path, replaced, reading)
        else:
            applied = _merge_file(conn, path, reading)
        rejected, examples = _rejected_rows(conn)
        _refuse_unusable(name, applied, rejected, examples, replace)
        rows_read = applied.accepted_rows + rejected
        if progress is not None:
            progress(rows_read)
        _record_load(conn, name, applied, rejected, started)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        _drop_work_tables(conn)
    return applied, rejected, examples


def _insert_file(
    conn: duckdb.DuckDBPyConnection, path: Path, replaced: int, reading: _ProgressWatch
) -> _Applied:
    """Fast path into an empty table: insert every row, then drop what D rows cancel.

    Every row goes in first (with its status) so the file is read once; the D rows, the rows
    they cancel and any id the file repeats are cleaned up afterwards, which is cheap when, as
    in the complete file, there are none. `replaced` is how many stored rows a replacing load
    deleted first; they count as deleted.
    """
    with reading:
        accepted = conn.execute(
            f"insert into price_paid by name {_sql('price_paid_file_rows.sql')}",
            {"path": str(path)},
        ).fetchone()[0]
    change_rows = conn.execute(
        "select count(*) from price_paid where record_status <> 'A'"
    ).fetchone()[0]
    if change_rows:
        conn.execute(
            """
            delete from price_paid
            where transaction_id in (
                select transaction_id from price_paid where record_status = 'D'
            )
            """
        )
    repeated = conn.execute(
        "select count(*) - count(distinct transaction_id) from price_paid"
    ).fetchone()[0]
    if repeated:
        log.warning("%s transaction ids repeat within the file; keeping one row each", repeated)
        conn.execute(
            """
            delete from price_paid
            where rowid in (
                select rowid
                from price_paid
                qualify row_number() over (
                    partition by transaction_id
                    order by case record_status when 'C' then 0 else 1 end
                ) > 1
            )
            """
        )
    inserted = conn.execute("select count(*) from price_paid").fetchone()[0]
    return _Applied(inserted, 0, 0, replaced, change_rows, accepted)


def _merge_file(conn: duckdb.DuckDBPyConnection, path: Path, reading: _ProgressWatch) -> _Applied:
    """Stage the file, classify each id against the table, then delete and insert set-wise."""
    with reading:
        conn.execute(
            f"create or replace temp table {STAGED_TABLE} as {_sql('price_paid_file_rows.sql')}",
            {"path": str(path)},
        )
    conn.execute(
        f"create or replace temp table {CHANGES_TABLE} as {_sql('price_paid_changes.sql')}"
    )
    accepted, change_rows = conn.execute(
        f"select count(*), count(*) filter (where record_status <> 'A') from {STAGED_TABLE}"
    ).fetchone()
    counts = dict(
        conn.execute(f"select change, count(*) from {CHANGES_TABLE} group by change").fetchall()
    )
    conn.execute(
        f"""
        delete from price_paid
        where transaction_id in (
            select transaction_id from {CHANGES_TABLE} where change in ('update', 'delete')
        )
        """
    )
    conn.execute(
        f"""
        insert into price_paid by name
        select * exclude (change) from {CHANGES_TABLE} where change in ('insert', 'update')
        """
    )
    return _Applied(
        inserted=counts.get("insert", 0),
        updated=counts.get("update", 0),
        unchanged=counts.get("unchanged", 0),
        deleted=counts.get("delete", 0),
        change_rows=change_rows,
        accepted_rows=accepted,
    )


def _rejected_rows(conn: duckdb.DuckDBPyConnection) -> tuple[int, tuple[RejectedRow, ...]]:
    """How many lines DuckDB set aside, and the first few with their first error each."""
    count = conn.execute(f"select count(distinct line) from {REJECTS_TABLE}").fetchone()[0]
    rows = conn.execute(
        f"""
        select line, arg_min(error_message, column_idx) as reason
        from {REJECTS_TABLE}
        group by line
        order by line
        limit $limit
        """,
        {"limit": REJECTED_EXAMPLES},
    ).fetchall()
    return count, tuple(RejectedRow(int(line), _short_reason(reason)) for line, reason in rows)


def _short_reason(message: str) -> str:
    """DuckDB's error message without its advice paragraph, on one line."""
    first = message.strip().split("\n", 1)[0]
    return first[:200]


def _refuse_unusable(
    name: str,
    applied: _Applied,
    rejected: int,
    examples: tuple[RejectedRow, ...],
    replace: bool,
) -> None:
    """Raise (so the transaction rolls back) when the file cannot be what it claims to be."""
    rows_read = applied.accepted_rows + rejected
    if rows_read == 0:
        raise PricePaidFormatError(f"{name}: holds no rows; nothing was loaded")
    if rejected > MAX_REJECTED_SHARE * rows_read:
        first = f" (line {examples[0].line}: {examples[0].reason})" if examples else ""
        raise PricePaidFormatError(
            f"{name}: {rejected:,} of {rows_read:,} rows do not parse as Price Paid data{first};"
            " the layout may have changed, nothing was loaded"
        )
    if replace and applied.change_rows:
        raise PricePaidSourceError(
            f"{name}: is a monthly change file ({applied.change_rows:,} C/D rows); replacing"
            " the table needs the complete file, or load this one without replacing"
        )


def _record_load(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    applied: _Applied,
    rejected: int,
    started: dt.datetime,
) -> None:
    conn.execute(
        """
        insert into price_paid_loads by name
        select
            $source as source,
            $kind as kind,
            $rows_read as rows_read,
            $inserted as inserted,
            $updated as updated,
            $unchanged as unchanged,
            $deleted as deleted,
            $rejected as rejected,
            $started_at as started_at,
            now()::timestamp as finished_at
        """,
        {
            "source": name,
            "kind": "monthly" if applied.change_rows else "complete",
            "rows_read": applied.accepted_rows + rejected,
            "inserted": applied.inserted,
            "updated": applied.updated,
            "unchanged": applied.unchanged,
            "deleted": applied.deleted,
            "rejected": rejected,
            "started_at": started,
        },
    )


def _drop_work_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for table in (STAGED_TABLE, CHANGES_TABLE, REJECTS_TABLE, REJECT_SCANS_TABLE):
        conn.execute(f"drop table if exists {table}")


def _sql(name: str) -> str:
    """A SQL statement shipped in `enrichment/sql/`."""
    return resources.files("property_pipeline.enrichment").joinpath("sql", name).read_text()


# ---------------------------------------------------------------------------------------------
# The file: local path or download, and a look at its first lines
# ---------------------------------------------------------------------------------------------


@contextmanager
def _local_copy(source: str | Path) -> Iterator[Path]:
    """The file to read: the path itself, or a URL downloaded to a temporary file."""
    text = str(source)
    if urlsplit(text).scheme in {"http", "https"}:
        check_url_allowed(text)
        suffix = ".csv.gz" if urlsplit(text).path.endswith(".gz") else ".csv"
        with tempfile.TemporaryDirectory(prefix="price_paid_") as folder:
            path = Path(folder) / f"download{suffix}"
            download(text, path)
            yield path
        return
    path = Path(source).expanduser()
    if not path.is_file():
        raise PricePaidSourceError(
            f"{text}: no such file; give a Price Paid CSV (pp-complete.csv, pp-YYYY.csv,"
            " pp-monthly-update-new-version.csv) or its http(s) URL"
        )
    yield path


def check_url_allowed(url: str) -> None:
    """Refuse a URL off this machine unless live upstreams were asked for explicitly."""
    host = urlsplit(url).hostname or ""
    if _is_loopback(host) or settings.upstream_mode() == "live":
        return
    raise PricePaidSourceError(
        f"{url}: is not on this machine and live downloads are off; set"
        f" {settings.LIVE_ENV}=1 to fetch from HM Land Registry, or use the sandbox's"
        " http://127.0.0.1:PORT/landregistry/pp-complete.csv"
    )


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _RetryableDownload(PricePaidSourceError):
    """A failed download worth trying again: 429, 5xx, a timeout or a body cut short."""

    def __init__(self, message: str, wait_seconds: float | None = None) -> None:
        super().__init__(message)
        self.wait_seconds = wait_seconds


def download(
    url: str,
    path: Path,
    *,
    attempts: int = DOWNLOAD_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Stream `url` to `path` and return its size, trying up to `attempts` times when the server
    is busy (429, honouring Retry-After up to a minute), failing (5xx) or the download breaks off;
    the last failure, or any other, raises PricePaidSourceError naming the URL."""
    for attempt in range(1, attempts + 1):
        try:
            return _download_once(url, path)
        except _RetryableDownload as error:
            if attempt == attempts:
                raise PricePaidSourceError(f"{error} (after {attempts} attempts)") from error
            wait = error.wait_seconds
            if wait is None:
                wait = DOWNLOAD_BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.warning("%s; attempt %d of %d, again in %.0fs", error, attempt, attempts, wait)
            sleep(min(wait, MAX_RETRY_AFTER_SECONDS))
    raise AssertionError("unreachable")


def _download_once(url: str, path: Path) -> int:
    started = time.perf_counter()
    size = 0
    timeout = httpx.Timeout(30.0, connect=10.0)
    # Proxy settings from the environment must not divert requests to the local sandbox.
    trust_env = not _is_loopback(urlsplit(url).hostname or "")
    log.info("downloading %s", url)
    try:
        with httpx.stream(
            "GET", url, timeout=timeout, follow_redirects=True, trust_env=trust_env
        ) as response:
            if response.status_code != 200:
                first_line = response.read().decode(errors="replace").strip().split("\n")[0]
                message = f"{url}: HTTP {response.status_code} ({first_line[:120]})"
                if response.status_code == 429 or response.status_code >= 500:
                    asked = retry_after_seconds(
                        response.headers.get("retry-after"), dt.datetime.now(dt.UTC)
                    )
                    raise _RetryableDownload(message, asked)
                raise PricePaidSourceError(f"{message}; check the URL")
            with path.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    size += len(chunk)
    except httpx.ConnectError as error:
        raise PricePaidSourceError(
            f"{url}: cannot be reached ({error}); check the host and port (is the sandbox running?)"
        ) from error
    except httpx.HTTPError as error:
        raise _RetryableDownload(
            f"{url}: the download broke off after {size:,} bytes ({type(error).__name__});"
            " nothing was loaded"
        ) from error
    log.info("downloaded %.1f MB in %.1fs", size / 1e6, time.perf_counter() - started)
    return size


def _head(path: Path) -> bytes:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(HEAD_BYTES)
    except (OSError, EOFError) as error:
        raise PricePaidSourceError(f"{path}: cannot be read: {error}") from error


def check_head(path: Path, name: str) -> None:
    """Refuse a file whose first lines are not Price Paid rows (a header row, a saved web page,
    a changed layout) before DuckDB reads millions of rows only to reject them."""
    head = _head(path)
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(head) == HEAD_BYTES:
        lines = lines[:-1]  # the last one may be cut
    sample = [line for line in lines if line.strip()][:HEAD_LINES_CHECKED]
    if not sample:
        raise PricePaidFormatError(f"{name}: holds no rows; nothing was loaded")
    problems = [problem for problem in map(row_problem, sample) if problem]
    if len(problems) > len(sample) // 2:
        raise PricePaidFormatError(
            f"{name}: is not a Price Paid file: line 1 {problems[0]}; expected 16 quoted"
            " columns without a header, starting with a {GUID} id and a YYYY-MM-DD date"
        )


def row_problem(line: str) -> str | None:
    """What keeps one CSV line from being a Price Paid row, or None when it looks like one."""
    fields = next(csv.reader([line]))
    if len(fields) != FIELD_COUNT:
        return f"has {len(fields)} columns, not {FIELD_COUNT}"
    if not GUID_IN_BRACES.fullmatch(fields[0]):
        return f"starts with {fields[0][:40]!r}, not a transaction id"
    if not TRANSFER_DATE.fullmatch(fields[2]):
        return f"has {fields[2][:20]!r} for the transfer date"
    return None


def estimate_rows(path: Path) -> int | None:
    """Rows in the file, judged from the line length of its first megabyte (None for .gz,
    whose size on disk says little about its rows)."""
    if path.name.endswith(".gz"):
        return None
    head = _head(path)
    lines = head.count(b"\n")
    if lines == 0:
        return None
    return round(path.stat().st_size / (len(head) / lines))


class _ProgressWatch:
    """Around the statement that reads the file: calls `progress` with the rows read so far,
    estimated from the share of the file DuckDB reports done, whenever it has grown. DuckDB only
    reports that share with its progress bar on, so the bar is on (unprinted) meanwhile."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        estimated_rows: int | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        self._conn = conn
        self._estimated_rows = estimated_rows
        self._progress = progress
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    def __enter__(self) -> None:
        if self._progress is None or self._estimated_rows is None:
            return
        self._conn.execute("set enable_progress_bar = true")
        self._conn.execute("set enable_progress_bar_print = false")
        self._poller = threading.Thread(target=self._poll, name="price-paid-progress")
        self._poller.start()

    def __exit__(self, *exc_info: object) -> None:
        if self._poller is None:
            return
        self._stop.set()
        self._poller.join()
        self._conn.execute("reset enable_progress_bar")
        self._conn.execute("reset enable_progress_bar_print")

    def _poll(self) -> None:
        assert self._progress is not None and self._estimated_rows is not None
        reported = 0
        while not self._stop.wait(PROGRESS_INTERVAL_S):
            done = self._conn.query_progress()
            rows = int(self._estimated_rows * min(max(done, 0.0), 100.0) / 100)
            if rows <= reported:
                continue
            reported = rows
            try:
                self._progress(rows)
            except Exception:  # a failing display must not fail the load
                log.exception("the progress callback failed; no more progress reports")
                return
