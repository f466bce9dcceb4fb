"""Rightmove's page formats, read into normalised listings.

Rightmove ships its data as JSON inside the page, and has changed the wrapping more often than
the data: search results sit in `window.jsonModel` (to ~2024), in the Next.js `__NEXT_DATA__`
script (2024 on) or come straight from the search API, with the same property objects in all
three; detail pages carry `window.PAGE_MODEL` or, since May 2026, the packed flat-array
`window.__PAGE_MODEL`, which decodes to the same model. So each format has a thin entry point
that finds its JSON, and the field mapping is shared: one for a search card, one for a page
model. Every function is pure (text in, `ParsedPage` out) so an archived page re-parses exactly.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector

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
    coordinate,
    decode_json_value_at,
    join_root,
    last_word,
    load_json,
    next_data_script,
    price_qualifier,
    site_root,
    utc_timestamp,
    whole_number,
)

SOURCE = "rightmove"
SITE_ROOT = "https://www.rightmove.co.uk"
DEFAULT_PAGE_SIZE = 24

NEXT_DATA_SEARCH = "rightmove_next_data_search"
API_SEARCH = "rightmove_api_search"
JSON_MODEL_SEARCH = "rightmove_json_model_search"
PAGE_MODEL_DETAIL = "rightmove_page_model_detail"
PACKED_PAGE_MODEL_DETAIL = "rightmove_packed_page_model_detail"

# The first path segment of any of Rightmove's own routes; whatever precedes it in a fetched URL
# is the site root (a mount prefix such as the sandbox's "/rightmove"), so root-relative links
# join onto it instead of onto the bare host.
ROUTE_HEAD = re.compile(
    r"/(?:properties|property-for-sale|property-to-rent|api|new-homes-for-sale)(?=/|$)"
)

# Deepest nesting a packed page model may have; real ones are about a dozen levels deep, and a
# slot that refers back to an ancestor would otherwise recurse forever.
MAX_PACKED_DEPTH = 100

# Rightmove's property sub-type labels (lower case, hyphens as spaces) and our property types.
# Labels not listed here are placed by the keyword rules in `property_type_of`.
SUB_TYPES: dict[str, str] = {
    "flat": "flat",
    "apartment": "flat",
    "maisonette": "flat",
    "ground flat": "flat",
    "ground maisonette": "flat",
    "penthouse": "flat",
    "studio": "flat",
    "duplex": "flat",
    "triplex": "flat",
    "serviced apartments": "flat",
    "flat share": "flat",
    "terraced": "terraced",
    "end of terrace": "terraced",
    "mid terrace": "terraced",
    "town house": "terraced",
    "mews": "terraced",
    "cluster house": "terraced",
    "semi detached": "semi_detached",
    "detached": "detached",
    "link detached house": "detached",
    "bungalow": "bungalow",
    "block of apartments": "block_of_flats",
    "house of multiple occupation": "hmo",
    "mixed use": "mixed_use",
    "land": "land",
    "plot": "land",
    "farm land": "land",
}

# `soldPropertyType` codes, used when a page (the 2020 era) has no `propertySubType`.
SOLD_TYPES: dict[str, str] = {
    "FLAT": "flat",
    "TERRACED": "terraced",
    "SEMI_DETACHED": "semi_detached",
    "DETACHED": "detached",
}

# The end of every error that means the page is not laid out as this parser expects.
CHANGED_LAYOUT = (
    "; if Rightmove has changed its layout, teach property_pipeline/sources/parsers/rightmove.py "
    "the new one from a saved copy of the page"
)

UPDATE_REASONS = {"added": "new", "reduced": "price_reduced"}
UK_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
TAG = re.compile(r"<[^>]*>")
LINE_BREAK = re.compile(r"<br\s*/?>|</p\s*>", re.I)

# A `<script>` start tag (not self-closing), the end of a script's text, and the start tags of
# elements whose content is text, where a `<script>` is no script.
SCRIPT_START_TAG = re.compile(
    r"""<script(?:[\t\n\f\r ](?:[^<>"'/]|/(?!>)|"[^"<>]*"|'[^'<>]*')*)?>""", re.I
)
SCRIPT_END_TAG = re.compile(r"</script[\t\n\f\r />]", re.I)
TEXT_ELEMENT_START_TAG = re.compile(
    r"<(?:style|textarea|title|xmp|iframe|noembed|noframes|plaintext)[\t\n\f\r />]", re.I
)


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def parse_next_data_search(body: str, url: str | None = None) -> ParsedPage:
    """The listings of a current search page, from `props.pageProps.searchResults` in its
    `__NEXT_DATA__` script; the next page is the page's own `headMetaData.nextUrl`."""
    script = next_data_script(body)
    if script is None:
        raise ParseError(f'{NEXT_DATA_SEARCH}: the page has no <script id="__NEXT_DATA__">')
    data = load_json(script, NEXT_DATA_SEARCH, "the __NEXT_DATA__ script")
    page_props = dig(data, "props", "pageProps")
    if not isinstance(page_props, dict):
        raise ParseError(f"{NEXT_DATA_SEARCH}: __NEXT_DATA__ has no props.pageProps object")
    results = page_props.get("searchResults")
    if not isinstance(results, dict):
        raise ParseError(
            f"{NEXT_DATA_SEARCH}: __NEXT_DATA__ has no props.pageProps.searchResults object "
            f"(pageProps keys: {key_list(page_props)}){CHANGED_LAYOUT}"
        )
    next_link = dig(page_props, "headMetaData", "nextUrl")
    return search_page(results, NEXT_DATA_SEARCH, url, next_link)


def parse_api_search(body: str, url: str | None = None) -> ParsedPage:
    """The listings of a search API response (`{"properties": [...], "resultCount": ...}`), or
    of a JSON array of property objects as scrapers save them; the next page is `url` with the
    next `index`."""
    return api_search_from_data(load_json(body, API_SEARCH, "the response"), url)


def api_search_from_data(data: Any, url: str | None = None) -> ParsedPage:
    """`parse_api_search` of a response already decoded (detection decodes it to know it)."""
    if isinstance(data, list):
        listings = [listing_from_card(card, url, API_SEARCH, n) for n, card in enumerate(data)]
        return ParsedPage(SOURCE, API_SEARCH, dedupe_by_source_id(listings))
    if not isinstance(data, dict):
        raise ParseError(
            f"{API_SEARCH}: the response is a JSON {type(data).__name__}, not the search "
            f"results object or a list of property objects{CHANGED_LAYOUT}"
        )
    return search_page(data, API_SEARCH, url, None)


def parse_json_model_search(body: str, url: str | None = None) -> ParsedPage:
    """The listings of a legacy search page (to ~2024), from its `window.jsonModel`."""
    model = assigned_json(body, "window.jsonModel", JSON_MODEL_SEARCH)
    if not isinstance(model, dict):
        raise ParseError(f"{JSON_MODEL_SEARCH}: window.jsonModel is not an object{CHANGED_LAYOUT}")
    return search_page(model, JSON_MODEL_SEARCH, url, None)


def parse_page_model_detail(body: str, url: str | None = None) -> ParsedPage:
    """The one listing of a detail page carrying a plain `window.PAGE_MODEL` (2019 to 2026)."""
    model = assigned_json(body, "window.PAGE_MODEL", PAGE_MODEL_DETAIL)
    return detail_page(model, PAGE_MODEL_DETAIL, url)


def parse_packed_page_model_detail(body: str, url: str | None = None) -> ParsedPage:
    """The one listing of a detail page carrying the packed `window.__PAGE_MODEL` (May 2026 on)."""
    wrapper = assigned_json(body, "window.__PAGE_MODEL", PACKED_PAGE_MODEL_DETAIL)
    model = unwrap_page_model(wrapper, PACKED_PAGE_MODEL_DETAIL)
    return detail_page(model, PACKED_PAGE_MODEL_DETAIL, url)


def decode_packed_page_model(text: str) -> dict[str, Any]:
    """The nested page model behind a packed `__PAGE_MODEL`, for inspecting or re-parsing one.

    `text` may be a whole detail page (packed or plain `PAGE_MODEL`), the `{"data": ...,
    "encoding": "on"}` object, or the flat array itself.
    """
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        model = unwrap_page_model(load_json(stripped, PACKED_PAGE_MODEL_DETAIL, "the text"))
    elif re.search(r"window\.__PAGE_MODEL\s*=", text):
        wrapper = assigned_json(text, "window.__PAGE_MODEL", PACKED_PAGE_MODEL_DETAIL)
        model = unwrap_page_model(wrapper, PACKED_PAGE_MODEL_DETAIL)
    else:
        model = assigned_json(text, "window.PAGE_MODEL", PAGE_MODEL_DETAIL)
    if not isinstance(model, dict):
        raise ParseError(f"{PACKED_PAGE_MODEL_DETAIL}: the page model is not an object")
    return model


# ---------------------------------------------------------------------------------------------
# Finding the embedded JSON
# ---------------------------------------------------------------------------------------------


def assigned_json(body: str, name: str, fmt: str) -> Any:
    """The JSON value a page's script assigns to `name` (`window.PAGE_MODEL = {...}`).

    The extent of the value is found by matching brackets outside strings, because the live
    scripts put more code after it (`window.adInfo = ...`), sometimes with no semicolon between.
    """
    assignment = re.compile(re.escape(name) + r"\s*=\s*(?=[\[{])")
    value = script_value(body, name, assignment)
    if value is not NOT_FOUND:
        return value
    for script in Selector(text=body).xpath("//script/text()").getall():
        found = assignment.search(script)
        if found is None:
            continue
        start = found.end()
        end = balanced_end(script, start)
        if end is None:
            raise ParseError(
                f"{fmt}: the {name} value never closes; the page looks truncated, fetch it again"
            )
        return load_json(script[start:end], fmt, f"the {name} value")
    raise ParseError(f"{fmt}: no script assigns {name}{CHANGED_LAYOUT}")


NOT_FOUND = object()


def script_value(body: str, name: str, assignment: re.Pattern[str]) -> Any:
    """The value `assigned_json` reads, found by string search, or NOT_FOUND when the page is
    not plainly laid out, so the caller parses it as HTML.

    Parsing a megabyte page as HTML to reach one script costs several times more than reading
    the listings in it. The search takes the page's first assignment when it plainly sits in a
    script's text: the nearest tag before it is a `<script>` start tag read as a tag (see
    `_opens_in_markup`), and the script holds no comment opener, which changes where a script
    ends, nor a carriage return or NUL, which the HTML parser rewrites or drops. Any other
    layout, and a value that is not JSON, goes the HTML parser's way, which also words the
    errors.

    Limit: markup broken further back, such as a quote or a `<style>` left open several tags
    before the script, or a NUL inside a tag or comment opener there, hides the script from the
    HTML parser but not from this search, which then reads a value the parser would have
    missed. No capture or sandbox page is like that; looking for a NUL in the whole page would
    cost more than the rest of this search on a page with any character beyond Latin-1.
    """
    first = body.find(name)
    found = assignment.search(body, first) if first >= 0 else None
    if found is None:
        return NOT_FOUND
    tag_start = body.rfind("<", 0, found.start())
    tag = SCRIPT_START_TAG.match(body, tag_start) if tag_start >= 0 else None
    if tag is None or tag.end() > found.start() or not _opens_in_markup(body, tag_start):
        return NOT_FOUND
    end = SCRIPT_END_TAG.search(body, tag.end())
    if end is None or end.start() <= found.end():
        return NOT_FOUND
    script = body[tag.end() : end.start()]
    if "\r" in script or "\x00" in script or ("<" in script and "<!--" in script):
        return NOT_FOUND
    try:
        return decode_json_value_at(script, found.end() - tag.end())
    except (ValueError, RecursionError):
        return NOT_FOUND


def _opens_in_markup(body: str, tag_start: int) -> bool:
    """Whether a tag starting at `tag_start` is read as a tag: the tag before it is closed (its
    quotes paired, so the `>` is not inside a value) and is not the start of an element holding
    text, and no comment is left open before it."""
    previous = body.rfind("<", 0, tag_start)
    if previous >= 0:
        closed = body.rfind(">", 0, tag_start)
        if closed < previous or TEXT_ELEMENT_START_TAG.match(body, previous):
            return False
        before = body[previous:closed]
        if before.count('"') % 2 or before.count("'") % 2:
            return False
    comment = body.rfind("<!--", 0, tag_start)
    return comment < 0 or body.find("-->", comment + 2, tag_start) >= 0


def balanced_end(text: str, start: int) -> int | None:
    """The index just past the bracket that closes the one at `start`, or None if it never
    closes. Brackets inside single- or double-quoted strings (with escapes) do not count."""
    closers = {"{": "}", "[": "]"}
    expected: list[str] = []
    quote: str | None = None
    position = start
    while position < len(text):
        char = text[position]
        if quote is not None:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in closers:
            expected.append(closers[char])
        elif char in "}]":
            if not expected or char != expected.pop():
                return None
            if not expected:
                return position + 1
        position += 1
    return None


def unwrap_page_model(value: Any, fmt: str = PACKED_PAGE_MODEL_DETAIL) -> Any:
    """The nested model from a `{"data", "encoding"}` wrapper, a packed flat array or an
    already plain model (returned as it is)."""
    if isinstance(value, list):
        return unpack_slots(value, fmt)
    if not isinstance(value, dict) or "data" not in value:
        return value
    data = value["data"]
    if isinstance(data, str):
        data = load_json(data, fmt, "the packed __PAGE_MODEL data string")
    return unpack_slots(data, fmt) if isinstance(data, list) else data


def unpack_slots(slots: Sequence[Any], fmt: str) -> Any:
    """Rebuild the nested value a packed flat array encodes.

    Slot 0 is the root; inside every object and array each value is the number of the slot
    holding it, primitives included (equal primitives share a slot).
    """
    count = len(slots)
    # Most slots hold text, a number or null; those are read in place below, since a call per
    # slot was most of the time unpacking took.
    plain = [not isinstance(node, dict | list) for node in slots]

    def resolve(slot: Any, depth: int) -> Any:
        if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < count:
            raise ParseError(f"{fmt}: packed data refers to slot {slot!r} of {count}")
        if depth > MAX_PACKED_DEPTH:
            raise ParseError(f"{fmt}: packed data nests deeper than {MAX_PACKED_DEPTH} levels")
        node = slots[slot]
        inner = depth + 1
        in_place = inner <= MAX_PACKED_DEPTH
        if isinstance(node, dict):
            return {
                key: slots[item]
                if in_place and type(item) is int and 0 <= item < count and plain[item]
                else resolve(item, inner)
                for key, item in node.items()
            }
        if isinstance(node, list):
            return [
                slots[item]
                if in_place and type(item) is int and 0 <= item < count and plain[item]
                else resolve(item, inner)
                for item in node
            ]
        return node

    if not slots:
        raise ParseError(f"{fmt}: the packed data array is empty")
    return resolve(0, 0)


# ---------------------------------------------------------------------------------------------
# Search results
# ---------------------------------------------------------------------------------------------


def search_page(
    results: Mapping[str, Any], fmt: str, page_url: str | None, next_link: Any
) -> ParsedPage:
    """A ParsedPage from a `searchResults`-shaped object (all three search formats share it)."""
    cards = results.get("properties")
    if not isinstance(cards, list):
        raise ParseError(
            f"{fmt}: the search results have no 'properties' list "
            f"(keys: {key_list(results)}){CHANGED_LAYOUT}"
        )
    listings = [listing_from_card(card, page_url, fmt, n) for n, card in enumerate(cards)]
    page_size = whole_number(dig(results, "searchParameters", "numberOfPropertiesPerPage"))
    page_size = page_size or DEFAULT_PAGE_SIZE
    return ParsedPage(
        source=SOURCE,
        format=fmt,
        listings=dedupe_by_source_id(listings),
        total_results=whole_number(results.get("resultCount")),
        page_size=page_size,
        next_page_url=next_page_url(results, fmt, page_url, next_link, page_size),
    )


def next_page_url(
    results: Mapping[str, Any], fmt: str, page_url: str | None, next_link: Any, page_size: int
) -> str | None:
    """The next page of the same search, or None on the last page.

    A page's own link wins. Otherwise `pagination.next` is the next `index` (Rightmove repeats
    the current one on the last page): the API's next page is the fetched URL with that index,
    a page's is its `listViewUrl` with it.
    """
    root = rightmove_root(page_url)
    if isinstance(next_link, str) and next_link:
        return join_root(root, html.unescape(next_link))
    pagination = results.get("pagination")
    if not isinstance(pagination, dict):
        return None
    next_index = whole_number(pagination.get("next"))
    current = whole_number(dig(results, "searchParameters", "index"))
    if current is None:
        current = ((whole_number(pagination.get("page")) or 1) - 1) * page_size
    if next_index is None or next_index <= current:
        return None
    if fmt == API_SEARCH:
        return with_index(page_url, next_index) if page_url else None
    own_url = results.get("listViewUrl")
    if isinstance(own_url, str) and own_url:
        return with_index(join_root(root, html.unescape(own_url)), next_index)
    return with_index(page_url, next_index) if page_url else None


def with_index(url: str, index: int) -> str:
    """`url` with its `index` query parameter set to `index` and its query re-encoded.

    Not `common.with_query_value`, which keeps the query as written: Rightmove's next-page
    URLs have always come out re-encoded (`flat,terraced` as `flat%2Cterraced`), and a page
    re-parsed from the archive must link the same next page as when it was fetched.
    """
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "index"]
    query.append(("index", str(index)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def listing_from_card(
    card: Any, page_url: str | None, fmt: str, position: int
) -> NormalisedListing:
    """One search card (jsonModel, `__NEXT_DATA__` or API property object) as a listing."""
    if not isinstance(card, dict) or card.get("id") in (None, ""):
        raise ParseError(f"{fmt}: property {position} of the results has no 'id'{CHANGED_LAYOUT}")
    property_id = str(card["id"])
    price = as_object(card.get("price"))
    shown = first_display_price(price)
    address = clean_line(card.get("displayAddress"))
    postcode = normalise_postcode(address)
    update = as_object(card.get("listingUpdate"))
    customer = as_object(card.get("customer"))
    sub_type = clean_line(card.get("propertySubType"))
    return NormalisedListing(
        source=SOURCE,
        source_id=property_id,
        url=property_url(property_id, page_url, card.get("propertyUrl")),
        listing_type="auction_lot" if card.get("auction") is True else "sale",
        title=clean_line(card.get("propertyTypeFullDescription")),
        price=whole_pounds(price.get("amount")),
        price_qualifier=price_qualifier(
            shown.get("displayPriceQualifier"), shown.get("displayPrice")
        ),
        property_type=property_type_of(sub_type),
        property_sub_type=sub_type,
        bedrooms=whole_number(card.get("bedrooms")),
        bathrooms=whole_number(card.get("bathrooms")),
        tenure=normalise_tenure(dig(card, "tenure", "tenureType")),
        postcode=postcode,
        outcode=outcode_of(postcode, last_word(address)),
        address=address,
        latitude=coordinate(dig(card, "location", "latitude")),
        longitude=coordinate(dig(card, "location", "longitude")),
        summary=clean_line(card.get("summary")),
        key_features=feature_lines(card.get("keyFeatures")),
        agent=clean_line(customer.get("branchDisplayName"))
        or clean_line(customer.get("brandTradingName")),
        first_listed_at=card_first_listed(card),
        update_reason=clean_line(update.get("listingUpdateReason"))
        or history_update(card.get("addedOrReduced"))[0],
        updated_at=utc_timestamp(update.get("listingUpdateDate")),
        image_count=whole_number(card.get("numberOfImages")),
    )


def card_first_listed(card: Mapping[str, Any]) -> dt.date | None:
    """When the card was first shown: `firstVisibleDate`, else an "Added on" date."""
    first_seen = utc_timestamp(card.get("firstVisibleDate"))
    if first_seen is not None:
        return first_seen.date()
    reason, day = history_update(card.get("addedOrReduced"))
    return day if reason == "new" else None


def first_display_price(price: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first of a card's `displayPrices` (the one shown), or an empty mapping."""
    shown = price.get("displayPrices")
    if isinstance(shown, list) and shown and isinstance(shown[0], dict):
        return shown[0]
    return {}


def feature_lines(features: Any) -> list[str]:
    """Key features as plain strings, from a detail page's strings or a card's
    `[{"order", "description"}]` (since ~2025)."""
    if not isinstance(features, list):
        return []
    lines = []
    for item in features:
        line = clean_line(item.get("description") if isinstance(item, dict) else item)
        if line:
            lines.append(line)
    return lines


# ---------------------------------------------------------------------------------------------
# Detail pages
# ---------------------------------------------------------------------------------------------


def detail_page(model: Any, fmt: str, page_url: str | None) -> ParsedPage:
    """A ParsedPage holding the listing a decoded page model describes."""
    return ParsedPage(SOURCE, fmt, [listing_from_page_model(model, fmt, page_url)])


def listing_from_page_model(model: Any, fmt: str, page_url: str | None) -> NormalisedListing:
    """The listing in a detail page model (`propertyData` plus `analyticsInfo`).

    The number behind the price and the full postcode are typed only in
    `analyticsInfo.analyticsProperty`; `prices.primaryPrice` is display text.
    """
    data = model.get("propertyData") if isinstance(model, dict) else None
    if not isinstance(data, dict) or data.get("id") in (None, ""):
        keys = key_list(model) if isinstance(model, dict) else type(model).__name__
        raise ParseError(
            f"{fmt}: the page model has no propertyData with an id (top level: {keys})"
            f"{CHANGED_LAYOUT}"
        )
    analytics = as_object(dig(model, "analyticsInfo", "analyticsProperty"))
    property_id = str(data["id"])
    prices = as_object(data.get("prices"))
    address = as_object(data.get("address"))
    display_address = clean_line(address.get("displayAddress"))
    postcode = detail_postcode(address, analytics, display_address)
    tenure = normalise_tenure(dig(data, "tenure", "tenureType"))
    reason, changed_on = history_update(dig(data, "listingHistory", "listingUpdateReason"))
    sub_type = clean_line(data.get("propertySubType")) or clean_line(
        analytics.get("propertySubType")
    )
    images = data.get("images")
    return NormalisedListing(
        source=SOURCE,
        source_id=property_id,
        url=property_url(property_id, page_url, None),
        listing_type="auction_lot" if analytics.get("auctionOnly") is True else "sale",
        title=clean_line(dig(data, "text", "shortDescription")),
        price=whole_pounds(analytics.get("price")) or whole_pounds(prices.get("primaryPrice")),
        price_qualifier=price_qualifier(
            prices.get("displayPriceQualifier"), prices.get("primaryPrice")
        ),
        property_type=property_type_of(sub_type)
        or SOLD_TYPES.get(str(data.get("soldPropertyType"))),
        property_sub_type=sub_type,
        bedrooms=whole_number(data.get("bedrooms")),
        bathrooms=whole_number(data.get("bathrooms")),
        tenure=tenure,
        lease_years_remaining=lease_years(tenure, dig(data, "tenure", "yearsRemainingOnLease")),
        ground_rent=whole_pounds(dig(data, "livingCosts", "annualGroundRent")),
        service_charge=whole_pounds(dig(data, "livingCosts", "annualServiceCharge")),
        postcode=postcode,
        outcode=outcode_of(
            postcode, clean_line(address.get("outcode")) or last_word(display_address)
        ),
        address=display_address,
        latitude=coordinate(dig(data, "location", "latitude")),
        longitude=coordinate(dig(data, "location", "longitude")),
        description=plain_text(dig(data, "text", "description")),
        key_features=feature_lines(data.get("keyFeatures")),
        agent=clean_line(dig(data, "customer", "branchDisplayName"))
        or clean_line(dig(data, "customer", "companyTradingName")),
        first_listed_at=compact_date(analytics.get("added"))
        or (changed_on if reason == "new" else None),
        update_reason=reason,
        updated_at=dt.datetime.combine(changed_on, dt.time()) if changed_on else None,
        image_count=len(images)
        if isinstance(images, list)
        else whole_number(analytics.get("imageCount")),
    )


def detail_postcode(
    address: Mapping[str, Any], analytics: Mapping[str, Any], display_address: str | None
) -> str | None:
    """The full postcode: `address.outcode` + `incode`, else the analytics postcode, else one
    written in the display address."""
    outward, inward = address.get("outcode"), address.get("incode")
    if isinstance(outward, str) and isinstance(inward, str) and outward and inward:
        return normalise_postcode(f"{outward} {inward}")
    return normalise_postcode(analytics.get("postcode")) or normalise_postcode(display_address)


def lease_years(tenure: str, years: Any) -> int | None:
    """Years left on a lease; freehold pages can carry a meaningless 0, which is dropped."""
    remaining = whole_number(years)
    if tenure == "freehold" or not remaining:
        return None
    return remaining


# ---------------------------------------------------------------------------------------------
# Field normalisation
# ---------------------------------------------------------------------------------------------


def property_type_of(label: str | None) -> str | None:
    """Our property type for a Rightmove sub-type label ("End of Terrace" -> terraced), "other"
    for labels that say nothing of the building ("House", "Barn Conversion"), None if absent."""
    if not label:
        return None
    words = " ".join(label.lower().replace("-", " ").split())
    if words in SUB_TYPES:
        return SUB_TYPES[words]
    for keyword, kind in (
        ("bungalow", "bungalow"),
        ("semi detached", "semi_detached"),
        ("detached", "detached"),
        ("terrace", "terraced"),
        ("apartment", "flat"),
        ("maisonette", "flat"),
        ("flat", "flat"),
    ):
        if keyword in words:
            return kind
    return "other"


def history_update(text: Any) -> tuple[str | None, dt.date | None]:
    """("new" | "price_reduced", date) from "Added on 04/02/2026" / "Reduced on 10/06/2025";
    "Added today" gives the reason with no date, since the page does not say which day."""
    if not isinstance(text, str) or not text.strip():
        return None, None
    reason = UPDATE_REASONS.get(text.strip().split()[0].lower())
    found = UK_DATE.search(text)
    if found is None:
        return reason, None
    day, month, year = (int(part) for part in found.groups())
    try:
        return reason, dt.date(year, month, day)
    except ValueError:
        return reason, None


def compact_date(text: Any) -> dt.date | None:
    """A `YYYYMMDD` date (analyticsProperty.added), or None."""
    if not isinstance(text, str | int):
        return None
    try:
        return dt.datetime.strptime(str(text), "%Y%m%d").date()
    except ValueError:
        return None


def clean_line(text: Any) -> str | None:
    """One line of Rightmove's text, whose JSON carries HTML entities: entities decoded
    ("&amp;" -> "&"), whitespace tidied, no space before a comma ("Ada Road , SE5"); None when
    empty."""
    if not isinstance(text, str):
        return None
    # `clean_text` and `html.unescape` written out: this runs for every feature of every card.
    line = " ".join((html.unescape(text) if "&" in text else text).split())
    return line.replace(" ,", ",") if line else None


def plain_text(markup: Any) -> str | None:
    """Description HTML as plain text: `<br />` and paragraph ends become line breaks, tags
    go, entities are decoded, and blank lines are kept to at most one between paragraphs.

    Not `common.html_to_text`: that one also closes up spaces inside a line and puts a blank
    line after every paragraph, which would change the descriptions already stored.
    """
    if not isinstance(markup, str):
        return None
    text = html.unescape(TAG.sub("", LINE_BREAK.sub("\n", markup)))
    lines = [line.strip() for line in text.replace("\r", "").split("\n")]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return joined or None


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


def rightmove_root(page_url: str | None) -> str:
    """Where Rightmove's root-relative links start for a page fetched from `page_url`:
    `https://www.rightmove.co.uk` for Rightmove itself or an unknown origin, the mount prefix
    kept for a stand-in (`http://127.0.0.1:8765/rightmove`)."""
    return site_root(page_url, SITE_ROOT, ROUTE_HEAD)


def property_url(property_id: str, page_url: str | None, link: Any) -> str:
    """The listing's detail page: Rightmove's canonical `/properties/{id}` on the real site; on
    a stand-in, the card's own link (fragment dropped) under the stand-in's root."""
    root = rightmove_root(page_url)
    if root == SITE_ROOT or not isinstance(link, str) or not link:
        return f"{root}/properties/{property_id}"
    return join_root(root, link.split("#", 1)[0])


# ---------------------------------------------------------------------------------------------
# Small readers
# ---------------------------------------------------------------------------------------------


def dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def as_object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one, so optional blocks read as absent."""
    return value if isinstance(value, dict) else {}


def key_list(value: Mapping[str, Any]) -> str:
    """The first keys of an object, for error messages that show what was there instead."""
    keys = list(value)
    shown = ", ".join(str(key) for key in keys[:12])
    return shown + (", ..." if len(keys) > 12 else "") if keys else "none"
