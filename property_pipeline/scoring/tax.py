"""Tax on buying land in the UK: SDLT (England and Northern Ireland), LBTT (Scotland), LTT (Wales).

Each nation's rules are kept as dated snapshots, so a listing is taxed by the rules in force on
its day. `land_tax` answers one purchase band by band for people (the `sdlt` command); the same
tables go to the `scored` SQL model as bound parameters (`sql_rule_rows`), so the warehouse and
the command always use the same numbers.

What is modelled: residential main and higher rates (additional dwellings and companies, not
below 40,000 pounds), Scotland's Additional Dwelling Supplement, non-residential rates for mixed
use and for six or more dwellings in one purchase, and multiple dwellings relief where it still
exists (Wales and Scotland). The buyer is assumed to pick the cheapest treatment the law allows.

Known shortcomings: no first-time buyer relief, no non-UK-resident surcharge (+2% SDLT), no 17%
SDLT single rate for companies buying dwellings over 500,000 pounds (most investors qualify for
the property-rental-business relief from it), no apportionment of mixed-use prices between a
residential and a commercial part, and no linked transactions. Tax is rounded down to the pound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

NATIONS = ("england", "northern_ireland", "wales", "scotland")
CENT = Decimal("0.01")


class TaxError(ValueError):
    """A purchase the tables cannot tax (bad price, unknown nation, a date before the tables)."""


@dataclass(frozen=True)
class Band:
    """One slice of the price taxed at one rate: from `lower` (exclusive) to `upper`."""

    lower: int
    upper: int | None
    rate: Decimal


@dataclass(frozen=True)
class Rules:
    """A nation's land tax rules from one date until the next snapshot."""

    nation: str
    tax_name: str
    effective_from: dt.date
    residential: tuple[Band, ...]
    higher: tuple[Band, ...]
    non_residential: tuple[Band, ...]
    source: str
    # Scotland's ADS: a flat rate on the whole price on top of the residential bands.
    supplement_rate: Decimal = Decimal("0")
    higher_rates_threshold: int = 40_000
    # Six or more dwellings bought in one transaction may be taxed as non-residential.
    six_dwellings_non_residential: bool = True
    # Multiple dwellings relief: tax on the average price per dwelling, times the dwellings,
    # never below `mdr_min_rate` of the price nor `mdr_min_share` of the tax without relief.
    mdr_available: bool = False
    mdr_min_rate: Decimal = Decimal("0")
    mdr_min_share: Decimal = Decimal("0")


def bands(*edges: tuple[int | None, str]) -> tuple[Band, ...]:
    """Bands from (upper edge, rate in percent) pairs in order; the last upper edge is None."""
    result: list[Band] = []
    lower = 0
    for upper, percent in edges:
        result.append(Band(lower, upper, Decimal(percent) / 100))
        lower = upper if upper is not None else lower
    return tuple(result)


def plus(table: tuple[Band, ...], percent: str) -> tuple[Band, ...]:
    """The same bands with `percent` points added to every rate (England's higher rates)."""
    extra = Decimal(percent) / 100
    return tuple(Band(band.lower, band.upper, band.rate + extra) for band in table)


# SDLT residential from 1 April 2025 (gov.uk/stamp-duty-land-tax/residential-property-rates,
# as quoted in domain.md 3.3, checked against NatWest and gov.uk-sourced calculators, 2025).
_SDLT_RESIDENTIAL_2025 = bands((125_000, "0"), (250_000, "2"), (925_000, "5"), (1_500_000, "10"),
                               (None, "12"))  # fmt: skip
# SDLT residential 23 September 2022 to 31 March 2025: the temporary 250,000 nil band.
_SDLT_RESIDENTIAL_2022 = bands((250_000, "0"), (925_000, "5"), (1_500_000, "10"), (None, "12"))
# SDLT non-residential and mixed use since 17 March 2016
# (gov.uk/stamp-duty-land-tax/nonresidential-and-mixed-use-rates, domain.md 3.3).
_SDLT_NON_RESIDENTIAL = bands((150_000, "0"), (250_000, "2"), (None, "5"))
_SDLT_SOURCE = (
    "HMRC SDLT rates (gov.uk/stamp-duty-land-tax); higher rates +5 points from 31 Oct 2024 "
    "(gov.uk SDLT higher rates increase, 30 Oct 2024); MDR abolished from 1 Jun 2024"
)

# LBTT residential from 1 April 2021 and ADS (Revenue Scotland; lead's brief, 2025; a £500,000
# main-residence purchase gives £23,350 as PolicyEngine's LBTT implementation does).
_LBTT_RESIDENTIAL = bands((145_000, "0"), (250_000, "2"), (325_000, "5"), (750_000, "10"),
                          (None, "12"))  # fmt: skip
# LBTT non-residential from 25 January 2020 (Revenue Scotland, lead's brief).
_LBTT_NON_RESIDENTIAL = bands((150_000, "0"), (250_000, "1"), (None, "5"))
_LBTT_SOURCE = (
    "Revenue Scotland LBTT rates; ADS 8% from 5 Dec 2024 (taxjournal.com, domain.md 3.3); "
    "six or more dwellings: non-residential and ADS relief or MDR, buyer's choice "
    "(revenue.scot MDR general guidance; brodies.com on the LBTT 6+ rule)"
)

# LTT main residential from 10 October 2022; non-residential from 22 December 2020; higher
# residential from 11 December 2024 (SI 2024/1311; ICAEW 11 Dec 2024; gov.wales tables, 2025).
_LTT_RESIDENTIAL = bands((225_000, "0"), (400_000, "6"), (750_000, "7.5"), (1_500_000, "10"),
                         (None, "12"))  # fmt: skip
_LTT_HIGHER_2024 = bands((180_000, "5"), (250_000, "8.5"), (400_000, "10"), (750_000, "12.5"),
                         (1_500_000, "15"), (None, "17"))  # fmt: skip
_LTT_HIGHER_2020 = bands((180_000, "4"), (250_000, "7.5"), (400_000, "9"), (750_000, "11.5"),
                         (1_500_000, "14"), (None, "16"))  # fmt: skip
_LTT_NON_RESIDENTIAL = bands((225_000, "0"), (250_000, "1"), (1_000_000, "5"), (None, "6"))
_LTT_SOURCE = (
    "Welsh Revenue Authority LTT rates (SI 2024/1311 for higher rates from 11 Dec 2024); MDR "
    "with a 1% minimum (gov.wales LTTA/7035)"
)

RULES: tuple[Rules, ...] = (
    Rules(
        "england",
        "SDLT",
        dt.date(2024, 6, 1),
        _SDLT_RESIDENTIAL_2022,
        plus(_SDLT_RESIDENTIAL_2022, "3"),
        _SDLT_NON_RESIDENTIAL,
        _SDLT_SOURCE,
    ),
    Rules(
        "england",
        "SDLT",
        dt.date(2024, 10, 31),
        _SDLT_RESIDENTIAL_2022,
        plus(_SDLT_RESIDENTIAL_2022, "5"),
        _SDLT_NON_RESIDENTIAL,
        _SDLT_SOURCE,
    ),
    Rules(
        "england",
        "SDLT",
        dt.date(2025, 4, 1),
        _SDLT_RESIDENTIAL_2025,
        plus(_SDLT_RESIDENTIAL_2025, "5"),
        _SDLT_NON_RESIDENTIAL,
        _SDLT_SOURCE,
    ),
    Rules(
        "scotland",
        "LBTT",
        dt.date(2022, 12, 16),
        _LBTT_RESIDENTIAL,
        _LBTT_RESIDENTIAL,
        _LBTT_NON_RESIDENTIAL,
        _LBTT_SOURCE,
        supplement_rate=Decimal("0.06"),
        mdr_available=True,
        mdr_min_share=Decimal("0.25"),
    ),
    Rules(
        "scotland",
        "LBTT",
        dt.date(2024, 12, 5),
        _LBTT_RESIDENTIAL,
        _LBTT_RESIDENTIAL,
        _LBTT_NON_RESIDENTIAL,
        _LBTT_SOURCE,
        supplement_rate=Decimal("0.08"),
        mdr_available=True,
        mdr_min_share=Decimal("0.25"),
    ),
    Rules(
        "wales",
        "LTT",
        dt.date(2022, 10, 10),
        _LTT_RESIDENTIAL,
        _LTT_HIGHER_2020,
        _LTT_NON_RESIDENTIAL,
        _LTT_SOURCE,
        mdr_available=True,
        mdr_min_rate=Decimal("0.01"),
    ),
    Rules(
        "wales",
        "LTT",
        dt.date(2024, 12, 11),
        _LTT_RESIDENTIAL,
        _LTT_HIGHER_2024,
        _LTT_NON_RESIDENTIAL,
        _LTT_SOURCE,
        mdr_available=True,
        mdr_min_rate=Decimal("0.01"),
    ),
)


@dataclass(frozen=True)
class Slice:
    """The part of the price in one band and the tax on it (`dwellings` > 1 under MDR)."""

    lower: int
    upper: int | None
    rate: Decimal
    taxable: Decimal
    tax: Decimal
    dwellings: int = 1

    def as_json(self) -> dict[str, Any]:
        """The slice as plain JSON numbers."""
        return {
            "from": self.lower,
            "to": self.upper,
            "rate": float(self.rate),
            "taxable": _number(self.taxable),
            "tax": _number(self.tax),
            **({"dwellings": self.dwellings} if self.dwellings > 1 else {}),
        }


@dataclass(frozen=True)
class TaxResult:
    """The tax on one purchase, the treatment chosen, each band's slice and the alternatives."""

    tax: int
    regime: str
    tax_name: str
    nation: str
    price: int
    slices: list[Slice]
    supplement: int = 0
    minimum_applied: bool = False
    alternatives: dict[str, int] = field(default_factory=dict)
    rules_from: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        """What the `sdlt` command prints."""
        return {
            "tax": self.tax,
            "regime": self.regime,
            "tax_name": self.tax_name,
            "nation": self.nation,
            "price": self.price,
            "slices": [item.as_json() for item in self.slices],
            "supplement": self.supplement,
            "minimum_applied": self.minimum_applied,
            "alternatives": self.alternatives,
            "rules_from": self.rules_from.isoformat() if self.rules_from else None,
        }


def rules_for(nation: str, on: dt.date) -> Rules:
    """The rules in force in `nation` on `on` (Northern Ireland follows England's SDLT)."""
    key = "england" if nation == "northern_ireland" else nation
    if key not in ("england", "wales", "scotland"):
        raise TaxError(f"nation {nation!r} is not taxed here; use one of {', '.join(NATIONS)}")
    candidates = [rules for rules in RULES if rules.nation == key and rules.effective_from <= on]
    if not candidates:
        first = min(rules.effective_from for rules in RULES if rules.nation == key)
        raise TaxError(f"no {key} tax table before {first.isoformat()}; pass a later date")
    return max(candidates, key=lambda rules: rules.effective_from)


def band_slices(amount: Decimal, table: tuple[Band, ...], dwellings: int = 1) -> list[Slice]:
    """`amount` cut into the table's bands, each slice taxed at its rate (times `dwellings`)."""
    slices = []
    for band in table:
        top = amount if band.upper is None else min(amount, Decimal(band.upper))
        taxable = max(Decimal(0), top - band.lower)
        if taxable <= 0 and band.lower > 0:
            break
        tax = taxable * band.rate * dwellings
        slices.append(Slice(band.lower, band.upper, band.rate, taxable * dwellings, tax, dwellings))
    return slices


def land_tax(
    price: int,
    *,
    nation: str = "england",
    additional: bool = False,
    dwellings: int = 1,
    mixed_use: bool = False,
    on: dt.date | None = None,
) -> TaxResult:
    """The land tax on one purchase and how it was worked out, band by band.

    `additional` marks a buyer paying the higher rates (a further dwelling, or a company);
    `dwellings` is how many dwellings the one purchase includes; `mixed_use` means part of
    the property is commercial. Where the law lets the buyer choose between treatments (six or
    more dwellings, multiple dwellings relief), the cheapest is chosen and the others are
    listed in `alternatives`.
    """
    if price < 0:
        raise TaxError(f"price {price} is negative; give the purchase price in whole pounds")
    if dwellings < 1:
        raise TaxError(f"dwellings {dwellings} must be at least 1")
    rules = rules_for(nation, on or dt.date.today())
    options = _options(Decimal(price), rules, additional, dwellings, mixed_use)
    chosen = min(options, key=lambda option: option.tax)
    return TaxResult(
        tax=chosen.tax,
        regime=chosen.regime,
        tax_name=rules.tax_name,
        nation=nation,
        price=price,
        slices=chosen.slices,
        supplement=chosen.supplement,
        minimum_applied=chosen.minimum_applied,
        alternatives={option.regime: option.tax for option in options if option is not chosen},
        rules_from=rules.effective_from,
    )


@dataclass(frozen=True)
class _Option:
    regime: str
    tax: int
    slices: list[Slice]
    supplement: int = 0
    minimum_applied: bool = False


def _options(
    price: Decimal, rules: Rules, additional: bool, dwellings: int, mixed_use: bool
) -> list[_Option]:
    non_residential = _plain("non_residential", price, rules.non_residential)
    if mixed_use:
        return [non_residential]
    higher = additional and price >= rules.higher_rates_threshold
    table = rules.higher if higher else rules.residential
    residential_name = "residential_higher" if higher else "residential"
    if dwellings >= 6 and rules.six_dwellings_non_residential:
        options = [non_residential]
        if rules.mdr_available:
            # Six or more dwellings are relieved from Scotland's ADS whichever way they go.
            options.append(_relieved(price, rules, table, dwellings, supplement=False))
        return options
    supplement = higher and rules.supplement_rate > 0
    options = [_residential(residential_name, price, rules, table, supplement)]
    if dwellings >= 2 and rules.mdr_available:
        options.append(_relieved(price, rules, table, dwellings, supplement))
    return options


def _plain(regime: str, price: Decimal, table: tuple[Band, ...]) -> _Option:
    slices = band_slices(price, table)
    return _Option(regime, _floor(sum(item.tax for item in slices)), slices)


def _residential(
    regime: str, price: Decimal, rules: Rules, table: tuple[Band, ...], supplement: bool
) -> _Option:
    slices = band_slices(price, table)
    extra = _supplement(price, rules) if supplement else Decimal(0)
    return _Option(
        regime + ("_ads" if supplement else ""),
        _floor(sum(item.tax for item in slices) + extra),
        slices,
        supplement=_floor(extra),
    )


def _relieved(
    price: Decimal, rules: Rules, table: tuple[Band, ...], dwellings: int, supplement: bool
) -> _Option:
    average = (price / dwellings).quantize(CENT, ROUND_HALF_UP)
    slices = band_slices(average, table, dwellings)
    relieved = sum(item.tax for item in slices)
    without_relief = sum(item.tax for item in band_slices(price, table))
    minimum = max(rules.mdr_min_rate * price, rules.mdr_min_share * without_relief)
    extra = _supplement(price, rules) if supplement else Decimal(0)
    return _Option(
        "multiple_dwellings_relief",
        _floor(max(relieved, minimum) + extra),
        slices,
        supplement=_floor(extra),
        minimum_applied=minimum > relieved,
    )


def _supplement(price: Decimal, rules: Rules) -> Decimal:
    return price * rules.supplement_rate


def _floor(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), ROUND_FLOOR))


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def sql_rule_rows(on: dt.date) -> list[dict[str, Any]]:
    """Every nation's rules in force on `on`, one struct each, for the `scored` SQL model.

    Bands travel as lists of {lower, upper, rate} with decimal rates so the SQL computes the
    same pounds and pence as `land_tax`; Northern Ireland gets its own row with England's rules.
    """
    rows = []
    for nation in NATIONS:
        rules = rules_for(nation, on)
        rows.append(
            {
                "nation": nation,
                "tax_name": rules.tax_name,
                "residential": _sql_bands(rules.residential),
                "higher": _sql_bands(rules.higher),
                "non_residential": _sql_bands(rules.non_residential),
                "supplement_rate": rules.supplement_rate,
                "higher_rates_threshold": rules.higher_rates_threshold,
                "six_dwellings_non_residential": rules.six_dwellings_non_residential,
                "mdr_available": rules.mdr_available,
                "mdr_min_rate": rules.mdr_min_rate,
                "mdr_min_share": rules.mdr_min_share,
            }
        )
    return rows


def _sql_bands(table: tuple[Band, ...]) -> list[dict[str, Any]]:
    return [
        {"lower": band.lower, "upper": band.upper, "rate": band.rate.quantize(Decimal("0.0001"))}
        for band in table
    ]
