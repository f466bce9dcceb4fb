"""Which page format a fetched body is, told from its content, and the parser for it.

The portals change formats without notice and an archived page must re-parse years later, so
the format is read from markers in the body (portals reference §0), not assumed from the URL.
Bot challenges are checked first: Cloudflare answers with a 200 or a 403 whose body is a
"Just a moment..." page, and treating that as an empty listing page would hide a block. The URL
and the caller's source only break ties the content leaves open.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from property_pipeline.sources.listing import (
    BotChallengeError,
    NormalisedListing,
    ParsedPage,
    ParseError,
)
from property_pipeline.sources.parsers import auctions, rightmove, zoopla
from property_pipeline.sources.parsers.common import decode_json

Parser = Callable[..., ParsedPage]

FORMATS: dict[str, Parser] = {
    "rightmove_packed_page_model_detail": rightmove.parse_packed_page_model_detail,
    "rightmove_page_model_detail": rightmove.parse_page_model_detail,
    "rightmove_next_data_search": rightmove.parse_next_data_search,
    "rightmove_json_model_search": rightmove.parse_json_model_search,
    "rightmove_api_search": rightmove.parse_api_search,
    "zoopla_rsc_search": zoopla.parse_rsc_search,
    "zoopla_rsc_detail": zoopla.parse_rsc_detail,
    "zoopla_next_data_search": zoopla.parse_next_data_search,
    "zoopla_next_data_detail": zoopla.parse_next_data_detail,
    "allsop_search": auctions.parse_allsop_search,
    "allsop_auction": auctions.parse_allsop_auction,
    "auctionhouse_catalogue": auctions.parse_auctionhouse_catalogue,
    "auctionhouse_lot": auctions.parse_auctionhouse_lot,
}

# The readers of the formats a JSON body can be, given the body already decoded: detection has
# to decode it to tell them apart, and a large search response takes longer to decode than to
# read.
DECODED_READERS: dict[str, Callable[[Any, str | None], ParsedPage]] = {
    "rightmove_api_search": rightmove.api_search_from_data,
    "zoopla_next_data_search": zoopla.next_data_search_from_data,
    "zoopla_next_data_detail": zoopla.next_data_detail_from_data,
    "allsop_search": auctions.allsop_search_from_data,
    "allsop_auction": auctions.allsop_auction_from_data,
}

# The source each format belongs to, for checking a caller's `source` against the content.
FORMAT_SOURCES = {name: name.split("_", 1)[0] for name in FORMATS}

_CHALLENGE_TITLE = re.compile(r"<title>\s*just a moment\.\.\.\s*</title>", re.I)
_CHALLENGE_MARKERS = ("_cf_chl_opt", "cf-browser-verification", "Cloudflare Ray ID")
_PACKED_PAGE_MODEL = re.compile(r"window\.__PAGE_MODEL\s*=\s*\{")
_PAGE_MODEL = re.compile(r"window\.PAGE_MODEL\s*=\s*\{")
_JSON_MODEL = re.compile(r"window\.jsonModel\s*=\s*\{")
_NEXT_DATA = re.compile(r"<script[^>]*id=[\"']__NEXT_DATA__[\"']", re.I)
_RIGHTMOVE_SEARCH_ROUTE = re.compile(r'"page"\s*:\s*"/property-(?:for-sale|to-rent)/\[')
_RSC_PUSH = "self.__next_f.push("
# Text each pattern's match starts with, found by substring search before the pattern runs: on a
# page of a megabyte that is several times faster than the pattern's own scan.
_LEADING_TEXT = {
    _PACKED_PAGE_MODEL: "window.__PAGE_MODEL",
    _PAGE_MODEL: "window.PAGE_MODEL",
    _JSON_MODEL: "window.jsonModel",
}
# Text a Rightmove search route match holds, one or the other: longer, so quicker to look for,
# than the `"page"` it starts with.
_SEARCH_ROUTE_TEXT = ('"/property-for-sale/[', '"/property-to-rent/[')
# JSON's own whitespace: a body may start with it and still decode as the parsers decode it.
_JSON_SPACE = " \t\n\r"
_NOT_DECODED = object()
_LEGACY_MARKERS = {
    "RIGHTMOVE.ANALYTICS.DataLayer.pushKV('property'": "Rightmove's server-HTML detail (<=2019)",
    "window.ZPG = window.ZPG": "Zoopla's ZPG pages (<=2020)",
}
_LOOKED_FOR = (
    "Cloudflare challenge markers; window.__PAGE_MODEL / window.PAGE_MODEL / window.jsonModel; "
    '<script id="__NEXT_DATA__"> with a Rightmove search route or Zoopla listings; Zoopla\'s '
    "self.__next_f.push stream; Auction House lot cards (div.lot-search-result) or lot page "
    "(JSON-LD Product + .lot-number); JSON with auctionData, data.results (Allsop), properties "
    "(Rightmove API) or listingId items (Zoopla)"
)


def is_bot_challenge(
    body: str, status_code: int | None = None, headers: Mapping[str, str] | None = None
) -> bool:
    """Whether a response is a bot challenge rather than the page asked for.

    Cloudflare marks its challenges with a `cf-mitigated: challenge` header; the body carries
    the "Just a moment..." title, the `_cf_chl_opt` bootstrap or the Ray ID footer whether the
    status is 200 (a "soft" challenge) or 403/503. A 403 that Cloudflare itself served is a
    block too, whatever its body.
    """
    lowered = {str(key).lower(): str(value).lower() for key, value in (headers or {}).items()}
    if lowered.get("cf-mitigated") == "challenge":
        return True
    if status_code == 403 and lowered.get("server") == "cloudflare":
        return True
    # A JSON body has no "<": finding that is far cheaper than running the title pattern.
    if "<" in body and _CHALLENGE_TITLE.search(body):
        return True
    return any(marker in body for marker in _CHALLENGE_MARKERS)


def detect_format(body: str, url: str | None = None, source: str | None = None) -> str:
    """The name of the format (a key of FORMATS) the body is written in.

    Raises BotChallengeError for a Cloudflare challenge and ParseError, listing the markers
    looked for, when the body matches no known format.
    """
    return _detect(body, url, source)[0]


def _detect(body: str, url: str | None, source: str | None) -> tuple[str, Any]:
    """The body's format and, when the body is a JSON document the format's parser would
    decode to the same value, the decoded document (else `_NOT_DECODED`)."""
    if is_bot_challenge(body):
        raise BotChallengeError(
            f"the page{_at(url)} is a Cloudflare bot challenge ('Just a moment...'), not a "
            "listing page; slow down or change how the source is fetched"
        )
    text = body.lstrip()
    decoded = _NOT_DECODED
    if text.startswith(("{", "[")):
        decoded = _decoded_json(text)
        found = _json_format(decoded)
    else:
        found = _html_format(body)
    if isinstance(found, str):
        # The parsers decode the body as it is, which fails on leading whitespace JSON does not
        # allow; such a body is left for the parser to refuse as before.
        if body[: len(body) - len(text)].strip(_JSON_SPACE):
            decoded = _NOT_DECODED
        return found, decoded

    chosen = _tie_break(found, url, source)
    if chosen is not None:
        return chosen, _NOT_DECODED
    if found:
        raise ParseError(
            f"the page{_at(url)} could be any of {sorted(found)}; pass its URL or source to choose"
        )
    raise ParseError(f"no known page format recognised{_at(url)}; looked for: {_LOOKED_FOR}")


def parse_document(body: str, url: str | None = None, source: str | None = None) -> ParsedPage:
    """Detect the body's format and parse it with that format's parser.

    Every listing comes out storable: half a surrogate pair (which a page's JSON may escape,
    `\\ud800`) becomes U+FFFD, and a number the warehouse's BIGINT or DOUBLE cannot hold
    becomes None, since one such value would fail the whole day's write.
    """
    format_name, decoded = _detect(body, url, source)
    if decoded is _NOT_DECODED:
        page = FORMATS[format_name](body, url)
    else:
        page = DECODED_READERS[format_name](decoded, url)
    for listing in page.listings:
        _make_storable(listing)
    return page


_SURROGATE = re.compile("[\\ud800-\\udfff]")
_BIGINT = 2**63 - 1


def _make_storable(listing: NormalisedListing) -> None:
    """Replace, in place, values of the listing that UTF-8 or DuckDB's types cannot hold."""
    for name, value in vars(listing).items():
        if value is None:
            continue
        if isinstance(value, list):
            if any(_storable(item) is not item for item in value):
                setattr(listing, name, [_storable(item) for item in value])
        elif _storable(value) is not value:
            setattr(listing, name, _storable(value))


def _storable(value: object) -> object:
    """`value` itself when it can be stored as is, else its nearest storable form."""
    if isinstance(value, str):
        if value.isascii() or not _SURROGATE.search(value):
            return value
        # UTF-16 round trip: a proper pair becomes its character, a lone half U+FFFD.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > _BIGINT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _html_format(body: str) -> str | set[str]:
    """The format an HTML page is in, or the set of formats it might be when unclear."""
    if _matches(_PACKED_PAGE_MODEL, body):
        return "rightmove_packed_page_model_detail"
    if _matches(_PAGE_MODEL, body):
        return "rightmove_page_model_detail"
    # The route first: it is the rarer of the two and the cheaper to rule out.
    if _has_search_route(body) and _NEXT_DATA.search(body):
        return "rightmove_next_data_search"
    if _matches(_JSON_MODEL, body):
        return "rightmove_json_model_search"
    for marker, era in _LEGACY_MARKERS.items():
        if marker in body:
            raise ParseError(f"the page is {era}, a format no parser reads; re-fetch it")
    if _RSC_PUSH in body:
        return _zoopla_kind(body, "zoopla_rsc_search", "zoopla_rsc_detail")
    if _NEXT_DATA.search(body):
        return _zoopla_kind(body, "zoopla_next_data_search", "zoopla_next_data_detail")
    if "lot-search-result" in body:
        return "auctionhouse_catalogue"
    if "application/ld+json" in body and 'class="lot-number' in body:
        return "auctionhouse_lot"
    return set()


def _matches(pattern: re.Pattern[str], body: str) -> bool:
    """Whether the pattern matches the body, searched for from its leading text's first place."""
    start = body.find(_LEADING_TEXT[pattern])
    return start >= 0 and pattern.search(body, start) is not None


def _has_search_route(body: str) -> bool:
    """Whether the body names a Rightmove search route (`"page": "/property-for-sale/[..."`)."""
    if not any(text in body for text in _SEARCH_ROUTE_TEXT):
        return False
    return _RIGHTMOVE_SEARCH_ROUTE.search(body) is not None


def _zoopla_kind(body: str, search: str, detail: str) -> str | set[str]:
    """Search or detail for a Zoopla page, by the objects its data carries."""
    # Detail pages carry `__ZAD_TARGETING__` and total-results markup too: only data decides.
    if "regularListingsFormatted" in body:
        return search
    if "ListingData" in body or "listingDetails" in body or '\\"pricing\\"' in body:
        return detail
    return {search, detail}


def _decoded_json(text: str) -> Any:
    """The JSON document, or `_NOT_DECODED` when the text is not JSON."""
    try:
        return decode_json(text)
    except ValueError:
        return _NOT_DECODED


def _json_format(data: Any) -> str | set[str]:
    """The format of a decoded JSON body (an API response or records saved by a scraper)."""
    if isinstance(data, list):
        return _json_list_format(data)
    if not isinstance(data, dict):
        return set()
    if isinstance(data.get("auctionData"), dict):
        return "allsop_auction"
    block = data.get("data")
    if isinstance(block, dict) and ("results" in block or "search-uuid" in data):
        return "allsop_search"
    if isinstance(data.get("properties"), list) and "resultCount" in data:
        return "rightmove_api_search"
    page_props = (data.get("props") or {}).get("pageProps")
    if isinstance(page_props, dict):
        if "regularListingsFormatted" in page_props:
            return "zoopla_next_data_search"
        if "listingDetails" in page_props:
            return "zoopla_next_data_detail"
    return set()


def _json_list_format(items: list[Any]) -> str | set[str]:
    """The format of a JSON array of listing objects, by the keys of its first object."""
    first = next((item for item in items if isinstance(item, dict)), None)
    if first is None:
        return set()
    if "listingId" in first:
        return "zoopla_next_data_search"
    if "id" in first and isinstance(first.get("details"), dict):
        return "zoopla_next_data_detail"
    if "id" in first and ("propertyUrl" in first or "displayAddress" in first):
        return "rightmove_api_search"
    return set()


# URL path fragments that name a format, for pages whose content leaves it open.
_URL_FORMATS = (
    ("/property-for-sale/find.html", {"rightmove_next_data_search"}),
    ("/api/property-search/listing/search", {"rightmove_api_search"}),
    ("/api/_search", {"rightmove_api_search"}),
    ("/for-sale/details/", {"zoopla_rsc_detail", "zoopla_next_data_detail"}),
    ("/to-rent/details/", {"zoopla_rsc_detail", "zoopla_next_data_detail"}),
    ("/property/", {"zoopla_rsc_search", "zoopla_next_data_search"}),
    ("/api/auctions/", {"allsop_auction"}),
    ("/api/search", {"allsop_search"}),
    ("/api/property-search", {"allsop_search"}),
    ("/auction/lot/", {"auctionhouse_lot"}),
    ("/auction/lots", {"auctionhouse_catalogue"}),
    ("/national", {"auctionhouse_catalogue"}),
)


def _tie_break(candidates: set[str], url: str | None, source: str | None) -> str | None:
    """One format out of the candidates (or, with none, out of all) by URL, then source.

    With no candidates the URL alone may still name the format, so a page whose structure
    changed reaches its own parser, which says what it missed.
    """
    pool = candidates or set(FORMATS)
    if url:
        for fragment, formats in _URL_FORMATS:
            if fragment in url:
                matching = (formats & pool) - _other_sources(source)
                if len(matching) == 1:
                    return matching.pop()
    if source:
        matching = {name for name in candidates if FORMAT_SOURCES[name] == source}
        if len(matching) == 1:
            return matching.pop()
    return None


def _other_sources(source: str | None) -> set[str]:
    """The formats of every source but `source` (none when no source is given)."""
    if not source:
        return set()
    return {name for name, owner in FORMAT_SOURCES.items() if owner != source}


def _at(url: str | None) -> str:
    return f" at {url}" if url else ""
