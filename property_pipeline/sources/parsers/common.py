"""Field readers every page parser shares: numbers, text, dates, types, URLs and embedded JSON.

Portals differ in where they keep a value, not in how a number, a date or a link is written, so
the Rightmove, Zoopla and auction parsers read those through the one set of functions here. All
of them are pure and forgiving: a value that is absent or unreadable gives None (or the stated
fallback) rather than an error, because one odd field must not lose a whole listing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import orjson
from parsel import Selector

from property_pipeline.sources.listing import (
    ParseError,
    normalise_price_qualifier,
)

UK_TIME = ZoneInfo("Europe/London")

# ---------------------------------------------------------------------------------------------
# Embedded JSON
# ---------------------------------------------------------------------------------------------


# A JSON integer orjson reads as a float has 19 digits or more (it reads -2**63 to 2**64 - 1
# exactly) and follows `[`, `:`, `,`, whitespace or a minus sign. Digits are mapped to "0" and
# every other byte to "x", so runs of 19 digits are found by substring search.
_NUMBER_CLASSES = bytes(ord("0") if byte in b"0123456789" else ord("x") for byte in range(256))
_LONG_DIGITS = b"0" * 19
_BEFORE_NUMBER = frozenset(b"[:, \t\n\r-")
_DECODER = json.JSONDecoder()


def decode_json(text: str) -> Any:
    """`text` decoded exactly as the standard library's `json.loads` decodes it, at orjson's speed.

    orjson refuses NaN, Infinity and half a surrogate pair (`"\\ud800"`), which archived pages
    carry and the standard library reads, and it reads an integer beyond 64 bits as a float
    without saying so, which would turn an id into "1.2e+22": those texts are decoded by the
    standard library. Raises ValueError (or RecursionError) as `json.loads` does.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    # orjson has read the text, so its UTF-8 form is cached in the str and encoding is a copy.
    if _may_hold_long_integer(text.encode("utf-8")):
        return json.loads(text)
    return value


def decode_json_utf8(data: bytes) -> Any:
    """UTF-8 JSON decoded as `decode_json(data.decode("utf-8"))` decodes it, without decoding
    the text first; ValueError if it is not UTF-8 or not JSON."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8"))
    if _may_hold_long_integer(data):
        return json.loads(data.decode("utf-8"))
    return value


def decode_json_value_at(text: str, start: int) -> Any:
    """The JSON value starting at `text[start]`, which code may follow, decoded as `json.loads`
    decodes that value alone; ValueError (or RecursionError) if it is not JSON.

    A value that ends the text goes to orjson; one with code after it is read by the standard
    library's decoder, which stops where the value ends.
    """
    rest = text[start:]
    if rest.rstrip()[-1:] in ("}", "]"):
        try:
            value = orjson.loads(rest)
        except orjson.JSONDecodeError:
            pass
        else:
            if not _may_hold_long_integer(rest.encode("utf-8")):
                return value
    return _DECODER.raw_decode(text, start)[0]


def _may_hold_long_integer(data: bytes) -> bool:
    """Whether UTF-8 JSON may hold an integer orjson cannot read exactly: a run of 19 or more
    digits after `[`, `:`, `,`, whitespace or a minus sign, or at the start. A run inside a
    string may match too, which only costs a slower decode."""
    classes = data.translate(_NUMBER_CLASSES)
    run = classes.find(_LONG_DIGITS)
    while run >= 0:
        # The run starts here: had the byte before been a digit, the search would have stopped
        # there.
        if run == 0 or data[run - 1] in _BEFORE_NUMBER:
            return True
        end = run + len(_LONG_DIGITS)
        while end < len(classes) and classes[end] == ord("0"):
            end += 1
        run = classes.find(_LONG_DIGITS, end)
    return False


def load_json(text: str, fmt: str, what: str) -> Any:
    """`text` decoded as JSON, or a ParseError naming the format and what was being read."""
    try:
        return decode_json(text)
    except ValueError as error:
        raise ParseError(f"{fmt}: {what} is not JSON ({error})") from None


def json_object(text: str, fmt: str, what: str) -> dict[str, Any]:
    """`text` decoded as a JSON object; a ParseError if it is not JSON or not an object."""
    return expect_object(load_json(text, fmt, what), fmt)


def expect_object(data: Any, fmt: str) -> dict[str, Any]:
    """Decoded JSON that must be an object; a ParseError naming the format if it is not."""
    if not isinstance(data, dict):
        raise ParseError(f"{fmt}: expected a JSON object, got {type(data).__name__}")
    return data


def next_data_script(body: str) -> str | None:
    """The text of a Next.js page's `<script id="__NEXT_DATA__">`, or None if it has none."""
    return Selector(text=body).css("script#__NEXT_DATA__::text").get()


# ---------------------------------------------------------------------------------------------
# Numbers and text
# ---------------------------------------------------------------------------------------------


def whole_number(value: Any) -> int | None:
    """A count from an int, a whole float or digit text with thousands commas ("1,388").

    None for anything else, fractions included: 2.5 bedrooms is a broken field, not 2.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        digits = value.replace(",", "").strip()
        return int(digits) if re.fullmatch(r"\d+", digits) else None
    return None


def coordinate(value: Any) -> float | None:
    """A latitude or longitude as a float, from a number or numeric text (Allsop sends text)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def clean_text(value: Any) -> str | None:
    """Text with runs of whitespace and line breaks made single spaces; None if empty or not
    text."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def last_word(text: str | None) -> str | None:
    """The last word of an address, where cards put the outcode ("Bow Road, London, E3")."""
    if not text:
        return None
    words = text.replace(",", " ").split()
    return words[-1].rstrip(".") if words else None


_BREAK = re.compile(r"<br\s*/?>", re.I)
_PARAGRAPH_END = re.compile(r"</p\s*>", re.I)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(value: Any) -> str | None:
    """Plain text from an HTML fragment: line breaks kept, paragraphs apart, entities decoded,
    spaces inside a line tidied.

    Some saved records escape their markup twice (`&lt;br /&gt;`), so a second pass runs when
    the first one uncovers tags.
    """
    if not isinstance(value, str):
        return None
    text = value
    for _ in range(2):
        text = _PARAGRAPH_END.sub("\n\n", _BREAK.sub("\n", text))
        text = html.unescape(_TAG.sub("", text))
        if not _TAG.search(text):
            break
    lines = [" ".join(line.split()) for line in text.splitlines()]
    collapsed = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return collapsed or None


# ---------------------------------------------------------------------------------------------
# Dates and times
# ---------------------------------------------------------------------------------------------

_ORDINAL = re.compile(r"(\d{1,2})(?:st|nd|rd|th)\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")


def listing_date(value: Any) -> dt.date | None:
    """A date from ISO text ("2025-09-20T13:46:10") or words ("1st Nov 2023", "29th April
    2026"); None otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    match = _ORDINAL.search(text)
    if match is None:
        return None
    day, month, year = match.groups()
    for month_format in ("%b", "%B"):
        try:
            return dt.datetime.strptime(f"{day} {month} {year}", f"%d {month_format} %Y").date()
        except ValueError:
            continue
    return None


def instant(value: Any, assumed_zone: dt.tzinfo) -> dt.datetime | None:
    """An ISO timestamp ("2018-03-14T10:40:44Z") as an aware datetime, read in `assumed_zone`
    when it names no zone; None if absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=assumed_zone)


def utc_timestamp(value: Any, assumed_zone: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """An ISO timestamp as a naive UTC datetime, the warehouse's convention for timestamps;
    read in `assumed_zone` when it names no zone."""
    moment = instant(value, assumed_zone)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment else None


# ---------------------------------------------------------------------------------------------
# Price qualifiers and property types
# ---------------------------------------------------------------------------------------------


def price_qualifier(label: Any, shown_price: Any) -> str:
    """Our price qualifier from the label beside the price, or from a price shown as words
    ("POA", "Coming Soon"); a plain figure with no label is a fixed asking price."""
    if isinstance(label, str) and label.strip():
        return normalise_price_qualifier(label)
    if isinstance(shown_price, str) and shown_price.strip() and not re.search(r"\d", shown_price):
        return normalise_price_qualifier(shown_price)
    return normalise_price_qualifier(None)


# Checked in order: the first pattern found in a label decides. Whole buildings (mixed use,
# HMOs, blocks) come before house shapes, since "Mid Terrace Building arranged as 7 Letting
# Rooms" is an HMO first and a terrace second; bungalows before the semi/terrace/detached words.
_TYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("mixed_use", r"mixed[ _-]?use|\bshops?\b|\bretail\b|\buppers\b|\bcommercial\b"),
        ("hmo", r"\bhmo\b|multiple occupation|letting rooms?|studio rooms|\bbedsits?\b"),
        ("block_of_flats", r"block[ _]of[ _]flats|\bblock of\b|\bflats\b|\bapartments\b"),
        ("land", r"\bland\b|\bplots?\b"),
        ("bungalow", r"bungalow"),
        ("semi_detached", r"semi[ _-]?detached|link[ _-]?detached"),
        ("terraced", r"terrace|town[ _-]?house|\bmews\b"),
        ("detached", r"detached|cottage|villa|farm[ _-]?house|\bbarn\b|country[ _]house"),
        ("flat", r"\bflat\b|maisonette|apartment|studio|penthouse|duplex|triplex"),
    )
)


def classify_property_type(label: str) -> str:
    """Our property type (flat, terraced, semi_detached, detached, bungalow, block_of_flats,
    hmo, mixed_use, land, other) for a portal's type code or an auction byline."""
    for name, pattern in _TYPE_PATTERNS:
        if pattern.search(label):
            return name
    return "other"


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


def site_root(url: str | None, default: str, site_path: re.Pattern[str]) -> str:
    """Where a site's root-relative links start for a page fetched from `url`.

    Real pages live at the site root (`default`); a stand-in may mount the site under a prefix
    (`http://127.0.0.1:8123/zoopla`), which is the part of the URL path before `site_path`.
    """
    if not url:
        return default
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return default
    site_host = urlsplit(default).netloc.removeprefix("www.")
    if parts.netloc == site_host or parts.netloc.endswith("." + site_host):
        return default
    match = site_path.search(parts.path)
    prefix = parts.path[: match.start()] if match else parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def join_root(root: str, link: str) -> str:
    """A link from a page made absolute: root-relative links join onto the site root (which
    may carry a stand-in's mount prefix), anything else resolves as a browser would."""
    if link.startswith("/") and not link.startswith("//"):
        return root + link
    return urljoin(root + "/", link)


def with_query_value(url: str, key: str, value: str) -> str:
    """`url` with one query parameter set, the others kept exactly as written (Allsop's bare
    `react` flag must stay bare)."""
    parts = urlsplit(url)
    kept = [item for item in parts.query.split("&") if item and item.split("=")[0] != key]
    return urlunsplit(parts._replace(query="&".join([*kept, f"{key}={value}"])))
