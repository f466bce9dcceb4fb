"""Two sandboxes built from the same seed and date serve the same bytes; the market moves by day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.market import MarketConfig
from property_pipeline.sandbox.server import SandboxServer

DAY = dt.date(2026, 11, 20)


def sandbox(seed: int) -> SandboxServer:
    return SandboxServer(SandboxConfig(market=MarketConfig(seed=seed), date=DAY))


@pytest.fixture(scope="module")
def twins() -> Iterator[tuple[SandboxServer, SandboxServer]]:
    with sandbox(7) as first, sandbox(7) as second:
        yield first, second


def sample_paths(server: SandboxServer) -> list[str]:
    """A page of every kind each portal and data upstream serves, found as a scraper would."""
    market = server.context.market
    location = max(
        market.locations(),
        key=lambda place: len(market.search(DAY, "rightmove", outcode=place.outcode)),
    )
    api = httpx.get(
        server.url("rightmove") + "/api/property-search/listing/search",
        params={"locationIdentifier": location.rightmove_id},
    ).json()
    rightmove_ids = [card["id"] for card in api["properties"][:3]]
    zoopla_ids = [listing.source_id for listing in market.search(DAY, "zoopla")[:2]]
    auctions = market.auctions("allsop", DAY)
    epc_postcode = market.search(DAY, "rightmove", outcode=location.outcode)[0].property.postcode
    paths = [
        f"/rightmove/property-for-sale/find.html?locationIdentifier={location.rightmove_id}",
        "/rightmove/api/property-search/listing/search"
        f"?locationIdentifier={location.rightmove_id}&index=24",
        *(f"/rightmove/properties/{property_id}" for property_id in rightmove_ids),
        f"/zoopla/for-sale/property/{location.zoopla_slug}/",
        *(f"/zoopla/for-sale/details/{listing_id}/" for listing_id in zoopla_ids),
        "/allsop/api/auctions/current-and-past",
        f"/allsop/api/search?auction_id={auctions[0].auction_id}&page=1&react",
        "/auctionhouse/national",
        f"/epc/api/domestic/search?postcode={epc_postcode.replace(' ', '+')}",
        "/landregistry/pp-2026-10-monthly.csv",
    ]
    return paths


def test_same_seed_and_date_serve_byte_identical_pages(twins) -> None:
    first, second = twins
    paths = sample_paths(first)
    assert paths == sample_paths(second)
    headers = {"Authorization": f"Bearer {first.context.epc_token}"}

    for path in paths:
        one = httpx.get(first.base_url + path, headers=headers, timeout=60)
        two = httpx.get(second.base_url + path, headers=headers, timeout=60)

        assert one.status_code == two.status_code == 200, path
        assert len(one.content) > 200, path
        assert one.content == two.content, path


def test_another_seed_makes_another_market() -> None:
    with sandbox(7) as first, sandbox(8) as other:
        path = "/rightmove/api/property-search/listing/search?locationIdentifier=OUTCODE%5E326"
        ids_first = [card["id"] for card in httpx.get(first.base_url + path).json()["properties"]]
        ids_other = [card["id"] for card in httpx.get(other.base_url + path).json()["properties"]]

    assert ids_first != ids_other


def test_the_same_search_four_weeks_later_shows_new_and_departed_listings(twins) -> None:
    server, _ = twins
    market = server.context.market
    path = server.url("rightmove") + "/api/property-search/listing/search"
    location = max(
        market.locations(),
        key=lambda place: len(market.search(DAY, "rightmove", outcode=place.outcode)),
    )

    def ids_on(day: dt.date) -> set[int]:
        found: set[int] = set()
        for index in range(0, 2000, 24):
            page = httpx.get(
                path,
                params={
                    "locationIdentifier": location.rightmove_id,
                    "index": index,
                    "includeSSTC": "true",
                },
                headers={"X-Sandbox-Date": day.isoformat()},
            ).json()
            found |= {card["id"] for card in page["properties"]}
            if not page["properties"] or index + 24 >= int(page["resultCount"].replace(",", "")):
                break
        return found

    before, after = ids_on(DAY), ids_on(DAY + dt.timedelta(days=28))

    expected_before = {
        int(item.source_id) for item in market.search(DAY, "rightmove", outcode=location.outcode)
    }
    assert before == expected_before
    assert before - after, "some listings leave the market within four weeks"
    assert after - before, "some listings join the market within four weeks"
