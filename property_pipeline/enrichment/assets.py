"""Dagster wiring for the enrichment stage: evidence for the listings screening let through.

One run of `enriched` takes every listing still pending on its day through the cheap lookups
(the EPC register, Land Registry comparables), ranks them by a preliminary score, and sends the
most promising `batch_size` of them through the costly reading of their text. Those become
`analysed`; the rest, and any whose lookup failed, stay `pending_enrichment` for the next run.
"""

import datetime as dt
import time
from typing import Any

import dagster as dg
import pandas as pd

from property_pipeline import settings
from property_pipeline.enrichment.analysis import (
    RESULT_COLUMNS,
    ListingReader,
    analyse_listings,
)
from property_pipeline.enrichment.candidates import (
    ANALYSED_SQL,
    pending_listings,
    preliminary_scores,
)
from property_pipeline.enrichment.comparables import VALUE_COLUMNS, value_listings
from property_pipeline.enrichment.epc import MATCH_COLUMNS, EpcResource, lookup_certificates
from property_pipeline.ingest.assets import deduped_listings
from property_pipeline.partitions import daily_partitions
from property_pipeline.screening.assets import screened
from property_pipeline.warehouse import store
from property_pipeline.warehouse.checks import table_check_results, table_check_specs
from property_pipeline.warehouse.materialize import WAREHOUSE_POOL, partition_date
from property_pipeline.warehouse.resource import WarehouseResource

ANALYSED = "analysed"
LOOKUPS_SUCCEEDED = "lookups_succeeded"
PENDING = "pending_enrichment"


class EnrichmentConfig(dg.Config):
    """How many pending listings one run sends through the costly AI reading."""

    batch_size: int = settings.DEFAULT_ENRICH_BATCH_SIZE


@dg.asset(
    partitions_def=daily_partitions,
    group_name="enrichment",
    deps=[screened, deduped_listings],
    pool=WAREHOUSE_POOL,
    kinds={"python", "duckdb", "openai"},
    check_specs=[
        *table_check_specs("enriched", non_empty=False, unique=True),
        dg.AssetCheckSpec(
            LOOKUPS_SUCCEEDED,
            asset="enriched",
            description="Every EPC look-up and model reading of the run succeeded; a failed one "
            "leaves its listing pending, to be retried by the next run.",
        ),
    ],
)
def enriched(
    context: dg.AssetExecutionContext,
    config: EnrichmentConfig,
    warehouse: WarehouseResource,
    epc: EpcResource,
    listing_reader: ListingReader,
) -> dg.MaterializeResult:
    """Evidence for each listing screened in today: EPC, comparables' value, a reading of its text.

    Its EPC certificate, the value its Land Registry comparables imply (rows in `comparables`),
    and a structured reading of its words by the model, or by rules without an OpenAI key.
    Every pending listing gets the cheap lookups; the `batch_size` most promising (by a
    preliminary score) are read by the model and become `analysed`. A listing whose lookup failed
    stays pending with the error and is retried by the next run. Earlier runs' results are kept.
    """
    if config.batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {config.batch_size}")
    day = partition_date(context)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    # Known shortcoming: the warehouse stays open through the EPC and model calls (the caches are
    # read and written as answers come), so for that minute or so the Slack delivery sensor
    # finds it locked and skips its ticks; nothing is lost, delivery only waits.
    with warehouse.connection() as conn:
        pending = pending_listings(conn, day)
        context.log.info(f"enriched {day}: {len(pending)} listings pending enrichment")

        step = time.perf_counter()
        epc_outcome = lookup_certificates(epc, conn, pending, day, log=context.log)
        timings["epc_seconds"] = time.perf_counter() - step
        pending = pending.merge(epc_outcome.matches, on="listing_key", how="left")

        step = time.perf_counter()
        valuation = value_listings(conn, pending, day, partition_date=day)
        timings["comparables_seconds"] = time.perf_counter() - step
        pending = pending.merge(valuation.values, on="listing_key", how="left")
        pending["preliminary_score"] = preliminary_scores(pending)

        to_read = choose_for_reading(pending, config.batch_size, listing_reader.uses_model)
        step = time.perf_counter()
        analysis = analyse_listings(listing_reader, conn, to_read, log=context.log)
        timings["analysis_seconds"] = time.perf_counter() - step

        fresh = enriched_rows(pending, analysis.results)
        write = store.replace_partition(
            conn,
            "enriched",
            day,
            f"select * from __fresh_enriched union all by name {ANALYSED_SQL}",
            {"partition_date": day},
            frames={"__fresh_enriched": fresh},
        )
        comparables_write = store.replace_partition(
            conn,
            "comparables",
            day,
            """
            select * from __fresh_comparables
            union all by name
            select * exclude (partition_date)
            from comparables
            where partition_date = $partition_date
                and listing_key not in (select listing_key from __fresh_enriched_keys)
            """,
            {"partition_date": day},
            frames={
                "__fresh_comparables": valuation.comparables,
                "__fresh_enriched_keys": fresh[["listing_key"]],
            },
        )

    counts = _status_counts(fresh)
    seconds = time.perf_counter() - started
    context.log.info(
        f"enriched {day}: {counts['analysed_now']} analysed this run "
        f"({analysis.from_cache} readings from cache), {counts['failed']} failed, "
        f"{counts['still_pending']} still pending; EPC postcodes fetched "
        f"{epc_outcome.looked_up}, from cache {epc_outcome.from_cache}, failed "
        f"{epc_outcome.failed}; {comparables_write.rows_inserted} comparables; "
        f"{analysis.prompt_tokens + analysis.completion_tokens} tokens, "
        f"${analysis.cost_usd:.4f}; {seconds:.1f}s"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/partition_row_count": write.rows_inserted,
            "dagster/table_name": "warehouse.main.enriched",
            "pending_at_start": len(pending),
            "analysed_this_run": counts["analysed_now"],
            "analysed_total": write.rows_inserted - counts["still_pending"],
            "failed": counts["failed"],
            "still_pending": counts["still_pending"],
            "batch_size": config.batch_size,
            "epc_postcodes_fetched": epc_outcome.looked_up,
            "epc_postcodes_from_cache": epc_outcome.from_cache,
            "epc_postcodes_failed": epc_outcome.failed,
            "epc_requests": epc_outcome.requests,
            "comparables_rows": comparables_write.rows_inserted,
            **analysis.metadata(),
            "duration_seconds": round(seconds, 3),
            **{name: round(value, 3) for name, value in timings.items()},
        },
        check_results=[
            *table_check_results(context, warehouse, "enriched", day),
            lookups_check(fresh),
        ],
    )


def lookups_check(fresh: pd.DataFrame) -> dg.AssetCheckResult:
    """A warning naming the listings whose look-up failed this run, so the failure is alerted
    (the asset-check sensor posts it) rather than only counted."""
    failed = fresh[fresh["last_error"].notna()]
    examples = [f"- `{row.listing_key}`: {row.last_error}" for row in failed.head(5).itertuples()]
    return dg.AssetCheckResult(
        check_name=LOOKUPS_SUCCEEDED,
        passed=failed.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failed_listings": len(failed),
            "first_errors": dg.MetadataValue.md("\n".join(examples) or "none"),
        },
    )


def choose_for_reading(pending: pd.DataFrame, batch_size: int, uses_model: bool) -> pd.DataFrame:
    """The listings this run reads: all of them by rules (free), else the `batch_size` with the
    best preliminary score among those whose cheap lookups succeeded."""
    ready = pending[pending["epc_error"].isna()]
    if not uses_model:
        return ready
    return ready.sort_values(
        ["preliminary_score", "listing_key"], ascending=[False, True], kind="stable"
    ).head(batch_size)


def enriched_rows(pending: pd.DataFrame, readings: pd.DataFrame) -> pd.DataFrame:
    """One `enriched` row per pending listing: analysed when every step succeeded for it."""
    rows = pending.merge(readings, on="listing_key", how="left")
    read = rows["analysis_source"].notna() & rows["analysis_error"].isna()
    errors = rows["epc_error"].combine_first(rows["analysis_error"])
    rows["status"] = read.map({True: ANALYSED, False: PENDING})
    rows["last_error"] = errors.where(~read, None)
    rows["attempts"] = rows["attempts"].fillna(0).astype(int) + errors.notna().astype(int)
    rows["enriched_at"] = dt.datetime.now().replace(microsecond=0)
    for column in ("works_needed", "strategy_fit", "risks"):
        rows[column] = rows[column].map(_as_list)
    return rows[[column for column in ENRICHED_COLUMNS if column in rows.columns]]


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    if hasattr(value, "tolist"):
        return [str(item) for item in value.tolist()]
    return []


def _status_counts(fresh: pd.DataFrame) -> dict[str, int]:
    failed = int(fresh["last_error"].notna().sum())
    analysed_now = int((fresh["status"] == ANALYSED).sum())
    return {
        "analysed_now": analysed_now,
        "failed": failed,
        "still_pending": len(fresh) - analysed_now,
    }


# The `enriched` table's columns in order, from the facts of the listing and each step's own list.
ENRICHED_COLUMNS = (
    "listing_key",
    "property_key",
    "status",
    "attempts",
    "last_error",
    "listing_type",
    "price",
    "postcode",
    "outcode",
    "address",
    "property_type",
    "bedrooms",
    "unit_count",
    "tenure",
    *(column for column in MATCH_COLUMNS[1:] if column != "epc_error"),
    *VALUE_COLUMNS[1:],
    "preliminary_score",
    *(column for column in RESULT_COLUMNS[1:] if column != "analysis_error"),
    "enriched_at",
)
