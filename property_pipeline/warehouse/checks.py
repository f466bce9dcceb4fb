"""Checks every day's tables share, run as part of writing them: what goes red in the UI.

A partition that came out empty means a day lost upstream; a listing stored twice means a join
went wrong. Each asset declares the checks that apply to it (`table_check_specs`), and the
warehouse evaluates them right after the write (`table_check_results`), so they show on every
materialisation. Stage-specific checks live with their asset (`source_volumes` on raw_listings,
score bounds on scored).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from property_pipeline.warehouse.resource import WarehouseResource

NON_EMPTY = "non_empty_partition"
UNIQUE_LISTING = "unique_listing_key"


def table_check_specs(table: str, *, non_empty: bool, unique: bool) -> list[dg.AssetCheckSpec]:
    """The shared checks `table`'s asset runs on each partition it writes."""
    specs = []
    if non_empty:
        specs.append(
            dg.AssetCheckSpec(
                NON_EMPTY, asset=table, description=f"The day's {table} partition has rows."
            )
        )
    if unique:
        specs.append(
            dg.AssetCheckSpec(
                UNIQUE_LISTING,
                asset=table,
                description=f"Each listing appears once in the day's {table} partition.",
            )
        )
    return specs


def table_check_results(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, table: str, day: dt.date
) -> list[dg.AssetCheckResult]:
    """The shared checks selected for this run of `table`'s asset, evaluated on its partition."""
    selected = {key.name for key in context.selected_asset_check_keys}
    results = []
    if NON_EMPTY in selected:
        rows = warehouse.partition_row_count(table, day)
        results.append(
            dg.AssetCheckResult(
                check_name=NON_EMPTY,
                passed=rows > 0,
                metadata={"partition": day.isoformat(), "rows": rows},
                description=None if rows else f"{table} holds no rows for {day}",
            )
        )
    if UNIQUE_LISTING in selected:
        duplicated = duplicated_listings(warehouse, table, day)
        results.append(
            dg.AssetCheckResult(
                check_name=UNIQUE_LISTING,
                passed=not duplicated,
                metadata={
                    "partition": day.isoformat(),
                    "duplicated_listings": len(duplicated),
                    "examples": ", ".join(duplicated[:5]) or "none",
                },
            )
        )
    return results


def duplicated_listings(warehouse: WarehouseResource, table: str, day: dt.date) -> list[str]:
    """Listing keys stored more than once in one partition of `table`."""
    frame = warehouse.query_frame(
        f"""
        select listing_key
        from {table}
        where partition_date = $day
        group by listing_key
        having count(*) > 1
        order by listing_key
        """,
        {"day": day},
    )
    return frame["listing_key"].tolist()


# When each asset's partition for today must have landed (UK time), an hour or so after its
# schedule; the UI marks the asset stale past the deadline.
FRESHNESS_DEADLINES = {
    "raw_listings": "30 8 * * *",
    "screened": "30 8 * * *",
    "scored": "30 17 * * *",
    "digests": "30 18 * * *",
    "weekly_stats": "30 9 * * 1",
}


def with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec with its freshness deadline, for the assets that have one."""
    name = spec.key.to_user_string()
    deadline = FRESHNESS_DEADLINES.get(name)
    if deadline is None:
        return spec
    policy = dg.FreshnessPolicy.cron(
        deadline_cron=deadline,
        lower_bound_delta=dt.timedelta(days=7 if name == "weekly_stats" else 1),
        timezone="Europe/London",
    )
    return dg.apply_freshness_policy(spec, policy)
