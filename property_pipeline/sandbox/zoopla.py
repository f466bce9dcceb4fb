"""Zoopla stand-in: search result pages and listing detail pages in the App Router format.

Zoopla's pages (portals reference §2.3) carry their data as a React Server Components stream:
`self.__next_f.push([1,"…"])` scripts whose strings join into rows `{hex id}:{payload}\\n`, a text
row being `{id}:T{hex UTF-8 length},{text}`. The listing objects sit inside component props in
those rows, with the long description moved to a text row and pointed at as `"$id"`. This module
builds such streams from market listings: the detail object keyed as the real `ListingData`, the
search props holding `regularListingsFormatted` (25 a page) and `pagination`.

Rendering is pure and deterministic; the route handlers parse the URL, ask the market and pass
the records on. The Cloudflare challenge is the fault middleware's business, not this module's.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.model import Listing, Location
from property_pipeline.sandbox.rendering import (
    TENURE_LABELS,
    SearchQueryError,
    description_html,
    display_price,
    floor_area_sqft,
    instant,
    live_listing,
    next_escaped_json,
    optional_int,
    ordinal_day,
    outcode_and_incode,
    postal_area,
    pounds,
    search_market,
    slug,
    stable_hex,
    stable_number,
)

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext
    from property_pipeline.sandbox.market import Market

UPSTREAM = "zoopla"
PAGE_SIZE = 25
MAX_PAGES = 40
PUSH_CHUNK = 4096  # the live pages cut the stream into pushes of at most 4,096 characters
IMAGE_HOST = "https://lid.zoocdn.com"
STATIC_HOST = "https://cdn.prod.zoopla.co.uk"
BUILD_ID = "sandbox-zoopla-build"
STYLE_SHEET = f"{STATIC_HOST}/_next/static/css/{stable_hex('zoopla-css', length=16)}.css"

# model type -> (Zoopla propertyType, words in "3 bed ... for sale"). Zoopla has no HMO type:
# agents list an HMO as the house it is and say so in the text.
PROPERTY_TYPES: dict[str, tuple[str, str]] = {
    "flat": ("flat", "flat"),
    "terraced": ("terraced", "terraced house"),
    "semi_detached": ("semi_detached", "semi-detached house"),
    "detached": ("detached", "detached house"),
    "bungalow": ("bungalow", "bungalow"),
    "block_of_flats": ("block_of_flats", "block of flats"),
    "hmo": ("terraced", "terraced house"),
    "mixed_use": ("mixed_use", "property"),
}

# property_sub_type filter values and the model types each admits.
SUB_TYPE_FILTERS: dict[str, tuple[str, ...]] = {
    "detached": ("detached",),
    "semi_detached": ("semi_detached",),
    "terraced": ("terraced", "hmo"),
    "flats": ("flat", "block_of_flats"),
    "bungalow": ("bungalow",),
    "farms_land": (),
    "park_homes": (),
}

SORTS = {
    "newest_listings": "newest",
    "oldest_listings": "oldest",
    "lowest_price": "price_low",
    "highest_price": "price_high",
}

PRICE_TITLES = {
    "fixed": "",
    "guide": "Guide price",
    "offers_over": "Offers over",
    "offers_in_region_of": "Offers in region of",
    "from": "From",
    "poa": "",
}

SERVICES = (
    ("water", "Water"),
    ("heating", "Heating"),
    ("electricity", "Electricity"),
    ("sewerage", "Sewerage"),
    ("broadband", "Broadband"),
    ("broadband_speed", "Broadband speed"),
    ("mobile_coverage", "Mobile coverage"),
    ("parking", "Parking"),
)

TENURE_HELP = (
    "<span>Tenure decides what you own and for how long.</span>"
    "<span><b>Freehold</b>: the building and its land, with no end date.</span>"
    "<span><b>Leasehold</b>: a right to the home for the years left on the lease, with ground "
    "rent and service charge to the freeholder.</span>"
    "<span><b>Share of freehold</b>: a leasehold flat whose owners jointly hold the freehold."
    "</span><span><b>Commonhold</b>: freehold of a unit, with the common parts run by an "
    "association.</span>"
)


# ---------------------------------------------------------------------------------------------
# Listing fields as Zoopla words them
# ---------------------------------------------------------------------------------------------


def ordinal_date(day: dt.date) -> str:
    """A date as Zoopla prints it: `1st Nov 2023`."""
    return f"{ordinal_day(day)} {day.strftime('%b %Y')}"


def short_price(price: int) -> str:
    """The compact price of a search card: `£1.85m`, `£372.5k`."""
    if price >= 1_000_000:
        return f"£{price / 1_000_000:.2f}".rstrip("0").rstrip(".") + "m"
    return f"£{price / 1_000:.1f}".rstrip("0").rstrip(".") + "k"


def display_address(listing: Listing) -> str:
    """The address line Zoopla shows: `Street, Town OUTCODE`."""
    prop = listing.property
    return f"{prop.street}, {prop.location.town} {prop.location.outcode}"


def zoopla_type(listing: Listing) -> str:
    """Zoopla's `propertyType` code for the listing."""
    return PROPERTY_TYPES[listing.property.property_type][0]


def listing_title(listing: Listing) -> str:
    """`3 bed terraced house for sale`, or `Studio flat for sale`."""
    words = PROPERTY_TYPES[listing.property.property_type][1]
    beds = listing.property.bedrooms
    return f"{beds} bed {words} for sale" if beds else f"Studio {words} for sale"


def branch_id(listing: Listing) -> int:
    """Zoopla's id for the agent branch, fixed by name and town."""
    return (
        10_000
        + stable_number("zoopla-branch", listing.agent_name, listing.property.location.town)
        % 190_000
    )


def branch_uri(listing: Listing) -> str:
    """The branch's page path."""
    name = slug(f"{listing.agent_name} {listing.property.location.town}").lower()
    return f"/find-agents/branch/{name}-{branch_id(listing)}/"


def branch_logo(listing: Listing) -> str:
    """The branch logo URL."""
    return f"https://st.zoocdn.com/zoopla_static_agent_logo_({branch_id(listing)}).png"


def photo_filenames(listing: Listing) -> list[str]:
    """One stable file name per photo."""
    return [
        f"{stable_hex('zoopla-photo', listing.source_id, n, length=40)}.jpg"
        for n in range(listing.image_count)
    ]


def floorplan_filename(listing: Listing) -> str:
    """The file name of the listing's floor plan."""
    return f"{stable_hex('zoopla-floorplan', listing.source_id, length=40)}.jpg"


def price_drop(listing: Listing) -> dict[str, str] | None:
    """The card's price-drop note after a cut, as a percentage of the price before it."""
    reduced_on = listing.reduced_on
    if reduced_on is None:
        return None
    before = max(
        earlier.price
        for earlier, later in zip(listing.price_history, listing.price_history[1:], strict=False)
        if later.changed_on == reduced_on
    )
    percentage = (before - listing.price) / before * 100
    return {
        "percentageChangeLabel": f"{percentage:.1f}",
        "lastPriceChangeDate": f"Last reduced: {ordinal_date(reduced_on)}",
    }


def card_tags(listing: Listing) -> list[dict[str, str]]:
    """The card's tag chips: new home, auction and tenure."""
    tags = []
    if listing.property.new_build:
        tags.append("New home")
    if listing.auction is not None:
        tags.append("Auction")
    tags.append(TENURE_LABELS[listing.property.tenure])
    return [{"content": tag} for tag in tags]


def listing_uris(listing: Listing) -> dict[str, str]:
    """The listing's detail and contact paths."""
    listing_id = listing.source_id
    return {
        "contact": f"/for-sale/contact/{listing_id}/",
        "detail": f"/for-sale/details/{listing_id}/",
        "success": f"/for-sale/contact/success/{listing_id}/",
    }


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------


def search_item(listing: Listing, day: dt.date) -> dict[str, Any]:
    """One `regularListingsFormatted` object, keyed as the 2026 search pages have it."""
    prop = listing.property
    sqft = floor_area_sqft(listing)
    filenames = photo_filenames(listing)
    lead = filenames[0] if filenames else floorplan_filename(listing)
    sizes = ((645, 430), (354, 255))
    recent = (day - listing.first_listed).days <= 7 and listing.reduced_on is None
    return {
        "address": display_address(listing),
        "alternativeRentFrequencyLabel": None,
        "branch": {
            "branchDetailsUri": branch_uri(listing),
            "branchId": branch_id(listing),
            "logoUrl": branch_logo(listing),
            "name": listing.agent_name,
            "phone": listing.agent_phone,
        },
        "derivedBuyerIncentives": None,
        "highlights": [],
        "priceCurrency": "GBP",
        "displayType": "standard",
        "featuredType": None,
        "features": [
            {"content": prop.bathrooms, "iconId": "bath"},
            {"content": prop.bedrooms, "iconId": "bed"},
            {"content": sqft, "iconId": "area"},
        ],
        "gallery": filenames,
        "image": {
            "caption": None,
            "responsiveImgList": [
                {"src": f"{IMAGE_HOST}/{width}/{height}/{lead}", "width": width}
                for width, height in sizes
            ],
            "src": f"{IMAGE_HOST}/645/430/{lead}",
        },
        "isPremium": False,
        "listingId": listing.source_id,
        "listingUris": listing_uris(listing),
        "numberOfFloorPlans": 1,
        "numberOfImages": listing.image_count,
        "numberOfVideos": 0,
        "price": display_price(listing),
        "priceTitle": PRICE_TITLES[listing.price_qualifier],
        "priceUnformatted": listing.price,
        "propertyType": zoopla_type(listing),
        "publishedOn": ordinal_date(listing.first_listed),
        "publishedOnLabel": "Listed on",
        "shortPriceTitle": short_price(listing.price),
        "sizeSqft": sqft,
        "sizeSource": "structured_data",
        "summaryDescription": listing.summary,
        "tags": card_tags(listing),
        "title": listing_title(listing),
        "transports": [],
        "flag": "Just added" if recent else None,
        "underOffer": listing.status in ("under_offer", "sold_stc"),
        "availableFrom": "",
        "availableFromLabel": "Available from",
        "priceDrop": price_drop(listing),
        "isFavourite": False,
        "pos": {"lat": prop.latitude, "lng": prop.longitude},
        "listingType": "regular",
    }


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One Zoopla search request, parsed and checked."""

    min_price: int | None
    max_price: int | None
    property_types: tuple[str, ...] | None  # model types; None means any
    min_bedrooms: int | None
    max_bedrooms: int | None
    page_number: int
    sort: str  # the market's sort name


def parse_sub_types(values: Sequence[str]) -> tuple[str, ...] | None:
    """`property_sub_type`, repeated or comma-separated, as the model types it admits."""
    asked = [value for raw in values for value in raw.split(",") if value]
    if not asked:
        return None
    unknown = [value for value in asked if value not in SUB_TYPE_FILTERS]
    if unknown:
        allowed = ", ".join(SUB_TYPE_FILTERS)
        raise SearchQueryError(f"property_sub_type has unknown {unknown}; Zoopla takes {allowed}")
    return tuple(sorted({model for value in asked for model in SUB_TYPE_FILTERS[value]}))


def parse_search_query(params: QueryParams) -> SearchQuery:
    """Check a search URL's parameters the way the real search page reads them."""
    sort_name = params.get("results_sort", "").strip() or "newest_listings"
    if sort_name not in SORTS:
        raise SearchQueryError(f"results_sort={sort_name!r} is not one of {sorted(SORTS)}")
    page_number = optional_int(params, "pn")
    if page_number == 0:
        raise SearchQueryError("pn=0: pages are numbered from 1")
    return SearchQuery(
        min_price=optional_int(params, "price_min"),
        max_price=optional_int(params, "price_max"),
        property_types=parse_sub_types(params.getlist("property_sub_type")),
        min_bedrooms=optional_int(params, "beds_min"),
        max_bedrooms=optional_int(params, "beds_max"),
        page_number=page_number or 1,
        sort=SORTS[sort_name],
    )


def search_pagination(total: int, page_number: int) -> dict[str, Any]:
    """Zoopla's pagination: 25 a page, 40 pages at most, the true total kept."""
    page_max = min(MAX_PAGES, math.ceil(total / PAGE_SIZE))
    return {
        "pageNumber": page_number,
        "pageNumberMax": page_max,
        "totalResults": total,
        "totalResultsWasLimited": total > MAX_PAGES * PAGE_SIZE,
    }


def page_of_results(listings: Sequence[Listing], page_number: int) -> list[Listing]:
    """The listings on one result page; nothing past the 40th page."""
    if page_number > MAX_PAGES:
        return []
    start = (page_number - 1) * PAGE_SIZE
    return list(listings[start : start + PAGE_SIZE])


def search_props(
    page: Sequence[Listing],
    total: int,
    query: SearchQuery,
    location: Location,
    day: dt.date,
) -> dict[str, Any]:
    """The props of the search results component, where the listings and pagination live."""
    place = f"{location.town} {location.outcode}"
    title = f"Property for sale in {place}"
    return {
        "regularListingsFormatted": [search_item(listing, day) for listing in page],
        "extendedListingsFormatted": [],
        "featuredProperties": [],
        "featuredListingsFormatted": [],
        "pagination": search_pagination(total, query.page_number),
        "title": title,
        "metaInfo": {
            "title": f"{title} - Zoopla",
            "description": f"{total:,} properties for sale in {place}.",
            "canonicalUri": f"/for-sale/property/{location.zoopla_slug}/",
        },
        "breadcrumbs": [
            {"href": "/", "text": "Zoopla"},
            {"href": "/for-sale/", "text": "For sale"},
            {"href": f"/for-sale/property/{location.zoopla_slug}/", "text": place},
        ],
        "dfpAdTargeting": {"search_results_count": total, "outcode": location.outcode},
        "logSearchUrl": None,
    }


# ---------------------------------------------------------------------------------------------
# Detail
# ---------------------------------------------------------------------------------------------


def taxonomy(listing: Listing) -> dict[str, Any]:
    """The analytics taxonomy Zoopla puts beside the listing (adTargeting shares most of it)."""
    prop = listing.property
    outcode, incode = outcode_and_incode(prop.postcode)
    return {
        "areaName": prop.location.town,
        "bedsMax": prop.bedrooms,
        "bedsMin": prop.bedrooms,
        "branchId": branch_id(listing),
        "branchLogoUrl": branch_logo(listing),
        "branchName": listing.agent_name,
        "brandName": listing.agent_name,
        "chainFree": "no onward chain" in listing.description.lower(),
        "companyId": stable_number("zoopla-company", listing.agent_name) % 10_000,
        "countryCode": "gb",
        "countyAreaName": prop.location.county,
        "currencyCode": "GBP",
        "displayAddress": display_address(listing),
        "furnishedState": "",
        "groupId": None,
        "hasEpc": True,
        "hasFloorplan": True,
        "incode": incode,
        "isRetirementHome": False,
        "isSharedOwnership": False,
        "listingCondition": "new" if prop.new_build else "pre-owned",
        "listingId": int(listing.source_id),
        "listingsCategory": "residential",
        "listingStatus": "for_sale",
        "location": prop.location.town,
        "memberType": "agent",
        "numBaths": prop.bathrooms,
        "numBeds": prop.bedrooms,
        "numImages": listing.image_count,
        "numRecepts": None,
        "outcode": outcode,
        "postalArea": postal_area(outcode),
        "postTownName": prop.location.town,
        "priceActual": listing.price,
        "price": listing.price,
        "priceMax": listing.price,
        "priceMin": listing.price,
        "priceQualifier": "" if listing.price_qualifier == "fixed" else listing.price_qualifier,
        "propertyHighlight": "",
        "propertyType": zoopla_type(listing),
        "regionName": prop.location.region,
        "section": "for-sale",
        "sizeSqFeet": str(floor_area_sqft(listing)),
        "tenure": prop.tenure,
        "zindex": round(prop.market_value, -3),
    }


def ad_targeting(listing: Listing) -> dict[str, Any]:
    """`adTargeting`, the taxonomy typed as `ListingAnalyticsTaxonomy`."""
    return {"__typename": "ListingAnalyticsTaxonomy", **taxonomy(listing)}


def analytics_taxonomy(listing: Listing, long_description_ref: str) -> dict[str, Any]:
    """`analyticsTaxonomy`: the taxonomy plus page-view fields, keys in the real order."""
    base = taxonomy(listing)
    lead = {
        key: base.pop(key) for key in ("price", "regionName", "listingStatus", "listingCondition")
    }
    extra = {
        "activity": "listing_details",
        "detailedDescription": long_description_ref,
        "epcRating": listing.property.epc_rating,
        "features": [html.escape(feature, quote=False) for feature in listing.key_features],
        "listingRevisionUuid": stable_hex("revision", listing.source_id, listing.price).upper(),
        "mortgageProvider": "halifax - for-sale",
        "nearestStations": [],
        "nearestStationsInMiles": [],
        "smartTags": [],
    }
    return lead | dict(sorted((base | extra).items(), key=lambda item: item[0].lower()))


def nts_info(listing: Listing, tenure_help_ref: str) -> list[dict[str, Any]]:
    """The material information list: tenure, the lease's terms when there is one, and the
    council tax band."""
    prop = listing.property
    items = [("Tenure", TENURE_LABELS[prop.tenure], "tenure", tenure_help_ref)]
    if prop.lease_years_remaining is not None:
        years = f"{prop.lease_years_remaining} years"
        items.append(
            ("Time remaining on lease", years, "remaining_lease", "Ask the agent for the lease.")
        )
    if prop.ground_rent is not None:
        rent = f"{pounds(prop.ground_rent)} per year"
        items.append(("Ground rent", rent, "ground_rent", "Paid yearly to the freeholder."))
    if prop.service_charge is not None:
        charge = f"{pounds(prop.service_charge)} per year"
        items.append(("Service charge", charge, "service_charge", "Shared running costs."))
    items.append(
        ("Council tax band", "Not available", "council_tax_band", "Ask the local council.")
    )
    return [
        {"title": title, "value": value, "key": key, "description": description}
        for title, value, key, description in items
    ]


@dataclass(frozen=True, slots=True)
class TextRefs:
    """The `$id` pointers from the listing object to the text rows holding its long texts."""

    description: str
    long_description: str
    tenure_help: str


def property_uprn(market: Market, listing: Listing) -> int | None:
    """The UPRN the EPC register holds for the listing's property, which Zoopla shows as well
    (so both can be matched); None when no certificate was ever lodged for it."""
    for certificate in market.epc_certificates(postcode=listing.property.postcode):
        if certificate.property.property_id == listing.property.property_id:
            return certificate.uprn
    return None


def listing_data(listing: Listing, uprn: int | None, refs: TextRefs) -> dict[str, Any]:
    """The detail page's `ListingData` object, keys in the real order."""
    prop = listing.property
    outcode, _ = outcode_and_incode(prop.postcode)
    title = listing_title(listing)
    address = display_address(listing)
    price = display_price(listing)
    floorplan = floorplan_filename(listing)
    qualifier = PRICE_TITLES[listing.price_qualifier] or None
    published = instant(listing.first_listed, listing.source_id)
    return {
        "__typename": "ListingData",
        "displayAddress": address,
        "listingId": listing.source_id,
        "metaTitle": f"{address}, {title}, {price} - Zoopla",
        "metaDescription": f"{title} in {address}, selling for {price} from {listing.agent_name}.",
        "section": "for-sale",
        "title": title,
        "propertyType": zoopla_type(listing),
        "detailedDescription": refs.description,
        "additionalLinks": [],
        "additionalNtsInfo": [
            {
                "title": name,
                "key": key,
                "value": "Ask agent",
                "description": f"Ask the agent about {name.lower()}.",
            }
            for key, name in SERVICES
        ],
        "adTargeting": ad_targeting(listing),
        "counts": {
            "numBathrooms": prop.bathrooms,
            "numBedrooms": prop.bedrooms,
            "numLivingRooms": 0,
        },
        "floorArea": None,
        "ingested": {"sizeSqft": floor_area_sqft(listing), "sizeSource": None},
        "statusSummary": None,
        "branchV2": {
            "branchDetailsUri": branch_uri(listing),
            "branchId": branch_id(listing),
            "branchName": listing.agent_name,
            "logoUrl": branch_logo(listing),
            "redirectCommercialPhone": None,
            "redirectLettingsPhone": None,
            "redirectPhone": listing.agent_phone,
            "isDeveloper": False,
        },
        "location": {
            "uprn": None if uprn is None else str(uprn),
            "postalCode": prop.postcode,
            "coordinates": {"latitude": prop.latitude, "longitude": prop.longitude},
            "outcode": outcode,
            "propertyNumberOrName": prop.paon,
            "region": prop.location.region,
            "streetName": prop.street,
        },
        "analyticsEcommerce": {
            "brand": listing.agent_name,
            "category": "for-sale/resi/agent/pre-owned/gb",
            "id": int(listing.source_id),
            "name": "FS_Contact",
            "price": 1,
            "quantity": 1,
            "variant": "standard",
        },
        "pricing": {
            "internalValue": listing.price,
            "isAuction": listing.auction is not None,
            "alternateRentFrequencyPrice": None,
            "pricePerFloorAreaUnit": None,
            "originalCurrencyPrice": None,
            "priceQualifierLabel": qualifier,
            "label": price,
            "currencyCode": "GBP",
            "rentFrequencyLabel": None,
            "qualifier": None if qualifier is None else listing.price_qualifier,
        },
        "tenure": prop.tenure,
        "epc": {"image": None, "links": [], "pdf": None},
        "derivedEPC": {"efficiencyRating": prop.epc_rating},
        "features": {
            "bullets": [html.escape(feature, quote=False) for feature in listing.key_features],
            "highlights": None,
        },
        "propertyImage": [{"caption": None, "filename": name} for name in photo_filenames(listing)],
        "content": {"floorPlan": [{"original": f"https://lc.zoocdn.com/{floorplan}"}]},
        "embeddedContent": {"tours": None, "videos": None, "links": None},
        "category": "residential",
        "floorPlan": {
            "image": [{"caption": None, "filename": floorplan}],
            "links": None,
            "pdf": None,
        },
        "googleStreetView": {
            "coordinates": {"latitude": prop.latitude, "longitude": prop.longitude}
        },
        "tagsV2": [],
        "analyticsTaxonomy": analytics_taxonomy(listing, refs.long_description),
        "ntsInfo": nts_info(listing, refs.tenure_help),
        "publishedOn": published.strftime("%Y-%m-%dT%H:%M:%S"),
        "derived": {"buyerIncentives": None},
        "sharedOwnership": False,
        "staticWidgets": [],
    }


# ---------------------------------------------------------------------------------------------
# The RSC stream
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the stream: a "text" row (sent with its byte length) or a "line" row (JSON,
    a component import or a hint, ended by a newline)."""

    row_id: str
    kind: str
    payload: str


def json_row(row_id: int, value: Any) -> Row:
    """A JSON row."""
    return Row(f"{row_id:x}", "line", json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def text_row(row_id: int, text: str) -> Row:
    """A text row, its length in UTF-8 bytes as the format counts it."""
    return Row(f"{row_id:x}", "text", text)


def import_row(row_id: int, component: str) -> Row:
    """A client component reference, as Next.js lists each chunk a component needs."""
    chunk = stable_number("chunk", component) % 900_000
    path = f"static/chunks/{chunk}-{stable_hex('chunk', component, length=16)}.js"
    return Row(f"{row_id:x}", "line", f'I[{chunk},["{chunk}","{path}"],"{component}"]')


def hint_row(url: str) -> Row:
    """A style-sheet preload hint (a row with an empty id)."""
    return Row("", "line", f'HL["{url}","style"]')


def router_row(segments: Sequence[str], body_ref: str) -> Row:
    """Row 0, the router tree for the page's URL segments, pointing at the page body."""
    tree: list[Any] = ["__PAGE__", {}]
    for segment in reversed(segments):
        tree = [segment, {"children": tree}]
    root = {
        "P": None,
        "b": BUILD_ID,
        "c": ["", *segments, ""],
        "q": "",
        "i": False,
        "f": [[tree, ["$", "$1", "c", {"children": body_ref}]]],
        "m": "$undefined",
        "S": False,
    }
    return json_row(0, root)


def row_lines(row: Row) -> tuple[str, str]:
    """A row's text in the stream as (header, body); only text rows have a body."""
    if row.kind == "text":
        return f"{row.row_id}:T{len(row.payload.encode('utf-8')):x},", row.payload
    return f"{row.row_id}:{row.payload}\n", ""


def push_chunks(rows: Sequence[Row]) -> list[str]:
    """The stream cut into push strings as the live pages cut it: rows packed into chunks of
    at most 4,096 characters, each text row's body pushed on its own after its header."""
    chunks: list[str] = []
    buffer = ""
    for row in rows:
        header, body = row_lines(row)
        buffer += header
        if body:
            chunks += [buffer[i : i + PUSH_CHUNK] for i in range(0, len(buffer), PUSH_CHUNK)]
            chunks.append(body)
            buffer = ""
    chunks += [buffer[i : i + PUSH_CHUNK] for i in range(0, len(buffer), PUSH_CHUNK)]
    return chunks


def push_scripts(rows: Sequence[Row]) -> str:
    """The `self.__next_f` scripts carrying the stream."""
    pushes = [
        f"<script>self.__next_f.push([1,{next_escaped_json(chunk)}])</script>"
        for chunk in push_chunks(rows)
    ]
    return "<script>(self.__next_f=self.__next_f||[]).push([0])</script>" + "".join(pushes)


def renamed(value: Any, names: Mapping[str, str]) -> Any:
    """`value` with every dict key in `names` renamed, at any depth."""
    if isinstance(value, dict):
        return {names.get(key, key): renamed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [renamed(item, names) for item in value]
    return value


CHANGED_NAMES = {
    "listingId": "id",
    "pricing": "priceDetails",
    "regularListingsFormatted": "listings",
    "pagination": "pageInfo",
}


def page_shell(title: str, head_extra: str, body: str, rows: Sequence[Row]) -> str:
    """The HTML around a stream: head, a little server markup and the push scripts."""
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charSet="utf-8"/>'
        f"<title>{html.escape(title)}</title>"
        f'<link rel="stylesheet" href="{STYLE_SHEET}"/>'
        f"{head_extra}</head><body>{body}{push_scripts(rows)}</body></html>"
    )


def css_hint() -> Row:
    """The one style-sheet hint every page carries."""
    return hint_row(STYLE_SHEET)


def render_detail_page(listing: Listing, uprn: int | None, *, changed: bool = False) -> str:
    """A `/for-sale/details/{id}/` page: the `ListingData` object inside the page component's
    props, its long texts in text rows."""
    description_id, long_id, tenure_id, body_id = 6, 7, 8, 5
    refs = TextRefs(f"${description_id:x}", f"${long_id:x}", f"${tenure_id:x}")
    data = listing_data(listing, uprn, refs)
    if changed:
        data = renamed(data, CHANGED_NAMES)
    body = [
        "$",
        "div",
        None,
        {
            "className": "ldp-layout",
            "children": [
                [
                    "$",
                    "header",
                    None,
                    {"aria-label": "listing actions", "children": ["$", "$L2", None, data]},
                ],
                [
                    "$",
                    "section",
                    None,
                    {"children": ["$", "$L3", None, {"images": data["propertyImage"]}]},
                ],
                ["$", "$L4", None, {"value": {"targeting": data["adTargeting"]}}],
            ],
        },
    ]
    html_description = description_html(listing.description, "<br>")
    rows = [
        json_row(1, "$Sreact.fragment"),
        import_row(2, "ListingSummary"),
        import_row(3, "ListingGallery"),
        import_row(4, "ListingAnalytics"),
        css_hint(),
        router_row(["for-sale", "details", listing.source_id], f"$L{body_id:x}"),
        text_row(description_id, html_description),
        text_row(long_id, f'<p class="top">{html_description}</p>'),
        text_row(tenure_id, TENURE_HELP),
        json_row(body_id, body),
    ]
    title = (
        f"{display_address(listing)}, {listing_title(listing)}, {display_price(listing)} - Zoopla"
    )
    markup = (
        f'<main id="main-content"><h1>{html.escape(listing_title(listing))}</h1>'
        f"<address>{html.escape(display_address(listing))}</address>"
        f"<p>{html.escape(display_price(listing))}</p></main>"
    )
    return page_shell(title, "", markup, rows)


def search_card_html(item: Mapping[str, Any]) -> str:
    """A thin server-rendered card, for scrapers that read the DOM."""
    return (
        f'<div><a href="{item["listingUris"]["detail"]}"><p class="priceText">'
        f"{html.escape(item['price'])}</p><address>{html.escape(item['address'])}</address>"
        f"<h2>{html.escape(item['title'])}</h2></a></div>"
    )


def render_search_page(
    props: Mapping[str, Any], location: Location, *, changed: bool = False
) -> str:
    """A `/for-sale/property/{area}/` page: the results component's props in the stream."""
    shown = renamed(dict(props), CHANGED_NAMES) if changed else dict(props)
    rows = [
        json_row(1, "$Sreact.fragment"),
        import_row(2, "SearchResultsLayout"),
        import_row(3, "RegularListings"),
        css_hint(),
        router_row(["for-sale", "property", *location.zoopla_slug.split("/")], "$L4"),
        json_row(
            4, ["$", "main", None, {"id": "main-content", "children": ["$", "$L2", None, shown]}]
        ),
    ]
    total = props["pagination"]["totalResults"]
    targeting = {"search_results_count": total, "outcode": location.outcode}
    head = (
        '<script id="__ZAD_TARGETING__" type="application/json">'
        f"{next_escaped_json(targeting)}</script>"
    )
    cards = "".join(search_card_html(item) for item in props["regularListingsFormatted"])
    markup = (
        f'<main id="main-content"><h1>{html.escape(props["title"])}</h1>'
        f'<p data-testid="total-results">{total:,} results</p>'
        f'<div data-testid="regular-listings">{cards}</div></main>'
    )
    return page_shell(props["metaInfo"]["title"], head, markup, rows)


def render_message_page(status: str, message: str) -> str:
    """A plain page for a listing or area Zoopla cannot show, or a URL it rejects."""
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charSet="utf-8"/>'
        f"<title>{html.escape(status)} - Zoopla</title></head><body><main>"
        f"<h1>{html.escape(status)}</h1><p>{html.escape(message)}</p></main></body></html>"
    )


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Zoopla's for-sale search pages and listing detail pages, served from `ctx.market`."""

    async def search_page(request: Request) -> Response:
        area = request.path_params["area"].strip("/")
        location = ctx.market.location(zoopla_slug=area)
        if location is None:
            return HTMLResponse(render_message_page("Page not found", f"No area {area!r}"), 404)
        try:
            query = parse_search_query(request.query_params)
        except SearchQueryError as error:
            return HTMLResponse(render_message_page("Bad request", str(error)), 400)

        day = ctx.market_date(request)
        listings = search_market(ctx.market, day, UPSTREAM, location.outcode, query)
        page = page_of_results(listings, query.page_number)
        props = search_props(page, len(listings), query, location, day)
        changed = ctx.changed_structure(request, UPSTREAM)
        return HTMLResponse(render_search_page(props, location, changed=changed))

    async def detail_page(request: Request) -> Response:
        listing_id = request.path_params["listing_id"]
        day = ctx.market_date(request)
        listing = live_listing(ctx.market, UPSTREAM, listing_id, day)
        if listing is None:
            message = f"Listing {listing_id} is no longer on the market."
            return HTMLResponse(render_message_page("Page not found", message), 404)
        changed = ctx.changed_structure(request, UPSTREAM)
        uprn = property_uprn(ctx.market, listing)
        return HTMLResponse(render_detail_page(listing, uprn, changed=changed))

    return [
        Route("/for-sale/property/{area:path}", search_page),
        Route("/for-sale/details/{listing_id}/", detail_page),
    ]
