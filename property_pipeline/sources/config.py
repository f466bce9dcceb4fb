"""What to scrape and how politely: the targets file, loaded and checked before any request.

`targets.yaml` names the locations (a Rightmove location identifier and a Zoopla area slug
each), the auction houses, the price bands, property types and bedrooms to search, which sources
are switched on, where each source lives (the real site, or the sandbox) and the fetching
manners (rate per host, concurrency, timeouts, retries, User-Agent). Every problem is reported
with the file name and the key's path, e.g.
`targets.yaml: locations[2].rightmove_id: 'REGION274' is not a Rightmove location identifier
like OUTCODE^1234`, and keys the schema does not know are errors rather than silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from property_pipeline.sources.fetch import DEFAULT_USER_AGENT, FetchPolicy

DEFAULT_CONFIG_PATH = Path(__file__).with_name("targets.yaml")

SOURCE_NAMES = ("rightmove", "zoopla", "allsop", "auctionhouse")
PORTALS = ("rightmove", "zoopla")
REAL_BASE_URLS = {
    "rightmove": "https://www.rightmove.co.uk",
    "zoopla": "https://www.zoopla.co.uk",
    "allsop": "https://www.allsop.co.uk",
    "auctionhouse": "https://www.auctionhouse.co.uk",
}
# The deepest page each portal serves for one search (Rightmove 42 x 24, Zoopla 40 x 25).
PORTAL_MAX_PAGES = {"rightmove": 42, "zoopla": 40}

PropertyType = Literal["flat", "terraced", "semi_detached", "detached", "bungalow"]

RIGHTMOVE_ID_PATTERN = re.compile(r"^(REGION|OUTCODE|POSTCODE|STATION|BRANCH)\^\d+$")
ZOOPLA_SLUG_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*)*$")
AUCTIONHOUSE_REGION_PATTERN = re.compile(r"^[a-z]+$")
MAX_BEDROOMS = 10


SANDBOX_REQUESTS_PER_SECOND = 200.0


class ConfigError(ValueError):
    """The targets file is missing, not YAML, or breaks the schema; the message says where."""


def _region_slug(region: str) -> str:
    if not AUCTIONHOUSE_REGION_PATTERN.match(region):
        raise ValueError(
            f"{region!r} is not an Auction House region slug like london or northwest "
            "(lower-case letters only, as in auctionhouse.co.uk/northwest)"
        )
    return region


def _price_band(band: list[int | None]) -> list[int | None]:
    if len(band) != 2:
        raise ValueError(f"{band!r} must be a pair [min, max]")
    low, high = band
    if low is None:
        raise ValueError(f"{band!r} needs a min (use 0 for no lower limit)")
    if low < 0:
        raise ValueError(f"{band!r} has a negative min")
    if high is not None and high < low:
        raise ValueError(f"{band!r} has max {high} below min {low}")
    return band


def _positive_rate(rate: float) -> float:
    if rate <= 0:
        raise ValueError(f"{rate} must be above 0 requests a second")
    return rate


RegionSlug = Annotated[str, AfterValidator(_region_slug)]
PriceBand = Annotated[list[int | None], AfterValidator(_price_band)]
HostRate = Annotated[float, AfterValidator(_positive_rate)]


class _Strict(BaseModel):
    """Unknown keys are errors and YAML values are taken as typed (no "5" for 5)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Location(_Strict):
    """One area to search: its name and each portal's identifier for it."""

    name: str = Field(min_length=1)
    rightmove_id: str | None = None
    zoopla_slug: str | None = None

    @field_validator("rightmove_id")
    @classmethod
    def _rightmove_id_shape(cls, value: str | None) -> str | None:
        if value is not None and not RIGHTMOVE_ID_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a Rightmove location identifier like OUTCODE^1234 "
                "(REGION^n, OUTCODE^n, POSTCODE^n, STATION^n or BRANCH^n)"
            )
        return value

    @field_validator("zoopla_slug")
    @classmethod
    def _zoopla_slug_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        slug = value.strip("/")
        if not ZOOPLA_SLUG_PATTERN.match(slug):
            raise ValueError(
                f"{value!r} is not a Zoopla area slug like romford/rm6 (lower-case words "
                "joined by hyphens, parts separated by '/')"
            )
        return slug

    @model_validator(mode="after")
    def _names_a_portal(self) -> Location:
        if self.rightmove_id is None and self.zoopla_slug is None:
            raise ValueError(f"location {self.name!r} needs a rightmove_id, a zoopla_slug or both")
        return self


class PriceRange(_Strict):
    """The whole price range to search; bands over a portal's cap are split automatically."""

    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> PriceRange:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class Bedrooms(_Strict):
    """Bedroom limits passed to the portals' own filters (None: no limit)."""

    min: int | None = Field(default=None, ge=0, le=MAX_BEDROOMS)
    max: int | None = Field(default=None, ge=0, le=MAX_BEDROOMS)

    @model_validator(mode="after")
    def _ordered(self) -> Bedrooms:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class SourceSettings(_Strict):
    """One source: on or off, where it lives, whether to open detail pages, its page cap."""

    enabled: bool = True
    base_url: str
    detail_pages: bool = False
    max_pages: int | None = Field(default=None, ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL like https://www.rightmove.co.uk")
        return value.rstrip("/")


class AuctionHouseSettings(SourceSettings):
    """Auction House UK: the regional franchises whose catalogues to read (empty: all)."""

    regions: list[RegionSlug] = Field(default_factory=list)


class Sources(_Strict):
    """The four sources; `rightmove: false` is short for `rightmove: {enabled: false}`."""

    rightmove: SourceSettings
    zoopla: SourceSettings
    allsop: SourceSettings
    auctionhouse: AuctionHouseSettings

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            return data
        filled = dict(data)
        for name in SOURCE_NAMES:
            filled[name] = _source_defaults(name, filled.get(name))
        return filled

    def settings(self, source: str) -> SourceSettings:
        """The settings of one source by name."""
        return getattr(self, source)


def _source_defaults(name: str, given: Any) -> Any:
    """A source's mapping with the real site's base URL and page cap filled in."""
    if given is None:
        given = {}
    if isinstance(given, bool):
        given = {"enabled": given}
    if not isinstance(given, Mapping):
        return given
    defaults = {"base_url": REAL_BASE_URLS[name], "max_pages": PORTAL_MAX_PAGES.get(name)}
    return defaults | dict(given)


class FetchSettings(_Strict):
    """How requests are paced, bounded, retried and introduced."""

    requests_per_second_per_host: float = Field(default=1.0, gt=0)
    host_rates: dict[str, HostRate] = Field(default_factory=dict)
    concurrency: int = Field(default=4, ge=1, le=64)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: int = Field(default=4, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0)
    user_agent: str = Field(default=DEFAULT_USER_AGENT, min_length=1)
    # Worker processes that parse pages once a crawl is large; None means one per core but
    # one, 0 parses every page in the crawl's own process.
    parse_workers: int | None = Field(default=None, ge=0, le=64)

    def policy(self) -> FetchPolicy:
        """The fetcher's settings from this section."""
        return FetchPolicy(
            requests_per_second=self.requests_per_second_per_host,
            host_rates=dict(self.host_rates),
            concurrency=self.concurrency,
            timeout_seconds=self.timeout_seconds,
            retries=self.retries,
            backoff_seconds=self.backoff_seconds,
            max_backoff_seconds=self.max_backoff_seconds,
            max_retry_after_seconds=self.max_retry_after_seconds,
            user_agent=self.user_agent,
        )


class SourcesConfig(_Strict):
    """The whole targets file, validated.

    `price` (one range, split automatically) and `price_bands` (explicit [min, max] pairs, each
    still split if over a cap) are alternatives; with neither, every price is searched.
    `sandbox: true` marks requests with the sandbox's `X-Sandbox-Date` header.
    """

    sandbox: bool = False
    sources: Sources = Field(default_factory=lambda: Sources.model_validate({}))
    locations: list[Location] = Field(default_factory=list)
    price: PriceRange | None = None
    price_bands: list[PriceBand] | None = None
    property_types: list[PropertyType] | None = None
    bedrooms: Bedrooms = Field(default_factory=Bedrooms)
    include_sstc: bool = True
    fetch: FetchSettings = Field(default_factory=FetchSettings)

    @model_validator(mode="after")
    def _consistent(self) -> SourcesConfig:
        if self.price is not None and self.price_bands is not None:
            raise ValueError(
                "price and price_bands are both given; keep price (one min/max range, split "
                "automatically) or price_bands (your own [min, max] pairs), not both"
            )
        portals_on = [name for name in PORTALS if self.sources.settings(name).enabled]
        if portals_on and not self.locations:
            verb = "is" if len(portals_on) == 1 else "are"
            raise ValueError(
                f"locations is empty but {' and '.join(portals_on)} {verb} switched on; add "
                "locations or switch the portals off"
            )
        return self

    def enabled_sources(self) -> tuple[str, ...]:
        """The switched-on sources, in the fixed order rightmove, zoopla, allsop, auctionhouse."""
        return tuple(name for name in SOURCE_NAMES if self.sources.settings(name).enabled)

    def search_bands(self) -> list[tuple[int, int | None]]:
        """The price bands each location search starts from, before any splitting."""
        if self.price_bands is not None:
            return [(int(band[0] or 0), band[1]) for band in self.price_bands]
        if self.price is not None:
            return [(self.price.min, self.price.max)]
        return [(0, None)]

    def for_sandbox(self, base_url: str) -> SourcesConfig:
        """The same targets pointed at a sandbox root (`http://127.0.0.1:PORT`).

        The sandbox is one loopback server standing in for every site: politeness towards it
        only slows tests and the demo, so its pace is at least SANDBOX_REQUESTS_PER_SECOND.
        """
        root = base_url.rstrip("/")
        sources = {
            name: self.sources.settings(name).model_copy(update={"base_url": f"{root}/{name}"})
            for name in SOURCE_NAMES
        }
        rate = max(self.fetch.requests_per_second_per_host, SANDBOX_REQUESTS_PER_SECOND)
        fetch = self.fetch.model_copy(update={"requests_per_second_per_host": rate})
        return self.model_copy(
            update={"sandbox": True, "sources": Sources(**sources), "fetch": fetch}
        )


# -----------------------------------------------------------------------------------------------
# Loading


def default_config_path() -> Path:
    """The targets file shipped with the package (locations that exist in the sandbox market)."""
    return DEFAULT_CONFIG_PATH


def load_config(path: str | Path | None = None) -> SourcesConfig:
    """Read and validate a targets file (the shipped one when `path` is None)."""
    config_path = Path(path) if path is not None else default_config_path()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such file; pass the path of a targets YAML") from None
    except OSError as error:
        raise ConfigError(f"{config_path}: cannot be read: {error}") from error
    return parse_config(text, str(config_path))


def parse_config(text: str, name: str = "targets.yaml") -> SourcesConfig:
    """Validate YAML text; `name` is the file name errors start with."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{name}: not valid YAML: {error}") from error
    if data is None:
        raise ConfigError(f"{name}: the file is empty; it needs at least `locations:`")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{name}: the top level must be a mapping of keys, not {_kind(data)}")
    return config_from_mapping(data, name)


def config_from_mapping(data: Mapping[str, Any], name: str = "targets.yaml") -> SourcesConfig:
    """Validate an already-loaded mapping, naming `name` in any error."""
    try:
        return SourcesConfig.model_validate(dict(data))
    except ValidationError as error:
        lines = [f"{name}: {describe_error(item)}" for item in error.errors()]
        raise ConfigError("\n".join(lines)) from None


def describe_error(item: Mapping[str, Any]) -> str:
    """One pydantic error as `path: what is wrong`, in the file's own terms."""
    loc = tuple(item.get("loc", ()))
    kind = item.get("type", "")
    message = str(item.get("msg", ""))
    if not loc:
        return message.removeprefix("Value error, ")
    path = key_path(loc)
    if kind == "extra_forbidden":
        known = ", ".join(known_keys(loc[:-1])) or "none"
        return f"{path}: unknown key; the keys allowed here are {known}"
    if kind == "missing":
        return f"{path}: this key is required"
    if kind in ("model_type", "dict_type"):
        return f"{path}: expected a mapping of keys (got {item.get('input')!r})"
    if kind in ("value_error", "assertion_error"):
        return f"{path}: {message.removeprefix('Value error, ')}"
    return f"{path}: {message} (got {item.get('input')!r})"


def key_path(loc: tuple[Any, ...]) -> str:
    """`('locations', 2, 'rightmove_id')` as `locations[2].rightmove_id`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).isidentifier():
            text += f"[{str(part)!r}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at a location in the file, for unknown-key messages."""
    model: Any = SourcesConfig
    for part in loc:
        model = _step_into(model, part)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _step_into(annotation: Any, part: Any) -> Any:
    """The type one step down `annotation`: a field's type, a list's item, a dict's value."""
    annotation = _without_none(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return None if field is None else _without_none(field.annotation)
    if get_origin(annotation) in (list, dict):
        return _without_none(get_args(annotation)[-1])
    return None


def _without_none(annotation: Any) -> Any:
    """`X | None` as `X`; anything else unchanged."""
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string"}.get(type(value), type(value).__name__)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML keeps the last)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)
