"""Dagster wiring for the sources stage: the day's raw listings from every configured source."""

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from property_pipeline.partitions import TIMEZONE, daily_partitions
from property_pipeline.sources.crawl import SourceFailure
from property_pipeline.sources.resource import ListingSourcesResource
from property_pipeline.warehouse.materialize import (
    WAREHOUSE_POOL,
    materialize_frame,
    partition_date,
)
from property_pipeline.warehouse.resource import WarehouseResource

VOLUME_CHECK = "source_volumes"
# A source is "far below its recent days" under half the median of the previous week's counts.
LOW_VOLUME_SHARE = 0.5
RECENT_DAYS = 7

RECENT_COUNTS_SQL = """
    with per_day as (
        select partition_date, source, count(*) as listings
        from raw_listings
        where partition_date >= $day::date - $days::integer
            and partition_date < $day::date
        group by partition_date, source
    )
    select source, median(listings) as median_listings
    from per_day
    group by source
"""


@dg.asset(
    partitions_def=daily_partitions,
    group_name="sources",
    pool=WAREHOUSE_POOL,
    kinds={"python", "duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            VOLUME_CHECK,
            asset="raw_listings",
            description=(
                "Every configured source yielded listings today, and none fewer than half its"
                " median of the previous seven days."
            ),
        )
    ],
)
def raw_listings(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    listing_sources: ListingSourcesResource,
) -> dg.MaterializeResult:
    """Every listing seen on the day from every configured source, normalised to one schema.

    Rightmove, Zoopla, Allsop and Auction House searches from the targets file, fetched politely
    and archived; a past day is re-parsed from its archive. A failing source does not stop the
    others, and keeps the rows it gave earlier for the day.
    """
    day = partition_date(context)
    collected = listing_sources.collect(day, dt.datetime.now(ZoneInfo(TIMEZONE)).date())
    counts = collected.counts_by_source()
    context.log.info(
        f"{collected.how} for {day} ({listing_sources.mode} mode): {len(collected.listings)}"
        f" listings {counts} from {sum(collected.pages_fetched.values())} pages"
        f" in {collected.seconds:.1f}s"
    )
    for failure in collected.failures:
        context.log.warning(f"{failure.source} failed at {failure.url or '-'}: {failure.reason}")
    failed_sources = sorted({failure.source for failure in collected.failures})

    recent = warehouse.query_frame(RECENT_COUNTS_SQL, {"day": day, "days": RECENT_DAYS})
    volume = volume_check(counts, dict(zip(recent.source, recent.median_listings, strict=True)))
    warehouse.replace_partition_from_frame(
        "source_failures", day, failures_frame(collected.failures)
    )

    return materialize_frame(
        context,
        warehouse,
        collected.listings,
        {
            "collected_by": collected.how,
            "listings_by_source": dg.MetadataValue.json(counts),
            "pages_fetched": dg.MetadataValue.json(collected.pages_fetched),
            "failed_sources": dg.MetadataValue.json(failed_sources),
            "failures": dg.MetadataValue.md(failures_markdown(collected.failures)),
        },
        keep_stored_for_sources=failed_sources,
        check_results=[volume],
    )


def volume_check(
    counts: Mapping[str, int], recent_medians: Mapping[str, float]
) -> dg.AssetCheckResult:
    """Fail when a source yielded nothing, or under half its recent daily median."""
    problems = []
    for source, count in counts.items():
        median = recent_medians.get(source)
        if count == 0:
            problems.append(f"{source} yielded no listings")
        elif median and count < LOW_VOLUME_SHARE * median:
            problems.append(
                f"{source} yielded {count} listings against a recent median of {median:g}"
            )
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "every source within its usual volume",
        metadata={
            "listings_by_source": dg.MetadataValue.json(dict(counts)),
            "recent_median_by_source": dg.MetadataValue.json(
                {source: float(value) for source, value in recent_medians.items()}
            ),
        },
    )


def failures_frame(failures: list[SourceFailure]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"source": f.source, "url": f.url or None, "reason": f.reason} for f in failures],
        columns=["source", "url", "reason"],
    )


def failures_markdown(failures: list[SourceFailure]) -> str:
    if not failures:
        return "No failures."
    rows = [f"| {f.source} | {f.url or '-'} | {f.reason} |" for f in failures[:50]]
    more = (
        [f"\n{len(failures) - 50} more in the source_failures table."] if len(failures) > 50 else []
    )
    return "\n".join(["| source | url | reason |", "|---|---|---|", *rows, *more])
