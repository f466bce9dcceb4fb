"""Zoopla's page formats read into `NormalisedListing`s.

Two eras are covered (portals reference §2.2, §2.3): the App Router pages of 2024 on, whose
data is a React Server Components stream pushed by `self.__next_f.push([1,"…"])` scripts, and
the older `__NEXT_DATA__` pages of 2021 to 2024. Zoopla reshuffles its component tree often, so
both readers search the decoded payload for listing objects by their keys rather than following
fixed paths (a detail page decodes only the rows whose text holds the key). Numbers, dates, text
and URLs are read with `parsers.common`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from json.decoder import scanstring
from typing import Any

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
    decode_json,
    decode_json_utf8,
    html_to_text,
    join_root,
    last_word,
    listing_date,
    load_json,
    next_data_script,
    price_qualifier,
    site_root,
    utc_timestamp,
    whole_number,
    with_query_value,
)

SOURCE = "zoopla"
ZOOPLA_ROOT = "https://www.zoopla.co.uk"
SEARCH_PAGE_SIZE = 25

_PUSH = re.compile(r'self\.__next_f\.push\(\[\s*1\s*,\s*("(?:[^"\\]|\\.)*")\s*\]\)')
_PUSH_CALL = "self.__next_f.push("
_PUSH_HEAD = re.compile(r'self\.__next_f\.push\(\[\s*1\s*,\s*"')
_PUSH_TAIL = re.compile(r"\s*\]\)")
_ROW_ID = re.compile(rb"[0-9a-f]*")
_TEXT_ROW = re.compile(rb"T([0-9a-f]+),")
_ROW_TAG = re.compile(r"^[A-Z]{1,2}(?=[\[{\"])")
_ROW_TAG_BYTES = re.compile(rb"[A-Z]{1,2}(?=[\[{\"])")
_REFERENCE = re.compile(r"^\$([0-9a-f]+)((?::[^:]+)*)$")
_ZOOPLA_SITE_PATH = re.compile(r"/(?:for-sale|to-rent|new-homes|find-agents)/")
_MAX_RESOLVE_DEPTH = 24  # nesting levels; listing objects sit a handful deep


# ---------------------------------------------------------------------------------------------
# The React Server Components stream
# ---------------------------------------------------------------------------------------------


def rsc_stream(body: str) -> str:
    """The page's `self.__next_f.push([1, "…"])` strings joined into the one stream they cut."""
    chunks = _pushed_strings(body)
    if chunks is None:
        chunks = [
            load_json(literal, "zoopla RSC page", f"self.__next_f.push string {number}")
            for number, literal in enumerate(_PUSH.findall(body), start=1)
        ]
    if not chunks:
        raise ParseError(
            'zoopla RSC page: no self.__next_f.push([1,"…"]) scripts found; this is not an '
            "App Router page (check for a bot challenge or the older __NEXT_DATA__ format)"
        )
    return "".join(chunks)


def _pushed_strings(body: str) -> list[str] | None:
    """The strings `_PUSH` finds, each decoded where it stands, or None when one of them is not
    a well-formed JSON string (`rsc_stream` then reads them the slow way, naming the bad one).

    Decoding a string finds where it ends as well: matching the whole call with `_PUSH` and
    then decoding took longer than everything else on a detail page.
    """
    chunks = []
    call = body.find(_PUSH_CALL)
    while call >= 0:
        head = _PUSH_HEAD.match(body, call)
        if head is not None:
            try:
                chunk, end = scanstring(body, head.end())
            except ValueError:
                return None
            tail = _PUSH_TAIL.match(body, end)
            if tail is not None:
                chunks.append(chunk)
                call = body.find(_PUSH_CALL, tail.end())
                continue
        call = body.find(_PUSH_CALL, call + 1)
    return chunks


def rsc_rows(stream: str) -> dict[str, Any]:
    """Decode a stream into its rows, keyed by hex row id.

    A row is `{id}:{payload}\\n`, or `{id}:T{hex byte length},{text}` for a text row, whose
    length counts UTF-8 bytes (so the work is done on bytes). JSON payloads are decoded, a tag
    such as `I` or `HL` in front of them dropped; a payload that is not JSON is kept as text. A
    line without `id:` framing (as some trimmed captures have) is decoded as a bare JSON row.
    """
    return {key: _decoded_row(row) for key, row in _undecoded_rows(stream).items()}


class RowsDecodedOnRead(Mapping[str, Any]):
    """`rsc_rows` of a stream, each row decoded the first time it is read: a detail page needs a
    handful of its hundreds of rows, and decoding them all took a fifth of its parse."""

    def __init__(self, stream: str) -> None:
        self.undecoded = _undecoded_rows(stream)
        self._decoded: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._decoded:
            self._decoded[key] = _decoded_row(self.undecoded[key])
        return self._decoded[key]

    def __contains__(self, key: object) -> bool:
        return key in self.undecoded

    def __iter__(self) -> Iterator[str]:
        return iter(self.undecoded)

    def __len__(self) -> int:
        return len(self.undecoded)


def _undecoded_rows(stream: str) -> dict[str, bytes | str]:
    """The stream's rows as `rsc_rows` keys them: a text row's text, any other row's payload."""
    # A JSON escape can give half a surrogate pair, which plain UTF-8 refuses to encode; it
    # passes through here and comes out as U+FFFD when the row is decoded.
    data = stream.encode("utf-8", "surrogatepass")
    rows: dict[str, bytes | str] = {}
    position = 0
    bare_count = 0
    while position < len(data):
        colon = data.find(b":", position)
        line_end = data.find(b"\n", position)
        line_end = len(data) if line_end < 0 else line_end
        row_id = data[position:colon] if 0 <= colon < line_end else None
        if row_id is None or not _ROW_ID.fullmatch(row_id):
            rows[f"bare-{bare_count}"] = data[position:line_end]
            bare_count += 1
            position = line_end + 1
            continue

        text_header = _TEXT_ROW.match(data, colon + 1)
        if text_header:
            start = text_header.end()
            end = start + int(text_header.group(1), 16)
            rows[row_id.decode()] = data[start:end].decode("utf-8", errors="replace")
            position = end
            continue

        rows[row_id.decode()] = data[colon + 1 : line_end]
        position = line_end + 1
    return rows


def _decoded_row(row: bytes | str) -> Any:
    """A row from `_undecoded_rows` decoded: text rows are already text."""
    return row if isinstance(row, str) else _decode_payload(row)


def _decode_payload(raw: bytes) -> Any:
    """A row's payload as JSON when it is JSON (after any type tag), else as plain text."""
    # Most payloads are JSON, with or without a tag, and are decoded here without first being
    # made text; the rest are read as text below.
    tag = _ROW_TAG_BYTES.match(raw)
    try:
        return decode_json_utf8(raw[tag.end() :] if tag else raw)
    except ValueError:
        pass
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    # JSON never starts with a capital letter, so a tagged payload is only JSON without its tag.
    try:
        return decode_json(_ROW_TAG.sub("", text, count=1))
    except ValueError:
        return text


def resolve_references(value: Any, rows: Mapping[str, Any], depth: int = 0) -> Any:
    """`value` with every `"$id"` / `"$id:key:key"` row pointer replaced by what it points at.

    Zoopla moves long texts (the description) into their own rows and points at them; other
    `$` strings (`$L2` components, `$undefined`, `$Sreact.fragment`) are left as they are, and
    `$$` is React's escape for a literal dollar.
    """
    if depth > _MAX_RESOLVE_DEPTH:
        return value
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        match = _REFERENCE.match(value)
        if match is None or match.group(1) not in rows:
            return value
        target = rows[match.group(1)]
        for key in filter(None, match.group(2).split(":")):
            target = _step(target, key)
        # Text rows are final: their content is never itself a pointer.
        return target if isinstance(target, str) else resolve_references(target, rows, depth + 1)
    if isinstance(value, dict):
        return {key: resolve_references(item, rows, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_references(item, rows, depth + 1) for item in value]
    return value


def _step(target: Any, key: str) -> Any:
    """One step of a reference path into a dict or a list."""
    if isinstance(target, dict):
        return target.get(key)
    if isinstance(target, list) and key.isdigit() and int(key) < len(target):
        return target[int(key)]
    return None


def find_dicts(value: Any, wanted: Callable[[dict[str, Any]], bool]) -> Iterator[dict[str, Any]]:
    """Every dict inside `value`, at any depth, for which `wanted` is true, in document order.

    Iterative, because React trees nest deeper than Python's recursion limit allows for.
    """
    stack = [value] if isinstance(value, dict | list) else []
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if wanted(current):
                yield current
            children = reversed(current.values())
        else:
            children = reversed(current)
        # Only containers go on the stack: most values are text and numbers.
        stack.extend([child for child in children if isinstance(child, dict | list)])


# ---------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------


def parse_rsc_search(body: str, url: str | None = None) -> ParsedPage:
    """The listings of an App Router search results page (2024 on), with its result count."""
    rows = rsc_rows(rsc_stream(body))
    return _search_page("zoopla_rsc_search", list(rows.values()), rows, url)


def parse_rsc_detail(body: str, url: str | None = None) -> ParsedPage:
    """The one listing of an App Router detail page (late 2024 on), full postcode included."""
    rows = RowsDecodedOnRead(rsc_stream(body))
    # Decoding every row and walking the whole React tree took most of the parse: only the rows
    # whose JSON text holds the key as a string ("listingId", or spelt with \u escapes) are.
    holding = [
        rows[key]
        for key, row in rows.undecoded.items()
        if isinstance(row, bytes) and (b'"listingId"' in row or b"\\u" in row)
    ]
    found = list(find_dicts(holding, _is_listing_data))
    if not found:
        raise ParseError(
            "zoopla_rsc_detail: no listing object (a dict with listingId and pricing) in the "
            "page's RSC rows; Zoopla may have changed its page structure"
        )
    return _detail_page("zoopla_rsc_detail", found, rows, url)


def parse_next_data_search(body: str, url: str | None = None) -> ParsedPage:
    """The listings of a `__NEXT_DATA__` search page (2021 to 2024).

    Takes the HTML page, the `__NEXT_DATA__` JSON alone, or the bare JSON array of
    `regularListingsFormatted` items that scrapers save.
    """
    return next_data_search_from_data(_next_data(body, "zoopla_next_data_search"), url)


def next_data_search_from_data(data: Any, url: str | None = None) -> ParsedPage:
    """`parse_next_data_search` of JSON already decoded (detection decodes a JSON body)."""
    if isinstance(data, list) and all(isinstance(item, dict) for item in data):
        # Saved items may span several result pages, so no page size or total is implied.
        listings = dedupe_by_source_id([_search_listing(item, url) for item in data])
        return ParsedPage(SOURCE, "zoopla_next_data_search", listings)
    return _search_page("zoopla_next_data_search", [data], {}, url)


def parse_next_data_detail(body: str, url: str | None = None) -> ParsedPage:
    """The listing of a `__NEXT_DATA__` detail page (`props.pageProps.listingDetails`).

    Also takes that JSON alone and the array of projected detail records Scrapfly's scraper
    saves (keys renamed: `id`, `description`, `type`, `date`, `details`, `agency`...).
    """
    return next_data_detail_from_data(_next_data(body, "zoopla_next_data_detail"), url)


def next_data_detail_from_data(data: Any, url: str | None = None) -> ParsedPage:
    """`parse_next_data_detail` of JSON already decoded (detection decodes a JSON body)."""
    if isinstance(data, list) and data and all(_is_saved_detail(item) for item in data):
        data = [_from_saved_detail(item) for item in data]
    found = list(find_dicts(data, _is_listing_details))
    if not found:
        raise ParseError(
            "zoopla_next_data_detail: no listing object (listingDetails: a dict with listingId "
            "and pricing or analyticsTaxonomy) in the page's __NEXT_DATA__"
        )
    return _detail_page("zoopla_next_data_detail", found, {}, url)


def _next_data(body: str, format_name: str) -> Any:
    """The decoded `__NEXT_DATA__` of an HTML page, or the body itself decoded as JSON."""
    text = body.strip()
    if text.startswith("<"):
        script = next_data_script(body)
        if script is None:
            raise ParseError(
                f'{format_name}: the page has no <script id="__NEXT_DATA__">; it may be an '
                "App Router (RSC) page or a bot challenge"
            )
        text = script
    return load_json(text, format_name, "the __NEXT_DATA__ data")


# ---------------------------------------------------------------------------------------------
# Search results
# ---------------------------------------------------------------------------------------------


def _search_page(
    format_name: str, values: list[Any], rows: Mapping[str, Any], url: str | None
) -> ParsedPage:
    """Build a search ParsedPage from the props holding `regularListingsFormatted`.

    Only the regular results are the search's own: featured listings are paid repeats and
    extended listings come from outside the searched area; their counts go in `extra`.
    """
    props = next(find_dicts(values, _is_search_props), None)
    if props is None:
        raise ParseError(
            f"{format_name}: no search results props (a dict with regularListingsFormatted) "
            "in the page; Zoopla may have changed its page structure"
        )
    props = resolve_references(props, rows)
    items = [item for item in props["regularListingsFormatted"] if isinstance(item, dict)]
    listings = dedupe_by_source_id([_search_listing(item, url) for item in items])

    pagination = props.get("pagination") if isinstance(props.get("pagination"), dict) else {}
    total = whole_number(pagination.get("totalResults"))
    if total is None:
        targeting = props.get("dfpAdTargeting") or {}
        total = whole_number(targeting.get("search_results_count"))
    page_number = whole_number(pagination.get("pageNumber"))
    page_max = whole_number(pagination.get("pageNumberMax"))
    extra = {
        "page_number": page_number,
        "page_number_max": page_max,
        "featured_skipped": len(props.get("featuredListingsFormatted") or []),
        "extended_skipped": len(props.get("extendedListingsFormatted") or []),
    }
    return ParsedPage(
        source=SOURCE,
        format=format_name,
        listings=listings,
        total_results=total,
        page_size=SEARCH_PAGE_SIZE,
        next_page_url=_next_search_page(url, page_number, page_max),
        extra=extra,
    )


def _search_listing(item: Mapping[str, Any], url: str | None) -> NormalisedListing:
    """One `regularListingsFormatted` item as a NormalisedListing."""
    listing_id = item.get("listingId")
    if listing_id in (None, ""):
        raise ParseError(f"zoopla search item has no listingId: keys {sorted(item)[:12]}")
    listing_id = str(listing_id)
    counts = {
        feature.get("iconId"): feature.get("content")
        for feature in item.get("features") or []
        if isinstance(feature, dict)
    }
    price_text = item.get("price")
    price = whole_pounds(price_text)
    if price is None:
        price = whole_number(item.get("priceUnformatted"))
    address = clean_text(item.get("address"))
    postcode = normalise_postcode(address)
    latitude, longitude = _coordinates(item)
    uris = item.get("listingUris") or {}
    detail_path = uris.get("detail") or f"/for-sale/details/{listing_id}/"
    zoopla_type = item.get("propertyType")
    title = clean_text(item.get("title"))

    return NormalisedListing(
        source=SOURCE,
        source_id=listing_id,
        url=_absolute(detail_path, url),
        listing_type="sale",
        title=title,
        price=price,
        price_qualifier=price_qualifier(item.get("priceTitle"), price_text),
        property_type=_property_type(zoopla_type, title),
        property_sub_type=zoopla_type,
        bedrooms=whole_number(counts.get("bed")),
        bathrooms=whole_number(counts.get("bath")),
        tenure=_tenure_from_tags(item.get("tags")),
        postcode=postcode,
        outcode=outcode_of(postcode, last_word(address)),
        address=address,
        latitude=latitude,
        longitude=longitude,
        summary=clean_text(item.get("summaryDescription")),
        agent=clean_text((item.get("branch") or {}).get("name")),
        first_listed_at=listing_date(item.get("publishedOn")),
        update_reason=_search_update_reason(item),
        updated_at=utc_timestamp(item.get("lastPublishedDate"), UK_TIME),
        image_count=whole_number(item.get("numberOfImages")),
    )


def _search_update_reason(item: Mapping[str, Any]) -> str | None:
    """What the card says changed last: under offer, a price cut, else its flag ("Just added"
    is "new", "Back to market" is "back_to_market")."""
    if item.get("underOffer"):
        return "under_offer"
    if item.get("priceDrop"):
        return "price_reduced"
    flag = clean_text(item.get("flag"))
    if flag is None:
        return None
    return "new" if flag.lower() == "just added" else re.sub(r"\W+", "_", flag.lower()).strip("_")


def _next_search_page(url: str | None, page_number: int | None, page_max: int | None) -> str | None:
    """The URL of the following result page (`pn` + 1), when the pagination says there is one."""
    if not url or page_number is None or page_max is None or page_number >= page_max:
        return None
    return with_query_value(url, "pn", str(page_number + 1))


# ---------------------------------------------------------------------------------------------
# Detail pages
# ---------------------------------------------------------------------------------------------


def _detail_page(
    format_name: str, found: list[dict[str, Any]], rows: Mapping[str, Any], url: str | None
) -> ParsedPage:
    """Build a detail ParsedPage from the listing objects found (the page repeats them)."""
    by_id: dict[str, dict[str, Any]] = {}
    for candidate in found:
        listing_id = str(candidate["listingId"])
        # The page repeats the object for several components; the fullest copy wins.
        if len(candidate) > len(by_id.get(listing_id, {})):
            by_id[listing_id] = candidate
    listings = [_detail_listing(resolve_references(data, rows), url) for data in by_id.values()]
    return ParsedPage(SOURCE, format_name, listings, total_results=len(listings))


def _detail_listing(data: Mapping[str, Any], url: str | None) -> NormalisedListing:
    """A detail page's listing object (RSC `ListingData` or `listingDetails`) normalised."""
    listing_id = str(data["listingId"])
    taxonomy = data.get("analyticsTaxonomy") or data.get("adTargeting") or {}
    pricing = data.get("pricing") or {}
    counts = data.get("counts") or {}
    location = data.get("location") or {}
    nts = _nts_values(data.get("ntsInfo"))

    price = whole_pounds(pricing.get("internalValue"))
    if price is None:
        price = whole_pounds(taxonomy.get("price")) or whole_pounds(pricing.get("label"))
    # The sandbox and older pages put a qualifier code ("offers_over") in the taxonomy only.
    taxonomy_qualifier = str(taxonomy.get("priceQualifier") or "").replace("_", " ")
    qualifier_label = pricing.get("priceQualifierLabel") or taxonomy_qualifier
    postcode = normalise_postcode(location.get("postalCode")) or normalise_postcode(
        f"{taxonomy.get('outcode') or ''} {taxonomy.get('incode') or ''}"
    )
    outcode = location.get("outcode") or taxonomy.get("outcode")
    latitude, longitude = _coordinates(data)
    zoopla_type = data.get("propertyType") or taxonomy.get("propertyType")
    images = data.get("propertyImage")
    image_count = len(images) if isinstance(images, list) else taxonomy.get("numImages")
    section = data.get("section") or taxonomy.get("section") or "for-sale"
    branch = data.get("branchV2") or data.get("branch") or {}
    agent_fallback = taxonomy.get("branchName")

    return NormalisedListing(
        source=SOURCE,
        source_id=listing_id,
        url=_absolute(f"/{section}/details/{listing_id}/", url),
        listing_type="sale",
        title=clean_text(data.get("title")),
        price=price,
        price_qualifier=price_qualifier(qualifier_label, pricing.get("label")),
        property_type=_property_type(zoopla_type, data.get("title")),
        property_sub_type=zoopla_type,
        bedrooms=whole_number(counts.get("numBedrooms", taxonomy.get("numBeds"))),
        bathrooms=whole_number(counts.get("numBathrooms", taxonomy.get("numBaths"))),
        tenure=_detail_tenure(data.get("tenure"), nts.get("tenure"), taxonomy.get("tenure")),
        lease_years_remaining=whole_pounds(nts.get("lease")),
        ground_rent=whole_pounds(nts.get("ground_rent")),
        service_charge=whole_pounds(nts.get("service_charge")),
        postcode=postcode,
        outcode=outcode_of(postcode, outcode),
        address=clean_text(data.get("displayAddress") or taxonomy.get("displayAddress")),
        latitude=latitude,
        longitude=longitude,
        summary=clean_text(data.get("summaryDescription")),
        description=html_to_text(data.get("detailedDescription")),
        key_features=_bullets(data.get("features")),
        agent=clean_text(branch.get("branchName") or branch.get("name") or agent_fallback),
        first_listed_at=listing_date(data.get("publishedOn")),
        image_count=whole_number(image_count),
    )


def _nts_values(items: Any) -> dict[str, str]:
    """The material-information list (`ntsInfo`) as tenure / lease / ground_rent /
    service_charge values, matched on key or title since Zoopla words them loosely."""
    found: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            continue
        words = f"{item.get('key') or ''} {item.get('title') or ''}".lower().replace("_", " ")
        for name, marker in (
            ("tenure", "tenure"),
            ("lease", "lease"),
            ("ground_rent", "ground rent"),
            ("service_charge", "service charge"),
        ):
            if marker in words and name not in found:
                found[name] = item["value"]
                break
    return found


def _detail_tenure(*labels: Any) -> str:
    """The first tenure any of the page's places gives; "unknown" when none does."""
    for label in labels:
        if isinstance(label, dict):
            label = label.get("tenureType") or label.get("label") or label.get("value")
        tenure = normalise_tenure(str(label).replace("_", " ")) if label else "unknown"
        if tenure != "unknown":
            return tenure
    return "unknown"


def _bullets(features: Any) -> list[str]:
    """The key feature bullets as plain text (Zoopla sends them HTML-escaped)."""
    bullets = features.get("bullets") if isinstance(features, dict) else features
    if not isinstance(bullets, list):
        return []
    texts = (html_to_text(bullet) for bullet in bullets if isinstance(bullet, str))
    return [text for text in texts if text]


def _from_saved_detail(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Scrapfly projected detail record, keyed back to `listingDetails` names."""
    coordinates = record.get("coordinates") or {}
    return {
        "listingId": record["id"],
        "title": record.get("title"),
        "detailedDescription": record.get("description"),
        "pricing": {"label": record.get("price")},
        "propertyType": record.get("type"),
        "publishedOn": record.get("date"),
        "section": record.get("section"),
        "features": {"bullets": record.get("features") or []},
        "location": {
            "coordinates": {
                "latitude": coordinates.get("lat"),
                "longitude": coordinates.get("lng"),
            }
        },
        "propertyImage": record.get("photos"),
        "analyticsTaxonomy": record.get("details") or {},
        "branch": record.get("agency") or {},
    }


def _is_saved_detail(item: Any) -> bool:
    return isinstance(item, dict) and "id" in item and isinstance(item.get("details"), dict)


def _is_listing_data(candidate: dict[str, Any]) -> bool:
    return "listingId" in candidate and isinstance(candidate.get("pricing"), dict)


def _is_listing_details(candidate: dict[str, Any]) -> bool:
    return "listingId" in candidate and (
        isinstance(candidate.get("pricing"), dict)
        or isinstance(candidate.get("analyticsTaxonomy"), dict)
    )


def _is_search_props(candidate: dict[str, Any]) -> bool:
    return isinstance(candidate.get("regularListingsFormatted"), list)


# ---------------------------------------------------------------------------------------------
# Field helpers
# ---------------------------------------------------------------------------------------------


def _absolute(path: str, url: str | None) -> str:
    """A Zoopla site path as an absolute URL on the site the page came from."""
    return join_root(site_root(url, ZOOPLA_ROOT, _ZOOPLA_SITE_PATH), path)


def _property_type(zoopla_type: Any, title: Any) -> str | None:
    """Our type from Zoopla's code, else from the title ("3 bed property for sale")."""
    label = zoopla_type if isinstance(zoopla_type, str) and zoopla_type else title
    return classify_property_type(label) if isinstance(label, str) and label else None


def _tenure_from_tags(tags: Any) -> str:
    """The tenure a search card's tag chips name ("Freehold", "Share of Freehold")."""
    for tag in tags if isinstance(tags, list) else []:
        content = tag.get("content") if isinstance(tag, dict) else tag
        tenure = normalise_tenure(content) if isinstance(content, str) else "unknown"
        if tenure != "unknown":
            return tenure
    return "unknown"


def _coordinates(data: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Latitude and longitude from `location.coordinates` or a card's `pos`."""
    coordinates = (data.get("location") or {}).get("coordinates") or {}
    latitude = coordinates.get("latitude")
    longitude = coordinates.get("longitude")
    if latitude is None and isinstance(data.get("pos"), dict):
        latitude, longitude = data["pos"].get("lat"), data["pos"].get("lng")
    return coordinate(latitude), coordinate(longitude)
