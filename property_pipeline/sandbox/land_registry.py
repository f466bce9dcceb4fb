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
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.model import Sale

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext

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


def ppd_fields(sale: Sale) -> tuple[str, ...]:
    """The 16 Price Paid columns of one sale, in file order, as HMLR writes them."""
    prop = sale.property
    return (
        sale.transaction_id,
        str(sale.price),
        f"{sale.transfer_date.isoformat()} 00:00",
        prop.postcode,
        PPD_PROPERTY_TYPES[prop.property_type],
        old_new_flag(sale),
        PPD_DURATIONS[prop.tenure],
        prop.paon.upper(),
        prop.saon.upper(),
        prop.street.upper(),
        prop.locality.upper(),
        prop.location.town.upper(),
        prop.location.district.upper(),
        prop.location.county.upper(),
        sale.ppd_category,
        sale.record_status,
    )


def old_new_flag(sale: Sale) -> str:
    """The Old/New flag: Y for the first sale of a new build (within a year of completion)."""
    prop = sale.property
    is_first_sale = sale.transfer_date.year - prop.year_built <= 1
    return "Y" if prop.new_build and is_first_sale else "N"


def ppd_row(sale: Sale) -> str:
    """One line of an official file: every field quoted, quotes doubled, CRLF ending."""
    return ",".join(_quoted(field) for field in ppd_fields(sale)) + "\r\n"


def changed_ppd_row(sale: Sale) -> str:
    """The same sale in a plausibly re-engineered layout: minimal quoting, UK-style dates."""
    fields = list(ppd_fields(sale))
    fields[2] = sale.transfer_date.strftime("%d/%m/%Y")
    return ",".join(_quoted(f) if "," in f or '"' in f else f for f in fields) + "\r\n"


def _quoted(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


def csv_chunks(
    sales: Iterable[Sale], render: Callable[[Sale], str] = ppd_row, header: str | None = None
) -> Iterator[bytes]:
    """Encode rows in chunks of ROWS_PER_CHUNK, so a streamed file is built as it is sent."""
    batch: list[str] = [header + "\r\n"] if header else []
    for sale in sales:
        batch.append(render(sale))
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
            body = csv_chunks(sales, changed_ppd_row, header=CHANGED_HEADER)
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


def _in_year(sales: Sequence[Sale], year: int) -> Iterator[Sale]:
    return (sale for sale in sales if sale.transfer_date.year == year)


def _not_found(filename: str) -> Response:
    # S3 website hosting answers a missing key with a small 404 page naming it.
    return PlainTextResponse(f"404 Not Found\nCode: NoSuchKey\nKey: {filename}\n", status_code=404)
