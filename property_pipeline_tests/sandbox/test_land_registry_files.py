"""Price Paid CSV files from the sandbox, parsed like the real HMLR monthly file."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from property_pipeline.sandbox import land_registry
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.land_registry import csv_chunks, ppd_row, routes
from property_pipeline.sandbox.model import Sale
from property_pipeline_tests.sandbox.support import (
    MARKET_DAY,
    FakeMarket,
    make_property,
    read_capture,
    real_market,
    sandbox_client,
)

REAL_MONTHLY = "open-data/ppd/pp-monthly-update-new-version_2026-03_excerpt_A_C_D.csv"
# Column patterns of the official files (open-data.md §2.1), checked against real rows below.
COLUMN_PATTERNS = (
    r"\{[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{12}\}",
    r"[1-9][0-9]*",
    r"(199[5-9]|20[0-9]{2})-[01][0-9]-[0-3][0-9] 00:00",
    r"([A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2})?",
    r"[DSTFO]",
    r"[YN]",
    r"[FLU]",
    r"[^a-z]*",
    r"[^a-z]*",
    r"[^a-z]*",
    r"[^a-z]*",
    r"[^a-z]+",
    r"[^a-z]+",
    r"[^a-z]+",
    r"[AB]",
    r"[ACD]",
)


def make_sale(index: int, **overrides: Any) -> Sale:
    """Sale `index` of property `index`, completed in February and lodged in March 2026."""
    base = Sale(
        transaction_id=f"{{4E75C29C-C5C8-8922-E063-{index:012X}}}",
        price=250_000 + index * 1_000,
        transfer_date=dt.date(2026, 2, index),
        property=make_property(index),
        ppd_category="A",
        lodged_on=dt.date(2026, 3, index),
    )
    return dataclasses.replace(base, **overrides)


def ppd_market() -> FakeMarket:
    """Five sales lodged in March 2026, one lodged in April, and March's change file."""
    sales = [make_sale(index) for index in range(1, 6)]
    sales.append(make_sale(6, lodged_on=dt.date(2026, 4, 2), transfer_date=dt.date(2026, 3, 20)))
    sales.append(make_sale(7, transfer_date=dt.date(2025, 11, 28), lodged_on=dt.date(2026, 1, 9)))
    changes = [
        make_sale(1),
        make_sale(8, record_status="C", price=199_950),
        make_sale(9, record_status="D", ppd_category="B"),
    ]
    return FakeMarket(sale_list=sales, changes={(2026, 3): changes})


def ppd_client(market: FakeMarket | None = None) -> tuple[TestClient, Any]:
    return sandbox_client("landregistry", routes, market or ppd_market())


def parse_rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


def real_monthly_rows(shared_fixtures: Path) -> list[list[str]]:
    return parse_rows(read_capture(shared_fixtures, REAL_MONTHLY, encoding="latin-1"))


def pattern_failures(rows: list[list[str]]) -> list[tuple[str, int, str]]:
    """(transaction id, column, value) for every field that breaks its column's pattern."""
    return [
        (row[0], column, value)
        for row in rows
        for column, (pattern, value) in enumerate(zip(COLUMN_PATTERNS, row, strict=True))
        if not re.fullmatch(pattern, value)
    ]


def test_column_patterns_hold_for_every_real_monthly_row(shared_fixtures: Path) -> None:
    rows = real_monthly_rows(shared_fixtures)

    failures = pattern_failures(rows)

    assert len(rows) == 86
    assert failures == []


def test_sandbox_rows_have_the_real_16_columns_and_patterns(shared_fixtures: Path) -> None:
    client, _ = ppd_client()

    rows = parse_rows(client.get("/landregistry/pp-monthly-update-new-version.csv").text)

    assert {len(row) for row in rows} == {len(real_monthly_rows(shared_fixtures)[0])} == {16}
    failures = pattern_failures(rows)
    assert failures == []


def test_change_file_of_the_generated_market_matches_the_real_patterns() -> None:
    client, _ = sandbox_client("landregistry", routes, real_market())

    rows = parse_rows(client.get("/landregistry/pp-monthly-update-new-version.csv").text)

    failures = pattern_failures(rows)
    assert failures == []
    assert {row[15] for row in rows} == {"A", "C", "D"}


def test_every_field_is_quoted_and_rows_end_in_crlf() -> None:
    client, _ = ppd_client()

    body = client.get("/landregistry/pp-complete.csv").content

    lines = body.split(b"\r\n")
    assert lines[-1] == b"" and b"\n" not in b"".join(lines)
    for line in lines[:-1]:
        assert re.fullmatch(rb'"[^"]*"(,"[^"]*"){15}', line), line


def test_rows_round_trip_the_sale_values() -> None:
    flat = make_property(4, property_type="flat", tenure="leasehold", saon="Flat 2")
    sale = make_sale(4, property=flat, price=187_500, transfer_date=dt.date(2026, 2, 27))

    row = parse_rows(ppd_row(sale))[0]

    assert row[0] == "{4E75C29C-C5C8-8922-E063-000000000004}"
    assert (row[1], row[2], row[3]) == ("187500", "2026-02-27 00:00", "RM6 4FD")
    assert (row[4], row[5], row[6]) == ("F", "N", "L")
    assert row[7:14] == [
        "24",
        "FLAT 2",
        "BEXLEY GARDENS",
        "CHADWELL HEATH",
        "ROMFORD",
        "BARKING AND DAGENHAM",
        "ESSEX",
    ]
    assert (row[14], row[15]) == ("A", "A")


def test_a_first_sale_of_a_new_build_is_flagged_new() -> None:
    home = make_property(1, new_build=True, year_built=2025, property_type="detached")

    row = parse_rows(ppd_row(make_sale(1, property=home)))[0]

    assert (row[4], row[5]) == ("D", "Y")


def test_quotes_and_commas_inside_fields_survive_a_csv_reader() -> None:
    home = make_property(1, paon='ROSE "THE" COTTAGE, EAST WING')

    line = ppd_row(make_sale(1, property=home))

    assert '"ROSE ""THE"" COTTAGE, EAST WING"' in line
    assert parse_rows(line)[0][7] == 'ROSE "THE" COTTAGE, EAST WING'


def test_complete_file_holds_what_was_lodged_up_to_the_end_of_last_month() -> None:
    client, _ = ppd_client()

    rows = parse_rows(client.get("/landregistry/pp-complete.csv").text)

    # MARKET_DAY is 20 April 2026: March's lodgements are in, the one lodged on 2 April is not.
    assert MARKET_DAY == dt.date(2026, 4, 20)
    assert [int(row[1]) for row in rows] == [251_000, 252_000, 253_000, 254_000, 255_000, 257_000]


def test_monthly_file_is_last_months_change_file_with_a_c_and_d_rows() -> None:
    client, _ = ppd_client()

    rows = parse_rows(client.get("/landregistry/pp-monthly-update-new-version.csv").text)

    assert [(row[1], row[14], row[15]) for row in rows] == [
        ("251000", "A", "A"),
        ("199950", "A", "C"),
        ("259000", "B", "D"),
    ]


def test_dated_monthly_file_serves_a_published_month_and_404s_a_future_one() -> None:
    client, _ = ppd_client()

    march = client.get("/landregistry/pp-2026-03-monthly.csv")
    april = client.get("/landregistry/pp-2026-04-monthly.csv")

    assert march.status_code == 200 and len(parse_rows(march.text)) == 3
    assert april.status_code == 404


def test_yearly_file_holds_only_that_years_transfers() -> None:
    client, _ = ppd_client()

    rows = parse_rows(client.get("/landregistry/pp-2025.csv").text)
    future = client.get("/landregistry/pp-2027.csv")

    assert [row[2] for row in rows] == ["2025-11-28 00:00"]
    assert future.status_code == 404


def test_files_are_sent_as_csv_attachments() -> None:
    client, _ = ppd_client()

    response = client.get("/landregistry/pp-monthly-update-new-version.csv")

    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="pp-monthly-update-new-version.csv"'


def test_large_files_are_streamed_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(land_registry, "ROWS_PER_CHUNK", 2)
    sales = [make_sale(index) for index in range(1, 6)]

    chunks = list(csv_chunks(iter(sales)))

    assert len(chunks) == 3
    assert b"".join(chunks).decode() == "".join(ppd_row(sale) for sale in sales)


def test_changed_structure_adds_a_header_and_uk_dates() -> None:
    client, context = ppd_client()
    context.faults.add(FaultSpec("landregistry", "changed_structure"))

    rows = parse_rows(client.get("/landregistry/pp-complete.csv").text)

    assert rows[0][0] == "transaction_id"
    assert rows[1][2] == "01/02/2026"


# Digests of files the 300-listing market serves, taken before the bulk rendering was vectorised:
# the fast path must keep every byte. Regenerate only for a deliberate change to the market.
PINNED_FILES = {
    "/landregistry/pp-complete.csv": "eb49529ff6c69c3d",
    "/landregistry/pp-2025.csv": "a5424403986cdb2f",
    "/landregistry/pp-monthly-update-new-version.csv": "5b073112d4e2e6de",
    "/landregistry/pp-2026-01-monthly.csv": "dc5a9f4d4ae4f749",
    "/landregistry/pp-complete.csv?sandbox_date=2028-06-15": "15208ca541891365",
    "/landregistry/pp-2027.csv?sandbox_date=2028-06-15": "067711021030d7ee",
    "/landregistry/pp-2028-01-monthly.csv?sandbox_date=2028-06-15": "94ae3003c87abc1a",
}


def test_served_files_keep_their_pinned_bytes_for_one_seed_and_date() -> None:
    client, _ = sandbox_client("landregistry", routes, real_market())

    digests = {
        path: hashlib.sha256(client.get(path).content).hexdigest()[:16] for path in PINNED_FILES
    }

    assert digests == PINNED_FILES


def test_changed_structure_files_keep_their_pinned_bytes() -> None:
    client, context = sandbox_client("landregistry", routes, real_market())
    context.faults.add(FaultSpec("landregistry", "changed_structure"))

    complete = client.get("/landregistry/pp-complete.csv").content
    monthly = client.get("/landregistry/pp-monthly-update-new-version.csv").content

    assert hashlib.sha256(complete).hexdigest()[:16] == "473867187b84ee40"
    assert hashlib.sha256(monthly).hexdigest()[:16] == "de22faa7931b6bbc"


def test_market_sales_render_the_same_from_columns_as_from_sale_objects() -> None:
    market = real_market()
    sales = market.sales(dt.date(2027, 12, 31))
    changes = market.sales_changes(2026, 3)
    # Plain lists hide the columns, so these take the one-Sale-at-a-time path.
    every_sale, every_change = list(sales), list(changes)

    assert b"".join(csv_chunks(sales)) == b"".join(csv_chunks(every_sale))
    assert b"".join(csv_chunks(changes, land_registry.changed_line)) == b"".join(
        csv_chunks(every_change, land_registry.changed_line)
    )
    assert list(sales.transferred_in(2026)) == [
        sale for sale in every_sale if sale.transfer_date.year == 2026
    ]
