"""The code location: every asset, job, schedule and resource of the pipeline."""

import dagster as dg

from property_pipeline.enrichment.assets import enriched
from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.notify.assets import digests
from property_pipeline.reporting.assets import weekly_stats
from property_pipeline.resources import build_resources
from property_pipeline.schedules import jobs, schedules
from property_pipeline.scoring.assets import scored
from property_pipeline.screening.assets import screened
from property_pipeline.sources.assets import raw_listings

ASSETS = [raw_listings, deduped_listings, screened, enriched, scored, digests, weekly_stats]

defs = dg.Definitions(
    assets=ASSETS,
    jobs=jobs,
    schedules=schedules,
    resources=build_resources(),
    # Steps of one run go one at a time: every step writes the same single-writer DuckDB file.
    executor=dg.in_process_executor,
)
