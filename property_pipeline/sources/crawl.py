"""A day's crawl of every switched-on source, and the same day re-parsed from the archive.

The plan per source:

- Rightmove: the search JSON API per location and price band, 24 results a page. The first page
  says how many results the search has; over 42 pages' worth (1,008) the band is split in two,
  recursively, until each part fits, since Rightmove serves nothing past the 42nd page.
- Zoopla: the search pages per area slug and band, 25 a page, split the same way at its cap
  of 40 pages.
- Allsop: the auction calendar (`/api/auctions/current-and-past`), then every page of each
  upcoming sale's lots from `/api/search`.
- Auction House UK: the calendar of future sales, then every page of each catalogue in the
  configured regions.
- Optionally each listing's detail page, for what search cards lack (full postcode, tenure,
  lease, description).

Every fetched body goes into the `PageArchive` before it is parsed, so a page that breaks a
parser is kept for the fix to be replayed over. Sources are crawled side by side and
independently: a bot challenge, a changed page structure or an upstream that stays down is
recorded as a `SourceFailure` (which source, which URL, why) and the others carry on. A challenge
stops further requests to that source for the run, since more would only deepen the block.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import math
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
from parsel import Selector

from property_pipeline.sources.archive import ArchiveError, PageArchive
from property_pipeline.sources.config import SOURCE_NAMES, Location, SourcesConfig
from property_pipeline.sources.fetch import (
    Fetcher,
    FetchError,
    FetchPolicy,
    FetchResult,
    make_client,
)
from property_pipeline.sources.listing import (
    LISTING_FIELDS,
    BotChallengeError,
    NormalisedListing,
    ParsedPage,
    ParseError,
    dedupe_by_source_id,
)
from property_pipeline.sources.parsers.detect import parse_document

logger = logging.getLogger("property_pipeline.sources.crawl")

SANDBOX_DATE_HEADER = "X-Sandbox-Date"
# A crawl hands parsing to worker processes only after this many pages: starting one costs
# about a second, which a crawl of a few search pages (a test, a single area) never earns back.
PARSE_POOL_AFTER_PAGES = 200
# Results per page each source serves; the URLs below ask for exactly these pages.
PAGE_SIZES = {"rightmove": 24, "zoopla": 25, "allsop": 20, "auctionhouse": 24}
# An open-ended band ("£300,000 and up") is split at double its floor, or here if that is 0.
OPEN_BAND_FIRST_CUT = 250_000
# A band wider than this is cut at a round thousand, as a person would choose price limits.
ROUND_CUT_WIDTH = 20_000
# How far to follow "next page" links when a catalogue does not say how many lots it has.
MAX_FOLLOWED_PAGES = 200

RIGHTMOVE_TYPES = {
    "flat": "flat",
    "terraced": "terraced",
    "semi_detached": "semi-detached",
    "detached": "detached",
    "bungalow": "bungalow",
}
ZOOPLA_TYPES = {
    "flat": "flats",
    "terraced": "terraced",
    "semi_detached": "semi_detached",
    "detached": "detached",
    "bungalow": "bungalow",
}
# Fields a detail page may fill in but never overrides on the card it was opened from.
KEPT_FROM_CARD = ("source", "source_id", "scraped_at", "listing_type")

Band = tuple[int, int | None]
T = TypeVar("T")
ClientFactory = Callable[[FetchPolicy], httpx.AsyncClient]


@dataclass(frozen=True)
class SourceFailure:
    """One thing that went wrong: the source, the URL it happened at, and why."""

    source: str
    url: str
    reason: str


@dataclass
class CrawlResult:
    """What a crawl (or a re-parse of its archive) produced and what it could not get."""

    listings: list[NormalisedListing]
    failures: list[SourceFailure]
    pages_fetched: dict[str, int]
    per_source_counts: dict[str, int]
    duration: float

    def failed_sources(self) -> set[str]:
        """The sources with at least one recorded failure."""
        return {failure.source for failure in self.failures}


# -----------------------------------------------------------------------------------------------
# Price bands and URLs


def split_band(band: Band) -> tuple[Band, Band] | None:
    """Two bands covering `band` with no overlap, or None when it is a single price.

    Prices are whole pounds and the portals' limits are inclusive, so [lo, cut] and
    [cut + 1, hi] between them hold every listing of [lo, hi] exactly once.
    """
    low, high = band
    if high is None:
        cut = max(low * 2, low + OPEN_BAND_FIRST_CUT) if low else OPEN_BAND_FIRST_CUT
        return (low, cut), (cut + 1, None)
    if high <= low:
        return None
    cut = (low + high) // 2
    if high - low >= ROUND_CUT_WIDTH:
        cut -= cut % 1000
    return (low, cut), (cut + 1, high)


def describe_band(band: Band) -> str:
    """`£100,000-£250,000`, or `£300,000 and up`."""
    low, high = band
    return f"£{low:,} and up" if high is None else f"£{low:,}-£{high:,}"


def _query(params: Iterable[tuple[str, object]]) -> str:
    """A query string of the parameters that have a value."""
    return urlencode([(name, str(value)) for name, value in params if value is not None])


def rightmove_search_url(
    base_url: str, config: SourcesConfig, location_id: str, band: Band, page: int
) -> str:
    """A page (from 1) of a Rightmove API search for one location and price band."""
    types = [RIGHTMOVE_TYPES[kind] for kind in config.property_types or ()]
    params = [
        ("locationIdentifier", location_id),
        ("minPrice", band[0] or None),
        ("maxPrice", band[1]),
        ("minBedrooms", config.bedrooms.min),
        ("maxBedrooms", config.bedrooms.max),
        ("propertyTypes", ",".join(types) or None),
        ("_includeSSTC", "true" if config.include_sstc else None),
        ("index", (page - 1) * PAGE_SIZES["rightmove"]),
        ("sortType", 6),
        ("channel", "BUY"),
        ("transactionType", "BUY"),
    ]
    return f"{base_url}/api/property-search/listing/search?{_query(params)}"


def zoopla_search_url(
    base_url: str, config: SourcesConfig, area_slug: str, band: Band, page: int
) -> str:
    """A page (from 1) of a Zoopla for-sale search for one area and price band."""
    params: list[tuple[str, object]] = [
        ("price_min", band[0] or None),
        ("price_max", band[1]),
        ("beds_min", config.bedrooms.min),
        ("beds_max", config.bedrooms.max),
    ]
    params += [("property_sub_type", ZOOPLA_TYPES[kind]) for kind in config.property_types or ()]
    params += [("results_sort", "newest_listings"), ("search_source", "for-sale"), ("pn", page)]
    return f"{base_url}/for-sale/property/{area_slug}/?{_query(params)}"


def allsop_search_url(base_url: str, auction_id: str, page: int) -> str:
    """A page (from 1) of one Allsop sale's lots from its JSON API."""
    return f"{base_url}/api/search?{_query([('auction_id', auction_id), ('page', page)])}&react"


def allsop_pages(base_url: str, auction_id: str) -> Callable[[Band, int], str]:
    """The page URLs of one Allsop sale (the band is ignored: a sale is never split)."""
    return lambda _band, page: allsop_search_url(base_url, auction_id, page)


def paged_url(url: str, page: int) -> str:
    """A catalogue URL for page `page` (from 1), as Auction House UK pages its catalogues."""
    return url if page == 1 else f"{url}?page={page}"


# -----------------------------------------------------------------------------------------------
# Navigation pages: the auction calendars


def upcoming_allsop_auctions(body: str) -> list[str]:
    """The ids of Allsop's upcoming sales from `/api/auctions/current-and-past`."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise ParseError(f"allsop auction calendar: not JSON ({error})") from error
    future = payload.get("futureResi") if isinstance(payload, dict) else None
    if not isinstance(future, list):
        raise ParseError(
            "allsop auction calendar: no 'futureResi' list of upcoming residential sales; "
            "the API may have changed"
        )
    next_sale = (payload.get("data") or {}).get("next_residential_auction")
    records = [*future, *([next_sale] if isinstance(next_sale, dict) else [])]
    ids = [record.get("allsop_auctionid") for record in records if isinstance(record, dict)]
    return list(dict.fromkeys(auction_id for auction_id in ids if auction_id))


def auctionhouse_catalogues(body: str) -> list[tuple[str, str]]:
    """(region, catalogue path) for each sale on Auction House UK's future-auction calendar.

    A calendar with no sales is an empty list; a page without the calendar table is an error,
    since it means the page changed and "no sales" would be a silent guess.
    """
    page = Selector(text=body)
    if not page.css("table.future-auctions"):
        raise ParseError(
            "auctionhouse auction calendar: no table.future-auctions on the page; the "
            "calendar may have been redesigned"
        )
    found = []
    for link in page.css("table.future-auctions a::attr(href)").getall():
        parts = urlsplit(link).path.strip("/").split("/")
        if len(parts) == 4 and parts[1:3] == ["auction", "lots"] and parts[3].isdigit():
            found.append((parts[0], "/" + "/".join(parts)))
    return list(dict.fromkeys(found))


# -----------------------------------------------------------------------------------------------
# Collecting listings


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """A timestamp as UTC without tzinfo, the form `raw_listings.scraped_at` stores."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def merge_detail(card: NormalisedListing, detail: NormalisedListing | None) -> NormalisedListing:
    """The search card completed by its detail page: every field the detail page gives wins,
    except identity and when it was seen; an auction lot stays one."""
    if detail is None:
        return card
    updates = {
        name: getattr(detail, name)
        for name in LISTING_FIELDS
        if name not in KEPT_FROM_CARD and _given(name, getattr(detail, name))
    }
    if detail.listing_type == "auction_lot":
        updates["listing_type"] = "auction_lot"
    return dataclasses.replace(card, **updates)


def _given(name: str, value: object) -> bool:
    """Whether a detail page actually states this field."""
    if value is None or value == "" or value == []:
        return False
    return not (name == "tenure" and value == "unknown")


class ListingCollector:
    """Listings from parsed pages, in the order their pages were archived: search cards per
    source, and detail-page listings by id to complete them.

    Pages finish parsing in any order (in worker processes, say), so each is added with its
    place in the archive; without one, pages are taken to arrive in archive order.
    """

    def __init__(self) -> None:
        self._pages: dict[str, list[tuple[int, str, list[NormalisedListing]]]] = {}
        self._added = 0

    def add(
        self,
        source: str,
        role: str,
        page: ParsedPage,
        fetched_at: dt.datetime,
        place: int | None = None,
    ) -> None:
        """Take a parsed page's listings, stamped with when the page was fetched."""
        seen_at = naive_utc(fetched_at)
        stamped = [dataclasses.replace(item, scraped_at=seen_at) for item in page.listings]
        self._added += 1
        order = self._added if place is None else place
        self._pages.setdefault(source, []).append((order, role, stamped))

    def _in_archive_order(self, source: str, detail: bool) -> Iterator[NormalisedListing]:
        pages = sorted(self._pages.get(source, []), key=lambda page: page[0])
        for _, role, listings in pages:
            if (role == "detail") == detail:
                yield from listings

    def cards(self, source: str) -> list[NormalisedListing]:
        """The source's search cards, one per id."""
        return dedupe_by_source_id(list(self._in_archive_order(source, detail=False)))

    def listings(self, sources: Sequence[str]) -> list[NormalisedListing]:
        """Every source's cards, each completed by its latest detail page when one was read."""
        merged = []
        for source in sources:
            details = {item.source_id: item for item in self._in_archive_order(source, detail=True)}
            merged += [
                merge_detail(card, details.get(card.source_id)) for card in self.cards(source)
            ]
        return merged


def counts_by_source(
    listings: Iterable[NormalisedListing], sources: Sequence[str]
) -> dict[str, int]:
    """How many listings each source gave, zero included."""
    counted = Counter(listing.source for listing in listings)
    return {source: counted.get(source, 0) for source in sources}


# -----------------------------------------------------------------------------------------------
# The crawl


@dataclass(frozen=True)
class PagedSearch:
    """How to page through one search: its URL for page n, its page size and page cap."""

    source: str
    url_for: Callable[[Band, int], str]
    page_size: int
    max_pages: int | None  # None: the source serves every page

    @property
    def cap(self) -> int | None:
        """The most results the search can show, or None without a cap."""
        return None if self.max_pages is None else self.page_size * self.max_pages


class PageParsing:
    """Parses fetched pages for a crawl: in the event loop at first, then, once the crawl has
    parsed `start_pool_after` pages, in `workers` worker processes.

    Parsing is pure Python and holds the GIL, so in the loop it stalls every fetch and archive
    write; in workers it runs beside them on other cores. Starting a worker costs about a
    second, so small crawls never start one. Workers are spawned (the loop's process holds
    DuckDB's and Dagster's threads); if they cannot start (a script without an
    `if __name__ == "__main__"` guard), pages are parsed in the loop as before.
    """

    def __init__(self, workers: int, start_pool_after: int | None = None) -> None:
        self.workers = workers
        self.start_pool_after = (
            PARSE_POOL_AFTER_PAGES if start_pool_after is None else start_pool_after
        )
        self.parsed = 0
        self.in_workers = 0
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    async def parse(self, body: str, url: str, source: str) -> ParsedPage:
        """The page parsed as `parse_document` parses it, wherever it runs."""
        self.parsed += 1
        pool = self._pool_to_use()
        if pool is None:
            return parse_document(body, url, source)
        loop = asyncio.get_running_loop()
        try:
            parsed = await loop.run_in_executor(pool, parse_document, body, url, source)
        except BrokenProcessPool:
            logger.warning("parsing workers stopped; parsing the rest of the crawl in-process")
            self._broken = True
            return parse_document(body, url, source)
        self.in_workers += 1
        return parsed

    def _pool_to_use(self) -> ProcessPoolExecutor | None:
        if self.workers < 1 or self._broken or self.parsed <= self.start_pool_after:
            return None
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def close(self) -> None:
        """Stop the workers, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def default_parse_workers() -> int:
    """Worker processes for parsing: every core but the one the crawl's event loop runs on."""
    return max(0, (os.cpu_count() or 1) - 1)


@dataclass
class CrawlRun:
    """One day's crawl in progress: the fetcher, the archive and what has been found so far."""

    config: SourcesConfig
    day: dt.date
    archive: PageArchive
    fetcher: Fetcher
    parsing: PageParsing = field(default_factory=lambda: PageParsing(0))
    # Each URL's place in the archive's order (its first indexing), for the collector.
    archive_places: dict[str, int] = field(default_factory=dict)
    collector: ListingCollector = field(default_factory=ListingCollector)
    failures: list[SourceFailure] = field(default_factory=list)
    pages: Counter[str] = field(default_factory=Counter)
    blocked: set[str] = field(default_factory=set)
    lot_regions: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """Headers every request carries: only the sandbox's date, and only in the sandbox."""
        return {SANDBOX_DATE_HEADER: self.day.isoformat()} if self.config.sandbox else {}

    def fail(self, source: str, url: str, reason: str) -> None:
        """Record a failure and log it."""
        logger.warning("%s failed at %s: %s", source, url, reason)
        self.failures.append(SourceFailure(source, url, reason))

    def block(self, source: str, url: str, error: BotChallengeError) -> None:
        """Stop requesting from a source that answered with a bot challenge (recorded once)."""
        if source in self.blocked:
            return
        self.blocked.add(source)
        self.fail(source, url, f"blocked by a bot challenge, so {source} was stopped: {error}")

    async def fetch(self, source: str, url: str, role: str) -> FetchResult | None:
        """Fetch and archive one page; None (with the failure recorded) when that fails."""
        if source in self.blocked:
            return None
        try:
            result = await self.fetcher.get(url, headers=self.headers)
        except BotChallengeError as error:
            self.block(source, url, error)
            return None
        except FetchError as error:
            if role == "detail" and error.status in (404, 410):
                logger.info("%s listing page %s is gone (HTTP %s)", source, url, error.status)
                return None
            self.fail(source, url, str(error))
            return None
        # Compressing and writing the page releases the GIL, so a worker thread does it while
        # this loop parses and fetches. The index line is written here, in the loop, so the
        # archive's order is the order `archive_places` gives the collector.
        entry = await asyncio.to_thread(self.archive.write_result, source, self.day, result, role)
        self.archive.index(source, self.day, entry, sync=False)
        self.archive_places.setdefault(result.url, len(self.archive_places))
        self.pages[source] += 1
        return result

    async def page(self, source: str, url: str, role: str = "search") -> ParsedPage | None:
        """Fetch, archive and parse one listings page, collecting its listings."""
        result = await self.fetch(source, url, role)
        if result is None:
            return None
        try:
            parsed = await self.parsing.parse(result.text, url, source)
        except BotChallengeError as error:
            self.block(source, url, error)
            return None
        except ParseError as error:
            self.fail(source, url, f"could not be parsed: {error}")
            return None
        place = self.archive_places[result.url]
        self.collector.add(source, role, parsed, result.fetched_at, place)
        return parsed

    async def search(self, plan: PagedSearch, band: Band) -> list[ParsedPage]:
        """Every page of one search, splitting its price band while it is over the cap."""
        first_url = plan.url_for(band, 1)
        first = await self.page(plan.source, first_url)
        if first is None:
            return []
        total = first.total_results
        if total is None:
            return [first, *await self.follow_next_links(plan.source, first)]
        cap = plan.cap
        if cap is not None and total > cap:
            halves = split_band(band)
            if halves is not None:
                logger.info(
                    "%s: %d results for %s is over the %d a search shows; splitting the band",
                    plan.source,
                    total,
                    describe_band(band),
                    cap,
                )
                parts = await asyncio.gather(*(self.search(plan, half) for half in halves))
                return [first, *parts[0], *parts[1]]
            self.fail(
                plan.source,
                first_url,
                f"{total:,} results at the single price {describe_band(band)} exceed the "
                f"{cap:,} a search shows; the band cannot be split, so some are missed",
            )
        pages = math.ceil(total / plan.page_size)
        if plan.max_pages is not None:
            pages = min(pages, plan.max_pages)
        numbers = range(2, pages + 1)
        rest = await asyncio.gather(
            *(self.page(plan.source, plan.url_for(band, number)) for number in numbers)
        )
        return [first, *(parsed for parsed in rest if parsed is not None)]

    async def follow_next_links(self, source: str, first: ParsedPage) -> list[ParsedPage]:
        """Page on through the pages' own "next" links when no result count was given."""
        followed: list[ParsedPage] = []
        current = first
        while current.next_page_url and len(followed) < MAX_FOLLOWED_PAGES:
            following = await self.page(source, current.next_page_url)
            if following is None:
                break
            followed.append(following)
            current = following
        return followed

    async def details(self, source: str, url_for: Callable[[NormalisedListing], str]) -> None:
        """Open every card's detail page so its listing can be completed."""
        cards = self.collector.cards(source)
        await asyncio.gather(*(self.page(source, url_for(card), "detail") for card in cards))

    # -- sources ---------------------------------------------------------------------------------

    async def portal(self, source: str) -> None:
        """Every location and price band of one portal's search, then detail pages if asked."""
        build_url, identifier, detail_path = PORTAL_PLANS[source]
        settings = self.config.sources.settings(source)
        searches = [
            PagedSearch(
                source,
                _bound(build_url, settings.base_url, self.config, target),
                PAGE_SIZES[source],
                settings.max_pages,
            )
            for target in _identifiers(self.config.locations, identifier)
        ]
        bands = self.config.search_bands()
        await asyncio.gather(*(self.search(plan, band) for plan in searches for band in bands))
        if settings.detail_pages:
            await self.details(
                source, lambda card: settings.base_url + detail_path.format(id=card.source_id)
            )

    async def calendar(self, source: str, url: str, read: Callable[[str], list[T]]) -> list[T]:
        """Fetch and read an auction calendar; [] (with the failure recorded) if that fails."""
        page = await self.fetch(source, url, "navigation")
        if page is None:
            return []
        try:
            return read(page.text)
        except ParseError as error:
            self.fail(source, url, str(error))
            return []

    async def allsop(self) -> None:
        """The calendar, then every page of each upcoming sale's lots."""
        base_url = self.config.sources.allsop.base_url
        calendar_url = f"{base_url}/api/auctions/current-and-past"
        auction_ids = await self.calendar("allsop", calendar_url, upcoming_allsop_auctions)
        searches = [
            PagedSearch(
                "allsop",
                allsop_pages(base_url, auction_id),
                PAGE_SIZES["allsop"],
                self.config.sources.allsop.max_pages,
            )
            for auction_id in auction_ids
        ]
        await asyncio.gather(*(self.search(plan, (0, None)) for plan in searches))

    async def auctionhouse(self) -> None:
        """The calendar, then every page of each catalogue in the configured regions."""
        settings = self.config.sources.auctionhouse
        calendar_url = f"{settings.base_url}/auction/future-auction-dates"
        catalogues = await self.calendar("auctionhouse", calendar_url, auctionhouse_catalogues)
        wanted = set(settings.regions)
        chosen = [(region, path) for region, path in catalogues if not wanted or region in wanted]
        await asyncio.gather(*(self.catalogue(region, path) for region, path in chosen))
        if settings.detail_pages:
            await self.details("auctionhouse", self.auctionhouse_lot_url)

    def auctionhouse_lot_url(self, card: NormalisedListing) -> str:
        """A lot's own page, under the region whose catalogue listed it."""
        region = self.lot_regions.get(card.source_id, "national")
        return f"{self.config.sources.auctionhouse.base_url}/{region}/auction/lot/{card.source_id}"

    async def catalogue(self, region: str, path: str) -> None:
        """Every page of one Auction House catalogue, noting each lot's region."""
        url = f"{self.config.sources.auctionhouse.base_url}{path}"
        plan = PagedSearch(
            "auctionhouse",
            lambda _band, page: paged_url(url, page),
            PAGE_SIZES["auctionhouse"],
            self.config.sources.auctionhouse.max_pages,
        )
        for parsed in await self.search(plan, (0, None)):
            for lot in parsed.listings:
                self.lot_regions.setdefault(lot.source_id, region)

    async def crawl_source(self, source: str) -> None:
        """One source's whole plan; anything unexpected is that source's failure alone."""
        plans: dict[str, Callable[[], Awaitable[None]]] = {
            "allsop": self.allsop,
            "auctionhouse": self.auctionhouse,
        }
        started = time.perf_counter()
        try:
            if source in PORTAL_PLANS:
                await self.portal(source)
            else:
                await plans[source]()
        except Exception as error:  # one source's bug must not take the others down
            logger.exception("%s crawl stopped by an unexpected error", source)
            base_url = self.config.sources.settings(source).base_url
            self.fail(source, base_url, f"unexpected {type(error).__name__}: {error}")
        await asyncio.to_thread(self.archive.sync_day, source, self.day)
        logger.info(
            "%s: %d pages, %d listings in %.1f s",
            source,
            self.pages[source],
            len(self.collector.cards(source)),
            time.perf_counter() - started,
        )


# Per portal: its search URL builder, the location key it searches by, its detail page path.
PORTAL_PLANS: dict[str, tuple[Callable[[str, SourcesConfig, str, Band, int], str], str, str]] = {
    "rightmove": (rightmove_search_url, "rightmove_id", "/properties/{id}"),
    "zoopla": (zoopla_search_url, "zoopla_slug", "/for-sale/details/{id}/"),
}


def _identifiers(locations: Sequence[Location], key: str) -> list[str]:
    """Each location's identifier for one portal, skipping locations without one, no repeats."""
    found = (getattr(location, key) for location in locations)
    return list(dict.fromkeys(value for value in found if value))


def _bound(
    build: Callable[[str, SourcesConfig, str, Band, int], str],
    base_url: str,
    config: SourcesConfig,
    target: str,
) -> Callable[[Band, int], str]:
    """A search URL builder with its site, config and location fixed."""
    return lambda band, page: build(base_url, config, target, band, page)


async def crawl(
    config: SourcesConfig,
    day: dt.date,
    archive: PageArchive,
    client_factory: ClientFactory | None = None,
) -> CrawlResult:
    """Crawl every switched-on source for `day`, archiving each page, and return the listings,
    the failures and the page counts. `client_factory` replaces the HTTP client (tests)."""
    started = time.perf_counter()
    sources = config.enabled_sources()
    policy = config.fetch.policy()
    if client_factory is None:
        client = make_client(policy, trust_env=not config.sandbox)
    else:
        client = client_factory(policy)
    logger.info("crawling %s for %s", ", ".join(sources) or "no sources", day.isoformat())

    parse_workers = config.fetch.parse_workers
    parsing = PageParsing(default_parse_workers() if parse_workers is None else parse_workers)
    try:
        async with client:
            run = CrawlRun(config, day, archive, Fetcher(policy, client), parsing)
            await asyncio.gather(*(run.crawl_source(source) for source in sources))
    finally:
        parsing.close()

    listings = run.collector.listings(sources)
    duration = time.perf_counter() - started
    logger.info(
        "crawled %d listings from %d pages (%d parsed in worker processes) for %s in %.1f s "
        "with %d failures",
        len(listings),
        sum(run.pages.values()),
        parsing.in_workers,
        day.isoformat(),
        duration,
        len(run.failures),
    )
    return CrawlResult(
        listings=listings,
        failures=run.failures,
        pages_fetched={source: run.pages.get(source, 0) for source in sources},
        per_source_counts=counts_by_source(listings, sources),
        duration=duration,
    )


def reparse_archive(
    archive: PageArchive, day: dt.date, sources: Sequence[str] = SOURCE_NAMES
) -> CrawlResult:
    """The day's listings again from its archived pages with today's parsers, no network.

    A source with nothing archived for the day, and any page that no longer parses, is a
    failure in the result, as in a crawl.
    """
    started = time.perf_counter()
    collector = ListingCollector()
    failures: list[SourceFailure] = []
    pages: Counter[str] = Counter()
    for source in sources:
        if not archive.has_day(source, day):
            failures.append(
                SourceFailure(source, "", f"nothing archived for {day.isoformat()}; crawl it")
            )
            continue
        for archived in archive.pages(source, day):
            pages[source] += 1
            if archived.role == "navigation":
                continue
            try:
                parsed = parse_document(archived.text(), archived.url, source)
            except (ParseError, BotChallengeError, ArchiveError) as error:
                failures.append(
                    SourceFailure(source, archived.url, f"could not be re-parsed: {error}")
                )
                continue
            collector.add(source, archived.role, parsed, archived.fetched_at)

    listings = collector.listings(sources)
    return CrawlResult(
        listings=listings,
        failures=failures,
        pages_fetched={source: pages.get(source, 0) for source in sources},
        per_source_counts=counts_by_source(listings, sources),
        duration=time.perf_counter() - started,
    )
