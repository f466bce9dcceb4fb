"""The one place that chooses which external systems the pipeline talks to."""

from __future__ import annotations

from property_pipeline import settings
from property_pipeline.sources.resource import ListingSourcesResource
from property_pipeline.warehouse.resource import WarehouseResource


def build_resources() -> dict[str, object]:
    """Resources keyed by the parameter names assets use, chosen from the environment.

    Upstreams are the loopback sandbox when PROPERTY_PIPELINE_SANDBOX_URL is set, the real
    sites only with PROPERTY_PIPELINE_LIVE=1, and otherwise the built-in offline sample.
    """
    return {
        "warehouse": WarehouseResource(
            database=str(settings.warehouse_path()),
            sql_dir=str(settings.sql_dir()),
        ),
        "listing_sources": ListingSourcesResource(
            mode=settings.upstream_mode(),
            sandbox_url=settings.sandbox_url(),
            targets_path=settings.targets_path(),
        ),
    }
