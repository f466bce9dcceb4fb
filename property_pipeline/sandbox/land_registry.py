"""HM Land Registry Price Paid Data stand-in: the bulk CSV downloads, streamed row by row.

The real files sit on a public S3 website host: `pp-complete.csv` (every current record since
1995), `pp-{year}.csv` (one year by transfer date) and `pp-monthly-update-new-version.csv` (last
month's additions, changes and deletions). All three are headerless, 16 columns, every field
double-quoted, rows ending in CRLF. HMLR republishes them monthly, so on any day the files hold
what was lodged up to the end of the previous month; the sandbox follows that rule so a pipeline
that loads the complete file and then applies monthly updates sees a consistent history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.model import Location, Sale

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext
    from property_pipeline.sandbox.market import SaleColumns

UPSTREAM = "landregistry"
FIRST_YEAR = 1995
# Rows joined into one chunk of the streamed body: big enough to keep the per-chunk overhead
# small, small enough that a million-row file never sits in memory.
ROWS_PER_CHUNK = 2000

PPD_PROPERTY_TYPES = {
    "flat": "F",
    "terraced": "T",
    "semi_detached": "S",
    # Price Paid does not tell bungalows apart; most sold ones are detached.
    "detached": "D",
    "bungalow": "D",
    "hmo": "T",
    # A whole block or a shop with flats sells as one title: HMLR files it as "other".
    "block_of_flats": "O",
    "mixed_use": "O",
}
PPD_DURATIONS = {
    "freehold": "F",
    "commonhold": "F",
    # A share-of-freehold flat is still held on a long lease.
    "leasehold": "L",
    "share_of_freehold": "L",
}
CHANGED_HEADER = (
    "transaction_id,price,date_of_transfer,postcode,property_type,old_new,duration,paon,saon,"
    "street,locality,town_city,district,county,ppd_category_type,record_status"
)


@runtime_checkable
class ColumnarSales(Protocol):
    """Sales that can also be read in columns, as the generated market's are (`SaleRecords`)."""

    def __iter__(self) -> Iterator[Sale]: ...

    def columns(self) -> Iterator[SaleColumns]: ...

    def transferred_in(self, year: int) -> ColumnarSales: ...


def ppd_fields(sale: Sale) -> tuple[str, ...]:
    """The 16 Price Paid columns of one sale, in file order, as HMLR writes them."""
    prop = sale.property
    return _fields(
        sale.transaction_id,
        sale.price,
        sale.transfer_date,
        prop.postcode,
        prop.property_type,
        prop.new_build,
        prop.year_built,
        prop.tenure,
        prop.paon,
        prop.saon,
        prop.street,
        prop.locality,
        prop.location,
        sale.ppd_category,
        sale.record_status,
    )


def old_new_flag(sale: Sale) -> str:
    """The Old/New flag: Y for the first sale of a new build (within a year of completion)."""
    prop = sale.property
    return _old_new(prop.new_build, prop.year_built, sale.transfer_date)


def ppd_field_rows(sales: Iterable[Sale]) -> Iterator[tuple[str, ...]]:
    """The columns of every sale in order; read from the market's columns when it offers them,
    which spares building a `Property` per row of a file that may hold millions."""
    if not isinstance(sales, ColumnarSales):
        yield from map(ppd_fields, sales)
        return
    for batch in sales.columns():
        yield from map(
            _fields,
            batch.transaction_id,
            batch.price,
            batch.transfer_date,
            batch.postcode,
            batch.property_type,
            batch.new_build,
            batch.year_built,
            batch.tenure,
            batch.paon,
            batch.saon,
            batch.street,
            batch.locality,
            batch.location,
            batch.ppd_category,
            batch.record_status,
        )


def _fields(
    transaction_id: str,
    price: int,
    transfer_date: dt.date,
    postcode: str,
    property_type: str,
    new_build: bool,
    year_built: int,
    tenure: str,
    paon: str,
    saon: str,
    street: str,
    locality: str,
    location: Location,
    ppd_category: str,
    record_status: str,
) -> tuple[str, ...]:
    return (
        transaction_id,
        str(price),
        f"{transfer_date.isoformat()} 00:00",
        postcode,
        PPD_PROPERTY_TYPES[property_type],
        _old_new(new_build, year_built, transfer_date),
        PPD_DURATIONS[tenure],
        paon.upper(),
        saon.upper(),
        street.upper(),
        locality.upper(),
        location.town.upper(),
        location.district.upper(),
        location.county.upper(),
        ppd_category,
        record_status,
    )


def _old_new(new_build: bool, year_built: int, transfer_date: dt.date) -> str:
    return "Y" if new_build and transfer_date.year - year_built <= 1 else "N"


def ppd_row(sale: Sale) -> str:
    """One line of an official file: every field quoted, quotes doubled, CRLF ending."""
    return ppd_line(ppd_fields(sale))


def ppd_line(fields: tuple[str, ...]) -> str:
    """An official line from the 16 columns: every field quoted, quotes doubled, CRLF ending."""
    line = '","'.join(fields)
    # The separators hold two quotes each; any more means a field has quotes to double.
    if line.count('"') != 2 * (len(fields) - 1):
        line = '","'.join(field.replace('"', '""') for field in fields)
    return f'"{line}"\r\n'


def changed_ppd_row(sale: Sale) -> str:
    """The same sale in a plausibly re-engineered layout: minimal quoting, UK-style dates."""
    return changed_line(ppd_fields(sale))


def changed_line(fields: tuple[str, ...]) -> str:
    """The re-engineered line from the 16 columns: minimal quoting, dates as DD/MM/YYYY."""
    day = fields[2]  # "YYYY-MM-DD 00:00"
    fields = (*fields[:2], f"{day[8:10]}/{day[5:7]}/{day[:4]}", *fields[3:])
    return ",".join(_quoted(f) if "," in f or '"' in f else f for f in fields) + "\r\n"


def _quoted(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


def csv_chunks(
    sales: Iterable[Sale],
    line: Callable[[tuple[str, ...]], str] = ppd_line,
    header: str | None = None,
) -> Iterator[bytes]:
    """Encode rows in chunks of ROWS_PER_CHUNK, so a streamed file is built as it is sent."""
    batch: list[str] = [header + "\r\n"] if header else []
    for fields in ppd_field_rows(sales):
        batch.append(line(fields))
        if len(batch) >= ROWS_PER_CHUNK:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")


def published_until(day: dt.date) -> dt.date:
    """Last lodgement date the downloadable files include on `day`: the previous month's end."""
    return day.replace(day=1) - dt.timedelta(days=1)


def previous_month(day: dt.date) -> tuple[int, int]:
    """(year, month) of the monthly change file that is current on `day`."""
    last = published_until(day)
    return last.year, last.month


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Routes for the `/landregistry` mount: the complete, yearly and monthly Price Paid files."""

    def csv_response(request: Request, filename: str, sales: Iterable[Sale]) -> Response:
        if ctx.changed_structure(request, UPSTREAM):
            body = csv_chunks(sales, changed_line, header=CHANGED_HEADER)
        else:
            body = csv_chunks(sales)
        return StreamingResponse(
            body,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def complete_file(request: Request) -> Response:
        until = published_until(ctx.market_date(request))
        filename = request.url.path.rsplit("/", 1)[-1]
        return csv_response(request, filename, ctx.market.sales(until))

    def yearly_file(request: Request) -> Response:
        year = request.path_params["year"]
        until = published_until(ctx.market_date(request))
        if not FIRST_YEAR <= year <= until.year:
            return _not_found(f"pp-{year}.csv")
        sales = _in_year(ctx.market.sales(until), year)
        return csv_response(request, f"pp-{year}.csv", sales)

    def current_monthly_file(request: Request) -> Response:
        year, month = previous_month(ctx.market_date(request))
        filename = request.url.path.rsplit("/", 1)[-1]
        return csv_response(request, filename, ctx.market.sales_changes(year, month))

    def dated_monthly_file(request: Request) -> Response:
        year, month = request.path_params["year"], request.path_params["month"]
        filename = f"pp-{year}-{month:02d}-monthly.csv"
        if not 1 <= month <= 12 or year < FIRST_YEAR:
            return _not_found(filename)
        if (year, month) > previous_month(ctx.market_date(request)):
            return _not_found(filename)
        return csv_response(request, filename, ctx.market.sales_changes(year, month))

    return [
        Route("/pp-complete.csv", complete_file),
        Route("/pp-complete.txt", complete_file),
        Route("/pp-monthly-update-new-version.csv", current_monthly_file),
        Route("/pp-monthly-update.txt", current_monthly_file),
        Route("/pp-{year:int}-{month:int}-monthly.csv", dated_monthly_file),
        Route("/pp-{year:int}.csv", yearly_file),
    ]


def _in_year(sales: Sequence[Sale], year: int) -> Iterable[Sale]:
    if isinstance(sales, ColumnarSales):
        return sales.transferred_in(year)
    return (sale for sale in sales if sale.transfer_date.year == year)


def _not_found(filename: str) -> Response:
    # S3 website hosting answers a missing key with a small 404 page naming it.
    return PlainTextResponse(f"404 Not Found\nCode: NoSuchKey\nKey: {filename}\n", status_code=404)
