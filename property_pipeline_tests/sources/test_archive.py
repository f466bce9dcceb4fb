"""The raw page archive: bodies kept compressed by source, day and URL, and never half-written."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest

from property_pipeline.sources.archive import ArchiveError, PageArchive, default_archive_root
from property_pipeline.sources.fetch import FetchResult

DAY = dt.date(2026, 3, 2)
FETCHED = dt.datetime(2026, 3, 2, 7, 15, 3, tzinfo=dt.UTC)
SEARCH_URL = "https://www.rightmove.co.uk/api/property-search/listing/search?index=0"
DETAIL_URL = "https://www.rightmove.co.uk/properties/171605312"
SEARCH_BODY = b'{"properties":[{"id":171605312}],"resultCount":"1"}'
DETAIL_BODY = "<html><script>window.PAGE_MODEL = {}</script>£250,000</html>".encode()


def stem(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def save_two(archive: PageArchive) -> None:
    archive.save(
        "rightmove",
        DAY,
        SEARCH_URL,
        SEARCH_BODY,
        fetched_at=FETCHED,
        content_type="application/json",
    )
    archive.save(
        "rightmove",
        DAY,
        DETAIL_URL,
        DETAIL_BODY,
        status=200,
        fetched_at=FETCHED + dt.timedelta(seconds=2),
        content_type="text/html; charset=utf-8",
        role="detail",
    )


def test_pages_come_back_as_saved_in_save_order(tmp_path: Path) -> None:
    archive = PageArchive(tmp_path)
    save_two(archive)

    pages = list(PageArchive(tmp_path).pages("rightmove", DAY))

    assert [page.url for page in pages] == [SEARCH_URL, DETAIL_URL]
    assert [page.body() for page in pages] == [SEARCH_BODY, DETAIL_BODY]
    assert [page.role for page in pages] == ["search", "detail"]
    assert pages[1].fetched_at == FETCHED + dt.timedelta(seconds=2)
    assert pages[1].content_type == "text/html; charset=utf-8"
    assert pages[1].text().endswith("£250,000</html>")
    assert pages[0].size == len(SEARCH_BODY)


def test_bodies_are_gzip_files_named_by_source_day_and_url_hash(tmp_path: Path) -> None:
    save_two(PageArchive(tmp_path))

    folder = tmp_path / "rightmove" / "2026-03-02"
    body_file = folder / f"{stem(SEARCH_URL)}.gz"
    assert gzip.decompress(body_file.read_bytes()) == SEARCH_BODY
    lines = (folder / "index.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == {
        "url": SEARCH_URL,
        "status": 200,
        "fetched_at": "2026-03-02T07:15:03+00:00",
        "content_type": "application/json",
        "role": "search",
        "size": len(SEARCH_BODY),
        "sha256": hashlib.sha256(SEARCH_BODY).hexdigest(),
        "file": f"{stem(SEARCH_URL)}.gz",
    }


def test_fetching_a_url_again_replaces_its_body_and_keeps_its_place(tmp_path: Path) -> None:
    archive = PageArchive(tmp_path)
    save_two(archive)
    newer = b'{"properties":[],"resultCount":"0"}'

    archive.save("rightmove", DAY, SEARCH_URL, newer, fetched_at=FETCHED + dt.timedelta(hours=1))

    pages = list(archive.pages("rightmove", DAY))
    assert [page.url for page in pages] == [SEARCH_URL, DETAIL_URL]
    assert pages[0].body() == newer
    assert pages[0].fetched_at == FETCHED + dt.timedelta(hours=1)


def test_days_are_kept_apart_per_source(tmp_path: Path) -> None:
    archive = PageArchive(tmp_path)
    save_two(archive)
    archive.save(
        "zoopla", DAY + dt.timedelta(days=1), "https://www.zoopla.co.uk/x", b"x", fetched_at=FETCHED
    )

    assert archive.has_day("rightmove", DAY)
    assert not archive.has_day("rightmove", DAY + dt.timedelta(days=1))
    assert not archive.has_day("zoopla", DAY)
    assert archive.days("zoopla") == [DAY + dt.timedelta(days=1)]
    assert archive.days("allsop") == []
    assert list(archive.pages("allsop", DAY)) == []


def test_a_failed_index_append_leaves_the_index_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = PageArchive(tmp_path)
    archive.save("rightmove", DAY, SEARCH_URL, SEARCH_BODY, fetched_at=FETCHED)
    index = tmp_path / "rightmove" / "2026-03-02" / "index.jsonl"
    index_before = index.read_bytes()

    def disk_full(descriptor: int, data: bytes) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError, match="disk full"):
        archive.save("rightmove", DAY, DETAIL_URL, DETAIL_BODY, fetched_at=FETCHED)
    monkeypatch.undo()

    assert index.read_bytes() == index_before
    assert [page.url for page in archive.pages("rightmove", DAY)] == [SEARCH_URL]


def test_an_index_line_torn_by_a_crash_is_skipped_and_the_next_save_still_counts(
    tmp_path: Path,
) -> None:
    archive = PageArchive(tmp_path)
    archive.save("rightmove", DAY, SEARCH_URL, SEARCH_BODY, fetched_at=FETCHED)
    index = tmp_path / "rightmove" / "2026-03-02" / "index.jsonl"
    with open(index, "ab") as file:
        file.write(b'{"url": "https://www.rightmove.co.uk/prop')

    assert [page.url for page in archive.pages("rightmove", DAY)] == [SEARCH_URL]
    archive.save("rightmove", DAY, DETAIL_URL, DETAIL_BODY, fetched_at=FETCHED, role="detail")

    pages = list(archive.pages("rightmove", DAY))
    assert [page.url for page in pages] == [SEARCH_URL, DETAIL_URL]
    assert [page.body() for page in pages] == [SEARCH_BODY, DETAIL_BODY]


def test_a_failed_body_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = PageArchive(tmp_path)
    archive.save("rightmove", DAY, SEARCH_URL, SEARCH_BODY, fetched_at=FETCHED)
    folder = tmp_path / "rightmove" / "2026-03-02"

    def interrupted(source: str, target: str | Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        archive.save("rightmove", DAY, SEARCH_URL, b"half a page", fetched_at=FETCHED)
    monkeypatch.undo()

    assert [page.body() for page in archive.pages("rightmove", DAY)] == [SEARCH_BODY]
    assert sorted(path.name for path in folder.iterdir()) == [
        f"{stem(SEARCH_URL)}.gz",
        "index.jsonl",
    ]


def test_a_damaged_body_is_reported_not_returned(tmp_path: Path) -> None:
    archive = PageArchive(tmp_path)
    archive.save("rightmove", DAY, SEARCH_URL, SEARCH_BODY, fetched_at=FETCHED)
    body_file = tmp_path / "rightmove" / "2026-03-02" / f"{stem(SEARCH_URL)}.gz"
    body_file.write_bytes(gzip.compress(b"something else"))

    [page] = archive.pages("rightmove", DAY)
    with pytest.raises(ArchiveError, match="does not match its digest"):
        page.body()


def test_source_names_cannot_escape_the_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot name an archive folder"):
        PageArchive(tmp_path).save("../etc", DAY, SEARCH_URL, b"x", fetched_at=FETCHED)


def test_a_fetch_result_is_saved_with_its_status_time_and_type(tmp_path: Path) -> None:
    result = FetchResult(
        url=DETAIL_URL,
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=DETAIL_BODY,
        fetched_at=FETCHED,
        elapsed=0.2,
        attempts=1,
        http_version="HTTP/2",
    )

    archive = PageArchive(tmp_path)
    page = archive.index("rightmove", DAY, archive.write_result("rightmove", DAY, result, "detail"))

    assert (page.url, page.status, page.fetched_at, page.role) == (
        DETAIL_URL,
        200,
        FETCHED,
        "detail",
    )
    assert page.content_type == "text/html; charset=utf-8"
    assert page.body() == DETAIL_BODY


def test_the_default_root_sits_beside_the_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPERTY_PIPELINE_WAREHOUSE", str(tmp_path / "data" / "w.duckdb"))

    assert default_archive_root() == (tmp_path / "data" / "archive").resolve()
