"""The bound parameters of `dbt_like_sql/scoring/scored.sql`, built from one source each.

Tax bands come from scoring/tax.py, postcode places from scoring/nations.py, rent patterns from
scoring/rent.py, red-flag severities from the screening taxonomy and everything else from the
scoring configuration, so the SQL holds no number of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from property_pipeline.scoring import rent, tax
from property_pipeline.scoring.config import SCOPES, ScoringConfig
from property_pipeline.scoring.nations import REGIONS, sql_place_rows
from property_pipeline.screening.taxonomy import RED_FLAGS


def scored_params(config: ScoringConfig, day: dt.date) -> dict[str, Any]:
    """Every parameter the `scored` model binds, for the partition `day`."""
    weights, sub, motivation, strategy = (
        config.weights,
        config.sub_scores,
        config.motivation,
        config.strategy,
    )
    fees, refurb, split, caps = config.fees, config.refurbishment, config.title_split, config.caps
    return {
        "tax_rules": tax.sql_rule_rows(day),
        "places": sql_place_rows(),
        "rents": rent_rows(config),
        "max_bedroom_key": len(config.rent.bedroom_factor) - 1,
        "regional_yields": [
            {"region": region, "gross_yield": value}
            for region, value in config.yields.regional_gross.items()
        ],
        "refurbishment_rates": [
            {"region": region, "scope": scope, "rate": rate}
            for region, rates in refurb.rates_per_sqm.items()
            for scope, rate in rates.items()
        ],
        "scope_by_condition": [
            {"condition": condition.lower(), "scope": scope}
            for condition, scope in refurb.scope_by_condition.items()
        ],
        "uplift_by_scope": [
            {"scope": scope, "uplift": config.value_after_works.uplift_by_scope.get(scope, 0.0)}
            for scope in SCOPES
        ],
        "charge_pattern": rent.CHARGE_PATTERN,
        "rent_pattern": rent.RENT_PATTERN,
        "monthly_periods": list(rent.MONTHLY),
        "weekly_periods": list(rent.WEEKLY),
        "major_flags": [flag.code for flag in RED_FLAGS if flag.severity == "major"],
        "minor_flags": [flag.code for flag in RED_FLAGS if flag.severity == "minor"],
        "deal_killers": list(caps.deal_killers),
        "distress_signals": list(motivation.distress_signals),
        "strategy_targets": [target.lower() for target in strategy.targets],
        "higher_rates": config.buyer.higher_rates,
        "w_discount": weights.discount,
        "w_yield": weights.yield_,
        "w_value_add": weights.value_add,
        "w_motivation": weights.motivation,
        "w_strategy": weights.strategy,
        "w_location": weights.location,
        "band_hot": config.bands.hot,
        "band_good": config.bands.good,
        "band_watchlist": config.bands.watchlist,
        "discount_zero_at": sub.discount_zero_at,
        "discount_full_at": sub.discount_full_at,
        "yield_full_above_median": sub.yield_full_above_median,
        "value_add_zero_at": sub.value_add_zero_at,
        "value_add_full_at": sub.value_add_full_at,
        "price_cut_at_least": motivation.price_cut_at_least,
        "price_cut": motivation.price_cut,
        "days_on_market_at_least": motivation.days_on_market_at_least,
        "long_on_market": motivation.long_on_market,
        "relisted": motivation.relisted,
        "distress": motivation.distress,
        "auction": motivation.auction,
        "multi_unit_freehold": strategy.multi_unit_freehold,
        "unbroken_block": strategy.unbroken_block,
        "tax_advantage": strategy.tax_advantage,
        "target_fit": strategy.target_fit,
        "location_min_listings": config.location.min_listings,
        "location_window_days": config.location.window_days,
        "penalty_major": config.penalties.major,
        "penalty_major_max": config.penalties.major_max,
        "penalty_minor": config.penalties.minor,
        "cap_deal_killer": caps.deal_killer,
        "cap_thin_evidence": caps.thin_evidence,
        "min_comparables": caps.min_comparables,
        "min_lease_years": caps.min_lease_years,
        "legal": fees.legal,
        "legal_per_extra_unit": fees.legal_per_extra_unit,
        "survey": fees.survey,
        "survey_per_extra_unit": fees.survey_per_extra_unit,
        "auction_buyers_fee": fees.auction_buyers_fee,
        "reservation_fee_rate": fees.reservation_fee_rate,
        "reservation_fee_vat": fees.reservation_fee_vat,
        "reservation_fee_minimum": fees.reservation_fee_minimum,
        "contingency": refurb.contingency,
        "default_scope": refurb.default_scope,
        "floor_area_base": refurb.floor_area_base,
        "floor_area_per_bedroom": refurb.floor_area_per_bedroom,
        "poor_epc_allowance": refurb.poor_epc_allowance,
        "split_cost_per_unit": split.cost_per_unit,
        "split_fixed_cost": split.fixed_cost,
        "resale_haircut_low": split.resale_haircut_low,
        "resale_haircut_high": split.resale_haircut_high,
        "selling_costs": split.selling_costs,
        "asking_to_sold": split.asking_to_sold,
        "min_flat_listings": split.min_flat_listings,
        "split_window_days": split.window_days,
        "running_costs": config.returns.running_costs,
        "plausible_yield_min": config.rent.plausible_yield_min,
        "plausible_yield_max": config.rent.plausible_yield_max,
    }


def rent_rows(config: ScoringConfig) -> list[dict[str, Any]]:
    """Monthly rent per region for a home of each bedroom count and for one HMO room.

    A region missing from the configured averages gets no rows, so its listings have no table
    rent (and the yield component drops out) rather than a made-up one.
    """
    rows: list[dict[str, Any]] = []
    for region in REGIONS:
        average = config.rent.average_monthly_by_region.get(region)
        if average is None:
            continue
        for bedrooms, factor in enumerate(config.rent.bedroom_factor):
            rows.append(
                {
                    "region": region,
                    "kind": "home",
                    "bedrooms": bedrooms,
                    "monthly": average * factor,
                }
            )
        rows.append(
            {
                "region": region,
                "kind": "room",
                "bedrooms": 0,
                "monthly": average * config.rent.room_factor,
            }
        )
    return rows
