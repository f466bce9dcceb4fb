"""Which nation and region a postcode is in: the nation picks the land tax (SDLT, LTT, LBTT),
the region picks rents, yields and refurbishment rates.

Postcode areas (the letters of the outward code) are mapped whole, then districts that sit on
the other side of a border are overridden. Border areas are approximations, because postcode
districts do not follow national or regional boundaries:
- SY: Shropshire (England) for SY1-SY14, Powys and Ceredigion (Wales) for SY15-SY25; a few
  Welsh villages in SY10 (Oswestry) and English ones in SY15 are not told apart.
- CH: Chester and the Wirral (England), but CH5-CH8 (Deeside, Flint, Mold, Holywell) are Wales;
  CH4 straddles the border and is counted as England.
- LD and NP: counted as Wales whole, though a handful of English villages use them.
- TD: counted as Scotland, except TD15 (Berwick-upon-Tweed, England); parts of TD12 are English.
- HR: counted as England (Herefordshire), though some HR2, HR3 and HR5 addresses are in Wales.
- Outer London areas (BR, CR, DA, EN, IG, KT, RM, TW, UB) are split at district level only where
  whole districts leave Greater London; districts that straddle it follow their larger part.
Guernsey, Jersey and the Isle of Man (GY, JE, IM) are outside UK land taxes: no nation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LONDON = "London"
SOUTH_EAST = "South East"
EAST = "East of England"
SOUTH_WEST = "South West"
WEST_MIDLANDS = "West Midlands"
EAST_MIDLANDS = "East Midlands"
YORKSHIRE = "Yorkshire and The Humber"
NORTH_WEST = "North West"
NORTH_EAST = "North East"
WALES = "Wales"
SCOTLAND = "Scotland"
NORTHERN_IRELAND = "Northern Ireland"
REGIONS = (
    LONDON,
    SOUTH_EAST,
    EAST,
    SOUTH_WEST,
    WEST_MIDLANDS,
    EAST_MIDLANDS,
    YORKSHIRE,
    NORTH_WEST,
    NORTH_EAST,
    WALES,
    SCOTLAND,
    NORTHERN_IRELAND,
)

_ENGLAND_AREAS = {
    LONDON: "E EC N NW SE SW W WC BR CR EN HA IG RM SM TW UB",
    SOUTH_EAST: "BN CT DA GU HP KT ME MK OX PO RG RH SL SO TN",
    EAST: "AL CB CM CO IP LU NR PE SG SS WD",
    SOUTH_WEST: "BA BH BS DT EX GL PL SN SP TA TQ TR",
    WEST_MIDLANDS: "B CV DY HR ST SY TF WR WS WV",
    EAST_MIDLANDS: "DE LE LN NG NN",
    YORKSHIRE: "BD DN HD HG HU HX LS S WF YO",
    NORTH_WEST: "BB BL CA CH CW FY L LA M OL PR SK WA WN",
    NORTH_EAST: "DH DL NE SR TS",
}
_OTHER_AREAS = {
    ("wales", WALES): "CF LD LL NP SA",
    ("scotland", SCOTLAND): "AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE",
    ("northern_ireland", NORTHERN_IRELAND): "BT",
}


def _districts(prefix: str, numbers: range | tuple[int, ...]) -> list[str]:
    return [f"{prefix}{number}" for number in numbers]


_DISTRICT_OVERRIDES: dict[str, tuple[str, str]] = {
    **{code: ("wales", WALES) for code in _districts("SY", range(15, 26))},
    **{code: ("wales", WALES) for code in _districts("CH", range(5, 9))},
    "TD15": ("england", NORTH_EAST),
    **{code: ("england", LONDON) for code in _districts("KT", (1, 2, 3, 4, 5, 6, 9))},
    **{code: ("england", LONDON) for code in _districts("DA", (5, 6, 7, 8, 14, 15, 16, 17, 18))},
    **{code: ("england", EAST) for code in _districts("EN", range(6, 12))},
    **{code: ("england", SOUTH_EAST) for code in _districts("TW", range(15, 21))},
    **{code: ("england", EAST) for code in _districts("RM", range(15, 21))},
    **{code: ("england", EAST) for code in _districts("IG", (7, 10))},
    **{code: ("england", EAST) for code in _districts("MK", range(40, 46))},
    **{code: ("england", EAST) for code in _districts("HP", (1, 2, 3, 4, 23))},
    **{code: ("england", EAST_MIDLANDS) for code in _districts("PE", (9, 10, 11, 12, 20, 21))},
    **{code: ("england", EAST_MIDLANDS) for code in _districts("PE", (22, 23, 24, 25))},
    **{code: ("england", EAST_MIDLANDS) for code in _districts("S", (18, 32, 33, 40, 41, 42))},
    **{code: ("england", EAST_MIDLANDS) for code in _districts("S", (43, 44, 45))},
    **{code: ("england", EAST_MIDLANDS) for code in _districts("SK", (13, 17, 22, 23))},
    **{code: ("england", EAST_MIDLANDS) for code in _districts("DN", (21, 22))},
    **{code: ("england", YORKSHIRE) for code in _districts("DL", range(6, 12))},
    **{code: ("england", SOUTH_EAST) for code in _districts("SP", range(6, 12))},
}

OUTCODE_PATTERN = re.compile(r"^([A-Z]{1,2})[0-9][0-9A-Z]?$")


@dataclass(frozen=True)
class Place:
    """A postcode's nation (for land tax) and region (for rents, yields and refurb rates)."""

    nation: str
    region: str


def _area_table() -> dict[str, Place]:
    table = {
        area: Place("england", region)
        for region, areas in _ENGLAND_AREAS.items()
        for area in areas.split()
    }
    for (nation, region), areas in _OTHER_AREAS.items():
        table.update({area: Place(nation, region) for area in areas.split()})
    return table


AREAS: dict[str, Place] = _area_table()
DISTRICTS: dict[str, Place] = {
    code: Place(nation, region) for code, (nation, region) in _DISTRICT_OVERRIDES.items()
}


def outcode_of(postcode_or_outcode: str) -> str | None:
    """The outward code ("SY23") of a full postcode or an outcode, or None when it is not one."""
    text = postcode_or_outcode.strip().upper()
    outward = text.split()[0] if " " in text else (text[:-3] if len(text) > 4 else text)
    return outward if OUTCODE_PATTERN.match(outward) else None


def locate(postcode_or_outcode: str | None) -> Place | None:
    """The nation and region of a postcode or outcode; None when unknown or outside UK taxes."""
    if not postcode_or_outcode:
        return None
    outcode = outcode_of(postcode_or_outcode)
    if outcode is None:
        return None
    if outcode in DISTRICTS:
        return DISTRICTS[outcode]
    match = OUTCODE_PATTERN.match(outcode)
    return AREAS.get(match.group(1)) if match else None


def sql_place_rows() -> list[dict[str, str]]:
    """Every area and overriding district with its nation and region, for the SQL model.

    Districts come with `level` 'district' and take precedence over their area's row.
    """
    rows = [
        {"code": code, "level": "district", "nation": place.nation, "region": place.region}
        for code, place in DISTRICTS.items()
    ]
    rows += [
        {"code": code, "level": "area", "nation": place.nation, "region": place.region}
        for code, place in AREAS.items()
    ]
    return rows
