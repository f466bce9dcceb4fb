"""Helpers the sandbox and sources tests share.

The shape real captures give a JSON document, a hand-filled stand-in for `market.Market`
(same method names, records made in plain sight), the small records it holds, a throwaway app
mounting one stand-in over it, a small generated market, and faults added over HTTP to a
running sandbox. Real captures come from the project-wide `shared_fixtures` fixture.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.testclient import TestClient

from property_pipeline.sandbox.context import SandboxConfig, SandboxContext
from property_pipeline.sandbox.market import Market, MarketConfig
from property_pipeline.sandbox.model import (
    EpcCertificate,
    Listing,
    Location,
    PriceChange,
    Property,
    Sale,
)
from property_pipeline.sandbox.server import SandboxServer

# The day the auction and register stand-ins are asked about, and the day portal listings are.
MARKET_DAY = dt.date(2026, 4, 20)
PORTAL_DAY = dt.date(2026, 3, 2)
LIVE_STATUSES = ("available", "under_offer", "sold_stc")
SORTS: dict[str, tuple[Callable[[Listing], Any], bool]] = {
    "newest": (lambda item: item.first_listed, True),
    "oldest": (lambda item: item.first_listed, False),
    "price_low": (lambda item: item.price, False),
    "price_high": (lambda item: item.price, True),
}


# ---------------------------------------------------------------------------------------------
# Real captures
# ---------------------------------------------------------------------------------------------


def read_capture(shared_fixtures: Path, relative: str, encoding: str = "utf-8") -> str:
    """The text of a real capture under `shared_fixtures`."""
    return (shared_fixtures / relative).read_text(encoding=encoding)


def load_json_capture(shared_fixtures: Path, relative: str) -> Any:
    """A real JSON capture, decoded."""
    return json.loads(read_capture(shared_fixtures, relative))


# ---------------------------------------------------------------------------------------------
# Shapes: keys, nesting and value types learnt from real samples
# ---------------------------------------------------------------------------------------------


def json_kind(value: object) -> str:
    """JSON's own type name for a decoded value (ints and floats are both "number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class Shape:
    """What a set of real samples allows at one place in a document: its kinds, the keys any
    object there has (and those every one has), and what list items there look like."""

    kinds: set[str]
    keys: dict[str, Shape] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    items: Shape | None = None


def shape_of(samples: Iterable[object]) -> Shape:
    """The union of the samples' kinds, keys (and which keys every object has) and list items."""
    samples = list(samples)
    objects = [sample for sample in samples if isinstance(sample, dict)]
    arrays = [sample for sample in samples if isinstance(sample, list)]
    all_keys = {key for obj in objects for key in obj}
    items = [item for array in arrays for item in array]
    return Shape(
        kinds={json_kind(sample) for sample in samples},
        keys={key: shape_of(obj[key] for obj in objects if key in obj) for key in all_keys},
        required={key for key in all_keys if all(key in obj for obj in objects)},
        items=shape_of(items) if items else None,
    )


def shape_problems(
    value: object, shape: Shape, path: str = "$", ignore: Sequence[str] = ()
) -> list[str]:
    """Every place `value` departs from the real samples' shape; empty when it conforms.

    A departure is a missing or invented key, a kind the samples never have there, or list
    items where the samples' lists are all empty. A place the samples only ever left null
    accepts any kind, since the captures do not say what it holds when filled; paths starting
    with one of `ignore` are not checked.
    """
    if any(path.startswith(prefix) for prefix in ignore):
        return []
    kind = json_kind(value)
    if shape.kinds == {"null"}:
        return []
    if kind not in shape.kinds:
        return [f"{path}: {kind}, real samples have {sorted(shape.kinds)}"]
    problems: list[str] = []
    if isinstance(value, dict):
        problems += [f"{path}.{key}: missing" for key in sorted(shape.required - value.keys())]
        invented = sorted(value.keys() - shape.keys.keys())
        problems += [f"{path}.{key}: not in the real samples" for key in invented]
        for key in sorted(value.keys() & shape.keys.keys()):
            problems += shape_problems(value[key], shape.keys[key], f"{path}.{key}", ignore)
    if isinstance(value, list) and value:
        if shape.items is None:
            return [*problems, f"{path}[]: items, real samples only have empty lists"]
        for index, item in enumerate(value):
            problems += shape_problems(item, shape.items, f"{path}[{index}]", ignore)
    return problems


# ---------------------------------------------------------------------------------------------
# Records made in plain sight
# ---------------------------------------------------------------------------------------------


def make_location(**overrides: Any) -> Location:
    """Romford's RM6, unless told otherwise."""
    base = Location(
        outcode="RM6",
        town="Romford",
        county="Essex",
        district="BARKING AND DAGENHAM",
        region="London",
        latitude=51.5771,
        longitude=0.1154,
        rightmove_id="OUTCODE^2046",
        zoopla_slug="romford/rm6",
    )
    return dataclasses.replace(base, **overrides)


def make_property(property_id: int = 1, **overrides: Any) -> Property:
    """A three-bed freehold semi at number 20 + `property_id` Bexley Gardens, RM6, unless told
    otherwise."""
    base = Property(
        property_id=property_id,
        paon=str(20 + property_id),
        saon="",
        street="Bexley Gardens",
        locality="Chadwell Heath",
        location=make_location(),
        postcode="RM6 4FD",
        latitude=51.577114761326,
        longitude=0.11546743994838,
        property_type="semi_detached",
        bedrooms=3,
        bathrooms=1,
        units=1,
        tenure="freehold",
        lease_years_remaining=None,
        ground_rent=None,
        service_charge=None,
        floor_area_sqm=86,
        year_built=1935,
        new_build=False,
        epc_rating="D",
        epc_potential="B",
        condition="needs_modernisation",
        market_value=250_000,
    )
    return dataclasses.replace(base, **overrides)


def terraced_house(number: int, **changes: Any) -> Property:
    """A three-bed freehold terraced house at `number` Whalebone Lane North, RM6: the house the
    portal format tests advertise, unless told otherwise."""
    house: dict[str, Any] = {
        "paon": str(number),
        "street": "Whalebone Lane North",
        "latitude": 51.5781,
        "longitude": 0.1322,
        "property_type": "terraced",
        "floor_area_sqm": 88,
        "year_built": 1934,
        "market_value": 410_000,
    }
    return make_property(number, **(house | changes))


def leasehold_flat(number: int, **changes: Any) -> Property:
    """`terraced_house(number)` as a leasehold flat with 87 years left, £250 ground rent and a
    £1,800 service charge a year: every lease field a page shows is filled."""
    lease = {
        "property_type": "flat",
        "tenure": "leasehold",
        "lease_years_remaining": 87,
        "ground_rent": 250,
        "service_charge": 1_800,
    }
    return terraced_house(number, **(lease | changes))


def make_listing(number: int, source: str = "rightmove", **changes: Any) -> Listing:
    """A live listing of `terraced_house(number)` on `source` as of PORTAL_DAY; `changes`
    override any field."""
    prop = changes.pop("property", None) or terraced_house(number)
    first_listed = changes.pop("first_listed", PORTAL_DAY - dt.timedelta(days=number % 40))
    price = changes.pop("price", 300_000 + number * 1_000)
    base = Listing(
        source=source,
        source_id=str(170_000_000 + number),
        property=prop,
        as_of=PORTAL_DAY,
        title=f"{prop.bedrooms} bedroom terraced house for sale",
        summary="A bay-fronted family home in need of updating, sold with no onward chain.",
        description="Entrance hall, two receptions & a galley kitchen.\n\nGarden to the rear.",
        key_features=("No onward chain", "Needs modernisation", "Rear garden"),
        price=price,
        price_qualifier="guide",
        first_listed=first_listed,
        price_history=(PriceChange(first_listed, price),),
        status="available",
        agent_name="Hallmark Homes",
        agent_phone="020 8590 1234",
        image_count=3,
    )
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class FakeAuction:
    """The fields of `market.Auction` the renderers read."""

    auction_id: str
    reference: str
    house: str
    name: str
    auction_date: dt.date
    venue: str = "Live Stream"
    auction_type: str = "Live Stream"
    branch: str = ""


@dataclass
class FakeMarket:
    """A hand-filled stand-in for `market.Market` with the query methods the stand-ins call."""

    listings: list[Listing] = field(default_factory=list)
    auction_list: list[FakeAuction] = field(default_factory=list)
    lots_by_auction: dict[str, list[Listing]] = field(default_factory=dict)
    sale_list: list[Sale] = field(default_factory=list)
    changes: dict[tuple[int, int], list[Sale]] = field(default_factory=dict)
    certificates: list[EpcCertificate] = field(default_factory=list)
    location_list: list[Location] = field(default_factory=lambda: [make_location()])

    def locations(self) -> tuple[Location, ...]:
        """Every searchable area."""
        return tuple(self.location_list)

    def location(
        self,
        *,
        outcode: str | None = None,
        rightmove_id: str | None = None,
        zoopla_slug: str | None = None,
    ) -> Location | None:
        """The area with this outcode or portal id."""
        for place in self.location_list:
            if outcode == place.outcode or rightmove_id == place.rightmove_id:
                return place
            if zoopla_slug == place.zoopla_slug:
                return place
        return None

    def search(
        self,
        day: dt.date,
        source: str,
        *,
        outcode: str | None = None,
        min_price: int | None = None,
        max_price: int | None = None,
        property_types: Sequence[str] | None = None,
        min_bedrooms: int | None = None,
        max_bedrooms: int | None = None,
        sort: str = "newest",
    ) -> Sequence[Listing]:
        """The live listings on `source` matching the filters, in `sort` order."""

        def matches(item: Listing) -> bool:
            prop = item.property
            return (
                item.source == source
                and item.status in LIVE_STATUSES
                and (outcode is None or prop.location.outcode == outcode)
                and (min_price is None or item.price >= min_price)
                and (max_price is None or item.price <= max_price)
                and (property_types is None or prop.property_type in property_types)
                and (min_bedrooms is None or prop.bedrooms >= min_bedrooms)
                and (max_bedrooms is None or prop.bedrooms <= max_bedrooms)
            )

        key, reverse = SORTS[sort]
        return sorted(filter(matches, self.listings), key=key, reverse=reverse)

    def listing(self, source: str, source_id: str, day: dt.date) -> Listing | None:
        """The advert with this id while it is live, or the auction lot with it."""
        for item in self.listings:
            if item.source == source and item.source_id == source_id:
                return item if item.status in LIVE_STATUSES else None
        every_lot = [lot for lots in self.lots_by_auction.values() for lot in lots]
        return next((lot for lot in every_lot if lot.source_id == source_id), None)

    def auctions(self, house: str, day: dt.date) -> Sequence[FakeAuction]:
        return [auction for auction in self.auction_list if auction.house == house]

    def lots(self, auction_id: str, day: dt.date) -> Sequence[Listing]:
        return self.lots_by_auction.get(auction_id, [])

    def sales(self, until: dt.date) -> Sequence[Sale]:
        return [sale for sale in self.sale_list if sale.lodged_on <= until]

    def sales_changes(self, year: int, month: int) -> Sequence[Sale]:
        return self.changes.get((year, month), [])

    def epc_certificates(
        self,
        *,
        postcode: str | None = None,
        address: str | None = None,
        uprn: int | None = None,
        lodged_from: dt.date | None = None,
        lodged_to: dt.date | None = None,
    ) -> Sequence[EpcCertificate]:
        """Oldest lodgement first, as the market lists them."""
        matching = [
            cert
            for cert in self.certificates
            if (postcode is None or cert.property.postcode == postcode)
            and (uprn is None or cert.uprn == uprn)
            and (lodged_from is None or cert.lodged_on >= lodged_from)
            and (lodged_to is None or cert.lodged_on <= lodged_to)
        ]
        return sorted(matching, key=lambda cert: cert.lodged_on)

    def epc_certificate(self, certificate_number: str) -> EpcCertificate | None:
        found = (c for c in self.certificates if c.certificate_number == certificate_number)
        return next(found, None)


@functools.cache
def real_market() -> Market:
    """A generated market small enough to build in a fraction of a second."""
    return Market(MarketConfig(listings=300))


# ---------------------------------------------------------------------------------------------
# Serving a stand-in
# ---------------------------------------------------------------------------------------------


def sandbox_client(
    prefix: str,
    routes: Callable[[SandboxContext], list[BaseRoute]],
    market: FakeMarket | Market,
    *,
    day: dt.date = MARKET_DAY,
    **config: Any,
) -> tuple[TestClient, SandboxContext]:
    """A throwaway app mounting one upstream's routes under `/{prefix}` over `market`, dated
    `day`; `config` is passed on to SandboxConfig (faults, tokens, limits)."""
    sandbox_config = SandboxConfig(date=day, **config)  # type: ignore[arg-type]
    context = SandboxContext(sandbox_config, market=market)
    app = Starlette(routes=[Mount(f"/{prefix}", routes=routes(context))])
    return TestClient(app), context


def add_fault(server: SandboxServer, **fields: object) -> None:
    """Switch a fault on in a running sandbox through its control API."""
    response = httpx.post(f"{server.base_url}/_sandbox/faults", json=fields, trust_env=False)
    assert response.status_code == 201, response.text


def faults_cleared_after(server_fixture: str) -> Any:
    """An autouse fixture clearing the faults of the module's running sandbox, the fixture
    named `server_fixture`, after every test that used it, so none leaks into the next test."""

    @pytest.fixture(autouse=True)
    def no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
        yield
        if server_fixture in request.fixturenames:
            request.getfixturevalue(server_fixture).context.reset()

    return no_faults_left
