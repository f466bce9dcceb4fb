"""Pages parsed a second for every page format: the real captures and the sandbox's pages.

The pages are gathered once (captures read from ../shared/fixtures, sandbox pages fetched from a
SandboxServer over loopback), then each format's pages are parsed in a fresh process for at
least `min_seconds`, with detection included, as the crawler does it.
"""

from __future__ import annotations

import datetime as dt
import pickle
import time
from pathlib import Path
from typing import Any

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
SANDBOX_DAY = dt.date(2026, 6, 15)
# Real captures that are pages of a known format (the Cloudflare challenge is not one).
CAPTURES = (
    "rightmove/api_search_properties_cornwall_2026-01_scrapfly.json",
    "rightmove/detail_PAGE_MODEL_171844895_headington_2026-02_browser_pws.html",
    "rightmove/detail_162171665_wharf_road_islington_2025-09_full.html",
    "rightmove/detail_PACKED___PAGE_MODEL_91588293_collingham_road_SW5_2026-08.html",
    "rightmove/search_jsonModel_peckham_drawn_area_2018-03_full.html",
    "zoopla/detail_RSC_71365505_herne_bay_2026-02_browser_pws.html",
    "zoopla/nextdata_regularListingsFormatted_london_2023-11_scrapfly.json",
    "zoopla/search_rsc_E14_torent_2026-09_trimmed_alexremnev.html",
    "auctions/allsop_api_auctions_R260430_2026-04.json",
    "auctions/allsop_api_search_R260430_slice5lots_2026-04.json",
)

Page = tuple[str, str, str | None]  # origin ("capture" or "sandbox"), body, url


def capture_pages(fixtures: Path = SHARED_FIXTURES) -> list[Page]:
    """Every real capture that parses, or none when the shared folder is absent."""
    if not fixtures.is_dir():
        return []
    return [("capture", (fixtures / name).read_text(encoding="utf-8"), None) for name in CAPTURES]


def sandbox_pages(per_kind: int) -> list[Page]:
    """Up to `per_kind` pages of each sandbox page kind, fetched from a sandbox on loopback."""
    import httpx

    from property_pipeline.sandbox import auctions as sandbox_auctions
    from property_pipeline.sandbox.context import SandboxConfig
    from property_pipeline.sandbox.server import SandboxServer

    with SandboxServer(SandboxConfig(date=SANDBOX_DAY)) as sandbox:
        market = sandbox.context.market
        urls: list[str] = []
        rightmove, zoopla = sandbox.url("rightmove"), sandbox.url("zoopla")
        for location in market.locations()[:per_kind]:
            query = f"locationIdentifier={location.rightmove_id}&index=0"
            urls.append(f"{rightmove}/property-for-sale/find.html?{query}")
            urls.append(f"{rightmove}/api/property-search/listing/search?{query}")
            urls.append(f"{zoopla}/for-sale/property/{location.zoopla_slug}/")
        for listing in market.search(SANDBOX_DAY, "rightmove")[:per_kind]:
            urls.append(f"{rightmove}/properties/{listing.source_id}")
        for listing in market.search(SANDBOX_DAY, "zoopla")[:per_kind]:
            urls.append(f"{zoopla}/for-sale/details/{listing.source_id}/")
        allsop = [a for a in market.auctions("allsop", SANDBOX_DAY)][:per_kind]
        for auction in allsop:
            base = f"{sandbox.url('allsop')}/api"
            urls.append(f"{base}/search?auction_id={auction.auction_id}&react")
            urls.append(f"{base}/auctions/{auction.auction_id}?react")
        for house in [a for a in market.auctions("auctionhouse", SANDBOX_DAY)][:per_kind]:
            branch = sandbox_auctions.named_branch(house)
            root = f"{sandbox.url('auctionhouse')}/{branch}/auction"
            urls.append(f"{root}/lots/{sandbox_auctions.auction_number(house)}")
            lots = market.lots(house.auction_id, SANDBOX_DAY)
            urls.extend(f"{root}/lot/{lot.source_id}" for lot in lots[:per_kind])
        with httpx.Client(timeout=30) as client:
            bodies = [(url, client.get(url)) for url in urls]
    return [("sandbox", response.text, url) for url, response in bodies if response.is_success]


def gather_pages(path: Path, per_kind: int) -> dict[str, int]:
    """Write every page with its detected format to `path` (a pickle); pages per format."""
    from property_pipeline.sources.parsers.detect import detect_format

    grouped: dict[str, list[tuple[str, str | None]]] = {}
    for origin, body, url in capture_pages() + sandbox_pages(per_kind):
        try:
            found = detect_format(body, url)
        except Exception:  # a page the sandbox rendered empty, say: not a format to time
            continue
        grouped.setdefault(f"{origin}:{found}", []).append((body, url))
    path.write_bytes(pickle.dumps(grouped))
    return {name: len(pages) for name, pages in grouped.items()}


def parse_formats(pages_path: str, min_seconds: float) -> dict[str, Any]:
    """In a child: parse each format's pages over and over for `min_seconds`; pages a second.

    The rate is given by wall time and by this process's CPU time; the CPU rate is the one to
    trust on a machine busy with other work.
    """
    from property_pipeline.sources.parsers.detect import parse_document

    grouped = pickle.loads(Path(pages_path).read_bytes())
    formats: dict[str, dict[str, float]] = {}
    for name, pages in sorted(grouped.items()):
        parse_document(*pages[0])  # the first call pays for lazy imports
        parsed = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        while time.perf_counter() - started < min_seconds:
            for body, url in pages:
                parse_document(body, url)
                parsed += 1
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        formats[name] = {
            "pages": parsed,
            "pages_per_s": parsed / seconds,
            "pages_per_cpu_s": parsed / cpu if cpu else 0.0,
            "distinct_pages": len(pages),
            "mean_page_kb": sum(len(body) for body, _ in pages) / len(pages) / 1024,
        }
    return {"formats": formats}
