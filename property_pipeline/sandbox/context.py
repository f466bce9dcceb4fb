"""What every stand-in route shares: the market, the active faults, the logs and the sandbox date.

Renderers get one `SandboxContext` and keep no state of their own, so two sandboxes in one
process (two servers on two ports, say) never see each other's faults or messages.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request

from property_pipeline.sandbox.faults import FAULT_SCOPE_KEY, FaultBoard, FaultPlan, FaultSpec
from property_pipeline.sandbox.slack_api import SlackLog

if TYPE_CHECKING:
    from property_pipeline.sandbox.market import Market, MarketConfig

LONDON = ZoneInfo("Europe/London")
DATE_HEADER = "X-Sandbox-Date"
DATE_QUERY = "sandbox_date"
# The EPC register's published allowance: 6000 requests every five minutes per address.
EPC_REQUESTS_PER_WINDOW = 6000
EPC_WINDOW_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How to build one sandbox: its market, its date, the EPC credentials and starting faults.

    `market` None means `MarketConfig()`'s defaults. `date` None lets the day follow the clock
    (today in London) unless a request names one. The EPC stand-in answers 429 after
    `epc_rate_limit` requests within any `epc_rate_window_seconds`.
    """

    market: MarketConfig | None = None
    date: dt.date | None = None
    epc_token: str = "sandbox-epc-token"
    epc_rate_limit: int = EPC_REQUESTS_PER_WINDOW
    epc_rate_window_seconds: float = EPC_WINDOW_SECONDS
    faults: tuple[FaultSpec, ...] = field(default_factory=tuple)


class SandboxSetupError(RuntimeError):
    """The sandbox cannot be assembled: an upstream module is missing, broken or misnamed."""


class RequestLog:
    """A thread-safe, append-only record of requests a stand-in received, for tests to inspect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any]) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """A copy of every request recorded so far, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()


class SandboxContext:
    """The state a sandbox's routes share; pass a ready `market` to skip building one.

    The market is built on first use, so a sandbox serving only the OpenAI and Slack stand-ins
    (or a renderer test with a hand-made market) never pays for generating listings.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, market: Market | None = None
    ) -> None:
        self.config = config or SandboxConfig()
        self.faults = FaultBoard(self.config.faults)
        self.slack_log = SlackLog()
        self.openai_requests = RequestLog()
        self.epc_token = self.config.epc_token
        self.epc_rate_limit = self.config.epc_rate_limit
        self.epc_rate_window_seconds = self.config.epc_rate_window_seconds
        self._market = market
        self._market_lock = threading.Lock()

    @property
    def market(self) -> Market:
        """The synthetic market every renderer reads, generated from the config on first use."""
        with self._market_lock:
            if self._market is None:
                self._market = build_market(self.config.market)
            return self._market

    def market_date(self, request: Request) -> dt.date:
        """The day the client asks about: X-Sandbox-Date, else ?sandbox_date=, else the
        configured date, else today in London. A malformed date is a 400 naming it."""
        for source, value in (
            (f"header {DATE_HEADER}", request.headers.get(DATE_HEADER)),
            (f"query parameter {DATE_QUERY}", request.query_params.get(DATE_QUERY)),
        ):
            if not value:
                continue
            try:
                return read_sandbox_date(value, source)
            except ValueError as error:
                raise HTTPException(status_code=400, detail=str(error)) from error
        if self.config.date is not None:
            return self.config.date
        return dt.datetime.now(LONDON).date()

    def reset(self) -> None:
        """Clear faults, the Slack log and the OpenAI requests: a clean slate between tests."""
        self.faults.clear()
        self.slack_log.clear()
        self.openai_requests.clear()

    def changed_structure(self, request: Request, upstream: str) -> bool:
        """Whether this request should get the upstream's changed page layout.

        Behind the fault middleware the decision was made (and counted) once per request;
        called without it, say from a renderer test, the active faults are consulted directly.
        """
        plan = request.scope.get(FAULT_SCOPE_KEY)
        if isinstance(plan, FaultPlan):
            return plan.changed_structure
        return self.faults.is_active(upstream, route_path(request), "changed_structure")


def read_sandbox_date(value: str, source: str) -> dt.date:
    """An ISO date given to the sandbox, or a ValueError naming its source and the bad value."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{source} {value!r} is not a date; send it as YYYY-MM-DD") from None


def route_path(request: Request) -> str:
    """The request path below the mount that routed it ("/api/search" under "/allsop")."""
    path: str = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def build_market(market_config: MarketConfig | None) -> Market:
    """Generate the market, failing with the module's name if it cannot be imported."""
    try:
        from property_pipeline.sandbox.market import Market, MarketConfig
    except (ImportError, SyntaxError) as error:
        raise SandboxSetupError(
            "the sandbox market needs property_pipeline.sandbox.market (Market, MarketConfig), "
            f"which could not be imported: {error}"
        ) from error
    return Market(market_config or MarketConfig())


def london_noon_epoch(day: dt.date) -> int:
    """Seconds since the epoch at midday in London on `day`: a fixed instant for that date."""
    return int(dt.datetime.combine(day, dt.time(12), tzinfo=LONDON).timestamp())
