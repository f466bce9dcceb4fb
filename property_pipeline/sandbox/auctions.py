"""Auction-house stand-ins: Allsop's JSON API and Auction House UK's server-rendered catalogue.

Allsop's site is a single-page app over a JSON API: `/api/auctions/current-and-past` to discover
sales, `/api/auctions/{uuid}?react` for one sale and `/api/search?auction_id=…&page=N&react` for
its lots, each lot a flat object of about a hundred keys (coordinates as strings, the sale date as
epoch milliseconds of UK midnight, the tenancy schedule as a JSON string). Auction House UK is a
network of regional franchises rendering plain HTML: a calendar at
`/auction/future-auction-dates`, catalogues at `/{branch}/auction/lots/{id}`, a national roll-up
and a page per lot at `/{branch}/auction/lot/{id}` with schema.org JSON-LD. Both read the
market's catalogues and lots for the requested day.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.model import AuctionLot, Listing, Property
from property_pipeline.sandbox.rendering import (
    TENURE_LABELS,
    office_time,
    ordinal_day,
    pounds,
    square_feet,
    stable_number,
)

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext

LONDON = ZoneInfo("Europe/London")
# Namespace for the sandbox's made-up Allsop record ids (images, versions, staff).
ALLSOP_NAMESPACE = uuid.UUID("6b1f0c52-3c1e-5d0e-9a55-a11507a11507")
ALLSOP_PAGE_SIZE = 20
ALLSOP_MAX_PAGE_SIZE = 500
AUCTIONHOUSE_PAGE_SIZE = 24
SOLD_STATUSES = ("Sold", "Sold Prior")

# Auction House UK franchise slugs (the first path segment, letters only) and display names.
BRANCHES = {
    "london": "London",
    "southeast": "South East",
    "eastanglia": "East Anglia",
    "southwest": "South West",
    "midlands": "Midlands",
    "yorkshire": "Yorkshire",
    "northwest": "North West",
    "northeast": "North East",
    "wales": "Wales",
    "national": "National",
}
REGION_BRANCHES = {
    "London": "london",
    "South East": "southeast",
    "East of England": "eastanglia",
    "West Midlands": "midlands",
    "East Midlands": "midlands",
    "North West": "northwest",
    "North East": "northeast",
    "Yorkshire and The Humber": "yorkshire",
    "South West": "southwest",
    "Wales": "wales",
}
# Class names the "changed page structure" fault swaps in, as a redesign would.
REDESIGNED_CLASSES = {
    "lot-search-result": "lot-card",
    "home-lot-wrapper-link": "lot-card__link",
    "image-sticker": "lot-card__badge",
    "grid-view-guide": "lot-card__guide",
    "grid-address": "lot-card__address",
}


class Auction(Protocol):
    """The market's auction catalogue record (`market.Auction`), as far as renderers need it."""

    auction_id: str
    reference: str
    house: str
    name: str
    auction_date: dt.date
    venue: str
    auction_type: str
    branch: str  # the running franchise ("north-west"); "" where the house has no branches


# --- shared wording ---------------------------------------------------------------------------


def long_date(day: dt.date) -> str:
    """A date as both houses print it in prose, e.g. 29th April 2026."""
    return f"{ordinal_day(day)} {day:%B %Y}"


def sale_days(first: dt.date) -> str:
    """Allsop's two-day residential sale as its pages word it: 29th and 30th April 2026."""
    second = first + dt.timedelta(days=1)
    if second.month == first.month:
        return f"{ordinal_day(first)} and {long_date(second)}"
    return f"{ordinal_day(first)} {first:%B} and {long_date(second)}"


def guide_text(listing: Listing) -> str:
    """The guide as Allsop prints it: £200,000+ for a single figure, else low - high."""
    lot = _lot(listing)
    if lot.guide_price_upper <= lot.guide_price_lower:
        return f"{pounds(lot.guide_price_lower)}+"
    return f"{pounds(lot.guide_price_lower)} - {pounds(lot.guide_price_upper)}"


def uk_midnight(day: dt.date) -> dt.datetime:
    """The instant UK-local midnight starts `day`: how Allsop stores a sale date."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=LONDON)


def uk_midnight_ms(day: dt.date) -> int:
    """A lot's `auction_date`: epoch ms of UK midnight (23:00Z the day before during BST)."""
    return int(uk_midnight(day).timestamp() * 1000)


def utc_stamp(moment: dt.datetime) -> str:
    """An instant in Allsop's UTC timestamp format, e.g. 2026-04-28T23:00:00.000000Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lot(listing: Listing) -> AuctionLot:
    if listing.auction is None:
        raise ValueError(f"listing {listing.source}/{listing.source_id} is not an auction lot")
    return listing.auction


def _stable_uuid(*parts: object) -> str:
    return str(uuid.uuid5(ALLSOP_NAMESPACE, "|".join(str(part) for part in parts)))


def is_vacant(listing: Listing) -> bool:
    """Whether the lot is sold with vacant possession (no rent coming in)."""
    lot = _lot(listing)
    return lot.tenancy.lower().startswith("vacant") or not lot.current_rent_per_annum


# --- Allsop ------------------------------------------------------------------------------------


def allsop_reference(listing: Listing) -> str:
    """The lot reference, e.g. R260430 098: the sale reference and a three-digit lot code.

    The code is not the lot number; multiplying by a number coprime with 1000 keeps codes unique
    within a catalogue of up to 999 lots.
    """
    lot = _lot(listing)
    return f"{lot.auction_reference} {(lot.lot_number * 389) % 1000:03d}"


def allsop_byline(listing: Listing) -> str:
    """The lot's one-line headline, e.g. VACANT - Freehold Semi Detached House."""
    prop = listing.property
    kind = {
        "flat": "Flat",
        "terraced": "Mid Terrace House",
        "semi_detached": "Semi Detached House",
        "detached": "Detached House",
        "bungalow": "Detached Bungalow",
        "block_of_flats": f"Detached Building arranged as {prop.units} Flats",
        "hmo": f"Mid Terrace Building arranged as {prop.units} Letting Rooms",
        "mixed_use": "Mid Terrace Shop and Uppers",
    }[prop.property_type]
    status = "VACANT" if is_vacant(listing) else "INVESTMENT"
    return f"{status} - {TENURE_LABELS[prop.tenure]} {kind}"


def allsop_property_types(prop: Property) -> list[str]:
    """Allsop's residential type tags; it files whole buildings under "House"."""
    return {"flat": ["Flat"], "bungalow": ["Bungalow"]}.get(prop.property_type, ["House"])


def allsop_region(prop: Property) -> list[str]:
    """Allsop's region tag, which says "Greater London" where the market says "London"."""
    region = prop.location.region
    return ["Greater London" if region == "London" else region]


def allsop_address(prop: Property) -> str:
    """The full one-line address Allsop shows: street, locality, town, county, postcode."""
    parts = [prop.saon, f"{prop.paon} {prop.street}".strip(), prop.locality]
    parts += [prop.location.town, prop.location.county, prop.postcode]
    return ", ".join(part for part in parts if part)


def tenancy_table(listing: Listing) -> str:
    """The lot's schedule of accommodation and tenancies, JSON-encoded as Allsop stores it."""
    prop = listing.property
    lot = _lot(listing)
    headers: list[dict[str, Any]] = [
        {"label": "Floor", "key": "floor"},
        {"label": "Accommodation", "key": "accom", "multiple": True},
        {"label": "Approx GIA", "dimensions": "sq m/sq ft", "key": "gia", "multiple": True},
        {"label": "EPC", "key": "epc"},
    ]
    if prop.units > 1:
        rent_each = (lot.current_rent_per_annum or 0) // prop.units
        rows = [
            {
                "floor": f"Unit {unit}",
                "accom": ["Letting Room" if prop.property_type == "hmo" else "Self-contained Flat"],
                "terms__tenancy_type": "AST" if rent_each else "Vacant",
                "rent": pounds(rent_each) if rent_each else "Vacant",
            }
            for unit in range(1, prop.units + 1)
        ]
        headers.append({"label": "Terms of Tenancy", "key": "terms__tenancy_type"})
        headers.append({"label": "Current Rent Reserved £ p.a.", "key": "rent"})
    else:
        floors = "Ground" if prop.property_type in ("flat", "bungalow") else "Ground\n\nFirst"
        rows = [
            {
                "floor": floors,
                "accom": [f"{prop.bedrooms} Bedrooms, {prop.bathrooms} Bathroom(s), Kitchen"],
                "gia": [str(prop.floor_area_sqm)],
                "epc": prop.epc_rating,
            }
        ]
    return json.dumps({"rows": rows, "headers": headers}, separators=(",", ":"))


def allsop_lot(listing: Listing) -> dict[str, Any]:
    """One lot of `/api/search` results, with every key the real lot objects carry."""
    prop = listing.property
    lot = _lot(listing)
    rent = lot.current_rent_per_annum
    vacant = is_vacant(listing)
    price_text = guide_text(listing)
    byline = allsop_byline(listing)
    address = allsop_address(prop)
    image_id = _stable_uuid(listing.source_id, "image")
    created = f"{listing.first_listed.isoformat()} {office_time(listing.source_id, 'created')}"
    rent_text = "Vacant Possession" if vacant else f"{pounds(rent or 0)} p.a."
    has_legal_pack = (listing.as_of - listing.first_listed).days >= 14
    # A named house has no number; Allsop then leaves house_no blank and uses the name field.
    house_no = prop.paon if prop.paon[:1].isdigit() else ""
    table = tenancy_table(listing)
    record: dict[str, Any] = {
        "address1": prop.street,
        "address2": None,
        "address3": prop.locality or None,
        "agency_agreement_received_date": None,
        "allsop_address": address,
        "allsop_auctionid": lot.auction_id,
        "allsop_lotid": listing.source_id,
        "allsop_lotnumber": lot.lot_number,
        "allsop_lotstatus": lot.lot_status,
        "allsop_name": allsop_reference(listing),
        "allsop_propertyaddress1": prop.street,
        "allsop_propertyaddress2": None,
        "allsop_propertyaddress3": prop.locality or None,
        "allsop_propertybyline": byline,
        "allsop_propertycounty": prop.location.county,
        "allsop_propertyname": None if house_no else prop.paon,
        "allsop_propertypostcode": prop.postcode,
        "allsop_propertyregion": None,
        "allsop_propertytenancy": None,
        "allsop_propertytenure": TENURE_LABELS[prop.tenure],
        "allsop_propertytown": prop.location.town,
        "allsop_propertytype": allsop_property_types(prop),
        "auction_date": uk_midnight_ms(lot.auction_date),
        "available_at_price": None,
        "available_at_tick_to_check": False,
        "building_name": prop.saon or None,
        "carousel_show": True,
        "catalogue_type": "residential",
        "comm_property_types": [],
        "commercial_property_types": [],
        "county": prop.location.county,
        "current_rent_per_annum": None if vacant else str(rent),
        "current_rent_per_annum_2": None,
        "current_rent_per_annum_header_text": None if vacant else "Current Rent Reserved",
        "current_rent_per_annum_header_text_2": None if vacant else "Current Rent Reserved",
        "current_rent_per_annum_text": rent_text,
        "current_rent_per_annum_text_2": rent_text,
        "department": "RES",
        "early_lot": None,
        "featured": False,
        "featured_image_file_id": image_id,
        "featured_image_path": image_id,
        "features": [*listing.key_features, _gia_feature(prop)],
        "full_address": address,
        "guide_price_is_reduced": listing.reduced_on is not None,
        "guide_price_lower": lot.guide_price_lower,
        "guide_price_text": price_text,
        "guide_price_upper": lot.guide_price_upper,
        "house_no": house_no,
        "image_file_id": image_id,
        "income": 0 if vacant else rent,
        "is_commercial": False,
        "is_residential": True,
        "legal_pack_approved_by": _stable_uuid("legal", lot.auction_id) if has_legal_pack else None,
        "live_addendum": "",
        "live_addendum_updated_at": None,
        "location": {"lat": repr(prop.latitude), "lon": repr(prop.longitude)},
        "location_shape": {
            "coordinates": [int(prop.longitude), int(prop.latitude)],
            "type": "point",
        },
        "lotStatus": lot.lot_status,
        "lot_created_at": created,
        "lot_number": lot.lot_number,
        "lot_number_text": str(lot.lot_number),
        "lot_status": lot.lot_status,
        "lot_type": "residential",
        "main_byline": byline,
        "market_from_date": created,
        "net_rent": 0,
        "net_yield": 0,
        "postcode": prop.postcode,
        "postcodeArea": prop.postcode.split(" ")[0],
        "price": price_text,
        "price_description": "Guide Price*",
        "primary_marketed_together_lotid": None,
        "property_byline": byline,
        "property_class": None if vacant else "investment",
        "property_created_at": created,
        "property_tenancy": lot.tenancy,
        "property_tenure": TENURE_LABELS[prop.tenure],
        "property_types": allsop_property_types(prop),
        "reference": allsop_reference(listing),
        "region": allsop_region(prop),
        "rent_notes": None,
        "resi_property_types": allsop_property_types(prop),
        "residential_property_types": allsop_property_types(prop),
        "sales_status_websearch": None if vacant else "For Sale",
        "search_score": None,
        "show_in_additional_view": False,
        "sort_price": lot.guide_price_lower,
        "tenancy_table": table,
        "tenancy_table_2": None,
        "tenant": table,
        "town": prop.location.town,
        "type": None if vacant else "investment",
        "type_tenancy": None if vacant else "AST",
        "version_id": _stable_uuid(listing.source_id, len(listing.price_history), lot.lot_status),
        "website_price_lower": lot.guide_price_lower,
        "yield": 0 if vacant else round(100 * (rent or 0) / lot.guide_price_lower, 2),
    }
    return dict(sorted(record.items()))


def _gia_feature(prop: Property) -> str:
    area = prop.floor_area_sqm
    return f"GIA approximately {area} sq m ({square_feet(area):,} sq ft)"


def allsop_auction(
    auction: Auction, lots: Sequence[Listing], following: Auction | None
) -> dict[str, Any]:
    """`auctionData` of `/api/auctions/{uuid}`: the sale's record with its running results."""
    day = auction.auction_date
    statuses = Counter(_lot(listing).lot_status for listing in lots)
    sold = [listing for listing in lots if _lot(listing).lot_status in SOLD_STATUSES]
    created = uk_midnight(day - dt.timedelta(weeks=34)) + dt.timedelta(hours=13, minutes=56)
    record: dict[str, Any] = {
        "active": True,
        "addendum_corrections_email_note": long_date(day - dt.timedelta(days=2)),
        "addendum_special_conditions_email_note": long_date(day - dt.timedelta(days=15)),
        "allsop_addendumnotes": ALLSOP_GENERAL_ADDENDUM,
        "allsop_auctiondate": utc_stamp(uk_midnight(day)),
        "allsop_auctiondate2": utc_stamp(uk_midnight(day + dt.timedelta(days=1))),
        "allsop_auctionid": auction.auction_id,
        "allsop_auctionlotssold": len(sold),
        "allsop_auctionlotsunsold": statuses["Unsold"],
        "allsop_auctionreference": auction.reference,
        "allsop_auctionstatus": None,
        "allsop_auctiontype": auction.auction_type,
        "allsop_auctionvaluesold": sum(_lot(listing).guide_price_upper for listing in sold),
        "allsop_cutoffdate": f"{(day - dt.timedelta(days=1)).isoformat()} 00:00:00",
        "allsop_departmentcode": "860",
        "allsop_departmentid": _stable_uuid("department", "residential"),
        "allsop_legacyauctionid": None,
        "allsop_name": auction.name,
        "allsop_venue": auction.venue,
        "aob": sale_days(day),
        "at_auction_current_allsop_lotid": None,
        "at_auction_dollar_exchange_rate": None,
        "at_auction_euro_exchange_rate": None,
        "at_auction_exchange_rates_source": None,
        "at_auction_exchange_rates_updated_at": None,
        "at_auction_hide_lot_carousel": False,
        "at_auction_previous_allsop_lotid": None,
        "at_auction_show_running_total": True,
        "auction_type": "residential",
        "bidder_registration_disabled": False,
        "bidder_registration_message": None,
        "corrections_deadline": long_date(day - dt.timedelta(days=2)),
        "created_at": utc_stamp(created),
        "createdby": None,
        "createdon": None,
        "createdonbehalfby": None,
        "hide_solicitor": True,
        "importsequencenumber": None,
        "marketing_commence": long_date(day - dt.timedelta(days=19)),
        "modifiedby": _stable_uuid("staff", auction.auction_id),
        "modifiedon": f"{(created + dt.timedelta(days=4)):%Y-%m-%d %H:%M:%S}",
        "modifiedonbehalfby": None,
        "next_auction_date": sale_days(following.auction_date) if following else None,
        "overriddencreatedon": None,
        "ownerid": None,
        "owningbusinessunit": None,
        "owningteam": None,
        "owninguser": None,
        "show_video": True,
        "statecode": None,
        "statuscode": None,
        "timezoneruleversionnumber": None,
        "updated_at": utc_stamp(uk_midnight(day - dt.timedelta(days=12)) + dt.timedelta(hours=14)),
        "utcconversiontimezonecode": None,
        "venue_latitude": None,
        "venue_longitude": None,
        "venue_notes": None,
        "venue_notes_2": None,
        "venue_postcode": None,
        "versionnumber": None,
        "withdrawn_lots_prior": statuses["Withdrawn"],
    }
    return dict(sorted(record.items()))


ALLSOP_GENERAL_ADDENDUM = (
    "This general addendum forms part of the particulars and conditions of sale of every lot.\n"
    "Bidders must read the special conditions and the legal pack of a lot before bidding; "
    "some lots carry costs payable on top of the price and the buyer's fee.\n"
    "Particulars can change up to the start of the sale and changes are listed in the lot's "
    "own addendum, which prevails over the printed particulars."
)


def search_uuid(*parts: object) -> str:
    """A stable base64 id for a search, shaped like the one Allsop returns."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return base64.b64encode(digest).decode()


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def allsop_routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Routes for the `/allsop` mount: auction calendar, one auction, lot searches."""

    def catalogues(request: Request) -> tuple[dt.date, list[Auction]]:
        day = ctx.market_date(request)
        found = sorted(ctx.market.auctions("allsop", day), key=lambda a: a.auction_date)
        return day, found

    def lots_page(request: Request, lots: Sequence[Listing], search_id: str) -> Response:
        try:
            page = max(1, int(request.query_params.get("page", "1")))
            size = int(request.query_params.get("size", str(ALLSOP_PAGE_SIZE)))
        except ValueError:
            return JSONResponse({"message": "page and size must be whole numbers"}, 422)
        size = min(max(1, size), ALLSOP_MAX_PAGE_SIZE)
        start = (page - 1) * size
        results = [allsop_lot(listing) for listing in lots[start : start + size]]
        if ctx.changed_structure(request, "allsop"):
            renamed = [{_camel(key): value for key, value in lot.items()} for lot in results]
            body = {"data": {"lots": renamed, "count": len(lots)}, "searchUuid": search_id}
            return JSONResponse(body)
        return JSONResponse(
            {"data": {"results": results, "total": len(lots)}, "search-uuid": search_id}
        )

    def search(request: Request) -> Response:
        auction_id = request.query_params.get("auction_id", "")
        day = ctx.market_date(request)
        lots = sorted(ctx.market.lots(auction_id, day), key=lambda item: _lot(item).lot_number)
        return lots_page(request, lots, search_uuid("search", auction_id))

    def property_search(request: Request) -> Response:
        day, found = catalogues(request)
        available_only = request.query_params.get("available_only", "").lower() == "true"
        lot_type = request.query_params.get("lot_type", "residential")
        search_id = search_uuid("property-search", available_only, lot_type)
        if lot_type != "residential":
            # Every sandbox catalogue is residential, so a commercial search finds nothing.
            return lots_page(request, [], search_id)
        lots = [
            listing
            for auction in found
            if auction.auction_date >= day
            for listing in sorted(
                ctx.market.lots(auction.auction_id, day), key=lambda item: _lot(item).lot_number
            )
            if not available_only or _lot(listing).lot_status == "Available"
        ]
        return lots_page(request, lots, search_id)

    def auction_detail(request: Request) -> Response:
        day, found = catalogues(request)
        wanted = request.path_params["auction_id"]
        for index, auction in enumerate(found):
            if auction.auction_id == wanted:
                following = found[index + 1] if index + 1 < len(found) else None
                record = allsop_auction(auction, ctx.market.lots(wanted, day), following)
                if ctx.changed_structure(request, "allsop"):
                    return JSONResponse({"auction": {_camel(k): v for k, v in record.items()}})
                return JSONResponse({"auctionData": record})
        return JSONResponse({"message": f"No auction with id {wanted}"}, status_code=404)

    def current_and_past(request: Request) -> Response:
        day, found = catalogues(request)
        upcoming = [auction for auction in found if auction.auction_date >= day]
        past = [auction for auction in found if auction.auction_date < day]

        def summary(auction: Auction) -> dict[str, Any]:
            index = found.index(auction)
            following = found[index + 1] if index + 1 < len(found) else None
            lots = ctx.market.lots(auction.auction_id, day)
            record = allsop_auction(auction, lots, following)
            return record | {"lots_published": bool(lots), "early_lots": False}

        future = [summary(auction) for auction in upcoming]
        body = {
            "data": {
                "next_residential_auction": future[0] if future else None,
                "next_commercial_auction": None,
                "past_auctions": [summary(auction) for auction in reversed(past)],
            },
            "futureResi": future,
            "futureComm": [],
        }
        return JSONResponse(body)

    return [
        Route("/api/search", search),
        Route("/api/property-search", property_search),
        Route("/api/auctions/current-and-past", current_and_past),
        Route("/api/auctions/{auction_id}", auction_detail),
    ]


# --- Auction House UK --------------------------------------------------------------------------


def auction_number(auction: Auction) -> int:
    """The numeric catalogue id Auction House UK puts in its URLs, stable per auction."""
    return 10_000 + stable_number(auction.auction_id) % 90_000


def named_branch(auction: Auction) -> str | None:
    """The franchise slug of a sale, from its branch field or its title, if either names one.

    Real slugs are letters only, so the market's "north-west" becomes "northwest".
    """
    declared = "".join(ch for ch in auction.branch.lower() if ch.isalpha())
    if declared:
        return declared
    title = auction.name.lower().removeprefix("auction house").split(" - ")[0]
    named = "".join(ch for ch in title if ch.isalpha())
    return named if named in BRANCHES else None


def branch_of(auction: Auction, lots: Sequence[Listing]) -> str:
    """The franchise running a sale: named in the auction's title, else where most lots are."""
    named = named_branch(auction)
    if named:
        return named
    regions = Counter(listing.property.location.region for listing in lots)
    if regions:
        return REGION_BRANCHES.get(regions.most_common(1)[0][0], "national")
    return "national"


def branch_title(branch: str) -> str:
    """The franchise's trading name, e.g. Auction House East Anglia."""
    return f"Auction House {BRANCHES.get(branch, branch.title())}"


def lot_byline(prop: Property) -> str:
    """The bold type line of a catalogue card, e.g. 3 Bed Terraced House."""
    beds = f"{prop.bedrooms} Bed"
    return {
        "flat": f"{beds} Flat",
        "terraced": f"{beds} Terraced House",
        "semi_detached": f"{beds} Semi-Detached House",
        "detached": f"{beds} Detached House",
        "bungalow": f"{beds} Detached Bungalow",
        "block_of_flats": f"Block of {prop.units} Flats",
        "hmo": f"{prop.units} Bed HMO",
        "mixed_use": "Mixed Use Property",
    }[prop.property_type]


def card_address(prop: Property) -> str:
    """The address line of a card: flat, number and street, town, postcode."""
    parts = [prop.saon, f"{prop.paon} {prop.street}".strip(), prop.location.town, prop.postcode]
    return ", ".join(part for part in parts if part)


def card_guide(listing: Listing) -> str:
    """The card's guide slot: "*Guide | £475,000+ (plus fees)", or the result once known."""
    status = _lot(listing).lot_status
    if status != "Available":
        return status
    return f"*Guide | {guide_text(listing)} (plus fees)"


def lot_card(listing: Listing, branch: str) -> str:
    """One `div.lot-search-result` card linking to the lot page."""
    prop = listing.property
    lot = _lot(listing)
    kind = "commercial" if prop.property_type == "mixed_use" else "residential"
    href = f"/{branch}/auction/lot/{listing.source_id}"
    return (
        '<div class="col-sm-12 col-md-6 col-lg-4 lot-search-result">'
        f'<a class="home-lot-wrapper-link" href="{href}">'
        '<div class="lot-image-wrapper">'
        f'<img class="lot-image" loading="lazy" src="/images/lots/{listing.source_id}/1.jpg"'
        f' alt="{_text(card_address(prop))}">'
        f'<div class="image-sticker lotbg-{kind}">Lot {lot.lot_number}</div>'
        "</div>"
        f'<div class="grid-view-guide">{_text(card_guide(listing))}</div>'
        '<div class="summary-info-wrapper">'
        f'<p class="fw-bold blue-text">{_text(lot_byline(prop))}</p>'
        f'<p class="fw-medium blue-text grid-address">{_text(card_address(prop))}</p>'
        "</div></a></div>"
    )


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def pagination_nav(page: int, total_pages: int) -> str:
    """Bootstrap pager with numbered links and a `rel="next"` link until the last page."""
    items = [
        f'<li class="page-item{" active" if number == page else ""}">'
        f'<a class="page-link" href="?page={number}">{number}</a></li>'
        for number in range(1, total_pages + 1)
    ]
    if page > 1:
        items.insert(
            0,
            f'<li class="page-item"><a class="page-link" rel="prev" href="?page={page - 1}">'
            "Previous</a></li>",
        )
    if page < total_pages:
        items.append(
            f'<li class="page-item"><a class="page-link" rel="next" href="?page={page + 1}">'
            "Next</a></li>"
        )
    return f'<nav aria-label="Lot pages"><ul class="pagination">{"".join(items)}</ul></nav>'


def catalogue_page(
    title: str, heading: str, cards: Sequence[tuple[Listing, str]], page: int, redesigned: bool
) -> str:
    """A catalogue (or roll-up) page: heading, result count, one page of cards, pager."""
    total_pages = max(1, math.ceil(len(cards) / AUCTIONHOUSE_PAGE_SIZE))
    start = (page - 1) * AUCTIONHOUSE_PAGE_SIZE
    shown = cards[start : start + AUCTIONHOUSE_PAGE_SIZE]
    body = "".join(lot_card(listing, branch) for listing, branch in shown)
    if redesigned:
        for old, new in REDESIGNED_CLASSES.items():
            body = body.replace(old, new)
    first, last = (start + 1, start + len(shown)) if shown else (0, 0)
    return _document(
        title,
        f'<h1 class="auction-title">{_text(heading)}</h1>'
        f'<p class="results-count">Showing {first} - {last} of {len(cards)} lots</p>'
        f'<div class="row lot-search-results">{body}</div>'
        f"{pagination_nav(page, total_pages)}",
    )


def _document(title: str, main: str, head_extra: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{_text(title)}</title>{head_extra}</head>"
        f'<body><main class="container">{main}</main></body></html>'
    )


def calendar_page(rows: Iterable[tuple[Auction, str]]) -> str:
    """`/auction/future-auction-dates`: one table row per upcoming sale, linking its catalogue."""
    cells = "".join(
        "<tr>"
        f"<td>{auction.auction_date:%d/%m/%Y}</td>"
        f"<td>{_text(branch_title(branch))}</td>"
        f"<td>{_text(auction.venue)}</td>"
        f'<td><a href="/{branch}/auction/lots/{auction_number(auction)}">View lots</a></td>'
        "</tr>"
        for auction, branch in rows
    )
    table = (
        '<table class="table future-auctions"><thead><tr><th>Date</th><th>Auction</th>'
        f"<th>Venue</th><th></th></tr></thead><tbody>{cells}</tbody></table>"
    )
    return _document(
        "Future Auction Dates | Auction House", f"<h1>Future Auction Dates</h1>{table}"
    )


def lot_page(listing: Listing, branch: str) -> str:
    """A lot's own page: particulars, tenure and tenancy, and a schema.org Product in JSON-LD."""
    prop = listing.property
    lot = _lot(listing)
    address = card_address(prop)
    sale_date = lot.auction_date
    features = "".join(f"<li>{_text(feature)}</li>" for feature in listing.key_features)
    paragraphs = "".join(
        f"<p>{_text(paragraph)}</p>" for paragraph in listing.description.split("\n\n") if paragraph
    )
    rent = lot.current_rent_per_annum
    details = (
        ("Tenure", TENURE_LABELS[prop.tenure]),
        ("Tenancy", lot.tenancy),
        ("Current Rent", f"{pounds(rent)} per annum" if rent else "Vacant"),
        ("Property Type", lot_byline(prop)),
    )
    rows = "".join(f"<tr><th>{name}</th><td>{_text(value)}</td></tr>" for name, value in details)
    # "</" inside a script element would end it early; JSON allows the escaped slash.
    json_ld = json.dumps(_product_json_ld(listing, sale_date, address), separators=(",", ":"))
    json_ld = json_ld.replace("</", "<\\/")
    head = f'<script type="application/ld+json">{json_ld}</script>'
    main = (
        f'<div class="lot-header"><span class="lot-number">Lot {lot.lot_number}</span>'
        f'<h1 class="lot-address">{_text(address)}</h1>'
        f'<p class="lot-byline fw-bold">{_text(lot_byline(prop))}</p></div>'
        f'<div class="lot-guide">{_text(card_guide(listing))}</div>'
        f'<div class="lot-status">{_text(lot.lot_status)}</div>'
        f'<p class="auction-date">Auction Date: {sale_date:%A} {long_date(sale_date)}</p>'
        f'<p class="auction-branch">{_text(branch_title(branch))}</p>'
        f'<ul class="key-features">{features}</ul>'
        f'<div class="lot-description">{paragraphs}</div>'
        f'<table class="table lot-details">{rows}</table>'
    )
    return _document(f"Lot {lot.lot_number} - {address} | {branch_title(branch)}", main, head)


def _product_json_ld(listing: Listing, sale_date: dt.date, address: str) -> dict[str, Any]:
    prop = listing.property
    lot = _lot(listing)
    availability = "https://schema.org/InStock"
    if lot.lot_status in SOLD_STATUSES:
        availability = "https://schema.org/SoldOut"
    elif lot.lot_status != "Available":
        availability = "https://schema.org/Discontinued"
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": address,
        "description": listing.summary,
        "sku": str(lot.lot_number),
        "productID": listing.source_id,
        "image": [f"/images/lots/{listing.source_id}/{n}.jpg" for n in range(1, 4)],
        "category": lot_byline(prop),
        "offers": {
            "@type": "Offer",
            "price": lot.guide_price_lower,
            "priceCurrency": "GBP",
            "availability": availability,
            "validFrom": sale_date.isoformat(),
        },
        "address": {
            "@type": "PostalAddress",
            "streetAddress": f"{prop.paon} {prop.street}".strip(),
            "addressLocality": prop.location.town,
            "addressRegion": prop.location.county,
            "postalCode": prop.postcode,
            "addressCountry": "GB",
        },
    }


def auctionhouse_routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Routes for the `/auctionhouse` mount: calendar, catalogues, national roll-up, lot pages."""

    def lots_of(auction: Auction, day: dt.date) -> list[Listing]:
        lots = ctx.market.lots(auction.auction_id, day)
        return sorted(lots, key=lambda item: _lot(item).lot_number)

    def network(day: dt.date) -> list[tuple[Auction, str]]:
        """Every sale the network shows on `day`, oldest first, with the branch running it."""
        found = sorted(ctx.market.auctions("auctionhouse", day), key=lambda a: a.auction_date)
        return [
            (auction, named_branch(auction) or branch_of(auction, lots_of(auction, day)))
            for auction in found
        ]

    def page_number(request: Request) -> int:
        try:
            return max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            return 1

    def redesigned(request: Request) -> bool:
        return ctx.changed_structure(request, "auctionhouse")

    def render_catalogue(request: Request, auction: Auction, branch: str) -> Response:
        sale_date = auction.auction_date
        heading = f"{branch_title(branch)} auction, {sale_date:%A} {long_date(sale_date)}"
        title = f"{branch_title(branch)} | Auction {long_date(sale_date)} | Lots"
        cards = [(listing, branch) for listing in lots_of(auction, ctx.market_date(request))]
        page = catalogue_page(title, heading, cards, page_number(request), redesigned(request))
        return HTMLResponse(page)

    def future_dates(request: Request) -> Response:
        day = ctx.market_date(request)
        rows = [
            (auction, branch) for auction, branch in network(day) if auction.auction_date >= day
        ]
        return HTMLResponse(calendar_page(rows))

    def catalogue(request: Request) -> Response:
        branch = request.path_params["branch"]
        wanted = request.path_params["auction_number"]
        for auction, owner in network(ctx.market_date(request)):
            if auction_number(auction) == wanted and owner == branch:
                return render_catalogue(request, auction, branch)
        return _missing_page(f"No {branch_title(branch)} catalogue numbered {wanted}")

    def current_catalogue(request: Request) -> Response:
        branch = request.path_params["branch"]
        day = ctx.market_date(request)
        mine = [auction for auction, owner in network(day) if owner == branch]
        upcoming = [auction for auction in mine if auction.auction_date >= day]
        chosen = upcoming[0] if upcoming else (mine[-1] if mine else None)
        if chosen is None:
            return _missing_page(f"{branch_title(branch)} has no catalogue on {day.isoformat()}")
        return render_catalogue(request, chosen, branch)

    def national(request: Request) -> Response:
        day = ctx.market_date(request)
        cards = [
            (listing, branch)
            for auction, branch in network(day)
            if auction.auction_date >= day
            for listing in lots_of(auction, day)
        ]
        heading = "National Auctions: every lot in our upcoming regional sales"
        page = catalogue_page(
            "National | Auction House", heading, cards, page_number(request), redesigned(request)
        )
        return HTMLResponse(page)

    def lot_detail(request: Request) -> Response:
        lot_id = request.path_params["lot_id"]
        day = ctx.market_date(request)
        sales = network(day)
        listing = ctx.market.listing("auctionhouse", lot_id, day)
        if listing is not None and listing.auction is not None:
            owner = [
                branch
                for auction, branch in sales
                if auction.auction_id == listing.auction.auction_id
            ]
            return HTMLResponse(
                lot_page(listing, owner[0] if owner else request.path_params["branch"])
            )
        # Sold and withdrawn lots leave the live listings but stay in their catalogue.
        for auction, branch in sales:
            for listing in lots_of(auction, day):
                if listing.source_id == lot_id:
                    return HTMLResponse(lot_page(listing, branch))
        return _missing_page(f"No lot {lot_id} in the catalogues of {day.isoformat()}")

    return [
        Route("/auction/future-auction-dates", future_dates),
        Route("/national", national),
        Route("/{branch}/auction/lots", current_catalogue),
        Route("/{branch}/auction/lots/{auction_number:int}", catalogue),
        Route("/{branch}/auction/lot/{lot_id}", lot_detail),
    ]


def _missing_page(message: str) -> Response:
    return HTMLResponse(
        _document("Page not found | Auction House", f"<h1>{_text(message)}</h1>"), 404
    )
