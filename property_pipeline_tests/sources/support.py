"""Helpers the parser tests share: listings by id, and fetching pages from a running sandbox."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from property_pipeline.sources.listing import NormalisedListing, ParsedPage


def by_id(page: ParsedPage) -> dict[str, NormalisedListing]:
    """A parsed page's listings keyed by their source id."""
    return {listing.source_id: listing for listing in page.listings}


def fetch(url: str) -> httpx.Response:
    """GET `url` from the sandbox, which must answer 200."""
    response = httpx.get(url, timeout=10, trust_env=False)
    assert response.status_code == 200, (url, response.status_code)
    return response


def all_pages(url: str, parse: Callable[[str, str], ParsedPage]) -> list[ParsedPage]:
    """Every page of a search, from `url` on, following each page's next-page link."""
    pages: list[ParsedPage] = []
    next_url: str | None = url
    while next_url:
        pages.append(parse(fetch(next_url).text, next_url))
        next_url = pages[-1].next_page_url
    return pages
