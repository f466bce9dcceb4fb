"""The raw page archive: every fetched body kept compressed, so a day can be re-parsed offline.

Layout under the archive root (by default `archive/` beside the warehouse file):

    {source}/{YYYY-MM-DD}/{sha256(url)[:24]}.gz   the body, gzip-compressed
    {source}/{YYYY-MM-DD}/index.jsonl             one JSON line a saved page, oldest first

An index line holds the URL, status, fetch time, content type, the page's role in the crawl
("search", "detail" or "navigation"), the body's size and digest, and the file name. A body is
written to a temporary name, flushed and renamed into place before its index line is appended,
so the index never points at a half-written file. The index is append-only (rewriting it per
page would cost the square of a day's pages), each line goes out in one write, and a reader
skips a line torn by a crash. Fetching the same URL again on the same day replaces its body; its
latest line wins and it keeps the place of its first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from property_pipeline import settings
from property_pipeline.sources.fetch import FetchResult, decode_body

INDEX_NAME = "index.jsonl"
PAGE_ROLES = ("search", "detail", "navigation")
SOURCE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
URL_HASH_LENGTH = 24
# gzip level 3: measured on real captures, a third of the CPU of level 9 for files about 10%
# larger; a day archives thousands of pages, so compression was a fifth of the scrape.
COMPRESS_LEVEL = 3


class ArchiveError(RuntimeError):
    """An archived page is missing, damaged or was asked for with a bad name."""


@dataclass(frozen=True)
class ArchivedPage:
    """One archived fetch: what the index says about it, and its body on demand."""

    source: str
    day: dt.date
    url: str
    status: int
    fetched_at: dt.datetime
    content_type: str
    role: str
    size: int
    sha256: str
    path: Path

    def body(self) -> bytes:
        """The page's bytes as fetched, checked against the digest taken when saved."""
        try:
            body = gzip.decompress(self.path.read_bytes())
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise ArchiveError(
                f"archived page {self.path} for {self.url} is unreadable: {error}"
            ) from error
        if hashlib.sha256(body).hexdigest() != self.sha256:
            raise ArchiveError(
                f"archived page {self.path} for {self.url} does not match its digest; "
                "re-fetch that day"
            )
        return body

    def text(self) -> str:
        """The body decoded as the server's content type said."""
        return decode_body(self.body(), self.content_type)


def default_archive_root() -> Path:
    """`archive/` in the data folder, beside the warehouse file the settings point at."""
    return settings.warehouse_path().parent / "archive"


def url_key(url: str) -> str:
    """The file stem a URL's body is stored under: the first 24 hex digits of its SHA-256."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:URL_HASH_LENGTH]


class PageArchive:
    """Compressed bodies and a JSON index per source and day under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def day_folder(self, source: str, day: dt.date) -> Path:
        """Where one source's pages for one day live."""
        if not SOURCE_PATTERN.match(source):
            raise ArchiveError(
                f"source name {source!r} cannot name an archive folder; use lower-case letters"
            )
        return self.root / source / day.isoformat()

    def save(
        self,
        source: str,
        day: dt.date,
        url: str,
        body: bytes,
        *,
        status: int = 200,
        fetched_at: dt.datetime,
        content_type: str = "",
        role: str = "search",
    ) -> ArchivedPage:
        """Store one body and record it in the day's index; returns the archived page."""
        entry = self.write_body(
            source,
            day,
            url,
            body,
            status=status,
            fetched_at=fetched_at,
            content_type=content_type,
            role=role,
        )
        return self.index(source, day, entry)

    def write_result(
        self, source: str, day: dt.date, result: FetchResult, role: str = "search"
    ) -> dict[str, Any]:
        """`write_body` for a `FetchResult`."""
        return self.write_body(
            source,
            day,
            result.url,
            result.body,
            status=result.status,
            fetched_at=result.fetched_at,
            content_type=result.content_type,
            role=role,
        )

    def write_body(
        self,
        source: str,
        day: dt.date,
        url: str,
        body: bytes,
        *,
        status: int = 200,
        fetched_at: dt.datetime,
        content_type: str = "",
        role: str = "search",
    ) -> dict[str, Any]:
        """Compress and write one body to its file; returns the entry `index` records.

        The costly half of `save`, safe to run on several threads at once; the page is not
        in the archive until its entry is indexed.
        """
        if role not in PAGE_ROLES:
            raise ArchiveError(f"page role {role!r} is not one of {', '.join(PAGE_ROLES)}")
        folder = self.day_folder(source, day)
        folder.mkdir(parents=True, exist_ok=True)
        file_name = f"{url_key(url)}.gz"
        entry = {
            "url": url,
            "status": status,
            "fetched_at": fetched_at.isoformat(),
            "content_type": content_type,
            "role": role,
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "file": file_name,
        }
        _write_atomically(folder / file_name, gzip.compress(body, COMPRESS_LEVEL, mtime=0))
        return entry

    def index(
        self, source: str, day: dt.date, entry: dict[str, Any], *, sync: bool = True
    ) -> ArchivedPage:
        """Record a written page in the day's index, after the pages indexed before it.

        With `sync` False the line is not flushed to disk until `sync_day`: a crawl indexes
        thousands of pages from its event loop and syncs once at the end.
        """
        folder = self.day_folder(source, day)
        _append_line(folder / INDEX_NAME, json.dumps(entry, ensure_ascii=False), sync=sync)
        return _page_from_entry(source, day, folder, entry)

    def sync_day(self, source: str, day: dt.date) -> None:
        """Flush the day's index to disk (the pages' own files are flushed as written)."""
        index_path = self.day_folder(source, day) / INDEX_NAME
        if not index_path.exists():
            return
        descriptor = os.open(index_path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def pages(self, source: str, day: dt.date) -> Iterator[ArchivedPage]:
        """The source's archived pages for `day`, in the order they were first saved."""
        folder = self.day_folder(source, day)
        for entry in _read_entries(folder):
            yield _page_from_entry(source, day, folder, entry)

    def has_day(self, source: str, day: dt.date) -> bool:
        """Whether any page of `source` was archived for `day`."""
        return bool(_read_entries(self.day_folder(source, day)))

    def days(self, source: str) -> list[dt.date]:
        """Every day with archived pages for `source`, oldest first."""
        folder = self.root / source
        if not folder.is_dir():
            return []
        found = []
        for child in folder.iterdir():
            with contextlib.suppress(ValueError):
                day = dt.date.fromisoformat(child.name)
                if self.has_day(source, day):
                    found.append(day)
        return sorted(found)


def _page_from_entry(
    source: str, day: dt.date, folder: Path, entry: dict[str, Any]
) -> ArchivedPage:
    return ArchivedPage(
        source=source,
        day=day,
        url=entry["url"],
        status=int(entry["status"]),
        fetched_at=dt.datetime.fromisoformat(entry["fetched_at"]),
        content_type=entry.get("content_type", ""),
        role=entry.get("role", "search"),
        size=int(entry["size"]),
        sha256=entry["sha256"],
        path=folder / entry["file"],
    )


def _read_entries(folder: Path) -> list[dict[str, Any]]:
    """The index's entries, the latest per URL in the place of its first, or [] for no index.

    A line that is not a whole JSON object (the tail of a write cut off by a crash) is skipped.
    """
    index_path = folder / INDEX_NAME
    try:
        lines = index_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise ArchiveError(f"archive index {index_path} is unreadable: {error}") from error
    latest: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            latest[entry["url"]] = entry
    return list(latest.values())


def _append_line(path: Path, line: str, *, sync: bool = True) -> None:
    """Append one line in a single write, starting a fresh line if a torn one ends the file."""
    data = (line + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(descriptor).st_size
        if size and not _ends_with_newline(path, size):
            data = b"\n" + data
        os.write(descriptor, data)
        if sync:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _ends_with_newline(path: Path, size: int) -> bool:
    with open(path, "rb") as file:
        file.seek(size - 1)
        return file.read(1) == b"\n"


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it over."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
