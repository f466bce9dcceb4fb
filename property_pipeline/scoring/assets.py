"""Dagster wiring for the scoring stage: a 0-100 score, a band and the reasons, per listing."""

import time
from typing import Any

import dagster as dg

from property_pipeline.partitions import daily_partitions
from property_pipeline.scoring.config import load_scoring_config
from property_pipeline.scoring.params import scored_params
from property_pipeline.warehouse.checks import table_check_specs
from property_pipeline.warehouse.materialize import (
    WAREHOUSE_POOL,
    materialize_model,
    partition_date,
)
from property_pipeline.warehouse.resource import WarehouseResource

SCORE_IN_RANGE = "score_within_0_100"
BREAKDOWN_ADDS_UP = "breakdown_adds_up_to_score"

# The breakdown's points, penalties, clamp, caps and rounding, which must add up to the score.
BREAKDOWN_TOTAL_SQL = """
    list_sum(list_transform(
        json_extract_string(score_breakdown, '$.components[*].points'),
        lambda p: p::decimal(10, 2)))
    + list_sum(list_transform(
        json_extract_string(score_breakdown, '$.penalties[*].points'),
        lambda p: p::decimal(10, 2)))
    + coalesce(list_sum(list_transform(
        json_extract_string(score_breakdown, '$.caps[*].points'),
        lambda p: p::decimal(10, 2))), 0)
    + json_extract_string(score_breakdown, '$.clamp')::decimal(10, 2)
    + json_extract_string(score_breakdown, '$.rounding')::decimal(10, 2)
"""

CHECKS_SQL = f"""
    select
        count(*) as rows,
        count(*) filter (where score < 0 or score > 100) as out_of_range,
        count(*) filter (where ({BREAKDOWN_TOTAL_SQL}) <> score) as not_adding_up,
        count(*) filter (where band = 'hot') as hot,
        count(*) filter (where band = 'good') as good,
        count(*) filter (where band = 'watchlist') as watchlist,
        count(*) filter (where band = 'pass') as pass
    from scored
    where partition_date = $day
"""

TOP_TEN_SQL = """
    select rank_in_partition, score, band, headline, url
    from scored
    where partition_date = $day
    order by rank_in_partition
    limit 10
"""


@dg.asset(
    partitions_def=daily_partitions,
    group_name="scoring",
    # Named by key so this module imports without the upstream stages' modules.
    deps=["enriched", "screened", "listing_features", "deduped_listings"],
    pool=WAREHOUSE_POOL,
    kinds={"sql", "duckdb"},
    check_specs=[
        dg.AssetCheckSpec(SCORE_IN_RANGE, asset="scored", description="Every score is 0-100."),
        dg.AssetCheckSpec(
            BREAKDOWN_ADDS_UP,
            asset="scored",
            description="Points, penalties, clamp, caps and rounding add up to each score.",
        ),
        *table_check_specs("scored", non_empty=False, unique=True),
    ],
)
def scored(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every analysed listing valued, costed and scored 0-100 with its band and reasons.

    Built by `dbt_like_sql/scoring/scored.sql` with the numbers of `scoring/scoring.yaml` (or
    `$PROPERTY_PIPELINE_SCORING`) and the land tax tables of `scoring/tax.py`; the breakdown
    stored beside each score shows the UI, digest and Slack alert why it scored so.
    """
    day = partition_date(context)
    config = load_scoring_config()
    started = time.perf_counter()

    written = materialize_model(context, warehouse, scored_params(config, day))

    checks = warehouse.query_frame(CHECKS_SQL, {"day": day}).iloc[0]
    top_ten = warehouse.query_frame(TOP_TEN_SQL, {"day": day})
    bands = {band: int(checks[band]) for band in ("hot", "good", "watchlist", "pass")}
    seconds = time.perf_counter() - started
    context.log.info(
        f"scored {int(checks['rows'])} listings for {day} in {seconds:.2f}s: "
        + ", ".join(f"{count} {band}" for band, count in bands.items())
    )
    return dg.MaterializeResult(
        metadata={
            **(written.metadata or {}),
            "rows": int(checks["rows"]),
            **{f"band_{band}": count for band, count in bands.items()},
            "top_ten": dg.MetadataValue.md(top_ten_markdown(top_ten.to_dict("records"))),
            "scoring_duration_seconds": round(seconds, 3),
        },
        check_results=[
            _check(SCORE_IN_RANGE, int(checks["out_of_range"]), "scores outside 0-100"),
            _check(BREAKDOWN_ADDS_UP, int(checks["not_adding_up"]), "breakdowns not adding up"),
            # One row per listing: the warehouse's shared check, run as the model was written.
            *(written.check_results or []),
        ],
    )


def _check(name: str, failures: int, what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name, asset_key="scored", passed=failures == 0, metadata={what: failures}
    )


def top_ten_markdown(rows: list[dict[str, Any]]) -> str:
    """The day's best ten as a Markdown table for the asset's metadata."""
    if not rows:
        return "No listing was scored for this day."
    lines = ["| rank | score | band | listing |", "| --- | --- | --- | --- |"]
    for row in rows:
        title = str(row["headline"]).replace("|", "/")
        listing = f"[{title}]({row['url']})" if row.get("url") else title
        lines.append(f"| {row['rank_in_partition']} | {row['score']} | {row['band']} | {listing} |")
    return "\n".join(lines)
