"""Allsop's JSON API and Auction House UK's HTML, checked against real captures and the market."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from parsel import Selector
from starlette.testclient import TestClient

from property_pipeline.sandbox.auctions import (
    allsop_routes,
    auction_number,
    auctionhouse_routes,
    branch_of,
)
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.model import AuctionLot, Listing, PriceChange, Property
from property_pipeline_tests.sandbox.support import (
    MARKET_DAY,
    FakeAuction,
    FakeMarket,
    load_json_capture,
    make_location,
    make_property,
    real_market,
    sandbox_client,
    shape_of,
    shape_problems,
)

ALLSOP_SEARCH = "auctions/allsop_api_search_R260430_slice5lots_2026-04.json"
ALLSOP_AUCTION = "auctions/allsop_api_auctions_R260430_2026-04.json"


# --- auction fixtures --------------------------------------------------------------------------

ALLSOP_SALE = FakeAuction(
    auction_id="16fe8330-0000-4000-8000-00000000a001",
    reference="R260430",
    house="allsop",
    name="Residential - April 2026",
    auction_date=dt.date(2026, 4, 29),
)
ALLSOP_NEXT_SALE = FakeAuction(
    auction_id="16fe8330-0000-4000-8000-00000000a002",
    reference="R260528",
    house="allsop",
    name="Residential - May 2026",
    auction_date=dt.date(2026, 5, 27),
)
ALLSOP_PAST_SALE = FakeAuction(
    auction_id="16fe8330-0000-4000-8000-00000000a000",
    reference="R260312",
    house="allsop",
    name="Residential - March 2026",
    auction_date=dt.date(2026, 3, 12),
)
LONDON_SALE = FakeAuction(
    auction_id="aaaa0000-0000-4000-8000-00000000b001",
    reference="AH-LONDON-260505",
    house="auctionhouse",
    name="Auction House London - 5 May 2026",
    auction_date=dt.date(2026, 5, 5),
    venue="Online",
    branch="london",
)
SOUTH_EAST_SALE = FakeAuction(
    auction_id="aaaa0000-0000-4000-8000-00000000b002",
    reference="AH-SOUTH-EAST-260507",
    house="auctionhouse",
    name="Auction House South East - 7 May 2026",
    auction_date=dt.date(2026, 5, 7),
    venue="Live Stream",
    branch="south-east",
)


def make_lot(
    auction: FakeAuction,
    lot_number: int,
    *,
    source_id: str | None = None,
    prop: Property | None = None,
    status: str = "Available",
    guide: tuple[int, int] = (200_000, 200_000),
    rent: int | None = None,
) -> Listing:
    """A lot of `auction` listed a month before the market day."""
    prop = prop or make_property(lot_number)
    tenancy = "Vacant Possession" if rent is None else "Fully Let"
    return Listing(
        source=auction.house,
        source_id=source_id or f"9ac2cf22-1e22-11f1-80bb-{lot_number:012d}",
        property=prop,
        as_of=MARKET_DAY,
        title=f"{prop.bedrooms} bedroom house for sale by auction",
        summary="A semi-detached house in need of modernisation.",
        description="Ground floor: two reception rooms.\n\nFirst floor: three bedrooms.",
        key_features=("Two Reception Rooms", "Rear Garden", "Chain free"),
        price=guide[0],
        price_qualifier="guide",
        first_listed=MARKET_DAY - dt.timedelta(days=30),
        price_history=(PriceChange(MARKET_DAY - dt.timedelta(days=30), guide[0]),),
        status="available",
        agent_name=auction.name,
        agent_phone="020 7000 0000",
        image_count=8,
        auction=AuctionLot(
            auction_id=auction.auction_id,
            auction_reference=auction.reference,
            auction_date=auction.auction_date,
            lot_number=lot_number,
            lot_status=status,
            guide_price_lower=guide[0],
            guide_price_upper=guide[1],
            tenancy=tenancy,
            current_rent_per_annum=rent,
        ),
    )


def allsop_market(lot_count: int = 5) -> FakeMarket:
    """Three Allsop sales; the April one holds `lot_count` lots, one of them let."""
    lots = [make_lot(ALLSOP_SALE, number) for number in range(1, lot_count + 1)]
    lots[-1] = make_lot(
        ALLSOP_SALE,
        lot_count,
        prop=make_property(lot_count, property_type="hmo", units=7, bedrooms=7),
        rent=51_900,
        guide=(600_000, 650_000),
    )
    return FakeMarket(
        auction_list=[ALLSOP_PAST_SALE, ALLSOP_SALE, ALLSOP_NEXT_SALE],
        lots_by_auction={ALLSOP_SALE.auction_id: lots},
    )


def allsop_search(client: TestClient, auction_id: str, page: int = 1) -> Any:
    response = client.get(f"/allsop/api/search?auction_id={auction_id}&page={page}&react")
    assert response.status_code == 200
    return response.json()


# --- Allsop ------------------------------------------------------------------------------------


def test_allsop_lots_have_every_key_and_value_type_of_the_real_lots(shared_fixtures: Path) -> None:
    real = load_json_capture(shared_fixtures, ALLSOP_SEARCH)
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    ours = allsop_search(client, ALLSOP_SALE.auction_id)

    lot_shape = shape_of(real["data"]["results"])
    problems = [
        issue for lot in ours["data"]["results"] for issue in shape_problems(lot, lot_shape)
    ]
    assert problems == []
    assert len(ours["data"]["results"]) == 5


def test_allsop_search_envelope_matches_the_real_one(shared_fixtures: Path) -> None:
    real = load_json_capture(shared_fixtures, ALLSOP_SEARCH)
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    ours = allsop_search(client, ALLSOP_SALE.auction_id)

    assert ours.keys() == real.keys() == {"data", "search-uuid"}
    assert ours["data"].keys() == real["data"].keys() == {"results", "total"}
    assert ours["data"]["total"] == 5
    assert len(base64.b64decode(ours["search-uuid"])) == len(base64.b64decode(real["search-uuid"]))


def test_allsop_auction_record_matches_the_real_auction_data(shared_fixtures: Path) -> None:
    real = load_json_capture(shared_fixtures, ALLSOP_AUCTION)
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    response = client.get(f"/allsop/api/auctions/{ALLSOP_SALE.auction_id}?react")

    assert response.status_code == 200
    ours = response.json()
    assert ours.keys() == real.keys() == {"auctionData"}
    assert shape_problems(ours, shape_of([real])) == []
    assert ours["auctionData"]["allsop_auctionreference"] == "R260430"
    assert ours["auctionData"]["next_auction_date"] == "27th and 28th May 2026"


def test_allsop_stores_the_sale_date_as_uk_midnight_like_the_real_api() -> None:
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    lot = allsop_search(client, ALLSOP_SALE.auction_id)["data"]["results"][0]
    auction = client.get(f"/allsop/api/auctions/{ALLSOP_SALE.auction_id}?react").json()

    # The real R260430 capture: 29 April 2026 is 1777417200000 ms, 23:00Z on the 28th (BST).
    assert lot["auction_date"] == 1777417200000
    assert auction["auctionData"]["allsop_auctiondate"] == "2026-04-28T23:00:00.000000Z"
    assert auction["auctionData"]["aob"] == "29th and 30th April 2026"


def test_allsop_lot_values_come_from_the_market_listing() -> None:
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    results = allsop_search(client, ALLSOP_SALE.auction_id)["data"]["results"]
    vacant, let = results[0], results[-1]

    assert float(vacant["location"]["lat"]) == pytest.approx(51.577114761326)
    assert vacant["postcode"] == "RM6 4FD" and vacant["postcodeArea"] == "RM6"
    assert vacant["guide_price_text"] == "£200,000+"
    assert vacant["allsop_propertybyline"] == "VACANT - Freehold Semi Detached House"
    assert vacant["current_rent_per_annum"] is None
    assert re.fullmatch(r"R260430 \d{3}", vacant["reference"])
    assert let["current_rent_per_annum"] == "51900"
    assert let["guide_price_text"] == "£600,000 - £650,000"
    assert let["yield"] == pytest.approx(8.65)
    assert len(json.loads(let["tenancy_table"])["rows"]) == 7


def test_allsop_lot_references_are_unique_within_a_catalogue() -> None:
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market(lot_count=150))

    references = [
        lot["reference"]
        for page in (1, 2, 3, 4, 5, 6, 7, 8)
        for lot in allsop_search(client, ALLSOP_SALE.auction_id, page)["data"]["results"]
    ]

    assert len(references) == len(set(references)) == 150


def test_allsop_search_pages_run_out_with_an_empty_results_list() -> None:
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market(lot_count=25))

    pages = [allsop_search(client, ALLSOP_SALE.auction_id, page)["data"] for page in (1, 2, 3)]

    assert [len(page["results"]) for page in pages] == [20, 5, 0]
    assert {page["total"] for page in pages} == {25}
    numbers = [lot["lot_number"] for page in pages for lot in page["results"]]
    assert numbers == list(range(1, 26))


def test_allsop_current_and_past_names_the_next_sale_and_the_past_ones() -> None:
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    body = client.get("/allsop/api/auctions/current-and-past").json()

    assert body["data"]["next_residential_auction"]["allsop_auctionreference"] == "R260430"
    assert body["data"]["next_residential_auction"]["lots_published"] is True
    assert [a["allsop_auctionreference"] for a in body["futureResi"]] == ["R260430", "R260528"]
    assert [a["allsop_auctionreference"] for a in body["data"]["past_auctions"]] == ["R260312"]


def test_allsop_lots_of_the_generated_market_keep_the_real_shape(shared_fixtures: Path) -> None:
    real = load_json_capture(shared_fixtures, ALLSOP_SEARCH)
    client, _ = sandbox_client("allsop", allsop_routes, real_market())

    calendar = client.get("/allsop/api/auctions/current-and-past").json()
    past_sale = calendar["data"]["past_auctions"][0]["allsop_auctionid"]
    body = allsop_search(client, past_sale, page=1)

    lot_shape = shape_of(real["data"]["results"])
    problems = [
        issue for lot in body["data"]["results"] for issue in shape_problems(lot, lot_shape)
    ]
    assert body["data"]["total"] >= 60
    assert problems == []
    assert {lot["lot_status"] for lot in body["data"]["results"]} - {"Available"} != set()


def test_allsop_unknown_auction_is_a_404() -> None:
    client, _ = sandbox_client("allsop", allsop_routes, allsop_market())

    response = client.get("/allsop/api/auctions/00000000-0000-0000-0000-000000000000?react")

    assert response.status_code == 404


def test_allsop_changed_structure_renames_the_keys_a_parser_relies_on() -> None:
    client, context = sandbox_client("allsop", allsop_routes, allsop_market())
    context.faults.add(FaultSpec("allsop", "changed_structure"))

    body = allsop_search(client, ALLSOP_SALE.auction_id)

    assert "results" not in body["data"]
    assert "guidePriceLower" in body["data"]["lots"][0]


# --- Auction House UK --------------------------------------------------------------------------


def auctionhouse_market(london_lots: int = 3) -> FakeMarket:
    """A London sale of `london_lots` lots (2 sold prior, 3 postponed) and a South East sale."""
    london = [
        make_lot(LONDON_SALE, number, source_id=str(880_000 + number), guide=(475_000, 475_000))
        for number in range(1, london_lots + 1)
    ]
    if london_lots >= 3:
        london[1] = make_lot(LONDON_SALE, 2, source_id="880002", status="Sold Prior")
        london[2] = make_lot(LONDON_SALE, 3, source_id="880003", status="Postponed")
    coast_home = make_property(
        99, location=make_location(region="South East", town="Margate"), postcode="CT9 1AA"
    )
    south_east = [make_lot(SOUTH_EAST_SALE, 1, source_id="990001", prop=coast_home)]
    return FakeMarket(
        auction_list=[LONDON_SALE, SOUTH_EAST_SALE],
        lots_by_auction={LONDON_SALE.auction_id: london, SOUTH_EAST_SALE.auction_id: south_east},
    )


def catalogue_path(auction: FakeAuction, branch: str) -> str:
    return f"/auctionhouse/{branch}/auction/lots/{auction_number(auction)}"


def test_auctionhouse_cards_carry_the_selectors_scrapers_use() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    page = Selector(client.get(catalogue_path(LONDON_SALE, "london")).text)

    card = page.css("div.lot-search-result")[0]
    assert card.css("a.home-lot-wrapper-link::attr(href)").get() == "/london/auction/lot/880001"
    assert card.css(".image-sticker::text").get() == "Lot 1"
    assert card.css(".grid-view-guide::text").get() == "*Guide | £475,000+ (plus fees)"
    assert card.css("p.fw-bold::text").get() == "3 Bed Semi-Detached House"
    assert card.css(".grid-address::text").get() == "21 Bexley Gardens, Romford, RM6 4FD"


def test_auctionhouse_cards_show_the_result_instead_of_the_guide_once_known() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    page = Selector(client.get(catalogue_path(LONDON_SALE, "london")).text)

    guides = page.css("div.lot-search-result .grid-view-guide::text").getall()
    assert guides == ["*Guide | £475,000+ (plus fees)", "Sold Prior", "Postponed"]


def test_auctionhouse_catalogue_pages_link_next_until_the_last_page() -> None:
    market = auctionhouse_market(london_lots=30)
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, market)
    path = catalogue_path(LONDON_SALE, "london")

    first = Selector(client.get(path).text)
    second = Selector(client.get(f"{path}?page=2").text)

    assert len(first.css("div.lot-search-result")) == 24
    assert first.css("a[rel=next]::attr(href)").get() == "?page=2"
    assert len(second.css("div.lot-search-result")) == 6
    assert second.css("a[rel=next]").get() is None
    assert second.css(".image-sticker::text").getall()[-1] == "Lot 30"


def test_auctionhouse_calendar_links_every_upcoming_catalogue() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    calendar = Selector(client.get("/auctionhouse/auction/future-auction-dates").text)

    links = calendar.css("table a::attr(href)").getall()
    assert links == [
        f"/london/auction/lots/{auction_number(LONDON_SALE)}",
        f"/southeast/auction/lots/{auction_number(SOUTH_EAST_SALE)}",
    ]
    assert calendar.css("tbody tr td::text").getall()[:2] == ["05/05/2026", "Auction House London"]
    south_east_page = Selector(client.get(f"/auctionhouse{links[1]}").text)
    assert south_east_page.css(".grid-address::text").get().endswith("CT9 1AA")


def test_auctionhouse_national_page_rolls_up_every_branch() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    page = Selector(client.get("/auctionhouse/national").text)

    hrefs = page.css("a.home-lot-wrapper-link::attr(href)").getall()
    assert hrefs == [
        "/london/auction/lot/880001",
        "/london/auction/lot/880002",
        "/london/auction/lot/880003",
        "/southeast/auction/lot/990001",
    ]


def test_auctionhouse_branch_page_without_an_id_shows_its_next_catalogue() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    page = Selector(client.get("/auctionhouse/southeast/auction/lots").text)

    assert page.css("a.home-lot-wrapper-link::attr(href)").getall() == [
        "/southeast/auction/lot/990001"
    ]
    assert "7th May 2026" in page.css("h1::text").get()


def test_auctionhouse_lot_page_has_particulars_and_product_json_ld() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    page = Selector(client.get("/auctionhouse/london/auction/lot/880001").text)

    product = json.loads(page.css('script[type="application/ld+json"]::text').get())
    assert product["@type"] == "Product"
    assert product["offers"]["price"] == 475_000
    assert product["offers"]["validFrom"] == "2026-05-05"
    assert product["address"]["postalCode"] == "RM6 4FD"
    assert page.css(".lot-number::text").get() == "Lot 1"
    assert page.css("ul.key-features li::text").getall() == [
        "Two Reception Rooms",
        "Rear Garden",
        "Chain free",
    ]
    assert page.css(".auction-date::text").get() == "Auction Date: Tuesday 5th May 2026"


def test_auctionhouse_branch_comes_from_the_sale_then_its_title_then_its_lots() -> None:
    untitled = dataclasses.replace(LONDON_SALE, branch="", name="Spring property sale")
    welsh_home = make_property(3, location=make_location(region="Wales", town="Cardiff"))

    assert branch_of(SOUTH_EAST_SALE, []) == "southeast"
    assert branch_of(dataclasses.replace(untitled, name="Auction House North West"), []) == (
        "northwest"
    )
    assert branch_of(untitled, [make_lot(untitled, 1, prop=welsh_home)]) == "wales"
    assert branch_of(untitled, []) == "national"


def test_auctionhouse_unknown_lot_is_a_404_page() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())

    response = client.get("/auctionhouse/london/auction/lot/123")

    assert response.status_code == 404
    assert "No lot 123" in response.text


def test_auctionhouse_catalogues_of_the_generated_market_link_pages_that_resolve() -> None:
    client, _ = sandbox_client("auctionhouse", auctionhouse_routes, real_market())

    calendar = Selector(client.get("/auctionhouse/auction/future-auction-dates").text)
    first_catalogue = calendar.css("table a::attr(href)").get()
    catalogue = Selector(client.get(f"/auctionhouse{first_catalogue}").text)
    lot_href = catalogue.css("a.home-lot-wrapper-link::attr(href)").get()
    lot = client.get(f"/auctionhouse{lot_href}")

    assert re.fullmatch(r"/[a-z]+/auction/lots/\d+", first_catalogue)
    assert re.fullmatch(r"/[a-z]+/auction/lot/\d+", lot_href)
    assert catalogue.css(".image-sticker::text").get() == "Lot 1"
    assert lot.status_code == 200
    assert Selector(lot.text).css(".lot-number::text").get() == "Lot 1"


def test_auctionhouse_changed_structure_drops_the_card_classes() -> None:
    client, context = sandbox_client("auctionhouse", auctionhouse_routes, auctionhouse_market())
    context.faults.add(FaultSpec("auctionhouse", "changed_structure"))

    page = Selector(client.get(catalogue_path(LONDON_SALE, "london")).text)

    assert page.css("div.lot-search-result") == []
    assert len(page.css("div.lot-card")) == 3
