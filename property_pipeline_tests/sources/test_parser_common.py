"""The field readers every page parser shares, each checked once here on the wording the
portals actually use."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from property_pipeline.sources.listing import ParseError
from property_pipeline.sources.parsers.common import (
    UK_TIME,
    classify_property_type,
    clean_text,
    coordinate,
    decode_json,
    decode_json_utf8,
    decode_json_value_at,
    html_to_text,
    instant,
    join_root,
    json_object,
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

ZOOPLA_SITE_PATH = re.compile(r"/(?:for-sale|to-rent)/")

# ---------------------------------------------------------------------------------------------
# Embedded JSON
# ---------------------------------------------------------------------------------------------


def test_load_json_names_the_format_and_what_was_not_json() -> None:
    assert load_json('{"resultCount": "1,234"}', "rightmove_api_search", "the response") == {
        "resultCount": "1,234"
    }
    with pytest.raises(ParseError, match=r"^rightmove_api_search: the response is not JSON \("):
        load_json("<html>Access denied</html>", "rightmove_api_search", "the response")


def test_json_object_refuses_json_that_is_not_an_object() -> None:
    assert json_object('{"data": {}}', "allsop_search", "the body") == {"data": {}}
    with pytest.raises(ParseError, match="allsop_search: expected a JSON object, got list"):
        json_object("[1, 2]", "allsop_search", "the body")


# What orjson refuses or reads differently from the standard library, and look-alikes it reads
# the same: NaN and infinities, half a surrogate pair, integers beyond 64 bits (orjson makes
# them floats without a word), the 64-bit limits, and a long digit run inside a string.
JSON_THE_STANDARD_LIBRARY_READS = [
    '{"price": NaN, "area": Infinity, "floor": -Infinity}',
    '{"title": "Two flats \\ud800 over a shop", "pair": "\\ud83c\\udfe0"}',
    '{"id": 123456789012345678901234, "ids": [-9223372036854775809, 18446744073709551616]}',
    "[98765432109876543210]",
    '{"id": 18446744073709551615, "floor": -9223372036854775808, "big": 1e400}',
    '{"photo": "/1976cd1005730548864563110efd88d0.jpg", "pence": "12345678901234567890"}',
]


@pytest.mark.parametrize("text", JSON_THE_STANDARD_LIBRARY_READS)
def test_json_is_decoded_exactly_as_the_standard_library_decodes_it(text: str) -> None:
    expected = repr(json.loads(text))  # repr: NaN is not equal to itself, and 1 == 1.0

    assert repr(decode_json(text)) == expected
    assert repr(decode_json_utf8(text.encode("utf-8"))) == expected
    assert repr(decode_json_value_at(f"x = {text}", 4)) == expected
    assert repr(decode_json_value_at(f"x = {text};\nwindow.adInfo = {{}}", 4)) == expected


def test_an_integer_beyond_64_bits_keeps_every_digit() -> None:
    assert decode_json('{"id": 123456789012345678901234}') == {"id": 123456789012345678901234}
    assert decode_json("[-98765432109876543210]") == [-98765432109876543210]


def test_text_that_is_not_json_fails_with_the_standard_librarys_error() -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads('{"a": 1,}')
    with pytest.raises(json.JSONDecodeError) as decoded:
        decode_json('{"a": 1,}')

    assert str(decoded.value) == str(expected.value)
    with pytest.raises(ValueError):
        decode_json_utf8(b'{"a": "\xff"}')
    with pytest.raises(ValueError):
        decode_json_value_at("x = {'a': 1}", 4)


def test_a_value_followed_by_code_is_read_to_its_own_end() -> None:
    script = 'window.PAGE_MODEL = {"note": "closing }; brace", "rooms": [1, 2]}\nwindow.ad = {};'

    assert decode_json_value_at(script, 20) == {"note": "closing }; brace", "rooms": [1, 2]}


def test_next_data_script_is_the_text_of_the_next_data_script_or_none() -> None:
    page = '<html><script id="__NEXT_DATA__" type="application/json">{"page": "/x"}</script>'

    assert next_data_script(page) == '{"page": "/x"}'
    assert next_data_script("<html><script>var x = 1;</script></html>") is None


# ---------------------------------------------------------------------------------------------
# Numbers and text
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (24, 24),
        (3.0, 3),
        ("1,388", 1388),
        (" 24 ", 24),
        (2.5, None),
        ("2 beds", None),
        ("", None),
        (True, None),
        (None, None),
    ],
)
def test_whole_number_reads_counts_and_refuses_fractions_and_words(
    value: object, expected: int | None
) -> None:
    assert whole_number(value) == expected


def test_coordinate_reads_numbers_and_numeric_text() -> None:
    assert coordinate(51.5271) == 51.5271
    assert coordinate("-1.56") == -1.56
    assert coordinate(0) == 0.0
    assert (coordinate("north"), coordinate(None), coordinate(True)) == (None, None, None)


def test_clean_text_tidies_whitespace_and_gives_none_for_nothing() -> None:
    assert clean_text("  Hill Rise,\n  Richmond \t TW10 ") == "Hill Rise, Richmond TW10"
    assert (clean_text("   "), clean_text(None), clean_text(12)) == (None, None, None)


def test_last_word_is_where_a_card_puts_the_outcode() -> None:
    assert last_word("Southampton Way, Camberwell, London, SE5") == "SE5"
    assert last_word("Liverpool Road, London N1.") == "N1"
    assert (last_word(""), last_word(None), last_word(" , ")) == (None, None, None)


def test_html_to_text_and_listing_date_handle_zoopla_wording() -> None:
    assert html_to_text("<p>One &amp; two</p><p>Three<br />four</p>") == "One & two\n\nThree\nfour"
    assert html_to_text("Plain&lt;br /&gt;text") == "Plain\ntext"
    assert listing_date("22nd Sep 2025") == dt.date(2025, 9, 22)
    assert listing_date("2025-09-20T13:46:10") == dt.date(2025, 9, 20)
    assert listing_date("yesterday") is None


def test_listing_date_reads_an_auction_heading_with_the_month_in_full() -> None:
    heading = "Auction House East Anglia auction, Wednesday 29th April 2026"

    assert listing_date(heading) == dt.date(2026, 4, 29)


# ---------------------------------------------------------------------------------------------
# Dates and times
# ---------------------------------------------------------------------------------------------


def test_instant_reads_a_named_zone_and_assumes_one_otherwise() -> None:
    assert instant("2018-03-14T10:40:44Z", UK_TIME) == dt.datetime(
        2018, 3, 14, 10, 40, 44, tzinfo=dt.UTC
    )
    assert instant("2023-11-01T10:42:29", UK_TIME) == dt.datetime(
        2023, 11, 1, 10, 42, 29, tzinfo=UK_TIME
    )
    assert (instant("soon", dt.UTC), instant("", dt.UTC), instant(None, dt.UTC)) == (
        None,
        None,
        None,
    )


def test_utc_timestamp_is_naive_utc_as_the_warehouse_keeps_it() -> None:
    assert utc_timestamp("2026-01-29T16:35:03Z") == dt.datetime(2026, 1, 29, 16, 35, 3)
    assert utc_timestamp("2025-06-10T09:00:00+01:00") == dt.datetime(2025, 6, 10, 8, 0)
    # British Summer Time: 10:42 in London is 09:42 UTC.
    assert utc_timestamp("2023-06-01T10:42:29", UK_TIME) == dt.datetime(2023, 6, 1, 9, 42, 29)
    assert utc_timestamp("not a time") is None


# ---------------------------------------------------------------------------------------------
# Price qualifiers and property types
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "shown_price", "expected"),
    [
        ("Offers Over", "£350,000", "offers_over"),
        ("", "£415,000", "fixed"),
        ("", "POA", "poa"),
        (None, "Coming Soon", "coming_soon"),
        (None, None, "fixed"),
    ],
)
def test_price_qualifier_reads_the_label_then_a_price_shown_in_words(
    label: str | None, shown_price: str | None, expected: str
) -> None:
    assert price_qualifier(label, shown_price) == expected


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("semi_detached", "semi_detached"),
        ("end_terrace", "terraced"),
        ("town_house", "terraced"),
        ("terraced_bungalow", "bungalow"),
        ("link_detached", "semi_detached"),
        ("maisonette", "flat"),
        ("block_of_flats", "block_of_flats"),
        ("land", "land"),
        ("park_home", "other"),
        ("Mid Terrace Building arranged as 7 Letting Rooms", "hmo"),
        ("Mid Terrace Shop and Uppers", "mixed_use"),
        ("Detached Building arranged as 6 Flats", "block_of_flats"),
    ],
)
def test_type_codes_and_bylines_map_to_our_property_types(label: str, expected: str) -> None:
    assert classify_property_type(label) == expected


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "root"),
    [
        (None, "https://www.zoopla.co.uk"),
        ("https://www.zoopla.co.uk/for-sale/details/1/", "https://www.zoopla.co.uk"),
        ("https://zoopla.co.uk/to-rent/property/e14/", "https://www.zoopla.co.uk"),
        ("http://127.0.0.1:8123/zoopla/for-sale/details/1/", "http://127.0.0.1:8123/zoopla"),
        ("http://127.0.0.1:8123/zoopla", "http://127.0.0.1:8123/zoopla"),
        ("/for-sale/details/1/", "https://www.zoopla.co.uk"),
    ],
)
def test_site_root_keeps_a_stand_ins_mount_prefix(url: str | None, root: str) -> None:
    assert site_root(url, "https://www.zoopla.co.uk", ZOOPLA_SITE_PATH) == root


def test_join_root_puts_root_relative_links_under_the_mount() -> None:
    root = "http://127.0.0.1:8123/rightmove"

    assert join_root(root, "/properties/1") == "http://127.0.0.1:8123/rightmove/properties/1"
    assert join_root(root, "properties/1") == "http://127.0.0.1:8123/rightmove/properties/1"
    assert join_root(root, "https://example.org/x") == "https://example.org/x"


def test_with_query_value_sets_one_parameter_and_keeps_the_rest_as_written() -> None:
    url = "https://www.allsop.co.uk/api/search?auction_id=abc&page=2&react"

    assert with_query_value(url, "page", "3") == (
        "https://www.allsop.co.uk/api/search?auction_id=abc&react&page=3"
    )
    assert with_query_value("https://x.org/s", "pn", "2") == "https://x.org/s?pn=2"
