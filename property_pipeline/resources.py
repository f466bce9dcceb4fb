"""The one place that chooses which external systems the pipeline talks to."""

from __future__ import annotations

from property_pipeline import settings
from property_pipeline.warehouse.resource import WarehouseResource


def build_resources() -> dict[str, object]:
    """Resources keyed by the parameter names assets use; paths resolved from the environment."""
    return {
        "warehouse": WarehouseResource(
            database=str(settings.warehouse_path()),
            sql_dir=str(settings.sql_dir()),
        ),
    }
