"""What every portal and auction stand-in renders the same way, and the route steps they share.

Stable ids and times (so a page is byte-identical for the same market, date and URL), prices
and dates as British sites print them, the escaping Next.js applies to data in a script, the
checks a search URL's parameters get, and the market look-ups behind a search page and a
detail page. Each stand-in keeps only what is its own portal's: labels, layouts and limits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from property_pipeline.sandbox.model import Listing

if TYPE_CHECKING:
    from property_pipeline.sandbox.market import Market

SQFT_PER_SQM = 10.7639
# A listing with one of these statuses is still on the market; the portals show it.
LIVE_STATUSES = ("available", "under_offer", "sold_stc")
TENURE_LABELS = {
    "freehold": "Freehold",
    "leasehold": "Leasehold",
    "share_of_freehold": "Share of Freehold",
    "commonhold": "Commonhold",
}


# ---------------------------------------------------------------------------------------------
# Stable ids and times
# ---------------------------------------------------------------------------------------------


def stable_number(*parts: object) -> int:
    """A non-negative integer fixed by `parts`, for ids and variations that must not change
    between runs (Python's own `hash` is salted per process)."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stable_hex(*parts: object, length: int = 32) -> str:
    """A lowercase hex string fixed by `parts`, shaped like the portals' image hashes."""
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:length]


def office_time(*parts: object) -> dt.time:
    """A time of day between 08:00 and 18:00 fixed by `parts`, for record timestamps."""
    seconds = 8 * 3600 + stable_number(*parts) % (10 * 3600)
    return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def instant(day: dt.date, *parts: object) -> dt.datetime:
    """A time on `day` between 08:00 and 18:00, fixed by `parts`, for listing timestamps."""
    return dt.datetime.combine(day, office_time("time", *parts))


# ---------------------------------------------------------------------------------------------
# Wording
# ---------------------------------------------------------------------------------------------


def pounds(amount: int) -> str:
    """Whole pounds as a portal prints them: `£1,234,000`."""
    return f"£{amount:,}"


def display_price(listing: Listing) -> str:
    """The price text: `£250,000`, or `POA` when the agent will not say."""
    return "POA" if listing.price_qualifier == "poa" else pounds(listing.price)


def ordinal_day(day: dt.date) -> str:
    """The day of the month with its ordinal suffix: 29th, 1st, 22nd, 13th."""
    suffix = "th" if 11 <= day.day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10)
    return f"{day.day}{suffix or 'th'}"


def slug(text: str) -> str:
    """Words joined by hyphens, keeping letters and digits, for agent and town URL parts."""
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    return "-".join(words)


def description_html(description: str, paragraph_break: str = "<br /><br />") -> str:
    """The model's plain-text paragraphs as the escaped HTML the portals embed."""
    paragraphs = [para.strip() for para in description.split("\n\n") if para.strip()]
    escaped = [html.escape(para, quote=False).replace("\n", "<br />") for para in paragraphs]
    return paragraph_break.join(escaped)


def next_escaped_json(value: Any) -> str:
    """Compact JSON escaped as Next.js escapes data inside a script: `<`, `>` and `&` become
    `\\u003c`, `\\u003e` and `\\u0026`, so no value can close the script early."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------------------------
# Postcodes and sizes
# ---------------------------------------------------------------------------------------------


def outcode_and_incode(postcode: str) -> tuple[str, str]:
    """Split a formatted postcode (`RM6 4FD`) into its outward and inward parts."""
    outcode, _, incode = postcode.partition(" ")
    return outcode, incode


def postal_area(outcode: str) -> str:
    """The letters that open an outcode: `SW` of `SW5`, `N` of `N1`."""
    return "".join(itertools.takewhile(str.isalpha, outcode))


def square_feet(square_metres: float) -> int:
    """A floor area in whole square feet, rounded as the portals print it."""
    return round(square_metres * SQFT_PER_SQM)


def floor_area_sqft(listing: Listing) -> int:
    """The listing's floor area in square feet."""
    return square_feet(listing.property.floor_area_sqm)


# ---------------------------------------------------------------------------------------------
# Route steps
# ---------------------------------------------------------------------------------------------


class SearchQueryError(ValueError):
    """A search URL parameter the portal would not accept; the message names it."""


def optional_int(params: Mapping[str, str], name: str) -> int | None:
    """A non-negative integer parameter, None when absent or blank."""
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise SearchQueryError(f"{name}={raw!r} is not a whole non-negative number")
    return int(raw)


class PortalSearch(Protocol):
    """The filters of a portal's search request, in the market's terms."""

    @property
    def min_price(self) -> int | None: ...
    @property
    def max_price(self) -> int | None: ...
    @property
    def property_types(self) -> tuple[str, ...] | None: ...  # None means any type
    @property
    def min_bedrooms(self) -> int | None: ...
    @property
    def max_bedrooms(self) -> int | None: ...
    @property
    def sort(self) -> str: ...


def search_market(
    market: Market, day: dt.date, upstream: str, outcode: str, query: PortalSearch
) -> Sequence[Listing]:
    """The listings live on `upstream` in `outcode` that a search asks for, in its order; none
    when its type filter admits no type the market has (land, park homes)."""
    if query.property_types == ():
        return ()
    return market.search(
        day,
        upstream,
        outcode=outcode,
        min_price=query.min_price,
        max_price=query.max_price,
        property_types=query.property_types,
        min_bedrooms=query.min_bedrooms,
        max_bedrooms=query.max_bedrooms,
        sort=query.sort,
    )


def live_listing(market: Market, upstream: str, listing_id: str, day: dt.date) -> Listing | None:
    """The listing a detail URL names while `upstream` still shows it; None for an id that is
    not a number, that the market does not know, or whose listing has left the market."""
    listing = market.listing(upstream, listing_id, day) if listing_id.isdigit() else None
    if listing is None or listing.status not in LIVE_STATUSES:
        return None
    return listing
