"""Format detection: every real capture and every sandbox page is told apart by its content,
bot challenges are caught before parsing, and the sandbox's faults surface as the right errors.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from property_pipeline.sandbox import auctions as sandbox_auctions
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.listing import BotChallengeError, ParseError
from property_pipeline.sources.parsers.detect import (
    FORMATS,
    detect_format,
    is_bot_challenge,
    parse_document,
)
from property_pipeline_tests.sandbox.support import add_fault, faults_cleared_after, read_capture

CLOUDFLARE_PAGE = "zoopla/cloudflare_challenge_just_a_moment_2026-02_serverfetched_pws.html"
SANDBOX_DAY = dt.date(2026, 3, 2)

REAL_CAPTURES = [
    (
        "rightmove/search_jsonModel_peckham_drawn_area_2018-03_full.html",
        "rightmove_json_model_search",
    ),
    ("rightmove/api_search_properties_cornwall_2026-01_scrapfly.json", "rightmove_api_search"),
    (
        "rightmove/detail_162171665_wharf_road_islington_2025-09_full.html",
        "rightmove_page_model_detail",
    ),
    (
        "rightmove/detail_PAGE_MODEL_171844895_headington_2026-02_browser_pws.html",
        "rightmove_page_model_detail",
    ),
    (
        "rightmove/detail_PACKED___PAGE_MODEL_91588293_collingham_road_SW5_2026-08.html",
        "rightmove_packed_page_model_detail",
    ),
    ("zoopla/detail_RSC_71365505_herne_bay_2026-02_browser_pws.html", "zoopla_rsc_detail"),
    ("zoopla/search_rsc_E14_torent_2026-09_trimmed_alexremnev.html", "zoopla_rsc_search"),
    (
        "zoopla/nextdata_regularListingsFormatted_london_2023-11_scrapfly.json",
        "zoopla_next_data_search",
    ),
    ("zoopla/nextdata_listingDetails_projected_2023-11_scrapfly.json", "zoopla_next_data_detail"),
    ("auctions/allsop_api_search_R260430_slice5lots_2026-04.json", "allsop_search"),
    ("auctions/allsop_api_auctions_R260430_2026-04.json", "allsop_auction"),
]


@pytest.mark.parametrize(("relative", "expected"), REAL_CAPTURES)
def test_every_real_capture_is_detected_as_its_format_and_parses(
    shared_fixtures: Path, relative: str, expected: str
) -> None:
    body = read_capture(shared_fixtures, relative)

    assert detect_format(body) == expected
    page = parse_document(body)
    assert page.format == expected
    assert page.listings or expected == "allsop_auction"


def test_the_cloudflare_capture_is_a_bot_challenge_not_a_page(shared_fixtures: Path) -> None:
    body = read_capture(shared_fixtures, CLOUDFLARE_PAGE)
    url = "https://www.zoopla.co.uk/for-sale/details/71365505/"

    assert is_bot_challenge(body, 403)
    with pytest.raises(BotChallengeError, match=r"at https://www\.zoopla.*Cloudflare"):
        detect_format(body, url)
    with pytest.raises(BotChallengeError):
        parse_document(body, url, source="zoopla")


def test_a_real_listing_page_is_not_mistaken_for_a_challenge(shared_fixtures: Path) -> None:
    capture = "zoopla/detail_RSC_71365505_herne_bay_2026-02_browser_pws.html"

    assert not is_bot_challenge(read_capture(shared_fixtures, capture), 200)


@pytest.mark.parametrize(
    ("body", "status", "headers", "expected"),
    [
        ("<html><body>ok</body></html>", 200, {"cf-mitigated": "challenge"}, True),
        ("<html><body>ok</body></html>", 200, {"CF-Mitigated": "Challenge"}, True),
        ("<html><body>Access denied</body></html>", 403, {"Server": "cloudflare"}, True),
        ("<html><title> Just a moment... </title></html>", 200, {}, True),
        ("<html><TITLE>\n  JUST A MOMENT...\n</Title></html>", 200, {}, True),
        ('{"note": "Cloudflare Ray ID: 9cfdb899bd7c2213"}', 200, None, True),
        ('{"title": "Just a moment...", "properties": []}', 200, None, False),
        ("<p>Cloudflare Ray ID: 9cfdb899bd7c2213</p>", 503, None, True),
        ("<script>window._cf_chl_opt={}</script>", 200, None, True),
        ("<html><body>Access denied</body></html>", 403, {"server": "nginx"}, False),
        ("<html><title>3 bed house</title></html>", 200, {"server": "cloudflare"}, False),
    ],
)
def test_bot_challenges_are_recognised_by_header_status_or_body(
    body: str, status: int, headers: dict[str, str] | None, expected: bool
) -> None:
    assert is_bot_challenge(body, status, headers) is expected


def test_unknown_content_raises_a_parse_error_listing_the_markers_looked_for() -> None:
    with pytest.raises(ParseError, match="looked for: Cloudflare challenge markers.*Allsop"):
        detect_format("<html><body><h1>Welcome</h1></body></html>", "https://example.org/")


def test_a_pre_2020_page_is_named_as_a_format_with_no_parser() -> None:
    page = "<script>window.ZPG = window.ZPG || {}; ZPG.trackData = {};</script>"

    with pytest.raises(ParseError, match="Zoopla's ZPG pages"):
        detect_format(page)


def test_the_url_decides_search_or_detail_when_a_zoopla_stream_does_not() -> None:
    page = '<script>self.__next_f.push([1,"1:{\\"somethingNew\\":true}\\n"])</script>'

    assert detect_format(page, "https://www.zoopla.co.uk/for-sale/details/1/") == (
        "zoopla_rsc_detail"
    )
    assert detect_format(page, "https://www.zoopla.co.uk/for-sale/property/e8/") == (
        "zoopla_rsc_search"
    )
    with pytest.raises(ParseError, match="could be any of"):
        detect_format(page)


def test_unrecognised_json_goes_to_the_parser_its_url_names_unless_the_source_differs() -> None:
    body = '{"data": {"lots": [], "count": 0}, "searchUuid": "x"}'
    url = "http://127.0.0.1:9/allsop/api/search?auction_id=a&page=1&react"

    assert detect_format(body, url) == "allsop_search"
    with pytest.raises(ParseError, match="allsop_search: expected"):
        parse_document(body, url)
    with pytest.raises(ParseError, match="no known page format"):
        detect_format(body, url, source="rightmove")


@pytest.mark.parametrize(
    "lead",
    ["", " \n\t", "\x0c", "\u00a0"],
    ids=["none", "json_space", "form_feed", "no_break_space"],
)
def test_a_json_body_parses_as_its_parser_alone_would_whatever_leads_it(lead: str) -> None:
    # Detection decodes the body and hands the parser the result; the parser itself refuses a
    # lead JSON does not allow, and must go on doing so.
    body = lead + '[{"id": 160000001, "displayAddress": "Bow Road, London, E3"}]'

    try:
        expected = FORMATS["rightmove_api_search"](body, None)
    except ParseError as refused:
        with pytest.raises(ParseError, match=re.escape(str(refused))):
            parse_document(body)
    else:
        assert parse_document(body) == expected


def test_every_format_has_a_parser_named_for_its_source() -> None:
    assert {name.split("_", 1)[0] for name in FORMATS} == {
        "rightmove",
        "zoopla",
        "allsop",
        "auctionhouse",
    }
    assert len(FORMATS) == 13


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(date=SANDBOX_DAY)) as server:
        yield server


no_faults_left = faults_cleared_after("sandbox")


@pytest.fixture(scope="module")
def sandbox_urls(sandbox: SandboxServer) -> dict[str, str]:
    """One URL per sandbox page kind, for pages the market fills on SANDBOX_DAY."""
    market = sandbox.context.market
    live = {
        location: market.search(SANDBOX_DAY, "zoopla", outcode=location.outcode)
        for location in market.locations()
    }
    location = max(live, key=lambda place: len(live[place]))
    zoopla_id = live[location][0].source_id
    rightmove_live = market.search(SANDBOX_DAY, "rightmove", outcode=location.outcode)
    allsop = next(
        a for a in market.auctions("allsop", SANDBOX_DAY) if a.auction_date >= SANDBOX_DAY
    )
    house = next(
        a for a in market.auctions("auctionhouse", SANDBOX_DAY) if a.auction_date >= SANDBOX_DAY
    )
    branch = sandbox_auctions.named_branch(house)
    lot_id = market.lots(house.auction_id, SANDBOX_DAY)[0].source_id
    rightmove = sandbox.url("rightmove")
    search_query = f"locationIdentifier={location.rightmove_id}&index=0"
    return {
        "zoopla_rsc_search": f"{sandbox.url('zoopla')}/for-sale/property/{location.zoopla_slug}/",
        "zoopla_rsc_detail": f"{sandbox.url('zoopla')}/for-sale/details/{zoopla_id}/",
        "allsop_search": f"{sandbox.url('allsop')}/api/search?auction_id={allsop.auction_id}&react",
        "allsop_auction": f"{sandbox.url('allsop')}/api/auctions/{allsop.auction_id}?react",
        "auctionhouse_catalogue": (
            f"{sandbox.url('auctionhouse')}/{branch}/auction/lots/"
            f"{sandbox_auctions.auction_number(house)}"
        ),
        "auctionhouse_lot": f"{sandbox.url('auctionhouse')}/{branch}/auction/lot/{lot_id}",
        "rightmove_next_data_search": f"{rightmove}/property-for-sale/find.html?{search_query}",
        "rightmove_api_search": f"{rightmove}/api/property-search/listing/search?{search_query}",
        "rightmove_detail": f"{rightmove}/properties/{rightmove_live[0].source_id}",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "zoopla_rsc_search",
        "zoopla_rsc_detail",
        "allsop_search",
        "allsop_auction",
        "auctionhouse_catalogue",
        "auctionhouse_lot",
        "rightmove_next_data_search",
        "rightmove_api_search",
        "rightmove_detail",
    ],
)
def test_every_sandbox_page_is_detected_from_its_content_alone(
    sandbox_urls: dict[str, str], kind: str
) -> None:
    response = httpx.get(sandbox_urls[kind])
    assert response.status_code == 200

    found = detect_format(response.text)

    if kind == "rightmove_detail":
        assert found in ("rightmove_page_model_detail", "rightmove_packed_page_model_detail")
    else:
        assert found == kind
    page = parse_document(response.text, sandbox_urls[kind])
    assert page.format == found
    assert page.listings or kind == "allsop_auction"


@pytest.mark.parametrize("status", [403, 200])
def test_sandbox_challenge_fault_is_a_bot_challenge_error_hard_or_soft(
    sandbox: SandboxServer, sandbox_urls: dict[str, str], status: int
) -> None:
    add_fault(sandbox, upstream="zoopla", kind="challenge", status=status, count=1)
    url = sandbox_urls["zoopla_rsc_search"]

    response = httpx.get(url)

    assert response.status_code == status
    assert is_bot_challenge(response.text, response.status_code, response.headers)
    with pytest.raises(BotChallengeError, match="Cloudflare bot challenge"):
        parse_document(response.text, url, source="zoopla")


@pytest.mark.parametrize(
    ("upstream", "kind", "message"),
    [
        ("zoopla", "zoopla_rsc_search", "zoopla_rsc_search: no search results props"),
        ("zoopla", "zoopla_rsc_detail", "zoopla_rsc_detail: no listing object"),
        ("allsop", "allsop_search", "allsop_search: expected"),
        ("allsop", "allsop_auction", "allsop_auction: expected"),
        ("auctionhouse", "auctionhouse_catalogue", "auctionhouse_catalogue: the page links"),
        ("rightmove", "rightmove_next_data_search", "rightmove_next_data_search"),
        ("rightmove", "rightmove_api_search", "rightmove_api_search"),
    ],
)
def test_sandbox_changed_structure_is_a_parse_error_naming_the_format(
    sandbox: SandboxServer,
    sandbox_urls: dict[str, str],
    upstream: str,
    kind: str,
    message: str,
) -> None:
    add_fault(sandbox, upstream=upstream, kind="changed_structure", count=1)
    url = sandbox_urls[kind]

    response = httpx.get(url)

    assert response.status_code == 200
    with pytest.raises(ParseError, match=message):
        parse_document(response.text, url, source=upstream)
