"""Run values for the SQL models that take more than the partition and a batch size.

`property-pipeline models --check` and the tests bind each model with these before explaining
it: a list of structs bound as NULL gives DuckDB no columns to check the query against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from property_pipeline.scoring.config import load_scoring_config
from property_pipeline.scoring.params import scored_params


def model_params(asset: str, day: dt.date) -> dict[str, Any]:
    """The values the asset's model is run with on `day` (empty for the simple models)."""
    if asset == "scored":
        return scored_params(load_scoring_config(), day)
    return {}
