"""The auction parsers against the real Allsop captures, hand-made Auction House pages and the
sandbox's Allsop API and Auction House catalogues.

Real captures are read in place from ../shared/fixtures and checked against the values they
hold. Sandbox tests fetch over HTTP and compare the parsed lots with the market's own lots.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from property_pipeline.sandbox import auctions as sandbox_auctions
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import Auction
from property_pipeline.sandbox.model import Listing
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.listing import ParseError
from property_pipeline.sources.parsers.auctions import (
    byline_type,
    count_rooms,
    parse_allsop_auction,
    parse_allsop_search,
    parse_auctionhouse_catalogue,
    parse_auctionhouse_lot,
)
from property_pipeline_tests.sandbox.support import read_capture
from property_pipeline_tests.sources.support import all_pages

ALLSOP_SEARCH = "auctions/allsop_api_search_R260430_slice5lots_2026-04.json"
ALLSOP_AUCTION = "auctions/allsop_api_auctions_R260430_2026-04.json"
SANDBOX_DAY = dt.date(2026, 3, 2)


# ---------------------------------------------------------------------------------------------
# Real Allsop captures
# ---------------------------------------------------------------------------------------------


def test_allsop_slice_lot_1_is_21_bexley_gardens_guide_200000_freehold_on_29_april(
    shared_fixtures: Path,
) -> None:
    page = parse_allsop_search(read_capture(shared_fixtures, ALLSOP_SEARCH))

    assert (page.source, page.format, page.total_results) == ("allsop", "allsop_search", 5)
    assert [lot.lot_number for lot in page.listings] == [1, 2, 3, 4, 5]
    lot = page.listings[0]
    assert lot.source_id == "9ac2cf22-1e22-11f1-80bb-0242ac110002"
    assert lot.listing_type == "auction_lot"
    assert lot.address == "21 Bexley Gardens, Chadwell Heath, Romford, Essex, RM6 4FD"
    assert (lot.postcode, lot.outcode) == ("RM6 4FD", "RM6")
    assert (lot.price, lot.price_qualifier) == (200000, "guide")
    assert lot.tenure == "freehold"
    # 1777417200000 ms is 23:00 UTC on the 28th: midnight of the 29th in London (BST).
    assert lot.auction_date == dt.date(2026, 4, 29)
    assert (lot.latitude, lot.longitude) == (51.577114761326, 0.11546743994838)
    assert lot.summary == "VACANT - Freehold Link Semi Detached House"
    assert (lot.property_type, lot.property_sub_type) == (
        "semi_detached",
        "Link Semi Detached House",
    )
    # "Bedroom with ensuite Shower Room, Two further Bedrooms, Bathroom"
    assert (lot.bedrooms, lot.bathrooms) == (3, 1)
    assert lot.key_features[0] == "Ground Floor - Two Reception Rooms, Kitchen"
    assert lot.key_features[-1] == "**Virtual Tour available below**"
    assert lot.first_listed_at == dt.date(2026, 3, 12)
    assert lot.agent == "Allsop"
    assert lot.url == (
        "https://www.allsop.co.uk/lot-overview/"
        "vacant-freehold-link-semi-detached-house-in-romford/r260430-098"
    )


def test_allsop_slice_buildings_are_typed_by_how_they_are_arranged(shared_fixtures: Path) -> None:
    lots = parse_allsop_search(read_capture(shared_fixtures, ALLSOP_SEARCH)).listings

    assert [(lot.lot_number, lot.property_type, lot.price) for lot in lots] == [
        (1, "semi_detached", 200000),
        (2, "semi_detached", 200000),
        (3, "mixed_use", 480000),  # six studio flats and a retail unit
        (4, "hmo", 300000),  # nine letting rooms
        (5, "hmo", 600000),  # eight studio rooms and one flat
    ]
    # Multi-unit schedules give no single bedroom count.
    assert [lot.bedrooms for lot in lots] == [3, 3, None, None, None]
    assert {lot.postcode for lot in lots} == {
        "RM6 4FD",
        "SG12 7DW",
        "NW2 3JG",
        "CO15 1JN",
        "NW10 8TA",
    }


def test_allsop_auction_capture_puts_the_sale_facts_in_extra(shared_fixtures: Path) -> None:
    page = parse_allsop_auction(read_capture(shared_fixtures, ALLSOP_AUCTION))

    assert (page.format, page.listings) == ("allsop_auction", [])
    assert page.extra["auction_id"] == "16fe8330-8a60-11f0-a081-0242ac110002"
    assert page.extra["reference"] == "R260430"
    assert page.extra["name"] == "Residential - April- 2026"
    assert page.extra["auction_date"] == dt.date(2026, 4, 29)
    assert page.extra["second_day"] == dt.date(2026, 4, 30)
    assert (page.extra["auction_type"], page.extra["lots_sold"]) == ("Live Stream", 6)
    assert page.extra["value_sold"] == 1837000
    assert page.extra["next_auction"] == "27th and 28th May 2026"


# ---------------------------------------------------------------------------------------------
# Hand-made pages and records
# ---------------------------------------------------------------------------------------------


def allsop_lot(**changes: object) -> dict[str, object]:
    lot: dict[str, object] = {
        "allsop_lotid": "11111111-2222-3333-4444-555555555555",
        "lot_number": 12,
        "reference": "R260107 041",
        "allsop_address": "Flat 4, 9 Mill Lane, Leeds, West Yorkshire, LS6 2AB",
        "postcode": "LS6 2AB",
        "town": "Leeds",
        "main_byline": "VACANT - Leasehold Second Floor Flat",
        "property_tenure": "Leasehold",
        "guide_price_lower": 95000,
        "guide_price_text": "£95,000+",
        "guide_price_is_reduced": True,
        "lot_status": "Available",
        "auction_date": 1767744000000,  # 2026-01-07T00:00Z: midnight in London in winter
        "location": {"lat": "53.8", "lon": "-1.56"},
        "features": ["Second Floor - Two Bedrooms, Bathroom"],
        "tenancy_table": json.dumps({"rows": [{"accom": ["Two Bedrooms, Bathroom"]}]}),
        "market_from_date": "2025-12-01 10:00:00",
    }
    return lot | changes


def test_allsop_lot_in_winter_keeps_its_date_and_a_reduced_guide_is_the_update() -> None:
    body = json.dumps({"data": {"results": [allsop_lot()], "total": 1}, "search-uuid": "x"})

    [lot] = parse_allsop_search(body).listings

    assert lot.auction_date == dt.date(2026, 1, 7)
    assert (lot.tenure, lot.property_type, lot.bedrooms) == ("leasehold", "flat", 2)
    assert lot.update_reason == "price_reduced"
    assert (lot.latitude, lot.longitude) == (53.8, -1.56)


def test_allsop_lot_with_a_result_reports_it_as_the_update() -> None:
    body = json.dumps({"data": {"results": [allsop_lot(lot_status="Sold Prior")], "total": 1}})

    page = parse_allsop_search(body)

    assert page.listings[0].update_reason == "sold_prior"
    assert page.extra["lot_statuses"] == {"11111111-2222-3333-4444-555555555555": "Sold Prior"}


def test_allsop_search_links_the_next_page_while_lots_remain() -> None:
    body = json.dumps({"data": {"results": [allsop_lot()], "total": 45}})
    url = "https://www.allsop.co.uk/api/search?auction_id=abc&page=2&react"

    page = parse_allsop_search(body, url)

    assert page.page_size == 20
    assert page.next_page_url == "https://www.allsop.co.uk/api/search?auction_id=abc&react&page=3"
    last = parse_allsop_search(body, url.replace("page=2", "page=3"))
    assert last.next_page_url is None


@pytest.mark.parametrize(
    ("text", "bedrooms", "bathrooms"),
    [
        ("Bedroom with ensuite Shower Room, Two further Bedrooms, Bathroom", 3, 1),
        ("Three Bedrooms, Bathroom", 3, 1),
        ("4 Bedrooms, 2 Bathroom(s), Kitchen", 4, 2),
        ("Two Reception Rooms, Kitchen", None, None),
        ("Bedrooms, Bathrooms", None, None),
    ],
)
def test_rooms_are_counted_from_accommodation_wording(
    text: str, bedrooms: int | None, bathrooms: int | None
) -> None:
    assert (count_rooms(text, "bedroom"), count_rooms(text, "bathroom")) == (bedrooms, bathrooms)


def test_byline_type_drops_the_status_and_the_tenure() -> None:
    assert byline_type("VACANT - Freehold Link Semi Detached House") == "Link Semi Detached House"
    assert byline_type("INVESTMENT - Share of Freehold Flat") == "Flat"
    assert byline_type("Mixed Use Property") == "Mixed Use Property"


def catalogue_card(lot_id: str, lot: int, guide: str, byline: str, address: str) -> str:
    return (
        '<div class="col-sm-12 col-md-6 col-lg-4 lot-search-result">'
        f'<a class="home-lot-wrapper-link" href="/eastanglia/auction/lot/{lot_id}">'
        f'<div class="lot-image-wrapper"><div class="image-sticker">Lot {lot}</div></div>'
        f'<div class="grid-view-guide">{guide}</div>'
        f'<div class="summary-info-wrapper"><p class="fw-bold blue-text">{byline}</p>'
        f'<p class="fw-medium blue-text grid-address">{address}</p></div></a></div>'
    )


CATALOGUE = (
    "<html><head><title>Lots</title></head><body><main>"
    '<h1 class="auction-title">Auction House East Anglia auction, Wednesday 29th April 2026</h1>'
    '<p class="results-count">Showing 1 - 2 of 26 lots</p><div class="row lot-search-results">'
    + catalogue_card(
        "88421",
        47,
        "*Guide | &pound;475,000+ (plus fees)",
        "4 Bed Detached House",
        "12 Station Road, Ely, CB7 4BS",
    )
    + catalogue_card(
        "88422", 48, "Postponed", "Block of 6 Flats", "1-6 Quay Court, Norwich, NR1 1QQ"
    )
    + '</div><nav><a class="page-link" rel="next" href="?page=2">Next</a></nav>'
    + "</main></body></html>"
)


def test_auctionhouse_catalogue_cards_give_guide_lot_number_type_and_postcode() -> None:
    url = "https://www.auctionhouse.co.uk/eastanglia/auction/lots/5120"

    page = parse_auctionhouse_catalogue(CATALOGUE, url)

    assert (page.format, page.total_results, page.page_size) == ("auctionhouse_catalogue", 26, 2)
    assert (
        page.next_page_url == "https://www.auctionhouse.co.uk/eastanglia/auction/lots/5120?page=2"
    )
    house, block = page.listings
    assert house.source_id == "88421"
    assert house.url == "https://www.auctionhouse.co.uk/eastanglia/auction/lot/88421"
    assert (house.lot_number, house.price, house.price_qualifier) == (47, 475000, "guide")
    assert (house.property_type, house.bedrooms) == ("detached", 4)
    assert (house.postcode, house.outcode) == ("CB7 4BS", "CB7")
    assert house.auction_date == dt.date(2026, 4, 29)
    assert house.agent == "Auction House East Anglia"
    assert (block.lot_number, block.price, block.update_reason) == (48, None, "postponed")
    assert block.property_type == "block_of_flats"
    assert page.extra["lot_statuses"] == {"88421": "Available", "88422": "Postponed"}


def test_auctionhouse_catalogue_whose_cards_were_renamed_is_refused() -> None:
    redesigned = CATALOGUE.replace('lot-search-result"', 'lot-card"')

    with pytest.raises(ParseError, match="links 2 lots but 0 lot cards"):
        parse_auctionhouse_catalogue(redesigned)


LOT_PAGE = (
    '<html><head><script type="application/ld+json">'
    + json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "12 Station Road, Ely, CB7 4BS",
            "description": "A detached house needing updating.",
            "sku": "47",
            "productID": "88421",
            "image": ["/1.jpg", "/2.jpg"],
            "offers": {"@type": "Offer", "price": 475000, "validFrom": "2026-04-29"},
            "address": {"@type": "PostalAddress", "postalCode": "CB7 4BS"},
        }
    )
    + "</script></head><body>"
    '<div class="lot-header"><span class="lot-number">Lot 47</span>'
    '<h1 class="lot-address">12 Station Road, Ely, CB7 4BS</h1>'
    '<p class="lot-byline fw-bold">4 Bed Detached House</p></div>'
    '<div class="lot-guide">*Guide | £475,000+ (plus fees)</div><div class="lot-status">Sold</div>'
    '<ul class="key-features"><li>Four bedrooms</li><li>Large garden</li></ul>'
    '<div class="lot-description"><p>First paragraph.</p><p>Second   paragraph.</p></div>'
    '<table class="lot-details"><tr><th>Tenure</th><td>Freehold</td></tr>'
    "<tr><th>Tenancy</th><td>Vacant Possession</td></tr></table></body></html>"
)


def test_auctionhouse_lot_page_reads_particulars_and_json_ld() -> None:
    page = parse_auctionhouse_lot(
        LOT_PAGE, "https://www.auctionhouse.co.uk/eastanglia/auction/lot/88421"
    )

    [lot] = page.listings
    assert (lot.source_id, lot.lot_number) == ("88421", 47)
    assert (lot.price, lot.price_qualifier) == (475000, "guide")
    assert lot.update_reason == "sold"
    assert (lot.tenure, lot.postcode, lot.bedrooms) == ("freehold", "CB7 4BS", 4)
    assert lot.description == "First paragraph.\n\nSecond paragraph."
    assert lot.key_features == ["Four bedrooms", "Large garden"]
    assert lot.summary == "A detached house needing updating."
    assert (lot.auction_date, lot.image_count) == (dt.date(2026, 4, 29), 2)
    assert page.extra == {
        "lot_status": "Sold",
        "tenancy": "Vacant Possession",
        "current_rent": None,
    }


@pytest.mark.parametrize(
    ("parser", "body", "message"),
    [
        (parse_allsop_search, '{"data": {"lots": [], "count": 0}}', "data.*results"),
        (parse_allsop_search, "<html>", "not JSON"),
        (parse_allsop_auction, '{"auction": {}}', "auctionData"),
        (parse_auctionhouse_lot, "<html><body><h1>Not found</h1></body></html>", "productID"),
    ],
)
def test_responses_that_are_not_the_format_raise_a_parse_error_naming_it(
    parser: object, body: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        parser(body)  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(date=SANDBOX_DAY)) as server:
        yield server


def biggest_upcoming(server: SandboxServer, house: str) -> tuple[Auction, list[Listing]]:
    market = server.context.market
    upcoming = [
        (auction, list(market.lots(auction.auction_id, SANDBOX_DAY)))
        for auction in market.auctions(house, SANDBOX_DAY)
        if auction.auction_date >= SANDBOX_DAY
    ]
    return max(upcoming, key=lambda pair: len(pair[1]))


def status_update(lot: Listing) -> str | None:
    assert lot.auction is not None
    status = lot.auction.lot_status
    if status != "Available":
        return re.sub(r"\W+", "_", status.lower())
    return "price_reduced" if lot.reduced_on else None


def test_sandbox_allsop_search_gives_every_lot_of_the_sale_with_its_values(
    sandbox: SandboxServer,
) -> None:
    auction, lots = biggest_upcoming(sandbox, "allsop")
    assert len(lots) > 20, "the sale must fill more than one API page"
    url = f"{sandbox.url('allsop')}/api/search?auction_id={auction.auction_id}&page=1&react"

    pages = all_pages(url, parse_allsop_search)

    parsed = [listing for page in pages for listing in page.listings]
    assert [listing.source_id for listing in parsed] == [lot.source_id for lot in lots]
    assert {page.total_results for page in pages} == {len(lots)}
    for listing, lot in zip(parsed, lots, strict=True):
        assert lot.auction is not None
        prop = lot.property
        assert (listing.lot_number, listing.price) == (
            lot.auction.lot_number,
            lot.auction.guide_price_lower,
        )
        assert (listing.auction_date, listing.tenure) == (lot.auction.auction_date, prop.tenure)
        assert (listing.postcode, listing.latitude) == (prop.postcode, prop.latitude)
        assert listing.property_type == prop.property_type
        if prop.units == 1:
            assert (listing.bedrooms, listing.bathrooms) == (prop.bedrooms, prop.bathrooms)
        assert listing.first_listed_at == lot.first_listed
        assert listing.update_reason == status_update(lot)


def test_sandbox_allsop_auction_gives_the_sale_facts(sandbox: SandboxServer) -> None:
    auction, _ = biggest_upcoming(sandbox, "allsop")
    url = f"{sandbox.url('allsop')}/api/auctions/{auction.auction_id}?react"

    page = parse_allsop_auction(httpx.get(url).text, url)

    assert page.extra["auction_id"] == auction.auction_id
    assert page.extra["reference"] == auction.reference
    assert page.extra["auction_date"] == auction.auction_date
    assert (page.extra["venue"], page.extra["auction_type"]) == (
        auction.venue,
        auction.auction_type,
    )


def test_sandbox_auctionhouse_catalogue_gives_every_lot_over_its_pages(
    sandbox: SandboxServer,
) -> None:
    auction, lots = biggest_upcoming(sandbox, "auctionhouse")
    assert len(lots) > 24, "the catalogue must fill more than one page"
    branch = sandbox_auctions.named_branch(auction)
    number = sandbox_auctions.auction_number(auction)
    url = f"{sandbox.url('auctionhouse')}/{branch}/auction/lots/{number}"

    pages = all_pages(url, parse_auctionhouse_catalogue)

    parsed = [listing for page in pages for listing in page.listings]
    assert [listing.source_id for listing in parsed] == [lot.source_id for lot in lots]
    for listing, lot in zip(parsed, lots, strict=True):
        assert lot.auction is not None
        available = lot.auction.lot_status == "Available"
        assert listing.lot_number == lot.auction.lot_number
        assert listing.price == (lot.auction.guide_price_lower if available else None)
        assert listing.update_reason == (None if available else status_update(lot))
        assert (listing.postcode, listing.auction_date) == (
            lot.property.postcode,
            auction.auction_date,
        )
        assert listing.property_type == lot.property.property_type
        assert listing.url == f"{sandbox.url('auctionhouse')}/{branch}/auction/lot/{lot.source_id}"


def test_sandbox_auctionhouse_lot_pages_carry_the_lots_particulars(
    sandbox: SandboxServer,
) -> None:
    auction, lots = biggest_upcoming(sandbox, "auctionhouse")
    branch = sandbox_auctions.named_branch(auction)

    for lot in lots[:4]:
        url = f"{sandbox.url('auctionhouse')}/{branch}/auction/lot/{lot.source_id}"
        [listing] = parse_auctionhouse_lot(httpx.get(url).text, url).listings
        assert lot.auction is not None
        assert (listing.source_id, listing.lot_number) == (lot.source_id, lot.auction.lot_number)
        assert listing.price == lot.auction.guide_price_lower
        assert (listing.tenure, listing.postcode) == (lot.property.tenure, lot.property.postcode)
        assert listing.key_features == list(lot.key_features)
        assert listing.summary == lot.summary
        assert listing.description is not None
        assert listing.description.split() == lot.description.split()
        assert listing.auction_date == auction.auction_date
