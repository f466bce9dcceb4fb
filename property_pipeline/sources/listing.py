"""The one shape every source's listings are normalised to, and the rules that normalise them.

Parsers for each page format build `NormalisedListing`s with the helpers here, so a price
qualifier, a tenure or a postcode means the same thing whichever portal it came from.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

LISTING_TYPES = ("sale", "auction_lot")
PROPERTY_TYPES = (
    "flat",
    "terraced",
    "semi_detached",
    "detached",
    "bungalow",
    "block_of_flats",
    "hmo",
    "mixed_use",
    "land",
    "other",
)
TENURES = ("freehold", "leasehold", "share_of_freehold", "commonhold", "unknown")
PRICE_QUALIFIERS = (
    "fixed",
    "guide",
    "offers_over",
    "offers_in_region_of",
    "offers_in_excess_of",
    "from",
    "poa",
    "shared_ownership",
    "coming_soon",
    "sale_by_tender",
    "auction_guide",
    "unknown",
)

# A full UK postcode (outward + inward code) and an outward code alone.
POSTCODE_PATTERN = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?)\s*([0-9][A-Z]{2})\b", re.I)
OUTCODE_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]?$", re.I)


class ParseError(ValueError):
    """A page or response could not be read as the format it claims to be; says which and why."""


@dataclass
class NormalisedListing:
    """One listing as the pipeline stores it in `raw_listings` (`warehouse/schema/sources.sql`)."""

    source: str
    source_id: str
    url: str | None = None
    listing_type: str = "sale"
    title: str | None = None
    price: int | None = None
    price_qualifier: str | None = None
    property_type: str | None = None
    property_sub_type: str | None = None
    bedrooms: int | None = None
    bathrooms: int | None = None
    tenure: str = "unknown"
    lease_years_remaining: int | None = None
    ground_rent: int | None = None
    service_charge: int | None = None
    postcode: str | None = None
    outcode: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    summary: str | None = None
    description: str | None = None
    key_features: list[str] = field(default_factory=list)
    agent: str | None = None
    first_listed_at: dt.date | None = None
    update_reason: str | None = None
    updated_at: dt.datetime | None = None
    auction_date: dt.date | None = None
    lot_number: int | None = None
    image_count: int | None = None
    scraped_at: dt.datetime | None = None

    def to_record(self) -> dict[str, Any]:
        """A plain dict in column order, ready for a DataFrame or JSON."""
        return asdict(self)

    def to_json_record(self) -> dict[str, Any]:
        """As `to_record`, with dates and times as ISO strings."""
        return {
            key: value.isoformat() if isinstance(value, dt.date | dt.datetime) else value
            for key, value in asdict(self).items()
        }


LISTING_FIELDS = tuple(item.name for item in fields(NormalisedListing))


def normalise_postcode(text: str | None) -> str | None:
    """The first full UK postcode in `text`, upper case with one space ("RM6 4FD"), or None."""
    if not text:
        return None
    match = POSTCODE_PATTERN.search(text)
    if match is None:
        return None
    return f"{match.group(1).upper()} {match.group(2).upper()}"


def outcode_of(postcode: str | None, fallback: str | None = None) -> str | None:
    """The outward code of a postcode, else a valid outcode given separately, else None."""
    if postcode:
        return postcode.split()[0]
    if fallback and OUTCODE_PATTERN.match(fallback.strip()):
        return fallback.strip().upper()
    return None


_QUALIFIER_WORDS = (
    ("offers in excess of", "offers_in_excess_of"),
    ("offers over", "offers_over"),
    ("oiro", "offers_in_region_of"),
    ("offers in the region of", "offers_in_region_of"),
    ("offers in region of", "offers_in_region_of"),
    ("guide price", "guide"),
    ("guide", "guide"),
    ("from", "from"),
    ("poa", "poa"),
    ("price on application", "poa"),
    ("shared ownership", "shared_ownership"),
    ("coming soon", "coming_soon"),
    ("sale by tender", "sale_by_tender"),
    ("fixed price", "fixed"),
)


def normalise_price_qualifier(label: str | None) -> str:
    """Map a portal's qualifier label ("Offers Over", "OIRO", "Guide Price") to our code."""
    if label is None or not label.strip():
        return "fixed"
    lowered = " ".join(label.lower().split())
    for words, code in _QUALIFIER_WORDS:
        if words in lowered:
            return code
    return "unknown"


_TENURE_WORDS = (
    ("share of freehold", "share_of_freehold"),
    ("share_of_freehold", "share_of_freehold"),
    ("commonhold", "commonhold"),
    ("leasehold", "leasehold"),
    ("freehold", "freehold"),
)


def normalise_tenure(label: str | None) -> str:
    """Map a tenure label from any source ("FREEHOLD", "Share of Freehold") to our code."""
    if not label:
        return "unknown"
    lowered = label.lower().replace("-", " ")
    for words, code in _TENURE_WORDS:
        if words in lowered:
            return code
    return "unknown"


def whole_pounds(value: Any) -> int | None:
    """A price as whole pounds from a number or text like "£1,250,000" / "£200,000+"; else None.

    A page may say `1e309`, `NaN` or a price hundreds of digits long: no whole number of pounds,
    so None rather than a crash.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float):
        return int(round(value))
    digits = re.search(r"\d[\d,]*(?:\.\d+)?", str(value))
    if digits is None:
        return None
    amount = float(digits.group(0).replace(",", ""))
    return int(round(amount)) if math.isfinite(amount) else None


def dedupe_by_source_id(listings: list[NormalisedListing]) -> list[NormalisedListing]:
    """Keep the first listing for each (source, source_id), in order (featured cards repeat)."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for listing in listings:
        key = (listing.source, listing.source_id)
        if key not in seen:
            seen.add(key)
            unique.append(listing)
    return unique


class BotChallengeError(RuntimeError):
    """The server answered with a bot challenge (e.g. Cloudflare "Just a moment..."), not a page."""


@dataclass
class ParsedPage:
    """What one fetched page or API response held, in normalised form."""

    source: str  # "rightmove", "zoopla", "allsop", "auctionhouse"
    format: str  # e.g. "rightmove_next_data_search"; see parsers.detect.FORMATS
    listings: list[NormalisedListing]
    total_results: int | None = None  # how many results the whole search says it has
    page_size: int | None = None  # results per page the source uses for this search
    next_page_url: str | None = None  # the page's own link to the next page, when it has one
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific facts (auction ids...)
