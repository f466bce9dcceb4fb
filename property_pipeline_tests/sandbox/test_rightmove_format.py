"""The Rightmove stand-in against the real captures: same keys, nesting and value types.

The pages are rendered from hand-built listings through a throwaway Starlette app mounting
`rightmove.routes(ctx)`, with a real SandboxContext over the shared fake market.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from property_pipeline.sandbox import rightmove
from property_pipeline.sandbox.app import build_app
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.model import AuctionLot, Listing, PriceChange
from property_pipeline_tests.sandbox.support import (
    PORTAL_DAY,
    FakeMarket,
    leasehold_flat,
    make_listing,
    read_capture,
    sandbox_client,
    shape_of,
    shape_problems,
    terraced_house,
)

# ---------------------------------------------------------------------------------------------
# Real captures
# ---------------------------------------------------------------------------------------------


def json_after(text: str, marker: str) -> Any:
    """The JSON value that starts right after `marker` in a page."""
    start = text.index(marker) + len(marker)
    value, _ = json.JSONDecoder().raw_decode(text, start)
    return value


def unpack_page_model(data: str) -> Any:
    """Decode a packed `__PAGE_MODEL` data string: every container's items are slot numbers."""
    slots = json.loads(data)

    def resolve(slot: int) -> Any:
        node = slots[slot]
        if isinstance(node, dict):
            return {key: resolve(item) for key, item in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(0)


def page_model_of(page: str) -> Any:
    """The page model of a Rightmove detail page, plain or packed."""
    if "window.__PAGE_MODEL = " in page:
        packed = json_after(page, "window.__PAGE_MODEL = ")
        assert packed["encoding"] == "on"
        return unpack_page_model(packed["data"])
    return json_after(page, "window.PAGE_MODEL = ")


def next_data_of(page: str) -> Any:
    """The `__NEXT_DATA__` JSON of a Next.js page."""
    found = re.search(r'<script id="__NEXT_DATA__" type="application/json">(.*?)</script>', page)
    assert found, "no __NEXT_DATA__ script in the page"
    return json.loads(found.group(1))


# ---------------------------------------------------------------------------------------------
# The stand-in over hand-built listings
# ---------------------------------------------------------------------------------------------


def rightmove_client(listings: list[Listing], *, changed: bool = False) -> TestClient:
    """A client for the Rightmove stand-in over these listings, on PORTAL_DAY, with the
    changed-structure fault on when `changed`."""
    faults = (FaultSpec("rightmove", "changed_structure"),) if changed else ()
    market = FakeMarket(listings)
    client, _ = sandbox_client("rightmove", rightmove.routes, market, day=PORTAL_DAY, faults=faults)
    return client


def listing_with_id(packed: bool, start: int = 1) -> Listing:
    """The first hand-built listing whose detail page is (or is not) packed."""
    number = start
    while rightmove.is_packed(str(170_000_000 + number)) != packed:
        number += 1
    return make_listing(number)


SEARCH = "/rightmove/property-for-sale/find.html?locationIdentifier=OUTCODE%5E2046"
API = "/rightmove/api/property-search/listing/search?locationIdentifier=OUTCODE%5E2046"


# ---------------------------------------------------------------------------------------------
# The packed encoding
# ---------------------------------------------------------------------------------------------

PACKED = "rightmove/detail_PACKED___PAGE_MODEL_91588293_collingham_road_SW5_2026-08.html"
DECODED = "rightmove/detail_PACKED_91588293_decoded.json"
HEADINGTON = "rightmove/detail_PAGE_MODEL_171844895_headington_2026-02_browser_pws.html"
WHARF_ROAD = "rightmove/detail_162171665_wharf_road_islington_2025-09_full.html"
CORNWALL = "rightmove/api_search_properties_cornwall_2026-01_scrapfly.json"
METADATA_INTERNALS = (
    "$.metadata.featureSwitches",
    "$.metadata.featureMvts",
    "$.metadata.mvtInfo",
    "$.metadata.clientStoragePolicy",
    "$.metadata.adUnitPath",
    "$.metadata.fuseId",
)


def test_decoder_turns_the_real_packed_page_into_the_reference_json(shared_fixtures: Path) -> None:
    packed = json_after(read_capture(shared_fixtures, PACKED), "window.__PAGE_MODEL = ")

    decoded = unpack_page_model(packed["data"])

    assert decoded == json.loads(read_capture(shared_fixtures, DECODED))
    assert decoded["propertyData"]["prices"]["primaryPrice"] == "£34,000,000"


def test_packer_rebuilds_the_real_packed_string_byte_for_byte(shared_fixtures: Path) -> None:
    packed = json_after(read_capture(shared_fixtures, PACKED), "window.__PAGE_MODEL = ")

    rebuilt = rightmove.pack_page_model(json.loads(read_capture(shared_fixtures, DECODED)))

    assert rebuilt == packed["data"]


def test_own_packed_page_decodes_back_to_its_page_model() -> None:
    listing = listing_with_id(packed=True)
    page = rightmove_client([listing]).get(f"/rightmove/properties/{listing.source_id}").text

    assert 'window.__PAGE_MODEL = {"data":"[{' in page
    assert page_model_of(page) == rightmove.page_model(listing, PORTAL_DAY)


def test_about_thirty_percent_of_detail_pages_are_packed() -> None:
    packed = sum(rightmove.is_packed(str(170_000_000 + number)) for number in range(2000))

    assert 500 <= packed <= 700


# ---------------------------------------------------------------------------------------------
# Detail pages
# ---------------------------------------------------------------------------------------------


def real_page_models(shared_fixtures: Path) -> list[Any]:
    """The three real page models: 2026-02 and 2025-09 plain, 2026-08 packed."""
    plain = [
        json_after(read_capture(shared_fixtures, name), "window.PAGE_MODEL = ")
        for name in (HEADINGTON, WHARF_ROAD)
    ]
    return [*plain, json.loads(read_capture(shared_fixtures, DECODED))]


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "packed"])
def test_detail_page_model_has_the_shape_of_the_real_ones(
    shared_fixtures: Path, packed: bool
) -> None:
    shape = shape_of(real_page_models(shared_fixtures))
    leasehold = leasehold_flat(1)
    listing = dataclasses.replace(listing_with_id(packed), property=leasehold)
    page = rightmove_client([listing]).get(f"/rightmove/properties/{listing.source_id}").text

    model = page_model_of(page)

    assert ("window.__PAGE_MODEL = " in page) is packed
    assert shape_problems(model, shape, ignore=METADATA_INTERNALS) == []


def test_detail_values_read_back_where_the_real_page_keeps_them() -> None:
    leasehold = leasehold_flat(4, bedrooms=2, postcode="RM6 4QX")
    listing = make_listing(4, property=leasehold, price=212_500, price_qualifier="offers_over")
    page = rightmove_client([listing]).get(f"/rightmove/properties/{listing.source_id}").text

    model = page_model_of(page)
    data, analytics = model["propertyData"], model["analyticsInfo"]["analyticsProperty"]

    assert analytics["price"] == 212_500
    assert data["prices"] == {
        "primaryPrice": "£212,500",
        "secondaryPrice": None,
        "displayPriceQualifier": "Offers Over",
        "pricePerSqFt": "£224.39 per sq ft",
        "message": None,
        "exchangeRate": None,
    }
    assert (data["bedrooms"], analytics["beds"]) == (2, 2)
    assert analytics["postcode"] == "RM6 4QX"
    assert (data["address"]["outcode"], data["address"]["incode"]) == ("RM6", "4QX")
    assert data["tenure"] == {
        "tenureType": "LEASEHOLD",
        "yearsRemainingOnLease": 87,
        "message": None,
    }
    assert data["livingCosts"]["annualGroundRent"] == 250
    assert data["livingCosts"]["annualServiceCharge"] == 1_800
    assert data["propertySubType"] == "Flat"
    assert data["text"]["description"] == (
        "Entrance hall, two receptions &amp; a galley kitchen.<br /><br />Garden to the rear."
    )


def test_block_of_flats_at_auction_is_labelled_as_rightmove_does() -> None:
    block = terraced_house(5, property_type="block_of_flats", bedrooms=12, units=6)
    lot = AuctionLot(
        auction_id="6f1c2d3e-0000-4000-8000-000000000001",
        auction_reference="R260430",
        auction_date=dt.date(2026, 4, 30),
        lot_number=17,
        lot_status="Available",
        guide_price_lower=900_000,
        guide_price_upper=950_000,
        tenancy="Fully Let",
        current_rent_per_annum=96_000,
    )
    listing = make_listing(5, property=block, auction=lot, price=900_000)
    client = rightmove_client([listing])

    card = client.get(API).json()["properties"][1]
    model = page_model_of(client.get(f"/rightmove/properties/{listing.source_id}").text)

    assert card["propertySubType"] == "Block of Apartments"
    assert card["auction"] is True
    assert card["price"]["displayPrices"][0]["displayPriceQualifier"] == "Guide Price"
    assert card["propertyTypeFullDescription"] == "12 bedroom block of apartments for sale"
    assert model["analyticsInfo"]["analyticsProperty"]["auctionOnly"] is True
    assert model["propertyData"]["text"]["auctionFeesDisclaimer"] is not None


def test_unknown_and_withdrawn_ids_get_the_not_found_page() -> None:
    withdrawn = make_listing(6, status="withdrawn")
    client = rightmove_client([withdrawn])

    gone = client.get(f"/rightmove/properties/{withdrawn.source_id}")
    unknown = client.get("/rightmove/properties/99")

    assert (gone.status_code, unknown.status_code) == (404, 404)
    assert "PAGE_MODEL" not in gone.text
    assert "property you were looking for" in unknown.text


def test_detail_page_is_byte_identical_for_the_same_request() -> None:
    listings = [listing_with_id(packed=False), listing_with_id(packed=True)]
    paths = [f"/rightmove/properties/{listing.source_id}" for listing in listings]

    first = [rightmove_client(listings).get(path).content for path in paths]
    second = [rightmove_client(listings).get(path).content for path in paths]

    assert first == second


def test_changed_structure_hides_the_page_model_from_a_strict_parser() -> None:
    listing = listing_with_id(packed=True)
    page = rightmove_client([listing], changed=True).get(
        f"/rightmove/properties/{listing.source_id}"
    )

    assert page.status_code == 200
    assert "PAGE_MODEL" not in page.text
    assert '"property":{"id":"' in page.text


# ---------------------------------------------------------------------------------------------
# Search pages and the search API
# ---------------------------------------------------------------------------------------------


def test_search_card_has_the_shape_of_the_real_api_objects(shared_fixtures: Path) -> None:
    shape = shape_of(json.loads(read_capture(shared_fixtures, CORNWALL)))
    reduced = make_listing(
        8,
        price=290_000,
        price_history=(
            PriceChange(PORTAL_DAY - dt.timedelta(days=30), 310_000),
            PriceChange(PORTAL_DAY, 290_000),
        ),
    )
    listings = [make_listing(7), reduced, make_listing(9, status="sold_stc")]

    cards = rightmove_client(listings).get(API + "&includeSSTC=true").json()["properties"]

    assert len(cards) == 4
    assert [shape_problems(card, shape) for card in cards] == [[], [], [], []]


def test_search_page_repeats_the_featured_card_on_page_one() -> None:
    listings = [make_listing(number) for number in range(1, 31)]

    page = rightmove_client(listings).get(SEARCH).text
    results = next_data_of(page)["props"]["pageProps"]["searchResults"]
    cards = results["properties"]

    assert len(cards) == 25
    assert cards[0]["featuredProperty"] is True
    assert cards[0]["heading"] == "Featured Property"
    assert [card["featuredProperty"] for card in cards[1:]] == [False] * 24
    assert cards[0]["id"] in [card["id"] for card in cards[1:]]
    assert len({card["id"] for card in cards}) == 24


def test_second_page_has_twenty_four_cards_and_no_featured_card() -> None:
    listings = [make_listing(number) for number in range(1, 61)]

    results = rightmove_client(listings).get(API + "&index=24").json()

    assert len(results["properties"]) == 24
    assert not any(card["featuredProperty"] for card in results["properties"])
    assert results["pagination"] == {
        "total": 3,
        "first": "0",
        "last": "48",
        "next": "48",
        "page": "2",
    }


def test_result_count_stays_true_while_pages_stop_at_forty_two() -> None:
    listings = [make_listing(number) for number in range(1, 1235)]
    client = rightmove_client(listings)

    last = client.get(API + "&index=984").json()
    beyond = client.get(API + "&index=1008").json()

    assert last["resultCount"] == "1,234"
    assert last["pagination"]["total"] == 42
    assert last["pagination"]["last"] == "984"
    assert len(last["properties"]) == 24
    assert beyond["properties"] == []
    assert beyond["resultCount"] == "1,234"


def test_search_page_links_the_next_page_relative_to_the_prefix() -> None:
    listings = [make_listing(number) for number in range(1, 31)]

    data = next_data_of(rightmove_client(listings).get(SEARCH + "&sortType=1").text)

    next_url = data["props"]["pageProps"]["headMetaData"]["nextUrl"]
    assert next_url == (
        "/property-for-sale/find.html?locationIdentifier=OUTCODE%5E2046&sortType=1&index=24"
    )
    assert data["props"]["pageProps"]["searchResults"]["properties"][1]["propertyUrl"].startswith(
        "/properties/"
    )


def test_search_sorts_and_filters_by_price_beds_and_type() -> None:
    flat = terraced_house(21, property_type="flat", bedrooms=1)
    block = terraced_house(22, property_type="block_of_flats", bedrooms=8)
    listings = [
        make_listing(20, price=250_000),
        make_listing(21, property=flat, price=180_000),
        make_listing(22, property=block, price=1_100_000),
        make_listing(23, price=520_000),
    ]
    client = rightmove_client(listings)

    flats = client.get(API + "&propertyTypes=flat&sortType=2").json()["properties"]
    cheap = client.get(API + "&maxPrice=300000&minBedrooms=2&sortType=1").json()["properties"]

    assert [card["id"] for card in flats[1:]] == [170_000_022, 170_000_021]
    assert [card["id"] for card in cheap[1:]] == [170_000_020]


def test_sold_stc_and_under_offer_listings_show_only_when_included() -> None:
    listings = [
        make_listing(30),
        make_listing(31, status="sold_stc"),
        make_listing(32, status="under_offer"),
    ]
    client = rightmove_client(listings)

    default = client.get(API).json()
    included = client.get(API + "&_includeSSTC=on").json()

    assert default["resultCount"] == "1"
    assert included["resultCount"] == "3"
    statuses = {card["id"]: card["displayStatus"] for card in included["properties"]}
    assert statuses == {170_000_030: "", 170_000_031: "Sold STC", 170_000_032: "Under Offer"}


def test_bad_search_parameters_are_rejected_naming_the_input() -> None:
    client = rightmove_client([make_listing(40)])

    bad_type = client.get(API + "&propertyTypes=castle")
    bad_price = client.get(SEARCH + "&minPrice=lots")
    no_place = client.get("/rightmove/api/property-search/listing/search?locationIdentifier=X%5E1")

    assert bad_type.status_code == 400
    assert "castle" in bad_type.json()["error"]
    assert bad_price.status_code == 400
    assert "minPrice=&#x27;lots&#x27;" in bad_price.text
    assert no_place.status_code == 404


def test_changed_structure_renames_the_search_data_keys() -> None:
    client = rightmove_client([make_listing(50)], changed=True)

    page = client.get(SEARCH).text
    api = client.get(API).json()

    assert "__NEXT_DATA__" not in page
    assert "properties" not in api
    assert len(api["listings"]) == 2


def test_search_page_is_byte_identical_for_the_same_request() -> None:
    listings = [make_listing(number) for number in range(1, 40)]

    first = rightmove_client(listings).get(SEARCH).content
    second = rightmove_client(listings).get(SEARCH).content

    assert first == second


def test_sandbox_app_serves_the_stand_in_and_applies_the_changed_structure_fault() -> None:
    listing = listing_with_id(packed=False)
    config = SandboxConfig(
        date=PORTAL_DAY, faults=(FaultSpec("rightmove", "changed_structure", count=1),)
    )
    app = build_app(config, upstreams={"rightmove": rightmove.routes}, market=FakeMarket([listing]))
    client = TestClient(app)
    path = f"/rightmove/properties/{listing.source_id}"

    changed = client.get(path).text
    normal = client.get(path).text

    assert "window.PAGE_MODEL = " not in changed
    assert page_model_of(normal)["propertyData"]["id"] == listing.source_id
