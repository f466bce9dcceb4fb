"""The fixed vocabulary screening uses for what a listing's words reveal.

Red flags are reasons to walk away or pay less, each with a severity: `kill` (not investor stock
at any price: the score is capped), `major` (a lending, insurance or legal problem that needs a
price adjustment and a human or AI look at the evidence), `minor` (a cost or nuisance to allow
for). Signals are opportunities: a motivated seller or value to add. Severities follow the
reference notes on UK listings (domain.md section 3.1); the codes never change meaning, so tables
and alerts written months apart stay comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("kill", "major", "minor", "opportunity")


@dataclass(frozen=True, slots=True)
class Code:
    """One red flag or signal: its code, its severity and what it means in a line."""

    code: str
    severity: str
    meaning: str


RED_FLAGS: tuple[Code, ...] = (
    Code(
        "short_lease",
        "major",
        "Under 80 years left on the lease: marriage value on extension, lenders wary below 70.",
    ),
    Code(
        "non_standard_construction",
        "major",
        "PRC, Airey, BISF and other non-traditional builds: many lenders decline them.",
    ),
    Code(
        "cash_buyers_only",
        "major",
        "Pitched at cash buyers or unmortgageable: usually condition, construction or lease.",
    ),
    Code(
        "shared_ownership",
        "kill",
        "A part-buy, part-rent share: not a whole property an investor can let or sell.",
    ),
    Code(
        "retirement_or_age_restricted",
        "kill",
        "Retirement, over-55s or assisted living: narrow resale market and high charges.",
    ),
    Code(
        "sitting_tenant",
        "major",
        "A regulated or protected tenancy: security of tenure and a registered fair rent.",
    ),
    Code(
        "cladding_ews1",
        "major",
        "Cladding, EWS1 or Building Safety Act remediation: lending and cost uncertainty.",
    ),
    Code(
        "structural_movement",
        "major",
        "Subsidence, underpinning, heave or structural cracking: insurance and lender caveats.",
    ),
    Code(
        "japanese_knotweed",
        "major",
        "Knotweed on or near the plot: treatment plan and lender retention likely.",
    ),
    Code(
        "flying_freehold",
        "minor",
        "Part of the freehold over or under a neighbour's: some lenders limit or decline it.",
    ),
    Code(
        "auction_reservation_fee",
        "minor",
        "Modern method or conditional auction: a non-refundable fee on top of the price.",
    ),
    Code(
        "escalating_ground_rent",
        "major",
        "Ground rent that doubles or rises, or above 0.1% of the price: hard to mortgage.",
    ),
    Code(
        "flood_risk",
        "major",
        "In a flood zone or with a history of flooding: insurance cost and resale drag.",
    ),
    Code(
        "fire_or_water_damage",
        "major",
        "Fire, flood or water damage: uninhabitable until repaired, often unmortgageable.",
    ),
    Code(
        "restrictive_planning",
        "major",
        "Listed building, Article 4 direction or HMO licence/planning problems.",
    ),
)

SIGNALS: tuple[Code, ...] = (
    Code("probate", "opportunity", "Executors selling an estate: motivated, often below value."),
    Code(
        "repossession",
        "opportunity",
        "Lender, mortgagee in possession or LPA receiver sale: priced to clear.",
    ),
    Code(
        "needs_modernisation",
        "opportunity",
        "Dated, unmodernised or derelict: value to add through refurbishment.",
    ),
    Code("no_onward_chain", "opportunity", "No onward chain: a quicker, surer completion."),
    Code("price_reduced", "opportunity", "The asking price has been cut: a motivated seller."),
    Code(
        "development_potential",
        "opportunity",
        "Scope or planning to extend, convert or build: value beyond the current use.",
    ),
    Code(
        "title_split_potential",
        "opportunity",
        "Several flats on one title, or a split proposed: value from selling them separately.",
    ),
)

RED_FLAG_CODES: tuple[str, ...] = tuple(item.code for item in RED_FLAGS)
SIGNAL_CODES: tuple[str, ...] = tuple(item.code for item in SIGNALS)
ALL_CODES: tuple[str, ...] = RED_FLAG_CODES + SIGNAL_CODES
SEVERITY: dict[str, str] = {item.code: item.severity for item in RED_FLAGS + SIGNALS}
MEANING: dict[str, str] = {item.code: item.meaning for item in RED_FLAGS + SIGNALS}


def severity_of(code: str) -> str:
    """The severity of a red flag or signal code, so screening can rank without its own table.

    Raises `KeyError` naming the known codes when `code` is not in the taxonomy.
    """
    try:
        return SEVERITY[code]
    except KeyError:
        raise KeyError(
            f"unknown screening code {code!r}; expected one of {', '.join(ALL_CODES)}"
        ) from None
