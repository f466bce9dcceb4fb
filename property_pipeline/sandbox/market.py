"""A synthetic, deterministic UK property market that moves day by day.

Every stand-in upstream renders from one `Market`: Rightmove and Zoopla adverts, Allsop and Auction
House catalogues, HM Land Registry Price Paid rows and EPC certificates all describe the same
properties, so a pipeline that joins them finds what a real one would.

How it scales: nothing is drawn from a sequential random stream. Each attribute is a hash of
(seed, attribute name, index), so any record can be rebuilt alone and in any order. The fields
searches filter on (source, outcode, type, bedrooms, live dates, price schedule) live in compact
numpy columns; `Listing`, `Sale` and `EpcCertificate` objects are built only for the rows a caller
reads, through lazy sequences. A market of a million listings builds in seconds. Bulk reads (a
Price Paid file, every certificate) build their records a batch at a time with vectorised draws,
and a Price Paid file can be written from `SaleColumns` without building a `Property` per row.

The story of one listing: it is added on a day, may be cut in price up to three times, then goes
under offer and sold STC until the sale completes (the Price Paid row is lodged two to eight weeks
later), or it is withdrawn. Half the withdrawn ones come back: Rightmove keeps the advert and its
"added" date when the gap is under 14 weeks and issues a new id otherwise; Zoopla always issues a
new id. About 30% of listings run on both portals with their own ids and wording. Auction lots
come from their own catalogues, some also advertised on Rightmove.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import random
import re
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, overload

import numpy as np

from property_pipeline.sandbox import phrasing
from property_pipeline.sandbox.geography import (
    BUILDING_NAMES,
    PLACES,
    STREET_ROOTS,
    STREET_SUFFIXES,
)
from property_pipeline.sandbox.model import (
    AUCTION_HOUSES,
    PROPERTY_TYPES,
    SOURCES,
    TENURES,
    AuctionLot,
    EpcCertificate,
    Listing,
    Location,
    PriceChange,
    Property,
    Sale,
)

SORTS = ("newest", "oldest", "price_low", "price_high")
CONDITIONS = ("good", "needs_modernisation", "derelict")

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """The knobs of a synthetic market; equal configs give identical markets."""

    seed: int = 7
    listings: int = 3000  # homes put on Rightmove/Zoopla over the whole history
    history_start: dt.date = dt.date(2025, 1, 1)  # first day a listing can be added
    history_end: dt.date = dt.date(2027, 12, 31)  # last day a listing can be added
    background_per_listing: float = 1.0  # never-listed homes per listing, for sold-price comps
    both_portals_share: float = 0.30
    zoopla_only_share: float = 0.15
    block_share: float = 0.04  # freehold blocks of 2-12 flats
    hmo_share: float = 0.035  # houses in multiple occupation, 4-9 rooms
    mixed_use_share: float = 0.025  # shops with flats above
    deal_share: float = 0.08  # asking well under value
    withdrawn_share: float = 0.25
    relist_share: float = 0.5  # of withdrawn listings, how many come back
    lots_on_rightmove_share: float = 0.2
    search_cache_size: int = 256

    def __post_init__(self) -> None:
        if self.listings < 1:
            raise ValueError(f"MarketConfig.listings must be at least 1, got {self.listings}")
        if self.listings > 30_000_000:
            raise ValueError(f"MarketConfig.listings {self.listings} exceeds the id space (30M)")
        if self.history_end <= self.history_start:
            raise ValueError(
                f"MarketConfig.history_end {self.history_end} must be after "
                f"history_start {self.history_start}"
            )
        shares = {
            "both_portals_share": self.both_portals_share,
            "zoopla_only_share": self.zoopla_only_share,
            "block_share": self.block_share,
            "hmo_share": self.hmo_share,
            "mixed_use_share": self.mixed_use_share,
            "deal_share": self.deal_share,
            "withdrawn_share": self.withdrawn_share,
            "relist_share": self.relist_share,
            "lots_on_rightmove_share": self.lots_on_rightmove_share,
        }
        for name, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"MarketConfig.{name} must be between 0 and 1, got {share}")
        if self.both_portals_share + self.zoopla_only_share > 1.0:
            raise ValueError("MarketConfig portal shares add up to more than 1")
        if self.block_share + self.hmo_share + self.mixed_use_share > 0.5:
            raise ValueError("MarketConfig block, HMO and mixed-use shares exceed half the market")


@dataclass(frozen=True, slots=True)
class Auction:
    """One auction house sale day and its catalogue identity."""

    auction_id: str  # uuid
    reference: str  # "R260429" for Allsop
    house: str  # "allsop" or "auctionhouse"
    name: str
    auction_date: dt.date
    venue: str
    auction_type: str  # "Live Stream", "Online"
    branch: str = ""  # Auction House regional branch slug, "northwest"; "" for Allsop


# ---------------------------------------------------------------------------------------------
# Counter-based randomness

_MASK64 = (1 << 64) - 1
_BIG = 10_000_000  # a day ordinal later than any date; marks "never"
_RM, _ZP, _ALLSOP, _AH = (
    SOURCES.index(s) for s in ("rightmove", "zoopla", "allsop", "auctionhouse")
)
_FLAT, _TERRACED, _SEMI, _DETACHED, _BUNGALOW, _BLOCK, _HMO, _MIXED = range(len(PROPERTY_TYPES))
_FREEHOLD, _LEASEHOLD, _SHARE_OF_FREEHOLD, _COMMONHOLD = range(len(TENURES))
_PORTAL, _LOT, _BACKGROUND = range(3)
_SIGNAL_BIT = {name: 1 << i for i, name in enumerate(phrasing.SIGNALS)}


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array: a fast, well-spread bijection."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class _Draws:
    """Random numbers keyed by (seed, stream, index), identical whatever the call order."""

    def __init__(self, seed: int) -> None:
        self._seed = seed & _MASK64
        self._keys: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        key = self._keys.get(stream)
        if key is None:
            raw = np.array([self._seed ^ (zlib.crc32(stream.encode()) << 20)], dtype=np.uint64)
            key = _mix64(_mix64(raw))[0]
            self._keys[stream] = key
        return key

    def bits(self, stream: str, index: np.ndarray | int) -> np.ndarray:
        """64 random bits per index."""
        idx = np.asarray(index, dtype=np.int64)
        # Work on a 1-d copy: numpy warns about wrapping arithmetic on scalars, not on arrays.
        flat = idx.reshape(-1).astype(np.uint64)
        return _mix64(flat ^ self._key(stream)).reshape(idx.shape)

    def uniform(self, stream: str, index: np.ndarray | int) -> np.ndarray:
        """Floats in [0, 1) per index."""
        return (self.bits(stream, index) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def integers(
        self, stream: str, index: np.ndarray | int, low: np.ndarray | int, high: np.ndarray | int
    ) -> np.ndarray:
        """Integers in [low, high] inclusive per index."""
        span = np.asarray(high, dtype=np.int64) - np.asarray(low, dtype=np.int64) + 1
        picked = np.floor(self.uniform(stream, index) * np.maximum(span, 1)).astype(np.int64)
        return np.asarray(low, dtype=np.int64) + picked

    def choice(self, stream: str, index: np.ndarray | int, weights: Sequence[float]) -> np.ndarray:
        """Indices into `weights`, drawn in proportion to them."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        return np.searchsorted(cum / cum[-1], self.uniform(stream, index), side="right")

    def rng(self, stream: str, index: int) -> random.Random:
        """A private `random.Random` for building one record's details."""
        return random.Random(int(self.bits(stream, index)))


def _affine(key: int, multiplier: int, offset: int, modulus: int) -> int:
    return (multiplier * key + offset) % modulus


def _affine_inverse(value: int, multiplier: int, offset: int, modulus: int) -> int:
    return ((value - offset) * pow(multiplier, -1, modulus)) % modulus


# Portal ids are bijections of an advert key, so an id can be read back without a lookup table.
_ID_SPACE = 1 << 26
_RIGHTMOVE_ID = (100_000_000, 40_503_071, 17_230_945)  # base, multiplier, offset
_ZOOPLA_ID = (10_000_000, 27_184_833, 5_918_226)
_AUCTIONHOUSE_ID = (200_000, 761_843, 91_217)
_AUCTIONHOUSE_SPACE = 1 << 20
_CERTIFICATE = (5_738_291_044_187_365_411, 1_204_557_903_118_726_034, 10**20)
_UPRN = (10_000_000_000, 48_271_391_257, 7_104_337_911, 1 << 36)


# ---------------------------------------------------------------------------------------------
# Prices over time

_INDEX_YEARS = (1995.0, 1998.0, 2002.0, 2004.0, 2007.9, 2009.2, 2013.0, 2016.0, 2019.0, 2021.0)
_INDEX_YEARS += (2022.7, 2023.9, 2025.0, 2030.0)
_INDEX_LEVELS = (0.19, 0.23, 0.37, 0.56, 0.68, 0.57, 0.62, 0.79, 0.85, 0.92, 1.02, 0.98, 1.0, 1.12)
# Growth per year relative to the national curve: London ran ahead, the North East behind.
_REGION_TILT = {
    "London": 0.012,
    "South East": 0.006,
    "East of England": 0.005,
    "South West": 0.003,
    "Yorkshire and The Humber": -0.004,
    "North West": -0.004,
    "North East": -0.010,
    "Wales": -0.004,
}
_ORDINAL_2025 = dt.date(2025, 1, 1).toordinal()
_ORDINAL_1995 = dt.date(1995, 1, 1).toordinal()
_EPC_START = dt.date(2008, 10, 1).toordinal()


def _price_index(days: np.ndarray, tilt: np.ndarray) -> np.ndarray:
    """House price level on each day relative to 1 January 2025, for each place's region."""
    years = 2025.0 + (np.asarray(days, dtype=np.float64) - _ORDINAL_2025) / 365.25
    return np.interp(years, _INDEX_YEARS, _INDEX_LEVELS) * np.exp(tilt * (years - 2025.0))


def _round_asking(prices: np.ndarray) -> np.ndarray:
    """Asking prices rounded the way agents quote them."""
    p = np.maximum(np.asarray(prices, dtype=np.float64), 20_000.0)
    step = np.select([p < 100_000, p < 300_000, p < 1_000_000], [1000, 2500, 5000], 25_000)
    return (np.round(p / step) * step).astype(np.int64)


def _round_to(prices: np.ndarray, step: int) -> np.ndarray:
    return np.maximum(np.round(np.asarray(prices, dtype=np.float64) / step) * step, step).astype(
        np.int64
    )


# ---------------------------------------------------------------------------------------------
# Columnar tables


@dataclass(slots=True)
class _Properties:
    group: np.ndarray  # _PORTAL, _LOT or _BACKGROUND
    place: np.ndarray
    kind: np.ndarray  # index into PROPERTY_TYPES
    bedrooms: np.ndarray
    bathrooms: np.ndarray
    units: np.ndarray
    studios: np.ndarray  # flats with no separate bedroom, in blocks
    two_beds: np.ndarray  # two-bedroom flats in blocks and above shops
    tenure: np.ndarray
    lease: np.ndarray  # years remaining, 0 when not leasehold
    floor_area: np.ndarray
    year_built: np.ndarray
    condition: np.ndarray
    epc_score: np.ndarray
    epc_potential: np.ndarray
    value: np.ndarray  # comparables value at January 2025 prices
    flags: np.ndarray  # property signals as bits of _SIGNAL_BIT
    share_pct: np.ndarray  # shared ownership share, 0 when none
    street: np.ndarray
    number: np.ndarray
    postcode_key: np.ndarray


@dataclass(slots=True)
class _Episodes:
    """One row per home put on the portals: its whole life, as day ordinals."""

    listed: np.ndarray
    prices: np.ndarray  # (n, 4): asking then up to three cuts
    price_days: np.ndarray  # (n, 4): _BIG where unused
    withdrawn_on: np.ndarray  # end of the first run when withdrawn, else _BIG
    relisted_on: np.ndarray  # _BIG when never relisted
    relist_price: np.ndarray
    sold: np.ndarray
    under_offer: np.ndarray
    sold_stc: np.ndarray
    final_end: np.ndarray  # completion or last withdrawal
    sale_price: np.ndarray
    flags: np.ndarray
    on_rightmove: np.ndarray
    on_zoopla: np.ndarray
    zoopla_lag: np.ndarray
    zoopla_rounds: np.ndarray


@dataclass(slots=True)
class _Lots:
    plan: np.ndarray  # index into the auction calendar
    added: np.ndarray
    outcome: np.ndarray  # index into _LOT_OUTCOMES
    outcome_day: np.ndarray
    guide_lower: np.ndarray
    guide_upper: np.ndarray
    sold_price: np.ndarray
    tenancy: np.ndarray  # index into _TENANCIES
    rent: np.ndarray  # pounds a year, 0 when vacant
    flags: np.ndarray
    on_rightmove: np.ndarray


@dataclass(slots=True)
class _Adverts:
    """One row per advert run on one source, sorted by (source, place, first day)."""

    source: np.ndarray
    place: np.ndarray
    kind: np.ndarray
    bedrooms: np.ndarray
    episode: np.ndarray  # portal episode (= its property), or listings + lot index
    phase: np.ndarray  # 0 first run, 1 a relist under a new id
    start: np.ndarray
    end: np.ndarray
    gap_start: np.ndarray  # withdrawn spell inside a kept Rightmove advert
    gap_end: np.ndarray
    shown: np.ndarray  # the "added on" date the source displays
    under_offer: np.ndarray
    sold_stc: np.ndarray
    price_days: np.ndarray  # (n, 4)
    prices: np.ndarray  # (n, 4)


@dataclass(slots=True)
class _Sales:
    """Price Paid rows sorted by (transfer, key); the later changes are kept sparsely."""

    key: np.ndarray  # prop * 4 + slot; slot 3 is a sale completing from a listing or lot
    transfer: np.ndarray
    price: np.ndarray
    category_b: np.ndarray
    lodged: np.ndarray
    change_rows: np.ndarray  # rows a later monthly file changes, ascending
    change: np.ndarray  # per change row: 1 corrected ("C"), 2 deleted ("D")
    change_lodged: np.ndarray
    corrected_price: np.ndarray


@dataclass(slots=True)
class _Certificates:
    key: np.ndarray  # (prop * 16 + unit) * 4 + k, sorted
    lodged: np.ndarray
    score: np.ndarray
    potential: np.ndarray
    floor_area: np.ndarray


@dataclass(frozen=True, slots=True)
class _AuctionPlan:
    auction: Auction
    lot_start: int
    lot_count: int
    places: tuple[int, ...]
    weights: tuple[float, ...]


# ---------------------------------------------------------------------------------------------
# Lazy records and caches


class _Records(Sequence[T]):
    """A read-only sequence that builds records only when they are read.

    `build` turns an array of rows into their records. Iterating asks it for `batch` rows at a
    time, so a builder whose draws are vectorised pays numpy's per-call cost once per batch; a
    batch of one suits records that are costly to build and often read only in part.
    """

    __slots__ = ("_rows", "_build", "_batch")

    def __init__(
        self, rows: np.ndarray, build: Callable[[np.ndarray], Sequence[T]], batch: int = 1
    ) -> None:
        self._rows = rows
        self._build = build
        self._batch = batch

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> _Records[T]: ...

    def __getitem__(self, index: int | slice) -> T | _Records[T]:
        if isinstance(index, slice):
            return self._narrow(self._rows[index])
        return self._build(self._rows[[index]])[0]

    def _narrow(self, rows: np.ndarray) -> _Records[T]:
        return _Records(rows, self._build, self._batch)

    def __iter__(self) -> Iterator[T]:
        for low in range(0, len(self._rows), self._batch):
            yield from self._build(self._rows[low : low + self._batch])

    def __repr__(self) -> str:
        return f"<{len(self)} records, built on access>"


@dataclass(frozen=True, slots=True)
class SaleColumns:
    """Price Paid rows as parallel lists, one entry a row: each `Sale` value, and the fields of
    its `Property` that the Price Paid file prints. Writers of whole files read these instead
    of `Sale`s, so no `Property` is built for a row that only becomes a line of text."""

    transaction_id: list[str]
    price: list[int]
    transfer_date: list[dt.date]
    ppd_category: list[str]
    lodged_on: list[dt.date]
    record_status: list[str]
    paon: list[str]
    saon: list[str]
    street: list[str]
    locality: list[str]
    location: list[Location]
    postcode: list[str]
    property_type: list[str]
    tenure: list[str]
    year_built: list[int]
    new_build: list[bool]


class SaleRecords(_Records[Sale]):
    """Price Paid rows of one query, built on access: as `Sale`s, or batch by batch as columns.

    `transfer` holds each row's transfer day, indexed like the rows, so a yearly file narrows
    the rows before anything is built.
    """

    __slots__ = ("_columns", "_transfer")

    def __init__(
        self,
        rows: np.ndarray,
        build: Callable[[np.ndarray], Sequence[Sale]],
        columns: Callable[[np.ndarray], SaleColumns],
        transfer: np.ndarray,
    ) -> None:
        super().__init__(rows, build, _BATCH)
        self._columns = columns
        self._transfer = transfer

    def _narrow(self, rows: np.ndarray) -> SaleRecords:
        return SaleRecords(rows, self._build, self._columns, self._transfer)

    def columns(self) -> Iterator[SaleColumns]:
        """Every row in order, a batch of columns at a time."""
        for low in range(0, len(self._rows), self._batch):
            yield self._columns(self._rows[low : low + self._batch])

    def transferred_in(self, year: int) -> SaleRecords:
        """The rows whose transfer date falls in `year`, in the same order."""
        first, last = dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
        days = self._transfer[self._rows]
        return self._narrow(self._rows[(days >= first) & (days <= last)])


def _one_by_one(build: Callable[[int], T]) -> Callable[[np.ndarray], list[T]]:
    """A batch builder for `_Records` from a builder of one record."""
    return lambda rows: [build(int(row)) for row in rows]


# Records built together when a bulk sequence is iterated: enough to spread numpy's per-call cost
# thin, few enough that reading only the first record of a result stays cheap.
_BATCH = 1024


class _Lru(Generic[K, V]):
    """A small thread-safe least-recently-used cache (route handlers may run in threads)."""

    def __init__(self, size: int) -> None:
        self._size = max(size, 1)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: K, build: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


# ---------------------------------------------------------------------------------------------
# Auction calendar

_ALLSOP_FIRST = dt.date(2026, 4, 29)  # a Wednesday; Allsop's residential sale every four weeks
_AUCTIONHOUSE_FIRST = dt.date(2026, 1, 6)  # a Tuesday; each branch sells every four weeks
# slug, display name, regions served, days after the cycle start
_AUCTIONHOUSE_BRANCHES = (
    ("london", "London", ("London",), 0),
    ("southeast", "South East", ("South East",), 7),
    ("eastanglia", "East Anglia", ("East of England",), 14),
    ("southwest", "South West", ("South West",), 21),
    ("midlands", "Midlands", ("West Midlands", "East Midlands"), 2),
    ("yorkshire", "Yorkshire", ("Yorkshire and The Humber",), 9),
    ("northwest", "North West", ("North West",), 16),
    ("northeast", "North East", ("North East",), 23),
    ("wales", "Wales", ("Wales",), 1),
)
_AUCTIONHOUSE_DISPLAY = {slug: display for slug, display, _, _ in _AUCTIONHOUSE_BRANCHES}
_CATALOGUE_LEAD_DAYS = 35  # a catalogue opens five weeks before the sale
_LOT_OUTCOMES = ("sold_prior", "withdrawn", "postponed", "sold", "unsold")
_LOT_STATUS = {
    "sold_prior": "Sold Prior",
    "withdrawn": "Withdrawn",
    "postponed": "Postponed",
    "sold": "Sold",
    "unsold": "Unsold",
}
_TENANCIES = ("Vacant Possession", "Fully Let", "Part Let")


def _sale_days(first: dt.date, start: dt.date, end: dt.date) -> list[dt.date]:
    low = math.ceil((start - first).days / 28)
    high = math.floor((end - first).days / 28)
    return [first + dt.timedelta(days=28 * k) for k in range(low, high + 1)]


def _auction_uuid(draws: _Draws, house: str, day: dt.date) -> str:
    index = day.toordinal() * 8 + AUCTION_HOUSES.index(house)
    high = int(draws.bits("auction-id-high", index))
    low = int(draws.bits("auction-id-low", index))
    return str(uuid.UUID(int=(high << 64) | low, version=4))


def _auction_calendar(config: MarketConfig, draws: _Draws) -> list[_AuctionPlan]:
    """Every Allsop and Auction House sale whose whole catalogue falls inside the history."""
    first_sale = config.history_start + dt.timedelta(days=_CATALOGUE_LEAD_DAYS)
    plans: list[_AuctionPlan] = []
    all_places = tuple(range(len(PLACES)))
    allsop_weights = tuple(
        {"London": 4.0, "South East": 2.0}.get(p.location.region, 1.0) for p in PLACES
    )
    for day in _sale_days(_ALLSOP_FIRST, first_sale, config.history_end):
        auction = Auction(
            auction_id=_auction_uuid(draws, "allsop", day),
            reference=f"R{day:%y%m%d}",
            house="allsop",
            name=f"Residential Auction - {day:%B %Y}",
            auction_date=day,
            venue="Live stream from London",
            auction_type="Live Stream",
        )
        count = int(draws.integers("allsop-lot-count", day.toordinal(), 60, 150))
        plans.append(_AuctionPlan(auction, 0, count, all_places, allsop_weights))
    for slug, display, regions, offset in _AUCTIONHOUSE_BRANCHES:
        first = _AUCTIONHOUSE_FIRST + dt.timedelta(days=offset)
        places = tuple(i for i, p in enumerate(PLACES) if p.location.region in regions)
        for day in _sale_days(first, first_sale, config.history_end):
            auction = Auction(
                auction_id=_auction_uuid(draws, "auctionhouse", day),
                reference=f"AH-{slug.upper()}-{day:%y%m%d}",
                house="auctionhouse",
                name=f"Auction House {display} - {day.day} {day:%B %Y}",
                auction_date=day,
                venue="Online",
                auction_type="Online",
                branch=slug,
            )
            count = int(draws.integers("auctionhouse-lot-count", day.toordinal(), 10, 30))
            plans.append(_AuctionPlan(auction, 0, count, places, (1.0,) * len(places)))
    plans.sort(key=lambda plan: (plan.auction.auction_date, plan.auction.reference))
    starts = np.concatenate([[0], np.cumsum([plan.lot_count for plan in plans])[:-1]])
    return [
        _AuctionPlan(plan.auction, int(start), plan.lot_count, plan.places, plan.weights)
        for plan, start in zip(plans, starts, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Properties

_BEDROOM_ODDS = np.array(
    [
        [0.06, 0.38, 0.44, 0.12, 0.00, 0.00, 0.00],  # flat
        [0.00, 0.03, 0.30, 0.50, 0.14, 0.03, 0.00],  # terraced
        [0.00, 0.00, 0.15, 0.60, 0.22, 0.03, 0.00],  # semi-detached
        [0.00, 0.00, 0.00, 0.25, 0.50, 0.20, 0.05],  # detached
        [0.00, 0.05, 0.50, 0.40, 0.05, 0.00, 0.00],  # bungalow
    ]
).cumsum(axis=1)
_ERAS = ((1850, 1899), (1900, 1929), (1930, 1949), (1950, 1966), (1967, 1982), (1983, 2002))
_ERAS += ((2003, 2019), (2020, 2024))
_ERA_ODDS = np.array(
    [
        [0.10, 0.10, 0.05, 0.10, 0.15, 0.15, 0.25, 0.10],  # flat
        [0.35, 0.30, 0.10, 0.08, 0.07, 0.04, 0.05, 0.01],  # terraced
        [0.05, 0.10, 0.30, 0.25, 0.15, 0.08, 0.06, 0.01],  # semi-detached
        [0.05, 0.05, 0.10, 0.12, 0.20, 0.20, 0.23, 0.05],  # detached
        [0.00, 0.02, 0.08, 0.35, 0.40, 0.10, 0.05, 0.00],  # bungalow
        [0.45, 0.20, 0.05, 0.10, 0.10, 0.05, 0.05, 0.00],  # block of flats
        [0.55, 0.30, 0.08, 0.04, 0.03, 0.00, 0.00, 0.00],  # HMO
        [0.55, 0.25, 0.10, 0.05, 0.03, 0.02, 0.00, 0.00],  # mixed use
    ]
).cumsum(axis=1)
_ERA_EPC_BASE = np.array([42, 50, 55, 58, 61, 67, 76, 84])
_KIND_EPC_SHIFT = np.array([5, 0, 0, 0, 0, 0, -3, -5])
_KIND_VALUE = np.array([1.0, 1.0, 1.02, 1.08, 1.06, 0.85, 0.88, 0.78])
_CONDITION_VALUE = np.array([1.0, 0.8, 0.55])
_CONDITION_EPC = np.array([0, -8, -20])
_CONDITION_ODDS = {
    _PORTAL: (0.78, 0.18, 0.04),
    _LOT: (0.45, 0.40, 0.15),
    _BACKGROUND: (0.8, 0.17, 0.03),
}
_SPECIAL_ODDS = {_LOT: (0.10, 0.07, 0.09), _BACKGROUND: (0.01, 0.01, 0.01)}
_HOUSE_SHARES = np.array([0.36, 0.28, 0.20, 0.16]).cumsum()
_NUMBERS_PER_STREET = 180
_STREET_STRIDE = 7919  # prime: spreads the homes of a place over its streets one to one
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _place_weights() -> np.ndarray:
    return np.array([1.5 if p.location.region == "London" else 1.0 for p in PLACES])


_CHUNK = 1 << 18  # rows built at a time, so temporaries stay small at a million listings


def _in_chunks(
    total: int, build: Callable[[np.ndarray], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Run a column builder over index chunks and stack the results."""
    parts = [
        build(np.arange(low, min(low + _CHUNK, total), dtype=np.int64))
        for low in range(0, total, _CHUNK)
    ]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _build_properties(
    config: MarketConfig, draws: _Draws, plans: list[_AuctionPlan], n_lots: int
) -> _Properties:
    """Every home in the market: listed ones, auction lots, then homes only seen in sold data."""
    n_portal = config.listings
    n_background = round(config.listings * config.background_per_listing)
    total = n_portal + n_lots + n_background
    group = np.full(total, _PORTAL, dtype=np.int8)
    group[n_portal : n_portal + n_lots] = _LOT
    group[n_portal + n_lots :] = _BACKGROUND

    place = draws.choice("place", np.arange(total), _place_weights()).astype(np.int16)
    for plan in plans:
        lots = np.arange(plan.lot_count) + n_portal + plan.lot_start
        picks = draws.choice("lot-place", lots, plan.weights)
        place[lots] = np.asarray(plan.places, dtype=np.int16)[picks]

    columns = _in_chunks(total, lambda q: _property_columns(config, draws, q, group[q], place[q]))
    street, number, postcode_key = _assign_addresses(draws, place)
    return _Properties(
        group=group,
        place=place,
        street=street,
        number=number,
        postcode_key=postcode_key,
        **columns,
    )


def _property_columns(
    config: MarketConfig, draws: _Draws, q: np.ndarray, group: np.ndarray, place: np.ndarray
) -> dict[str, np.ndarray]:
    kind = _draw_kinds(config, draws, q, group, place)
    bedrooms, units, studios, two_beds = _draw_rooms(draws, q, kind)
    floor_area = _draw_floor_area(draws, q, kind, bedrooms, units)
    year_built = _draw_year_built(draws, q, kind)
    condition = np.zeros(len(q), dtype=np.int8)
    for grp, odds in _CONDITION_ODDS.items():
        mask = group == grp
        condition[mask] = draws.choice("condition", q[mask], odds)
    condition[year_built >= 2020] = 0

    flags, share_pct = _draw_property_flags(draws, q, group, kind, year_built)
    tenure, lease = _draw_tenure(draws, q, kind, flags)
    escalating = (
        (kind == _FLAT)
        & (tenure == _LEASEHOLD)
        & (year_built >= 2003)
        & (year_built <= 2021)
        & (lease >= 85)
        & (lease <= 245)
        & (draws.uniform("escalating", q) < 0.15)
    )
    flags |= _flag(escalating, "escalating_ground_rent")

    era = np.searchsorted([e[1] for e in _ERAS], year_built)
    noise = draws.integers("epc-noise", q, -8, 8)
    score = _ERA_EPC_BASE[era] + _KIND_EPC_SHIFT[kind] + _CONDITION_EPC[condition] + noise
    score = np.clip(score, 3, 96)
    potential = np.clip(score + draws.integers("epc-potential", q, 4, 24), score, 96)

    per_sqm = np.array([p.price_per_sqm for p in PLACES], dtype=np.float64)[place]
    lease_factor = np.where(lease == 0, 1.0, np.select([lease < 60, lease < 80], [0.65, 0.85], 1))
    value = (
        floor_area
        * per_sqm
        * _KIND_VALUE[kind]
        * _CONDITION_VALUE[condition]
        * lease_factor
        * (0.88 + 0.24 * draws.uniform("value-noise", q))
        * np.where(year_built >= 2020, 1.08, 1.0)
    )
    return {
        "kind": kind.astype(np.int8),
        "bedrooms": bedrooms.astype(np.int8),
        "bathrooms": _bathrooms(draws, q, kind, bedrooms, units).astype(np.int8),
        "units": units.astype(np.int8),
        "studios": studios.astype(np.int8),
        "two_beds": two_beds.astype(np.int8),
        "tenure": tenure.astype(np.int8),
        "lease": lease.astype(np.int16),
        "floor_area": floor_area.astype(np.int16),
        "year_built": year_built.astype(np.int16),
        "condition": condition,
        "epc_score": score.astype(np.int8),
        "epc_potential": potential.astype(np.int8),
        "value": np.round(value, -2).astype(np.int32),
        "flags": flags,
        "share_pct": share_pct.astype(np.int8),
    }


def _pick_by_kind(
    draws: _Draws, stream: str, q: np.ndarray, kind: np.ndarray, cumulative: np.ndarray
) -> np.ndarray:
    """For each home, an index drawn from its own kind's row of cumulative odds."""
    u = draws.uniform(stream, q)
    picked = np.zeros(len(q), dtype=np.int64)
    for k in np.unique(kind):
        mask = kind == k
        picked[mask] = np.searchsorted(cumulative[k], u[mask], side="right")
    return np.minimum(picked, cumulative.shape[1] - 1)


def _draw_kinds(
    config: MarketConfig, draws: _Draws, q: np.ndarray, group: np.ndarray, place: np.ndarray
) -> np.ndarray:
    portal_odds = (config.block_share, config.hmo_share, config.mixed_use_share)
    special = np.zeros((len(q), 3))
    for grp, odds in {_PORTAL: portal_odds, **_SPECIAL_ODDS}.items():
        special[group == grp] = np.cumsum(odds)
    u = draws.uniform("kind", q)
    kind = np.select(
        [u < special[:, 0], u < special[:, 1], u < special[:, 2]], [_BLOCK, _HMO, _MIXED], -1
    )
    flat_share = np.array([p.flat_share for p in PLACES])[place]
    v = draws.uniform("ordinary-kind", q)
    house = 1 + np.searchsorted(_HOUSE_SHARES, (v - flat_share) / (1 - flat_share), side="right")
    ordinary = np.where(v < flat_share, _FLAT, np.minimum(house, _BUNGALOW))
    return np.where(kind < 0, ordinary, kind)


def _draw_rooms(
    draws: _Draws, q: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ordinary = kind <= _BUNGALOW
    bedrooms = _pick_by_kind(draws, "bedrooms", q, np.minimum(kind, _BUNGALOW), _BEDROOM_ODDS)
    units = np.ones(len(q), dtype=np.int64)
    block_units = 2 + draws.choice("block-units", q, (20, 20, 16, 12, 9, 7, 5, 4, 3, 2, 2))
    units = np.where(kind == _BLOCK, block_units, units)
    units = np.where(kind == _HMO, draws.integers("hmo-rooms", q, 4, 9), units)
    units = np.where(kind == _MIXED, 1 + draws.choice("shop-flats", q, (50, 35, 15)), units)
    has_studios = (kind == _BLOCK) & (draws.uniform("has-studios", q) < 0.2)
    studios = np.where(has_studios, draws.integers("studios", q, 1, np.maximum(units // 3, 1)), 0)
    two_beds = np.where(
        (kind == _BLOCK) | (kind == _MIXED), draws.integers("two-beds", q, 0, units - studios), 0
    )
    unit_bedrooms = two_beds * 2 + (units - studios - two_beds)
    bedrooms = np.where(ordinary, bedrooms, np.where(kind == _HMO, units, unit_bedrooms))
    return bedrooms, np.where(ordinary, 1, units), studios, two_beds


def _bathrooms(
    draws: _Draws, q: np.ndarray, kind: np.ndarray, bedrooms: np.ndarray, units: np.ndarray
) -> np.ndarray:
    extra_flat_bath = (bedrooms >= 3) & (draws.uniform("flat-bath", q) < 0.5)
    house = 1 + (bedrooms >= 4) + (bedrooms >= 6)
    baths = np.where(kind == _FLAT, 1 + extra_flat_bath, house)
    baths = np.where((kind == _BLOCK) | (kind == _MIXED), units, baths)
    return np.where(kind == _HMO, np.maximum(2, units // 2), baths)


def _draw_floor_area(
    draws: _Draws, q: np.ndarray, kind: np.ndarray, bedrooms: np.ndarray, units: np.ndarray
) -> np.ndarray:
    base = np.select(
        [kind == k for k in range(len(PROPERTY_TYPES))],
        [
            30 + 21 * bedrooms,
            42 + 21 * bedrooms,
            48 + 23 * bedrooms,
            55 + 30 * bedrooms,
            45 + 22 * bedrooms,
            20 + 30 * units + 16 * bedrooms,
            45 + 16 * units,
            60 + 40 * units + 14 * bedrooms,
        ],
    )
    return np.round(base * (0.85 + 0.35 * draws.uniform("floor-area", q))).astype(np.int64)


def _draw_year_built(draws: _Draws, q: np.ndarray, kind: np.ndarray) -> np.ndarray:
    era = _pick_by_kind(draws, "era", q, kind, _ERA_ODDS)
    low = np.array([e[0] for e in _ERAS])[era]
    high = np.array([e[1] for e in _ERAS])[era]
    return draws.integers("year-built", q, low, high)


def _flag(condition: np.ndarray, signal: str) -> np.ndarray:
    return np.where(condition, _SIGNAL_BIT[signal], 0).astype(np.uint32)


def _draw_property_flags(
    draws: _Draws, q: np.ndarray, group: np.ndarray, kind: np.ndarray, year: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Facts of the building itself that an advert may have to disclose."""
    house = (kind >= _TERRACED) & (kind <= _BUNGALOW)
    flat = kind == _FLAT

    def u(name: str) -> np.ndarray:
        return draws.uniform(name, q)

    shared = (flat | house) & (year >= 2005) & (u("shared") < np.where(flat, 0.07, 0.02))
    tenant_odds = np.where(group == _LOT, 0.05, 0.01)
    flags = (
        _flag(
            house & (year >= 1945) & (year <= 1975) & (u("non-standard") < 0.12),
            "non_standard_construction",
        )
        | _flag(house & (u("subsidence") < 0.015), "subsidence")
        | _flag((house | (kind == _BLOCK)) & (u("knotweed") < 0.01), "japanese_knotweed")
        | _flag((house | flat) & (u("sitting-tenant") < tenant_odds), "sitting_tenant")
        | _flag(shared, "shared_ownership")
        | _flag(flat & (year >= 1980) & ~shared & (u("retirement") < 0.04), "retirement")
        | _flag(flat & (year >= 1995) & (u("cladding") < 0.05), "cladding")
        | _flag((kind == _TERRACED) & (u("flying-freehold") < 0.01), "flying_freehold")
        | _flag((kind == _HMO) & (u("article-4") < 0.3), "article_4")
        | _flag((kind == _HMO) & (u("hmo-licence") < 0.75), "hmo_licensed")
    )
    share_pct = np.where(
        shared, np.array([25, 40, 50, 60, 75])[draws.integers("share", q, 0, 4)], 0
    )
    return flags, share_pct


def _draw_tenure(
    draws: _Draws, q: np.ndarray, kind: np.ndarray, flags: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    u = draws.uniform("tenure", q)
    flat_tenure = np.select(
        [u < 0.74, u < 0.94, u < 0.98], [_LEASEHOLD, _SHARE_OF_FREEHOLD, _FREEHOLD], _COMMONHOLD
    )
    freehold_odds = np.select([kind == _MIXED, kind == _FLAT], [0.85, 0.0], 0.94)
    tenure = np.where(
        kind == _FLAT, flat_tenure, np.where(u < freehold_odds, _FREEHOLD, _LEASEHOLD)
    )
    shared = (flags & _SIGNAL_BIT["shared_ownership"]) > 0
    tenure = np.where(shared, _LEASEHOLD, tenure)

    v = draws.uniform("lease-kind", q)
    long_lease = draws.integers("lease-999", q, 960, 995)
    lease_250 = draws.integers("lease-250", q, 215, 245)
    lease_125 = draws.integers("lease-125", q, 85, 122)
    lease_99 = draws.integers("lease-99", q, 40, 95)
    flat_lease = np.select(
        [v < 0.18, v < 0.25, v < 0.70], [long_lease, lease_250, lease_125], lease_99
    )
    house_lease = np.where(v < 0.6, long_lease, lease_250)
    share_lease = np.where(v < 0.6, long_lease, lease_125 + 20)
    lease = np.where(kind == _FLAT, flat_lease, house_lease)
    lease = np.where(tenure == _SHARE_OF_FREEHOLD, share_lease, lease)
    lease = np.where(shared, lease_125, lease)
    lease = np.where((tenure == _LEASEHOLD) | (tenure == _SHARE_OF_FREEHOLD), lease, 0)
    return tenure, lease


def _assign_addresses(draws: _Draws, place: np.ndarray) -> tuple[np.ndarray, ...]:
    """A distinct (street, number) slot for every home of a place, and its postcode."""
    order = np.argsort(place, kind="stable")
    counts = np.bincount(place, minlength=len(PLACES))
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(place), dtype=np.int32)
    rank[order] = np.arange(len(place)) - np.repeat(firsts, counts)
    del order
    streets = np.maximum(24, np.ceil(counts * 1.25 / _NUMBERS_PER_STREET)).astype(np.int64)

    def slot_columns(q: np.ndarray) -> dict[str, np.ndarray]:
        where = place[q].astype(np.int64)
        offset = draws.integers("slot-offset", where, 0, 10_000)
        slot = (rank[q] * _STREET_STRIDE + offset) % (streets[where] * _NUMBERS_PER_STREET)
        street, number = slot // _NUMBERS_PER_STREET, slot % _NUMBERS_PER_STREET + 1
        street_id = where * 4096 + street
        sector = draws.integers("sector", street_id, 0, 9)
        unit = draws.integers("postcode-unit", street_id * 16 + number // 12, 0, 399)
        return {
            "street": street.astype(np.int16),
            "number": number.astype(np.int16),
            "postcode_key": (where * 4000 + sector * 400 + unit).astype(np.int32),
        }

    columns = _in_chunks(len(place), slot_columns)
    return columns["street"], columns["number"], columns["postcode_key"]


def _street_name(place: int, street: int) -> str:
    root = STREET_ROOTS[(street * 37 + place * 11) % len(STREET_ROOTS)]
    suffix_index = street * 7 + place * 3 + street // len(STREET_ROOTS)
    return f"{root} {STREET_SUFFIXES[suffix_index % len(STREET_SUFFIXES)]}"


def _postcode(place: int, key: int) -> str:
    rest = key - place * 4000
    sector, unit = divmod(rest, 400)
    letters = _POSTCODE_LETTERS[unit // 20] + _POSTCODE_LETTERS[unit % 20]
    return f"{PLACES[place].location.outcode} {sector}{letters}"


# ---------------------------------------------------------------------------------------------
# Listings over time

_DEFECT_DISCOUNT = {
    "non_standard_construction": 0.7,
    "subsidence": 0.85,
    "japanese_knotweed": 0.9,
    "sitting_tenant": 0.6,
    "retirement": 0.65,
    "cladding": 0.75,
    "flying_freehold": 0.95,
}
_LENDING_PROBLEMS = ("non_standard_construction", "japanese_knotweed")


def _has(flags: np.ndarray, signal: str) -> np.ndarray:
    return (flags & _SIGNAL_BIT[signal]) > 0


def _defect_factor(props: _Properties, q: np.ndarray) -> np.ndarray:
    factor = np.ones(len(q))
    for signal, discount in _DEFECT_DISCOUNT.items():
        factor = np.where(_has(props.flags[q], signal), factor * discount, factor)
    share = props.share_pct[q].astype(np.float64)
    return np.where(share > 0, factor * share / 100.0, factor)


def _region_tilt(place: np.ndarray) -> np.ndarray:
    return np.array([_REGION_TILT.get(p.location.region, 0.0) for p in PLACES])[place]


def _seller_flags(
    draws: _Draws, index: np.ndarray, props: _Properties, q: np.ndarray, keen: np.ndarray
) -> np.ndarray:
    """Why the seller is selling and on what terms: probate, chain free, cash only..."""

    def u(name: str) -> np.ndarray:
        return draws.uniform(name, index)

    probate = u("probate") < 0.04 + 0.10 * keen
    repossession = u("repossession") < 0.015 + 0.05 * keen
    lending_problem = (
        (props.condition[q] == 2)
        | ((props.lease[q] > 0) & (props.lease[q] < 60))
        | np.logical_or.reduce([_has(props.flags[q], s) for s in _LENDING_PROBLEMS])
    )
    cash_only = (lending_problem & (u("cash-only") < 0.6)) | (u("cash-only-any") < 0.015)
    return (
        _flag(probate, "probate")
        | _flag(repossession, "repossession")
        | _flag(u("receivership") < 0.008, "receivership")
        | _flag(u("quick-sale") < 0.03 + 0.3 * keen, "quick_sale")
        | _flag(probate | repossession | (u("chain-free") < 0.28), "chain_free")
        | _flag(cash_only, "cash_buyers_only")
        | _flag(u("mmoa") < 0.03, "modern_method_of_auction")
    )


def _exponential_days(
    draws: _Draws, stream: str, index: np.ndarray, mean: np.ndarray
) -> np.ndarray:
    u = draws.uniform(stream, index)
    return np.minimum(7 + np.floor(-np.log1p(-u) * mean), 365).astype(np.int64)


def _build_episodes(config: MarketConfig, draws: _Draws, props: _Properties) -> _Episodes:
    """Each listed home's life on the portals, from added to completed or withdrawn."""
    columns = _in_chunks(config.listings, lambda e: _episode_columns(config, draws, props, e))
    return _Episodes(**columns)


def _episode_columns(
    config: MarketConfig, draws: _Draws, props: _Properties, e: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(e)
    start, end = config.history_start.toordinal(), config.history_end.toordinal()
    listed = draws.integers("listed", e, start, end)
    deal = draws.uniform("deal", e) < config.deal_share
    flags = _seller_flags(draws, e, props, e, deal.astype(np.float64))

    markup = np.where(
        deal, 0.72 + 0.18 * draws.uniform("markup", e), 1.0 + 0.12 * draws.uniform("markup", e)
    )
    tilt = _region_tilt(props.place[e])
    asking = props.value[e] * _price_index(listed, tilt) * markup * _defect_factor(props, e)
    shave = np.where(draws.uniform("shave", e) < 0.2, 50, 0)

    stubborn = _has(flags, "cash_buyers_only")
    mean_days = np.select([deal, stubborn], [25.0, 110.0], 70.0)
    first_run = _exponential_days(draws, "first-run", e, mean_days)
    withdrawn = draws.uniform("withdrawn", e) < np.where(deal, 0.1, config.withdrawn_share)
    relisted = withdrawn & (draws.uniform("relisted", e) < config.relist_share)

    # Homes that end up withdrawn are the ones whose sellers kept cutting.
    u_cuts = draws.uniform("cuts", e)
    cuts = np.where(
        withdrawn,
        np.searchsorted([0.30, 0.65, 0.90], u_cuts, side="right"),
        np.searchsorted([0.55, 0.82, 0.95], u_cuts, side="right"),
    )
    cuts = np.where(first_run < 21, 0, np.where(relisted, np.minimum(cuts, 2), cuts))

    prices = np.zeros((n, 4), dtype=np.int64)
    price_days = np.full((n, 4), _BIG, dtype=np.int64)
    prices[:, 0] = _round_asking(asking)
    price_days[:, 0] = listed
    for k in range(3):
        cut = 0.03 + 0.06 * draws.uniform(f"cut-{k}", e)
        active = k < cuts
        price_days[:, k + 1] = np.where(active, listed + first_run * (k + 1) // (cuts + 1), _BIG)
        prices[:, k + 1] = np.where(active, _round_asking(prices[:, k] * (1 - cut)), prices[:, k])
    last_price = prices[np.arange(n), cuts]

    withdrawn_on = np.where(withdrawn, listed + first_run, _BIG)
    relisted_on = np.where(relisted, withdrawn_on + draws.integers("gap", e, 14, 210), _BIG)
    relist_price = _round_asking(last_price * (0.97 - 0.06 * draws.uniform("relist-cut", e)))
    second_run = _exponential_days(draws, "second-run", e, np.full(n, 45.0))
    sold = ~withdrawn | (relisted & (draws.uniform("second-sold", e) < 0.8))
    offer_day = np.where(relisted, relisted_on + second_run, listed + first_run)
    straight_to_stc = draws.uniform("straight-stc", e) < 0.4
    sold_stc = offer_day + np.where(straight_to_stc, 0, draws.integers("stc-delay", e, 3, 21))
    completion = sold_stc + draws.integers("completion", e, 42, 140)
    final_end = np.where(sold, completion, np.where(relisted, offer_day, withdrawn_on))
    final_price = np.where(relisted, relist_price, last_price)
    haggle = np.where(
        deal, 0.97 + 0.05 * draws.uniform("haggle", e), 0.9 + 0.1 * draws.uniform("haggle", e)
    )

    portal = draws.uniform("portals", e)
    both = portal < config.both_portals_share
    zoopla_only = (portal >= config.both_portals_share) & (
        portal < config.both_portals_share + config.zoopla_only_share
    )
    days = {
        "listed": listed,
        "price_days": price_days,
        "withdrawn_on": withdrawn_on,
        "relisted_on": relisted_on,
        "under_offer": np.where(sold, offer_day, _BIG),
        "sold_stc": np.where(sold, sold_stc, _BIG),
        "final_end": final_end,
        "zoopla_lag": draws.integers("zoopla-lag", e, 0, 3),
    }
    pounds = {
        "prices": prices - shave[:, None],
        "relist_price": relist_price - shave,
        "sale_price": _round_to(final_price * haggle, 500),
    }
    return {
        **{name: values.astype(np.int32) for name, values in {**days, **pounds}.items()},
        "sold": sold,
        "flags": flags,
        "on_rightmove": ~zoopla_only,
        "on_zoopla": both | zoopla_only,
        "zoopla_rounds": draws.uniform("zoopla-rounds", e) < 0.3,
    }


def _build_lots(
    config: MarketConfig, draws: _Draws, props: _Properties, plans: list[_AuctionPlan]
) -> _Lots:
    """Every auction lot: when it joins its catalogue, its guide and how the sale went."""
    n_lots = sum(plan.lot_count for plan in plans)
    lot = np.arange(n_lots, dtype=np.int64)
    q = config.listings + lot
    starts = np.array([plan.lot_start for plan in plans], dtype=np.int64)
    plan = np.searchsorted(starts, lot, side="right") - 1
    sale_day = np.array([p.auction.auction_date.toordinal() for p in plans], dtype=np.int64)[plan]
    added = sale_day - draws.integers("lot-added", lot, 7, _CATALOGUE_LEAD_DAYS)

    tilt = _region_tilt(props.place[q])
    keen = draws.uniform("lot-keen", lot) < 0.3
    guide = props.value[q] * _price_index(added, tilt) * _defect_factor(props, q)
    guide_lower = _round_to(guide * (0.72 + 0.18 * draws.uniform("guide", lot)), 5000)
    ranged = draws.uniform("guide-range", lot) < 0.3
    guide_upper = np.where(ranged, _round_to(guide_lower * 1.1, 5000), guide_lower)

    outcome = draws.choice("lot-outcome", lot, (8, 7, 3, 62, 20))
    before = draws.integers("lot-early", lot, 1, 5)
    outcome_day = np.select(
        [outcome == 0, outcome == 1, outcome == 2],
        [sale_day - before, sale_day - before, sale_day - 2],
        sale_day,
    )
    premium = np.where(
        outcome == 0,
        1.0 + 0.2 * draws.uniform("premium", lot),
        0.95 + 0.5 * draws.uniform("premium", lot),
    )
    investment = props.kind[q] >= _BLOCK
    tenancy = np.where(
        investment,
        draws.choice("tenancy", lot, (15, 60, 25)),
        draws.choice("tenancy", lot, (75, 20, 5)),
    )
    rent = np.where(
        tenancy > 0, _round_to(guide_lower * (0.06 + 0.04 * draws.uniform("rent", lot)), 100), 0
    )
    return _Lots(
        plan=plan,
        added=added.astype(np.int32),
        outcome=outcome,
        outcome_day=outcome_day.astype(np.int32),
        guide_lower=guide_lower.astype(np.int32),
        guide_upper=guide_upper.astype(np.int32),
        sold_price=_round_to(guide_lower * premium, 500).astype(np.int32),
        tenancy=tenancy,
        rent=rent,
        flags=_seller_flags(draws, q, props, q, keen.astype(np.float64)),
        on_rightmove=draws.uniform("lot-on-rightmove", lot) < config.lots_on_rightmove_share,
    )


_KEPT_ADVERT_DAYS = 98  # Rightmove keeps the "added" date when a home returns within 14 weeks


def _portal_adverts(ep: _Episodes) -> list[dict[str, np.ndarray]]:
    """Advert rows of the portal listings: first runs, kept adverts and relists under new ids."""
    relisted = ep.relisted_on < _BIG
    kept = relisted & (ep.relisted_on - ep.withdrawn_on <= _KEPT_ADVERT_DAYS)
    return [
        _first_run_rows(ep, np.nonzero(ep.on_rightmove)[0], _RM, kept),
        _relist_rows(ep, np.nonzero(ep.on_rightmove & relisted & ~kept)[0], _RM),
        _first_run_rows(ep, np.nonzero(ep.on_zoopla)[0], _ZP, np.zeros_like(kept)),
        _relist_rows(ep, np.nonzero(ep.on_zoopla & relisted)[0], _ZP),
    ]


def _zoopla_prices(ep: _Episodes, e: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """Zoopla shows some agents' prices rounded to the nearest £5,000."""
    rounded = _round_to(prices, 5000).astype(np.int32)
    return np.where(ep.zoopla_rounds[e][:, None], rounded, prices)


def _first_run_rows(
    ep: _Episodes, e: np.ndarray, source: int, kept: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(e)
    lag = ep.zoopla_lag[e] if source == _ZP else np.zeros(n, dtype=np.int32)
    kept = kept[e]
    # The advert that ends in the sale shows the offer; a run ended by withdrawal does not.
    holds_sale = (ep.relisted_on[e] == _BIG) | kept
    days = ep.price_days[e]
    days[:, 0] += lag
    prices = ep.prices[e] if source == _RM else _zoopla_prices(ep, e, ep.prices[e])
    rows = np.nonzero(kept)[0]
    slot = (days[rows] < _BIG).sum(axis=1)
    days[rows, slot] = ep.relisted_on[e[rows]]
    prices[rows, slot] = ep.relist_price[e[rows]]
    never = np.full(n, _BIG, dtype=np.int32)
    return {
        "source": np.full(n, source, dtype=np.int8),
        "episode": e.astype(np.int32),
        "phase": np.zeros(n, dtype=np.int8),
        "start": ep.listed[e] + lag,
        "end": np.where(holds_sale, ep.final_end[e], ep.withdrawn_on[e]),
        "gap_start": np.where(kept, ep.withdrawn_on[e], never),
        "gap_end": np.where(kept, ep.relisted_on[e], never),
        "shown": ep.listed[e] + lag,
        "under_offer": np.where(holds_sale, ep.under_offer[e], never),
        "sold_stc": np.where(holds_sale, ep.sold_stc[e], never),
        "price_days": days,
        "prices": prices,
    }


def _relist_rows(ep: _Episodes, e: np.ndarray, source: int) -> dict[str, np.ndarray]:
    n = len(e)
    lag = ep.zoopla_lag[e] if source == _ZP else np.zeros(n, dtype=np.int32)
    start = ep.relisted_on[e] + lag
    days = np.full((n, 4), _BIG, dtype=np.int32)
    days[:, 0] = start
    prices = np.repeat(ep.relist_price[e][:, None], 4, axis=1)
    if source == _ZP:
        prices = _zoopla_prices(ep, e, prices)
    never = np.full(n, _BIG, dtype=np.int32)
    return {
        "source": np.full(n, source, dtype=np.int8),
        "episode": e.astype(np.int32),
        "phase": np.ones(n, dtype=np.int8),
        "start": start,
        "end": ep.final_end[e],
        "gap_start": never,
        "gap_end": never,
        "shown": start,
        "under_offer": ep.under_offer[e],
        "sold_stc": ep.sold_stc[e],
        "price_days": days,
        "prices": prices,
    }


def _lot_adverts(
    config: MarketConfig, lots: _Lots, plans: list[_AuctionPlan]
) -> list[dict[str, np.ndarray]]:
    """Advert rows of auction lots: one per catalogue entry, plus the Rightmove adverts."""
    n = len(lots.plan)
    house = np.array([AUCTION_HOUSES.index(p.auction.house) for p in plans])[lots.plan]
    never = np.full(n, _BIG, dtype=np.int32)
    days = np.full((n, 4), _BIG, dtype=np.int32)
    days[:, 0] = lots.added
    sold = (lots.outcome == 0) | (lots.outcome == 3)
    catalogue = {
        "source": np.where(house == 0, _ALLSOP, _AH).astype(np.int8),
        "episode": (config.listings + np.arange(n)).astype(np.int32),
        "phase": np.zeros(n, dtype=np.int8),
        "start": lots.added,
        "end": lots.outcome_day,
        "gap_start": never,
        "gap_end": never,
        "shown": lots.added,
        "under_offer": never,
        "sold_stc": never,
        "price_days": days,
        "prices": np.repeat(lots.guide_lower[:, None], 4, axis=1),
    }
    # A lot advertised on Rightmove shows sold STC from the hammer until completion.
    rightmove = {
        **catalogue,
        "source": np.full(n, _RM, dtype=np.int8),
        "end": np.where(sold, lots.outcome_day + 28, lots.outcome_day + 1),
        "under_offer": np.where(sold, lots.outcome_day, never),
        "sold_stc": np.where(sold, lots.outcome_day, never),
    }
    on_rightmove = {name: values[lots.on_rightmove] for name, values in rightmove.items()}
    return [catalogue, on_rightmove]


def _build_adverts(parts: list[dict[str, np.ndarray]], props: _Properties) -> _Adverts:
    """Stack every advert row and sort them so a (source, place) search reads one slice."""

    def stacked(name: str) -> np.ndarray:
        return np.concatenate([part[name] for part in parts])

    # Episode e markets property e and lot l is property listings + l: episode indexes props.
    episode = stacked("episode")
    order = np.lexsort((stacked("start"), props.place[episode], stacked("source")))
    episode = episode[order]

    def column(name: str, dtype: type) -> np.ndarray:
        return stacked(name)[order].astype(dtype, copy=False)

    return _Adverts(
        source=column("source", np.int8),
        place=props.place[episode],
        kind=props.kind[episode],
        bedrooms=props.bedrooms[episode],
        episode=episode.astype(np.int32),
        phase=column("phase", np.int8),
        start=column("start", np.int32),
        end=column("end", np.int32),
        gap_start=column("gap_start", np.int32),
        gap_end=column("gap_end", np.int32),
        shown=column("shown", np.int32),
        under_offer=column("under_offer", np.int32),
        sold_stc=column("sold_stc", np.int32),
        price_days=column("price_days", np.int32),
        prices=column("prices", np.int32),
    )


# ---------------------------------------------------------------------------------------------
# Sold prices and certificates


def _history_limit(
    config: MarketConfig, props: _Properties, ep: _Episodes, lots: _Lots
) -> np.ndarray:
    """The last day a home can have changed hands before its marketing in the history."""
    limit = np.full(len(props.group), config.history_end.toordinal(), dtype=np.int32)
    limit[: config.listings] = ep.listed - 200
    limit[config.listings : config.listings + len(lots.plan)] = lots.added - 200
    return limit


_FIRST_OF_YEAR = np.array([dt.date(y, 1, 1).toordinal() for y in range(1800, 2031)])


def _earlier_sales(
    draws: _Draws, props: _Properties, limit: np.ndarray, q: np.ndarray
) -> dict[str, np.ndarray]:
    """Up to three sales of each home between 1995 (or its building) and its marketing."""
    built_on = _FIRST_OF_YEAR[props.year_built[q].astype(np.int64) - 1800]
    lower = np.maximum(_ORDINAL_1995, built_on)
    # New homes still unsold at the start of the history first sell through their listing.
    new_build = (props.year_built[q] >= 2024) & (props.group[q] != _BACKGROUND)
    tilt = _region_tilt(props.place[q])
    columns: dict[str, list[np.ndarray]] = {"key": [], "transfer": [], "price": [], "b": []}
    for slot, odds in enumerate((0.75, 0.45, 0.2)):
        first_sale = (slot == 0) & (built_on >= _ORDINAL_1995)
        upper = np.where(first_sale, np.minimum(limit[q], lower + 365), limit[q])
        u = draws.uniform(f"sale-{slot}", q)
        present = (u < np.where(first_sale, 0.9, odds)) & (upper > lower) & ~new_build
        span = (upper - lower)[present]
        day = lower[present] + np.floor(draws.uniform(f"sale-day-{slot}", q[present]) * span)
        noise = 0.9 + 0.2 * draws.uniform(f"sale-price-{slot}", q[present])
        price = props.value[q[present]] * _price_index(day, tilt[present]) * noise
        odd_sale = draws.uniform(f"sale-b-{slot}", q[present]) < 0.08
        columns["key"].append(q[present] * 4 + slot)
        columns["transfer"].append(day)
        columns["price"].append(_round_to(price, 250))
        columns["b"].append((props.kind[q[present]] >= _BLOCK) | odd_sale)
    return {
        name: np.concatenate(parts).astype(_SALE_DTYPES[name]) for name, parts in columns.items()
    }


_RECORD_STATUSES = ("A", "C", "D")  # Price Paid record status: addition, change, deletion
_SALE_DTYPES = {"key": np.int32, "transfer": np.int32, "price": np.int32, "b": np.bool_}


def _build_sales(
    config: MarketConfig, draws: _Draws, props: _Properties, ep: _Episodes, lots: _Lots
) -> _Sales:
    """Price Paid rows: earlier sales of every home, then sales completing from the history."""
    limit = _history_limit(config, props, ep, lots)
    earlier = _in_chunks(len(props.group), lambda q: _earlier_sales(draws, props, limit, q))

    portal = np.nonzero(ep.sold)[0]
    distressed = _has(ep.flags[portal], "repossession") | _has(ep.flags[portal], "receivership")
    sold_lots = np.nonzero((lots.outcome == 0) | (lots.outcome == 3))[0]
    lot_q = config.listings + sold_lots
    key = np.concatenate([earlier["key"], portal * 4 + 3, lot_q * 4 + 3]).astype(np.int32)
    transfer = np.concatenate(
        [earlier["transfer"], ep.final_end[portal], lots.outcome_day[sold_lots] + 28]
    ).astype(np.int32)
    price = np.concatenate(
        [earlier["price"], ep.sale_price[portal], lots.sold_price[sold_lots]]
    ).astype(np.int32)
    category_b = np.concatenate(
        [
            earlier["b"],
            (props.kind[portal] >= _BLOCK) | distressed,
            (props.kind[lot_q] >= _BLOCK) | _has(lots.flags[sold_lots], "repossession"),
        ]
    )
    del earlier
    order = np.lexsort((key, transfer))
    key, transfer, price, category_b = key[order], transfer[order], price[order], category_b[order]
    lodged = (transfer + draws.integers("lodged", key, 14, 56)).astype(np.int32)

    # A few rows are corrected or deleted by a later monthly file; keep only those, sparsely.
    u = draws.uniform("ppd-change", key)
    changed = np.nonzero(u < 0.05)[0]
    kind = np.where(u[changed] < 0.03, 1, 2).astype(np.int8)
    change_key = key[changed]
    corrected = _round_to(
        price[changed] * (0.95 + 0.1 * draws.uniform("corrected", change_key)), 500
    )
    return _Sales(
        key=key,
        transfer=transfer,
        price=price,
        category_b=category_b,
        lodged=lodged,
        change_rows=changed,
        change=kind,
        change_lodged=(
            lodged[changed] + draws.integers("change-lodged", change_key, 30, 330)
        ).astype(np.int32),
        corrected_price=np.where(corrected == price[changed], corrected + 1000, corrected).astype(
            np.int32
        ),
    )


_MIDYEAR = np.array([dt.date(y, 6, 1).toordinal() for y in range(1800, 2031)])


def _build_certificates(
    config: MarketConfig, draws: _Draws, props: _Properties, ep: _Episodes, lots: _Lots
) -> _Certificates:
    """EPCs: an older one for most dwellings, and a fresh one lodged when a home is marketed."""
    total = len(props.group)
    limit = _history_limit(config, props, ep, lots)
    marketed = np.full(total, _BIG, dtype=np.int32)
    marketed[: config.listings] = ep.listed
    marketed[config.listings : config.listings + len(lots.plan)] = lots.added
    # Keys grow with the property index, so chunks sorted on their own stay sorted once stacked.
    columns = _in_chunks(total, lambda q: _certificate_columns(draws, props, limit, marketed, q))
    return _Certificates(**columns)


def _certificate_columns(
    draws: _Draws, props: _Properties, limit: np.ndarray, marketed: np.ndarray, q: np.ndarray
) -> dict[str, np.ndarray]:
    # Blocks and shops are not dwellings: their flats carry the certificates, one per flat.
    owner, unit = _dwellings(props, q)
    dwelling = owner * 16 + unit

    latest_allowed = limit[owner].astype(np.int64) + 140
    lower = np.maximum(_EPC_START, _MIDYEAR[props.year_built[owner].astype(np.int64) - 1800])
    has_old = (draws.uniform("epc-old", dwelling) < 0.85) & (latest_allowed > lower)
    spread = draws.uniform("epc-old-day", dwelling) * (latest_allowed - lower)
    old_day = lower + np.floor(spread).astype(np.int64)

    market_day = marketed[owner].astype(np.int64)
    stale = ~has_old | (market_day - old_day > 3650)
    wanted = draws.uniform("epc-new", dwelling) < 0.9
    has_new = (market_day < _BIG) & (unit == 0) & stale & wanted
    new_day = market_day - draws.integers("epc-new-day", dwelling, 7, 45)

    jitter = np.where(unit > 0, draws.integers("epc-unit", dwelling, -5, 5), 0)
    latest = np.clip(props.epc_score[owner] + jitter, 1, 97)
    older = np.where(has_new, latest - draws.integers("epc-older", dwelling, 0, 10), latest)
    potential = np.maximum(props.epc_potential[owner], latest)
    flat_area = _flat_area(_unit_bedrooms(props, owner, unit))
    area = np.where(unit > 0, flat_area, props.floor_area[owner])
    area_old = area + np.where(has_new, draws.integers("epc-area", dwelling, -3, 3), 0)

    key = np.concatenate([(dwelling * 4)[has_old], (dwelling * 4 + 1)[has_new]])
    order = np.argsort(key)

    def stacked(old: np.ndarray, new: np.ndarray, dtype: type) -> np.ndarray:
        return np.concatenate([old[has_old], new[has_new]])[order].astype(dtype)

    return {
        "key": key[order],
        "lodged": stacked(old_day, new_day, np.int32),
        "score": stacked(np.clip(older, 1, 97), latest, np.int8),
        "potential": stacked(potential, potential, np.int8),
        "floor_area": stacked(area_old, area, np.int16),
    }


def _unit_bedrooms(props: _Properties, q: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Bedrooms of flat `unit` (1-based) in a block: studios first, then one- and two-beds."""
    studios = props.studios[q].astype(np.int64)
    two_from = props.units[q].astype(np.int64) - props.two_beds[q] + 1
    return np.select([unit <= studios, unit >= two_from], [0, 2], 1)


def _flat_area(bedrooms: np.ndarray | int) -> np.ndarray | int:
    return 28 + 21 * bedrooms


@functools.cache
def _band(score: int) -> str:
    for floor, band in ((92, "A"), (81, "B"), (69, "C"), (55, "D"), (39, "E"), (21, "F")):
        if score >= floor:
            return band
    return "G"


_AGE_BANDS = (
    (1899, "before 1900"),
    (1929, "1900-1929"),
    (1949, "1930-1949"),
    (1966, "1950-1966"),
    (1975, "1967-1975"),
    (1982, "1976-1982"),
    (1990, "1983-1990"),
    (1995, "1991-1995"),
    (2002, "1996-2002"),
    (2006, "2003-2006"),
    (2011, "2007-2011"),
)


def _age_band(year: int) -> str:
    for last, label in _AGE_BANDS:
        if year <= last:
            return f"England and Wales: {label}"
    return "England and Wales: 2012 onwards"


def _phone(draws: _Draws, dialling_code: str, index: int) -> str:
    digits = 11 - len(dialling_code)
    number = str(int(draws.integers("phone", index, 2 * 10 ** (digits - 1), 10**digits - 1)))
    if dialling_code == "020":
        # London numbers start 3, 7 or 8 after the area code.
        number = "378"[int(number) % 3] + number[1:]
    if digits == 8:
        return f"{dialling_code} {number[:4]} {number[4:]}"
    if digits == 7:
        return f"{dialling_code} {number[:3]} {number[3:]}"
    return f"{dialling_code} {number}"


# ---------------------------------------------------------------------------------------------
# The market


class Market:
    """The synthetic market: listings, auctions, sold prices and EPCs as they stand on any day.

    Build one per process and share it; every query is read-only and cached. Days before
    `history_start` show no listings; sold-price and EPC history reaches back to 1995 and 2008.
    """

    def __init__(self, config: MarketConfig | None = None) -> None:
        self.config = config or MarketConfig()
        draws = _Draws(self.config.seed)
        self._draws = draws
        self._plans = _auction_calendar(self.config, draws)
        n_lots = sum(plan.lot_count for plan in self._plans)
        self._props = _build_properties(self.config, draws, self._plans, n_lots)
        episodes = _build_episodes(self.config, draws, self._props)
        self._lots = _build_lots(self.config, draws, self._props, self._plans)
        parts = _portal_adverts(episodes) + _lot_adverts(self.config, self._lots, self._plans)
        self._adverts = _build_adverts(parts, self._props)
        del parts
        self._sales = _build_sales(self.config, draws, self._props, episodes, self._lots)
        self._certs = _build_certificates(self.config, draws, self._props, episodes, self._lots)
        # Adverts, sales and certificates now hold the episodes' story; keep only the signals.
        self._episode_flags = episodes.flags
        del episodes
        self._index_lookups()
        self._search_cache: _Lru[tuple[object, ...], np.ndarray] = _Lru(
            self.config.search_cache_size
        )
        self._sales_cache: _Lru[int, np.ndarray] = _Lru(8)
        self._property_cache: _Lru[tuple[int, int], Property] = _Lru(16_384)
        # Per home: -1 until first needed, then bit 0 "building named", bit 1 "locality shown".
        self._address_bits = np.full(len(self._props.group), -1, dtype=np.int8)
        self._listing_cache: _Lru[tuple[int, int], Listing] = _Lru(8_192)

    def _index_lookups(self) -> None:
        adverts = self._adverts
        keys = 2 * (self.config.listings + len(self._lots.plan))
        self._row_of_key = {}
        for source in (_RM, _ZP):
            rows = np.nonzero(adverts.source == source)[0]
            table = np.full(keys, -1, dtype=np.int32)
            table[2 * adverts.episode[rows].astype(np.int64) + adverts.phase[rows]] = rows
            self._row_of_key[source] = table
        lot_rows = np.nonzero(adverts.source >= _ALLSOP)[0]
        self._lot_row = np.full(len(self._lots.plan), -1, dtype=np.int32)
        self._lot_row[adverts.episode[lot_rows] - self.config.listings] = lot_rows
        group = adverts.source.astype(np.int64) * len(PLACES) + adverts.place
        self._group_bounds = np.searchsorted(group, np.arange(len(SOURCES) * len(PLACES) + 1))
        self._streets_per_place = np.zeros(len(PLACES), dtype=np.int64)
        np.maximum.at(self._streets_per_place, self._props.place, self._props.street + 1)
        self._by_outcode = {p.location.outcode: i for i, p in enumerate(PLACES)}
        self._by_rightmove_id = {p.location.rightmove_id: i for i, p in enumerate(PLACES)}
        self._by_zoopla_slug = {p.location.zoopla_slug: i for i, p in enumerate(PLACES)}
        self._auction_by_id = {plan.auction.auction_id: i for i, plan in enumerate(self._plans)}
        is_allsop = np.array([plan.auction.house == "allsop" for plan in self._plans])
        allsop_lots = np.nonzero(is_allsop[self._lots.plan])[0]
        self._allsop_lot_by_id = dict(
            zip(self._allsop_lot_ids(allsop_lots), allsop_lots.tolist(), strict=True)
        )

    # -- locations -----------------------------------------------------------------------------

    def locations(self) -> tuple[Location, ...]:
        """Every searchable outcode, in a stable order."""
        return tuple(place.location for place in PLACES)

    def location(
        self,
        *,
        outcode: str | None = None,
        rightmove_id: str | None = None,
        zoopla_slug: str | None = None,
    ) -> Location | None:
        """The outcode a portal identifier names, or None when the market has no such place."""
        index = self._place_index(outcode, rightmove_id, zoopla_slug)
        return None if index is None else PLACES[index].location

    def _place_index(
        self, outcode: str | None, rightmove_id: str | None, zoopla_slug: str | None
    ) -> int | None:
        if outcode is not None:
            return self._by_outcode.get(outcode.strip().upper())
        if rightmove_id is not None:
            return self._by_rightmove_id.get(rightmove_id.strip().upper())
        if zoopla_slug is not None:
            return self._by_zoopla_slug.get(zoopla_slug.strip().strip("/").lower())
        raise ValueError("Market.location needs one of outcode, rightmove_id or zoopla_slug")

    # -- listings ------------------------------------------------------------------------------

    def search(
        self,
        day: dt.date,
        source: str,
        *,
        outcode: str | None = None,
        min_price: int | None = None,
        max_price: int | None = None,
        property_types: Iterable[str] | None = None,
        min_bedrooms: int | None = None,
        max_bedrooms: int | None = None,
        sort: str = "newest",
    ) -> Sequence[Listing]:
        """Every advert live on `source` on `day` that matches, in `sort` order; slice to page.

        Live means available, under offer or sold STC (for auction sources: lots still
        available). An unknown outcode matches nothing, like a portal's empty result page.
        """
        source_index = _source_index(source)
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; expected one of {', '.join(SORTS)}")
        kinds = _kind_indices(property_types)
        key = (
            day,
            source_index,
            outcode,
            min_price,
            max_price,
            kinds,
            min_bedrooms,
            max_bedrooms,
            sort,
        )

        def run() -> np.ndarray:
            rows = self._search_rows(
                day.toordinal(),
                source_index,
                outcode,
                (min_price, max_price),
                kinds,
                (min_bedrooms, max_bedrooms),
                sort,
            )
            rows.flags.writeable = False
            return rows

        rows = self._search_cache.get_or_build(key, run)
        ordinal = day.toordinal()
        return _Records(rows, _one_by_one(lambda row: self._listing_at(row, ordinal)))

    def _search_rows(
        self,
        day: int,
        source: int,
        outcode: str | None,
        price_range: tuple[int | None, int | None],
        kinds: tuple[int, ...] | None,
        bedroom_range: tuple[int | None, int | None],
        sort: str,
    ) -> np.ndarray:
        if outcode is None:
            first = source * len(PLACES)
            lo, hi = self._group_bounds[first], self._group_bounds[first + len(PLACES)]
        else:
            place = self._by_outcode.get(outcode.strip().upper())
            if place is None:
                return np.empty(0, dtype=np.int64)
            group = source * len(PLACES) + place
            lo, hi = self._group_bounds[group], self._group_bounds[group + 1]
        a = self._adverts
        live = (a.start[lo:hi] <= day) & (day < a.end[lo:hi])
        live &= ~((a.gap_start[lo:hi] <= day) & (day < a.gap_end[lo:hi]))
        rows = np.nonzero(live)[0] + lo
        prices = self._prices_on(rows, day)
        keep = np.ones(len(rows), dtype=bool)
        if price_range[0] is not None:
            keep &= prices >= price_range[0]
        if price_range[1] is not None:
            keep &= prices <= price_range[1]
        if kinds is not None:
            keep &= np.isin(a.kind[rows], kinds)
        if bedroom_range[0] is not None:
            keep &= a.bedrooms[rows] >= bedroom_range[0]
        if bedroom_range[1] is not None:
            keep &= a.bedrooms[rows] <= bedroom_range[1]
        rows, prices = rows[keep], prices[keep]
        shown = a.shown[rows].astype(np.int64)
        order = {
            "newest": lambda: np.lexsort((rows, -shown)),
            "oldest": lambda: np.lexsort((rows, shown)),
            "price_low": lambda: np.lexsort((rows, -shown, prices)),
            "price_high": lambda: np.lexsort((rows, -shown, -prices)),
        }[sort]()
        return rows[order]

    def _prices_on(self, rows: np.ndarray, day: int) -> np.ndarray:
        days = self._adverts.price_days[rows]
        prices = self._adverts.prices[rows].astype(np.int64)
        current = prices[:, 0].copy()
        for k in range(1, 4):
            current = np.where(days[:, k] <= day, prices[:, k], current)
        return current

    def listing(self, source: str, source_id: str, day: dt.date) -> Listing | None:
        """One advert as it stands on `day`; None when the id is unknown or not live that day.

        Auction lots stay readable from the day they join a catalogue, results included.
        """
        source_index = _source_index(source)
        row = self._row_for_id(source_index, str(source_id).strip())
        if row is None:
            return None
        ordinal = day.toordinal()
        a = self._adverts
        if source_index >= _ALLSOP:
            if ordinal < a.start[row]:
                return None
        elif not (a.start[row] <= ordinal < a.end[row]) or (
            a.gap_start[row] <= ordinal < a.gap_end[row]
        ):
            return None
        return self._listing_at(row, ordinal)

    def _row_for_id(self, source: int, source_id: str) -> int | None:
        if source == _ALLSOP:
            lot = self._allsop_lot_by_id.get(source_id.lower())
            return None if lot is None else int(self._lot_row[lot])
        if not source_id.isdigit():
            return None
        number = int(source_id)
        if source == _AH:
            base, multiplier, offset = _AUCTIONHOUSE_ID
            if not 0 <= number - base < _AUCTIONHOUSE_SPACE:
                return None
            lot = _affine_inverse(number - base, multiplier, offset, _AUCTIONHOUSE_SPACE)
            if lot >= len(self._lots.plan) or self._ah_lot_id(lot) != source_id:
                return None
            return int(self._lot_row[lot])
        base, multiplier, offset = _RIGHTMOVE_ID if source == _RM else _ZOOPLA_ID
        if not 0 <= number - base < _ID_SPACE:
            return None
        key = _affine_inverse(number - base, multiplier, offset, _ID_SPACE)
        table = self._row_of_key[source]
        if key >= len(table) or table[key] < 0:
            return None
        return int(table[key])

    def _source_id(self, row: int) -> str:
        a = self._adverts
        source = int(a.source[row])
        if source in (_RM, _ZP):
            base, multiplier, offset = _RIGHTMOVE_ID if source == _RM else _ZOOPLA_ID
            key = 2 * int(a.episode[row]) + int(a.phase[row])
            return str(base + _affine(key, multiplier, offset, _ID_SPACE))
        lot = int(a.episode[row]) - self.config.listings
        return self._allsop_lot_id(lot) if source == _ALLSOP else self._ah_lot_id(lot)

    def _allsop_lot_id(self, lot: int) -> str:
        return self._allsop_lot_ids(np.array([lot]))[0]

    def _allsop_lot_ids(self, lots: np.ndarray) -> list[str]:
        highs = self._draws.bits("allsop-lot-high", lots).tolist()
        lows = self._draws.bits("allsop-lot-low", lots).tolist()
        return [
            str(uuid.UUID(int=(high << 64) | low, version=1))
            for high, low in zip(highs, lows, strict=True)
        ]

    def _ah_lot_id(self, lot: int) -> str:
        base, multiplier, offset = _AUCTIONHOUSE_ID
        return str(base + _affine(lot, multiplier, offset, _AUCTIONHOUSE_SPACE))

    def signals(self, listing: Listing) -> frozenset[str]:
        """The facts an advert's text was written from (ground truth for testing parsers)."""
        row = self._row_for_id(_source_index(listing.source), listing.source_id)
        if row is None:
            raise ValueError(f"{listing.source} advert {listing.source_id!r} is not in this market")
        return self._signals(row)

    def _signals(self, row: int) -> frozenset[str]:
        a = self._adverts
        episode = int(a.episode[row])  # also the index of the advertised property
        if episode < self.config.listings:
            bits = int(self._episode_flags[episode])
        else:
            bits = int(self._lots.flags[episode - self.config.listings])
        bits |= int(self._props.flags[episode])
        names = {name for name, bit in _SIGNAL_BIT.items() if bits & bit}
        advert_key = 2 * episode + int(a.phase[row])
        if a.phase[row] == 1 and self._draws.uniform("back-on-market", advert_key) < 0.6:
            names.add("back_on_market")
        return frozenset(names)

    def _listing_at(self, row: int, day: int) -> Listing:
        return self._listing_cache.get_or_build((row, day), lambda: self._build_listing(row, day))

    def _build_listing(self, row: int, day: int) -> Listing:
        a = self._adverts
        source = int(a.source[row])
        episode = int(a.episode[row])  # also the index of the advertised property
        prop = self._property(episode)
        history = self._price_history(row, day)
        lot = (
            self._auction_lot(episode - self.config.listings, day)
            if episode >= self.config.listings
            else None
        )
        text_key = (2 * episode + int(a.phase[row])) * 4 + source
        signals = self._signals(row)
        advert = phrasing.Advert(
            property=prop,
            source=SOURCES[source],
            signals=signals,
            listed_year=dt.date.fromordinal(int(a.shown[row])).year,
            area=PLACES[int(a.place[row])].area,
            unit_beds=self._unit_beds(episode),
            shared_ownership_pct=int(self._props.share_pct[episode]) or None,
            tenancy=None if lot is None else lot.tenancy,
        )
        text = phrasing.write_listing(self._draws.rng("text", text_key), advert)
        agent, phone = self._agent(row, episode, source, prop)
        return Listing(
            source=SOURCES[source],
            source_id=self._source_id(row),
            property=prop,
            as_of=dt.date.fromordinal(day),
            title=text.title,
            summary=text.summary,
            description=text.description,
            key_features=text.key_features,
            price=history[-1].price,
            price_qualifier=self._qualifier(episode, source, prop, lot),
            first_listed=dt.date.fromordinal(int(a.shown[row])),
            price_history=history,
            status=self._status(row, day, lot),
            agent_name=agent,
            agent_phone=phone,
            image_count=int(self._draws.integers("images", text_key, 4, 30)),
            auction=lot,
        )

    def _price_history(self, row: int, day: int) -> tuple[PriceChange, ...]:
        a = self._adverts
        changes: list[PriceChange] = []
        for changed_on, price in zip(a.price_days[row], a.prices[row], strict=True):
            if changed_on > day and changes:
                break
            if changes and changes[-1].price == price:
                continue
            changes.append(PriceChange(dt.date.fromordinal(int(changed_on)), int(price)))
        return tuple(changes)

    def _status(self, row: int, day: int, lot: AuctionLot | None) -> str:
        if lot is not None and self._adverts.source[row] >= _ALLSOP:
            return {"Sold": "sold", "Sold Prior": "sold", "Withdrawn": "withdrawn"}.get(
                lot.lot_status, "available"
            )
        a = self._adverts
        if day >= a.end[row] or a.gap_start[row] <= day < a.gap_end[row]:
            return "sold" if a.sold_stc[row] < _BIG else "withdrawn"
        if day >= a.sold_stc[row]:
            return "sold_stc"
        if day >= a.under_offer[row]:
            return "under_offer"
        return "available"

    def _qualifier(self, episode: int, source: int, prop: Property, lot: AuctionLot | None) -> str:
        if lot is not None:
            return "guide"
        investment = prop.property_type in ("block_of_flats", "hmo", "mixed_use")
        odds = (25, 30, 20, 15, 0, 10) if investment else (45, 10, 25, 15, 0, 2)
        if prop.new_build:
            odds = (40, 0, 0, 0, 60, 0)
        pick = int(self._draws.choice("qualifier", episode * 4 + source, odds))
        return ("fixed", "guide", "offers_over", "offers_in_region_of", "from", "poa")[pick]

    def _agent(self, row: int, episode: int, source: int, prop: Property) -> tuple[str, str]:
        """Who runs the advert: the auction house for lots, else one of the place's agents."""
        place_index = int(self._adverts.place[row])
        place = PLACES[place_index]
        if episode >= self.config.listings:
            auction = self._plans[int(self._lots.plan[episode - self.config.listings])].auction
            if auction.house == "allsop":
                return "Allsop", _phone(self._draws, "020", 0)
            name = f"Auction House {_AUCTIONHOUSE_DISPLAY[auction.branch]}"
            return name, _phone(self._draws, place.dialling_code, 1 + place_index)
        brand = int(self._draws.integers("agent", episode, 0, 4))
        # A fifth of homes on both portals are marketed jointly, each agent on its own portal.
        if source == _ZP and self._draws.uniform("joint-agent", episode) < 0.2:
            brand += 1
        brand_index = (place_index * 5 + brand) % len(phrasing.AGENT_BRANDS)
        phone = _phone(self._draws, place.dialling_code, place_index * 64 + brand_index)
        return phrasing.agent_name(brand_index, prop.location.town), phone

    # -- properties ----------------------------------------------------------------------------

    def _unit_beds(self, q: int) -> tuple[int, ...]:
        p = self._props
        if p.kind[q] not in (_BLOCK, _MIXED):
            return ()
        studios, two_beds, units = int(p.studios[q]), int(p.two_beds[q]), int(p.units[q])
        return (0,) * studios + (1,) * (units - studios - two_beds) + (2,) * two_beds

    def _property(self, q: int, unit: int = 0) -> Property:
        return self._property_cache.get_or_build(
            (q, unit), lambda: self._properties(np.array([q]), np.array([unit]))[0]
        )

    def _properties(self, qs: np.ndarray, units: np.ndarray | None = None) -> list[Property]:
        """Homes (unit 0) and flats of blocks (unit 1 on) for many rows at once, uncached.

        Bulk readers call this directly: a Price Paid file names hundreds of thousands of homes
        once or twice each, which would only churn the cache that listing pages rely on.
        """
        qs = np.asarray(qs, dtype=np.int64)
        buildings, which = np.unique(qs, return_inverse=True)
        homes = self._homes(buildings)
        found = [homes[i] for i in which.tolist()]
        if units is None or not units.any():
            return found
        positions, flats = self._flats(qs, np.asarray(units, dtype=np.int64), found)
        for i, flat in zip(positions, flats, strict=True):
            found[i] = flat
        return found

    def _homes(self, qs: np.ndarray) -> list[Property]:
        """Whole buildings: the columns read in one pass, then each home's own draws."""
        column = {name: getattr(self._props, name)[qs].tolist() for name in _HOME_COLUMNS}
        rng = random.Random(0)
        homes = []
        for i, (q, seed) in enumerate(zip(qs.tolist(), self._home_seeds(qs), strict=True)):
            place_index, kind, flags = column["place"][i], column["kind"][i], column["flags"][i]
            place = PLACES[place_index]
            year = column["year_built"][i]
            # Reseeding one generator gives the same numbers as a new one, at half the cost.
            rng.seed(seed)
            named, jitter_lat, jitter_lon, has_locality = _address_draws(
                rng, kind, year, place_index
            )
            paon, saon, street, locality = _address_text(
                place_index, column["street"][i], column["number"][i], kind, named, has_locality
            )
            lease = column["lease"][i] or None
            tenure = TENURES[column["tenure"][i]]
            homes.append(
                Property(
                    property_id=q + 1,
                    paon=paon,
                    saon=saon,
                    street=street,
                    locality=locality,
                    location=place.location,
                    postcode=_postcode(place_index, column["postcode_key"][i]),
                    latitude=round(place.location.latitude + jitter_lat, 6),
                    longitude=round(place.location.longitude + jitter_lon, 6),
                    property_type=PROPERTY_TYPES[kind],
                    bedrooms=column["bedrooms"][i],
                    bathrooms=column["bathrooms"][i],
                    units=column["units"][i],
                    tenure=tenure,
                    lease_years_remaining=lease,
                    ground_rent=_ground_rent(rng, tenure, lease, flags),
                    service_charge=_service_charge(rng, kind, tenure, flags),
                    floor_area_sqm=column["floor_area"][i],
                    year_built=year,
                    new_build=year >= 2024,
                    epc_rating=_band(column["epc_score"][i]),
                    epc_potential=_band(column["epc_potential"][i]),
                    condition=CONDITIONS[column["condition"][i]],
                    market_value=column["value"][i],
                )
            )
        return homes

    def _home_seeds(self, qs: np.ndarray) -> list[int]:
        """The seed of each home's own generator, which draws its address and lease details."""
        return self._draws.bits("property", qs).tolist()

    def _flats(
        self, qs: np.ndarray, units: np.ndarray, buildings: list[Property]
    ) -> tuple[list[int], list[Property]]:
        """Flats of blocks and above shops, as their own EPCs and titles know them.

        Returns the positions in `qs` that name a flat and those flats, each made from the
        building at the same position.
        """
        at = np.nonzero(units > 0)[0]
        q, unit = qs[at], units[at]
        beds = _unit_bedrooms(self._props, q, unit)
        jitter = self._draws.integers("epc-unit", q * 16 + unit, -5, 5)
        score = np.clip(self._props.epc_score[q] + jitter, 1, 97)
        potential = np.maximum(self._props.epc_potential[q], score)
        flats = [
            dataclasses.replace(
                buildings[i],
                property_id=10**12 + (q_i + 1) * 100 + unit_i,
                saon=f"Flat {unit_i}",
                property_type="flat",
                bedrooms=beds_i,
                bathrooms=1,
                units=1,
                ground_rent=None,
                service_charge=None,
                floor_area_sqm=int(_flat_area(beds_i)),
                epc_rating=_band(score_i),
                epc_potential=_band(potential_i),
                market_value=buildings[i].market_value // buildings[i].units,
            )
            for i, q_i, unit_i, beds_i, score_i, potential_i in zip(
                at.tolist(),
                q.tolist(),
                unit.tolist(),
                beds.tolist(),
                score.tolist(),
                potential.tolist(),
                strict=True,
            )
        ]
        return at.tolist(), flats

    # -- auctions ------------------------------------------------------------------------------

    def auctions(self, house: str, day: dt.date) -> Sequence[Auction]:
        """The house's sales whose catalogue is open by `day`, back to 13 weeks before it."""
        if house not in AUCTION_HOUSES:
            raise ValueError(f"unknown auction house {house!r}; expected one of {AUCTION_HOUSES}")
        ordinal = day.toordinal()
        return tuple(
            plan.auction
            for plan in self._plans
            if plan.auction.house == house
            and plan.auction.auction_date.toordinal() - _CATALOGUE_LEAD_DAYS <= ordinal
            and plan.auction.auction_date.toordinal() >= ordinal - 91
        )

    def lots(self, auction_id: str, day: dt.date) -> Sequence[Listing]:
        """The lots of one auction that are in its catalogue on `day`, by lot number."""
        index = self._auction_by_id.get(auction_id)
        if index is None:
            return ()
        plan = self._plans[index]
        lots = np.arange(plan.lot_start, plan.lot_start + plan.lot_count)
        ordinal = day.toordinal()
        visible = lots[self._lots.added[lots] <= ordinal]
        rows = self._lot_row[visible]
        return _Records(rows, _one_by_one(lambda row: self._listing_at(row, ordinal)))

    def _auction_lot(self, lot: int, day: int) -> AuctionLot:
        lots = self._lots
        plan = self._plans[int(lots.plan[lot])]
        outcome = _LOT_OUTCOMES[int(lots.outcome[lot])]
        status = "Available" if day < lots.outcome_day[lot] else _LOT_STATUS[outcome]
        rent = int(lots.rent[lot])
        return AuctionLot(
            auction_id=plan.auction.auction_id,
            auction_reference=plan.auction.reference,
            auction_date=plan.auction.auction_date,
            lot_number=lot - plan.lot_start + 1,
            lot_status=status,
            guide_price_lower=int(lots.guide_lower[lot]),
            guide_price_upper=int(lots.guide_upper[lot]),
            tenancy=_TENANCIES[int(lots.tenancy[lot])],
            current_rent_per_annum=rent or None,
        )

    # -- Price Paid ----------------------------------------------------------------------------

    def sales(self, until: dt.date) -> SaleRecords:
        """The complete Price Paid file as it stood on `until`: lodged rows, changes applied."""
        ordinal = until.toordinal()

        def run() -> np.ndarray:
            s = self._sales
            keep = s.lodged <= ordinal
            deleted = (s.change == 2) & (s.change_lodged <= ordinal)
            keep[s.change_rows[deleted]] = False
            return np.nonzero(keep)[0]

        rows = self._sales_cache.get_or_build(ordinal, run)
        return self._sale_records(
            rows, lambda batch: self._sale_values(batch, 0, ordinal), self._sales.transfer
        )

    def sales_changes(self, year: int, month: int) -> SaleRecords:
        """A monthly change file: rows lodged that month (A), corrections (C), deletions (D)."""
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1-12, got {month}")
        first = dt.date(year, month, 1).toordinal()
        last = dt.date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
        s = self._sales
        added = np.nonzero((s.lodged >= first) & (s.lodged <= last))[0]
        in_month = (s.change_lodged >= first) & (s.change_lodged <= last)
        changed = s.change_rows[in_month & (s.change == 1)]
        deleted = s.change_rows[in_month & (s.change == 2)]
        rows = np.concatenate([added, changed, deleted])
        status = np.repeat(np.arange(3, dtype=np.int8), [len(added), len(changed), len(deleted)])
        # An addition shows the row as first lodged, before any later correction.
        as_of = np.where(status == 0, s.lodged[rows], last)

        def values(positions: np.ndarray) -> tuple[np.ndarray, dict[str, list]]:
            return self._sale_values(rows[positions], status[positions], as_of[positions])

        return self._sale_records(np.arange(len(rows)), values, s.transfer[rows])

    def _sale_records(
        self,
        rows: np.ndarray,
        values: Callable[[np.ndarray], tuple[np.ndarray, dict[str, list]]],
        transfer: np.ndarray,
    ) -> SaleRecords:
        def sales(batch: np.ndarray) -> list[Sale]:
            homes, v = values(batch)
            return [
                Sale(
                    transaction_id=v["transaction_id"][i],
                    price=v["price"][i],
                    transfer_date=v["transfer_date"][i],
                    property=home,
                    ppd_category=v["ppd_category"][i],
                    lodged_on=v["lodged_on"][i],
                    record_status=v["record_status"][i],
                )
                for i, home in enumerate(self._properties(homes))
            ]

        def columns(batch: np.ndarray) -> SaleColumns:
            homes, row_values = values(batch)
            return SaleColumns(**row_values, **self._address_columns(homes))

        return SaleRecords(rows, sales, columns, transfer)

    def _sale_values(
        self, rows: np.ndarray, status: np.ndarray | int, as_of: np.ndarray | int
    ) -> tuple[np.ndarray, dict[str, list]]:
        """The sold home of each row, and the row's own `Sale` values as they read on `as_of`.

        `status` indexes _RECORD_STATUSES; both it and `as_of` may be one value for all rows.
        """
        s = self._sales
        n = len(rows)
        status = np.broadcast_to(np.asarray(status, dtype=np.int8), n)
        as_of = np.broadcast_to(np.asarray(as_of, dtype=np.int64), n)
        price = s.price[rows].astype(np.int64)
        lodged = s.lodged[rows].astype(np.int64)

        # Apply the later corrections, and date a change or deletion by its own lodgement.
        change = np.searchsorted(s.change_rows, rows)
        has_change = change < len(s.change_rows)
        has_change[has_change] = s.change_rows[change[has_change]] == rows[has_change]
        at, change = np.nonzero(has_change)[0], change[has_change]
        corrected = (s.change[change] == 1) & (s.change_lodged[change] <= as_of[at])
        price[at[corrected]] = s.corrected_price[change[corrected]]
        restated = status[at] != 0
        lodged[at[restated]] = s.change_lodged[change[restated]]

        key = s.key[rows].astype(np.int64)
        high = self._draws.bits("ppd-id-high", key)
        low = self._draws.bits("ppd-id-low", key)
        ids = zip(
            (high >> np.uint64(32)).tolist(),
            ((high >> np.uint64(16)) & np.uint64(0xFFFF)).tolist(),
            (high & np.uint64(0xFFFF)).tolist(),
            (low & np.uint64(0xFFFFFFFFFFFF)).tolist(),
            strict=True,
        )
        return key // 4, {
            "transaction_id": [f"{{{a:08X}-{b:04X}-{c:04X}-E063-{d:012X}}}" for a, b, c, d in ids],
            "price": price.tolist(),
            "transfer_date": [dt.date.fromordinal(day) for day in s.transfer[rows].tolist()],
            "ppd_category": ["B" if b else "A" for b in s.category_b[rows].tolist()],
            "lodged_on": [dt.date.fromordinal(day) for day in lodged.tolist()],
            "record_status": [_RECORD_STATUSES[code] for code in status.tolist()],
        }

    def _address_columns(self, qs: np.ndarray) -> dict[str, list]:
        """The `Property` fields a Price Paid row prints, for each of `qs`, without a Property."""
        homes, which = np.unique(qs, return_inverse=True)
        named, has_locality = self._address_choices(homes)
        column = {name: getattr(self._props, name)[homes].tolist() for name in _ADDRESS_COLUMNS}
        addresses = []
        for i, (is_named, shows_locality) in enumerate(
            zip(named.tolist(), has_locality.tolist(), strict=True)
        ):
            place_index, kind, year = column["place"][i], column["kind"][i], column["year_built"][i]
            text = _address_text(
                place_index,
                column["street"][i],
                column["number"][i],
                kind,
                is_named,
                shows_locality,
            )
            addresses.append(
                (
                    *text,
                    PLACES[place_index].location,
                    _postcode(place_index, column["postcode_key"][i]),
                    PROPERTY_TYPES[kind],
                    TENURES[column["tenure"][i]],
                    year,
                    year >= 2024,
                )
            )
        per_row = [addresses[i] for i in which.tolist()]
        return {name: [address[k] for address in per_row] for k, name in enumerate(_ADDRESS_FIELDS)}

    def _address_choices(self, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each home's building is named and whether its locality is printed.

        Seeding a home's generator costs more than anything else in a Price Paid row, so the
        answers are drawn the first time a home is asked for and kept, a byte a home.
        """
        known = self._address_bits[qs]
        missing = np.nonzero(known < 0)[0]
        if len(missing):
            p, todo = self._props, qs[missing]
            rng = random.Random(0)
            drawn = []
            for seed, kind, year, place_index in zip(
                self._home_seeds(todo),
                p.kind[todo].tolist(),
                p.year_built[todo].tolist(),
                p.place[todo].tolist(),
                strict=True,
            ):
                rng.seed(seed)
                named, _, _, has_locality = _address_draws(rng, kind, year, place_index)
                drawn.append(named + 2 * has_locality)
            known[missing] = drawn
            # Threads may race to fill a home; they write the same byte.
            self._address_bits[todo] = known[missing]
        return (known & 1) > 0, (known & 2) > 0

    # -- EPC -----------------------------------------------------------------------------------

    def epc_certificates(
        self,
        *,
        postcode: str | None = None,
        address: str | None = None,
        uprn: int | None = None,
        lodged_from: dt.date | None = None,
        lodged_to: dt.date | None = None,
    ) -> Sequence[EpcCertificate]:
        """Certificates matching every filter given, oldest lodgement first."""
        c = self._certs
        # Each filter narrows the rows found so far; intersecting with every row of the register
        # would sort millions of numbers per request.
        rows: np.ndarray | None = None
        if uprn is not None:
            rows = self._certificate_rows_for_dwelling(uprn)
        for narrowed in (
            None if postcode is None else self._certificate_rows_for_postcode(postcode),
            None if address is None else self._certificate_rows_for_address(address),
        ):
            if narrowed is not None:
                rows = np.unique(narrowed) if rows is None else np.intersect1d(rows, narrowed)
        if rows is None:
            rows = np.arange(len(c.key))
        if lodged_from is not None:
            rows = rows[c.lodged[rows] >= lodged_from.toordinal()]
        if lodged_to is not None:
            rows = rows[c.lodged[rows] <= lodged_to.toordinal()]
        rows = rows[np.lexsort((c.key[rows], c.lodged[rows]))]
        return _Records(rows, self._certificates_at, _BATCH)

    def epc_certificate(self, certificate_number: str) -> EpcCertificate | None:
        """One certificate by its number ("1234-5678-9012-3456-7890"), or None if unknown."""
        digits = certificate_number.replace("-", "").strip()
        if len(digits) != 20 or not digits.isdigit():
            return None
        multiplier, offset, modulus = _CERTIFICATE
        key = _affine_inverse(int(digits), multiplier, offset, modulus)
        row = int(np.searchsorted(self._certs.key, key))
        if row >= len(self._certs.key) or self._certs.key[row] != key:
            return None
        return self._certificates_at(np.array([row]))[0]

    def _rows_for_dwellings(self, dwellings: np.ndarray) -> np.ndarray:
        keys = self._certs.key
        starts = np.searchsorted(keys, dwellings * 4)
        ends = np.searchsorted(keys, dwellings * 4 + 4)
        # Every row from each start to its end, in order, without a Python loop.
        lengths = ends - starts
        return np.repeat(starts + lengths - np.cumsum(lengths), lengths) + np.arange(lengths.sum())

    def _certificate_rows_for_dwelling(self, uprn: int) -> np.ndarray:
        base, multiplier, offset, modulus = _UPRN
        if not 0 <= uprn - base < modulus:
            return np.empty(0, dtype=np.int64)
        dwelling = _affine_inverse(uprn - base, multiplier, offset, modulus)
        return self._rows_for_dwellings(np.array([dwelling], dtype=np.int64))

    def _certificate_rows_for_postcode(self, postcode: str) -> np.ndarray:
        match = re.fullmatch(r"([A-Z]{1,2}\d[A-Z\d]?)\s*(\d)([A-Z]{2})", postcode.strip().upper())
        place = None if match is None else self._by_outcode.get(match.group(1))
        letters = "" if match is None else match.group(3)
        if place is None or any(ch not in _POSTCODE_LETTERS for ch in letters):
            return np.empty(0, dtype=np.int64)
        unit = _POSTCODE_LETTERS.index(letters[0]) * 20 + _POSTCODE_LETTERS.index(letters[1])
        key = place * 4000 + int(match.group(2)) * 400 + unit
        props = np.nonzero(self._props.postcode_key == key)[0]
        return self._rows_for_dwellings(np.sort(_dwellings_of(self._props, props)))

    def _certificate_rows_for_address(self, address: str) -> np.ndarray:
        wanted = " ".join(re.sub(r"[^a-z0-9 ]", " ", address.lower()).split())
        streets = [
            (place, street)
            for place, count in enumerate(self._streets_per_place)
            for street in range(count)
            if _street_name(place, street).lower() in wanted
        ]
        if not streets:
            return np.empty(0, dtype=np.int64)
        p = self._props
        mask = np.zeros(len(p.place), dtype=bool)
        for place, street in streets:
            mask |= (p.place == place) & (p.street == street)
        candidates = np.nonzero(mask)[0]
        matches = [
            q
            for q, prop in zip(candidates, self._properties(candidates), strict=True)
            if " ".join(f"{prop.paon} {prop.street}".lower().split()) in wanted
        ]
        return self._rows_for_dwellings(
            np.sort(_dwellings_of(p, np.array(matches, dtype=np.int64)))
        )

    def _certificates_at(self, rows: np.ndarray) -> list[EpcCertificate]:
        """Certificates for many rows: keys, seeds and homes drawn in one pass, then the text."""
        c = self._certs
        keys = c.key[rows].astype(np.int64)
        dwellings = keys // 4
        homes = self._properties(dwellings // 16, dwellings % 16)
        seeds = self._draws.bits("certificate", keys).tolist()
        multiplier, offset, modulus = _CERTIFICATE
        base, u_multiplier, u_offset, u_modulus = _UPRN
        rng = random.Random(0)
        certificates = []
        for key, prop, seed, lodged_day, score, potential, area in zip(
            keys.tolist(),
            homes,
            seeds,
            c.lodged[rows].tolist(),
            c.score[rows].tolist(),
            c.potential[rows].tolist(),
            c.floor_area[rows].tolist(),
            strict=True,
        ):
            dwelling, k = divmod(key, 4)
            rng.seed(seed)
            lodged = dt.date.fromordinal(lodged_day)
            d = f"{_affine(key, multiplier, offset, modulus):020d}"
            built_form, label = _built_form(rng, prop.property_type)
            certificates.append(
                EpcCertificate(
                    certificate_number=f"{d[:4]}-{d[4:8]}-{d[8:12]}-{d[12:16]}-{d[16:]}",
                    property=prop,
                    uprn=base + _affine(dwelling, u_multiplier, u_offset, u_modulus),
                    lodged_on=lodged,
                    inspected_on=lodged - dt.timedelta(days=rng.randint(0, 10)),
                    current_band=_band(score),
                    potential_band=_band(potential),
                    current_score=score,
                    potential_score=potential,
                    floor_area_sqm=area,
                    built_form=built_form,
                    property_type_label=label,
                    construction_age_band=_age_band(prop.year_built),
                    main_fuel=rng.choice(_MAIN_FUELS),
                    extra={
                        "number-habitable-rooms": str(prop.bedrooms + 1),
                        "transaction-type": "marketed sale"
                        if k == 1
                        else rng.choice(_TRANSACTIONS),
                        "local-authority-label": prop.location.district.title(),
                    },
                )
            )
        return certificates


# Columns of `_Properties` a `Property` is made from.
_HOME_COLUMNS = (
    "place",
    "street",
    "number",
    "kind",
    "year_built",
    "flags",
    "lease",
    "tenure",
    "postcode_key",
    "bedrooms",
    "bathrooms",
    "units",
    "floor_area",
    "epc_score",
    "epc_potential",
    "condition",
    "value",
)


# Columns of `_Properties` a Price Paid address is made from, and the `Property` fields it gives.
_ADDRESS_COLUMNS = ("place", "street", "number", "kind", "year_built", "tenure", "postcode_key")
_ADDRESS_FIELDS = (
    "paon",
    "saon",
    "street",
    "locality",
    "location",
    "postcode",
    "property_type",
    "tenure",
    "year_built",
    "new_build",
)


def _dwellings(props: _Properties, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each dwelling of these properties as (property, unit): unit 0 for a home, and units 1 on
    for the flats of a block or above a shop, which are not dwellings themselves."""
    split = (props.kind[qs] == _BLOCK) | (props.kind[qs] == _MIXED)
    units = np.where(split, props.units[qs], 1).astype(np.int64)
    firsts = np.cumsum(units) - units
    unit = np.arange(units.sum()) - np.repeat(firsts - split, units)
    return np.repeat(qs, units), unit


def _dwellings_of(props: _Properties, qs: np.ndarray) -> np.ndarray:
    """The dwelling keys (prop * 16 + unit) that carry certificates for these properties."""
    owner, unit = _dwellings(props, qs)
    return (owner * 16 + unit).astype(np.int64)


def _address_draws(
    rng: random.Random, kind: int, year: int, place_index: int
) -> tuple[bool, float, float, bool]:
    """What a home's own generator decides about its address, in the order it is read.

    Whether a flat's building has a name, the map jitter (latitude, longitude), and whether the
    locality is printed; the ground rent and service charge are drawn after these. Every reader
    of an address draws through here, so a `Property` and a Price Paid row always agree.
    """
    named = kind == _FLAT and year >= 1960 and rng.random() < 0.6
    jitter_lat = (rng.random() - 0.5) * 0.02
    jitter_lon = (rng.random() - 0.5) * 0.03
    has_locality = _SHOWS_LOCALITY[place_index] and rng.random() < 0.7
    return named, jitter_lat, jitter_lon, has_locality


def _address_text(
    place_index: int, street: int, number: int, kind: int, named: bool, has_locality: bool
) -> tuple[str, str, str, str]:
    """A home's paon, saon, street name and locality, once its draws are known."""
    paon, saon = str(number), ""
    if named:
        paon = BUILDING_NAMES[(street * 3 + number // 20) % len(BUILDING_NAMES)]
        saon = f"Flat {number % 20 + 1}"
    elif kind == _FLAT:
        saon = f"Flat {1 + number % 4}"
    locality = PLACES[place_index].area if has_locality else ""
    return paon, saon, _street_name(place_index, street), locality


# Places whose area is not the town itself: only their homes may print a locality.
_SHOWS_LOCALITY = tuple(place.area != place.location.town for place in PLACES)


_BUILT_FORMS = {
    "flat": (("Mid-Terrace", "End-Terrace", "Detached", "Enclosed Mid-Terrace"), "Flat"),
    "terraced": (("Mid-Terrace", "Mid-Terrace", "End-Terrace"), "House"),
    "semi_detached": (("Semi-Detached",), "House"),
    "detached": (("Detached",), "House"),
    "bungalow": (("Detached", "Semi-Detached"), "Bungalow"),
    "hmo": (("Mid-Terrace", "End-Terrace"), "House"),
}
_MAIN_FUELS = ("mains gas (not community)",) * 8 + (
    "electricity (not community)",
    "oil (not community)",
)
_TRANSACTIONS = ("rental (private)", "marketed sale", "non marketed sale")


def _built_form(rng: random.Random, property_type: str) -> tuple[str, str]:
    options, label = _BUILT_FORMS.get(property_type, (("Mid-Terrace",), "House"))
    if label == "Flat" and rng.random() < 0.15:
        label = "Maisonette"
    return rng.choice(options), label


def _ground_rent(rng: random.Random, tenure: str, lease: int | None, flags: int) -> int | None:
    if tenure != "leasehold" or lease is None:
        return None
    if flags & _SIGNAL_BIT["escalating_ground_rent"]:
        return rng.randrange(250, 601, 25)
    if lease > 900 and rng.random() < 0.6:
        return 0
    return rng.randrange(50, 451, 25)


def _service_charge(rng: random.Random, kind: int, tenure: str, flags: int) -> int | None:
    if kind != _FLAT or tenure == "freehold":
        return None
    if flags & _SIGNAL_BIT["retirement"]:
        return rng.randrange(2500, 5001, 50)
    return rng.randrange(600, 3601, 50)


def _source_index(source: str) -> int:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return SOURCES.index(source)


def _kind_indices(property_types: Iterable[str] | None) -> tuple[int, ...] | None:
    if property_types is None:
        return None
    kinds = []
    for name in property_types:
        if name not in PROPERTY_TYPES:
            raise ValueError(f"unknown property type {name!r}; expected one of {PROPERTY_TYPES}")
        kinds.append(PROPERTY_TYPES.index(name))
    return tuple(sorted(set(kinds)))
