"""A day's crawl against the sandbox: exactly the listings the market has live, split bands,
one source failing without the others, and the same listings again from the archive offline."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources import crawl as crawl_module
from property_pipeline.sources.archive import PageArchive
from property_pipeline.sources.config import SourcesConfig, config_from_mapping
from property_pipeline.sources.crawl import (
    CrawlResult,
    auctionhouse_catalogues,
    crawl,
    merge_detail,
    reparse_archive,
    split_band,
    upcoming_allsop_auctions,
)
from property_pipeline.sources.fetch import FetchPolicy
from property_pipeline.sources.listing import NormalisedListing, ParseError

# The sandbox's own clock is left at today: only the X-Sandbox-Date header makes it this day.
DAY = dt.date(2026, 5, 12)
REGIONS = ["london", "eastanglia"]
FAST = {"requests_per_second_per_host": 5000, "concurrency": 8, "retries": 1, "backoff_seconds": 0}
MIN_PRICE, MAX_PRICE = 100_000, 900_000


def targets(market: Market, outcodes: list[str], **overrides: Any) -> dict[str, Any]:
    """A targets mapping for sandbox locations, with the sandbox's own identifiers."""
    locations = []
    for outcode in outcodes:
        place = market.location(outcode=outcode)
        assert place is not None
        locations.append(
            {
                "name": place.town,
                "rightmove_id": place.rightmove_id,
                "zoopla_slug": place.zoopla_slug,
            }
        )
    return {"locations": locations, "fetch": FAST} | overrides


def sandbox_config(server: SandboxServer, mapping: dict[str, Any]) -> SourcesConfig:
    return config_from_mapping(mapping, "test-targets.yaml").for_sandbox(server.base_url)


def ids(result: CrawlResult, source: str) -> set[str]:
    return {listing.source_id for listing in result.listings if listing.source == source}


def portal_ids(market: Market, source: str, outcodes: list[str], **filters: Any) -> set[str]:
    """What the market has live on a portal for these outcodes and filters on DAY."""
    return {
        listing.source_id
        for outcode in outcodes
        for listing in market.search(DAY, source, outcode=outcode, **filters)
    }


def lot_ids(market: Market, house: str, regions: list[str] | None = None) -> set[str]:
    """The lots in every upcoming sale's catalogue (of these regions) on DAY."""
    return {
        lot.source_id
        for auction in market.auctions(house, DAY)
        if auction.auction_date >= DAY and (regions is None or auction.branch in regions)
        for lot in market.lots(auction.auction_id, DAY)
    }


def run_crawl(config: SourcesConfig, root: Path) -> CrawlResult:
    return asyncio.run(crawl(config, DAY, PageArchive(root)))


# -- a whole day, every source ---------------------------------------------------------------

SOURCES = ("rightmove", "zoopla", "allsop", "auctionhouse")

OUTCODES = ["E17", "NW10", "RM6"]


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(MarketConfig(listings=20_000))


@pytest.fixture(scope="module")
def server(market: Market) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(), market=market) as running:
        yield running


@pytest.fixture(scope="module")
def day_crawl(
    server: SandboxServer, market: Market, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CrawlResult, Path]:
    mapping = targets(
        market,
        OUTCODES,
        price={"min": MIN_PRICE, "max": MAX_PRICE},
        bedrooms={"min": 1},
        sources={
            "rightmove": {"detail_pages": True},
            "zoopla": {"detail_pages": True},
            "auctionhouse": {"regions": REGIONS, "detail_pages": True},
        },
    )
    mapping["locations"].append({"name": "Kingston", "zoopla_slug": "kingston-upon-thames/kt1"})
    root = tmp_path_factory.mktemp("archive")
    return run_crawl(sandbox_config(server, mapping), root), root


def test_rightmove_gives_exactly_the_live_listings_of_each_search(
    day_crawl: tuple[CrawlResult, Path], market: Market
) -> None:
    result, _ = day_crawl

    expected = portal_ids(
        market, "rightmove", OUTCODES, min_price=MIN_PRICE, max_price=MAX_PRICE, min_bedrooms=1
    )
    assert len(expected) > 24  # more than one results page
    assert ids(result, "rightmove") == expected


def test_zoopla_gives_exactly_the_live_listings_of_each_search(
    day_crawl: tuple[CrawlResult, Path], market: Market
) -> None:
    result, _ = day_crawl

    expected = portal_ids(
        market,
        "zoopla",
        [*OUTCODES, "KT1"],
        min_price=MIN_PRICE,
        max_price=MAX_PRICE,
        min_bedrooms=1,
    )
    assert ids(result, "zoopla") == expected


def test_auctions_give_every_lot_of_the_upcoming_catalogues(
    day_crawl: tuple[CrawlResult, Path], market: Market
) -> None:
    result, _ = day_crawl

    allsop = lot_ids(market, "allsop")
    auctionhouse = lot_ids(market, "auctionhouse", REGIONS)
    assert len(allsop) > 20  # more than one API page
    assert len(auctionhouse) > 24  # more than one catalogue page
    assert ids(result, "allsop") == allsop
    assert ids(result, "auctionhouse") == auctionhouse
    assert {listing.listing_type for listing in result.listings if listing.source == "allsop"} == {
        "auction_lot"
    }


def test_a_clean_day_records_no_failures_and_counts_each_source(
    day_crawl: tuple[CrawlResult, Path],
) -> None:
    result, _ = day_crawl

    assert result.failures == []
    assert result.per_source_counts == {
        source: len(ids(result, source))
        for source in ("rightmove", "zoopla", "allsop", "auctionhouse")
    }
    assert len(result.listings) == sum(result.per_source_counts.values())
    assert all(count > 0 for count in result.pages_fetched.values())


def test_detail_pages_complete_the_cards_with_postcode_and_tenure(
    day_crawl: tuple[CrawlResult, Path], market: Market
) -> None:
    result, _ = day_crawl

    for source in ("rightmove", "zoopla"):
        found = {
            listing.source_id: (listing.postcode, listing.tenure, listing.lease_years_remaining)
            for listing in result.listings
            if listing.source == source
        }
        truth = {}
        for source_id in found:
            advert = market.listing(source, source_id, DAY)
            assert advert is not None
            prop = advert.property
            truth[source_id] = (prop.postcode, prop.tenure, prop.lease_years_remaining)
        assert found == truth


def test_every_listing_is_stamped_with_when_its_page_was_fetched(
    day_crawl: tuple[CrawlResult, Path],
) -> None:
    result, _ = day_crawl

    stamps = {listing.scraped_at for listing in result.listings}
    assert None not in stamps
    assert all(stamp.tzinfo is None for stamp in stamps if stamp)


def test_the_archive_reparses_to_the_same_listings_offline(
    day_crawl: tuple[CrawlResult, Path],
) -> None:
    result, root = day_crawl

    again = reparse_archive(
        PageArchive(root), DAY, ("rightmove", "zoopla", "allsop", "auctionhouse")
    )

    assert again.failures == []
    assert again.listings == result.listings
    assert again.pages_fetched == result.pages_fetched


def test_the_archive_keeps_every_page_by_role(day_crawl: tuple[CrawlResult, Path]) -> None:
    result, root = day_crawl
    archive = PageArchive(root)

    roles = {
        source: sorted({page.role for page in archive.pages(source, DAY)})
        for source in ("rightmove", "allsop")
    }
    assert roles == {"rightmove": ["detail", "search"], "allsop": ["navigation", "search"]}
    assert len(list(archive.pages("rightmove", DAY))) == result.pages_fetched["rightmove"]


def test_reparsing_a_day_never_crawled_reports_each_missing_source(tmp_path: Path) -> None:
    again = reparse_archive(PageArchive(tmp_path), DAY, ("rightmove", "zoopla"))

    assert again.listings == []
    assert [(failure.source, failure.reason) for failure in again.failures] == [
        ("rightmove", "nothing archived for 2026-05-12; crawl it"),
        ("zoopla", "nothing archived for 2026-05-12; crawl it"),
    ]


# -- one source failing ----------------------------------------------------------------------


def test_failing_sources_are_recorded_and_the_others_complete(
    server: SandboxServer, market: Market, tmp_path: Path
) -> None:
    faults = server.context.faults
    faults.add(FaultSpec(upstream="zoopla", kind="challenge"))
    faults.add(FaultSpec(upstream="allsop", kind="changed_structure", path_prefix="/api/search"))
    faults.add(FaultSpec(upstream="auctionhouse", kind="server_error"))
    config = sandbox_config(server, targets(market, OUTCODES))
    try:
        result = run_crawl(config, tmp_path)
    finally:
        server.context.reset()

    assert ids(result, "rightmove") == portal_ids(market, "rightmove", OUTCODES)
    assert result.per_source_counts | {"rightmove": 0} == {
        "rightmove": 0,
        "zoopla": 0,
        "allsop": 0,
        "auctionhouse": 0,
    }
    by_source: dict[str, list[Any]] = {}
    for failure in result.failures:
        by_source.setdefault(failure.source, []).append(failure)

    [blocked] = by_source["zoopla"]
    assert blocked.url.startswith(config.sources.zoopla.base_url + "/for-sale/property/")
    assert "bot challenge" in blocked.reason and "zoopla was stopped" in blocked.reason
    assert result.pages_fetched["zoopla"] == 0

    upcoming = [a for a in market.auctions("allsop", DAY) if a.auction_date >= DAY]
    assert len(by_source["allsop"]) == len(upcoming)
    assert all("could not be parsed" in failure.reason for failure in by_source["allsop"])
    assert all("/api/search?auction_id=" in failure.url for failure in by_source["allsop"])

    [down] = by_source["auctionhouse"]
    assert down.url == f"{config.sources.auctionhouse.base_url}/auction/future-auction-dates"
    assert down.reason.endswith("after 2 attempts: HTTP 503")
    assert "rightmove" not in by_source


def test_a_page_that_broke_the_parser_stays_in_the_archive(
    server: SandboxServer, market: Market, tmp_path: Path
) -> None:
    server.context.faults.add(
        FaultSpec(upstream="allsop", kind="changed_structure", path_prefix="/api/search")
    )
    mapping = targets(market, OUTCODES, sources={"rightmove": False, "zoopla": False})
    try:
        result = run_crawl(sandbox_config(server, mapping), tmp_path)
    finally:
        server.context.reset()

    kept = [page for page in PageArchive(tmp_path).pages("allsop", DAY) if page.role == "search"]
    assert result.per_source_counts["allsop"] == 0
    assert len(kept) == len([f for f in result.failures if f.source == "allsop"])
    assert all('"lots":' in page.text() for page in kept)


# -- price bands over the cap ----------------------------------------------------------------


@pytest.fixture(scope="module")
def big_market() -> Market:
    return Market(MarketConfig(listings=750_000, background_per_listing=0.0))


def test_a_search_over_the_cap_is_split_into_price_bands_until_each_fits(
    big_market: Market, tmp_path: Path
) -> None:
    mapping = targets(
        big_market,
        ["NW10"],
        sources={"zoopla": {"max_pages": 4}, "allsop": False, "auctionhouse": False},
    )
    with SandboxServer(SandboxConfig(), market=big_market) as big_server:
        result = run_crawl(sandbox_config(big_server, mapping), tmp_path)

    rightmove = portal_ids(big_market, "rightmove", ["NW10"])
    zoopla = portal_ids(big_market, "zoopla", ["NW10"])
    assert len(rightmove) > 42 * 24
    assert len(zoopla) > 4 * 25
    assert result.failures == []
    assert ids(result, "rightmove") == rightmove
    assert ids(result, "zoopla") == zoopla

    archive = PageArchive(tmp_path)
    bands = {
        (query.get("minPrice", ["0"])[0], query.get("maxPrice", ["open"])[0])
        for page in archive.pages("rightmove", DAY)
        for query in [parse_qs(urlsplit(page.url).query)]
    }
    assert ("0", "open") in bands and ("0", "250000") in bands and ("250001", "open") in bands
    assert (
        max(
            int(parse_qs(urlsplit(p.url).query)["index"][0])
            for p in archive.pages("rightmove", DAY)
        )
        <= 984
    )


def test_split_band_halves_at_a_round_price_without_overlap() -> None:
    assert split_band((0, None)) == ((0, 250_000), (250_001, None))
    assert split_band((250_001, None)) == ((250_001, 500_002), (500_003, None))
    assert split_band((100_000, 300_001)) == ((100_000, 200_000), (200_001, 300_001))
    assert split_band((100_000, 100_009)) == ((100_000, 100_004), (100_005, 100_009))
    assert split_band((100_000, 100_000)) is None


# -- requests outside the sandbox ------------------------------------------------------------


def test_real_site_requests_carry_no_sandbox_date_header() -> None:
    seen: list[httpx.Request] = []

    def nothing_here(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, text="<h1>Not found</h1>")

    def client_factory(policy: FetchPolicy) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(nothing_here), headers={"User-Agent": policy.user_agent}
        )

    config = config_from_mapping(
        {"locations": [{"name": "Chadwell Heath", "rightmove_id": "OUTCODE^3515"}], "fetch": FAST}
    )
    result = asyncio.run(crawl(config, DAY, PageArchive("/nonexistent"), client_factory))

    hosts = sorted({request.url.host for request in seen})
    assert hosts == ["www.allsop.co.uk", "www.auctionhouse.co.uk", "www.rightmove.co.uk"]
    assert all("x-sandbox-date" not in request.headers for request in seen)
    assert all(request.headers["user-agent"].startswith("property-pipeline/") for request in seen)
    assert {failure.source for failure in result.failures} == {
        "rightmove",
        "allsop",
        "auctionhouse",
    }
    assert all(failure.reason.endswith("HTTP 404") for failure in result.failures)


# -- small pieces ----------------------------------------------------------------------------


def test_a_detail_page_fills_in_what_the_card_lacked_but_keeps_identity() -> None:
    seen_at = dt.datetime(2026, 5, 12, 8, 0)
    card = NormalisedListing(
        source="rightmove",
        source_id="1",
        price=250_000,
        outcode="RM6",
        key_features=["Garden"],
        scraped_at=seen_at,
    )
    detail = NormalisedListing(
        source="rightmove",
        source_id="1",
        price=245_000,
        postcode="RM6 4FD",
        outcode="RM6",
        tenure="leasehold",
        lease_years_remaining=87,
        scraped_at=seen_at + dt.timedelta(minutes=5),
    )

    merged = merge_detail(card, detail)

    assert (merged.price, merged.postcode, merged.tenure, merged.lease_years_remaining) == (
        245_000,
        "RM6 4FD",
        "leasehold",
        87,
    )
    assert merged.key_features == ["Garden"]
    assert merged.scraped_at == seen_at
    assert merge_detail(card, None) is card


def test_the_allsop_calendar_gives_upcoming_sale_ids() -> None:
    body = (
        '{"data":{"next_residential_auction":{"allsop_auctionid":"a1"},"past_auctions":[]},'
        '"futureResi":[{"allsop_auctionid":"a1"},{"allsop_auctionid":"a2"}],"futureComm":[]}'
    )

    assert upcoming_allsop_auctions(body) == ["a1", "a2"]
    with pytest.raises(ParseError, match="no 'futureResi' list"):
        upcoming_allsop_auctions('{"data":{}}')


def test_the_auctionhouse_calendar_gives_each_catalogue_once() -> None:
    body = (
        "<h1>Future Auction Dates</h1><table class='future-auctions'><tbody>"
        "<tr><td><a href='/london/auction/lots/12345'>View lots</a></td></tr>"
        "<tr><td><a href='/northwest/auction/lots/23456'>View lots</a></td></tr>"
        "<tr><td><a href='/london/auction/lots/12345'>View lots</a></td></tr>"
        "<tr><td><a href='/london/auction/lot/99'>A lot</a></td></tr></tbody></table>"
    )

    assert auctionhouse_catalogues(body) == [
        ("london", "/london/auction/lots/12345"),
        ("northwest", "/northwest/auction/lots/23456"),
    ]
    assert auctionhouse_catalogues("<table class='table future-auctions'></table>") == []
    with pytest.raises(ParseError, match="no table.future-auctions"):
        auctionhouse_catalogues("<h1>Page not found</h1>")


def test_pages_parsed_in_worker_processes_give_the_same_listings_in_archive_order(
    server: SandboxServer,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(crawl_module, "PARSE_POOL_AFTER_PAGES", 3)
    mapping = targets(market, ["E17"], sources={"rightmove": {"detail_pages": True}})

    def crawled(workers: int) -> CrawlResult:
        with_workers = mapping | {"fetch": FAST | {"parse_workers": workers}}
        return run_crawl(sandbox_config(server, with_workers), tmp_path / str(workers))

    in_process = crawled(0)
    with caplog.at_level("INFO", logger="property_pipeline.sources.crawl"):
        in_workers = crawled(1)
    again = reparse_archive(PageArchive(tmp_path / "1"), DAY, SOURCES)

    summary = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("crawled"))
    in_pool = int(re.search(r"\((\d+) parsed in worker processes\)", summary).group(1))
    # Every page after the first three, less the two calendars read without the page parsers.
    assert in_pool >= sum(in_workers.pages_fetched.values()) - 3 - 2
    assert in_workers.failures == in_process.failures == []
    assert again.listings == in_workers.listings

    def by_id(result: CrawlResult) -> list[NormalisedListing]:
        unstamped = [dataclasses.replace(item, scraped_at=None) for item in result.listings]
        return sorted(unstamped, key=lambda item: (item.source, item.source_id))

    assert by_id(in_workers) == by_id(in_process)
