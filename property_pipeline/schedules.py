"""Jobs and the schedules that run them, all on UK local time (Europe/London)."""

from __future__ import annotations

import dagster as dg

from property_pipeline import settings
from property_pipeline.enrichment.assets import enriched
from property_pipeline.ingest.assets import INGEST_ASSETS
from property_pipeline.notify.assets import digests
from property_pipeline.partitions import TIMEZONE
from property_pipeline.reporting.assets import weekly_stats
from property_pipeline.scoring.assets import scored
from property_pipeline.screening.assets import listing_features, screened
from property_pipeline.sources.assets import raw_listings

ENRICH_CRON = "0 9-17/2 * * *"

scrape_job = dg.define_asset_job(
    "scrape_job",
    selection=[raw_listings, *INGEST_ASSETS, listing_features, screened],
    description="Scrape every source, dedupe and screen the day's listings.",
)
enrich_job = dg.define_asset_job(
    "enrich_job",
    selection=[enriched, scored],
    description="Enrich the next batch of pending listings and score them.",
)
digest_job = dg.define_asset_job(
    "digest_job",
    selection=[digests],
    description="Rank the day's scored deals into hot, good and watchlist digests.",
)
weekly_stats_job = dg.define_asset_job(
    "weekly_stats_job",
    selection=[weekly_stats],
    description="Compute the past week's market statistics.",
)

scrape_schedule = dg.build_schedule_from_partitioned_job(
    scrape_job,
    name="scrape_schedule",
    hour_of_day=7,
    description="07:00 UK time: scrape, dedupe and screen today's listings.",
)
digest_schedule = dg.build_schedule_from_partitioned_job(
    digest_job,
    name="digest_schedule",
    hour_of_day=18,
    description="18:00 UK time: today's digest of scored deals.",
)
weekly_stats_schedule = dg.build_schedule_from_partitioned_job(
    weekly_stats_job,
    name="weekly_stats_schedule",
    day_of_week=1,
    hour_of_day=9,
    description="Monday 09:00 UK time: statistics for the week that ended on Sunday.",
)


@dg.schedule(
    name="enrich_schedule",
    cron_schedule=ENRICH_CRON,
    execution_timezone=TIMEZONE,
    job=enrich_job,
    description=(
        "Every two hours from 09:00 to 17:00 UK time: enrich and score the next batch of today's"
        f" pending listings (batch size from ${settings.ENRICH_BATCH_SIZE_ENV}, default"
        f" {settings.DEFAULT_ENRICH_BATCH_SIZE})."
    ),
)
def enrich_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Request today's partition, keyed by the tick so each two-hourly run happens once."""
    tick = context.scheduled_execution_time
    day = tick.date().isoformat()
    batch_size = settings.enrich_batch_size()
    return dg.RunRequest(
        run_key=f"{day}-{tick:%H%M}",
        partition_key=day,
        run_config=dg.RunConfig(ops={"enriched": {"config": {"batch_size": batch_size}}}),
        tags={"enrich/batch_size": str(batch_size)},
    )


jobs = [scrape_job, enrich_job, digest_job, weekly_stats_job]
schedules = [scrape_schedule, enrich_schedule, digest_schedule, weekly_stats_schedule]
