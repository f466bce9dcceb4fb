"""The reading of a listing by keyword rules, for runs without a model (no API key).

It fills the same fields a model would: condition, works needed, refurbishment scope, units,
strategies and risks. Units, red flags and signals come from screening's `extract_listing`;
condition and scope come from keyword tiers that follow the refurbishment tiers of the domain
notes (domain.md section 3.5): "derelict" or "fire damaged" is structural work, "requires
modernisation" a full refurbishment, "dated" a light one, "newly refurbished" none. When several
tiers match, the worst condition and the largest scope win, since an agent who mentions a
"newly refitted kitchen" in a house "in need of complete renovation" is selling the kitchen.
Phrases are negation-aware within their clause ("no damp", "not in need of updating").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from property_pipeline.screening.extract import Extraction
from property_pipeline.screening.taxonomy import MEANING, severity_of

CONDITION_ORDER = ("derelict", "poor", "dated", "fair", "good", "modernised")  # worst first
SCOPE_ORDER = ("structural", "full", "light", "cosmetic", "none")  # largest first

# Property types the portals give, as the kind of unit a single listing is.
TYPE_KIND = {
    "flat": "flat",
    "block_of_flats": "flat",
    "terraced": "house",
    "semi_detached": "house",
    "detached": "house",
    "bungalow": "house",
    "hmo": "hmo_room",
}
# extract_listing's unit kinds, in the analysis vocabulary.
EXTRACTED_KIND = {
    "flat": "flat",
    "maisonette": "flat",
    "studio": "studio",
    "bedsit": "studio",
    "hmo_room": "hmo_room",
    "house": "house",
    "commercial": "commercial",
}
DWELLING_KINDS = ("flat", "house", "studio", "hmo_room")

_NEGATION = re.compile(r"\b(?:no|not|never|without|nor|free (?:of|from)|isn't|aren't|n't)\b")
# Known limit: "free from damp, subsidence and knotweed" negates only damp here, so the rules
# may list works the text rules out; they err towards more works, not fewer.
# A list's items are separate clauses: "no central heating, single glazing" lacks only heating.
_CLAUSE_BREAK = re.compile(r"[.;:!?\n]|, |\b(?:and|but|although|though|while|whilst|plus)\b")
_NEGATION_WINDOW = 45
_WORK = r"(?:requires?|required|needs?|needed|needing|in need of|requiring)"


@dataclass(frozen=True, slots=True)
class _Tier:
    condition: str
    scope: str
    pattern: re.Pattern[str]


def _tier(condition: str, scope: str, pattern: str) -> _Tier:
    return _Tier(condition, scope, re.compile(pattern))


TIERS: tuple[_Tier, ...] = (
    _tier(
        "derelict",
        "structural",
        r"\bderelict|\bfire[- ]damaged?\b|\buninhabitable\b|\bstructurally unsound\b"
        r"|\bdilapidated\b|\bdangerous structure\b|\bstate of collapse\b|\bruinous\b",
    ),
    _tier(
        "poor",
        "structural",
        r"\bsubsidence\b|\bstructural (?:movement|repairs?|defects?|damage|issues?|problems?)"
        rf"|\bunderpinning (?:is )?{_WORK}|\b{_WORK} underpinning\b",
    ),
    _tier(
        "poor",
        "full",
        r"\b(?:complete|full|total|extensive|major|comprehensive|whole[- ]house|substantial)"
        r" (?:renovation|refurbishment|refurb|modernisation|overhaul|restoration|works"
        r"|programme of works)\b|\bshell (?:condition|only)\b|\bgutted\b|\bstripped back\b"
        r"|\bpoor (?:state of )?(?:repair|condition|order)\b|\bdisrepair\b"
        r"|\b(?:flood|water)[- ]damaged?\b|\bextensive (?:repairs|works)\b",
    ),
    _tier(
        "dated",
        "full",
        r"\bun-?modernised\b"
        rf"|\b{_WORK} (?:(?:some|general|full|a) )?(?:modernisation|renovation|refurbishment"
        r"|refurb)\b|\b(?:renovation|refurbishment|modernisation|restoration) project\b"
        r"|\bproject property\b",
    ),
    _tier(
        "dated",
        "light",
        rf"\bdated\b|\b{_WORK} (?:some )?(?:updating|improvement|upgrading|updates)\b"
        r"|\bwould benefit from (?:some )?(?:updating|modernisation|improvement|refurbishment)"
        r"|\bscope to (?:update|improve|modernise|refurbish)\b|\btired\b|\bunimproved\b",
    ),
    _tier(
        "fair",
        "cosmetic",
        r"\b(?:cosmetic|decorative) (?:updating|improvements?|refresh|works?|attention)\b"
        rf"|\b{_WORK} (?:re)?decoration\b|\blick of paint\b|\bfreshen(?:ing)? up\b",
    ),
    _tier(
        "modernised",
        "none",
        r"\b(?:newly|recently|fully|completely|tastefully|extensively|beautifully|totally"
        r"|comprehensively|thoughtfully|sympathetically|lovingly|stylishly) (?:refurbished"
        r"|renovated|modernised|updated|upgraded|restored|remodelled)\b"
        r"|\b(?:refurbished|renovated|modernised) (?:throughout|to a high standard)\b"
        r"|\bturn-?key\b|\bready to move (?:in|into)\b|\bmove[- ]in condition\b"
        r"|\bnewly built\b|\bnew[- ]build\b",
    ),
    _tier(
        "good",
        "none",
        r"\bwell[- ](?:maintained|presented|kept|cared for)\b|\bgood (?:decorative )?(?:order"
        r"|condition|state of repair)\b|\bexcellent (?:condition|order|decorative order)\b"
        r"|\bimmaculate\b|\bpristine\b|\bpresented to a high standard\b"
        r"|\bno (?:work|works|updating|modernisation) (?:required|needed)\b",
    ),
)

# (work, pattern, negatable): "no central heating" names work, so that rule ignores "no".
WORKS: tuple[tuple[str, re.Pattern[str], bool], ...] = tuple(
    (work, re.compile(pattern), negatable)
    for work, pattern, negatable in (
        (
            "structural repairs",
            r"\bsubsidence\b|\bstructural (?:movement|repairs?|defects?|damage|issues?)"
            r"|\bunderpinning\b|\bstructurally unsound\b",
            True,
        ),
        (
            "reinstatement after fire or water damage",
            r"\b(?:fire|flood|water)[- ]damaged?\b",
            True,
        ),
        (
            "roof repairs",
            r"\broof (?:repairs?|needs|requires|leaks?|is leaking)|\bnew roof\b"
            r"|\bleaking roof\b|\broof (?:is )?in poor",
            True,
        ),
        ("rewire", r"\brewir(?:e|ing)\b", True),
        ("new heating", r"\bno (?:gas )?central heating\b", False),
        (
            "new heating",
            r"\b(?:new|replacement) (?:boiler|central heating|heating system)\b"
            rf"|\b(?:boiler|central heating|heating system) (?:{_WORK}|is dated|is old)",
            True,
        ),
        (
            "damp treatment",
            r"\brising damp\b|\bdamp (?:issues?|problems?|patches|proofing"
            r"|treatment|course)\b|\bsigns of damp\b",
            True,
        ),
        (
            "new kitchen",
            r"\b(?:new|replacement|dated|tired|original) kitchen\b"
            rf"|\bkitchen (?:{_WORK}|is dated|is tired)",
            True,
        ),
        (
            "new bathroom",
            r"\b(?:new|replacement|dated|tired|original) (?:bathroom|shower room)\b"
            rf"|\b(?:bathroom|shower room) (?:{_WORK}|is dated|is tired)",
            True,
        ),
        (
            "new windows",
            r"\bsingle[- ]glaz(?:ed|ing)\b|\bnew windows\b"
            rf"|\bwindows (?:{_WORK}|are rotten)",
            True,
        ),
        ("redecoration", r"\bredecorat(?:e|ion|ing)\b|\blick of paint\b", True),
    )
)
# Works a red flag implies, whatever the wording.
FLAG_WORKS = {
    "structural_movement": "structural repairs",
    "fire_or_water_damage": "reinstatement after fire or water damage",
    "japanese_knotweed": "japanese knotweed treatment",
    "cladding_ews1": "cladding remediation",
}
SCOPE_WORK = {"structural": "structural repairs", "full": "full refurbishment"}


@dataclass(frozen=True, slots=True)
class RuleReading:
    """The fields of a reading as the rules fill them; unit rows as (kind, bedrooms, count)."""

    condition: str
    works_needed: tuple[str, ...]
    refurbishment_scope: str
    unit_breakdown: tuple[tuple[str, int | None, int], ...]
    strategy_fit: tuple[str, ...]
    risks: tuple[str, ...]
    summary: str


def negated(low: str, start: int) -> bool:
    """Whether a negation sits in the same clause just before `start` ("no damp")."""
    before = low[max(0, start - _NEGATION_WINDOW) : start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    return _NEGATION.search(before) is not None


def _found(pattern: re.Pattern[str], low: str, negatable: bool = True) -> bool:
    """Whether `pattern` occurs somewhere not negated."""
    return any(not (negatable and negated(low, match.start())) for match in pattern.finditer(low))


def condition_and_scope(low: str, extraction: Extraction) -> tuple[str, str]:
    """The worst condition and the largest scope the text's tiers and red flags support."""
    conditions = []
    scopes = []
    for tier in TIERS:
        if _found(tier.pattern, low):
            conditions.append(tier.condition)
            scopes.append(tier.scope)
    if "structural_movement" in extraction.red_flags:
        conditions.append("poor")
        scopes.append("structural")
    if "fire_or_water_damage" in extraction.red_flags:
        conditions.append("poor")
        scopes.append("full")
    if "needs_modernisation" in extraction.signals and not conditions:
        conditions.append("dated")
        scopes.append("full")
    if not conditions:
        return "unknown", "unknown"
    return min(conditions, key=CONDITION_ORDER.index), min(scopes, key=SCOPE_ORDER.index)


def works_needed(low: str, extraction: Extraction, scope: str) -> tuple[str, ...]:
    """Works the text names, those its red flags imply, and the scope's own headline work."""
    works = [SCOPE_WORK[scope]] if scope in SCOPE_WORK else []
    works += [work for work, pattern, negatable in WORKS if _found(pattern, low, negatable)]
    works += [FLAG_WORKS[flag] for flag in extraction.red_flags if flag in FLAG_WORKS]
    return tuple(dict.fromkeys(works))


def unit_breakdown(
    extraction: Extraction,
    property_type: str | None,
    bedrooms: int | None,
    unit_count: int | None,
) -> tuple[tuple[str, int | None, int], ...]:
    """The units that exist now: the text's count and kind, else the portal's type and count.

    Bedrooms are only known for a single home; a block's mix is left to the model.
    """
    kind = EXTRACTED_KIND.get(extraction.unit_kind or "") or TYPE_KIND.get(property_type or "")
    count = extraction.unit_count or unit_count
    rows: list[tuple[str, int | None, int]] = []
    if kind == "commercial":
        return ((kind, None, count or extraction.commercial_units or 1),)
    if kind is not None and count:
        rows.append((kind, bedrooms if count == 1 else None, count))
    if extraction.commercial_units:
        rows.append(("commercial", None, extraction.commercial_units))
    return tuple(rows)


def strategy_fit(
    extraction: Extraction,
    condition: str,
    scope: str,
    units: Iterable[tuple[str, int | None, int]],
    property_type: str | None,
) -> tuple[str, ...]:
    """Strategies the facts support; none for stock an investor should not buy (kill flags)."""
    if any(severity_of(flag) == "kill" for flag in extraction.red_flags):
        return ()
    kinds = {kind for kind, _, _ in units}
    dwellings = bool(kinds & set(DWELLING_KINDS))
    fits = []
    if dwellings and condition != "derelict":
        fits.append("buy_to_let")
    if "hmo_room" in kinds or property_type == "hmo":
        fits.append("hmo")
    if dwellings and scope in ("light", "full", "structural"):
        fits.append("flip")
    if "title_split_potential" in extraction.signals:
        fits.append("title_split")
    development = "development_potential" in extraction.signals or condition == "derelict"
    if development or property_type == "land":
        fits.append("development")
    if "commercial" in kinds or property_type == "mixed_use":
        fits.append("commercial")
    return tuple(fits)


def risks(extraction: Extraction) -> tuple[str, ...]:
    """Each red flag as "label: what it means for a buyer", the lease length where known."""
    found = []
    for flag in extraction.red_flags:
        label = flag.replace("_", " ")
        if flag == "short_lease" and extraction.lease_years_remaining is not None:
            label = f"short lease ({extraction.lease_years_remaining} years remaining)"
        found.append(f"{label[:1].upper()}{label[1:]}: {MEANING[flag]}")
    return tuple(found)


def summary(
    condition: str,
    scope: str,
    units: Iterable[tuple[str, int | None, int]],
    works: Iterable[str],
    extraction: Extraction,
) -> str:
    """A plain paragraph restating the reading, saying it was made by rules, not a model."""
    unit_text = ", ".join(
        f"{count} {kind.replace('_', ' ')}{'s' if count != 1 else ''}" for kind, _, count in units
    )
    parts = [
        "Rule-based reading (no AI model):",
        f"condition {condition}, refurbishment scope {scope}.",
        f"Units: {unit_text}." if unit_text else "Units not stated.",
    ]
    work_text = ", ".join(works)
    if work_text:
        parts.append(f"Works: {work_text}.")
    flags = ", ".join(flag.replace("_", " ") for flag in extraction.red_flags)
    parts.append(f"Red flags: {flags}." if flags else "No red flags found.")
    if extraction.signals:
        parts.append(f"Signals: {', '.join(s.replace('_', ' ') for s in extraction.signals)}.")
    return " ".join(parts)


def read_by_rules(
    text: str,
    extraction: Extraction,
    *,
    property_type: str | None,
    bedrooms: int | None,
    unit_count: int | None,
) -> RuleReading:
    """Every field of a reading from the listing's words (`text`) and their extraction."""
    low = text.lower()
    condition, scope = condition_and_scope(low, extraction)
    works = works_needed(low, extraction, scope)
    units = unit_breakdown(extraction, property_type, bedrooms, unit_count)
    return RuleReading(
        condition=condition,
        works_needed=works,
        refurbishment_scope=scope,
        unit_breakdown=units,
        strategy_fit=strategy_fit(extraction, condition, scope, units, property_type),
        risks=risks(extraction),
        summary=summary(condition, scope, units, works, extraction),
    )
