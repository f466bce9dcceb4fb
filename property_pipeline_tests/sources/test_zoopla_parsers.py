"""The Zoopla parsers against the real captures, small hand-made pages and the sandbox.

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

from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import MarketConfig
from property_pipeline.sandbox.model import Listing, Location
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.listing import ParsedPage, ParseError
from property_pipeline.sources.parsers.zoopla import (
    parse_next_data_detail,
    parse_next_data_search,
    parse_rsc_detail,
    parse_rsc_search,
    resolve_references,
    rsc_rows,
)
from property_pipeline_tests.sandbox.support import read_capture
from property_pipeline_tests.sources.support import all_pages, by_id

HERNE_BAY_PAGE = "zoopla/detail_RSC_71365505_herne_bay_2026-02_browser_pws.html"
E14_SEARCH_PAGE = "zoopla/search_rsc_E14_torent_2026-09_trimmed_alexremnev.html"
LONDON_ITEMS = "zoopla/nextdata_regularListingsFormatted_london_2023-11_scrapfly.json"
EALING_DETAILS = "zoopla/nextdata_listingDetails_projected_2023-11_scrapfly.json"

SANDBOX_DAY = dt.date(2026, 3, 2)
# Dense enough that the busiest outcode has more than one 25-listing Zoopla page.
SANDBOX_MARKET = MarketConfig(listings=40_000)


def push_page(stream: str) -> str:
    """A page carrying `stream` the way Next.js does: cut into self.__next_f pushes."""
    cut = [stream[i : i + 40] for i in range(0, len(stream), 40)]
    scripts = "".join(
        f"<script>self.__next_f.push([1,{json.dumps(part)}])</script>" for part in cut
    )
    start = "<script>(self.__next_f=self.__next_f||[]).push([0])</script>"
    return f"<!DOCTYPE html><html><body>{start}{scripts}</body></html>"


def text_row(row_id: str, text: str) -> str:
    return f"{row_id}:T{len(text.encode('utf-8')):x},{text}"


# ---------------------------------------------------------------------------------------------
# Real captures
# ---------------------------------------------------------------------------------------------


def test_herne_bay_rsc_detail_reads_price_rooms_and_full_postcode(shared_fixtures: Path) -> None:
    page = parse_rsc_detail(read_capture(shared_fixtures, HERNE_BAY_PAGE))

    assert (page.source, page.format, page.total_results) == ("zoopla", "zoopla_rsc_detail", 1)
    [house] = page.listings
    assert house.source_id == "71365505"
    assert house.url == "https://www.zoopla.co.uk/for-sale/details/71365505/"
    assert (house.price, house.price_qualifier) == (550000, "fixed")
    assert (house.bedrooms, house.bathrooms) == (4, 2)
    assert (house.postcode, house.outcode) == ("CT6 6DL", "CT6")
    assert house.address == "Cecil Park, Herne Bay CT6"
    assert (house.latitude, house.longitude) == (51.36907, 1.134746)
    assert (house.property_type, house.property_sub_type) == ("semi_detached", "semi_detached")
    assert house.title == "4 bed semi-detached house for sale"
    assert house.agent == "Kent Estate Agencies"
    assert house.first_listed_at == dt.date(2025, 9, 20)
    assert house.image_count == 31
    # The page says "Not available" for tenure.
    assert house.tenure == "unknown"
    assert house.lease_years_remaining is None


def test_herne_bay_description_comes_from_its_text_row_and_features_are_unescaped(
    shared_fixtures: Path,
) -> None:
    [house] = parse_rsc_detail(read_capture(shared_fixtures, HERNE_BAY_PAGE)).listings

    assert house.description is not None
    assert house.description.startswith("This exquisite Victorian Villa exudes opulence;")
    assert "<br>" not in house.description and "\n" in house.description
    assert len(house.key_features) == 10
    assert house.key_features[0] == "Extremely Attractive & Substantial Victorian Villa"
    assert house.key_features[-1] == "Rare Opportunity In A Highly Desirable Location"


def test_e14_search_keeps_the_four_regular_listings_and_the_total(shared_fixtures: Path) -> None:
    url = "https://www.zoopla.co.uk/to-rent/property/e14/?q=E14&pn=1"
    page = parse_rsc_search(read_capture(shared_fixtures, E14_SEARCH_PAGE), url)

    assert [listing.source_id for listing in page.listings] == [
        "74348552",
        "74348497",
        "48298538",
        "74348031",
    ]
    assert (page.total_results, page.page_size) == (1388, 25)
    assert page.extra["featured_skipped"] == 1 and page.extra["extended_skipped"] == 1
    assert page.next_page_url == "https://www.zoopla.co.uk/to-rent/property/e14/?q=E14&pn=2"
    balfron = page.listings[0]
    assert balfron.price == 2575
    assert (balfron.bedrooms, balfron.bathrooms) == (2, 1)
    assert balfron.address == "Balfron Tower, St Leonards Road, London E14"
    assert (balfron.outcode, balfron.postcode) == ("E14", None)
    assert balfron.url == "https://www.zoopla.co.uk/to-rent/details/74348552/"
    assert balfron.agent == "Way Of Life"
    assert balfron.first_listed_at == dt.date(2026, 9, 26)
    assert balfron.image_count == 27
    kemps_drive = page.listings[3]
    assert (kemps_drive.property_type, kemps_drive.property_sub_type) == ("terraced", "town_house")


def test_2023_search_items_give_50_listings_with_prices_rooms_and_tenure(
    shared_fixtures: Path,
) -> None:
    page = parse_next_data_search(read_capture(shared_fixtures, LONDON_ITEMS))

    assert page.format == "zoopla_next_data_search"
    assert len(page.listings) == 50
    liverpool_road = page.listings[0]
    assert liverpool_road.source_id == "65961688"
    assert (liverpool_road.price, liverpool_road.price_qualifier) == (1850000, "fixed")
    assert (liverpool_road.bedrooms, liverpool_road.bathrooms) == (5, 3)
    assert liverpool_road.tenure == "freehold"
    assert liverpool_road.outcode == "N1"
    assert (liverpool_road.latitude, liverpool_road.longitude) == (51.538237, -0.107192)
    assert liverpool_road.agent == "Dexters - Islington"
    assert liverpool_road.first_listed_at == dt.date(2023, 11, 1)
    assert liverpool_road.updated_at == dt.datetime(2023, 11, 1, 10, 42, 29)
    assert liverpool_road.update_reason == "new"
    assert liverpool_road.image_count == 14


def test_2023_search_items_map_qualifiers_tenures_and_price_cuts(shared_fixtures: Path) -> None:
    listings = parse_next_data_search(read_capture(shared_fixtures, LONDON_ITEMS)).listings
    items = by_id(ParsedPage("zoopla", "zoopla_next_data_search", listings))

    qualifiers = collections.Counter(listing.price_qualifier for listing in listings)
    assert qualifiers == {"fixed": 41, "offers_over": 4, "guide": 3, "offers_in_region_of": 2}
    tenures = collections.Counter(listing.tenure for listing in listings)
    assert tenures == {"leasehold": 38, "unknown": 6, "freehold": 3, "share_of_freehold": 3}
    reduced = items["64786680"]
    assert (reduced.price, reduced.price_qualifier) == (1000000, "offers_over")
    assert reduced.update_reason == "price_reduced"
    assert items["65957629"].property_type == "flat"  # "studio"
    assert items["65948931"].property_sub_type == "maisonette"
    # No type code at all: the title "3 bed property for sale" still classifies.
    assert items["65949168"].property_type == "other"


def test_projected_2023_details_give_the_full_postcode_from_the_taxonomy(
    shared_fixtures: Path,
) -> None:
    page = parse_next_data_detail(read_capture(shared_fixtures, EALING_DETAILS))

    [house] = page.listings
    assert house.source_id == "65901787"
    assert (house.price, house.price_qualifier) == (1610000, "fixed")
    assert (house.postcode, house.outcode) == ("W5 3HA", "W5")
    assert (house.bedrooms, house.bathrooms) == (5, 4)
    assert house.tenure == "freehold"
    assert house.property_type == "detached"
    assert house.agent == "Benham and Reeves - Beaufort Park"
    assert house.first_listed_at == dt.date(2023, 10, 24)
    assert house.image_count == 21
    assert house.key_features[:3] == ["Detached", "Immaculate Five Bedroom Home", "Chain Free"]
    assert house.description is not None and house.description.startswith("Ref# BEA230268\n")
    assert "&amp;" not in house.description and "<br" not in house.description


# ---------------------------------------------------------------------------------------------
# The stream decoder and hand-made pages
# ---------------------------------------------------------------------------------------------


def test_text_rows_are_measured_in_utf8_bytes_and_references_resolve() -> None:
    description = "Café £250,000 — two lines<br>second"
    stream = (
        '1:"$Sreact.fragment"\n'
        '2:I[77,["77","static/chunks/77.js"],"ListingSummary"]\n'
        + text_row("8f", description)
        + '5:["$","div",null,{"listing":{"listingId":"1","description":"$8f","note":"$$5"}}]\n'
    )
    rows = rsc_rows(stream)

    assert rows["8f"] == description
    assert rows["2"] == [77, ["77", "static/chunks/77.js"], "ListingSummary"]
    listing = resolve_references(rows["5"][3]["listing"], rows)
    assert listing == {"listingId": "1", "description": description, "note": "$5"}


def test_a_stream_without_row_framing_is_read_as_bare_json() -> None:
    rows = rsc_rows('{"regularListingsFormatted": [], "pagination": {"totalResults": 0}}')

    assert list(rows.values()) == [
        {"regularListingsFormatted": [], "pagination": {"totalResults": 0}}
    ]


def listing_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "__typename": "ListingData",
        "listingId": "70000001",
        "displayAddress": "Amhurst Road, London E8",
        "title": "2 bed flat for sale",
        "propertyType": "flat",
        "section": "for-sale",
        "detailedDescription": "$a",
        "counts": {"numBedrooms": 2, "numBathrooms": 1},
        "location": {
            "postalCode": "E8 1JH",
            "outcode": "E8",
            "coordinates": {"latitude": 51.5501, "longitude": -0.0642},
        },
        "pricing": {
            "internalValue": 450000,
            "label": "£450,000",
            "priceQualifierLabel": "Offers over",
        },
        "tenure": "leasehold",
        "ntsInfo": [
            {"key": "tenure", "title": "Tenure", "value": "Leasehold"},
            {"key": "remaining_lease", "title": "Time remaining on lease", "value": "97 years"},
            {"key": "ground_rent", "title": "Ground rent", "value": "£250 per year"},
            {"key": "service_charge", "title": "Service charge", "value": "£1,840 per year"},
        ],
        "features": {"bullets": ["Two double bedrooms", "Share of garden &amp; shed"]},
        "propertyImage": [{"filename": "a.jpg"}, {"filename": "b.jpg"}],
        "branchV2": {"branchName": "Hackney Homes"},
        "publishedOn": "2026-02-27T09:15:00",
    }
    return data | changes


def test_rsc_detail_reads_lease_ground_rent_and_service_charge_from_nts_info() -> None:
    stream = (
        text_row("a", "Bright flat.<br>Near the park.")
        + "3:"
        + json.dumps(["$", "$L2", None, listing_data()])
        + "\n"
    )

    [flat] = parse_rsc_detail(push_page(stream)).listings

    assert (flat.price, flat.price_qualifier) == (450000, "offers_over")
    assert flat.tenure == "leasehold"
    assert (flat.lease_years_remaining, flat.ground_rent, flat.service_charge) == (97, 250, 1840)
    assert flat.description == "Bright flat.\nNear the park."
    assert flat.key_features == ["Two double bedrooms", "Share of garden & shed"]
    assert (flat.postcode, flat.image_count, flat.agent) == ("E8 1JH", 2, "Hackney Homes")


def test_a_listing_whose_key_is_written_as_an_escape_is_still_found() -> None:
    # Only rows whose text spells listingId are decoded and searched; a \u escape spells it too.
    row = json.dumps(["$", "$L2", None, listing_data()])
    stream = (
        text_row("a", "Bright flat.")
        + '1:["$","div",null,{"children":"no listing here"}]\n'
        + "3:"
        + row.replace('"listingId"', '"listing\\u0049d"')
        + "\n"
    )

    [flat] = parse_rsc_detail(push_page(stream)).listings

    assert (flat.source_id, flat.price, flat.description) == ("70000001", 450000, "Bright flat.")


def test_detail_url_is_resolved_under_the_mount_the_page_came_from() -> None:
    stream = text_row("a", "x") + "3:" + json.dumps(listing_data()) + "\n"
    page_url = "http://127.0.0.1:8123/zoopla/for-sale/details/70000001/"

    [flat] = parse_rsc_detail(push_page(stream), page_url).listings

    assert flat.url == "http://127.0.0.1:8123/zoopla/for-sale/details/70000001/"


def test_next_data_detail_page_reads_listing_details() -> None:
    details = listing_data(detailedDescription="<p>Quiet street.</p>", tenure=None)
    next_data = {"props": {"pageProps": {"listingDetails": details}}, "page": "/details"}
    page_html = (
        '<html><body><script id="__NEXT_DATA__" type="application/json">'
        f"{json.dumps(next_data)}</script></body></html>"
    )

    [flat] = parse_next_data_detail(page_html).listings

    assert flat.source_id == "70000001"
    assert flat.tenure == "leasehold"  # from the ntsInfo list when `tenure` is null
    assert flat.description == "Quiet street."


def test_next_data_search_page_reads_items_pagination_and_poa() -> None:
    items = [
        {
            "listingId": "6001",
            "price": "POA",
            "priceUnformatted": 900000,
            "priceTitle": "",
            "propertyType": "detached",
            "address": "Hill Rise, Richmond TW10 6UQ",
            "features": [{"iconId": "bed", "content": 5}],
            "tags": [{"content": "Freehold"}],
            "publishedOn": "3rd Jan 2022",
        }
    ]
    next_data = {
        "props": {
            "pageProps": {
                "regularListingsFormatted": items,
                "pagination": {"pageNumber": 1, "pageNumberMax": 1, "totalResults": 1},
            }
        }
    }
    page_html = f'<script id="__NEXT_DATA__">{json.dumps(next_data)}</script>'

    page = parse_next_data_search(page_html, "https://www.zoopla.co.uk/for-sale/property/tw10/")

    [house] = page.listings
    assert (house.price, house.price_qualifier) == (900000, "poa")
    assert (house.postcode, house.outcode) == ("TW10 6UQ", "TW10")
    assert (house.bedrooms, house.tenure) == (5, "freehold")
    assert house.first_listed_at == dt.date(2022, 1, 3)
    assert (page.total_results, page.next_page_url) == (1, None)


@pytest.mark.parametrize(
    ("parser", "body", "message"),
    [
        (parse_rsc_search, "<html><body>nothing here</body></html>", "self.__next_f.push"),
        (parse_rsc_search, push_page('1:{"pageInfo":{"totalResults":3}}\n'), "regularListings"),
        (parse_rsc_detail, push_page('1:{"id":"5","priceDetails":{}}\n'), "listingId"),
        (parse_next_data_search, "<html><body></body></html>", "__NEXT_DATA__"),
        (parse_next_data_detail, '{"props": {"pageProps": {}}}', "listingDetails"),
    ],
)
def test_pages_that_are_not_the_format_raise_a_parse_error_naming_what_is_missing(
    parser: object, body: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        parser(body)  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(market=SANDBOX_MARKET, date=SANDBOX_DAY)) as server:
        yield server


def busiest_location(server: SandboxServer) -> tuple[Location, list[Listing]]:
    market = server.context.market
    found = [
        (location, list(market.search(SANDBOX_DAY, "zoopla", outcode=location.outcode)))
        for location in market.locations()
    ]
    return max(found, key=lambda pair: len(pair[1]))


def expected_type(listing: Listing) -> str:
    # Zoopla has no HMO type: the stand-in lists an HMO as the terraced house it is.
    kind = listing.property.property_type
    return "terraced" if kind == "hmo" else kind


def test_sandbox_search_pages_give_exactly_the_markets_listings(sandbox: SandboxServer) -> None:
    location, served = busiest_location(sandbox)
    assert len(served) > 25, "the market must fill more than one page"
    url = f"{sandbox.url('zoopla')}/for-sale/property/{location.zoopla_slug}/"

    pages = all_pages(url, parse_rsc_search)

    assert len(pages) == 2
    assert [page.total_results for page in pages] == [len(served)] * 2
    assert len(pages[0].listings) == 25
    ids = [listing.source_id for page in pages for listing in page.listings]
    assert ids == [listing.source_id for listing in served]


def test_sandbox_search_cards_carry_the_markets_values(sandbox: SandboxServer) -> None:
    location, served = busiest_location(sandbox)
    url = f"{sandbox.url('zoopla')}/for-sale/property/{location.zoopla_slug}/"
    parsed = {
        item.source_id: item for page in all_pages(url, parse_rsc_search) for item in page.listings
    }

    for listing in served:
        card = parsed[listing.source_id]
        prop = listing.property
        assert (card.price, card.price_qualifier) == (listing.price, listing.price_qualifier)
        assert (card.bedrooms, card.bathrooms) == (prop.bedrooms, prop.bathrooms)
        assert (card.tenure, card.outcode) == (prop.tenure, location.outcode)
        assert card.property_type == expected_type(listing)
        assert (card.latitude, card.longitude) == (prop.latitude, prop.longitude)
        assert (card.agent, card.image_count) == (listing.agent_name, listing.image_count)
        assert card.first_listed_at == listing.first_listed
        assert card.url == f"{sandbox.url('zoopla')}/for-sale/details/{listing.source_id}/"


def test_sandbox_detail_pages_carry_the_markets_values(sandbox: SandboxServer) -> None:
    _, served = busiest_location(sandbox)
    leasehold = [listing for listing in served if listing.property.ground_rent is not None]
    assert leasehold, "the busiest outcode has a leasehold listing with ground rent"

    for listing in [served[0], *leasehold[:3]]:
        url = f"{sandbox.url('zoopla')}/for-sale/details/{listing.source_id}/"
        [detail] = parse_rsc_detail(httpx.get(url).text, url).listings
        prop = listing.property
        assert detail.source_id == listing.source_id
        assert detail.price == listing.price
        assert (detail.postcode, detail.address) == (
            prop.postcode,
            f"{prop.street}, {prop.location.town} {prop.location.outcode}",
        )
        assert (detail.bedrooms, detail.bathrooms, detail.tenure) == (
            prop.bedrooms,
            prop.bathrooms,
            prop.tenure,
        )
        assert (detail.lease_years_remaining, detail.ground_rent, detail.service_charge) == (
            prop.lease_years_remaining,
            prop.ground_rent,
            prop.service_charge,
        )
        assert detail.key_features == list(listing.key_features)
        assert detail.description is not None
        assert detail.description.split() == listing.description.split()
        assert detail.url == url
