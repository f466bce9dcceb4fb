"""Polite HTTP fetching for the scrapers: paced per host, bounded, retried, and honest about blocks.

`Fetcher.get(url)` waits its host's turn (one request a second a host unless configured
otherwise), takes one of a bounded number of concurrent slots, and sends the request over an
`httpx.AsyncClient` that speaks HTTP/2 where the server offers it. A 429 (after its Retry-After,
in seconds or as an HTTP date, capped), a 5xx, a timeout, a dropped connection or a body shorter
than its Content-Length is retried with exponential backoff and jitter, and the wait applies to
the whole host, not just the one request. A bot challenge (Cloudflare's "Just a moment...") is
raised at once as `BotChallengeError`: retrying a challenge only deepens the block. Anything
else that stops a fetch ends in a `FetchError` naming the URL, the reason and the attempts.

The clock, the sleep and the jitter are injectable, so tests check the waits without waiting.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from property_pipeline.sources.listing import BotChallengeError
from property_pipeline.sources.parsers.detect import is_bot_challenge

logger = logging.getLogger("property_pipeline.sources.fetch")

PROJECT_VERSION = "0.1"
DEFAULT_CONTACT_URL = "https://github.com/property-pipeline/property_pipeline"
DEFAULT_USER_AGENT = (
    f"property-pipeline/{PROJECT_VERSION} (+{DEFAULT_CONTACT_URL}; "
    "daily UK property listing research; at most one request a second per site)"
)
DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Transport failures worth another try; a malformed URL or a local protocol error is not.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> dt.datetime:
    """The current time in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FetchPolicy:
    """The fetcher's manners: pace, concurrency, patience and how it introduces itself."""

    requests_per_second: float = 1.0
    host_rates: Mapping[str, float] = field(default_factory=dict)  # per-host overrides
    concurrency: int = 4
    timeout_seconds: float = 30.0
    retries: int = 4  # tries after the first
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 120.0
    user_agent: str = DEFAULT_USER_AGENT

    def interval_for(self, host: str) -> float:
        """Seconds between two requests to `host`."""
        return 1.0 / self.host_rates.get(host, self.requests_per_second)

    @property
    def attempts(self) -> int:
        """How many times one URL is tried at most."""
        return self.retries + 1


@dataclass(frozen=True)
class FetchResult:
    """One fetched page or API response, as the archive keeps it and the parsers read it."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: dt.datetime
    elapsed: float  # seconds the successful attempt took
    attempts: int
    http_version: str  # "HTTP/1.1" or "HTTP/2"

    @property
    def content_type(self) -> str:
        """The Content-Type header, or "" when the server sent none."""
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        """The body decoded with the charset the server declared, else UTF-8."""
        return decode_body(self.body, self.content_type)


class FetchError(RuntimeError):
    """A URL could not be fetched; says which, why, and after how many attempts."""

    def __init__(self, url: str, reason: str, attempts: int, status: int | None = None) -> None:
        plural = "" if attempts == 1 else "s"
        super().__init__(f"could not fetch {url} after {attempts} attempt{plural}: {reason}")
        self.url = url
        self.reason = reason
        self.attempts = attempts
        self.status = status


def decode_body(body: bytes, content_type: str) -> str:
    """Bytes as text, using the charset in `content_type` when Python knows it."""
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"'")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def host_of(url: str) -> str:
    """The host (with any port) a URL points at: the unit requests are paced by."""
    return urlsplit(url).netloc.lower()


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """A Retry-After header as seconds from `now` (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_seconds(policy: FetchPolicy, attempt: int, jitter: float) -> float:
    """The wait before retry number `attempt` (1-based): doubling, jittered by ±50%, capped."""
    base = policy.backoff_seconds * 2 ** (attempt - 1)
    return min(policy.max_backoff_seconds, base * (0.5 + jitter))


def make_client(policy: FetchPolicy, *, trust_env: bool = True) -> httpx.AsyncClient:
    """The shared HTTP client: HTTP/2 when the server offers it (over TLS), else HTTP/1.1."""
    return httpx.AsyncClient(
        http2=True,
        timeout=httpx.Timeout(policy.timeout_seconds),
        headers={
            "User-Agent": policy.user_agent,
            "Accept": DEFAULT_ACCEPT,
            "Accept-Language": "en-GB,en;q=0.9",
        },
        follow_redirects=True,
        trust_env=trust_env,
        # No more connections than requests in flight (the fetcher's semaphore): httpcore polls
        # every pooled connection on each request, which was a fifth of a large crawl's time.
        limits=httpx.Limits(max_connections=max(policy.concurrency, 1)),
    )


class HostPacer:
    """Hands out request slots per host at the policy's interval; hosts never wait on each
    other. A host can be held back (after a 429 or a 5xx): every request to it then waits
    out the hold, including those already queued for a slot."""

    def __init__(self, policy: FetchPolicy, clock: Clock, sleep: Sleep) -> None:
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._held_until: dict[str, float] = {}

    def reserve(self, host: str) -> float:
        """Book the host's next free slot and return how long to wait for it."""
        now = self._clock()
        start = max(now, self._next_slot.get(host, now), self._held_until.get(host, now))
        self._next_slot[host] = start + self._policy.interval_for(host)
        return start - now

    def hold(self, host: str, seconds: float) -> None:
        """No request to `host` before `seconds` from now."""
        until = self._clock() + seconds
        self._held_until[host] = max(self._held_until.get(host, until), until)

    async def wait_turn(self, host: str) -> float:
        """Sleep until this request may go; returns the seconds waited.

        A hold placed while the request slept for its slot sends it back to the queue.
        """
        waited = 0.0
        while True:
            wait = self.reserve(host)
            if wait > 0:
                await self._sleep(wait)
                waited += wait
            held = self._held_until.get(host, 0.0) - self._clock()
            if held <= 0:
                return waited
            await self._sleep(held)
            waited += held


class _RetryableResponse(Exception):
    """A response worth retrying (429, 5xx, short body); carries why and the server's wish."""

    def __init__(self, reason: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class Fetcher:
    """Fetch URLs politely; use as `async with Fetcher(policy) as fetcher:`.

    Pass a `client` to share or stub one (it is then not closed here); `clock`, `sleep`,
    `jitter` and `now` replace the real ones in tests.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self.client = client if client is not None else make_client(self.policy)
        self._owns_client = client is None
        self._pacer = HostPacer(self.policy, clock, sleep)
        self._slots: asyncio.Semaphore | None = None
        self._jitter = jitter
        self._now = now

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client if this fetcher made it."""
        if self._owns_client:
            await self.client.aclose()

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> FetchResult:
        """GET `url` with retries; a `FetchResult`, or `BotChallengeError` / `FetchError`."""
        host = host_of(url)
        for attempt in range(1, self.policy.attempts + 1):
            await self._pacer.wait_turn(host)
            try:
                return await self._attempt(url, headers, attempt)
            except BotChallengeError:
                raise
            except _RetryableResponse as problem:
                reason, status, asked = problem.reason, problem.status, problem.retry_after
            except RETRYABLE_ERRORS as error:
                reason, status, asked = _describe_transport_error(error), None, None
            except httpx.HTTPError as error:
                raise FetchError(url, _describe_transport_error(error), attempt) from error

            if attempt == self.policy.attempts:
                raise FetchError(url, reason, attempt, status)
            wait = self._retry_wait(attempt, asked)
            logger.warning(
                "retrying %s after %s: waiting %.2f s before attempt %d of %d",
                url,
                reason,
                wait,
                attempt + 1,
                self.policy.attempts,
            )
            self._pacer.hold(host, wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _attempt(
        self, url: str, headers: Mapping[str, str] | None, attempt: int
    ) -> FetchResult:
        """One request: a result, or an exception saying whether to try again."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.policy.concurrency)
        async with self._slots:
            started = time.perf_counter()
            response = await self.client.get(url, headers=dict(headers or {}))
            elapsed = time.perf_counter() - started

        body = response.content
        response_headers = {name.lower(): value for name, value in response.headers.items()}
        text = decode_body(body, response_headers.get("content-type", ""))
        if is_bot_challenge(text, response.status_code, response_headers):
            raise BotChallengeError(
                f"{url} answered with a bot challenge page (HTTP {response.status_code}), not "
                "the page asked for; it is not retried: slow down, try later, or use a client "
                "the site accepts"
            )
        if response.status_code in RETRY_STATUSES:
            asked = retry_after_seconds(response.headers.get("retry-after"), self._now())
            raise _RetryableResponse(f"HTTP {response.status_code}", response.status_code, asked)
        if not 200 <= response.status_code < 300:
            raise FetchError(url, f"HTTP {response.status_code}", attempt, response.status_code)
        short = _short_body(body, response_headers)
        if short:
            raise _RetryableResponse(short, response.status_code, None)

        return FetchResult(
            url=url,
            status=response.status_code,
            headers=response_headers,
            body=body,
            fetched_at=self._now(),
            elapsed=elapsed,
            attempts=attempt,
            http_version=response.http_version,
        )

    def _retry_wait(self, attempt: int, asked: float | None) -> float:
        """The server's Retry-After when it gave one (capped), else jittered backoff."""
        if asked is not None:
            return min(asked, self.policy.max_retry_after_seconds)
        return backoff_seconds(self.policy, attempt, self._jitter())


def _short_body(body: bytes, headers: Mapping[str, str]) -> str | None:
    """Why the body is incomplete, when an unencoded body is shorter than its Content-Length."""
    declared = headers.get("content-length", "")
    if not declared.isdigit() or headers.get("content-encoding"):
        return None
    if len(body) < int(declared):
        return f"truncated body ({len(body)} of {declared} bytes)"
    return None


def _describe_transport_error(error: Exception) -> str:
    """A transport failure in a few words: its kind and what httpx said."""
    detail = str(error).strip()
    kind = type(error).__name__
    return f"{kind}: {detail}" if detail else kind
