"""The Price Paid loader: real fixture rows, monthly A/C/D changes, bad rows and failed loads."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from property_pipeline.enrichment.price_paid import (
    PricePaidFormatError,
    PricePaidSourceError,
    check_url_allowed,
    load_price_paid,
)
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.land_registry import CHANGED_HEADER, changed_line
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.warehouse import store
from property_pipeline_tests.sandbox.support import add_fault, real_market

PPD = "open-data/ppd"
COMPLETE_2015 = f"{PPD}/ppd_2015_200rows_epimorphics_appd-test.csv"
MONTHLY_2026_03 = f"{PPD}/pp-monthly-update-new-version_2026-03_excerpt_A_C_D.csv"
# The first data row of the 2015 fixture, as the loader should store it.
FIRST_2015_ID = uuid.UUID("43F2E19F-B8BE-4121-9AAD-00007F375F68")


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as connection:
        store.create_schema(connection)
        yield connection


def ppd_row(
    number: int,
    price: str = "250000",
    date: str = "2025-06-30 00:00",
    status: str = "A",
    postcode: str = "RM6 4FD",
) -> list[str]:
    """The 16 fields of a sale at number `number` Bexley Gardens, RM6."""
    return [
        f"{{00000000-0000-0000-0000-{number:012d}}}",
        price,
        date,
        postcode,
        "S",
        "N",
        "F",
        str(number),
        "",
        "BEXLEY GARDENS",
        "CHADWELL HEATH",
        "ROMFORD",
        "BARKING AND DAGENHAM",
        "GREATER LONDON",
        "A",
        status,
    ]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    """A file written as HMLR writes them: every field quoted, CRLF line ends."""
    with path.open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return path


def read_fixture_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def stored(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute("select * from price_paid order by transaction_id").fetchall()


def test_complete_file_rows_load_with_their_values_and_derived_areas(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path
) -> None:
    load = load_price_paid(conn, shared_fixtures / COMPLETE_2015)

    assert (load.kind, load.rows_read, load.inserted, load.rejected) == ("complete", 200, 200, 0)
    first = conn.execute(
        """
        select price, transferred_on, postcode, property_type, new_build, duration, paon, saon,
            street, town, category, postcode_sector, postcode_district
        from price_paid where transaction_id = ?
        """,
        [FIRST_2015_ID],
    ).fetchone()
    assert first == (
        240500,
        dt.date(2015, 6, 19),
        "BS3 5NN",
        "T",
        False,
        "F",
        "72",
        None,
        "AYLESBURY CRESCENT",
        "BRISTOL",
        "A",
        "BS3 5",
        "BS3",
    )
    categories = dict(
        conn.execute("select category, count(*) from price_paid group by 1").fetchall()
    )
    assert categories == {"A": 100, "B": 100}
    new_build_flat = conn.execute(
        "select new_build, saon, paon from price_paid where saon = 'APARTMENT 812'"
    ).fetchone()
    assert new_build_flat == (True, "APARTMENT 812", "ABITO, 4")


def prior_state_file(monthly: list[list[str]], path: Path) -> Path:
    """The sales the monthly file changes or deletes, as the warehouse held them before: every
    C and D row as an A row priced at £1, so an update is visible."""
    earlier = [[row[0], "1", *row[2:15], "A"] for row in monthly if row[15] in {"C", "D"}]
    return write_rows(path, earlier)


def test_monthly_file_updates_changed_sales_and_deletes_removed_ones(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path, tmp_path: Path
) -> None:
    monthly = read_fixture_rows(shared_fixtures / MONTHLY_2026_03)
    by_status = {status: [row for row in monthly if row[15] == status] for status in "ACD"}
    assert [len(by_status[status]) for status in "ACD"] == [46, 19, 21]
    load_price_paid(conn, prior_state_file(monthly, tmp_path / "before.csv"))

    load = load_price_paid(conn, shared_fixtures / MONTHLY_2026_03)

    assert (load.kind, load.rows_read) == ("monthly", 86)
    assert (load.inserted, load.updated, load.deleted, load.unchanged) == (46, 19, 21, 0)
    assert conn.execute("select count(*) from price_paid").fetchone()[0] == 40 + 46 - 21
    changed = by_status["C"][0]
    assert conn.execute(
        "select price, record_status from price_paid where transaction_id = ?::uuid",
        [changed[0]],
    ).fetchone() == (int(changed[1]), "C")
    deleted_ids = [row[0] for row in by_status["D"]]
    assert conn.execute(
        "select count(*) from price_paid where list_contains(?::uuid[], transaction_id)",
        [deleted_ids],
    ).fetchone() == (0,)


def test_rerunning_the_same_monthly_file_changes_nothing(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path, tmp_path: Path
) -> None:
    monthly = read_fixture_rows(shared_fixtures / MONTHLY_2026_03)
    load_price_paid(conn, prior_state_file(monthly, tmp_path / "before.csv"))
    load_price_paid(conn, shared_fixtures / MONTHLY_2026_03)
    after_first = stored(conn)

    again = load_price_paid(conn, shared_fixtures / MONTHLY_2026_03)

    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 65)
    assert stored(conn) == after_first
    assert conn.execute("select count(*) from price_paid_loads").fetchone() == (3,)


def test_malformed_rows_are_counted_reported_and_skipped_and_the_rest_loaded(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "pp-mixed.csv"
    good = [ppd_row(number) for number in (1, 2, 3, 8, 9)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(good[0])
        writer.writerow(ppd_row(4)[:7])  # line 2: cut short
        writer.writerow(ppd_row(5, price="about 250k"))  # line 3
        writer.writerow(good[1])
        writer.writerow(ppd_row(6, date="31/06/2025"))  # line 5
        writer.writerow(ppd_row(7, status="X"))  # line 6
        writer.writerows(good[2:])

    load = load_price_paid(conn, path)

    assert (load.rows_read, load.inserted, load.rejected) == (9, 5, 4)
    assert [row.line for row in load.rejected_examples] == [2, 3, 5, 6]
    reasons = [row.reason for row in load.rejected_examples]
    assert "Expected Number of Columns: 16 Found: 7" in reasons[0]
    assert '"price"' in reasons[1]
    assert '"transferred_at"' in reasons[2]
    assert '"record_status"' in reasons[3]
    assert conn.execute("select list(paon order by paon) from price_paid").fetchone() == (
        ["1", "2", "3", "8", "9"],
    )
    assert load.summary()["rejected_examples"][0].startswith("line 2: ")


def test_an_id_repeated_within_a_file_keeps_its_change_row(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path / "pp-repeat.csv",
        [ppd_row(1, price="100000"), ppd_row(1, price="110000", status="C"), ppd_row(2)],
    )

    load = load_price_paid(conn, path)

    assert (load.kind, load.rows_read, load.inserted) == ("monthly", 3, 2)
    assert conn.execute("select price from price_paid where paon = '1'").fetchall() == [(110000,)]


def test_a_file_in_another_layout_is_refused_and_nothing_changes(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path, tmp_path: Path
) -> None:
    load_price_paid(conn, shared_fixtures / COMPLETE_2015)
    before = stored(conn)
    changed = tmp_path / "pp-changed.csv"
    lines = [CHANGED_HEADER + "\r\n", *(changed_line(tuple(ppd_row(n))) for n in range(1, 4))]
    changed.write_text("".join(lines))

    with pytest.raises(PricePaidFormatError, match="pp-changed.csv: is not a Price Paid file"):
        load_price_paid(conn, changed)

    assert stored(conn) == before


def test_a_file_mostly_of_bad_rows_is_refused(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # The first twenty lines look right, so only the count after reading can tell.
    good = [ppd_row(n) for n in range(1, 21)]
    bad = [ppd_row(n, price="n/a") for n in range(21, 42)]
    path = write_rows(tmp_path / "pp-bad.csv", good + bad)

    with pytest.raises(PricePaidFormatError, match="21 of 41 rows") as error:
        load_price_paid(conn, path)
    assert "do not parse" in str(error.value)


def test_a_failure_during_the_load_leaves_the_previous_table_intact(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path
) -> None:
    load_price_paid(conn, shared_fixtures / COMPLETE_2015)
    before = stored(conn)

    def fail(rows: int) -> None:
        raise RuntimeError(f"forced failure after {rows} rows")

    with pytest.raises(RuntimeError, match="forced failure after 86 rows"):
        load_price_paid(conn, shared_fixtures / MONTHLY_2026_03, progress=fail)

    assert stored(conn) == before
    assert conn.execute("select count(*) from price_paid_loads").fetchone() == (1,)
    # The temporary tables of the failed load are gone, so the next load starts clean.
    assert load_price_paid(conn, shared_fixtures / MONTHLY_2026_03).inserted == 65


def test_replacing_reloads_the_complete_file_and_refuses_a_monthly_one(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path, tmp_path: Path
) -> None:
    load_price_paid(conn, shared_fixtures / MONTHLY_2026_03)
    complete = write_rows(tmp_path / "pp-complete.csv", [ppd_row(1), ppd_row(2)])

    with pytest.raises(PricePaidSourceError, match="is a monthly change file"):
        load_price_paid(conn, shared_fixtures / MONTHLY_2026_03, replace=True)
    assert conn.execute("select count(*) from price_paid").fetchone() == (65,)

    load = load_price_paid(conn, complete, replace=True)

    assert (load.inserted, load.deleted) == (2, 65)
    assert conn.execute("select count(*) from price_paid").fetchone() == (2,)


def test_a_gzipped_file_loads_and_progress_ends_with_the_rows_read(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL).writerows([ppd_row(1), ppd_row(2)])
    path = tmp_path / "pp-2025.csv.gz"
    path.write_bytes(gzip.compress(text.getvalue().encode()))
    seen: list[int] = []

    load = load_price_paid(conn, path, progress=seen.append)

    assert (load.rows_read, load.inserted) == (2, 2)
    assert seen[-1] == 2


def test_a_missing_file_is_named_with_what_to_give_instead(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with pytest.raises(PricePaidSourceError, match="pp-nowhere.csv: no such file; give a"):
        load_price_paid(conn, tmp_path / "pp-nowhere.csv")


def test_urls_off_this_machine_need_live_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROPERTY_PIPELINE_SANDBOX_URL", raising=False)
    monkeypatch.delenv("PROPERTY_PIPELINE_LIVE", raising=False)
    official = "http://prod.publicdata.landregistry.gov.uk/pp-monthly-update-new-version.csv"

    with pytest.raises(PricePaidSourceError, match="PROPERTY_PIPELINE_LIVE=1"):
        check_url_allowed(official)
    check_url_allowed("http://127.0.0.1:8765/landregistry/pp-complete.csv")

    monkeypatch.setenv("PROPERTY_PIPELINE_LIVE", "1")
    check_url_allowed(official)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(date=dt.date(2026, 4, 20)), market=real_market()) as server:
        yield server


def test_the_sandbox_complete_file_loads_from_its_url(
    conn: duckdb.DuckDBPyConnection, sandbox: SandboxServer
) -> None:
    url = f"{sandbox.url('landregistry')}/pp-complete.csv"
    served = httpx.get(url, trust_env=False).text.splitlines()

    load = load_price_paid(conn, url)

    assert (load.source, load.kind, load.rejected) == (url, "complete", 0)
    assert load.rows_read == load.inserted == len(served) > 0
    first_id = next(csv.reader(served[:1]))[0]
    assert conn.execute(
        "select count(*) from price_paid where transaction_id = ?::uuid", [first_id]
    ).fetchone() == (1,)


def test_a_download_broken_off_mid_way_leaves_the_table_intact(
    conn: duckdb.DuckDBPyConnection, shared_fixtures: Path, sandbox: SandboxServer
) -> None:
    load_price_paid(conn, shared_fixtures / COMPLETE_2015)
    before = stored(conn)
    add_fault(sandbox, upstream="landregistry", kind="truncate", count=3, keep_bytes=5000)
    try:
        with pytest.raises(PricePaidSourceError, match=r"broke off after 5,000 bytes.*3 attempts"):
            load_price_paid(conn, f"{sandbox.url('landregistry')}/pp-complete.csv")
    finally:
        sandbox.context.reset()

    assert stored(conn) == before


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "truncate", "keep_bytes": 5000},
        {"kind": "rate_limit", "retry_after": 1},
        {"kind": "server_error"},
        {"kind": "timeout", "duration_ms": 100},
    ],
    ids=lambda fault: fault["kind"],
)
def test_a_busy_or_failing_server_is_tried_again_and_the_file_loads(
    conn: duckdb.DuckDBPyConnection,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    fault: dict,
) -> None:
    monkeypatch.setattr("property_pipeline.enrichment.price_paid.DOWNLOAD_BACKOFF_SECONDS", 0.01)
    url = f"{sandbox.url('landregistry')}/pp-complete.csv"
    add_fault(sandbox, upstream="landregistry", count=1, **fault)
    try:
        retried = load_price_paid(conn, url)
    finally:
        sandbox.context.reset()

    assert retried.rejected == 0 and retried.inserted > 0
    assert conn.execute("select count(*) from price_paid").fetchone()[0] == retried.inserted


def test_a_missing_sandbox_file_says_which_status_came_back(
    conn: duckdb.DuckDBPyConnection, sandbox: SandboxServer
) -> None:
    with pytest.raises(PricePaidSourceError, match=r"HTTP 404 \(404 Not Found\)"):
        load_price_paid(conn, f"{sandbox.url('landregistry')}/pp-1990.csv")


def test_progress_is_reported_while_a_large_file_is_read(
    conn: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pp-2025.csv"
    # 300,000 sales numbered 1..300,000, otherwise alike; DuckDB writes them quickly.
    conn.execute(
        f"""
        copy (
            select
                printf('{{00000000-0000-0000-0000-%012d}}', n),
                '250000', '2025-06-30 00:00', 'RM6 4FD', 'S', 'N', 'F', n::varchar, '',
                'BEXLEY GARDENS', '', 'ROMFORD', 'BARKING AND DAGENHAM', 'GREATER LONDON',
                'A', 'A'
            from range(1, 300001) as numbers(n)
        ) to '{path}' (format csv, header false, force_quote *)
        """
    )
    monkeypatch.setattr("property_pipeline.enrichment.price_paid.PROGRESS_INTERVAL_S", 0.01)
    seen: list[int] = []

    load = load_price_paid(conn, path, progress=seen.append)

    assert load.inserted == 300_000
    # Estimates while reading, growing each time, then the exact count.
    assert len(seen) >= 2
    assert seen[:-1] == sorted(set(seen[:-1]))
    assert seen[-1] == 300_000
    # Progress setting is put back as it was.
    assert conn.execute("select current_setting('enable_progress_bar_print')").fetchone() == (True,)
