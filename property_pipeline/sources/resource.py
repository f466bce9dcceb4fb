"""Where the day's listings come from: the real portals, the sandbox, or the built-in sample."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from property_pipeline.sources.archive import PageArchive, default_archive_root
from property_pipeline.sources.builtin import builtin_listings
from property_pipeline.sources.config import SourcesConfig, load_config
from property_pipeline.sources.crawl import SourceFailure, crawl, reparse_archive
from property_pipeline.sources.listing import LISTING_FIELDS, NormalisedListing

MODES = ("live", "sandbox", "sample")


@dataclass
class CollectedListings:
    """The day's listings and how they were obtained, for the asset to store and report."""

    listings: pd.DataFrame
    how: str  # "crawled", "re-parsed the archive", "built-in sample"
    sources: tuple[str, ...]
    failures: list[SourceFailure] = field(default_factory=list)
    pages_fetched: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def counts_by_source(self) -> dict[str, int]:
        counts = self.listings["source"].value_counts().to_dict() if len(self.listings) else {}
        return {source: int(counts.get(source, 0)) for source in self.sources}


class ListingSourcesResource(dg.ConfigurableResource):
    """The scrapers' settings: which sites (live, the loopback sandbox or the built-in sample),
    which targets file, and where fetched pages are archived for re-parsing."""

    mode: str = Field(default="sample", description="live, sandbox or sample")
    sandbox_url: str = Field(default="", description="sandbox root, e.g. http://127.0.0.1:8765")
    targets_path: str = Field(default="", description="targets YAML; empty: the shipped one")
    archive_root: str = Field(default="", description="page archive folder; empty: data/archive")
    refetch: bool = Field(
        default=False, description="crawl again even when a past day's pages are archived"
    )

    def targets(self) -> SourcesConfig:
        """The validated targets, pointed at the sandbox in sandbox mode."""
        if self.mode not in MODES:
            raise ValueError(f"listing sources mode {self.mode!r} is not one of {MODES}")
        config = load_config(self.targets_path or None)
        if self.mode != "sandbox":
            return config
        if not self.sandbox_url:
            raise ValueError("listing sources mode 'sandbox' needs sandbox_url")
        return config.for_sandbox(self.sandbox_url)

    def archive(self) -> PageArchive:
        return PageArchive(Path(self.archive_root) if self.archive_root else default_archive_root())

    def collect(self, day: dt.date, today: dt.date) -> CollectedListings:
        """The listings seen on `day`: crawled, or re-parsed from a past day's archive."""
        if self.mode == "sample":
            started = time.perf_counter()
            sample = builtin_listings(day)
            sources = tuple(sorted(sample["source"].unique())) if len(sample) else ()
            return CollectedListings(
                sample, "built-in sample", sources, seconds=time.perf_counter() - started
            )

        config = self.targets()
        sources = config.enabled_sources()
        archive = self.archive()
        archived = all(archive.has_day(source, day) for source in sources)
        if day < today and archived and not self.refetch:
            result, how = reparse_archive(archive, day, sources), "re-parsed the archive"
        elif self.mode == "live" and day != today:
            # The live sites only ever show today's market: crawling them for another day
            # would file today's listings under the wrong date, so use what was archived.
            result, how = reparse_archive(archive, day, sources), "re-parsed the archive"
            result.failures = [_explain_live_gap(failure, day) for failure in result.failures]
        else:
            result, how = asyncio.run(crawl(config, day, archive)), "crawled"

        return CollectedListings(
            listings=listings_frame(result.listings),
            how=how,
            sources=sources,
            failures=result.failures,
            pages_fetched=result.pages_fetched,
            seconds=result.duration,
        )


def _explain_live_gap(failure: SourceFailure, day: dt.date) -> SourceFailure:
    if failure.url:
        return failure
    reason = f"no archived pages for {day}, and the live sites only show today's listings"
    return SourceFailure(failure.source, failure.url, reason)


def listings_frame(listings: list[NormalisedListing]) -> pd.DataFrame:
    """Normalised listings as a DataFrame with the `raw_listings` columns, in order."""
    return pd.DataFrame([listing.to_record() for listing in listings], columns=list(LISTING_FIELDS))
