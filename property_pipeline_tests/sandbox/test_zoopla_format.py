"""The Zoopla stand-in against the real captures: RSC framing, and listing objects with the
real keys, nesting and value types.

Pages come from hand-built listings through `zoopla.routes(ctx)` mounted in a throwaway app,
with a real SandboxContext over the shared fake market.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from property_pipeline.sandbox import zoopla
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.model import EpcCertificate, Listing, PriceChange, Property
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

DETAIL = "zoopla/detail_RSC_71365505_herne_bay_2026-02_browser_pws.html"
SEARCH_2026 = "zoopla/search_rsc_E14_torent_2026-09_trimmed_alexremnev.html"
SEARCH_2023 = "zoopla/nextdata_regularListingsFormatted_london_2023-11_scrapfly.json"
SEARCH = "/zoopla/for-sale/property/romford/rm6/"
PUSH = re.compile(r"<script>self\.__next_f\.push\((\[.*?\])\)</script>", re.S)


# ---------------------------------------------------------------------------------------------
# Reading RSC pages
# ---------------------------------------------------------------------------------------------


def pushed_strings(page: str) -> list[str]:
    """The strings of every `self.__next_f.push([1, "…"])` in a page, in order."""
    pushes = [json.loads(raw) for raw in PUSH.findall(page)]
    return [push[1] for push in pushes if push[0] == 1]


def rsc_rows(stream: str) -> dict[str, tuple[str, str]]:
    """The stream's rows by id as (kind, payload): "text" rows are read by their UTF-8 byte
    length, every other row runs to the end of its line."""
    data = stream.encode("utf-8")
    rows: dict[str, tuple[str, str]] = {}
    at = 0
    while at < len(data):
        colon = data.index(b":", at)
        row_id = data[at:colon].decode()
        at = colon + 1
        if data[at : at + 1] == b"T":
            comma = data.index(b",", at)
            length = int(data[at + 1 : comma], 16)
            rows[row_id] = ("text", data[comma + 1 : comma + 1 + length].decode("utf-8"))
            at = comma + 1 + length
        else:
            end = data.index(b"\n", at)
            rows[row_id] = ("line", data[at:end].decode("utf-8"))
            at = end + 1
    return rows


def dicts_with(value: Any, *keys: str) -> list[dict[str, Any]]:
    """Every dict anywhere in `value` that has all of `keys`, searched depth first."""
    found = []
    if isinstance(value, dict):
        if all(key in value for key in keys):
            found.append(value)
        for item in value.values():
            found += dicts_with(item, *keys)
    elif isinstance(value, list):
        for item in value:
            found += dicts_with(item, *keys)
    return found


def json_rows(rows: dict[str, tuple[str, str]]) -> list[Any]:
    """The rows that hold JSON values (React trees and props)."""
    return [
        json.loads(payload)
        for kind, payload in rows.values()
        if kind == "line" and payload[:1] in "[{"
    ]


def listing_objects(page: str) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """The `ListingData` objects (listingId with pricing) of a detail page, and its rows."""
    rows = rsc_rows("".join(pushed_strings(page)))
    return [
        found for value in json_rows(rows) for found in dicts_with(value, "listingId", "pricing")
    ], rows


def search_props_of(page: str) -> dict[str, Any]:
    """The props holding `regularListingsFormatted` on a search page."""
    rows = rsc_rows("".join(pushed_strings(page)))
    found = [
        props
        for value in json_rows(rows)
        for props in dicts_with(value, "regularListingsFormatted")
    ]
    assert len(found) == 1, f"expected one results component, found {len(found)}"
    return found[0]


def zoopla_client(
    listings: list[Listing],
    *,
    changed: bool = False,
    certificates: Sequence[EpcCertificate] = (),
) -> TestClient:
    """A client for the Zoopla stand-in over these listings (and EPC certificates), on
    PORTAL_DAY, with the changed-structure fault on when `changed`."""
    zoopla_listings = [dataclasses.replace(listing, source="zoopla") for listing in listings]
    market = FakeMarket(zoopla_listings, certificates=list(certificates))
    faults = (FaultSpec("zoopla", "changed_structure"),) if changed else ()
    client, _ = sandbox_client("zoopla", zoopla.routes, market, day=PORTAL_DAY, faults=faults)
    return client


def certificate_for(prop: Property, uprn: int) -> EpcCertificate:
    """An EPC lodged for `prop` under `uprn`, the number Zoopla shows beside the listing."""
    return EpcCertificate(
        certificate_number="0300-2784-0510-2526-4015",
        property=prop,
        uprn=uprn,
        lodged_on=dt.date(2019, 6, 3),
        inspected_on=dt.date(2019, 5, 30),
        current_band="D",
        potential_band="B",
        current_score=61,
        potential_score=84,
        floor_area_sqm=prop.floor_area_sqm,
        built_form="Mid-Terrace",
        property_type_label="Flat",
        construction_age_band="England and Wales: 1930-1949",
        main_fuel="mains gas (not community)",
    )


def detail_path(listing: Listing) -> str:
    """The stand-in's detail URL for a listing."""
    return f"/zoopla/for-sale/details/{listing.source_id}/"


# ---------------------------------------------------------------------------------------------
# Detail pages
# ---------------------------------------------------------------------------------------------


def test_reader_finds_the_listing_and_its_description_in_the_real_capture(
    shared_fixtures: Path,
) -> None:
    listings, rows = listing_objects(read_capture(shared_fixtures, DETAIL))

    first = listings[0]
    kind, description = rows[first["detailedDescription"][1:]]

    assert first["listingId"] == "71365505"
    assert first["pricing"]["internalValue"] == 550_000
    assert first["location"]["postalCode"] == "CT6 6DL"
    assert kind == "text"
    assert len(description) > 1000


def test_detail_listing_has_the_shape_of_the_real_listing_data(shared_fixtures: Path) -> None:
    shape = shape_of(listing_objects(read_capture(shared_fixtures, DETAIL))[0])
    leasehold = leasehold_flat(3)
    listing = make_listing(3, property=leasehold)
    client = zoopla_client([listing], certificates=[certificate_for(leasehold, 100_023_456_003)])

    objects, _ = listing_objects(client.get(detail_path(listing)).text)

    assert len(objects) == 1
    assert shape_problems(objects[0], shape) == []


def test_detail_values_read_back_where_the_real_page_keeps_them() -> None:
    leasehold = leasehold_flat(4, bedrooms=2, postcode="RM6 4QX")
    listing = make_listing(
        4,
        property=leasehold,
        price=212_500,
        price_qualifier="offers_over",
        description="Café-style kitchen — 2 bedrooms.\n\nCommunal garden.",
    )

    client = zoopla_client([listing], certificates=[certificate_for(leasehold, 100_023_456_789)])

    objects, rows = listing_objects(client.get(detail_path(listing)).text)
    data = objects[0]
    nts = {item["key"]: item["value"] for item in data["ntsInfo"]}

    assert data["listingId"] == "170000004"
    assert data["pricing"]["internalValue"] == 212_500
    assert data["pricing"]["label"] == "£212,500"
    assert data["pricing"]["priceQualifierLabel"] == "Offers over"
    assert data["counts"]["numBedrooms"] == 2
    assert data["location"]["postalCode"] == "RM6 4QX"
    assert data["location"]["uprn"] == "100023456789"
    assert data["adTargeting"]["listingId"] == 170_000_004
    assert data["title"] == "2 bed flat for sale"
    assert nts == {
        "tenure": "Leasehold",
        "remaining_lease": "87 years",
        "ground_rent": "£250 per year",
        "service_charge": "£1,800 per year",
        "council_tax_band": "Not available",
    }
    assert rows[data["detailedDescription"][1:]] == (
        "text",
        "Café-style kitchen — 2 bedrooms.<br>Communal garden.",
    )


def test_detail_shows_no_uprn_for_a_property_without_a_certificate() -> None:
    listing = make_listing(9)

    objects, _ = listing_objects(zoopla_client([listing]).get(detail_path(listing)).text)

    assert objects[0]["location"]["uprn"] is None
    assert objects[0]["location"]["postalCode"] == "RM6 4FD"


def test_detail_stream_is_framed_and_escaped_as_the_live_pages() -> None:
    listing = make_listing(5, description="Kitchen <fitted> & utility — £5k spent.")

    page = zoopla_client([listing]).get(detail_path(listing)).text
    raw_pushes = PUSH.findall(page)

    assert page.count("(self.__next_f=self.__next_f||[]).push([0])") == 1
    assert all("<" not in raw and "&" not in raw for raw in raw_pushes)
    assert all(len(text) <= zoopla.PUSH_CHUNK for text in pushed_strings(page)[:2])
    rows = rsc_rows("".join(pushed_strings(page)))
    assert rows["0"][1].startswith('{"P":null,"b":')
    assert ("text", "Kitchen &lt;fitted&gt; &amp; utility — £5k spent.") in rows.values()


def test_withdrawn_and_unknown_listings_get_not_found() -> None:
    withdrawn = make_listing(6, status="sold")
    client = zoopla_client([withdrawn])

    assert client.get(detail_path(withdrawn)).status_code == 404
    assert client.get("/zoopla/for-sale/details/12/").status_code == 404


def test_changed_structure_hides_the_listing_from_a_strict_parser() -> None:
    listing = make_listing(7)

    page = zoopla_client([listing], changed=True).get(detail_path(listing)).text
    objects, rows = listing_objects(page)

    assert objects == []
    assert any('"priceDetails":{"internalValue":' in payload for _, payload in rows.values())


def test_detail_page_is_byte_identical_for_the_same_request() -> None:
    listing = make_listing(8)

    first = zoopla_client([listing]).get(detail_path(listing)).content
    second = zoopla_client([listing]).get(detail_path(listing)).content

    assert first == second


# ---------------------------------------------------------------------------------------------
# Search pages
# ---------------------------------------------------------------------------------------------


def real_search_items(shared_fixtures: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The real for-sale/to-rent items: 2026 (App Router) and 2023 (`__NEXT_DATA__`)."""
    recent = json.loads("".join(pushed_strings(read_capture(shared_fixtures, SEARCH_2026))))
    return recent["regularListingsFormatted"], json.loads(
        read_capture(shared_fixtures, SEARCH_2023)
    )


def test_search_item_has_the_shape_of_the_real_2026_items(shared_fixtures: Path) -> None:
    recent, older = real_search_items(shared_fixtures)
    shape = shape_of([*recent, *older])
    shape.required = set.intersection(*(set(item) for item in recent))
    reduced = make_listing(
        11,
        price=285_000,
        price_history=(
            PriceChange(PORTAL_DAY - dt.timedelta(days=50), 300_000),
            PriceChange(PORTAL_DAY, 285_000),
        ),
    )
    listings = [make_listing(10), reduced, make_listing(12, status="under_offer")]

    items = search_props_of(zoopla_client(listings).get(SEARCH).text)["regularListingsFormatted"]

    assert len(items) == 3
    assert [shape_problems(item, shape) for item in items] == [[], [], []]
    drop = next(item["priceDrop"] for item in items if item["listingId"] == "170000011")
    assert drop == {
        "percentageChangeLabel": "5.0",
        "lastPriceChangeDate": "Last reduced: 2nd Mar 2026",
    }


def test_search_page_shows_twenty_five_listings_and_real_pagination(shared_fixtures: Path) -> None:
    listings = [make_listing(number) for number in range(1, 61)]
    client = zoopla_client(listings)

    first = search_props_of(client.get(SEARCH).text)
    third = search_props_of(client.get(SEARCH + "?pn=3").text)

    real_pagination = json.loads(
        "".join(pushed_strings(read_capture(shared_fixtures, SEARCH_2026)))
    )["pagination"]
    assert set(real_pagination) <= set(first["pagination"])
    assert len(first["regularListingsFormatted"]) == 25
    assert first["pagination"] == {
        "pageNumber": 1,
        "pageNumberMax": 3,
        "totalResults": 60,
        "totalResultsWasLimited": False,
    }
    assert len(third["regularListingsFormatted"]) == 10
    assert third["regularListingsFormatted"][0]["listingUris"]["detail"].startswith(
        "/for-sale/details/"
    )


def test_search_stops_at_page_forty_but_keeps_the_true_total() -> None:
    listings = [make_listing(number) for number in range(1, 1101)]
    client = zoopla_client(listings)

    last = search_props_of(client.get(SEARCH + "?pn=40").text)
    beyond = search_props_of(client.get(SEARCH + "?pn=41").text)

    assert last["pagination"]["pageNumberMax"] == 40
    assert last["pagination"]["totalResults"] == 1100
    assert last["pagination"]["totalResultsWasLimited"] is True
    assert len(last["regularListingsFormatted"]) == 25
    assert beyond["regularListingsFormatted"] == []


def test_search_filters_by_sub_type_price_and_beds() -> None:
    flat = terraced_house(21, property_type="flat", bedrooms=1)
    hmo = terraced_house(22, property_type="hmo", bedrooms=6)
    listings = [
        make_listing(20, price=250_000),
        make_listing(21, property=flat, price=180_000),
        make_listing(22, property=hmo, price=560_000),
    ]
    client = zoopla_client(listings)

    def ids(query: str) -> list[str]:
        items = search_props_of(client.get(SEARCH + query).text)["regularListingsFormatted"]
        return [item["listingId"] for item in items]

    assert ids("?property_sub_type=flats") == ["170000021"]
    assert ids("?property_sub_type=terraced&results_sort=highest_price") == [
        "170000022",
        "170000020",
    ]
    assert ids("?price_max=300000&beds_min=2") == ["170000020"]


def test_search_page_carries_the_count_outside_the_stream_too() -> None:
    page = zoopla_client([make_listing(30), make_listing(31)]).get(SEARCH).text

    assert '<p data-testid="total-results">2 results</p>' in page
    assert (
        '<script id="__ZAD_TARGETING__" type="application/json">{"search_results_count":2,' in page
    )


def test_bad_search_urls_name_the_problem() -> None:
    client = zoopla_client([make_listing(40)])

    unknown_area = client.get("/zoopla/for-sale/property/atlantis/")
    bad_type = client.get(SEARCH + "?property_sub_type=castle")
    bad_page = client.get(SEARCH + "?pn=0")

    assert unknown_area.status_code == 404
    assert bad_type.status_code == 400
    assert "castle" in bad_type.text
    assert bad_page.status_code == 400


def test_changed_structure_renames_the_search_props() -> None:
    page = zoopla_client([make_listing(50)], changed=True).get(SEARCH).text

    rows = rsc_rows("".join(pushed_strings(page)))

    assert not [
        props
        for value in json_rows(rows)
        for props in dicts_with(value, "regularListingsFormatted")
    ]
    assert any('"listings":[{' in payload for _, payload in rows.values())


def test_search_page_is_byte_identical_for_the_same_request() -> None:
    listings = [make_listing(number) for number in range(1, 30)]

    first = zoopla_client(listings).get(SEARCH + "?pn=2").content
    second = zoopla_client(listings).get(SEARCH + "?pn=2").content

    assert first == second
