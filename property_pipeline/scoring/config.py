"""The scoring configuration (`scoring.yaml`): weights, thresholds, fees, rates, rents, caps.

Loaded and checked before anything is scored. Every problem names the file and the key, e.g.
`scoring.yaml: weights.discount: Input should be greater than or equal to 0 (got -5)`, and keys
the schema does not know are errors. `PROPERTY_PIPELINE_SCORING` points at a replacement file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from property_pipeline.scoring.nations import REGIONS
from property_pipeline.screening.taxonomy import RED_FLAG_CODES, SIGNAL_CODES
from property_pipeline.sources.config import key_path

SCORING_ENV = "PROPERTY_PIPELINE_SCORING"
DEFAULT_PATH = Path(__file__).with_name("scoring.yaml")
SCOPES = ("none", "light", "full", "structural")

Share = float
Scope = Literal["none", "light", "full", "structural"]


class ScoringConfigError(ValueError):
    """The scoring file is missing, not YAML or breaks the schema; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Buyer(_Strict):
    """Who is buying: decides the higher residential rates."""

    higher_rates: bool


class Weights(_Strict):
    """Points per component before missing evidence is redistributed."""

    discount: float = Field(ge=0)
    yield_: float = Field(ge=0, alias="yield")
    value_add: float = Field(ge=0)
    motivation: float = Field(ge=0)
    strategy: float = Field(ge=0)
    location: float = Field(ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if self.motivation + self.strategy <= 0:
            raise ValueError(
                "motivation and strategy are always scored; give at least one a weight above 0"
            )
        return self


class Bands(_Strict):
    """Lowest score of each band; below `watchlist` is pass."""

    hot: int = Field(ge=1, le=100)
    good: int = Field(ge=1, le=100)
    watchlist: int = Field(ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.hot > self.good > self.watchlist:
            raise ValueError(
                f"hot ({self.hot}) > good ({self.good}) > watchlist ({self.watchlist}) must hold"
            )
        return self


class SubScores(_Strict):
    """Where each piecewise-linear sub-score starts and reaches full marks."""

    discount_zero_at: Share
    discount_full_at: Share
    yield_full_above_median: Share = Field(gt=0)
    value_add_zero_at: Share
    value_add_full_at: Share

    @model_validator(mode="after")
    def _ordered(self) -> SubScores:
        if self.discount_full_at <= self.discount_zero_at:
            raise ValueError("discount_full_at must be above discount_zero_at")
        if self.value_add_full_at <= self.value_add_zero_at:
            raise ValueError("value_add_full_at must be above value_add_zero_at")
        return self


class Motivation(_Strict):
    """Seller-motivation signals and what each adds to the 0-1 sub-score."""

    price_cut_at_least: Share = Field(ge=0)
    price_cut: Share = Field(ge=0, le=1)
    days_on_market_at_least: int = Field(ge=0)
    long_on_market: Share = Field(ge=0, le=1)
    relisted: Share = Field(ge=0, le=1)
    distress_signals: list[str]
    distress: Share = Field(ge=0, le=1)
    auction: Share = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _known_signals(self) -> Motivation:
        _check_codes("distress_signals", self.distress_signals, SIGNAL_CODES)
        return self


class Strategy(_Strict):
    """Fit with the investor's strategy and what each sign adds to the 0-1 sub-score."""

    targets: list[str]
    multi_unit_freehold: Share = Field(ge=0, le=1)
    unbroken_block: Share = Field(ge=0, le=1)
    tax_advantage: Share = Field(ge=0, le=1)
    target_fit: Share = Field(ge=0, le=1)


class Location(_Strict):
    """How much local evidence an outcode needs to have a median yield of its own."""

    min_listings: int = Field(ge=1)
    window_days: int = Field(ge=1, le=366)


class Penalties(_Strict):
    """Points taken off per red flag of each severity."""

    major: float = Field(ge=0)
    major_max: float = Field(ge=0)
    minor: float = Field(ge=0)


class Caps(_Strict):
    """Deal-killers and thin evidence hold the score below a band."""

    deal_killer: int = Field(ge=0, le=100)
    thin_evidence: int = Field(ge=0, le=100)
    min_comparables: int = Field(ge=0)
    deal_killers: list[str]
    min_lease_years: int = Field(ge=0)

    @model_validator(mode="after")
    def _known_flags(self) -> Caps:
        _check_codes("deal_killers", self.deal_killers, RED_FLAG_CODES)
        return self


class Fees(_Strict):
    """Purchase fees in pounds (legal, survey, auction) and the reservation fee's terms."""

    legal: int = Field(ge=0)
    legal_per_extra_unit: int = Field(ge=0)
    survey: int = Field(ge=0)
    survey_per_extra_unit: int = Field(ge=0)
    auction_buyers_fee: int = Field(ge=0)
    reservation_fee_rate: Share = Field(ge=0, le=1)
    reservation_fee_vat: Share = Field(ge=0, le=1)
    reservation_fee_minimum: int = Field(ge=0)


class Refurbishment(_Strict):
    """Refurbishment pounds per m2 by region and scope, and how the scope is chosen."""

    contingency: Share = Field(ge=0, le=1)
    scope_by_condition: dict[str, Scope]
    default_scope: Scope
    floor_area_base: float = Field(ge=0)
    floor_area_per_bedroom: float = Field(ge=0)
    poor_epc_allowance: int = Field(ge=0)
    rates_per_sqm: dict[str, dict[Scope, int]]

    @model_validator(mode="after")
    def _regions(self) -> Refurbishment:
        if "default" not in self.rates_per_sqm:
            raise ValueError("rates_per_sqm needs a `default` entry for regions not listed")
        _check_regions("rates_per_sqm", [key for key in self.rates_per_sqm if key != "default"])
        for region, rates in self.rates_per_sqm.items():
            missing = [scope for scope in SCOPES if scope not in rates]
            if missing:
                raise ValueError(f"rates_per_sqm.{region} lacks {', '.join(missing)}")
        return self


class TitleSplit(_Strict):
    """Costs and haircuts of selling a block's flats on separate titles."""

    cost_per_unit: int = Field(ge=0)
    fixed_cost: int = Field(ge=0)
    resale_haircut_low: Share = Field(ge=0, le=1)
    resale_haircut_high: Share = Field(ge=0, le=1)
    selling_costs: Share = Field(ge=0, le=1)
    asking_to_sold: Share = Field(ge=0, le=1)
    min_flat_listings: int = Field(ge=1)
    window_days: int = Field(ge=1, le=366)


class ValueAfterWorks(_Strict):
    """How much works lift the comparables value, by refurbishment scope."""

    uplift_by_scope: dict[Scope, Share]


class Returns(_Strict):
    """Running costs as a share of rent, for the return on cash."""

    running_costs: Share = Field(ge=0, le=1)


class Rent(_Strict):
    """Monthly rent by region and bedrooms, when the listing states none."""

    source: str = Field(min_length=1)
    average_monthly_by_region: dict[str, int]
    bedroom_factor: list[float] = Field(min_length=1)
    room_factor: float = Field(gt=0)
    plausible_yield_min: Share = Field(ge=0)
    plausible_yield_max: Share = Field(gt=0)

    @model_validator(mode="after")
    def _regions(self) -> Rent:
        _check_regions("average_monthly_by_region", list(self.average_monthly_by_region))
        return self


class Yields(_Strict):
    """Regional gross yields, the fallback where an outcode has too few listings."""

    source: str = Field(min_length=1)
    regional_gross: dict[str, Share]

    @model_validator(mode="after")
    def _regions(self) -> Yields:
        _check_regions("regional_gross", list(self.regional_gross))
        return self


class ScoringConfig(_Strict):
    """The whole scoring file, validated."""

    buyer: Buyer
    weights: Weights
    bands: Bands
    sub_scores: SubScores
    motivation: Motivation
    strategy: Strategy
    location: Location
    penalties: Penalties
    caps: Caps
    fees: Fees
    refurbishment: Refurbishment
    title_split: TitleSplit
    value_after_works: ValueAfterWorks
    returns: Returns
    rent: Rent
    yields: Yields

    @model_validator(mode="after")
    def _caps_below_bands(self) -> ScoringConfig:
        if self.caps.deal_killer >= self.bands.watchlist:
            raise ValueError(
                f"caps.deal_killer ({self.caps.deal_killer}) must be below bands.watchlist "
                f"({self.bands.watchlist}) so a deal-killer never reaches the watchlist"
            )
        if self.caps.thin_evidence >= self.bands.hot:
            raise ValueError(
                f"caps.thin_evidence ({self.caps.thin_evidence}) must be below bands.hot "
                f"({self.bands.hot}) so nothing is hot without evidence"
            )
        return self


def _check_codes(key: str, values: list[str], known: tuple[str, ...]) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(
            f"{key}: {', '.join(map(repr, unknown))} not known; use {', '.join(known)}"
        )


def _check_regions(key: str, values: list[str]) -> None:
    unknown = [value for value in values if value not in REGIONS]
    if unknown:
        raise ValueError(
            f"{key}: region(s) {', '.join(map(repr, unknown))} not known; use {', '.join(REGIONS)}"
        )


def config_path() -> Path:
    """`$PROPERTY_PIPELINE_SCORING` when set, else the shipped `scoring.yaml`."""
    configured = os.environ.get(SCORING_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_PATH


def load_scoring_config(path: str | Path | None = None) -> ScoringConfig:
    """Read and validate a scoring file (the configured or shipped one when `path` is None)."""
    source = Path(path) if path is not None else config_path()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScoringConfigError(
            f"{source}: no such file; point {SCORING_ENV} at a scoring YAML or unset it"
        ) from None
    except OSError as error:
        raise ScoringConfigError(f"{source}: cannot be read: {error}") from error
    return parse_scoring_config(text, str(source))


def parse_scoring_config(text: str, name: str = "scoring.yaml") -> ScoringConfig:
    """Validate YAML text; `name` starts every error message."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScoringConfigError(f"{name}: not valid YAML: {error}") from error
    if not isinstance(data, Mapping):
        raise ScoringConfigError(f"{name}: the top level must be a mapping of sections")
    try:
        return ScoringConfig.model_validate(dict(data))
    except ValidationError as error:
        raise ScoringConfigError(
            "\n".join(f"{name}: {_describe(item)}" for item in error.errors())
        ) from None


def _describe(item: Mapping[str, Any]) -> str:
    loc = tuple(item.get("loc", ()))
    message = str(item.get("msg", "")).removeprefix("Value error, ")
    path = key_path(loc) if loc else ""
    if item.get("type") == "extra_forbidden":
        return f"{path}: unknown key"
    if item.get("type") == "missing":
        return f"{path}: this key is required"
    got = "" if item.get("type") == "value_error" else f" (got {item.get('input')!r})"
    return f"{path}: {message}{got}" if path else f"{message}{got}"
