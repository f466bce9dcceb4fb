"""The Rightmove parsers against the real captures, small hand-made pages and the sandbox.

Real captures are read in place from ../shared/fixtures and checked against the values the
pages show. Sandbox tests fetch pages over HTTP and compare the parsed listings with the
market's own `Listing` records, so they prove the parsers read what the stand-in served.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from property_pipeline.sandbox import rightmove as sandbox_rightmove
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.model import Listing
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.listing import NormalisedListing, ParseError
from property_pipeline.sources.parsers.detect import parse_document
from property_pipeline.sources.parsers.rightmove import (
    API_SEARCH,
    NEXT_DATA_SEARCH,
    PACKED_PAGE_MODEL_DETAIL,
    PAGE_MODEL_DETAIL,
    decode_packed_page_model,
    parse_api_search,
    parse_json_model_search,
    parse_next_data_search,
    parse_packed_page_model_detail,
    parse_page_model_detail,
    property_type_of,
)
from property_pipeline_tests.sandbox.support import add_fault, faults_cleared_after, read_capture
from property_pipeline_tests.sources.support import by_id, fetch

JSON_MODEL_PAGE = "rightmove/search_jsonModel_peckham_drawn_area_2018-03_full.html"
ISLINGTON_PAGE = "rightmove/detail_162171665_wharf_road_islington_2025-09_full.html"
HEADINGTON_PAGE = "rightmove/detail_PAGE_MODEL_171844895_headington_2026-02_browser_pws.html"
PACKED_PAGE = "rightmove/detail_PACKED___PAGE_MODEL_91588293_collingham_road_SW5_2026-08.html"
PACKED_DECODED = "rightmove/detail_PACKED_91588293_decoded.json"
API_OBJECTS = "rightmove/api_search_properties_cornwall_2026-01_scrapfly.json"

SANDBOX_DAY = dt.date(2026, 3, 2)
# A market dense enough that Sheffield S2 has 42 live Rightmove adverts: two search pages.
SANDBOX_MARKET = MarketConfig(listings=40_000)
BUSY_OUTCODE = "S2"


# ---------------------------------------------------------------------------------------------
# Real captures
# ---------------------------------------------------------------------------------------------


def test_legacy_json_model_search_gives_24_unique_listings_led_by_date_street(
    shared_fixtures: Path,
) -> None:
    page = parse_json_model_search(read_capture(shared_fixtures, JSON_MODEL_PAGE))

    assert (page.format, page.total_results, page.page_size) == (
        "rightmove_json_model_search",
        87,
        24,
    )
    assert len(page.listings) == 24
    assert len({listing.source_id for listing in page.listings}) == 24
    first = page.listings[0]
    assert first.source_id == "64089589"
    assert first.url == "https://www.rightmove.co.uk/properties/64089589"
    assert (first.price, first.price_qualifier) == (685000, "fixed")
    assert (first.property_type, first.property_sub_type, first.bedrooms) == (
        "terraced",
        "Terraced",
        3,
    )
    assert (first.address, first.postcode, first.outcode) == (
        "Date Street London SE17",
        None,
        "SE17",
    )
    assert (first.latitude, first.longitude) == (51.48768, -0.09287)
    assert first.agent == "Acorn, Camberwell"
    assert first.first_listed_at == dt.date(2018, 2, 15)
    assert first.update_reason == "price_reduced"
    assert first.updated_at == dt.datetime(2018, 3, 14, 10, 40, 44)
    assert first.image_count == 12
    assert first.title == "3 bedroom terraced house for sale"


def test_legacy_search_links_the_next_page_at_index_24(shared_fixtures: Path) -> None:
    page = parse_json_model_search(read_capture(shared_fixtures, JSON_MODEL_PAGE))

    assert page.next_page_url is not None
    assert page.next_page_url.startswith(
        "https://www.rightmove.co.uk/property-for-sale/find.html?minBedrooms=3&"
    )
    assert page.next_page_url.endswith("&index=24")
    assert "locationIdentifier=USERDEFINEDAREA%5E%7B%22id%22%3A4773322%7D" in page.next_page_url


def test_legacy_search_reads_qualifiers_auction_lots_postcodes_and_agent_entities(
    shared_fixtures: Path,
) -> None:
    listings = by_id(parse_json_model_search(read_capture(shared_fixtures, JSON_MODEL_PAGE)))

    town_house = listings["51897921"]
    assert (town_house.price, town_house.price_qualifier) == (600000, "offers_in_excess_of")
    assert (town_house.property_type, town_house.property_sub_type) == ("terraced", "Town House")
    lot = listings["71932355"]
    assert (lot.listing_type, lot.price, lot.price_qualifier) == ("auction_lot", 500000, "guide")
    assert (lot.property_type, lot.property_sub_type) == ("other", "Not Specified")
    assert lot.agent == "Savills, National Auctions"
    new_build = listings["71925863"]
    assert new_build.address == "Southampton Way, Camberwell, London, SE5 7RX"
    assert (new_build.postcode, new_build.outcode) == ("SE5 7RX", "SE5")
    assert listings["63836053"].agent == "Kinleigh Folkard & Hayward - Sales, Peckham Rye"
    assert listings["64548943"].property_type == "terraced"  # "End of Terrace"


def test_islington_leasehold_detail_gives_lease_ground_rent_and_service_charge(
    shared_fixtures: Path,
) -> None:
    page = parse_page_model_detail(read_capture(shared_fixtures, ISLINGTON_PAGE))

    assert page.format == "rightmove_page_model_detail"
    [flat] = page.listings
    assert flat.source_id == "162171665"
    assert flat.url == "https://www.rightmove.co.uk/properties/162171665"
    assert (flat.price, flat.price_qualifier) == (725000, "fixed")
    assert (flat.property_type, flat.property_sub_type) == ("flat", "Flat")
    assert (flat.bedrooms, flat.bathrooms) == (2, 2)
    assert (flat.tenure, flat.lease_years_remaining) == ("leasehold", 987)
    assert (flat.ground_rent, flat.service_charge) == (350, 5975)
    assert (flat.postcode, flat.outcode) == ("N1 7GS", "N1")
    assert flat.address == "Wharf Road, Islington, N1"
    assert (flat.latitude, flat.longitude) == (51.531607, -0.095897)
    assert flat.agent == "Knight Frank, Islington"
    assert flat.first_listed_at == dt.date(2025, 5, 20)
    assert (flat.update_reason, flat.updated_at) == ("price_reduced", dt.datetime(2025, 6, 10))
    assert flat.key_features[:3] == ["2 bedrooms", "1 reception room", "2 bathrooms"]
    assert len(flat.key_features) == 10
    assert flat.image_count == 8
    assert flat.description is not None
    assert flat.description.startswith("Set within the highly desirable Merchants Building")
    assert "<br" not in flat.description
    assert "\nThe home features a spacious open-plan kitchen" in flat.description


def test_headington_freehold_detail_gives_price_postcode_and_plain_description(
    shared_fixtures: Path,
) -> None:
    [house] = parse_page_model_detail(read_capture(shared_fixtures, HEADINGTON_PAGE)).listings

    assert house.source_id == "171844895"
    assert (house.price, house.price_qualifier, house.listing_type) == (695000, "fixed", "sale")
    assert (house.property_type, house.bedrooms, house.bathrooms) == ("detached", 4, 2)
    assert (house.tenure, house.lease_years_remaining) == ("freehold", None)
    assert (house.ground_rent, house.service_charge) == (None, None)
    assert (house.postcode, house.outcode) == ("OX3 9AY", "OX3")
    assert house.agent == "Chancellors, Headington"
    assert house.key_features == ["No onward chain", "Prime Headington location"]
    assert (house.first_listed_at, house.update_reason) == (dt.date(2026, 2, 4), "new")
    assert house.image_count == 11
    assert house.description is not None
    assert house.description.startswith("Property Description\n\nOffered with no onward chain")


def test_packed_sw5_page_decodes_to_exactly_the_reference_decode(shared_fixtures: Path) -> None:
    expected = json.loads(read_capture(shared_fixtures, PACKED_DECODED))

    decoded = decode_packed_page_model(read_capture(shared_fixtures, PACKED_PAGE))

    assert decoded == expected


def test_packed_sw5_page_parses_to_its_price_postcode_and_bedrooms(shared_fixtures: Path) -> None:
    page = parse_packed_page_model_detail(read_capture(shared_fixtures, PACKED_PAGE))

    assert page.format == "rightmove_packed_page_model_detail"
    [block] = page.listings
    assert block.source_id == "91588293"
    assert (block.price, block.price_qualifier) == (34_000_000, "fixed")
    assert (block.postcode, block.outcode) == ("SW5 0LT", "SW5")
    assert (block.bedrooms, block.bathrooms) == (81, 81)
    assert (block.property_type, block.property_sub_type) == (
        "block_of_flats",
        "Block of Apartments",
    )
    assert block.tenure == "freehold"
    assert block.address == "Collingham Road, London, London, SW5"
    assert block.agent == "United Kingdom Sotheby's International Realty, Kensington"
    assert (block.first_listed_at, block.update_reason) == (dt.date(2026, 8, 3), "new")
    assert (block.key_features, block.image_count) == (["Lift"], 16)


def test_the_75_api_objects_parse_with_their_prices_and_qualifiers(
    shared_fixtures: Path,
) -> None:
    text = read_capture(shared_fixtures, API_OBJECTS)
    amounts = {str(item["id"]): item["price"]["amount"] for item in json.loads(text)}

    page = parse_api_search(text)

    assert page.format == "rightmove_api_search"
    assert len(page.listings) == 75
    assert {listing.source_id: listing.price for listing in page.listings} == amounts
    assert collections.Counter(listing.price_qualifier for listing in page.listings) == {
        "guide": 51,
        "fixed": 13,
        "offers_over": 7,
        "offers_in_excess_of": 2,
        "offers_in_region_of": 2,
    }
    assert collections.Counter(listing.tenure for listing in page.listings) == {
        "freehold": 72,
        "unknown": 2,
        "share_of_freehold": 1,
    }


def test_api_objects_keep_tenure_features_agent_and_auction_flag(shared_fixtures: Path) -> None:
    listings = by_id(parse_api_search(read_capture(shared_fixtures, API_OBJECTS)))

    truro = listings["171605312"]
    assert truro.url == "https://www.rightmove.co.uk/properties/171605312"
    assert (truro.price, truro.price_qualifier) == (450000, "guide")
    assert (truro.property_type, truro.tenure) == ("flat", "share_of_freehold")
    assert (truro.bedrooms, truro.bathrooms) == (4, 2)
    assert (truro.address, truro.outcode) == ("Infirmary Hill, Truro", None)
    assert truro.agent == "Philip Martin, Truro"
    assert truro.key_features[:2] == ["IMPRESSIVE APARTMENT", "GRADE II LISTED"]
    assert truro.first_listed_at == dt.date(2026, 1, 29)
    assert truro.updated_at == dt.datetime(2026, 1, 29, 16, 35, 3)
    hayle = listings["170935019"]
    assert (hayle.listing_type, hayle.price) == ("auction_lot", 5_000_000)
    assert (hayle.postcode, hayle.outcode) == ("TR27 4DZ", "TR27")
    assert hayle.property_type == "block_of_flats"
    assert listings["160328936"].outcode == "TR2"
    assert listings["165596720"].bathrooms is None
    assert listings["161489135"].update_reason == "price_reduced"


# ---------------------------------------------------------------------------------------------
# Hand-made pages shaped like the real ones
# ---------------------------------------------------------------------------------------------


def card(property_id: int, **changes: object) -> dict[str, object]:
    """A search property object with the keys the 2026 API uses, trimmed to what we read."""
    base: dict[str, object] = {
        "id": property_id,
        "bedrooms": 2,
        "bathrooms": 1,
        "numberOfImages": 9,
        "summary": "A two bedroom flat &amp; garden.",
        "displayAddress": "Bow Road, London, E3",
        "location": {"latitude": 51.5271, "longitude": -0.0249},
        "propertySubType": "Ground Flat",
        "tenure": {"tenureType": "LEASEHOLD"},
        "listingUpdate": {
            "listingUpdateReason": "new",
            "listingUpdateDate": "2026-04-02T09:15:00Z",
        },
        "price": {
            "amount": 415000,
            "frequency": "not specified",
            "currencyCode": "GBP",
            "displayPrices": [{"displayPrice": "£415,000", "displayPriceQualifier": ""}],
        },
        "featuredProperty": False,
        "customer": {"branchDisplayName": "Bow Homes, Mile End", "brandTradingName": "Bow Homes"},
        "auction": False,
        "propertyUrl": f"/properties/{property_id}#/?channel=RES_BUY",
        "firstVisibleDate": "2026-04-01T17:05:00Z",
        "keyFeatures": [{"order": 1, "description": "Private garden"}],
        "addedOrReduced": "Added on 01/04/2026",
        "propertyTypeFullDescription": "2 bedroom flat for sale",
    }
    return base | changes


def next_data_page(properties: list[dict[str, object]], next_url: str | None) -> str:
    """A current search page: Next.js markup with `searchResults` in `__NEXT_DATA__`."""
    next_data = {
        "props": {
            "pageProps": {
                "searchResults": {
                    "properties": properties,
                    "resultCount": "1,234",
                    "searchParameters": {"numberOfPropertiesPerPage": "24", "index": "0"},
                    "pagination": {"total": 42, "first": "0", "last": "984", "next": "24"},
                },
                "headMetaData": {"nextUrl": next_url},
            }
        },
        "page": "/property-for-sale/[locationIdentifier]",
    }
    script = json.dumps(next_data).replace("<", "\\u003c")
    return (
        '<html><head><title>Property for sale</title></head><body><div id="__next"></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{script}</script></body></html>'
    )


def test_next_data_search_drops_the_featured_repeat_and_reads_the_comma_count() -> None:
    featured = card(160000002, featuredProperty=True)
    properties = [featured, card(160000001), card(160000002)]
    body = next_data_page(properties, "/property-for-sale/Bow.html?index=24")

    page = parse_next_data_search(body)

    assert [listing.source_id for listing in page.listings] == ["160000002", "160000001"]
    assert (page.total_results, page.page_size) == (1234, 24)
    assert page.next_page_url == "https://www.rightmove.co.uk/property-for-sale/Bow.html?index=24"


def test_next_data_card_maps_every_field_it_offers() -> None:
    body = next_data_page([card(160000001)], None)

    [flat] = parse_next_data_search(body).listings

    assert (
        flat.to_record()
        == NormalisedListing(
            source="rightmove",
            source_id="160000001",
            url="https://www.rightmove.co.uk/properties/160000001",
            listing_type="sale",
            title="2 bedroom flat for sale",
            price=415000,
            price_qualifier="fixed",
            property_type="flat",
            property_sub_type="Ground Flat",
            bedrooms=2,
            bathrooms=1,
            tenure="leasehold",
            postcode=None,
            outcode="E3",
            address="Bow Road, London, E3",
            latitude=51.5271,
            longitude=-0.0249,
            summary="A two bedroom flat & garden.",
            key_features=["Private garden"],
            agent="Bow Homes, Mile End",
            first_listed_at=dt.date(2026, 4, 1),
            update_reason="new",
            updated_at=dt.datetime(2026, 4, 2, 9, 15),
            image_count=9,
        ).to_record()
    )


def test_a_price_shown_as_poa_is_qualified_poa_not_fixed() -> None:
    poa_price = {
        "amount": 950000,
        "displayPrices": [{"displayPrice": "POA", "displayPriceQualifier": ""}],
    }
    body = next_data_page([card(160000003, price=poa_price)], None)

    [listing] = parse_next_data_search(body).listings

    assert (listing.price, listing.price_qualifier) == (950000, "poa")


def test_next_page_comes_from_pagination_when_the_page_has_no_next_link() -> None:
    body = next_data_page([card(160000001)], None)

    page = parse_next_data_search(body, "https://www.rightmove.co.uk/property-for-sale/x.html")

    assert page.next_page_url == "https://www.rightmove.co.uk/property-for-sale/x.html?index=24"
    api_body = json.dumps(
        {
            "properties": [card(160000001)],
            "resultCount": "30",
            "searchParameters": {"index": "0"},
            "pagination": {"next": "24"},
        }
    )
    api_url = "https://www.rightmove.co.uk/api/property-search/listing/search?index=0&channel=BUY"
    api_page = parse_api_search(api_body, api_url)
    assert api_page.next_page_url == (
        "https://www.rightmove.co.uk/api/property-search/listing/search?channel=BUY&index=24"
    )
    last_page = json.loads(api_body) | {
        "searchParameters": {"index": "24"},
        "pagination": {"next": "24"},
    }
    assert parse_api_search(json.dumps(last_page), api_url).next_page_url is None


PAGE_MODEL = {
    "propertyData": {
        "id": "170000001",
        "text": {
            "description": "Bright flat &amp; roof terrace.<br /><br />Share of freehold.",
            "shortDescription": "1 bedroom flat for sale",
            "disclaimer": "Brackets in text must not end the model: } ] };",
        },
        "prices": {"primaryPrice": "£350,000", "displayPriceQualifier": "Offers Over"},
        "address": {"displayAddress": "Bow Road, London, E3", "outcode": "E3", "incode": "4AB"},
        "keyFeatures": ["Roof terrace", "Share of freehold"],
        "images": [{"url": "a.jpeg"}, {"url": "b.jpeg"}],
        "customer": {"branchDisplayName": "Bow Homes, Mile End"},
        "location": {"latitude": 51.5271, "longitude": -0.0249},
        "bedrooms": 1,
        "bathrooms": 1,
        "listingHistory": {"listingUpdateReason": "Reduced on 03/04/2026"},
        "tenure": {"tenureType": "SHARE_OF_FREEHOLD", "yearsRemainingOnLease": 999},
        "propertySubType": "Maisonette",
        "livingCosts": {"annualGroundRent": None, "annualServiceCharge": 1200},
    },
    "analyticsInfo": {
        "analyticsProperty": {
            "added": "20260301",
            "postcode": "E3 4AB",
            "price": 350000,
            "auctionOnly": False,
        }
    },
}


def plain_detail_page(script: str) -> str:
    return f"<html><body><h1>Bow Road</h1><script>{script}</script></body></html>"


def test_page_model_is_read_to_its_closing_brace_whatever_follows_it() -> None:
    model = json.dumps(PAGE_MODEL)
    # As on the live site: no semicolon, the same object again, and "};" inside a string.
    script = (
        f"\n    window.PAGE_MODEL = {model}\n"
        f"        window.adInfo = {model}.propertyData.dfpAdInfo;\n"
        '        var note = "closing }; brace";\n'
    )

    [flat] = parse_page_model_detail(plain_detail_page(script)).listings

    assert (flat.source_id, flat.price, flat.price_qualifier) == (
        "170000001",
        350000,
        "offers_over",
    )
    assert (flat.tenure, flat.lease_years_remaining) == ("share_of_freehold", 999)
    assert (flat.ground_rent, flat.service_charge) == (None, 1200)
    assert (flat.postcode, flat.property_type) == ("E3 4AB", "flat")
    assert flat.description == "Bright flat & roof terrace.\n\nShare of freehold."
    assert (flat.first_listed_at, flat.update_reason) == (dt.date(2026, 3, 1), "price_reduced")
    assert flat.updated_at == dt.datetime(2026, 4, 3)
    assert (flat.image_count, flat.title) == (2, "1 bedroom flat for sale")


def test_packed_page_model_decodes_to_the_plain_model_and_parses_the_same() -> None:
    # The sandbox packs as the live site does: slots in pre-order, equal primitives shared.
    packed_data = sandbox_rightmove.pack_page_model(PAGE_MODEL)
    wrapper = json.dumps({"data": packed_data, "encoding": "on"})
    body = plain_detail_page(f'window.__PAGE_MODEL = {wrapper};\nwindow.adInfo = [{{"k":1}}];')

    assert decode_packed_page_model(body) == PAGE_MODEL
    assert decode_packed_page_model(wrapper) == PAGE_MODEL
    assert decode_packed_page_model(packed_data) == PAGE_MODEL
    packed = parse_packed_page_model_detail(body).listings
    plain = parse_page_model_detail(
        plain_detail_page(f"window.PAGE_MODEL = {json.dumps(PAGE_MODEL)}")
    )
    assert [listing.to_record() for listing in packed] == [
        listing.to_record() for listing in plain.listings
    ]


def test_a_page_model_in_a_comment_is_passed_over_for_the_live_script() -> None:
    stale = json.dumps(PAGE_MODEL | {"propertyData": {"id": "170000009"}})
    body = (
        f"<html><body><!-- <script>window.PAGE_MODEL = {stale}</script> -->"
        f"<script>window.PAGE_MODEL = {json.dumps(PAGE_MODEL)}</script></body></html>"
    )

    [flat] = parse_page_model_detail(body).listings

    assert flat.source_id == "170000001"


def test_a_page_model_script_with_windows_line_ends_reads_the_same() -> None:
    script = f"\n    window.PAGE_MODEL = {json.dumps(PAGE_MODEL, indent=2)}\n"

    crlf = parse_page_model_detail(plain_detail_page(script.replace("\n", "\r\n")))
    plain = parse_page_model_detail(plain_detail_page(script))

    assert [listing.to_record() for listing in crlf.listings] == [
        listing.to_record() for listing in plain.listings
    ]


def test_api_objects_keep_ids_beyond_64_bits_and_a_nan_price_as_the_page_has_them() -> None:
    # orjson would read the id as 1.2345678901234568e+23 and refuse NaN outright.
    body = json.dumps([card(160000001)]).replace("160000001", "123456789012345678901234", 1)
    body = body.replace("415000", "NaN", 1)

    for page in (parse_api_search(body), parse_document(body)):
        [listing] = page.listings
        assert listing.source_id == "123456789012345678901234"
        assert (listing.price, listing.address) == (None, "Bow Road, London, E3")


@pytest.mark.parametrize(
    ("label", "property_type"),
    [
        ("Flat", "flat"),
        ("Apartment", "flat"),
        ("Penthouse", "flat"),
        ("Terraced", "terraced"),
        ("End of Terrace", "terraced"),
        ("Mews", "terraced"),
        ("Semi-Detached", "semi_detached"),
        ("Detached", "detached"),
        ("Link Detached House", "detached"),
        ("Detached Bungalow", "bungalow"),
        ("Semi-Detached Bungalow", "bungalow"),
        ("Block of Apartments", "block_of_flats"),
        ("House of Multiple Occupation", "hmo"),
        ("Mixed Use", "mixed_use"),
        ("Land", "land"),
        ("House", "other"),
        ("Barn Conversion", "other"),
        (None, None),
    ],
)
def test_rightmove_sub_types_map_to_our_property_types(
    label: str | None, property_type: str | None
) -> None:
    assert property_type_of(label) == property_type


@pytest.mark.parametrize(
    ("parser", "body", "message"),
    [
        (parse_next_data_search, "<html><body>nothing</body></html>", "rightmove_next_data_search"),
        (parse_api_search, '{"listings": [], "totalCount": "0"}', "no 'properties' list"),
        (parse_api_search, "<html>Access denied</html>", "rightmove_api_search: the response"),
        (parse_json_model_search, "<html></html>", "no script assigns window.jsonModel"),
        (parse_page_model_detail, plain_detail_page("x = 1;"), "rightmove_page_model_detail"),
        (
            parse_page_model_detail,
            plain_detail_page('window.PAGE_MODEL = {"propertyData":{"id":"1", "text": {'),
            "never closes",
        ),
        (
            parse_page_model_detail,
            plain_detail_page('window.PAGE_MODEL = {"property": {"id": "1"}}'),
            "no propertyData with an id",
        ),
        (
            parse_packed_page_model_detail,
            plain_detail_page('window.__PAGE_MODEL = {"data": "[{\\"a\\": 9}]", "encoding": "on"}'),
            "refers to slot 9",
        ),
    ],
)
def test_pages_that_are_not_the_format_raise_a_parse_error_naming_it(
    parser: object, body: str, message: str
) -> None:
    with pytest.raises(ParseError, match="rightmove_") as raised:
        parser(body)  # type: ignore[operator]

    assert message in str(raised.value)


# ---------------------------------------------------------------------------------------------
# Pages served by the sandbox
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(market=SANDBOX_MARKET, date=SANDBOX_DAY)) as server:
        yield server


@pytest.fixture(scope="module")
def market(sandbox: SandboxServer) -> Market:
    return sandbox.context.market


no_faults_left = faults_cleared_after("sandbox")


def search_url(sandbox: SandboxServer, market: Market, outcode: str) -> str:
    location = market.location(outcode=outcode)
    assert location is not None
    identifier = location.rightmove_id.replace("^", "%5E")
    base = sandbox.url("rightmove")
    return f"{base}/property-for-sale/find.html?locationIdentifier={identifier}&includeSSTC=true"


def expected_address(record: Listing) -> str:
    prop = record.property
    parts = (prop.street, prop.locality, prop.location.town, prop.location.outcode)
    return ", ".join(part for part in parts if part)


def assert_common_fields(parsed: NormalisedListing, record: Listing) -> None:
    """The fields search cards and detail pages both carry equal the market's record."""
    prop = record.property
    assert parsed.source_id == record.source_id
    assert (parsed.price, parsed.price_qualifier) == (record.price, record.price_qualifier)
    assert parsed.listing_type == ("auction_lot" if record.auction else "sale")
    assert parsed.property_type == prop.property_type
    assert (parsed.bedrooms, parsed.bathrooms) == (prop.bedrooms, prop.bathrooms)
    assert parsed.tenure == prop.tenure
    assert (parsed.address, parsed.outcode) == (expected_address(record), prop.location.outcode)
    assert (parsed.latitude, parsed.longitude) == (
        round(prop.latitude, 6),
        round(prop.longitude, 6),
    )
    assert parsed.key_features == list(record.key_features)
    assert parsed.agent == f"{record.agent_name}, {prop.location.town}"
    assert parsed.first_listed_at == record.first_listed
    assert parsed.update_reason == ("price_reduced" if record.reduced_on else "new")
    assert parsed.updated_at is not None
    assert parsed.updated_at.date() == (record.reduced_on or record.first_listed)
    assert parsed.image_count == record.image_count


def test_sandbox_search_pages_give_exactly_the_markets_listings(
    sandbox: SandboxServer, market: Market
) -> None:
    records = market.search(SANDBOX_DAY, "rightmove", outcode=BUSY_OUTCODE)
    first_url = search_url(sandbox, market, BUSY_OUTCODE)

    first = parse_next_data_search(fetch(first_url).text, first_url)
    assert first.next_page_url is not None
    second = parse_next_data_search(fetch(first.next_page_url).text, first.next_page_url)

    assert len(records) == 42
    assert (first.total_results, first.page_size, len(first.listings)) == (42, 24, 24)
    assert (len(second.listings), second.next_page_url) == (18, None)
    assert "index=24" in first.next_page_url
    assert first.next_page_url.startswith(sandbox.url("rightmove") + "/property-for-sale/")
    parsed_ids = [listing.source_id for listing in first.listings + second.listings]
    assert sorted(parsed_ids) == sorted(record.source_id for record in records)
    # Apart from the featured card moved to the front, the page keeps the market's order.
    featured = first.listings[0].source_id
    assert [i for i in parsed_ids[1:24] if i != featured] == [
        record.source_id for record in records[:24] if record.source_id != featured
    ]


def test_sandbox_search_cards_carry_the_markets_values(
    sandbox: SandboxServer, market: Market
) -> None:
    records = {
        record.source_id: record
        for record in market.search(SANDBOX_DAY, "rightmove", outcode=BUSY_OUTCODE)
    }
    url = search_url(sandbox, market, BUSY_OUTCODE)

    page = parse_next_data_search(fetch(url).text, url)

    for listing in page.listings:
        record = records[listing.source_id]
        assert_common_fields(listing, record)
        assert listing.summary == record.summary
        assert listing.postcode is None  # a search card only shows the outcode
        assert listing.url == f"{sandbox.url('rightmove')}/properties/{record.source_id}"


def test_sandbox_search_api_pages_match_the_search_page(
    sandbox: SandboxServer, market: Market
) -> None:
    location = market.location(outcode=BUSY_OUTCODE)
    assert location is not None
    api_url = (
        f"{sandbox.url('rightmove')}/api/property-search/listing/search?"
        f"locationIdentifier={location.rightmove_id.replace('^', '%5E')}&_includeSSTC=true&index=0"
    )
    page_url = search_url(sandbox, market, BUSY_OUTCODE)

    api_first = parse_api_search(fetch(api_url).text, api_url)
    assert api_first.next_page_url is not None
    api_second = parse_api_search(fetch(api_first.next_page_url).text, api_first.next_page_url)
    html_first = parse_next_data_search(fetch(page_url).text, page_url)

    assert (api_first.total_results, len(api_first.listings), len(api_second.listings)) == (
        42,
        24,
        18,
    )
    assert "/api/property-search/listing/search?" in api_first.next_page_url
    assert api_second.next_page_url is None
    assert [listing.to_record() for listing in api_first.listings] == [
        listing.to_record() for listing in html_first.listings
    ]


def detail_records(market: Market) -> list[Listing]:
    """Every live Rightmove advert in the busy outcode, plus the first auction lot, POA price,
    leasehold with ground rent and service charge, and share of freehold anywhere."""
    chosen = {r.source_id: r for r in market.search(SANDBOX_DAY, "rightmove", outcode=BUSY_OUTCODE)}
    wanted = {
        "auction": lambda r: r.auction is not None,
        "poa": lambda r: r.price_qualifier == "poa",
        "lease costs": lambda r: bool(r.property.ground_rent and r.property.service_charge),
        "share of freehold": lambda r: r.property.tenure == "share_of_freehold",
    }
    everywhere = [
        record
        for location in market.locations()
        for record in market.search(SANDBOX_DAY, "rightmove", outcode=location.outcode)
    ]
    for name, wants in wanted.items():
        record = next((r for r in everywhere if wants(r)), None)
        assert record is not None, f"the sandbox market has no Rightmove listing with {name}"
        chosen[record.source_id] = record
    return list(chosen.values())


def test_sandbox_detail_pages_plain_and_packed_carry_the_markets_values(
    sandbox: SandboxServer, market: Market
) -> None:
    encodings: collections.Counter[str] = collections.Counter()

    for record in detail_records(market):
        url = f"{sandbox.url('rightmove')}/properties/{record.source_id}"
        body = fetch(url).text
        packed = sandbox_rightmove.is_packed(record.source_id)
        parser = parse_packed_page_model_detail if packed else parse_page_model_detail
        [listing] = parser(body, url).listings
        encodings[PACKED_PAGE_MODEL_DETAIL if packed else PAGE_MODEL_DETAIL] += 1

        prop = record.property
        assert_common_fields(listing, record)
        assert listing.url == url
        assert (listing.postcode, listing.outcode) == (prop.postcode, prop.location.outcode)
        assert listing.description == record.description
        assert (listing.ground_rent, listing.service_charge) == (
            prop.ground_rent,
            prop.service_charge,
        )
        leased = prop.tenure != "freehold"
        assert listing.lease_years_remaining == (prop.lease_years_remaining if leased else None)
        assert listing.updated_at == dt.datetime.combine(
            record.reduced_on or record.first_listed, dt.time()
        )

    assert encodings[PACKED_PAGE_MODEL_DETAIL] >= 5
    assert encodings[PAGE_MODEL_DETAIL] >= 5


@pytest.mark.parametrize(
    ("path", "parser", "fmt"),
    [
        ("/property-for-sale/", parse_next_data_search, NEXT_DATA_SEARCH),
        ("/api/", parse_api_search, API_SEARCH),
        ("/properties/", parse_page_model_detail, PAGE_MODEL_DETAIL),
        ("/properties/", parse_packed_page_model_detail, PACKED_PAGE_MODEL_DETAIL),
    ],
)
def test_sandbox_changed_structure_raises_a_parse_error_naming_the_format(
    sandbox: SandboxServer, market: Market, path: str, parser: object, fmt: str
) -> None:
    location = market.location(outcode=BUSY_OUTCODE)
    assert location is not None
    record = market.search(SANDBOX_DAY, "rightmove", outcode=BUSY_OUTCODE)[0]
    identifier = location.rightmove_id.replace("^", "%5E")
    urls = {
        "/property-for-sale/": search_url(sandbox, market, BUSY_OUTCODE),
        "/api/": f"{sandbox.url('rightmove')}/api/property-search/listing/search?"
        f"locationIdentifier={identifier}",
        "/properties/": f"{sandbox.url('rightmove')}/properties/{record.source_id}",
    }
    add_fault(sandbox, upstream="rightmove", kind="changed_structure", count=1, path_prefix=path)

    body = fetch(urls[path]).text

    with pytest.raises(ParseError, match=f"^{fmt}: "):
        parser(body, urls[path])  # type: ignore[operator]


def test_sandbox_truncated_detail_page_raises_a_parse_error(
    sandbox: SandboxServer, market: Market
) -> None:
    record = next(
        r
        for r in market.search(SANDBOX_DAY, "rightmove", outcode=BUSY_OUTCODE)
        if not sandbox_rightmove.is_packed(r.source_id)
    )
    url = f"{sandbox.url('rightmove')}/properties/{record.source_id}"
    add_fault(sandbox, upstream="rightmove", kind="truncate", count=1, path_prefix="/properties/")

    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("GET", url, timeout=10, trust_env=False) as response:
            for piece in response.iter_raw():
                received += piece

    assert 0 < len(received)
    with pytest.raises(ParseError, match="^rightmove_page_model_detail: "):
        parse_page_model_detail(received.decode("utf-8", errors="replace"), url)
