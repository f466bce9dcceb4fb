"""The code location: every asset, job, schedule and resource of the pipeline."""

import warnings

import dagster as dg

from property_pipeline.enrichment.assets import enriched
from property_pipeline.ingest.assets import (
    deduped_listings,
    listing_history,
    listing_price_history,
    property_links,
)
from property_pipeline.notify.assets import digests
from property_pipeline.notify.sensors import NOTIFY_SENSORS
from property_pipeline.reporting.assets import weekly_stats
from property_pipeline.resources import build_resources
from property_pipeline.schedules import jobs, schedules
from property_pipeline.scoring.assets import scored
from property_pipeline.screening.assets import listing_features, screened
from property_pipeline.sources.assets import raw_listings
from property_pipeline.warehouse.checks import with_freshness

ASSETS = [
    raw_listings,
    listing_history,
    property_links,
    deduped_listings,
    listing_price_history,
    listing_features,
    screened,
    enriched,
    scored,
    digests,
    weekly_stats,
]
# Every asset on daily partitions, upstream first: what one day's full run materialises.
DAILY_ASSET_NAMES = tuple(
    asset.key.to_user_string() for asset in ASSETS if asset is not weekly_stats
)

# Mapping specs (to add freshness deadlines) is a preview API in Dagster 1.13.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)
    defs = dg.Definitions(
        assets=ASSETS,
        jobs=jobs,
        schedules=schedules,
        sensors=NOTIFY_SENSORS,
        resources=build_resources(),
        # Steps of one run go one at a time: every step writes the same single-writer DuckDB file.
        executor=dg.in_process_executor,
    ).map_asset_specs(func=with_freshness)
