"""Auction catalogues read into `NormalisedListing`s (portals reference §3).

Allsop runs its site on a JSON API: `/api/search` pages of lot objects and `/api/auctions/{id}`
for the sale itself. Auction House UK renders plain HTML: catalogue pages of
`div.lot-search-result` cards and a page per lot with schema.org JSON-LD. Every lot becomes an
`auction_lot` listing priced at the lower guide. Catalogue layouts change without notice and
then silently yield nothing, so the HTML catalogue parser counts the lot links on the page and
refuses a page whose cards it could not read.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml import etree
from parsel import Selector, css2xpath

from property_pipeline.sources.listing import (
    NormalisedListing,
    ParsedPage,
    ParseError,
    dedupe_by_source_id,
    normalise_postcode,
    normalise_tenure,
    outcode_of,
    whole_pounds,
)
from property_pipeline.sources.parsers.common import (
    UK_TIME,
    classify_property_type,
    clean_text,
    coordinate,
    expect_object,
    instant,
    join_root,
    listing_date,
    load_json,
    site_root,
    whole_number,
    with_query_value,
)

ALLSOP_ROOT = "https://www.allsop.co.uk"
AUCTIONHOUSE_ROOT = "https://www.auctionhouse.co.uk"
ALLSOP_PAGE_SIZE = 20  # what /api/search returns without a `size` parameter
AVAILABLE = "Available"

_ALLSOP_SITE_PATH = re.compile(r"/(?:api|lot-overview)/")
_AUCTIONHOUSE_SITE_PATH = re.compile(r"/[a-z-]+/auction/|/national\b|/auction/")
_LOT_LINK = re.compile(r"""href=["']([^"']*/auction/lot/([^"'/?#]+))""")
_BYLINE_STATUS = re.compile(r"^[A-Z][A-Z /&]+\s+-\s+")
_BYLINE_TENURE = re.compile(
    r"^(?:share of |long |virtual )?(?:freehold|leasehold|commonhold)\s+", re.I
)
_ARRANGEMENT = re.compile(r"arranged (?:as|to provide)", re.I)
_BEDS_IN_BYLINE = re.compile(r"(\d+)\s*bed\b", re.I)
_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "one two three four five six seven eight nine ten eleven twelve".split(), start=1
    )
} | {"a": 1, "an": 1}
_COUNT = r"(?:(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|an?)\s+"
_COUNT += r"(?:(?:further|double|single|additional|other|more|large|small)\s+)?)?"


# ---------------------------------------------------------------------------------------------
# Allsop
# ---------------------------------------------------------------------------------------------


def parse_allsop_search(body: str, url: str | None = None) -> ParsedPage:
    """Every lot of an Allsop `/api/search` (or `/api/property-search`) page, with the total."""
    return allsop_search_from_data(load_json(body, "allsop_search", "the body"), url)


def allsop_search_from_data(data: Any, url: str | None = None) -> ParsedPage:
    """`parse_allsop_search` of a response already decoded (detection decodes it to know it)."""
    data = expect_object(data, "allsop_search")
    block = data.get("data")
    if not isinstance(block, dict) or not isinstance(block.get("results"), list):
        found = sorted(block) if isinstance(block, dict) else sorted(data)
        raise ParseError(
            f'allsop_search: expected {{"data": {{"results": [...], "total": N}}}}, found keys '
            f"{found}; Allsop may have changed its API"
        )
    lots = [lot for lot in block["results"] if isinstance(lot, dict)]
    listings = [_allsop_listing(lot, url) for lot in lots]
    total = whole_number(block.get("total"))
    page, size = _allsop_paging(url)
    return ParsedPage(
        source="allsop",
        format="allsop_search",
        listings=listings,
        total_results=total,
        page_size=size,
        next_page_url=_allsop_next_page(url, page, size, total),
        extra={
            "lot_statuses": {str(lot.get("allsop_lotid")): _allsop_status(lot) for lot in lots},
            "search_uuid": data.get("search-uuid"),
        },
    )


def parse_allsop_auction(body: str, url: str | None = None) -> ParsedPage:
    """The facts of one Allsop sale (`/api/auctions/{id}`) in `extra`; it lists no lots."""
    return allsop_auction_from_data(load_json(body, "allsop_auction", "the body"), url)


def allsop_auction_from_data(data: Any, url: str | None = None) -> ParsedPage:
    """`parse_allsop_auction` of a response already decoded (detection decodes it to know it)."""
    data = expect_object(data, "allsop_auction")
    record = data.get("auctionData")
    if not isinstance(record, dict) or not record.get("allsop_auctionid"):
        raise ParseError(
            f'allsop_auction: expected {{"auctionData": {{"allsop_auctionid": …}}}}, found keys '
            f"{sorted(data)}; Allsop may have changed its API"
        )
    facts = {
        "auction_id": record["allsop_auctionid"],
        "reference": clean_text(record.get("allsop_auctionreference")),
        "name": clean_text(record.get("allsop_name")),
        "auction_date": _utc_stamp_as_uk_date(record.get("allsop_auctiondate")),
        "second_day": _utc_stamp_as_uk_date(record.get("allsop_auctiondate2")),
        "auction_type": clean_text(record.get("allsop_auctiontype")),
        "venue": clean_text(record.get("allsop_venue")),
        "lots_sold": whole_number(record.get("allsop_auctionlotssold")),
        "lots_unsold": whole_number(record.get("allsop_auctionlotsunsold")),
        "value_sold": whole_number(record.get("allsop_auctionvaluesold")),
        "withdrawn_prior": whole_number(record.get("withdrawn_lots_prior")),
        "next_auction": clean_text(record.get("next_auction_date")),
    }
    return ParsedPage(source="allsop", format="allsop_auction", listings=[], extra=facts)


def _allsop_listing(lot: Mapping[str, Any], url: str | None) -> NormalisedListing:
    """One Allsop lot object as an auction_lot listing."""
    lot_id = lot.get("allsop_lotid")
    if not lot_id:
        raise ParseError(f"allsop_search: a lot has no allsop_lotid (keys {sorted(lot)[:12]})")
    byline = clean_text(lot.get("main_byline") or lot.get("allsop_propertybyline"))
    address = clean_text(lot.get("allsop_address") or lot.get("full_address"))
    postcode = normalise_postcode(lot.get("postcode")) or normalise_postcode(address)
    location = lot.get("location") if isinstance(lot.get("location"), dict) else {}
    features = [text for text in map(clean_text, lot.get("features") or []) if text]
    arrangement = " ".join(text for text in features if _ARRANGEMENT.search(text))
    bedrooms, bathrooms = _single_unit_rooms(lot.get("tenancy_table"))
    status = _allsop_status(lot)
    price = whole_pounds(lot.get("guide_price_lower"))

    return NormalisedListing(
        source="allsop",
        source_id=str(lot_id),
        url=_allsop_lot_url(lot, byline, url),
        listing_type="auction_lot",
        title=byline,
        price=price if price is not None else whole_pounds(lot.get("guide_price_text")),
        price_qualifier="guide",
        property_type=classify_property_type(f"{byline or ''} {arrangement}"),
        property_sub_type=byline_type(byline),
        bedrooms=bedrooms,
        bathrooms=bathrooms,
        tenure=normalise_tenure(lot.get("property_tenure") or lot.get("allsop_propertytenure")),
        postcode=postcode,
        outcode=outcode_of(postcode),
        address=address,
        latitude=coordinate(location.get("lat")),
        longitude=coordinate(location.get("lon")),
        summary=byline,
        key_features=features,
        agent="Allsop",
        first_listed_at=listing_date(lot.get("market_from_date") or lot.get("lot_created_at")),
        update_reason=_update_reason(status, bool(lot.get("guide_price_is_reduced"))),
        auction_date=_epoch_ms_as_uk_date(lot.get("auction_date")),
        lot_number=whole_number(lot.get("lot_number") or lot.get("allsop_lotnumber")),
    )


def _allsop_status(lot: Mapping[str, Any]) -> str:
    return clean_text(lot.get("lot_status") or lot.get("allsop_lotstatus")) or AVAILABLE


def _allsop_lot_url(lot: Mapping[str, Any], byline: str | None, url: str | None) -> str | None:
    """The lot's overview page: `/lot-overview/{byline in town}/{reference}` as Allsop links it
    (reference "R260430 098" becomes "r260430-098")."""
    reference = clean_text(lot.get("reference"))
    if not reference:
        return None
    words = f"{byline or 'lot'} in {lot.get('town') or ''}".lower()
    slug = re.sub(r"[^a-z0-9]+", "-", words).strip("-")
    code = "-".join(reference.lower().split())
    return f"{site_root(url, ALLSOP_ROOT, _ALLSOP_SITE_PATH)}/lot-overview/{slug}/{code}"


def _allsop_paging(url: str | None) -> tuple[int, int]:
    """The page number and page size a search URL asked for (Allsop's defaults otherwise)."""
    query = dict(parse_qsl(urlsplit(url).query)) if url else {}
    page = whole_number(query.get("page")) or 1
    size = whole_number(query.get("size")) or ALLSOP_PAGE_SIZE
    return page, size


def _allsop_next_page(url: str | None, page: int, size: int, total: int | None) -> str | None:
    """The same search one page on, while lots remain past this page."""
    if not url or total is None or page * size >= total:
        return None
    return with_query_value(url, "page", str(page + 1))


def _epoch_ms_as_uk_date(value: Any) -> dt.date | None:
    """A sale date sent as epoch milliseconds of UK midnight, as the UK calendar date."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=UK_TIME).date()


def _utc_stamp_as_uk_date(value: Any) -> dt.date | None:
    """A UTC timestamp such as "2026-04-28T23:00:00.000000Z" as the UK calendar date."""
    moment = instant(value, dt.UTC)
    return moment.astimezone(UK_TIME).date() if moment else None


def _single_unit_rooms(table_json: Any) -> tuple[int | None, int | None]:
    """Bedrooms and bathrooms from the accommodation schedule of a single-unit lot.

    The schedule is a JSON string; a one-row schedule describes one home ("Three Bedrooms,
    Bathroom"). Multi-unit lots (blocks, HMOs) have no single bedroom count.
    """
    try:
        table = json.loads(table_json) if isinstance(table_json, str) else None
    except ValueError:
        return None, None
    rows = table.get("rows") if isinstance(table, dict) else None
    if not isinstance(rows, list) or len(rows) != 1 or not isinstance(rows[0], dict):
        return None, None
    accommodation = rows[0].get("accom")
    text = ", ".join(accommodation) if isinstance(accommodation, list) else str(accommodation)
    return count_rooms(text, "bedroom"), count_rooms(text, "bathroom")


def count_rooms(text: str, noun: str) -> int | None:
    """How many of a room an accommodation line lists: "Bedroom with ensuite, Two further
    Bedrooms" has 3 bedrooms. None when none is named or a plural comes without a number."""
    total = 0
    found = False
    pattern = re.compile(_COUNT + noun + r"(s|\(s\))?\b", re.I)
    for match in pattern.finditer(text):
        number, plural = match.group(1), match.group(2)
        if number is None and plural:
            return None
        found = True
        total += 1 if number is None else int(_NUMBER_WORDS.get(number.lower(), number))
    return total if found else None


def byline_type(byline: str | None) -> str | None:
    """The property words of an auction byline: "VACANT - Freehold Link Semi Detached House"
    gives "Link Semi Detached House"."""
    if not byline:
        return None
    words = _BYLINE_TENURE.sub("", _BYLINE_STATUS.sub("", byline))
    return words.strip() or None


def _update_reason(status: str, reduced: bool) -> str | None:
    """A lot's latest change: its result when it has one ("sold_prior", "postponed"), else a
    reduced guide."""
    if status != AVAILABLE:
        return re.sub(r"\W+", "_", status.lower()).strip("_")
    return "price_reduced" if reduced else None


# ---------------------------------------------------------------------------------------------
# Auction House UK
# ---------------------------------------------------------------------------------------------


def parse_auctionhouse_catalogue(body: str, url: str | None = None) -> ParsedPage:
    """The lot cards of an Auction House UK catalogue (or national roll-up) page.

    A page whose lot links outnumber the cards read is refused: the cards were renamed, and
    carrying on would report an empty catalogue as a quiet day.
    """
    page = Selector(text=body).root
    root = site_root(url, AUCTIONHOUSE_ROOT, _AUCTIONHOUSE_SITE_PATH)
    heading = clean_text(" ".join(_matching(page, "h1 ::text"))) or ""
    auction_date = listing_date(heading)
    agent = heading.split(" auction", 1)[0] if heading.startswith("Auction House") else None
    listings: list[NormalisedListing] = []
    statuses: dict[str, str] = {}
    for card in _matching(page, "div.lot-search-result"):
        listing, status = _auctionhouse_card(card, root, auction_date, agent or "Auction House")
        listings.append(listing)
        statuses[listing.source_id] = status

    linked = {lot_id for _, lot_id in _LOT_LINK.findall(body)}
    read = {listing.source_id for listing in listings}
    if linked - read:
        raise ParseError(
            f"auctionhouse_catalogue: the page links {len(linked)} lots but {len(read)} lot "
            "cards (div.lot-search-result) were read; the catalogue layout has changed"
        )
    showing = re.search(r"of\s+([\d,]+)\s+lots", _text_of(page, ".results-count") or "")
    next_href = _first(page, "a[rel=next]::attr(href)")
    return ParsedPage(
        source="auctionhouse",
        format="auctionhouse_catalogue",
        listings=dedupe_by_source_id(listings),
        total_results=whole_number(showing.group(1)) if showing else len(listings),
        page_size=len(listings) if next_href else None,
        next_page_url=urljoin(url, next_href) if url and next_href else None,
        extra={"lot_statuses": statuses},
    )


def _auctionhouse_card(
    card: etree._Element, root: str, auction_date: dt.date | None, agent: str
) -> tuple[NormalisedListing, str]:
    """One catalogue card: lot number, guide or result, type line, address and link; and the
    lot's state."""
    href = _first(card, "a.home-lot-wrapper-link::attr(href)") or _first(card, "a::attr(href)")
    if not href:
        raise ParseError("auctionhouse_catalogue: a lot card has no link to its lot page")
    lot_id = urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]
    guide = _text_of(card, ".grid-view-guide")
    status = _card_status(guide)
    price = whole_pounds(guide) if status == AVAILABLE else None
    address = _text_of(card, ".grid-address")
    listing = _auctionhouse_listing(
        lot_id,
        join_root(root, href),
        _text_of(card, "p.fw-bold"),
        price,
        normalise_postcode(address),
        address=address,
        agent=agent,
        update_reason=_update_reason(status, reduced=False),
        auction_date=auction_date,
        lot_number=_lot_number(_text_of(card, ".image-sticker")),
    )
    return listing, status


def _auctionhouse_listing(
    lot_id: str,
    url: str | None,
    byline: str | None,
    price: int | None,
    postcode: str | None,
    **fields: Any,
) -> NormalisedListing:
    """An Auction House lot: the fields its card and its page both derive the same way (type
    and bedrooms from the byline, a guide price, the outcode), plus the page's own `fields`."""
    return NormalisedListing(
        source="auctionhouse",
        source_id=lot_id,
        url=url,
        listing_type="auction_lot",
        title=byline,
        price=price,
        price_qualifier="guide" if price is not None else None,
        property_type=classify_property_type(byline) if byline else None,
        property_sub_type=byline,
        bedrooms=_byline_bedrooms(byline),
        postcode=postcode,
        outcode=outcode_of(postcode),
        **fields,
    )


def _card_status(guide: str | None) -> str:
    """The lot's state from its card's guide line: "Available" while the card shows a guide,
    else what the card shows instead ("Postponed", "Sold")."""
    guide = guide or ""
    return AVAILABLE if "guide" in guide.lower() else guide or AVAILABLE


def parse_auctionhouse_lot(body: str, url: str | None = None) -> ParsedPage:
    """The lot on an Auction House UK lot page, from its particulars and schema.org Product."""
    page = Selector(text=body).root
    product = _json_ld_product(page)
    offers = product.get("offers") if isinstance(product.get("offers"), dict) else {}
    postal = product.get("address") if isinstance(product.get("address"), dict) else {}
    lot_id = str(product.get("productID") or "") or _lot_id_from_url(url)
    lot_number = _lot_number(_text_of(page, ".lot-number")) or whole_number(product.get("sku"))
    if not lot_id or lot_number is None:
        raise ParseError(
            "auctionhouse_lot: no lot id (JSON-LD Product productID, or /auction/lot/{id} in "
            "the URL) or no lot number (.lot-number, or the Product sku); this is not a lot "
            "page or its layout has changed"
        )
    details = _detail_rows(page)
    byline = _text_of(page, ".lot-byline") or clean_text(product.get("category"))
    address = _text_of(page, ".lot-address") or clean_text(product.get("name"))
    postcode = normalise_postcode(postal.get("postalCode")) or normalise_postcode(address)
    status = _text_of(page, ".lot-status") or AVAILABLE
    guide = _text_of(page, ".lot-guide") or ""
    # The JSON-LD keeps the guide after the card has swapped it for the result.
    price = whole_pounds(offers.get("price"))
    if price is None and "guide" in guide.lower():
        price = whole_pounds(guide)
    paragraphs = _texts_of(page, ".lot-description p")
    sale_day = _text_of(page, ".auction-date") or offers.get("validFrom")
    listing = _auctionhouse_listing(
        lot_id,
        url,
        byline,
        price,
        postcode,
        tenure=normalise_tenure(details.get("tenure")),
        address=address,
        summary=clean_text(product.get("description")),
        description="\n\n".join(paragraphs) or None,
        key_features=_texts_of(page, "ul.key-features li"),
        agent=_text_of(page, ".auction-branch") or "Auction House",
        update_reason=_update_reason(status, reduced=False),
        auction_date=listing_date(sale_day),
        lot_number=lot_number,
        image_count=len(product["image"]) if isinstance(product.get("image"), list) else None,
    )
    extra = {
        "lot_status": status,
        "tenancy": details.get("tenancy"),
        "current_rent": details.get("current rent"),
    }
    return ParsedPage("auctionhouse", "auctionhouse_lot", [listing], total_results=1, extra=extra)


def _json_ld_product(page: etree._Element) -> dict[str, Any]:
    """The page's schema.org Product from its JSON-LD scripts (plain, listed or in @graph)."""
    for script in _matching(page, 'script[type="application/ld+json"]::text'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        candidates = data if isinstance(data, list) else data.get("@graph", [data])
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("@type") == "Product":
                return candidate
    return {}


def _detail_rows(page: etree._Element) -> dict[str, str]:
    """The particulars table (`th` name, `td` value) keyed by lower-case name."""
    rows = {}
    for row in _matching(page, "table.lot-details tr"):
        name = _text_of(row, "th")
        value = _text_of(row, "td")
        if name and value:
            rows[name.lower()] = value
    return rows


def _lot_id_from_url(url: str | None) -> str:
    match = re.search(r"/auction/lot/([^/?#]+)", url or "")
    return match.group(1) if match else ""


def _lot_number(text: str | None) -> int | None:
    """The number in a "Lot 47" sticker."""
    match = re.search(r"\d+", text or "")
    return int(match.group(0)) if match else None


def _byline_bedrooms(byline: str | None) -> int | None:
    match = _BEDS_IN_BYLINE.search(byline or "")
    return int(match.group(1)) if match else None


def _texts_of(node: etree._Element, css: str) -> list[str]:
    """The tidied, non-empty texts of every element matching `css`."""
    texts = (clean_text(_STRING(element)) for element in _matching(node, css))
    return [text for text in texts if text]


def _text_of(node: etree._Element, css: str) -> str | None:
    """The tidied text of the first element matching `css`, tags and all; None if absent."""
    found = _matching(node, css)
    return clean_text(_STRING(found[0])) if found else None


def _first(node: etree._Element, css: str) -> Any:
    """The first element, text or attribute value matching `css`, or None."""
    found = _matching(node, css)
    return found[0] if found else None


def _matching(node: etree._Element, css: str) -> list[Any]:
    """What `css` (with parsel's `::text` and `::attr()`) selects under an lxml element."""
    return _compiled(css)(node)


@functools.cache
def _compiled(css: str) -> etree.XPath:
    """The XPath that parsel runs for a CSS selector, translated and compiled once: parsel does
    both on every call, which took most of a catalogue page's time."""
    return etree.XPath(css2xpath(css), smart_strings=False)


_STRING = etree.XPath("string()", smart_strings=False)
