"""EPC register stand-in: MHCLG's "get energy performance of buildings data" API.

Mirrors `api.get-energy-performance-data.communities.gov.uk` as its OpenAPI spec and its
warehouse code describe it: a Bearer token on every call, `/api/domestic/search` with offset
paging (newest registration first) in the `{"data": [...], "pagination": {...}}` envelope,
`/api/certificate?certificate_number=` returning the full RdSAP document under `data`, the
`/api/codes` look-ups that decode its numeric enums, errors wrapped as `{"data": {"error": ...}}`
and a per-token sliding-window rate limit answered with 429 and Retry-After.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.model import EpcCertificate, Location, Property

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext

UPSTREAM = "epc"
DEFAULT_TOKEN = "sandbox-epc-token"
# The register's published allowance: 6000 requests every five minutes. The sandbox config's
# `epc_rate_limit` sets the count; `epc_rate_window_seconds`, if a context has it, the window.
DEFAULT_RATE_LIMIT = 6000
DEFAULT_RATE_WINDOW_SECONDS = 300.0
SCHEMA_TYPE = "RdSAP-Schema-21.0.1"
MAX_PAGE_SIZE = 5000
# The warehouse's `before` filter halts with 403, not 401, for a missing or unknown token
# (epb-data-warehouse lib/controller/base_controller.rb).
AUTH_FAILURE_STATUS = 403

INVALID_QUERY = (
    "The search query was invalid - please provide a valid date range or search parameter"
)
INVALID_DATES = "The search query was invalid - please provide a valid date range"
INCLUDES_TODAY = "The search query was invalid - the date cannot include today"
INVALID_POSTCODE = "The search query was invalid - please provide a valid postcode"
INVALID_UPRN = "The search query was invalid - the uprn should be an integer greater than 0"
INVALID_COUNCIL = "The search query was invalid - provide valid council name(s)"
INVALID_CONSTITUENCY = "The search query was invalid - provide valid constituency name(s)"
INVALID_PAGE_SIZE = "The search query was invalid - provide valid page_size between 1 and 5000"
NO_CERTIFICATES = "No certificates could be found for that query"
CERTIFICATE_NOT_FOUND = "Certificate not found"

POSTCODE_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
BANDS = "ABCDEFG"

BUILT_FORM_CODES = {
    "Detached": 1,
    "Semi-Detached": 2,
    "End-Terrace": 3,
    "Mid-Terrace": 4,
    "Enclosed End-Terrace": 5,
    "Enclosed Mid-Terrace": 6,
}
PROPERTY_TYPE_CODES = {"House": 0, "Bungalow": 1, "Flat": 2, "Maisonette": 3, "Park home": 4}
TENURE_CODES = {"Owner-occupied": 1, "Rented (social)": 2, "Rented (private)": 3}
# Why the assessment was made; the sandbox decodes these through /api/codes/info.
TRANSACTION_TYPE_CODES = {
    "marketed sale": 1,
    "non marketed sale": 2,
    "rental (social)": 3,
    "rental (private)": 4,
    "not sale or rental": 5,
    "new dwelling": 6,
}
# England and Wales construction age bands: (letter, first year, label).
AGE_BANDS = (
    ("A", 0, "before 1900"),
    ("B", 1900, "1900-1929"),
    ("C", 1930, "1930-1949"),
    ("D", 1950, "1950-1966"),
    ("E", 1967, "1967-1975"),
    ("F", 1976, "1976-1982"),
    ("G", 1983, "1983-1990"),
    ("H", 1991, "1991-1995"),
    ("I", 1996, "1996-2002"),
    ("J", 2003, "2003-2006"),
    ("K", 2007, "2007-2011"),
    ("L", 2012, "2012-2022"),
    ("M", 2023, "2023 onwards"),
)
FUEL_CODES = {"mains gas": 26, "lpg": 27, "oil": 28, "electricity": 29}
REGION_CODES = {
    "North East": 1,
    "North West": 2,
    "Yorkshire and The Humber": 3,
    "East Midlands": 4,
    "West Midlands": 5,
    "East of England": 6,
    "London": 7,
    "South East": 8,
    "South West": 9,
    "Wales": 10,
}
# Typical running figures per band, per square metre of floor: heating cost (GBP a year),
# emissions (kg CO2 a year) and primary energy (kWh a year).
BAND_HEATING_COST = dict(zip(BANDS, (3.0, 4.5, 6.5, 8.5, 11.0, 14.0, 18.0), strict=True))
BAND_EMISSIONS = dict(zip(BANDS, (8, 15, 24, 36, 50, 68, 90), strict=True))
BAND_ENERGY_USE = dict(zip(BANDS, (45, 85, 135, 195, 255, 330, 420), strict=True))
SMALL_WORDS = {"and", "of", "upon", "on", "the", "in", "with", "under", "le"}


class SlidingWindowLimiter:
    """Counts each key's requests over the last `window` seconds and says when to back off."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"rate limit needs limit >= 1 and window > 0, got {limit}/{window}s")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """Record a request for `key`; None if allowed, else seconds until a slot frees up."""
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return seen[0] + self.window - now
            seen.append(now)
            return None


def normalise_postcode(raw: str) -> str | None:
    """The warehouse's normalisation (upper case, one space before the inward code), or None."""
    compact = re.sub(r"\s+", "", raw).upper()
    candidate = f"{compact[:-3]} {compact[-3:]}"
    return candidate if POSTCODE_PATTERN.match(candidate) else None


def normalise_address(raw: str) -> str:
    """Address text as the warehouse compares it: lower case, commas as spaces, single spaces."""
    return " ".join(raw.lower().replace(",", " ").split())


def council_name(district: str) -> str:
    """An ONS-style council name ("Barking and Dagenham") from an upper-case HMLR district."""
    words = district.lower().split(" ")
    return " ".join(_title_word(word, first=index == 0) for index, word in enumerate(words))


def _title_word(word: str, first: bool) -> str:
    parts = word.split("-")
    titled = [
        part if (index or not first) and part in SMALL_WORDS else part.capitalize()
        for index, part in enumerate(parts)
    ]
    return "-".join(titled)


def certificate_council(cert: EpcCertificate) -> str:
    """The council a certificate is filed under."""
    return cert.extra.get("council") or council_name(cert.property.location.district)


def certificate_constituency(cert: EpcCertificate) -> str:
    """The parliamentary constituency; the sandbox names it after the post town by default."""
    return cert.extra.get("constituency") or cert.property.location.town


def address_lines(prop: Property) -> list[str]:
    """Certificate address lines: flat, number and street, locality (blank lines dropped)."""
    lines = [prop.saon, f"{prop.paon} {prop.street}".strip(), prop.locality]
    return [line for line in lines if line]


def search_row(cert: EpcCertificate) -> dict[str, Any]:
    """One `data[]` entry of `/api/domestic/search`, keyed as the spec's example."""
    lines = address_lines(cert.property) + [None, None, None, None]
    return {
        "addressLine1": lines[0],
        "addressLine2": lines[1],
        "addressLine3": lines[2],
        "addressLine4": lines[3],
        "uprn": cert.uprn,
        "certificateNumber": cert.certificate_number,
        "constituency": certificate_constituency(cert),
        "council": certificate_council(cert),
        "currentEnergyEfficiencyBand": cert.current_band,
        "postTown": cert.property.location.town,
        "postcode": cert.property.postcode,
        "registrationDate": cert.lodged_on.isoformat(),
        "schemaType": SCHEMA_TYPE,
    }


def pagination(total: int, page: int, page_size: int) -> dict[str, int | None]:
    """The spec's PaginationMetadata for offset paging."""
    total_pages = max(1, math.ceil(total / page_size))
    return {
        "totalRecords": total,
        "currentPage": page,
        "totalPages": total_pages,
        "nextPage": page + 1 if page < total_pages else None,
        "prevPage": page - 1 if page > 1 else None,
        "pageSize": page_size,
    }


def age_band(year_built: int) -> str:
    """The construction age band letter for a build year."""
    return [letter for letter, first_year, _ in AGE_BANDS if year_built >= first_year][-1]


def fuel_code(main_fuel: str) -> int:
    """RdSAP fuel code for a fuel name; mains gas when the name is not recognised."""
    lowered = main_fuel.lower()
    for name, code in FUEL_CODES.items():
        if name in lowered or (name == "electricity" and "electric" in lowered):
            return code
    return FUEL_CODES["mains gas"]


def certificate_document(cert: EpcCertificate) -> dict[str, Any]:
    """The full certificate as `/api/certificate` returns it under `data` (RdSAP 21.0.1 keys)."""
    rng = random.Random(cert.certificate_number)
    document: dict[str, Any] = {}
    document |= _identity_part(cert)
    document |= _dwelling_part(cert, rng)
    document |= _fabric_part(cert, rng)
    document |= _ratings_part(cert)
    document |= _systems_part(cert, rng)
    document["sap_building_parts"] = [_building_part(cert, rng)]
    document["suggested_improvements"] = _improvements(cert, rng)
    return document


def _element(description: str, rating: int) -> dict[str, Any]:
    return {
        "description": {"value": description, "language": "1"},
        "energy_efficiency_rating": rating,
        "environmental_efficiency_rating": rating,
    }


def _identity_part(cert: EpcCertificate) -> dict[str, Any]:
    prop = cert.property
    lines = address_lines(prop)
    region = prop.location.region
    return {
        "uprn": cert.uprn,
        "uprn_source": "Energy Assessor",
        **{f"address_line_{index}": line for index, line in enumerate(lines, start=1)},
        "post_town": prop.location.town,
        "postcode": prop.postcode,
        "country_code": "WLS" if region == "Wales" else "ENG",
        "region_code": REGION_CODES.get(region, 8),
        "schema_type": SCHEMA_TYPE,
        "schema_version_original": SCHEMA_TYPE.removeprefix("RdSAP-Schema-"),
        "assessment_type": "RdSAP",
        "status": "entered",
        "report_type": 2,
        "language_code": 1,
        "registration_date": cert.lodged_on.isoformat(),
        "inspection_date": cert.inspected_on.isoformat(),
        "completion_date": cert.inspected_on.isoformat(),
        "created_at": f"{cert.lodged_on.isoformat()} 09:{cert.uprn % 60:02d}:00.000000",
        "calculation_software_version": "14.2r3",
        "sap_version": 10.2,
    }


def _dwelling_part(cert: EpcCertificate, rng: random.Random) -> dict[str, Any]:
    prop = cert.property
    label = cert.property_type_label
    is_flat = label in ("Flat", "Maisonette")
    form = "Mid-floor" if is_flat else cert.built_form
    default_rooms = str(max(1, prop.bedrooms + (1 if is_flat else 2)))
    rooms = int(cert.extra.get("number-habitable-rooms", default_rooms))
    transaction = cert.extra.get("transaction-type", "marketed sale").lower()
    rented = "rental (private)" in transaction or prop.property_type == "hmo"
    return {
        "property_type": PROPERTY_TYPE_CODES.get(label, 0),
        "built_form": BUILT_FORM_CODES.get(cert.built_form, 4),
        "dwelling_type": f"{form.capitalize()} {label.lower()}",
        "tenure": TENURE_CODES["Rented (private)" if rented else "Owner-occupied"],
        "transaction_type": TRANSACTION_TYPE_CODES.get(transaction, 5),
        "total_floor_area": cert.floor_area_sqm,
        "habitable_room_count": rooms,
        "heated_room_count": rooms,
        "extensions_count": rng.choice((0, 0, 1)),
        "open_chimneys_count": 0 if prop.year_built >= 1960 else rng.choice((0, 1, 2)),
        "door_count": 1 if is_flat else 2,
        "insulated_door_count": rng.choice((0, 1)),
        "insulated_door_u_value": 3,
        "draughtproofed_door_count": 1,
        "wet_rooms_count": max(1, prop.bathrooms),
        "percent_draughtproofed": rng.choice((50, 80, 100)),
        "conservatory_type": 1,
        "measurement_type": 1,
        "pressure_test": 6,
        "pressure_test_certificate_number": 0,
        "sap_flat_details": {
            "level": 1 if is_flat else 0,
            "top_storey": "N",
            "storey_count": 3 if is_flat else 2,
            "flat_location": 1 if is_flat else 0,
            "heat_loss_corridor": 2 if is_flat else 0,
            "unheated_corridor_length": {"value": 6 if is_flat else 0, "quantity": "metres"},
        },
        "addendum": {
            "stone_walls": "true" if prop.year_built < 1900 else "false",
            "system_build": "false",
            "addendum_numbers": [1] if prop.year_built < 1900 else [],
        },
    }


def _fabric_part(cert: EpcCertificate, rng: random.Random) -> dict[str, Any]:
    year = cert.property.year_built
    if year < 1930:
        wall, wall_rating = "Solid brick, as built, no insulation (assumed)", 1
    elif year < 1990:
        wall, wall_rating = "Cavity wall, filled cavity", 3
    else:
        wall, wall_rating = "Cavity wall, as built, insulated (assumed)", 4
    loft = rng.choice((100, 150, 200, 270))
    glazing = "Fully double glazed" if year > 1950 or rng.random() < 0.7 else "Single glazed"
    return {
        "walls": [_element(wall, wall_rating)],
        "roofs": [_element(f"Pitched, {loft} mm loft insulation", 3 if loft < 200 else 4)],
        "floors": [_element("Suspended, no insulation (assumed)", 0)],
        "window": _element(glazing, 3 if glazing.startswith("Fully") else 1),
        "multiple_glazed_proportion": 100 if glazing.startswith("Fully") else 0,
        "windows_transmission_details": {
            "u_value": 2.8,
            "data_source": 2,
            "solar_transmittance": 0.76,
        },
        "sap_windows": [
            {
                "pvc_frame": "true",
                "glazing_gap": 12,
                "orientation": rng.randint(1, 8),
                "window_type": 2,
                "frame_factor": 0.7,
                "glazing_type": 3,
                "window_width": 1.2,
                "window_height": 1.1,
                "draught_proofed": "true",
                "window_location": 0,
                "window_wall_type": 1,
                "permanent_shutters_present": "N",
                "window_transmission_details": {
                    "u_value": 2.8,
                    "data_source": 2,
                    "solar_transmittance": 0.76,
                },
                "permanent_shutters_insulated": "N",
            }
        ],
    }


def _ratings_part(cert: EpcCertificate) -> dict[str, Any]:
    area = cert.floor_area_sqm
    now, best = cert.current_band, cert.potential_band
    return {
        "current_energy_efficiency_band": now,
        "potential_energy_efficiency_band": best,
        "energy_rating_current": cert.current_score,
        "energy_rating_potential": cert.potential_score,
        "energy_rating_average": 60,
        "environmental_impact_current": max(1, cert.current_score - 3),
        "environmental_impact_potential": max(1, cert.potential_score - 2),
        "energy_consumption_current": BAND_ENERGY_USE[now],
        "energy_consumption_potential": BAND_ENERGY_USE[best],
        "co2_emissions_current": round(area * BAND_EMISSIONS[now] / 1000, 1),
        "co2_emissions_potential": round(area * BAND_EMISSIONS[best] / 1000, 1),
        "co2_emissions_current_per_floor_area": BAND_EMISSIONS[now],
        "heating_cost_current": round(area * BAND_HEATING_COST[now], 2),
        "heating_cost_potential": round(area * BAND_HEATING_COST[best], 2),
        "hot_water_cost_current": round(110 + area * 0.9, 2),
        "hot_water_cost_potential": round(90 + area * 0.7, 2),
        "lighting_cost_current": round(40 + area * 0.6, 2),
        "lighting_cost_potential": round(35 + area * 0.45, 2),
        "renewable_heat_incentive": {
            "water_heating": 1800 + area * 6,
            "impact_of_loft_insulation": -area * 12,
            "impact_of_cavity_insulation": -area * 3,
            "impact_of_solid_wall_insulation": -area * 25,
            "space_heating_existing_dwelling": area * BAND_ENERGY_USE[now] // 2,
        },
    }


def _systems_part(cert: EpcCertificate, rng: random.Random) -> dict[str, Any]:
    fuel = fuel_code(cert.main_fuel)
    gas = fuel == FUEL_CODES["mains gas"]
    heating = {
        FUEL_CODES["mains gas"]: ("Boiler and radiators, mains gas", 4),
        FUEL_CODES["lpg"]: ("Boiler and radiators, LPG", 3),
        FUEL_CODES["oil"]: ("Boiler and radiators, oil", 3),
        FUEL_CODES["electricity"]: ("Electric storage heaters", 2),
    }[fuel]
    led = rng.randint(4, 14)
    return {
        "main_heating": [_element(*heating)],
        "main_heating_controls": [_element("Programmer, room thermostat and TRVs", 4)],
        "hot_water": _element("From main system", 4 if gas else 3),
        "secondary_heating": _element("None", 0),
        "lighting": _element("Low energy lighting in all fixed outlets", 5),
        "has_hot_water_cylinder": "false" if gas else "true",
        "has_fixed_air_conditioning": "false",
        "solar_water_heating": "N",
        "mechanical_ventilation": 0,
        "mechanical_vent_duct_type": 0,
        "mechanical_vent_duct_placement": 0,
        "mechanical_vent_duct_insulation": 0,
        "mechanical_vent_duct_insulation_level": 0,
        "mechanical_vent_measured_installation": "false",
        "mechanical_ventilation_index_number": 0,
        "lzc_energy_sources": [],
        "led_fixed_lighting_bulbs_count": led,
        "cfl_fixed_lighting_bulbs_count": 0,
        "incandescent_fixed_lighting_bulbs_count": 0,
        "low_energy_fixed_lighting_bulbs_count": led,
        "sap_heating": {
            "cylinder_size": 0 if gas else 2,
            "shower_outlets": [{"shower_wwhrs": 1, "shower_outlet_type": 1}],
            "water_heating_code": 901,
            "water_heating_fuel": fuel,
            "instantaneous_wwhrs": {"wwhrs_index_number1": 0, "wwhrs_index_number2": 0},
            "secondary_fuel_type": 0,
            "main_heating_details": [
                {
                    "has_fghrs": "N",
                    "main_fuel_type": fuel,
                    "boiler_flue_type": 2 if gas else 0,
                    "fan_flue_present": "Y" if gas else "N",
                    "heat_emitter_type": 1,
                    "emitter_temperature": 0,
                    "main_heating_number": 1,
                    "boiler_ignition_type": 1,
                    "main_heating_control": 2106,
                    "main_heating_category": 2 if gas else 7,
                    "main_heating_fraction": 1,
                    "sap_main_heating_code": 104 if gas else 401,
                    "central_heating_pump_age": 0,
                    "main_heating_data_source": 1,
                    "main_heating_index_number": 10000 + cert.uprn % 9000,
                }
            ],
            "immersion_heating_type": "NA" if gas else "dual",
            "has_fixed_air_conditioning": "false",
        },
        "sap_energy_source": {
            "mains_gas": "Y" if gas else "N",
            "meter_type": 2,
            "pv_batteries": [],
            "pv_connection": 0,
            "pv_battery_count": 0,
            "photovoltaic_supply": {"none_or_no_details": {"percent_roof_area": 0}},
            "wind_turbines_count": 0,
            "wind_turbine_details": {"hub_height": 0, "rotor_diameter": 0},
            "gas_smart_meter_present": "false",
            "is_dwelling_export_capable": "false",
            "wind_turbines_terrain_type": 2,
            "electricity_smart_meter_present": "true" if rng.random() < 0.5 else "false",
        },
    }


def _building_part(cert: EpcCertificate, rng: random.Random) -> dict[str, Any]:
    is_flat = cert.property_type_label in ("Flat", "Maisonette")
    storeys = 1 if is_flat else 2
    per_storey = round(cert.floor_area_sqm / storeys, 2)
    perimeter = round(4 * math.sqrt(per_storey) * 0.8, 1)
    floors = [
        {
            "floor": level,
            "room_height": {
                "value": 2.4 if cert.property.year_built > 1930 else 2.7,
                "quantity": "metres",
            },
            "total_floor_area": {"value": per_storey, "quantity": "square metres"},
            "party_wall_length": {"value": round(perimeter / 2, 1), "quantity": "metres"},
            "heat_loss_perimeter": {"value": perimeter, "quantity": "metres"},
        }
        for level in range(storeys)
    ]
    wall = {
        "wall_area": 0.0,
        "wall_dry_lined": "N",
        "wall_construction": 4,
        "wall_insulation_type": 2,
        "wall_thickness_measured": "N",
    }
    band = age_band(cert.property.year_built)
    return {
        "identifier": "Main Dwelling",
        "wall_dry_lined": "N",
        "floor_heat_loss": 7,
        "sap_room_in_roof": {"floor_area": 0, "construction_age_band": band},
        "roof_construction": 4,
        "wall_construction": 3 if cert.property.year_built < 1930 else 4,
        "building_part_number": 1,
        "sap_floor_dimensions": floors,
        "wall_insulation_type": 2,
        "construction_age_band": band,
        "sap_alternative_wall_1": dict(wall),
        "sap_alternative_wall_2": dict(wall),
        "party_wall_construction": 0 if is_flat else 1,
        "wall_thickness_measured": "N",
        "roof_insulation_location": 2,
        "roof_insulation_thickness": f"{rng.choice((100, 150, 200, 270))}mm",
        "wall_insulation_thickness": "NI",
        "floor_insulation_thickness": "NI",
    }


def _improvements(cert: EpcCertificate, rng: random.Random) -> list[dict[str, Any]]:
    """Measures that step the score from current to potential, cheapest first."""
    measures = (
        ("A", 5, "£100 - £350"),
        ("W", 7, "£800 - £1,200"),
        ("E", 57, "£4,000 - £6,000"),
        ("U", 34, "£8,000 - £10,000"),
    )
    gap = cert.potential_score - cert.current_score
    count = 0 if gap <= 0 else min(len(measures), 1 + gap // 8)
    improvements = []
    score = cert.current_score
    for sequence, (kind, number, cost) in enumerate(measures[:count], start=1):
        score = cert.potential_score if sequence == count else score + gap // count
        improvements.append(
            {
                "sequence": sequence,
                "typical_saving": rng.randint(40, 320),
                "indicative_cost": cost,
                "improvement_type": kind,
                "improvement_details": {"improvement_number": number},
                "improvement_category": 5,
                "energy_performance_rating": score,
                "environmental_impact_rating": max(1, score - 2),
            }
        )
    return improvements


def code_values() -> dict[str, dict[str, str]]:
    """The code lists the sandbox's certificates use: code name -> {key: meaning}."""
    return {
        "built_form": {str(code): name for name, code in BUILT_FORM_CODES.items()},
        "construction_age_band": {
            letter: f"England and Wales: {label}" for letter, _, label in AGE_BANDS
        },
        "property_type": {str(code): name for name, code in PROPERTY_TYPE_CODES.items()},
        "tenure": {str(code): name for name, code in TENURE_CODES.items()},
        "transaction_type": {str(code): name for name, code in TRANSACTION_TYPE_CODES.items()},
        "main_fuel": {str(code): name for name, code in FUEL_CODES.items()},
    }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"data": {"error": message}}, status_code=status, headers=headers)


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _query_list(request: Request, name: str) -> list[str]:
    """Repeated `name[]` (or bare `name`) query values, as Rack collects them."""
    values = request.query_params.getlist(f"{name}[]") + request.query_params.getlist(name)
    return [value.strip() for value in values if value.strip()]


def _parse_date(raw: str | None) -> dt.date | None:
    if raw is None:
        return None
    return dt.date.fromisoformat(raw)


class SearchError(Exception):
    """A search request the real API would reject; carries its status and message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class DomesticSearch:
    """A parsed, validated `/api/domestic/search` query over one market day."""

    def __init__(self, request: Request, today: dt.date, known: Sequence[Location]) -> None:
        params = request.query_params
        self.page_size = self._int_param(params.get("page_size"), MAX_PAGE_SIZE, INVALID_PAGE_SIZE)
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise SearchError(INVALID_PAGE_SIZE)
        self.raw_page = params.get("current_page", "1")
        self.postcode = self._postcode(params.get("postcode"))
        self.uprn = self._uprn(params.get("uprn"))
        self.address = normalise_address(params["address"]) if params.get("address") else None
        self.councils = self._names(
            _query_list(request, "council"),
            {_location_council(loc) for loc in known},
            INVALID_COUNCIL,
        )
        self.constituencies = self._names(
            _query_list(request, "constituency"), {loc.town for loc in known}, INVALID_CONSTITUENCY
        )
        self.bands = {band.upper() for band in _query_list(request, "efficiency_rating")}
        self.date_start, self.date_end = self._dates(params, today)

    @staticmethod
    def _int_param(raw: str | None, default: int, message: str) -> int:
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise SearchError(message) from None

    @staticmethod
    def _postcode(raw: str | None) -> str | None:
        if raw is None:
            return None
        postcode = normalise_postcode(raw)
        if postcode is None:
            raise SearchError(INVALID_POSTCODE)
        return postcode

    @staticmethod
    def _uprn(raw: str | None) -> int | None:
        if raw is None:
            return None
        if not raw.strip().isdigit() or int(raw) <= 0:
            raise SearchError(INVALID_UPRN)
        return int(raw)

    @staticmethod
    def _names(asked: list[str], known: set[str], message: str) -> set[str]:
        """The asked names in lower case; every one must be a name the register knows."""
        valid = {name.lower() for name in known}
        if any(name.lower() not in valid for name in asked):
            raise SearchError(message)
        return {name.lower() for name in asked}

    def _dates(self, params: Any, today: dt.date) -> tuple[dt.date | None, dt.date]:
        try:
            start = _parse_date(params.get("date_start"))
            end = _parse_date(params.get("date_end")) or today - dt.timedelta(days=1)
        except ValueError:
            raise SearchError(INVALID_DATES) from None
        has_filter = any(
            (self.postcode, self.uprn, self.address, self.councils, self.constituencies, self.bands)
        )
        if start is None and not has_filter:
            raise SearchError(INVALID_QUERY)
        if start is not None and start > end:
            raise SearchError(INVALID_DATES)
        if end >= today:
            raise SearchError(INCLUDES_TODAY)
        return start, end

    def filters_here(self) -> bool:
        """Whether any filter is left for `matches` after the market's own query."""
        return bool(self.address or self.councils or self.constituencies or self.bands)

    def matches(self, cert: EpcCertificate) -> bool:
        """Whether a certificate passes the filters the market does not apply itself."""
        if self.address and self.address not in _searchable_address(cert):
            return False
        if self.councils and certificate_council(cert).lower() not in self.councils:
            return False
        if (
            self.constituencies
            and certificate_constituency(cert).lower() not in self.constituencies
        ):
            return False
        return not self.bands or cert.current_band in self.bands

    def page(self, total: int) -> int:
        """The requested page, or the spec's out-of-range error for this many results."""
        total_pages = max(1, math.ceil(total / self.page_size))
        try:
            page = int(self.raw_page)
        except ValueError:
            page = 0
        if not 1 <= page <= total_pages:
            message = f"The requested page number {self.raw_page} is out of range."
            raise SearchError(f"{message} Total pages: {total_pages}")
        return page


def _location_council(location: Location) -> str:
    return council_name(location.district)


def _searchable_address(cert: EpcCertificate) -> str:
    prop = cert.property
    return normalise_address(" ".join([*address_lines(prop), prop.location.town, prop.postcode]))


def _snake_case(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _camel_case(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Routes for the `/epc` mount: domestic search, certificate, code look-ups."""
    token = getattr(ctx, "epc_token", DEFAULT_TOKEN)
    limiter = SlidingWindowLimiter(
        int(getattr(ctx, "epc_rate_limit", DEFAULT_RATE_LIMIT)),
        float(getattr(ctx, "epc_rate_window_seconds", DEFAULT_RATE_WINDOW_SECONDS)),
    )

    def refused(request: Request) -> Response | None:
        presented = _bearer_token(request)
        if presented != token:
            body = {"errors": [{"code": "UNAUTHORISED", "title": "You are not authenticated"}]}
            return JSONResponse(body, status_code=AUTH_FAILURE_STATUS)
        wait = limiter.retry_after(presented)
        if wait is None:
            return None
        body = {"errors": [{"code": "TOO_MANY_REQUESTS", "title": "Rate limit exceeded"}]}
        headers = {"Retry-After": str(max(1, math.ceil(wait)))}
        return JSONResponse(body, status_code=429, headers=headers)

    def domestic_search(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        today = ctx.market_date(request)
        try:
            search = DomesticSearch(request, today, ctx.market.locations())
            # The market matches addresses on a whole first line; the register accepts any part
            # of one, so a postcode or UPRN narrows first and the address is matched here.
            narrowed = search.postcode is not None or search.uprn is not None
            found: Sequence[EpcCertificate] = ctx.market.epc_certificates(
                postcode=search.postcode,
                address=None if narrowed else search.address,
                uprn=search.uprn,
                lodged_from=search.date_start,
                lodged_to=search.date_end,
            )
            if search.filters_here():
                found = [cert for cert in found if search.matches(cert)]
            if not found:
                raise SearchError(NO_CERTIFICATES, status=404)
            page = search.page(len(found))
        except SearchError as error:
            return _error(error.status, error.message)
        # The market lists oldest lodgement first; the register pages newest first.
        last = len(found) - 1 - (page - 1) * search.page_size
        newest_first = range(last, max(-1, last - search.page_size), -1)
        rows = [search_row(found[index]) for index in newest_first]
        paging = pagination(len(found), page, search.page_size)
        if ctx.changed_structure(request, UPSTREAM):
            changed_rows = [{_snake_case(k): v for k, v in row.items()} for row in rows]
            meta = {_snake_case(k): v for k, v in paging.items()}
            return JSONResponse({"results": changed_rows, "meta": meta})
        return JSONResponse({"data": rows, "pagination": paging})

    def certificate(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        number = request.query_params.get("certificate_number", "").strip()
        if not number:
            return _error(400, "The query was invalid - please provide a certificate_number")
        cert = ctx.market.epc_certificate(number)
        if cert is None or cert.lodged_on >= ctx.market_date(request):
            return _error(404, CERTIFICATE_NOT_FOUND)
        document = certificate_document(cert)
        if ctx.changed_structure(request, UPSTREAM):
            document = {_camel_case(key): value for key, value in document.items()}
        return JSONResponse({"data": document})

    def codes(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        return JSONResponse({"data": sorted(code_values())})

    def code_info(request: Request) -> Response:
        if (refusal := refused(request)) is not None:
            return refusal
        code = request.query_params.get("code", "")
        values = code_values().get(code)
        if values is None:
            return _error(400, f"The code {code!r} is not one of {sorted(code_values())}")
        key = request.query_params.get("key")
        entries = [
            {
                "key": item_key,
                "values": [
                    {"value": value, "schemaVersion": SCHEMA_TYPE, "assessmentType": "RdSAP"}
                ],
            }
            for item_key, value in values.items()
            if key is None or key == item_key
        ]
        return JSONResponse({"data": entries})

    return [
        Route("/api/domestic/search", domestic_search),
        Route("/api/certificate", certificate),
        Route("/api/codes", codes),
        Route("/api/codes/info", code_info),
    ]
