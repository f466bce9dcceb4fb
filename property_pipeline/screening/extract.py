"""What a listing's own words say: unit count, tenure, lease, red flags and opportunity signals.

Portals give a title, a summary, a description and key features, and agents bury the facts that
decide a deal in them: "a block of four self-contained flats", "68 years left on the lease",
"cash buyers only". `extract_listing` reads all four with precompiled patterns and returns an
`Extraction` with every code from `taxonomy` it found and the words that raised it.

How the reading works:
- Matching runs on a lower-cased copy with the same offsets, so evidence quotes the agent.
- A pattern runs only when one of its key words occurs (one set intersection finds them all),
  and only inside short windows around those words, so a typical listing costs a handful of
  small regex scans: a million listings take minutes, not hours. Where the key words mostly
  mean something else ("sitting room", "well served by shops"), a pattern also names words every
  match holds, and a window without them is not scanned.
- A match is dropped when a negation sits before it in the same clause ("no sitting tenants",
  "not in a flood risk area", "free from Japanese knotweed") or, for codes where agents write
  it that way, right after it ("EWS1 not required", "knotweed: none").
- Structured fields win over text: a tenure or lease length the portal states is kept, and the
  text only fills what is missing.

Units: `unit_count` counts dwellings (flats, maisonettes, studios, bedsits, houses, or the
lettable rooms of an HMO) and `unit_kind` names their kind. Commercial units are counted apart in
`commercial_units`, so "2 x 2 bed flats plus a shop" is 2 flats with 1 commercial unit: the
dwelling count is what title splits and the six-dwelling SDLT rule turn on, and a non-zero
`commercial_units` marks the building as mixed use. A building with no dwellings at all reports
its commercial units as `unit_count` with kind "commercial". A single home is one unit ("3
bedroom house" is 1 house, "one of four flats" is 1 flat); conversions that are only possible or
proposed ("potential to convert into 3 flats", "planning for 6 units") are not units but the
`development_potential` signal.

Judgement calls, decided once: any wording that pitches a listing at cash buyers ("ideal for cash
buyers and investors", "cash buyers may be best placed") raises `cash_buyers_only`, because agents
write it when lenders are unlikely to lend; "mortgage or cash buyers" does not. Fire or water
damage raises `fire_or_water_damage` and also `needs_modernisation` (the property needs works)
unless the same sentence says it has been repaired.
A freehold building of two or more flats raises `title_split_potential` (several flats on one
title), as do explicit words ("unbroken block", "no leases granted", "title split"). Conservation
areas are not `restrictive_planning`; listed buildings, Article 4 and HMO licence or planning
problems are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from property_pipeline.screening.numbers import NUMBER, alternation, to_int
from property_pipeline.screening.taxonomy import RED_FLAG_CODES, SIGNAL_CODES

UNIT_KINDS = ("flat", "hmo_room", "studio", "bedsit", "maisonette", "commercial", "house")
TENURES = ("freehold", "leasehold", "share_of_freehold", "commonhold")
SHORT_LEASE_YEARS = 80
GROUND_RENT_SHARE_OF_PRICE = 0.001  # ground rent above 0.1% of the price impairs lending

Span = tuple[int, int]  # start and end offsets in the listing's text
Found = tuple[int, Span]  # a count and the words that gave it


@dataclass(frozen=True, slots=True)
class Extraction:
    """Facts read from one listing; `evidence` maps each code or field to the words behind it."""

    unit_count: int | None
    unit_kind: str | None
    commercial_units: int
    tenure: str | None
    lease_years_remaining: int | None
    red_flags: tuple[str, ...]
    signals: tuple[str, ...]
    evidence: Mapping[str, str] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The extraction as a JSON-ready dict (lists for the code tuples), for output lines."""
        return {
            "unit_count": self.unit_count,
            "unit_kind": self.unit_kind,
            "commercial_units": self.commercial_units,
            "tenure": self.tenure,
            "lease_years_remaining": self.lease_years_remaining,
            "red_flags": list(self.red_flags),
            "signals": list(self.signals),
            "evidence": dict(self.evidence),
        }


# ---------------------------------------------------------------------------------------------
# Text and clauses

# Same-length replacements only: offsets in the lowered text must stay valid in the original.
_FOLDS = (("\u2019", "'"), ("\u2018", "'"), ("\u2013", "-"), ("\u2014", "-"), ("\xa0", " "))

# Where a clause ends, looking back from a match: a negation beyond one of these is about
# something else ("No onward chain, cash buyers only").
_BREAK_MARKS = (".", ";", ":", "!", "?", "\n", "(", ")", ", ", " - ")
_CONJUNCTIONS = re.compile(
    r"\b(?:and|but|however|although|though|whilst|while|yet|because|which|plus|also|then"
    r"|whereas)\b"
)
_NEGATION_BEFORE = re.compile(
    r"\b"
    + alternation(
        *(
            "no|not|never|without|nor|neither|none|free of|free from|clear of|absence of|isn't"
            "|aren't|wasn't|weren't|hasn't|haven't|doesn't|don't|didn't|cannot|can't|rather than"
            "|instead of|unaffected by|ruled out|nothing to suggest|n't"
        ).split("|")
    )
    + r"\b"
)
_NEGATION_AFTER = re.compile(
    r"^(?:\s*(?:forms?|certificates?|issues?|problems?|concerns?|risk|history|works?|direction"
    r"|reports?|surveys?|evidence|signs?|is present|are present))*"
    r"\s*(?:[:\-]\s*|\s(?:is|are|was|were|has|have|does|do|did)\s+(?:been\s+)?)?"
    r"(?:not\b|none\b|n/a\b|never\b|nil\b|no(?=\s*(?:[.,;)\n]|$)))"
)
_WINDOW = 70


def _clause_before(low: str, start: int, width: int = _WINDOW) -> str:
    """The words between the start of the clause holding `start` and `start` itself."""
    cut = max(0, start - width)
    for mark in _BREAK_MARKS:
        at = low.rfind(mark, cut, start)
        if at >= 0:
            cut = at + len(mark)
    return _CONJUNCTIONS.split(low[cut:start])[-1]


def _sentence_before(low: str, start: int, width: int) -> str:
    """The text between the start of the sentence holding `start` and `start` itself."""
    cut = max(0, start - width)
    for mark in (". ", ";", "\n"):
        at = low.rfind(mark, cut, start)
        if at >= 0:
            cut = at + len(mark)
    return low[cut:start]


def _cue_before(cue: re.Pattern[str], low: str, start: int, width: int = _WINDOW) -> bool:
    """Whether `cue` occurs in the clause before `start` (a cheap look at the raw span first)."""
    if cue.search(low, max(0, start - width), start) is None:
        return False
    return cue.search(_clause_before(low, start, width)) is not None


def _clause_after(low: str, end: int, width: int = 50) -> str:
    window = low[end : end + width]
    for mark in ".;\n":
        at = window.find(mark)
        if at >= 0:
            window = window[:at]
    return window


_PUNCTUATION = b".,;:()[]!?\"'-/&*"
_TO_SPACE = bytes.maketrans(_PUNCTUATION, b" " * len(_PUNCTUATION))
_SYMBOL_KEYS = ("%", "+")  # keys that are not words: "25% share", "55+ only"


class _Text:
    """A listing's lowered text, the words it holds and windows around chosen words.

    Patterns run only inside windows around the words they need, so a rule costs a few short
    scans when its words occur and a set lookup when they do not.
    """

    __slots__ = ("low", "words")

    def __init__(self, low: str) -> None:
        self.low = low
        tokens = low.encode().translate(_TO_SPACE).split()
        found = set(map(bytes.decode, _KEY_BYTES.intersection(tokens)))
        found.update(filter(low.__contains__, _SYMBOL_KEYS))
        self.words = frozenset(found)

    def has(self, keys: frozenset[str]) -> bool:
        """Whether any of `keys` occurs as a word."""
        return not self.words.isdisjoint(keys)

    def windows(self, keys: frozenset[str], before: int = 110, after: int = 150) -> list[Span]:
        """Merged spans of the text around each whole-word occurrence of the present keys."""
        low = self.low
        size = len(low)
        spans: list[Span] = []
        for word in self.words & keys:
            symbol = word in _SYMBOL_KEYS
            at = low.find(word)
            while at >= 0:
                stop = at + len(word)
                whole = symbol or (
                    (at == 0 or not low[at - 1].isalnum())
                    and (stop >= size or not low[stop].isalnum())
                )
                if whole:
                    spans.append((max(0, at - before), min(size, stop + after)))
                at = low.find(word, stop)
        if len(spans) < 2:
            return spans
        spans.sort()
        merged = [spans[0]]
        for start, end in spans[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return merged

    def scan(
        self,
        pattern: re.Pattern[str],
        keys: frozenset[str],
        before: int = 110,
        after: int = 150,
        needs: tuple[str, ...] = (),
    ) -> Iterator[re.Match[str]]:
        """Matches of `pattern` inside the windows around `keys`, in text order.

        `needs` holds words one of which every match of `pattern` consumes or looks ahead at: a
        window without any of them is skipped, since a substring test is far cheaper than
        trying the pattern at each of the window's positions.
        """
        low = self.low
        if self.words.isdisjoint(keys) or (needs and not any(map(low.__contains__, needs))):
            return
        for start, end in self.windows(keys, before, after):
            if needs and not any(map(low[start:end].__contains__, needs)):
                continue
            yield from pattern.finditer(low, start, end)


# ---------------------------------------------------------------------------------------------
# Red flags and signals


@dataclass(frozen=True, slots=True)
class _Rule:
    code: str
    keys: frozenset[str]  # words (split at punctuation), one of which every match contains
    pattern: re.Pattern[str]
    negated_after: bool = True  # "EWS1 not required"; off where a following "no" means more
    also_negated_before: re.Pattern[str] | None = None
    also_negated_after: re.Pattern[str] | None = None
    needs_before: re.Pattern[str] | None = None  # context the clause before must hold
    before: int = 60  # how far a match can start before its key word
    after: int = 60  # and end after it
    needs: tuple[str, ...] = ()  # words one of which every match holds, see `_Text.scan`


def _rule(code: str, keys: str, pattern: str, **options: Any) -> _Rule:
    return _Rule(code, frozenset(keys.split()), re.compile(pattern), **options)


_N = NUMBER

_RULES: tuple[_Rule, ...] = (
    _rule("short_lease", "short shorter", r"\bshort(?:er)?[- ]leas(?:e|ehold)\b"),
    _rule(
        "short_lease",
        "extension extending extended renewal",
        r"\blease (?:extension|renewal) (?:is |will be |may be |would be )?(?:required|needed"
        r"|necessary|recommended|advisable)\b|\blease (?:needs|will need|requires|would need"
        r"|need) (?:to be )?extend(?:ing|ed)\b|\b(?:requires|needs|will need|would need) (?:a )?"
        r"lease extension\b",
    ),
    _rule(
        "non_standard_construction",
        "non nonstandard nontraditional",
        r"\bnon[- ]?(?:standard|traditional)\b[\w\s-]{0,25}?(?:construct|build|built|frame"
        r"|type|house|home|property|design|method)",
    ),
    _rule(
        "non_standard_construction",
        "prc precast cast airey reema woolaway orlit bisf iron fines easiform mundic dorran smith"
        " boswell cornish unity wates steel system",
        r"\b(?:prc|pre-?cast (?:reinforced )?concrete|airey|reema|woolaway|orlit|bisf"
        r"|british iron (?:and|&) steel|(?:wimpey )?no[- ]?fines|(?:laing )?easiform|mundic"
        r"|dorran|smith system|boswell|cornish (?:unit|type|house|construction|system|built)"
        r"|unity (?:house|construction|system|type)|wates (?:house|construction|system|type)"
        r"|steel[- ]framed? (?:house|construction|property|home|building|built)"
        r"|system[- ]built|large panel system)\b",
    ),
    _rule(
        "cash_buyers_only",
        "cash",
        r"\bcash (?:buyers?|purchasers?|purchases?|purchase only|only|offers only|sale only)\b",
        negated_after=False,
        also_negated_before=re.compile(r"mortgage(?:d)? (?:buyers? )?(?:or|and|&|/)\s*$"),
        also_negated_after=re.compile(r"^\s*(?:or|and|&|/) (?:those with a )?mortgage"),
    ),
    _rule(
        "cash_buyers_only",
        "mortgageable unmortgageable nonmortgageable mortgage mortgaged lend",
        r"\b(?:un-?|non-?|not |unlikely to be |may not be |never )mortgageable\b"
        r"|\b(?:not|un)(?: ?suitable| eligible) for (?:a )?(?:mortgage|lending|finance)"
        r"|\bcannot be mortgaged\b|\blenders? (?:will not|won't|may not|are unlikely to) lend\b",
        negated_after=False,
    ),
    _rule(
        "shared_ownership",
        "shared staircasing staircase buy %",
        r"\bshared[- ]ownership\b|(?<![\d.])[1-9]\d?(?:\.\d)?\s?% (?:share|ownership)\b"
        r"(?! of (?:the )?freehold| in the freehold)|\bstaircas(?:ing|e)\b"
        r"|\bpart[- ]buy,? part[- ]rent\b",
    ),
    _rule(
        "retirement_or_age_restricted",
        "retirement over aged age + assisted sheltered mccarthy churchill warden extra"
        " 50s 55s 60s 65s 70s",
        r"\bretirement (?:flat|apartment|home|property|properties|development|complex|living"
        r"|village|scheme|community|housing|block|bungalow|studio)s?\b"
        r"|\bover[- ]?(?:50|55|60|65|70)'?s\b|\bover the age of (?:50|55|60|65|70)\b"
        r"|\baged (?:over )?(?:50|55|60|65|70) (?:and over|or over|and above|\+|plus)"
        r"|\b(?:50|55|60|65|70)\+ (?:only|development|living|residents)"
        r"|\bage[- ](?:restrict(?:ed|ion|ions)|exclusive|limit)\b|\bminimum age\b"
        r"|\bassisted living\b|\bsheltered (?:housing|accommodation|flat|apartment|scheme)\b"
        r"|\bmccarthy (?:and|&) stone\b|\bchurchill retirement\b"
        r"|\b(?:on[- ]site|resident|visiting) warden\b|\bwarden[- ](?:assisted|controlled|service"
        r"|call)\b|\bextra care\b",
    ),
    _rule(
        "sitting_tenant",
        "sitting regulated protected statutory rent lifetime life tenant",
        r"\bsitting tenan(?:t|ts|cy)\b|\b(?:regulated|protected|statutory|rent act|lifetime|life)"
        r" tenan(?:t|ts|cy|cies)\b|\brent act(?: 1977)?\b|\bregistered (?:fair )?rent\b"
        r"|\bfair rent\b|\btenant for life\b",
        # "sitting room" and "ground rent" wake the rule in most listings
        needs=("tenan", "rent act", "registered ", "fair rent"),
    ),
    _rule(
        "cladding_ews1",
        "ews1 ews external acm hpl cladding safety remediation waking",
        r"\bews[- ]?1\b|\bews form\b|\bexternal wall (?:system|survey|fire review|assessment"
        r"|appraisal)|\b(?:acm|hpl|combustible|flammable|unsafe|dangerous|non-compliant"
        r"|aluminium composite) cladding\b|\bacm\b|\bcladding (?:remediation|issues?|problems?"
        r"|works?|replacement|concerns?|defects?|survey|investigation|fund|scheme|is being"
        r"|will be|needs|requires)|\bbuilding safety (?:act|fund|remediation|regulator)\b"
        r"|\bremediation (?:works?|programme|project|scheme)\b|\bwaking watch\b"
        r"|\bfire safety (?:works|remediation|defects|issues)\b",
        also_negated_after=re.compile(
            r"^[^.;\n]{0,30}?\b(?:a1|a2|a3|b1|passed|not required|not needed)\b"
        ),
    ),
    _rule(
        "structural_movement",
        "subsidence underpinned underpinning structural movement settlement heave landslip bowing"
        " cracking cracks foundations foundation",
        r"\bsubsidence\b|\bunderpinn(?:ed|ing)\b|\bstructural (?:movement|defects?|issues?"
        r"|problems?|damage|cracking|cracks?|repairs?|concerns?|failure|instability)\b"
        r"|\b(?:historic|historical|previous|past|ongoing|progressive|some|signs of|evidence of)"
        r" (?:some |structural |historic |historical |minor |slight )*"
        r"(?:movement|settlement)\b|\bheave\b|\blandslip\b|\bbowing (?:walls?|gable|brickwork)"
        r"\b|\b(?:wall|gable|bay) (?:is )?bowing\b|\bsettlement cracks?\b|\bcracking (?:to|in) "
        r"(?:the )?(?:walls?|brickwork|render|gable|bay|foundations?)\b"
        r"|\bfoundations? (?:have|has) (?:moved|failed|settled)\b",
    ),
    _rule("japanese_knotweed", "knotweed knot", r"\b(?:japanese )?knot[- ]?weed\b"),
    _rule("flying_freehold", "flying creeping", r"\b(?:flying|creeping)[- ]freehold\b"),
    _rule(
        "auction_reservation_fee",
        "reservation modern mmoa conditional iamsold iam",
        r"\breservation (?:fee|agreement|deposit)\b|\bmodern method (?:of )?auction\b|\bmmoa\b"
        r"|\bmodern auction\b|\bconditional auction\b|\biam ?sold\b",
    ),
    _rule(
        "escalating_ground_rent",
        "doubling doubles escalating escalates escalate",
        r"\b(?:doubl(?:ing|es|e)|escalat(?:ing|es|e)) every\b|\bescalating ground rent\b",
    ),
    _rule(
        "escalating_ground_rent",
        "ground",
        r"\b(?:doubl(?:ing|es|e)|increas(?:ing|es|e)|ris(?:ing|es|e)|escalat(?:ing|es|e|ion)"
        r"|uplift(?:s|ed)?|review(?:ed|s)?|index[- ]linked|linked to (?:rpi|cpi|inflation)"
        r"|rpi[- ]linked)\b",
        needs_before=re.compile(r"\bground rent\b"),
        before=5,
        after=130,
    ),
    _rule(
        "flood_risk",
        "flood flooding flooded floodplain",
        r"\bflood(?:ing)? zone (?:2|3|3a|3b|two|three)\b|\b(?:high|medium|significant|elevated"
        r"|moderate) (?:risk of flooding|flood risk)\b|\bflood[- ]risk (?:area|zone)\b"
        r"|\bflood[- ]damaged?\b"
        r"|\bflood ?plain\b|\b(?:has|have|had) (?:previously |historically |recently |once )?"
        r"flooded\b|\bflooded in (?:19|20)\d\d\b|\b(?:history|record|incidents?|instances?) of "
        r"flooding\b|\bprone to flooding\b|\bat risk of flooding\b|\bflood risk[: ]+(?:is |rated "
        r")?(?:high|medium|significant)\b|\bsusceptible to flooding\b",
        also_negated_before=re.compile(r"\b(?:low|very low|minimal|negligible|little)\b"),
    ),
    _rule(
        "fire_or_water_damage",
        "damage damaged escape burnt gutted fire flood",
        r"\b(?:fire|smoke|water|flood)[- ]damaged?\b|\bdamaged by (?:a )?(?:fire|flood|flooding"
        r"|water|smoke|leaks?)\b|\bescape of water\b|\bburnt[- ]out\b|\bgutted by fire\b"
        r"|\b(?:following|after) (?:a|the) (?:fire|flood|major leak)\b",
    ),
    _rule(
        "restrictive_planning",
        "listed article",
        r"\blisted (?:building|property|status|cottage|house|barn|farmhouse|townhouse)\b"
        r"|\bgrade (?:i|ii|ii\*|1|2|2\*|a|b|c|one|two)[- ]?listed\b|\barticle (?:4|four)\b",
    ),
    _rule(
        "restrictive_planning",
        "hmo unlicensed unlicenced licensed licenced",
        r"\b(?:no|without|lapsed|expired|revoked|refused|missing|without an?) hmo licen[cs]e\b"
        r"|\bhmo licen[cs]e\b[^.;\n]{0,30}?\b(?:has |have |was |is )?(?:expired|lapsed|revoked"
        r"|refused|not (?:been )?(?:granted|renewed|applied for|in place|obtained))\b"
        r"|\bunlicen[cs]ed (?:hmo|house in multiple occupation)\b|\bnot licen[cs]ed as an hmo\b",
        negated_after=False,
        also_negated_after=re.compile(r"^\s*(?:is |was )?(?:required|needed|necessary)\b"),
    ),
    _rule(
        "restrictive_planning",
        "planning enforcement",
        r"\b(?:no|without|lacks?|lacking) (?:the )?(?:necessary |required |relevant |valid )?"
        r"planning (?:permission |consent )?(?:for|to)\b|\bretrospective planning\b"
        r"|\benforcement notice\b|\bplanning (?:enforcement|breach)\b|\bbreach of planning\b",
        negated_after=False,
    ),
    _rule(
        "probate",
        "probate executor executors deceased late",
        r"\bprobate\b|\bexecutor(?:s|'s|s')?\b|\bdeceased\b|\b(?:estate of|instructions of) the"
        r" late\b|\bthe late (?:mr|mrs|ms|miss|dr)\b",
    ),
    _rule(
        "repossession",
        "repossession repossessions repossessed mortgagee mortgagees receiver receivers"
        " receivership power bank order",
        r"\brepossess(?:ion|ions|ed)\b|\bmortgagee(?:s|'s|s')?\b|\b(?:lpa|law of property act"
        r"|fixed charge|administrative) receivers?\b"
        r"|\breceivership\b|\bsold by (?:the )?(?:joint )?receivers?\b|\bbank[- ]owned\b"
        r"|\bpower of sale\b|\bby order of (?:the )?(?:mortgagees?|receivers?|bank|lender)\b"
        r"|\breceivers?'? (?:sale|appointed)\b",
    ),
    _rule(
        "needs_modernisation",
        "modernisation modernization modernising modernizing modernise modernize unmodernised"
        " unmodernized refurbishment refurb refurbishing renovation renovating updating upgrading"
        " improvement repair repairs restoration redecoration redecorating decoration attention"
        " tlc work works",
        r"\b(?:requires?|required|requiring|needs|needing|in need of|need of|would benefit from"
        r"|benefits? from|benefiting from|ripe for|ready for|calls for|crying out for) (?:some |"
        r"full |complete |extensive |general |total |light |cosmetic |substantial |significant |"
        r"considerable |modest |a |an |degree of |programme of |scheme of |internal |external |"
        r"further |comprehensive |full scale |wholesale |refurbishment and |updating and |"
        r"modernisation and )*(?:moderni[sz]\w*|refurb\w*|renovat\w*|updating|upgrading|"
        r"improvement|repairs?|restoration|redecorat\w*|decorat\w*|attention|tlc|work|works)\b"
        r"|\bunmoderni[sz]ed\b|\b(?:renovation|refurbishment|restoration|modernisation|"
        r"improvement|refurb) (?:project|opportunity)\b|\bscope to (?:add value|improve|"
        r"modernise|update)\b",
    ),
    _rule(
        "needs_modernisation",
        "derelict dilapidated uninhabitable poor disrepair dated fixer gutted shell",
        r"\bderelict\b|\bdilapidated\b|\buninhabitable\b|\bin poor (?:condition|repair|order"
        r"|state|decorative order)\b|\bin (?:a state of )?disrepair\b|\bdated (?:throughout|decor"
        r"|interior|condition|kitchen|bathroom|fixtures)\b|\bfixer[- ]upper\b|\bgutted\b"
        r"|\bshell condition\b",
    ),
    _rule(
        "no_onward_chain",
        "chain chainfree",
        r"\bno (?:onward |upward |forward )?chain\b|\bchain[- ]?free\b|\bnot (?:part of|in) a "
        r"chain\b|\bwithout (?:an? )?(?:onward )?chain\b",
        negated_after=False,
    ),
    _rule(
        "price_reduced",
        "reduced reduction price cut",
        r"\b(?:price|recently|now|significantly|substantially|greatly|drastically|heavily"
        r"|massively|newly|just|further|much) reduced\b|\b(?:price|asking price) (?:has been|was|"
        r"is being) reduced\b|\breduced (?:price|asking|for (?:a )?quick sale|to sell|by|from"
        r"|to £|to reflect|guide)\b|\bprice (?:reduction|drop|cut"
        r"|adjustment|change)\b|\breduction of £|\bnew (?:lower |reduced )?(?:asking )?price\b"
        r"|(?:^|\n)\s*reduced\b|\b£[\d,]+k? (?:price )?(?:reduction|cut)\b",
        negated_after=False,
        also_negated_before=re.compile(r"\b(?:ground rent|service charge|rent|fees?)\b"),
    ),
    _rule(
        "development_potential",
        "potential extend extending extension extensions convert converting conversion develop"
        " developing development redevelop redevelopment build building create creating add adding"
        " split splitting subdivide subdivision reconfigure hmo loft basement infill",
        r"\b(?:potential|scope|opportunity|room|possibility|option)s? (?:to|for) (?:\w+ ){0,3}?"
        r"(?:extend\w*|extension|convert\w*|conversion|develop\w*|redevelop\w*|build\w*|"
        r"creat\w+|add(?:ing)? (?:a|an|further|additional|another|extra)|split\w*|sub-?divid\w*"
        r"|reconfigur\w*|hmo|loft|basement|infill|self-build)\b|\b(?:extension|conversion|"
        r"development|hmo|loft|redevelopment|building) potential\b",
    ),
    _rule(
        "development_potential",
        "planning pd permitted prior stp stpp development plot hope converted extended split"
        " developed redeveloped reconfigured subdivided divided suitable ideal lends suit suits",
        r"\bplanning (?:permission|consent|approval|application|granted|approved)\b|\bplanning"
        r" for\b|\b(?:full|outline|lapsed|existing|detailed) planning\b|\bsubject to (?:the "
        r"necessary )?(?:planning|consents|pp)\b|\bstpp?\b|\bprior approval\b|\bpermitted "
        r"development\b|\bpd rights\b|\bdevelopment (?:potential|opportunity|site|plot|land"
        r"|value)\b|\bbuilding plot\b|\bhope value\b|\b(?:could|can|may|might) (?:easily |"
        r"readily |also )?be (?:converted|extended|split|developed|redeveloped|reconfigured|"
        r"subdivided|sub-divided)\b|\b(?:suitable|ideal|lends itself) (?:for|to) (?:conversion"
        r"|development|redevelopment|extension|extending|an hmo|hmo)\b|\bsuit(?:s|ed)? "
        r"(?:conversion|development|redevelopment|extending|an hmo)\b",
    ),
    _rule(
        "title_split_potential",
        "title split splitting unbroken leases individually separately break",
        r"\btitle[- ]split\w*|\bsplit(?:ting)? (?:the |of the )?(?:freehold )?titles?\b"
        r"|\bsplit (?:and|&) sell\b|\bunbroken (?:freehold |leasehold |long leasehold )?"
        r"(?:block|building|terrace|freehold|title)\b|\bno (?:long )?leases (?:have |has )?"
        r"(?:been |yet )?(?:granted|created|issued|in place|sold)\b|\b(?:one|single|same) "
        r"(?:freehold |long leasehold |leasehold )?title\b|\bsell(?:ing)? (?:the |them |each )?"
        r"(?:flats |units |apartments )?(?:off )?(?:individually|separately)\b|\b(?:flats|units"
        r"|apartments) (?:could|can|may) be sold (?:off )?(?:individually|separately)\b"
        r"|\bbreak[- ]up (?:value|opportunity|potential)\b",
    ),
)


_RULES_BY_KEY: dict[str, tuple[int, ...]] = {
    key: tuple(index for index, rule in enumerate(_RULES) if key in rule.keys)
    for key in frozenset().union(*(rule.keys for rule in _RULES))
}


def _negated(low: str, start: int, end: int, rule: _Rule) -> bool:
    if _cue_before(_NEGATION_BEFORE, low, start):
        return True
    if rule.also_negated_before and _cue_before(rule.also_negated_before, low, start):
        return True
    if rule.negated_after or rule.also_negated_after:
        after = _clause_after(low, end)
        if rule.negated_after and _NEGATION_AFTER.match(after):
            return True
        if rule.also_negated_after and rule.also_negated_after.match(after):
            return True
    return False


def _find_codes(text: _Text) -> dict[str, Span]:
    """First non-negated match of each code in the listing, as a span of the lowered text."""
    found: dict[str, Span] = {}
    low = text.low
    active = sorted({index for word in text.words for index in _RULES_BY_KEY.get(word, ())})
    for rule in (_RULES[index] for index in active):
        if rule.code in found:
            continue
        for match in text.scan(rule.pattern, rule.keys, rule.before, rule.after, rule.needs):
            start, end = match.span()
            if rule.needs_before and not rule.needs_before.search(
                _sentence_before(low, start, 100)
            ):
                continue
            if _negated(low, start, end, rule):
                continue
            found[rule.code] = (start, end)
            break
    return found


# ---------------------------------------------------------------------------------------------
# Lease length and ground rent

_YEARS = r"(?:years?|yrs?)"
_ABOUT = r"(?:approx(?:imately|\.)?\s*|around |about |c\.\s?|circa |some |just over |over )?"
_LEASE_YEARS = re.compile(
    rf"(?<![\d,.£])(?P<a>\d{{1,3}})\s*{_YEARS}\s*(?:\(approx(?:imately|\.)?\)\s*)?"
    r"(?:remaining|left|unexpired|outstanding|to run|still to run|on the lease)\b"
    rf"|\b(?:remaining|unexpired|residual) (?:lease(?:hold)? )?(?:term|lease)?\s*(?:of|is|"
    rf"remaining)?\s*[:\-]?\s*{_ABOUT}(?P<b>\d{{1,3}})\s*{_YEARS}"
    rf"|\blease(?:\s*[:\-]| (?:length|term)(?: remaining)?(?: of| is)?\s*[:\-]?)\s*{_ABOUT}"
    rf"(?P<c>\d{{1,3}})\s*{_YEARS}"
    rf"|\bleasehold\s*[(:\-]?\s*{_ABOUT}(?P<f>\d{{1,3}})\s*{_YEARS}"
    rf"|\blease\b[^.;\n]{{0,40}}?\b(?:now runs for|runs for|extended to|extended by \d+ years to)"
    rf" {_ABOUT}(?P<g>\d{{1,3}})\s*{_YEARS}"
    rf"|\blease (?:of|with|has) {_ABOUT}(?P<d>\d{{1,3}})\s*{_YEARS}\b(?!\s*from)"
    rf"|(?<![\d,.£])(?P<e>\d{{1,3}})[- ]?{_YEARS}[- ](?:long )?lease\b"
    r"(?!\s*(?:from|granted|commencing|starting|dated|which began|beginning|term from))"
)
_LEASE_TERM_FROM = re.compile(
    rf"(?<![\d,.£])(?P<term>\d{{1,3}})[- ]?{_YEARS}[- ]lease (?:term )?(?:from|granted (?:in|on)"
    r"?|commencing(?: in| on)?|starting(?: in| on)?|dated) (?:\d{1,2}(?:st|nd|rd|th)? \w+ )?"
    r"(?:\w+ )?(?P<year>(?:19|20)\d\d)\b"
    r"|\blease (?:expires|expiring|ends|ending|runs until|runs to) (?:in )?(?:\w+ )?"
    r"(?P<until>(?:20|21|22|23|29)\d\d)\b"
)
_YEAR_KEYS = frozenset(("year", "years", "yr", "yrs"))
_LEASE_END_KEYS = frozenset(("expires", "expiring", "ends", "ending", "until", "runs"))
_LEASE_KEYS = frozenset(("lease", "leasehold"))
# "let separately on a 10 year lease": a tenant's lease, not the tenure on offer.
_LETTING_BEFORE = re.compile(r"\b(?:let|tenant|tenants|tenancy|rent|rented|occupational)\b")
_LEASE_CONTEXT = re.compile(r"\bleas|tenure|unexpired|share of (?:the )?freehold")
_OTHER_TERM_CONTEXT = re.compile(
    r"licen[cs]e|tenanc|warrant|guarantee|nhbc|mortgage|fixed rate|contract|planning|consent"
)
_GROUND_RENT = re.compile(
    r"\bground rent\b[^.;\n£]{0,25}£\s?(?P<amount>\d[\d,]*(?:\.\d\d)?)"
    r"(?P<period>\s*(?:pcm|per month|a month|/month|monthly))?"
)
_PEPPERCORN = re.compile(r"\bpeppercorn\b|\bno ground rent\b|\bground rent[: ]+(?:nil|none|£0)\b")
_GROUND_RENT_KEYS = frozenset(("ground", "peppercorn"))
_SHARE_KEYS = frozenset(("share", "shared"))


def _lease_years_in_text(text: _Text, as_of: dt.date | None) -> Found | None:
    """Years left on the lease the text states, with the span that says so."""
    low = text.low
    for match in text.scan(_LEASE_YEARS, _YEAR_KEYS | _LEASE_KEYS, 90, 60):
        name = match.lastgroup
        if name is None:
            continue
        if name == "a" and not _about_a_lease(low, match.start(), match.end()):
            continue
        if name == "e" and _cue_before(_LETTING_BEFORE, low, match.start(), 60):
            continue
        return int(match.group(name)), match.span()
    if as_of is None:
        return None
    for match in text.scan(_LEASE_TERM_FROM, _YEAR_KEYS | _LEASE_END_KEYS, 60, 60):
        if match.group("term"):
            remaining = int(match.group("term")) - (as_of.year - int(match.group("year")))
        else:
            remaining = int(match.group("until")) - as_of.year
        if 0 <= remaining <= 999:
            return remaining, match.span()
    return None


def _about_a_lease(low: str, start: int, end: int) -> bool:
    """Whether "N years remaining" is about a lease, not a licence, tenancy or warranty."""
    if "unexpired" in low[start:end] or "lease" in low[start:end]:
        return True
    line_start = low.rfind("\n", 0, start) + 1
    line_end = low.find("\n", end)
    before = low[max(line_start, start - 80) : start]
    after = low[end : min(line_end if line_end >= 0 else len(low), end + 40)]
    lease_at = [m.end() for m in _LEASE_CONTEXT.finditer(before)]
    other_at = [m.end() for m in _OTHER_TERM_CONTEXT.finditer(before)]
    if lease_at and (not other_at or lease_at[-1] > other_at[-1]):
        return True
    lease_after = _LEASE_CONTEXT.search(after)
    if lease_after is None:
        return False
    other_after = _OTHER_TERM_CONTEXT.search(after)
    return other_after is None or lease_after.start() < other_after.start()


def _ground_rent_in_text(text: _Text) -> int | None:
    """The yearly ground rent the text states (0 for a peppercorn), None when it says nothing."""
    if not text.has(_GROUND_RENT_KEYS):
        return None
    if _PEPPERCORN.search(text.low):
        return 0
    match = _GROUND_RENT.search(text.low)
    if match is None:
        return None
    amount = float(match.group("amount").replace(",", ""))
    return round(amount * 12 if match.group("period") else amount)


# ---------------------------------------------------------------------------------------------
# Tenure

_TENURE_LABEL = re.compile(
    r"\btenure\s*[:\-]?\s*(share of (?:the )?freehold|freehold|leasehold|commonhold)\b"
)
_SHARE_OF_FREEHOLD = re.compile(r"\bshare (?:of|in) (?:the )?freehold\b|\bshared freehold\b")
# The words that state a tenure, and which tenure each states.
_TENURE_WORDS = (
    ("commonhold", "commonhold"),
    ("leasehold", "leasehold"),
    ("long lease", "leasehold"),
    ("freehold", "freehold"),
)
_NOT_FREEHOLD_BEFORE = ("flying", "creeping", "virtual")
# "the freehold is owned by the residents' company": about the landlord, not the tenure on offer.
_NOT_FREEHOLD_AFTER = re.compile(r" is owned| owner| belongs| is held| is managed| company")


def _tenure_in_text(text: _Text, lease_found: bool) -> tuple[str, Span] | None:
    """The tenure the text states: share of freehold, a labelled tenure, else the first word."""
    low = text.low
    if text.has(_SHARE_KEYS):
        for match in text.scan(_SHARE_OF_FREEHOLD, _SHARE_KEYS, 5, 30):
            if not _cue_before(_NEGATION_BEFORE, low, match.start(), 30):
                return "share_of_freehold", match.span()
    if "tenure" in text.words:
        label = _TENURE_LABEL.search(low)
        if label is not None:
            words = label.group(1)
            return ("share_of_freehold" if words.startswith("share") else words), label.span()
    mentions = [
        mention
        for word, kind in _TENURE_WORDS
        if (mention := _first_tenure_word(low, word, kind)) is not None
    ]
    if mentions:
        return min(mentions, key=lambda mention: mention[1])
    if lease_found:
        return "leasehold", (0, 0)
    return None


def _first_tenure_word(low: str, word: str, kind: str) -> tuple[str, Span] | None:
    """The first whole-word `word` that states a tenure (not "flying freehold", "not leasehold")."""
    at = low.find(word)
    while at >= 0:
        end = at + len(word)
        whole = (at == 0 or not low[at - 1].isalnum()) and (
            end == len(low) or not low[end].isalnum()
        )
        if whole and kind == "freehold":
            before = low[max(0, at - 9) : at].rstrip(" -")
            if before.endswith(_NOT_FREEHOLD_BEFORE) or _NOT_FREEHOLD_AFTER.match(low, end):
                whole = False
        if whole and not _cue_before(_NEGATION_BEFORE, low, at, 30):
            return kind, (at, end)
        at = low.find(word, end)
    return None


# ---------------------------------------------------------------------------------------------
# Units

_MODS = (
    r"(?:(?:self[- ]contained|separate|individual|residential|purpose[- ]built|modern|spacious"
    r"|well[- ]presented|refurbished|fully let|let|vacant|converted|large|good[- ]sized|studio"
    rf"|{_N}[- ]?bed(?:room)?(?:ed)?|one|two|three)[ ,]+)*"
)
_DWELLING = (
    r"(?P<noun>flats?|apartments?|flatlets?|maisonettes?|studios?(?: flats?| apartments?)?"
    r"|bed-?sits?|dwellings?|units?|houses|cottages|homes)\b"
)
_NOUN_KIND = {
    "flat": "flat",
    "apartment": "flat",
    "flatlet": "studio",
    "maisonette": "maisonette",
    "studio": "studio",
    "bedsit": "bedsit",
    "bed-sit": "bedsit",
    "dwelling": "flat",
    "unit": "flat",
    "house": "house",
    "cottage": "house",
    "home": "house",
}
# Words a multi-unit count ends on; a listing without one holds a single home.
_PLURAL_KEYS = frozenset(
    "flats apartments flatlets maisonettes studios bedsits sits dwellings units houses cottages"
    " homes".split()
)
_SINGULAR_KEYS = frozenset("flat apartment maisonette studio bedsit unit".split())
_DWELLING_KEYS = _PLURAL_KEYS | _SINGULAR_KEYS
_STRUCTURE_KEYS = frozenset("unit flat apartment dwelling".split())
_MIX_KEYS = frozenset(("x",))
_MULTI_KEYS = _PLURAL_KEYS | _MIX_KEYS | {"unit", "dwelling"}
# Counts a building's own description gives: "block of four flats", "converted into 3 flats",
# "comprising six self-contained units".
_STRUCTURES = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(?:block|building|terrace|development|portfolio|parade|row|collection|conversion)"
        r" (?:comprising |consisting of |made up of |containing |of )(?:a total of )?"
        rf"(?P<n>{_N}) {_MODS}{_DWELLING}",
        r"\b(?:converted|arranged|split|laid out|divided|configured|sub-?divided|let|run"
        rf"|set out)(?: (?:in)?to| as)(?: a total of)? (?P<n>{_N}) {_MODS}{_DWELLING}",
        r"\b(?:comprises?|comprising|consists? of|consisting of|made up of|provides|providing"
        r"|offering|offers|contains|containing|includes|including)(?: a total of)?"
        rf" (?P<n>{_N}) {_MODS}{_DWELLING}",
    )
)
# "a five-unit freehold block", "4 flat building".
_UNIT_BLOCK = re.compile(
    rf"\b(?P<n>{_N})[- ](?:unit|flat|apartment|dwelling)s? (?:(?:freehold|leasehold|long"
    r" leasehold|residential|mixed[- ]use|investment|self-contained|purpose[- ]built) )*"
    r"(?:block|building|property|investment|development|conversion|house|scheme|terrace"
    r"|portfolio)\b"
)
_MIX_ITEM = rf"(?:{_N})\s*x\s*(?:{_N}[- ]?bed(?:room)?(?:ed)?s?|studios?)"
_MIX_X = re.compile(
    rf"\b{_MIX_ITEM}(?:\s*(?:,|&|\+|and|plus|,\s*and)\s*{_MIX_ITEM})*"
    rf"(?:\s*(?:self[- ]contained )?{_DWELLING})?"
)
_MIX_X_COUNT = re.compile(rf"(?P<n>{_N})\s*x\s*")
_MIX_WORD_ITEM = rf"(?:{_N}) (?:{_N}[- ]?bed(?:room)?(?:ed)?|studios?)"
_MIX_WORD = re.compile(
    rf"\b{_MIX_WORD_ITEM}(?:\s*(?:,|&|and|plus|,\s*and)\s*{_MIX_WORD_ITEM})*"
    rf"\s+(?:self[- ]contained )?{_DWELLING}"
)
_MIX_WORD_COUNT = re.compile(rf"\b(?P<n>{_N}) (?:{_N}[- ]?bed(?:room)?(?:ed)?|studios?)")
_GENERIC = re.compile(rf"\b(?P<n>{_N}) {_MODS}{_DWELLING}")
_ONE_OF = re.compile(rf"\b(?:one|1) of (?:the |only |just )?(?:{_N}) {_MODS}{_DWELLING}")
_WITHIN_BUILDING = re.compile(
    r"\b(?:in|within|of|on|part of|one of|set in|located in|situated in|forms? part of|among"
    r"|amongst)\s+(?:a|an|this|the|our|its)?\s*(?:[\w-]+\s+){0,4}(?:block|building|development"
    r"|house|conversion|terrace|complex|scheme|property)\s+(?:of|comprising|containing|with"
    r"|which (?:has|contains)|made up of)(?: just| only)?\s*$"
)
_ONE_OF_BEFORE = re.compile(r"\b(?:one|1) of (?:the |only |just |these |its )?$")
# "a flat in a purpose built block of six flats": the block is where the flat is, not the lot.
_INSIDE_BEFORE = re.compile(
    r"\b(?:in|within|of|on|part of|set in|located in|situated in|forms? part of|among"
    r"|amongst)\s+(?:a|an|this|the|our|its)?\s*(?:[\w-]+\s+){0,3}$"
)
_POTENTIAL_BEFORE = re.compile(
    alternation(
        *(
            r"potential|scope|could|would|might|\bmay\b|proposed|proposal|possib|planning|consent"
            r"|permission|subject to|\bplans?\b|opportunity|ability|option|allow|approv|sought"
            r"|applied|application|\bpp\b|\bstp|to convert|convertible|ideal for|suitable for"
            r"|lends itself|capable of|\bcan be\b|envisage|intend|will be|to create|creating"
            r"|\bcreate\b|to form|room for|to provide|provision of"
        ).split("|")
    )
)
_POTENTIAL_AFTER = re.compile(r"^[^.;\n]{0,40}?(?:subject to|\bstpp?\b|\(stp|if required)")
_HMO = (
    r"(?:hmo|house (?:in|of) multiple occupation|house share|shared house|co-?living"
    r"|multi-let|room let)"
)
_HMO_KEYS = frozenset(
    "hmo occupation lettable letting licensed licenced sharers generis coliving multi".split()
)
_HMO_ROOM_COUNTS = re.compile(
    rf"\b(?P<n>{_N})[- ](?:bed(?:room)?(?:ed)?|room|letting room|lettable room|person|occupant)s?"
    r" (?:(?:licensed|licenced|fully let|student|professional|sui generis|large|high[- ]yielding"
    rf"|mandatory|let|tenanted|shared|terraced|semi-detached|detached) )*{_HMO}\b"
    rf"|\b(?P<n2>{_N}) (?:x )?(?:(?:fully let|self[- ]contained|individual|good[- ]sized|large"
    r"|spacious|double|single|en[- ]?suite|furnished) )*(?:lettable|letting|income[- ]producing"
    r"|let|lets) (?:(?:double|single|en[- ]?suite|ensuite) )*(?:bed)?rooms\b"
    rf"|\b{_HMO}\b[^.;\n]{{0,20}}?\b(?:with|for|housing|occupied by|let to) (?P<n3>{_N})"
    r" (?:tenants|occupants|sharers|residents|people|persons|(?:lettable |letting )?rooms)\b"
)
_HMO_LICENCE_COUNT = re.compile(
    rf"\blicen[cs]ed (?:hmo )?for (?:up to |a maximum of |max\.? )?(?P<n>{_N})"
    r"(?: (?:persons|people|occupants|tenants|sharers|residents|individuals|households|adults"
    r"|lettings|rooms|bedrooms|units|unrelated))?\b"
    rf"|\bhmo licen[cs]e (?:for|covering) (?:up to )?(?P<n2>{_N})\b"
)
_HMO_CONTEXT = re.compile(
    rf"\b{_HMO}\b(?! potential| conversion| use| investors?| landlords?| buyers?| purposes)"
)
_HMO_CONTEXT_COUNTS = re.compile(
    rf"\b(?P<n>{_N}) (?:x )?(?:(?:double|single|en[- ]?suite|ensuite|furnished|good[- ]sized"
    r"|large|spacious|individual) )*(?:bed)?rooms\b"
)
_ROOM_KEYS = frozenset(("rooms", "bedrooms"))
_SUI_GENERIS = re.compile(r"\bsui generis\b")
_COMMERCIAL_BEFORE = re.compile(
    rf"\b(?:(?P<n>{_N}) )?(?:(?:ground floor|lock[- ]up|double[- ]fronted|corner|high street"
    r"|self-contained|large|former) )*(?P<what>shops?|retail (?:units?|premises|shops?)"
    r"|commercial (?:units?|premises|space)|shop units?|takeaway|restaurant|caf[eé]"
    r"|office (?:units?|premises))\b(?=[^.;\n]{0,45}\b(?:flats?|apartments?|maisonettes?"
    r"|residential|upper parts|uppers|accommodation)\b)"
)
_COMMERCIAL_AFTER = re.compile(
    r"\b(?:flats?|apartments?|maisonettes?|uppers)\b[^.;\n]{0,40}?\b(?:plus|and|with|above"
    rf"|over|&) (?:a |an |the |(?P<n>{_N}) )?(?:(?:ground floor|lock[- ]up|commercial) )?"
    r"(?P<what>shops?|retail units?|commercial units?|takeaway|restaurant|caf[eé])\b"
)
_COMMERCIAL_KEYS = frozenset(
    "shop shops retail commercial takeaway restaurant cafe café office workshop workshops"
    " industrial pub".split()
)
# Each commercial pattern with the words for homes one of which its matches hold: "well served
# by shops" wakes them in most listings.
_COMMERCIAL_PATTERNS = (
    (
        _COMMERCIAL_BEFORE,
        ("flat", "apartment", "maisonette", "residential", "upper", "accommodation"),
    ),
    (_COMMERCIAL_AFTER, ("flat", "apartment", "maisonette", "uppers")),
)
_MIXED_USE = re.compile(r"\bmixed[- ]use\b")
# A lot with no home in it at all: "Shop for sale", "ground floor retail unit".
_COMMERCIAL_ONLY = re.compile(
    rf"\b(?:(?P<n>{_N}) )?(?:(?:ground floor|lock[- ]up|corner|high street) )*(?P<what>shops?"
    r"|retail (?:units?|premises)|commercial (?:units?|premises)|office (?:units?|premises)"
    r"|takeaway|restaurant|caf[eé]|public house|workshops?|industrial units?)\b"
)
_NOT_THE_PROPERTY = re.compile(
    r"\b(?:close to|near|nearby|near to|walking distance (?:of|to)|within reach of|served by"
    r"|local|amenities|yards from|minutes from|access to|moments from|handy for|convenient"
    r" for|surrounded by|variety of|range of)\b"
)
_SINGLE_KIND = re.compile(
    r"\b(?P<studio>studio)\b|\b(?P<bedsit>bed-?sit)\b|\b(?P<maisonette>maisonette)\b"
    r"|\b(?P<flat>flat|apartment|penthouse|duplex)\b(?! roof)"
    r"|\b(?P<house>house|bungalow|cottage|terrace|semi-detached|semi|detached|townhouse"
    r"|town house|villa|chalet|mews|end of terrace|home)\b"
)
_TYPE_KIND = {
    "flat": "flat",
    "terraced": "house",
    "semi_detached": "house",
    "detached": "house",
    "bungalow": "house",
    "hmo": "hmo_room",
}

# "smoke damage ... has been repaired": past damage, no works left to do.
_REPAIRED_AFTER = re.compile(
    r"[^.;\n]{0,60}?\b(?:has|have) (?:since |now |all |fully )?been (?:fully )?(?:repaired"
    r"|restored|rectified|made good|put right|reinstated)\b"
)


class _Units(NamedTuple):
    count: int | None
    kind: str | None
    span: Span | None
    commercial: int


def _kind_of(noun: str | None) -> str:
    if not noun or noun.startswith("studio"):
        return "studio" if noun else "flat"
    return _NOUN_KIND.get(noun.split()[0].rstrip("s"), "flat")


def _existing(low: str, start: int, end: int) -> bool:
    """Whether a count describes units that exist here, not possible ones or the host block."""
    if _cue_before(_POTENTIAL_BEFORE, low, start, 90) or _POTENTIAL_AFTER.match(low, end):
        return False
    if _WITHIN_BUILDING.search(low, max(0, start - 90), start):
        return False
    if _cue_before(_ONE_OF_BEFORE, low, start, 40):
        return False
    return not _cue_before(_NEGATION_BEFORE, low, start, 90)


def _dwelling_units(text: _Text) -> tuple[int, str, Span] | None:
    """The first existing multi-unit count, most telling wording first.

    A total the building is described by ("five-unit block", "block of four flats", "converted
    into three flats") beats a unit mix ("2 x 1 bed and 3 x 2 bed"), which beats a count after
    "comprising", which beats any other count of flats.
    """
    low = text.low
    found = _first_count(text, _UNIT_BLOCK, _STRUCTURE_KEYS, 25, 60, "flat")
    found = found or _first_count(text, _STRUCTURES[0], _DWELLING_KEYS, 130, 2, inside=True)
    found = found or _first_count(text, _STRUCTURES[1], _DWELLING_KEYS, 130, 2)
    if found:
        return found
    for match in text.scan(_MIX_X, _MIX_KEYS, 30, 200):
        if _existing(low, match.start(), match.end()):
            counts = [to_int(m.group("n")) or 0 for m in _MIX_X_COUNT.finditer(match.group())]
            return sum(counts), _kind_of(match.group("noun")), match.span()
    for match in text.scan(_MIX_WORD, _PLURAL_KEYS, 200, 2):
        if _existing(low, match.start(), match.end()):
            counts = [to_int(m.group("n")) or 0 for m in _MIX_WORD_COUNT.finditer(match.group())]
            return sum(counts), _kind_of(match.group("noun")), match.span()
    found = _first_count(text, _STRUCTURES[2], _DWELLING_KEYS, 130, 2)
    if found:
        return found
    for match in text.scan(_GENERIC, _DWELLING_KEYS, 90, 2):
        count = to_int(match.group("n"))
        noun = match.group("noun")
        if count and (count > 1) == noun.endswith("s"):
            if _existing(low, match.start(), match.end()):
                return count, _kind_of(noun), match.span()
    return None


def _first_count(
    text: _Text,
    pattern: re.Pattern[str],
    keys: frozenset[str],
    before: int,
    after: int,
    kind: str | None = None,
    *,
    inside: bool = False,
) -> tuple[int, str, Span] | None:
    """The first existing count `pattern` finds; `inside` also rejects "in a block of six"."""
    low = text.low
    for match in text.scan(pattern, keys, before, after):
        count = to_int(match.group("n"))
        if not count or (inside and _cue_before(_INSIDE_BEFORE, low, match.start(), 60)):
            continue
        if _existing(low, match.start(), match.end()):
            mix = _mix_at(low, match.start("n"))
            if mix is not None:
                return mix[0], mix[1], (match.start(), mix[2][1])
            return count, kind or _kind_of(match.group("noun")), match.span()
    return None


def _mix_at(low: str, at: int) -> tuple[int, str, Span] | None:
    """A unit mix that starts at `at` ("six studios and two one-bedroom flats"), summed."""
    for pattern, counter in ((_MIX_X, _MIX_X_COUNT), (_MIX_WORD, _MIX_WORD_COUNT)):
        match = pattern.match(low, at)
        if match is not None and len(counter.findall(match.group())) > 1:
            counts = [to_int(m.group("n")) or 0 for m in counter.finditer(match.group())]
            return sum(counts), _kind_of(match.group("noun")), match.span()
    return None


def _hmo_rooms(text: _Text) -> Found | None:
    """Lettable rooms of an HMO: a rooms count, else the licence's occupant count."""
    if not text.has(_HMO_KEYS):
        return None
    low = text.low
    for match in text.scan(_HMO_ROOM_COUNTS, _HMO_KEYS, 60, 60):
        count = to_int(match.group("n") or match.group("n2") or match.group("n3"))
        if count and _existing(low, match.start(), match.end()):
            return count, match.span()
    context = any(
        not _cue_before(_POTENTIAL_BEFORE, low, m.start(), 50)
        for m in text.scan(_HMO_CONTEXT, _HMO_KEYS, 30, 40)
    )
    if context:
        for match in text.scan(_HMO_CONTEXT_COUNTS, _ROOM_KEYS, 60, 2):
            count = to_int(match.group("n"))
            if count and count > 1 and _existing(low, match.start(), match.end()):
                return count, match.span()
    for match in text.scan(_HMO_LICENCE_COUNT, _HMO_KEYS, 30, 60):
        count = to_int(match.group("n") or match.group("n2"))
        if count and _existing(low, match.start(), match.end()):
            return count, match.span()
    generis = _SUI_GENERIS.search(low) if context else None
    if generis:
        return 7, generis.span()  # sui generis: an HMO for seven or more people
    return None


def _commercial_units(text: _Text) -> Found | None:
    """Shops and other commercial units that are part of the property, not nearby amenities."""
    low = text.low
    for pattern, homes in _COMMERCIAL_PATTERNS:
        for match in text.scan(pattern, _COMMERCIAL_KEYS, 90, 70, homes):
            start = match.start()
            if pattern is _COMMERCIAL_BEFORE and _cue_before(_NOT_THE_PROPERTY, low, start, 60):
                continue
            if _cue_before(_POTENTIAL_BEFORE, low, start, 60):
                continue
            count = to_int(match.group("n")) if match.group("n") else None
            plural = match.group("what").split()[-1].endswith("s")
            return (count or (2 if plural else 1)), match.span()
    mixed = _MIXED_USE.search(low) if "mixed" in text.words else None
    return (1, mixed.span()) if mixed else None


def _single_kind(low: str, property_type: str | None) -> tuple[str, Span] | None:
    """What one home is (flat, studio, house...), from the words first, then the portal's type."""
    kind_from_type = _TYPE_KIND.get(property_type or "")
    match = _SINGLE_KIND.search(low)
    if match is not None:
        kind = match.lastgroup or "flat"
        if kind_from_type == "house" and kind != "house":
            return "house", (0, 0)
        return kind, match.span()
    if kind_from_type and kind_from_type != "hmo_room":
        return kind_from_type, (0, 0)
    return None


def _units(text: _Text, property_type: str | None) -> _Units:
    """Dwellings and commercial units the text describes, per the module's counting rules."""
    commercial = _commercial_units(text) if text.has(_COMMERCIAL_KEYS | {"mixed"}) else None
    commercial_count = commercial[0] if commercial else 0
    multi = text.has(_MULTI_KEYS) or (commercial and text.has(_SINGULAR_KEYS))
    dwellings = _dwelling_units(text) if multi else None
    hmo = _hmo_rooms(text)
    if hmo and (property_type == "hmo" or dwellings is None or dwellings[1] == "house"):
        return _Units(hmo[0], "hmo_room", hmo[1], commercial_count)
    if dwellings is not None:
        return _Units(dwellings[0], dwellings[1], dwellings[2], commercial_count)
    one_of = _ONE_OF.search(text.low) if multi else None
    if one_of is not None:
        return _Units(1, _kind_of(one_of.group("noun")), one_of.span(), commercial_count)
    if property_type in ("block_of_flats", "hmo"):
        kind = "hmo_room" if property_type == "hmo" else "flat"
        return _Units(None, kind, None, commercial_count)
    single = _single_kind(text.low, property_type)
    if single is not None:
        span = single[1] if single[1] != (0, 0) else None
        return _Units(1, single[0], span, commercial_count)
    if commercial is None and text.has(_COMMERCIAL_KEYS):
        commercial = _commercial_only(text)
    if commercial is not None:
        return _Units(commercial[0], "commercial", commercial[1], commercial[0])
    return _Units(None, None, None, 0)


def _commercial_only(text: _Text) -> Found | None:
    """The commercial units of a lot with no dwelling words at all."""
    for match in text.scan(_COMMERCIAL_ONLY, _COMMERCIAL_KEYS, 40, 10):
        if _cue_before(_NOT_THE_PROPERTY, text.low, match.start(), 60):
            continue
        count = to_int(match.group("n")) if match.group("n") else None
        return count or 1, match.span()
    return None


# Every word some pattern waits for, so one set intersection finds them all.
_KEY_BYTES = frozenset(
    word.encode()
    for word in frozenset().union(
        *(rule.keys for rule in _RULES),
        _YEAR_KEYS,
        _LEASE_END_KEYS,
        _GROUND_RENT_KEYS,
        _SHARE_KEYS,
        {"tenure", "mixed"},
        _PLURAL_KEYS,
        _SINGULAR_KEYS,
        _STRUCTURE_KEYS,
        _MIX_KEYS,
        _HMO_KEYS,
        _ROOM_KEYS,
        _COMMERCIAL_KEYS,
    )
    if word not in _SYMBOL_KEYS
)


# ---------------------------------------------------------------------------------------------
# The whole listing


def _listing_text(
    title: str | None, summary: str | None, description: str | None, features: Iterable[str]
) -> str:
    parts = [title, *features]
    if summary and not _summary_repeats(summary, description):
        parts.append(summary)
    parts.append(description)
    return "\n".join(filter(None, parts))


def _summary_repeats(summary: str, description: str | None) -> bool:
    """A portal summary that is just the description's opening, cut off with an ellipsis."""
    if not description:
        return False
    words = summary.rstrip(". \u2026").split()[:-1]
    opening = " ".join(description[: len(summary) + 80].split())
    return bool(words) and opening.startswith(" ".join(words))


def _fold(text: str) -> str:
    if text.isascii():  # every fancy character is beyond ASCII
        return text
    for fancy, plain in _FOLDS:
        if fancy in text:
            text = text.replace(fancy, plain)
    return text


def extract_listing(
    title: str | None = None,
    summary: str | None = None,
    description: str | None = None,
    key_features: Sequence[str] = (),
    *,
    property_type: str | None = None,
    tenure: str | None = None,
    lease_years_remaining: int | None = None,
    ground_rent: int | None = None,
    price: int | None = None,
    update_reason: str | None = None,
    as_of: dt.date | None = None,
) -> Extraction:
    """Units, tenure, lease, red flags and signals from one listing's words and fields.

    Screening needs these facts for every listing and portals give most of them only in prose.
    Structured `tenure` and `lease_years_remaining` win over the text; `ground_rent` and `price`
    test the 0.1% rule; `update_reason` ("price_reduced") adds `price_reduced`; `as_of` dates a
    "125 year lease from 1990" (without it such a lease length stays unknown).
    """
    original = _fold(_listing_text(title, summary, description, key_features))
    low = original.lower()
    quote = original if len(low) == len(original) else low
    text = _Text(low)
    found: dict[str, Span | str] = dict(_find_codes(text))

    lease, lease_span = _lease(text, lease_years_remaining, as_of)
    tenure_code, tenure_span = _tenure(text, tenure, lease is not None or "short_lease" in found)
    if tenure_code in ("freehold", "commonhold"):
        lease, lease_span = None, None
    units = _units(text, property_type)
    rent = ground_rent if ground_rent is not None else _ground_rent_in_text(text)
    found.update(
        _derived_codes(
            text, found, lease, lease_span, tenure_code, units, rent, price, update_reason
        )
    )

    evidence = {
        code: where if isinstance(where, str) else quote[slice(*where)]
        for code, where in found.items()
    }
    for name, span in (
        ("lease_years_remaining", lease_span),
        ("tenure", tenure_span),
        ("unit_count", units.span),
    ):
        if span:
            evidence[name] = quote[slice(*span)]
    return Extraction(
        unit_count=units.count,
        unit_kind=units.kind,
        commercial_units=units.commercial,
        tenure=tenure_code,
        lease_years_remaining=lease,
        red_flags=tuple(filter(found.__contains__, RED_FLAG_CODES)),
        signals=tuple(filter(found.__contains__, SIGNAL_CODES)),
        evidence=evidence,
    )


def _derived_codes(
    text: _Text,
    found: Mapping[str, Span | str],
    lease: int | None,
    lease_span: Span | None,
    tenure: str | None,
    units: _Units,
    rent: int | None,
    price: int | None,
    update_reason: str | None,
) -> dict[str, Span | str]:
    """Codes that follow from facts rather than phrases: lease length, rent share, damage."""
    derived: dict[str, Span | str] = {}
    if lease is not None and lease < SHORT_LEASE_YEARS and "short_lease" not in found:
        derived["short_lease"] = lease_span or f"{lease} years remaining"
    if "escalating_ground_rent" not in found and rent and price and price > 0:
        if rent > price * GROUND_RENT_SHARE_OF_PRICE:
            derived["escalating_ground_rent"] = f"ground rent £{rent:,} on a price of £{price:,}"
    if "price_reduced" not in found and update_reason and "reduced" in update_reason.lower():
        derived["price_reduced"] = update_reason
    damage = found.get("fire_or_water_damage")
    if "needs_modernisation" not in found and isinstance(damage, tuple):
        if not _REPAIRED_AFTER.match(text.low, damage[1]):
            derived["needs_modernisation"] = damage
    several_flats = units.kind in ("flat", "maisonette", "studio") and (units.count or 0) >= 2
    if "title_split_potential" not in found and tenure == "freehold" and several_flats:
        derived["title_split_potential"] = units.span or f"freehold with {units.count} flats"
    return derived


def _lease(
    text: _Text, structured: int | None, as_of: dt.date | None
) -> tuple[int | None, Span | None]:
    if structured is not None:
        return structured, None
    found = _lease_years_in_text(text, as_of)
    return (found[0], found[1]) if found else (None, None)


def _tenure(
    text: _Text, structured: str | None, lease_found: bool
) -> tuple[str | None, Span | None]:
    if structured and structured in TENURES:
        return structured, None
    found = _tenure_in_text(text, lease_found)
    if found is None:
        return None, None
    return found[0], (found[1] if found[1] != (0, 0) else None)
