"""The EPC register stand-in against MHCLG's OpenAPI spec and official certificate samples."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from property_pipeline.sandbox.epc import (
    SlidingWindowLimiter,
    certificate_document,
    council_name,
    normalise_postcode,
    routes,
)
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.model import EpcCertificate
from property_pipeline_tests.sandbox.support import (
    MARKET_DAY,
    FakeMarket,
    Shape,
    load_json_capture,
    make_location,
    make_property,
    read_capture,
    real_market,
    sandbox_client,
    shape_of,
    shape_problems,
)

SAMPLES = "open-data/epc_new_api_official_samples"
TOKEN = "sandbox-epc-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_certificate(index: int, **overrides: Any) -> EpcCertificate:
    """Certificate `index` for property `index` in RM6, lodged `index` weeks before MARKET_DAY."""
    lodged = MARKET_DAY - dt.timedelta(weeks=index)
    base = EpcCertificate(
        certificate_number=f"0{index:03d}-2026-0417-5512-{index:04d}",
        property=make_property(index),
        uprn=100_000_000 + index,
        lodged_on=lodged,
        inspected_on=lodged - dt.timedelta(days=3),
        current_band="D",
        potential_band="B",
        current_score=61,
        potential_score=84,
        floor_area_sqm=86,
        built_form="Semi-Detached",
        property_type_label="House",
        construction_age_band="England and Wales: 1930-1949",
        main_fuel="mains gas",
    )
    return dataclasses.replace(base, **overrides)


def epc_market(count: int = 7) -> FakeMarket:
    """`count` certificates on RM6 4FD, plus one lodged after the market day."""
    certificates = [make_certificate(index) for index in range(1, count + 1)]
    certificates.append(make_certificate(99, lodged_on=MARKET_DAY + dt.timedelta(days=2)))
    return FakeMarket(certificates=certificates)


def epc_client(market: FakeMarket | None = None, **config: Any) -> tuple[TestClient, Any]:
    return sandbox_client("epc", routes, market or epc_market(), **config)


def spec(shared_fixtures: Path) -> dict[str, Any]:
    text = read_capture(shared_fixtures, f"{SAMPLES}/openapi_api.get-energy-performance-data.yml")
    return yaml.safe_load(text)


def search(client: TestClient, query: str) -> Any:
    return client.get(f"/epc/api/domestic/search?{query}", headers=AUTH)


# --- search ------------------------------------------------------------------------------------


def test_search_response_has_the_spec_examples_envelope_and_row_shape(
    shared_fixtures: Path,
) -> None:
    operation = spec(shared_fixtures)["paths"]["/api/domestic/search"]["get"]
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    client, _ = epc_client()

    response = search(client, "postcode=RM6%204FD")

    assert response.status_code == 200
    assert shape_problems(response.json(), shape_of([example])) == []
    assert response.json()["data"][0].keys() == example["data"][0].keys()


def test_search_pagination_fields_are_the_specs_and_paging_ends_on_the_last_page(
    shared_fixtures: Path,
) -> None:
    schema = spec(shared_fixtures)["components"]["schemas"]["PaginationMetadata"]["properties"]
    client, _ = epc_client()

    pages = [search(client, f"postcode=RM6 4FD&page_size=3&current_page={n}") for n in (1, 2, 3)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    paging = [page.json()["pagination"] for page in pages]
    assert paging[0].keys() == schema.keys()
    assert [(p["prevPage"], p["currentPage"], p["nextPage"]) for p in paging] == [
        (None, 1, 2),
        (1, 2, 3),
        (2, 3, None),
    ]
    assert {(p["totalRecords"], p["totalPages"], p["pageSize"]) for p in paging} == {(7, 3, 3)}
    assert [len(page.json()["data"]) for page in pages] == [3, 3, 1]


def test_search_page_past_the_end_is_the_specs_out_of_range_error() -> None:
    client, _ = epc_client()

    response = search(client, "postcode=RM6 4FD&page_size=3&current_page=4")

    assert response.status_code == 400
    expected = "The requested page number 4 is out of range. Total pages: 3"
    assert response.json() == {"data": {"error": expected}}


def test_search_lists_newest_registration_first_and_hides_certificates_not_yet_lodged() -> None:
    client, _ = epc_client()

    rows = search(client, "postcode=RM6 4FD").json()["data"]

    dates = [row["registrationDate"] for row in rows]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == (MARKET_DAY - dt.timedelta(weeks=1)).isoformat()
    assert "0099-2026-0417-5512-0099" not in {row["certificateNumber"] for row in rows}


def test_search_row_values_come_from_the_certificate() -> None:
    market = FakeMarket(
        certificates=[make_certificate(1, property=make_property(1, saon="Flat 2"))]
    )
    client, _ = epc_client(market)

    row = search(client, "uprn=000100000001").json()["data"][0]

    assert row == {
        "addressLine1": "Flat 2",
        "addressLine2": "21 Bexley Gardens",
        "addressLine3": "Chadwell Heath",
        "addressLine4": None,
        "uprn": 100000001,
        "certificateNumber": "0001-2026-0417-5512-0001",
        "constituency": "Romford",
        "council": "Barking and Dagenham",
        "currentEnergyEfficiencyBand": "D",
        "postTown": "Romford",
        "postcode": "RM6 4FD",
        "registrationDate": "2026-04-13",
        "schemaType": "RdSAP-Schema-21.0.1",
    }


def test_search_normalises_the_postcode_like_the_register() -> None:
    client, _ = epc_client()

    response = search(client, "postcode=rm64fd")

    assert response.status_code == 200
    assert response.json()["pagination"]["totalRecords"] == 7


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "please provide a valid date range or search parameter"),
        ("postcode=RM6", "please provide a valid postcode"),
        ("uprn=0", "the uprn should be an integer greater than 0"),
        ("date_start=2026-04-01&date_end=2026-03-01", "please provide a valid date range"),
        ("date_start=2026-04-01&date_end=2026-04-20", "the date cannot include today"),
        ("council[]=Atlantis", "provide valid council name(s)"),
        ("constituency[]=Atlantis", "provide valid constituency name(s)"),
        ("postcode=RM6 4FD&page_size=5001", "provide valid page_size between 1 and 5000"),
    ],
)
def test_search_rejects_what_the_register_rejects_with_its_message(
    query: str, message: str
) -> None:
    client, _ = epc_client()

    response = search(client, query)

    assert response.status_code == 400
    assert response.json() == {"data": {"error": f"The search query was invalid - {message}"}}


def test_search_without_hits_is_the_specs_404() -> None:
    client, _ = epc_client()

    response = search(client, "postcode=SW1A 2AA")

    assert response.status_code == 404
    assert response.json() == {"data": {"error": "No certificates could be found for that query"}}


def test_search_filters_by_council_band_address_and_date_range() -> None:
    market = epc_market()
    market.certificates[0] = make_certificate(1, current_band="B")
    other = make_location(district="HAVERING", town="Hornchurch")
    market.certificates[1] = make_certificate(2, property=make_property(2, location=other))
    market.location_list.append(other)
    client, _ = epc_client(market)

    by_band = search(client, "efficiency_rating[]=B&efficiency_rating[]=A").json()["data"]
    by_council = search(client, "council[]=havering").json()["data"]
    by_address = search(client, "address=23,  BEXLEY gardens").json()["data"]
    by_dates = search(client, "date_start=2026-03-20&date_end=2026-04-01").json()["data"]

    assert [row["certificateNumber"] for row in by_band] == ["0001-2026-0417-5512-0001"]
    assert [row["council"] for row in by_council] == ["Havering"]
    assert [row["addressLine1"] for row in by_address] == ["23 Bexley Gardens"]
    assert [row["registrationDate"] for row in by_dates] == ["2026-03-30", "2026-03-23"]


# --- certificate -------------------------------------------------------------------------------


def certificate_shape(shared_fixtures: Path) -> Shape:
    """The RdSAP 21.0.1 sample's shape; address lines 2 and 3 are optional, as the SAP sample
    (a longer address) shows."""
    rdsap = load_json_capture(
        shared_fixtures, f"{SAMPLES}/certificate_RdSAP-Schema-21.0.1_epc.json"
    )
    sap = load_json_capture(shared_fixtures, f"{SAMPLES}/certificate_SAP-Schema-19.2.0_epc.json")
    shape = shape_of([{"data": rdsap}])
    document = shape.keys["data"]
    for key in ("address_line_2", "address_line_3"):
        document.keys[key] = shape_of([sap[key]])
    return shape


def test_certificate_has_every_key_and_type_of_the_official_rdsap_sample(
    shared_fixtures: Path,
) -> None:
    client, _ = epc_client()
    flat = make_property(5, saon="Flat 1", property_type="flat")
    client_for_flat, _ = epc_client(FakeMarket(certificates=[make_certificate(5, property=flat)]))

    house = client.get(
        "/epc/api/certificate?certificate_number=0003-2026-0417-5512-0003", headers=AUTH
    )
    flat_doc = client_for_flat.get(
        "/epc/api/certificate?certificate_number=0005-2026-0417-5512-0005", headers=AUTH
    )

    assert house.status_code == flat_doc.status_code == 200
    assert shape_problems(house.json(), certificate_shape(shared_fixtures)) == []
    assert shape_problems(flat_doc.json(), certificate_shape(shared_fixtures)) == []
    assert flat_doc.json()["data"]["address_line_2"] == "25 Bexley Gardens"


def test_certificates_of_the_generated_market_are_searchable_and_keep_the_official_shape(
    shared_fixtures: Path,
) -> None:
    market = real_market()
    cert = market.epc_certificates(lodged_from=dt.date(2026, 3, 1), lodged_to=dt.date(2026, 3, 31))[
        0
    ]
    client, _ = epc_client(market)

    found = search(client, f"postcode={cert.property.postcode}").json()["data"]
    document = client.get(
        f"/epc/api/certificate?certificate_number={cert.certificate_number}", headers=AUTH
    ).json()

    assert cert.certificate_number in {row["certificateNumber"] for row in found}
    assert shape_problems(document, certificate_shape(shared_fixtures)) == []
    assert document["data"]["current_energy_efficiency_band"] == cert.current_band


def test_certificate_values_come_from_the_register_entry() -> None:
    cert = make_certificate(3, current_score=38, current_band="F", potential_score=71)

    document = certificate_document(cert)

    assert document["uprn"] == 100000003
    assert document["postcode"] == "RM6 4FD"
    assert document["current_energy_efficiency_band"] == "F"
    assert document["potential_energy_efficiency_band"] == "B"
    assert (document["energy_rating_current"], document["energy_rating_potential"]) == (38, 71)
    assert document["total_floor_area"] == 86
    assert document["built_form"] == 2 and document["property_type"] == 0
    assert document["sap_building_parts"][0]["construction_age_band"] == "C"
    assert document["registration_date"] == "2026-03-30"
    ratings = [step["energy_performance_rating"] for step in document["suggested_improvements"]]
    assert ratings == sorted(ratings) and ratings[-1] == 71


def test_certificate_not_found_and_not_yet_lodged_are_the_specs_404() -> None:
    client, _ = epc_client()

    unknown = client.get(
        "/epc/api/certificate?certificate_number=0000-0000-0000-0000-0000", headers=AUTH
    )
    future = client.get(
        "/epc/api/certificate?certificate_number=0099-2026-0417-5512-0099", headers=AUTH
    )

    assert unknown.status_code == future.status_code == 404
    assert unknown.json() == {"data": {"error": "Certificate not found"}}


def test_codes_info_decodes_the_codes_certificates_use() -> None:
    client, _ = epc_client()

    listed = client.get("/epc/api/codes", headers=AUTH).json()["data"]
    info = client.get("/epc/api/codes/info?code=built_form&key=2", headers=AUTH).json()

    assert {"built_form", "construction_age_band", "property_type"} <= set(listed)
    assert info["data"][0]["key"] == "2"
    assert info["data"][0]["values"][0]["value"] == "Semi-Detached"


# --- authentication and rate limit -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_requests_without_the_configured_bearer_token_are_refused(headers: dict[str, str]) -> None:
    client, _ = epc_client()

    response = client.get("/epc/api/domestic/search?postcode=RM6 4FD", headers=headers)

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "UNAUTHORISED"


def test_a_configured_token_replaces_the_default() -> None:
    client, _ = epc_client(epc_token="my-own-token")

    default = search(client, "postcode=RM6 4FD")
    own = client.get(
        "/epc/api/domestic/search?postcode=RM6 4FD",
        headers={"Authorization": "Bearer my-own-token"},
    )

    assert (default.status_code, own.status_code) == (403, 200)


def test_requests_over_the_rate_limit_get_429_with_retry_after() -> None:
    client, _ = epc_client(epc_rate_limit=3)

    statuses = [search(client, "postcode=RM6 4FD").status_code for _ in range(4)]
    refused = search(client, "postcode=RM6 4FD")

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 300


def test_sliding_window_frees_a_slot_when_the_oldest_request_leaves_it() -> None:
    now = [100.0]
    limiter = SlidingWindowLimiter(limit=2, window=10.0, clock=lambda: now[0])

    first, second, third = (limiter.retry_after("t") for _ in range(3))
    now[0] = 110.5
    after_window = limiter.retry_after("t")

    assert (first, second) == (None, None)
    assert third == pytest.approx(10.0)
    assert after_window is None


# --- helpers and faults ------------------------------------------------------------------------


def test_council_names_follow_ons_capitalisation() -> None:
    assert council_name("BARKING AND DAGENHAM") == "Barking and Dagenham"
    assert council_name("STOCKTON-ON-TEES") == "Stockton-on-Tees"
    assert council_name("CITY OF LONDON") == "City of London"


def test_postcode_normalisation_accepts_full_postcodes_only() -> None:
    assert normalise_postcode(" sw1a2aa ") == "SW1A 2AA"
    assert normalise_postcode("SW1A") is None


def test_changed_structure_moves_the_rows_out_of_data() -> None:
    client, context = epc_client()
    context.faults.add(FaultSpec("epc", "changed_structure"))

    body = search(client, "postcode=RM6 4FD").json()

    assert "data" not in body
    assert body["results"][0]["certificate_number"] == "0001-2026-0417-5512-0001"
