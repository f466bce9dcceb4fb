"""Rightmove stand-in: search pages, the search JSON API and property detail pages.

Renders the sandbox market in Rightmove's current wire formats (portals reference §1): the
Next.js `__NEXT_DATA__` search page, `/api/property-search/listing/search`, and detail pages
carrying `window.PAGE_MODEL` or, for about 30% of ids, the packed `window.__PAGE_MODEL`
flat-array encoding of §1.6b. Rendering is pure (listing in, text out) so every page is
byte-identical for the same market, date and URL; the route handlers only parse the query,
ask the market and hand the records to a renderer.

Links inside the pages are root-relative (`/properties/123`), as on the real site, so a scraper
joins them with its base URL (the sandbox's `/rightmove` prefix). What every stand-in renders
the same way (stable ids, prices, escaping, query checks) comes from `sandbox.rendering`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.model import Listing, Location
from property_pipeline.sandbox.rendering import (
    SearchQueryError,
    description_html,
    display_price,
    floor_area_sqft,
    instant,
    live_listing,
    next_escaped_json,
    optional_int,
    outcode_and_incode,
    postal_area,
    search_market,
    slug,
    stable_hex,
    stable_number,
)

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext

UPSTREAM = "rightmove"
PAGE_SIZE = 24
MAX_PAGES = 42
MAX_INDEX = (MAX_PAGES - 1) * PAGE_SIZE  # 984: Rightmove serves no page past the 42nd
PACKED_SHARE_PERCENT = 30
MEDIA = "https://media.rightmove.co.uk"
CARD_MEDIA = "https://media.rightmove.co.uk:443"
BUILD_ID = "property-search-web-sandbox"
SQFT_PER_ACRE = 43560

# sortType codes from the real sort options.
SORT_TYPES = {"1": "price_low", "2": "price_high", "6": "newest", "10": "oldest"}
DEFAULT_SORT_TYPE = "6"

# Rightmove's propertyTypes filter values and the model types each one admits. Land, park homes
# and halls exist on Rightmove but never in this market, so they match nothing.
PROPERTY_TYPE_FILTERS: dict[str, tuple[str, ...]] = {
    "detached": ("detached",),
    "semi-detached": ("semi_detached",),
    "terraced": ("terraced",),
    "flat": ("flat", "block_of_flats"),
    "bungalow": ("bungalow",),
    "land": (),
    "park-home": (),
    "private-halls": (),
}


class TypeLabels(NamedTuple):
    """How Rightmove names one model property type in its different fields."""

    sub_type: str  # propertySubType: "Semi-Detached"
    phrase: str  # in "3 bedroom semi-detached house for sale"
    sold_type: str  # soldPropertyType: "SEMI_DETACHED"
    category: str  # analyticsProperty.propertyType: "Houses"
    alias: str  # mortgageCalculator.propertyTypeAlias and the ad "PT" key: "houses"


PROPERTY_LABELS: dict[str, TypeLabels] = {
    "flat": TypeLabels("Flat", "flat", "FLAT", "Flats / Apartments", "flats_apartments"),
    "terraced": TypeLabels("Terraced", "terraced house", "TERRACED", "Houses", "houses"),
    "semi_detached": TypeLabels(
        "Semi-Detached", "semi-detached house", "SEMI_DETACHED", "Houses", "houses"
    ),
    "detached": TypeLabels("Detached", "detached house", "DETACHED", "Houses", "houses"),
    "bungalow": TypeLabels("Bungalow", "bungalow", "DETACHED", "Bungalows", "bungalows"),
    "block_of_flats": TypeLabels(
        "Block of Apartments",
        "block of apartments",
        "UNKNOWN",
        "Flats / Apartments",
        "flats_apartments",
    ),
    "hmo": TypeLabels(
        "House of Multiple Occupation",
        "house of multiple occupation",
        "UNKNOWN",
        "Houses",
        "houses",
    ),
    "mixed_use": TypeLabels("Mixed Use", "property", "UNKNOWN", "Commercial", "commercial"),
}

PRICE_QUALIFIER_LABELS = {
    "fixed": "",
    "guide": "Guide Price",
    "offers_over": "Offers Over",
    "offers_in_region_of": "Offers in Region of",
    "from": "From",
    "poa": "",
}

TENURE_TYPES = {
    "freehold": "FREEHOLD",
    "leasehold": "LEASEHOLD",
    "share_of_freehold": "SHARE_OF_FREEHOLD",
    "commonhold": "COMMONHOLD",
}

DISPLAY_STATUSES = {"available": "", "under_offer": "Under Offer", "sold_stc": "Sold STC"}
STATUS_TAGS = {"available": [], "under_offer": ["UNDER_OFFER"], "sold_stc": ["SOLD_STC"]}

# Upper bounds of a rough market-value ladder for the council tax band the page shows.
COUNCIL_TAX_LADDER = (
    (150_000, "A"),
    (200_000, "B"),
    (275_000, "C"),
    (350_000, "D"),
    (475_000, "E"),
    (650_000, "F"),
    (1_200_000, "G"),
)

TERMS_OF_USE = (
    "This interface serves the sandbox's synthetic market only; its listings describe no real "
    "property."
)


# ---------------------------------------------------------------------------------------------
# Search query
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One Rightmove search request, parsed and checked."""

    location_identifier: str
    min_price: int | None
    max_price: int | None
    property_types: tuple[str, ...] | None  # model types; None means any
    type_filters: tuple[str, ...]  # the Rightmove values as asked, for searchParameters
    min_bedrooms: int | None
    max_bedrooms: int | None
    sort_type: str
    index: int
    include_sstc: bool

    @property
    def sort(self) -> str:
        """The market's sort name for this query's `sortType`."""
        return SORT_TYPES[self.sort_type]


def parse_property_types(raw: str) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """Rightmove's comma-separated `propertyTypes` as (values asked, model types admitted)."""
    values = tuple(value for value in raw.replace("%2C", ",").split(",") if value)
    if not values:
        return (), None
    unknown = [value for value in values if value not in PROPERTY_TYPE_FILTERS]
    if unknown:
        allowed = ", ".join(PROPERTY_TYPE_FILTERS)
        raise SearchQueryError(f"propertyTypes has unknown {unknown}; Rightmove takes {allowed}")
    admitted = sorted({model for value in values for model in PROPERTY_TYPE_FILTERS[value]})
    return values, tuple(admitted)


def parse_search_query(params: Mapping[str, str]) -> SearchQuery:
    """Check a search URL's parameters the way the real search and API read them."""
    location_identifier = params.get("locationIdentifier", "").strip()
    if not location_identifier:
        raise SearchQueryError("locationIdentifier is required, e.g. OUTCODE^1234")
    sort_type = params.get("sortType", "").strip() or DEFAULT_SORT_TYPE
    if sort_type not in SORT_TYPES:
        raise SearchQueryError(f"sortType={sort_type!r} is not one of {sorted(SORT_TYPES)}")
    type_filters, property_types = parse_property_types(params.get("propertyTypes", ""))
    sstc_flags = (params.get("includeSSTC", ""), params.get("_includeSSTC", ""))
    return SearchQuery(
        location_identifier=location_identifier,
        min_price=optional_int(params, "minPrice"),
        max_price=optional_int(params, "maxPrice"),
        property_types=property_types,
        type_filters=type_filters,
        min_bedrooms=optional_int(params, "minBedrooms"),
        max_bedrooms=optional_int(params, "maxBedrooms"),
        sort_type=sort_type,
        index=optional_int(params, "index") or 0,
        include_sstc=any(flag.lower() in ("true", "on") for flag in sstc_flags),
    )


def page_of_results(listings: Sequence[Listing], query: SearchQuery) -> tuple[list[Listing], int]:
    """The listings Rightmove shows at the query's index and the true total behind them.

    Under offer and sold STC listings count only when the query includes them, as the real
    "Include Under Offer, Sold STC" box does; past the 42nd page nothing is served.
    """
    shown = [
        listing
        for listing in listings
        if query.include_sstc or listing.status not in ("under_offer", "sold_stc")
    ]
    if query.index > MAX_INDEX:
        return [], len(shown)
    return shown[query.index : query.index + PAGE_SIZE], len(shown)


# ---------------------------------------------------------------------------------------------
# Search: property cards and the searchResults object
# ---------------------------------------------------------------------------------------------


def labels(listing: Listing) -> TypeLabels:
    """Rightmove's labels for the listing's property type."""
    return PROPERTY_LABELS[listing.property.property_type]


def property_phrase(listing: Listing) -> str:
    """`3 bedroom terraced house`, or `Studio flat` for a flat without bedrooms."""
    phrase = labels(listing).phrase
    if listing.property.bedrooms == 0:
        return f"Studio {phrase}" if phrase == "flat" else phrase.capitalize()
    return f"{listing.property.bedrooms} bedroom {phrase}"


def display_address(listing: Listing) -> str:
    """The address line Rightmove shows: street, town and outcode, never the full postcode."""
    prop = listing.property
    parts = [prop.street, prop.locality, prop.location.town, prop.location.outcode]
    return ", ".join(part for part in parts if part)


def uk_date(day: dt.date) -> str:
    """A date as Rightmove prints it: `04/02/2026`."""
    return day.strftime("%d/%m/%Y")


def added_or_reduced(listing: Listing, day: dt.date) -> str:
    """`Added today`, `Added on 04/02/2026`, `Reduced yesterday` and so on."""
    reduced_on = listing.reduced_on
    verb, when = ("Reduced", reduced_on) if reduced_on else ("Added", listing.first_listed)
    age = (day - when).days
    if age == 0:
        return f"{verb} today"
    if age == 1:
        return f"{verb} yesterday"
    return f"{verb} on {uk_date(when)}"


def branch_id(listing: Listing) -> int:
    """The agent branch's id, fixed by its name and town."""
    return (
        1000 + stable_number("branch", listing.agent_name, listing.property.location.town) % 299000
    )


def branch_display_name(listing: Listing) -> str:
    """`Agent Name, Town` as Rightmove names a branch."""
    return f"{listing.agent_name}, {listing.property.location.town}"


def branch_url(listing: Listing) -> str:
    """The branch landing page path."""
    town = slug(listing.property.location.town)
    return f"/estate-agents/agent/{slug(listing.agent_name)}/{town}-{branch_id(listing)}.html"


def image_hashes(listing: Listing) -> list[str]:
    """One stable hash per photo of the listing."""
    return [stable_hex("photo", listing.source_id, n) for n in range(listing.image_count)]


def photo_paths(listing: Listing) -> list[str]:
    """Where each photo of the listing sits on the media server, one stable hash per photo."""
    return [
        f"property-photo/{digest[:9]}/{listing.source_id}/{digest}"
        for digest in image_hashes(listing)
    ]


def card_images(listing: Listing) -> list[dict[str, Any]]:
    """The photo list of a search card."""
    return [
        {
            "srcUrl": f"{CARD_MEDIA}/dir/crop/10:9-16:9/{path}_max_476x317.jpeg",
            "url": f"{path}.jpeg",
            "caption": None,
        }
        for path in photo_paths(listing)
    ]


def card_customer(listing: Listing, updated: str) -> dict[str, Any]:
    """The `customer` (agent branch) block of a search card."""
    logo = f"/brand/brand_rmchoice_logo_{branch_id(listing)}_0000.jpeg"
    return {
        "branchId": branch_id(listing),
        "brandPlusLogoURI": logo,
        "contactTelephone": listing.agent_phone,
        "branchDisplayName": branch_display_name(listing),
        "branchName": listing.property.location.town,
        "brandTradingName": listing.agent_name,
        "branchLandingPageUrl": branch_url(listing),
        "development": listing.property.new_build,
        "mediaServerUrl": CARD_MEDIA,
        "showReducedProperties": True,
        "hasBrandPlus": True,
        "commercial": False,
        "showOnMap": True,
        "enhancedListing": False,
        "developmentContent": None,
        "buildToRent": False,
        "buildToRentBenefits": [],
        "updateDate": updated,
        "brandPlusLogoUrl": f"{CARD_MEDIA}{logo}",
        "primaryBrandColour": None,
    }


def iso_z(moment: dt.datetime) -> str:
    """An instant as the API writes it: `2026-01-29T16:35:03Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def property_card(listing: Listing, day: dt.date, *, featured: bool = False) -> dict[str, Any]:
    """One property object of the search API and the search page, keyed as the real ones."""
    prop = listing.property
    listed_at = instant(listing.first_listed, listing.source_id)
    updated_on = listing.reduced_on or listing.first_listed
    updated = iso_z(instant(updated_on, listing.source_id, "update"))
    images = card_images(listing)
    main_image = images[0]["srcUrl"] if images else ""
    sqft = floor_area_sqft(listing)
    return {
        "id": int(listing.source_id),
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "numberOfImages": listing.image_count,
        "numberOfFloorplans": 1,
        "numberOfVirtualTours": 0,
        "summary": listing.summary,
        "displayAddress": display_address(listing),
        "countryCode": "GB",
        "location": {"latitude": round(prop.latitude, 6), "longitude": round(prop.longitude, 6)},
        "images": images,
        "propertySubType": labels(listing).sub_type,
        "tenure": {"tenureType": TENURE_TYPES[prop.tenure]},
        "letAvailableDate": None,
        "listingUpdate": {
            "listingUpdateReason": "price_reduced" if listing.reduced_on else "new",
            "listingUpdateDate": updated,
        },
        "price": {
            "amount": listing.price,
            "frequency": "not specified",
            "currencyCode": "GBP",
            "displayPrices": [
                {
                    "displayPrice": display_price(listing),
                    "displayPriceQualifier": PRICE_QUALIFIER_LABELS[listing.price_qualifier],
                }
            ],
        },
        "premiumListing": False,
        "featuredProperty": featured,
        "commercialSearchProminenceSelected": False,
        "customer": card_customer(listing, updated),
        "distance": None,
        "transactionType": "buy",
        "productLabel": {"productLabelText": None, "spotlightLabel": False},
        "commercial": False,
        "development": prop.new_build,
        "residential": True,
        "students": False,
        "auction": listing.auction is not None,
        "feesApply": False,
        "feesApplyText": None,
        "displaySize": f"{sqft:,} sq. ft.",
        "showOnMap": True,
        "propertyUrl": f"/properties/{listing.source_id}#/?channel=RES_BUY",
        "contactUrl": f"/property-for-sale/contactBranch.html?propertyId={listing.source_id}",
        "staticMapUrl": None,
        "channel": "BUY",
        "firstVisibleDate": iso_z(listed_at),
        "keywords": [],
        "tags": [],
        "keywordMatchType": "no_keyword",
        "saved": False,
        "hidden": False,
        "onlineViewingsAvailable": False,
        "lozengeModel": {"matchingLozenges": []},
        "streetView": {"showStreetView": True},
        "enquiredTimestamp": None,
        "updateDate": updated,
        "enquiryAddedTimestamp": None,
        "enquiryCalledTimestamp": None,
        "reviews": None,
        "keyFeatures": [
            {"order": order, "description": feature, "htmlDescription": html.escape(feature)}
            for order, feature in enumerate(listing.key_features, start=1)
        ],
        "enhancedListing": False,
        "propertyImages": {
            "images": images,
            "mainImageSrc": main_image,
            "mainMapImageSrc": main_image.replace("_max_476x317", "_max_296x197"),
        },
        "formattedBranchName": f" by {branch_display_name(listing)}",
        "addedOrReduced": added_or_reduced(listing, day),
        "formattedDistance": "",
        "heading": "Featured Property" if featured else "",
        "propertyTypeFullDescription": f"{property_phrase(listing)} for sale",
        "displayStatus": DISPLAY_STATUSES[listing.status],
        "isRecent": (day - listing.first_listed).days <= 1,
        "hasBrandPlus": True,
    }


def featured_choice(page: Sequence[Listing], day: dt.date) -> Listing:
    """The page-one result Rightmove repeats as the featured card; it changes day by day."""
    return page[day.toordinal() % len(page)]


def pagination(total: int, index: int) -> dict[str, Any]:
    """The pagination object: page count as a number, the rest as strings, 42 pages at most."""
    pages = min(MAX_PAGES, math.ceil(total / PAGE_SIZE))
    last = max(pages - 1, 0) * PAGE_SIZE
    return {
        "total": pages,
        "first": "0",
        "last": str(last),
        "next": str(min(index + PAGE_SIZE, last)),
        "page": str(index // PAGE_SIZE + 1),
    }


def search_url(query: SearchQuery, index: int) -> str:
    """The root-relative find.html URL for the same search at another index."""
    params = {
        "locationIdentifier": query.location_identifier,
        "minPrice": query.min_price,
        "maxPrice": query.max_price,
        "propertyTypes": ",".join(query.type_filters) or None,
        "minBedrooms": query.min_bedrooms,
        "maxBedrooms": query.max_bedrooms,
        "sortType": query.sort_type,
        "index": index,
        "includeSSTC": "true" if query.include_sstc else None,
    }
    present = {name: value for name, value in params.items() if value is not None}
    return "/property-for-sale/find.html?" + urlencode(present, quote_via=quote)


def search_parameters(query: SearchQuery) -> dict[str, Any]:
    """The `searchParameters` echo of the query, every scalar a string as on the real page."""
    parameters: dict[str, Any] = {"locationIdentifier": query.location_identifier}
    optional = {
        "minPrice": query.min_price,
        "maxPrice": query.max_price,
        "minBedrooms": query.min_bedrooms,
        "maxBedrooms": query.max_bedrooms,
    }
    parameters |= {name: str(value) for name, value in optional.items() if value is not None}
    return parameters | {
        "numberOfPropertiesPerPage": str(PAGE_SIZE),
        "radius": "0.0",
        "sortType": query.sort_type,
        "index": str(query.index),
        "propertyTypes": list(query.type_filters),
        "tenureTypes": [],
        "viewType": "LIST",
        "mustHave": [],
        "dontShow": [],
        "furnishTypes": [],
        "channel": "BUY",
        "areaSizeUnit": "sqft",
        "currencyCode": "GBP",
        "keywords": [],
        "tags": [],
    }


def search_results(
    page: Sequence[Listing],
    total: int,
    query: SearchQuery,
    location: Location,
    day: dt.date,
) -> dict[str, Any]:
    """The `searchResults` object: what the API returns and the page embeds.

    Page one leads with a `featuredProperty` card repeating one of its own results.
    """
    cards = [property_card(listing, day) for listing in page]
    if query.index == 0 and page:
        cards.insert(0, property_card(featured_choice(page, day), day, featured=True))
    place = f"{location.town}, {location.outcode}"
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return {
        "properties": cards,
        "resultCount": f"{total:,}",
        "searchParameters": search_parameters(query),
        "pagination": pagination(total, query.index),
        "searchParametersDescription": f"Properties For Sale in {place}",
        "sidebarModel": {"soldHousePricesLinks": None, "relatedHouseSearches": None},
        "keywordCount": 0,
        "pageTitle": f"Properties For Sale in {place} | Rightmove",
        "metaDescription": f"Flats & Houses For Sale in {place}",
        "seoModel": {"canonicalUrl": search_url(query, 0), "metaRobots": ""},
        "timestamp": int(midnight.timestamp() * 1000),
        "urlPath": None,
        "termsOfUse": TERMS_OF_USE,
        "staticMapUrl": None,
        "listViewUrl": search_url(query, query.index),
        "mapViewUrl": search_url(query, query.index).replace("/find.html", "/map.html"),
    }


def changed_search_results(results: Mapping[str, Any]) -> dict[str, Any]:
    """The same results under renamed keys, as after a Rightmove front-end release."""
    renamed = {"properties": "listings", "resultCount": "totalCount", "pagination": "paging"}
    return {renamed.get(key, key): value for key, value in results.items()}


def render_search_json(results: Mapping[str, Any], *, changed: bool = False) -> str:
    """The search API's response body."""
    body = changed_search_results(results) if changed else results
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def search_card_html(position: int, card: Mapping[str, Any]) -> str:
    """A thin server-rendered card, for scrapers that read the DOM instead of the JSON."""
    price = card["price"]["displayPrices"][0]["displayPrice"]
    return (
        f'<div data-testid="propertyCard-{position}"><a href="{html.escape(card["propertyUrl"])}">'
        f'<address data-testid="property-address">{html.escape(card["displayAddress"])}</address>'
        f'<div data-testid="property-price">{html.escape(price)}</div>'
        f'<div data-testid="property-information">'
        f"{html.escape(card['propertyTypeFullDescription'])}</div></a></div>"
    )


def render_search_page(
    results: Mapping[str, Any], query: SearchQuery, *, changed: bool = False
) -> str:
    """A find.html search page: Next.js markup with `searchResults` in `__NEXT_DATA__`."""
    pagination_info = results["pagination"]
    has_next = int(pagination_info["next"]) > query.index
    next_url = search_url(query, int(pagination_info["next"])) if has_next else None
    page_props = {
        "searchResults": changed_search_results(results) if changed else dict(results),
        "headMetaData": {
            "canonicalUrl": results["seoModel"]["canonicalUrl"],
            "title": results["pageTitle"],
            "description": results["metaDescription"],
            "nextUrl": next_url,
        },
    }
    if changed:
        page_props["listingSearch"] = page_props.pop("searchResults")
    next_data = {
        "props": {"pageProps": page_props, "__N_SSP": True},
        "page": "/property-for-sale/[locationIdentifier]",
        "query": {"locationIdentifier": "find.html"},
        "buildId": BUILD_ID,
        "isFallback": False,
        "gssp": True,
        "appGip": True,
        "scriptLoader": [],
    }
    script_id = "__NEXT_DATA_V2__" if changed else "__NEXT_DATA__"
    cards = "".join(
        search_card_html(position, card) for position, card in enumerate(results["properties"])
    )
    next_link = f'<link rel="next" href="{html.escape(next_url)}">' if next_url else ""
    title = html.escape(results["pageTitle"])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>{next_link}</head><body>"
        f'<div id="__next"><main><h1>{html.escape(results["searchParametersDescription"])}</h1>'
        f'<span data-testid="results-count">{results["resultCount"]} results</span>'
        f"{cards}</main></div>"
        f'<script id="{script_id}" type="application/json">{next_escaped_json(next_data)}</script>'
        "</body></html>"
    )


# ---------------------------------------------------------------------------------------------
# Detail: the PAGE_MODEL
# ---------------------------------------------------------------------------------------------


def council_tax_band(listing: Listing) -> str:
    """A council tax band consistent with the property's value."""
    value = listing.property.market_value
    return next((band for limit, band in COUNCIL_TAX_LADDER if value < limit), "H")


def uk_country(location: Location) -> str:
    """The UK nation a location is in, as `address.ukCountry` names it."""
    return location.region if location.region in ("Wales", "Scotland") else "England"


def price_band(price: int) -> str:
    """The advertising price band (`Band8` around £700k) Rightmove's ad targeting uses."""
    return f"Band{max(1, min(12, int(math.log2(max(price, 10_000) / 10_000)) + 2))}"


def photo_urls(listing: Listing) -> list[dict[str, Any]]:
    """The detail page's photo list with its resized variants."""
    return [
        {
            "url": f"{MEDIA}/{path}.jpeg",
            "caption": None,
            "resizedImageUrls": {
                size: f"{MEDIA}/dir/{path}_max_{size[4:]}.jpeg"
                for size in ("size135x100", "size476x317", "size656x437")
            },
        }
        for path in photo_paths(listing)
    ]


def floorplan_urls(listing: Listing) -> list[dict[str, Any]]:
    """The one floor plan every sandbox listing carries."""
    digest = stable_hex("floorplan", listing.source_id)
    path = f"property-floorplan/{digest[:9]}/{listing.source_id}/{digest}"
    return [
        {
            "url": f"{MEDIA}/{path}.png",
            "caption": "Floor Plan",
            "type": "IMAGE",
            "resizedFloorplanUrls": {"size296x197": f"{MEDIA}/dir/{path}_max_296x197.png"},
        }
    ]


def sizings(listing: Listing) -> list[dict[str, Any]]:
    """Floor area in the four units the page offers; hectares and acres to two places."""
    sqm = listing.property.floor_area_sqm
    sqft = floor_area_sqft(listing)
    units = [
        ("sqm", "sq. m.", sqm),
        ("sqft", "sq. ft.", sqft),
        ("ha", "ha.", round(sqm / 10_000, 2)),
        ("ac", "ac.", round(sqft / SQFT_PER_ACRE, 2)),
    ]
    return [
        {"unit": unit, "displayUnit": shown, "minimumSize": size, "maximumSize": size}
        for unit, shown, size in units
    ]


def page_text(listing: Listing) -> dict[str, Any]:
    """The `text` block: description HTML, titles and the disclaimers an auction adds."""
    phrase = property_phrase(listing)
    address = display_address(listing)
    agent = branch_display_name(listing)
    auction = listing.auction is not None
    return {
        "description": description_html(listing.description),
        "propertyPhrase": phrase,
        "disclaimer": (
            f"<b>Disclaimer</b> - Property reference {listing.source_id}. This advertisement is "
            f"provided and maintained by <b>{html.escape(agent)}</b>."
        ),
        "auctionFeesDisclaimer": (
            "Buyer's and administration fees may be payable on top of the price."
            if auction
            else None
        ),
        "guidePriceDisclaimer": (
            "A guide price indicates the seller's minimum expectation at auction."
            if auction or listing.price_qualifier == "guide"
            else None
        ),
        "reservePriceDisclaimer": (
            "The reserve is the lowest price the seller will accept and is not disclosed."
            if auction
            else None
        ),
        "staticMapDisclaimerText": "Map data from OpenStreetMap contributors.",
        "newHomesBrochureDisclaimer": f"Your details are sent to {html.escape(agent)} only.",
        "shareText": f"Check out this {phrase} for sale on Rightmove",
        "shareDescription": (
            f"{phrase} for sale in {address} for {display_price(listing)}. Marketed by {agent}"
        ),
        "pageTitle": f"{phrase} for sale in {address}",
        "shortDescription": f"{phrase} for sale",
    }


def page_prices(listing: Listing) -> dict[str, Any]:
    """The `prices` block; the number itself is only in analyticsProperty."""
    per_sqft = listing.price / max(floor_area_sqft(listing), 1)
    return {
        "primaryPrice": display_price(listing),
        "secondaryPrice": None,
        "displayPriceQualifier": PRICE_QUALIFIER_LABELS[listing.price_qualifier],
        "pricePerSqFt": f"£{per_sqft:.2f} per sq ft",
        "message": None,
        "exchangeRate": None,
    }


def page_customer(listing: Listing) -> dict[str, Any]:
    """The detail page's `customer` (agent branch) block."""
    profile = branch_url(listing)
    town = listing.property.location.town
    about = f"<p><b>About {html.escape(listing.agent_name)}</b></p><p>Selling homes in {town}.</p>"
    return {
        "amenities": [],
        "primaryBrandColour": "#ffffff",
        "branchId": branch_id(listing),
        "branchName": town,
        "branchDisplayName": branch_display_name(listing),
        "companyName": listing.agent_name,
        "companyTradingName": listing.agent_name,
        "displayAddress": f"{town},\r\n{listing.property.location.outcode}",
        "logoPath": f"{MEDIA}/brand/brand_logo_{branch_id(listing)}_0000.jpeg",
        "customerDescription": {
            "truncatedDescriptionHTML": about,
            "isTruncated": False,
            "descriptionHTML": about,
        },
        "bannerAd": f"{MEDIA}/partner-branchprofile/{branch_id(listing)}-HEADER.jpg",
        "mpuAd": f"{MEDIA}/partner-branchprofile/{branch_id(listing)}-MPU.jpg",
        "customerProfileUrl": profile,
        "customerBannerAdProfileUrl": f"{profile}#ram_about_us",
        "customerMpuAdProfileUrl": f"{profile}#ram_about_us",
        "customerPropertiesUrl": (
            f"/property-for-sale/find.html?locationIdentifier=BRANCH%5E{branch_id(listing)}"
        ),
        "isNewHomeDeveloper": False,
        "spotlight": None,
        "showBrochureLeadModal": False,
        "developmentInfo": {"sitePlanUri": None, "micrositeFeatures": []},
        "buildToRent": False,
        "commercial": False,
        "buildToRentBenefits": [],
        "videoUrl": None,
        "videoEnabled": False,
        "valuationFormUrl": f"/estate-agents/contactBranch.html?branchId={branch_id(listing)}",
        "products": {"hasMicrosite": False},
        "virtualToursLeadEnabled": False,
    }


def info_reel(listing: Listing) -> list[dict[str, Any]]:
    """The key facts strip under the photos."""
    items = [
        ("PROPERTY TYPE", "PROPERTY_TYPE", labels(listing).sub_type, ""),
        ("BEDROOMS", "BEDROOMS", str(listing.property.bedrooms), ""),
        ("BATHROOMS", "BATHROOMS", str(listing.property.bathrooms), ""),
        (
            "SIZE",
            "SIZE",
            f"{floor_area_sqft(listing):,} sq ft",
            f"{listing.property.floor_area_sqm:,} sq m",
        ),
    ]
    return [
        {
            "title": title,
            "type": kind,
            "primaryText": primary,
            "secondaryText": secondary,
            "tooltipText": "",
        }
        for title, kind, primary, secondary in items
    ]


def living_costs(listing: Listing) -> dict[str, Any]:
    """Ground rent, service charge and council tax band, null where the lease has none."""
    prop = listing.property
    has_ground_rent = prop.ground_rent is not None
    return {
        "councilTaxExempt": False,
        "councilTaxIncluded": False,
        "annualGroundRent": prop.ground_rent,
        "groundRentReviewPeriodInYears": 25 if has_ground_rent else None,
        "groundRentPercentageIncrease": 0 if has_ground_rent else None,
        "annualServiceCharge": prop.service_charge,
        "councilTaxBand": council_tax_band(listing),
        "domesticRates": None,
    }


def ad_targeting(listing: Listing) -> list[dict[str, Any]]:
    """The ad-server key/value list (`dfpAdInfo.targeting`, repeated as `window.adInfo`)."""
    prop = listing.property
    outcode, incode = outcode_and_incode(prop.postcode)
    pairs = [
        ("SO", "TRUE" if listing.status == "sold_stc" else "FALSE"),
        ("R", "TRUE" if listing.reduced_on else "FALSE"),
        ("AUCP", "TRUE" if listing.auction else "FALSE"),
        ("CCY", "GBP"),
        ("UTo_A", postal_area(outcode)),
        ("UTo_C", "GB"),
        ("CT", "property-for-sale"),
        ("TT", "buy"),
        ("BD", str(prop.bedrooms)),
        ("PT", labels(listing).alias),
        ("PST", labels(listing).sub_type.lower().replace(" ", "_").replace("-", "_")),
        ("RESALEPRICE", str(listing.price)),
        ("B", price_band(listing.price)),
        ("B_ID", str(branch_id(listing))),
        ("C_ID", listing.agent_name),
        ("FP", "Y"),
        ("EPC", "Y"),
        ("P_ID", listing.source_id),
        ("OV", "N"),
        ("UTo_D", outcode),
        ("UTo_Inc", incode),
        ("UTo_UKZ", uk_country(prop.location)),
    ]
    return [{"key": key, "value": [value]} for key, value in pairs]


def property_data(listing: Listing) -> dict[str, Any]:
    """`PAGE_MODEL.propertyData`, with the real keys in the real order."""
    prop = listing.property
    outcode, incode = outcode_and_incode(prop.postcode)
    reduced_on = listing.reduced_on
    history = (
        f"Reduced on {uk_date(reduced_on)}"
        if reduced_on
        else f"Added on {uk_date(listing.first_listed)}"
    )
    map_query = f"latitude={prop.latitude}&longitude={prop.longitude}"
    postcode_path = prop.postcode.replace(" ", "-")
    lease_years = prop.lease_years_remaining if prop.tenure != "freehold" else None
    return {
        "id": listing.source_id,
        "encId": base64.b64encode(
            hashlib.sha256(listing.source_id.encode()).digest()[:25]
        ).decode(),
        "addressId": stable_hex("address", prop.property_id),
        "status": {"published": True, "archived": False},
        "text": page_text(listing),
        "prices": page_prices(listing),
        "address": {
            "displayAddress": display_address(listing),
            "countryCode": "GB",
            "deliveryPointId": 10_000_000 + stable_number("udprn", prop.property_id) % 89_999_999,
            "ukCountry": uk_country(prop.location),
            "outcode": outcode,
            "incode": incode,
        },
        "keyFeatures": list(listing.key_features),
        "images": photo_urls(listing),
        "floorplans": floorplan_urls(listing),
        "virtualTours": [],
        "customer": page_customer(listing),
        "industryAffiliations": [],
        "rooms": [],
        "location": {
            "latitude": round(prop.latitude, 6),
            "longitude": round(prop.longitude, 6),
            "circleRadiusOnMap": 0,
            "zoomLevel": 15,
            "pinType": "ACCURATE_POINT",
            "showMap": True,
        },
        "streetView": {
            "heading": None,
            "pitch": None,
            "zoom": 0,
            "latitude": round(prop.latitude, 6),
            "longitude": round(prop.longitude, 6),
        },
        "nearestAirports": [],
        "nearestStations": [],
        "showSchoolInfo": True,
        "countryGuide": None,
        "channel": "RES_BUY",
        "sizings": sizings(listing),
        "brochures": [],
        "epcGraphs": [
            {
                "url": f"{MEDIA}/property-epc/{listing.source_id}/{prop.epc_rating}.jpeg",
                "caption": "EPC",
            }
        ],
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "transactionType": "BUY",
        "tags": list(STATUS_TAGS[listing.status]),
        "misInfo": {
            "branchId": branch_id(listing),
            "offerAdvertStampTypeId": None,
            "premiumDisplay": False,
            "premiumDisplayStampId": None,
            "brandPlus": True,
            "featuredProperty": False,
        },
        "staticMapImgUrls": {
            f"staticMapImgUrl{device}": f"{MEDIA}/map/_generate?width={width}&height={height}"
            f"&zoomLevel=15&{map_query}"
            for device, width, height in (
                ("Mobile", 375, 375),
                ("Tablet", 768, 347),
                ("DesktopSmall", 580, 347),
                ("DesktopLarge", 761, 347),
            )
        },
        "listingHistory": {"listingUpdateReason": history},
        "feesApply": None,
        "broadband": {
            "disclaimer": "Speeds are estimates for the postcode.",
            "broadbandCheckerUrl": f"/broadband/{prop.postcode.replace(' ', '')}",
        },
        "contactInfo": {
            "contactMethod": "EMAIL",
            "telephoneNumbers": {
                "localNumber": listing.agent_phone,
                "internationalNumber": None,
                "disclaimerText": None,
                "disclaimerTitle": None,
                "disclaimerDescription": None,
            },
        },
        "lettings": None,
        "infoReelItems": info_reel(listing),
        "mortgageCalculator": {"price": listing.price, "propertyTypeAlias": labels(listing).alias},
        "tenure": {
            "tenureType": TENURE_TYPES[prop.tenure],
            "yearsRemainingOnLease": lease_years,
            "message": None,
        },
        "propertyUrls": {
            "similarPropertiesUrl": f"/property-for-sale/{postcode_path}.html",
            "nearbySoldPropertiesUrl": f"/house-prices/{postcode_path.lower()}.html",
        },
        "soldPropertyType": labels(listing).sold_type,
        "propertySubType": labels(listing).sub_type,
        "businessForSale": False,
        "commercial": prop.property_type == "mixed_use",
        "commercialUseClasses": [],
        "affordableBuyingScheme": False,
        "sharedOwnership": {
            "sharedOwnershipFlag": False,
            "ownershipPercentage": None,
            "rentPrice": None,
            "rentFrequency": "(for payment frequency, ask the agent)",
        },
        "livingCosts": living_costs(listing),
        "termsOfUse": TERMS_OF_USE,
        "features": {
            "electricity": [],
            "broadband": [],
            "water": [],
            "sewerage": [],
            "heating": [],
            "accessibility": [],
            "parking": [],
            "garden": [],
            "risks": {"floodedInLastFiveYears": None, "floodDefences": None, "floodSources": []},
            "obligations": {
                "listed": None,
                "restrictions": None,
                "requiredAccess": None,
                "rightsOfWay": None,
            },
        },
        "entranceFloor": None,
        "dfpAdInfo": {"channel": "RES_BUY", "targeting": ad_targeting(listing)},
        "reviews": None,
    }


def page_metadata(listing: Listing, day: dt.date) -> dict[str, Any]:
    """`PAGE_MODEL.metadata`: site settings, with share links and a per-page correlation id."""
    page_url = f"/properties/{listing.source_id}"
    share = quote(f"Check out this {property_phrase(listing)} for sale on Rightmove")
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    correlation = stable_hex("correlation", listing.source_id, day)
    return {
        "publicsiteUrl": "",
        "cookieDomain": "rightmove.co.uk",
        "currencyCode": "",
        "emailAgentUrl": (
            f"/property-for-sale/contactBranch.html?backToPropertyURL={quote(page_url, safe='')}"
            f"&propertyId={listing.source_id}"
        ),
        "facebookShareUrl": f"{page_url}?utm_source=facebook",
        "twitterShareUrl": f"{page_url}?utm_source=twitter&text={share}",
        "emailShareUrl": f"mailto:?subject={share}",
        "copyLinkUrl": f"{page_url}?utm_source=copytoclipboard#/&channel=RES_BUY",
        "whatsAppShareUrl": f"{page_url}?utm_source=whatsapp",
        "linkedInShareUrl": f"{page_url}?utm_source=linkedin",
        "myRightmoveUrl": "/my-rightmove",
        "mediaServerUrl": "//media.rightmove.co.uk",
        "serverTimestamp": int(midnight.timestamp() * 1000),
        "deviceType": "desktop",
        "deviceTypeForLazyLoad": "desktop",
        "deviceOS": "other",
        "mvtInfo": [],
        "featureMvts": {},
        "featureSwitches": {},
        "adUnitPath": {},
        "fuseId": {},
        "backLink": {"url": "", "text": "", "operation": 0},
        "shouldTrackGTMSuccessTracker": False,
        "emailPreferences": {
            "preferencesUrl": "/my-rightmove",
            "baseUrl": "",
            "showModal": False,
            "source": "",
        },
        "staticAssetsPath": f"{MEDIA}/assets/sandbox",
        "staticImagesAndFontsPath": f"{MEDIA}/assets/sandbox",
        "correlationId": "-".join(
            (
                correlation[:8],
                correlation[8:12],
                correlation[12:16],
                correlation[16:20],
                stable_hex("correlation-tail", listing.source_id, day, length=12),
            )
        ),
        "serveEs6Bundles": True,
        "locationProductWebHost": "",
        "locationSearchUrl": "",
        "environment": "sandbox",
        "rumTransactionSampleRate": 0.0,
        "isHybridPage": False,
        "googleMapsApiKey": "",
        "googleMapsMapId": "",
        "mortgageCalculatorTracking": {"mortgage_calculator_type": "mip"},
        "clientStoragePolicy": {},
        "showResiPotential": True,
    }


def analytics_info(listing: Listing) -> dict[str, Any]:
    """`PAGE_MODEL.analyticsInfo`: typed values, including the full postcode and the number
    behind the display price."""
    prop = listing.property
    sqft = floor_area_sqft(listing)
    acres = sqft / SQFT_PER_ACRE
    qualifier = PRICE_QUALIFIER_LABELS[listing.price_qualifier] or "None"
    return {
        "analyticsBranch": {
            "agentType": "ea_sales",
            "branchId": branch_id(listing),
            "branchName": prop.location.town,
            "branchPostcode": None,
            "brandName": listing.agent_name,
            "companyName": listing.agent_name,
            "companyTradingName": listing.agent_name,
            "companyType": "independent",
            "displayAddress": f"{prop.location.town},\r\n{prop.location.outcode}",
            "pageType": "Standard",
        },
        "analyticsProperty": {
            "added": listing.first_listed.strftime("%Y%m%d"),
            "auctionOnly": listing.auction is not None,
            "beds": prop.bedrooms,
            "businessForSale": False,
            "country": "GB",
            "currency": "GBP",
            "floorplanCount": 1,
            "furnishedType": "Not Specified",
            "hasOnlineViewing": False,
            "imageCount": listing.image_count,
            "latitude": round(prop.latitude, 6),
            "longitude": round(prop.longitude, 6),
            "letAgreed": False,
            "lettingType": "Long term",
            "maxSizeAc": acres,
            "maxSizeFt": sqft,
            "minSizeAc": acres,
            "minSizeFt": sqft,
            "ownership": "Non-shared ownership",
            "postcode": prop.postcode,
            "preOwned": "New build" if prop.new_build else "Resale",
            "price": listing.price,
            "priceQualifier": qualifier,
            "propertyId": int(listing.source_id),
            "propertySubType": labels(listing).sub_type,
            "propertyType": labels(listing).category,
            "retirement": False,
            "selectedCurrency": None,
            "selectedPrice": None,
            "soldSTC": listing.status == "sold_stc",
            "videoProvider": "No Video",
            "viewType": "Current",
            "customUri": "/property-for-sale/properties",
        },
    }


def page_model(listing: Listing, day: dt.date) -> dict[str, Any]:
    """The whole detail page model, as `window.PAGE_MODEL` holds it (and packed pages encode)."""
    return {
        "propertyData": property_data(listing),
        "metadata": page_metadata(listing, day),
        "isAuthenticated": False,
        "analyticsInfo": analytics_info(listing),
    }


def pack_page_model(model: Any) -> str:
    """Flatten a page model into the packed `__PAGE_MODEL` data string (§1.6b).

    Depth-first, pre-order: each container takes the next slot before its children, every dict
    value and list item is replaced by its slot number, and equal primitives (same type and
    value) share one slot. `<` is written `\\u003C` as on the live site.
    """
    slots: list[Any] = []
    primitive_slots: dict[tuple[str, Any], int] = {}

    def place(value: Any) -> int:
        if isinstance(value, dict | list):
            slot = len(slots)
            slots.append(None)
            if isinstance(value, dict):
                slots[slot] = {key: place(item) for key, item in value.items()}
            else:
                slots[slot] = [place(item) for item in value]
            return slot
        key = (type(value).__name__, value)
        if key not in primitive_slots:
            primitive_slots[key] = len(slots)
            slots.append(value)
        return primitive_slots[key]

    place(model)
    return json.dumps(slots, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003C")


def is_packed(source_id: str) -> bool:
    """Whether this listing's detail page uses the packed encoding (about 30% of ids)."""
    return stable_number("packed", source_id) % 100 < PACKED_SHARE_PERCENT


def script_json(value: Any) -> str:
    """Compact JSON safe inside a `<script>`: raw UTF-8 as on the live pages, with only
    `</script` escaped so no value can end the script early."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</script", "<\\/script")


def detail_script(listing: Listing, day: dt.date, *, changed: bool) -> str:
    """The script that carries the page model, in one of the three layouts."""
    model = page_model(listing, day)
    if changed:
        model["property"] = model.pop("propertyData")
        return f"\n    window.__PROPERTY_PAGE_STATE__ = {script_json(model)};\n"
    targeting = script_json(model["propertyData"]["dfpAdInfo"]["targeting"])
    if is_packed(listing.source_id):
        packed = script_json({"data": pack_page_model(model), "encoding": "on"})
        return f"\n    window.__PAGE_MODEL = {packed};\n        window.adInfo = {targeting};\n"
    plain = script_json(model)
    return (
        f"\n    window.PAGE_MODEL = {plain}\n"
        f"        window.adInfo = {plain}.propertyData.dfpAdInfo.targeting\n"
    )


def render_detail_page(listing: Listing, day: dt.date, *, changed: bool = False) -> str:
    """A `/properties/{id}` page: a little server HTML and the page model script."""
    text = page_text(listing)
    features = "".join(f"<li>{html.escape(feature)}</li>" for feature in listing.key_features)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{html.escape(text["pageTitle"])}</title></head><body><div id="root"><main>'
        f'<h1 itemprop="streetAddress">{html.escape(display_address(listing))}</h1>'
        f"<article><span>{html.escape(display_price(listing))}</span><ul>{features}</ul></article>"
        f"</main></div><script>{detail_script(listing, day, changed=changed)}</script>"
        "</body></html>"
    )


def render_not_found_page(property_id: str) -> str:
    """What Rightmove serves for an id it does not know or no longer shows."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Property not found | Rightmove</title></head><body><main>"
        "<h1>We couldn't find the property you were looking for</h1>"
        f"<p>Property {html.escape(property_id)} has been removed or is no longer available.</p>"
        "</main></body></html>"
    )


def render_error_page(message: str) -> str:
    """A plain error page for a search URL Rightmove would reject."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error | Rightmove'
        f"</title></head><body><main><h1>Sorry, there was a problem</h1><p>{html.escape(message)}"
        "</p></main></body></html>"
    )


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """A searched page ready to render, or the reason it cannot be."""

    query: SearchQuery | None
    results: dict[str, Any] | None
    error: str | None
    status_code: int


def run_search(ctx: SandboxContext, request: Request) -> SearchOutcome:
    """Parse the request, ask the market and build `searchResults`."""
    try:
        query = parse_search_query(request.query_params)
    except SearchQueryError as error:
        return SearchOutcome(None, None, str(error), 400)

    location = ctx.market.location(rightmove_id=query.location_identifier)
    if location is None:
        message = f"locationIdentifier={query.location_identifier!r} is not a known location"
        return SearchOutcome(query, None, message, 404)

    day = ctx.market_date(request)
    listings = search_market(ctx.market, day, UPSTREAM, location.outcode, query)
    page, total = page_of_results(listings, query)
    results = search_results(page, total, query, location, day)
    return SearchOutcome(query, results, None, 200)


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Rightmove's search page, search API and detail page, served from `ctx.market`."""

    async def search_page(request: Request) -> Response:
        outcome = run_search(ctx, request)
        if outcome.results is None or outcome.query is None:
            return HTMLResponse(render_error_page(outcome.error or ""), outcome.status_code)
        changed = ctx.changed_structure(request, UPSTREAM)
        return HTMLResponse(render_search_page(outcome.results, outcome.query, changed=changed))

    async def search_api(request: Request) -> Response:
        outcome = run_search(ctx, request)
        if outcome.results is None:
            return JSONResponse({"error": outcome.error}, outcome.status_code)
        changed = ctx.changed_structure(request, UPSTREAM)
        body = render_search_json(outcome.results, changed=changed)
        return Response(body, media_type="application/json")

    async def detail_page(request: Request) -> Response:
        property_id = request.path_params["property_id"]
        day = ctx.market_date(request)
        listing = live_listing(ctx.market, UPSTREAM, property_id, day)
        if listing is None:
            return HTMLResponse(render_not_found_page(property_id), 404)
        changed = ctx.changed_structure(request, UPSTREAM)
        return HTMLResponse(render_detail_page(listing, day, changed=changed))

    return [
        Route("/property-for-sale/find.html", search_page),
        Route("/api/property-search/listing/search", search_api),
        Route("/properties/{property_id}", detail_page),
    ]
