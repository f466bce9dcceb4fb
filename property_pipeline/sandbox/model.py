"""The sandbox market's vocabulary: the records every stand-in upstream renders.

`market.Market` generates these deterministically from a seed and a date; each upstream module
(`rightmove`, `zoopla`, `auctions`, `epc`, `land_registry`) only turns them into its real wire
format. Keeping the records here, apart from both, lets a renderer be tested on a hand-made
listing and lets the generator change without touching any page format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

SOURCES = ("rightmove", "zoopla", "allsop", "auctionhouse")
PORTALS = ("rightmove", "zoopla")
AUCTION_HOUSES = ("allsop", "auctionhouse")

# Physical property types in the investors' words; each upstream maps them to its own labels.
PROPERTY_TYPES = (
    "flat",
    "terraced",
    "semi_detached",
    "detached",
    "bungalow",
    "block_of_flats",
    "hmo",
    "mixed_use",
)
TENURES = ("freehold", "leasehold", "share_of_freehold", "commonhold")
PRICE_QUALIFIERS = (
    "fixed",
    "guide",
    "offers_over",
    "offers_in_region_of",
    "from",
    "poa",
)
# What a listing shows on a given day; "withdrawn" and "sold" listings are no longer served.
LISTING_STATUSES = ("available", "under_offer", "sold_stc", "withdrawn", "sold")


@dataclass(frozen=True, slots=True)
class Location:
    """A searchable area: one real UK outcode with each portal's identifier for it."""

    outcode: str  # "RM6"
    town: str  # "Romford"
    county: str  # "Essex"
    district: str  # "BARKING AND DAGENHAM" (Land Registry's upper-case district)
    region: str  # "London", "North West", ...
    latitude: float
    longitude: float
    rightmove_id: str  # "OUTCODE^2046"
    zoopla_slug: str  # "romford/rm6"


@dataclass(frozen=True, slots=True)
class Property:
    """One real building or flat, whatever portals it is advertised on."""

    property_id: int
    paon: str  # primary addressable object: house number or name, "21" or "Rose Cottage"
    saon: str  # secondary: "Flat 3" or "" for a whole building
    street: str
    locality: str  # may be ""
    location: Location
    postcode: str  # "RM6 4FD"
    latitude: float
    longitude: float
    property_type: str  # one of PROPERTY_TYPES
    bedrooms: int
    bathrooms: int
    units: int  # self-contained units (flats in a block, lettable rooms in an HMO); 1 otherwise
    tenure: str  # one of TENURES
    lease_years_remaining: int | None  # leasehold and share of freehold only
    ground_rent: int | None  # pounds a year
    service_charge: int | None  # pounds a year
    floor_area_sqm: int
    year_built: int
    new_build: bool
    epc_rating: str  # current band "A".."G"
    epc_potential: str
    condition: str  # "good", "needs_modernisation", "derelict"
    market_value: int  # what comparable sales say it is worth, whole pounds

    @property
    def address(self) -> str:
        """The one-line postal address a portal prints."""
        # "21 Bexley Gardens" but "Kestrel Court, Grange Lane": a building name is its own part.
        numbered = self.paon[:1].isdigit()
        street = [f"{self.paon} {self.street}".strip()] if numbered else [self.paon, self.street]
        parts = [self.saon, *street, self.locality]
        parts += [self.location.town, self.postcode]
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class PriceChange:
    changed_on: dt.date
    price: int


@dataclass(frozen=True, slots=True)
class AuctionLot:
    auction_id: str  # uuid
    auction_reference: str  # "R260430"
    auction_date: dt.date  # UK local date of the sale
    lot_number: int
    lot_status: str  # "Available", "Sold Prior", "Sold", "Withdrawn", "Postponed", "Unsold"
    guide_price_lower: int
    guide_price_upper: int
    tenancy: str  # "Vacant Possession", "Part Let", "Fully Let"
    current_rent_per_annum: int | None


@dataclass(frozen=True, slots=True)
class Listing:
    """One advert for a property on one source, as it stands on `as_of`."""

    source: str  # one of SOURCES
    source_id: str  # the source's own id: Rightmove/Zoopla digits, Allsop lot uuid, ...
    property: Property
    as_of: dt.date
    title: str
    summary: str
    description: str  # plain text paragraphs separated by blank lines
    key_features: tuple[str, ...]
    price: int  # whole pounds; for a lot, the lower guide
    price_qualifier: str  # one of PRICE_QUALIFIERS
    first_listed: dt.date  # the date the source shows as "Added on"
    price_history: tuple[PriceChange, ...]  # oldest first; the last entry is the current price
    status: str  # one of LISTING_STATUSES
    agent_name: str
    agent_phone: str
    image_count: int
    auction: AuctionLot | None = None

    @property
    def reduced_on(self) -> dt.date | None:
        """Date of the latest price cut, if the price has ever gone down."""
        cuts = [
            later.changed_on
            for earlier, later in zip(self.price_history, self.price_history[1:], strict=False)
            if later.price < earlier.price
        ]
        return cuts[-1] if cuts else None


@dataclass(frozen=True, slots=True)
class Sale:
    """A completed sale as HM Land Registry records it (one Price Paid Data row)."""

    transaction_id: str  # "{GUID}" upper case, 38 characters
    price: int
    transfer_date: dt.date
    property: Property
    ppd_category: str  # "A" standard, "B" additional
    lodged_on: dt.date  # when it reached the monthly file (2 weeks to 2 months after transfer)
    record_status: str = "A"  # "A" addition, "C" change, "D" delete (monthly change files only)


@dataclass(frozen=True, slots=True)
class EpcCertificate:
    """An energy performance certificate lodged for a property."""

    certificate_number: str  # "0000-0000-0000-0000-0000" style RRN
    property: Property
    uprn: int
    lodged_on: dt.date
    inspected_on: dt.date
    current_band: str
    potential_band: str
    current_score: int
    potential_score: int
    floor_area_sqm: int
    built_form: (
        str  # "Detached", "Semi-Detached", "Mid-Terrace", "End-Terrace", "Enclosed Mid-Terrace"
    )
    property_type_label: str  # "House", "Flat", "Bungalow", "Maisonette"
    construction_age_band: str
    main_fuel: str
    extra: dict[str, str] = field(default_factory=dict)
