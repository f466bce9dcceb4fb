"""The calendar the pipeline runs on: UK days and Monday-to-Sunday weeks, in Europe/London."""

import dagster as dg

TIMEZONE = "Europe/London"

# end_offset=1 makes today a valid partition: the 07:00 scrape records the listings seen today,
# not yesterday's, and the enrichment and digest runs later that day work on the same date.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date="2025-01-01",
    timezone=TIMEZONE,
    end_offset=1,
)

# day_offset=1 starts weeks on Monday; a week becomes a partition once its Sunday has ended.
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date="2024-12-30",
    timezone=TIMEZONE,
    day_offset=1,
)
