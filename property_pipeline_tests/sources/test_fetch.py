"""The polite fetcher against real sockets: pacing, retries, blocks and failures.

A tiny portal is mounted in the sandbox under the `/zoopla` prefix so the sandbox's faults
(429, 5xx, timeouts, cut bodies, Cloudflare challenges) hit it exactly as they would the real
stand-in. Waits go through a manual clock, so a 7-second Retry-After is checked, not waited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox.context import SandboxConfig, SandboxContext
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sources.fetch import (
    DEFAULT_CONTACT_URL,
    Fetcher,
    FetchError,
    FetchPolicy,
    FetchResult,
    HostPacer,
    backoff_seconds,
    make_client,
    retry_after_seconds,
)
from property_pipeline.sources.listing import BotChallengeError
from property_pipeline_tests.sandbox.support import faults_cleared_after

T = TypeVar("T")
PAGE = "<!DOCTYPE html><html><body>" + "<p>3 bed terraced house</p>" * 40 + "</body></html>"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SLOW_SECONDS = 0.05


class ManualClock:
    """A clock that only moves when the fetcher sleeps, recording every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)


def tiny_portal(ctx: SandboxContext) -> list[BaseRoute]:
    """A page, a header echo, a slow page that counts overlap, a 404 and a date-limited page."""
    state = {"in_flight": 0, "most_in_flight": 0, "limited_calls": 0}

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def echo(request: Request) -> Response:
        return JSONResponse(dict(request.headers))

    async def slow(request: Request) -> Response:
        state["in_flight"] += 1
        state["most_in_flight"] = max(state["most_in_flight"], state["in_flight"])
        await asyncio.sleep(SLOW_SECONDS)
        state["in_flight"] -= 1
        return JSONResponse({"most_in_flight": state["most_in_flight"]})

    async def missing(request: Request) -> Response:
        return HTMLResponse("<h1>Not found</h1>", status_code=404)

    async def limited(request: Request) -> Response:
        state["limited_calls"] += 1
        if state["limited_calls"] == 1:
            in_ten_minutes = NOW + dt.timedelta(minutes=10)
            when = in_ten_minutes.strftime("%a, %d %b %Y %H:%M:%S GMT")
            return HTMLResponse("slow down", status_code=429, headers={"Retry-After": when})
        return HTMLResponse(PAGE)

    return [
        Route("/for-sale/page", page),
        Route("/echo", echo),
        Route("/slow", slow),
        Route("/missing", missing),
        Route("/limited", limited),
    ]


def portal_server() -> SandboxServer:
    return SandboxServer(SandboxConfig(), upstreams={"zoopla": tiny_portal})


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with portal_server() as running:
        yield running


@pytest.fixture(scope="module")
def other_server() -> Iterator[SandboxServer]:
    with portal_server() as running:
        yield running


clear_faults = faults_cleared_after("server")


def url(server: SandboxServer, path: str = "/for-sale/page") -> str:
    return f"{server.url('zoopla')}{path}"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def fetch(
    policy: FetchPolicy, clock: ManualClock, *urls: str, jitter: float = 0.5
) -> list[FetchResult]:
    """Fetch `urls` one after another through one fetcher on the manual clock."""
    client = make_client(policy, trust_env=False)
    async with client:
        fetcher = Fetcher(
            policy, client, clock=clock, sleep=clock.sleep, jitter=lambda: jitter, now=lambda: NOW
        )
        return [await fetcher.get(each) for each in urls]


async def fetch_together(policy: FetchPolicy, clock: ManualClock, urls: list[str]) -> list[Any]:
    """Fetch `urls` concurrently through one fetcher on the manual clock."""
    async with make_client(policy, trust_env=False) as client:
        fetcher = Fetcher(policy, client, clock=clock, sleep=clock.sleep, now=lambda: NOW)
        return await asyncio.gather(*(fetcher.get(each) for each in urls))


def fault(server: SandboxServer, kind: str, **fields: Any) -> str:
    return server.context.faults.add(FaultSpec(upstream="zoopla", kind=kind, **fields))


def applied(server: SandboxServer, fault_id: str) -> int:
    for active in server.context.faults.active():
        if active["id"] == fault_id:
            return int(active["applied"])  # type: ignore[call-overload]
    raise AssertionError(f"fault {fault_id} is no longer active")


# -- retries ---------------------------------------------------------------------------------


def test_a_429_waits_the_retry_after_seconds_then_succeeds(server: SandboxServer) -> None:
    fault(server, "rate_limit", count=1, retry_after=7)
    clock = ManualClock()

    [result] = run(fetch(FetchPolicy(), clock, url(server)))

    assert result.status == 200
    assert result.attempts == 2
    assert result.text == PAGE
    assert clock.sleeps == [7.0]


def test_a_retry_after_date_is_honoured_up_to_the_cap(server: SandboxServer) -> None:
    clock = ManualClock()
    policy = FetchPolicy(max_retry_after_seconds=120)

    [result] = run(fetch(policy, clock, url(server, "/limited")))

    assert result.attempts == 2
    assert clock.sleeps == [120.0]  # the server asked for 600 s


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7", NOW) == 7.0
    assert retry_after_seconds("Mon, 02 Mar 2026 09:01:30 GMT", NOW) == 90.0
    assert retry_after_seconds("Mon, 02 Mar 2026 08:00:00 GMT", NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_server_errors_are_retried_with_doubling_backoff(server: SandboxServer) -> None:
    fault(server, "server_error", count=2)
    clock = ManualClock()

    [result] = run(fetch(FetchPolicy(backoff_seconds=3), clock, url(server)))

    assert result.attempts == 3
    assert result.text == PAGE
    assert clock.sleeps == [3.0, 6.0]


def test_backoff_is_jittered_by_half_either_way_and_capped() -> None:
    policy = FetchPolicy(backoff_seconds=2, max_backoff_seconds=10)

    assert backoff_seconds(policy, 1, 0.0) == 1.0
    assert backoff_seconds(policy, 1, 0.999) == pytest.approx(2.998)
    assert backoff_seconds(policy, 2, 0.5) == 4.0
    assert backoff_seconds(policy, 5, 0.5) == 10.0


def test_a_timeout_is_retried(server: SandboxServer) -> None:
    fault(server, "timeout", count=1, duration_ms=10_000)
    clock = ManualClock()

    [result] = run(fetch(FetchPolicy(timeout_seconds=0.3), clock, url(server)))

    assert result.attempts == 2
    assert result.text == PAGE
    assert clock.sleeps == [1.0]


def test_a_body_cut_short_of_its_content_length_is_fetched_again(server: SandboxServer) -> None:
    fault(server, "truncate", count=1)
    clock = ManualClock()

    [result] = run(fetch(FetchPolicy(), clock, url(server)))

    assert result.attempts == 2
    assert result.body == PAGE.encode()
    assert len(clock.sleeps) == 1


def test_a_connection_refused_is_retried_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/for-sale/page"
    clock = ManualClock()

    with pytest.raises(FetchError) as caught:
        run(fetch(FetchPolicy(retries=2), clock, dead))

    assert caught.value.url == dead
    assert caught.value.attempts == 3
    assert "ConnectError" in str(caught.value)
    assert clock.sleeps == [1.0, 2.0]


# -- failures that are not retried, or not for ever -------------------------------------------


def test_a_challenge_raises_bot_challenge_error_after_one_request(server: SandboxServer) -> None:
    forever = fault(server, "challenge")
    clock = ManualClock()

    with pytest.raises(BotChallengeError, match="bot challenge"):
        run(fetch(FetchPolicy(retries=4), clock, url(server)))

    assert applied(server, forever) == 1
    assert clock.sleeps == []


def test_a_soft_challenge_served_as_200_is_still_a_challenge(server: SandboxServer) -> None:
    fault(server, "challenge", status=200, count=1)

    with pytest.raises(BotChallengeError, match=r"HTTP 200"):
        run(fetch(FetchPolicy(), ManualClock(), url(server)))


def test_giving_up_raises_fetch_error_naming_the_url_and_logs_each_retry(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    fault(server, "server_error")
    caplog.set_level(logging.WARNING, logger="property_pipeline.sources.fetch")
    page = url(server)

    with pytest.raises(FetchError) as caught:
        run(fetch(FetchPolicy(retries=2, backoff_seconds=3), ManualClock(), page))

    assert str(caught.value) == f"could not fetch {page} after 3 attempts: HTTP 503"
    assert caught.value.status == 503
    retries = [record.getMessage() for record in caplog.records]
    assert retries == [
        f"retrying {page} after HTTP 503: waiting 3.00 s before attempt 2 of 3",
        f"retrying {page} after HTTP 503: waiting 6.00 s before attempt 3 of 3",
    ]
    assert not any("user-agent" in line.lower() for line in retries)


def test_a_404_is_not_retried(server: SandboxServer) -> None:
    clock = ManualClock()
    missing = url(server, "/missing")

    with pytest.raises(FetchError) as caught:
        run(fetch(FetchPolicy(retries=4), clock, missing))

    assert (caught.value.status, caught.value.attempts) == (404, 1)
    assert str(caught.value) == f"could not fetch {missing} after 1 attempt: HTTP 404"
    assert clock.sleeps == []


# -- manners ----------------------------------------------------------------------------------


def test_requests_name_the_project_and_a_contact_url(server: SandboxServer) -> None:
    [result] = run(fetch(FetchPolicy(), ManualClock(), url(server, "/echo")))

    sent = httpx.Response(200, content=result.body).json()
    assert sent["user-agent"].startswith("property-pipeline/")
    assert DEFAULT_CONTACT_URL in sent["user-agent"]
    assert "en-GB" in sent["accept-language"]


def test_requests_to_one_host_are_spaced_by_the_rate(server: SandboxServer) -> None:
    clock = ManualClock()
    policy = FetchPolicy(requests_per_second=2)

    run(fetch(policy, clock, url(server), url(server), url(server)))

    assert clock.sleeps == [0.5, 0.5]


def test_two_hosts_do_not_wait_for_each_other(
    server: SandboxServer, other_server: SandboxServer
) -> None:
    clock = ManualClock()
    urls = [url(server), url(server), url(other_server), url(other_server)]

    results = run(fetch_together(FetchPolicy(requests_per_second=1), clock, urls))

    assert [result.status for result in results] == [200, 200, 200, 200]
    assert clock.sleeps == [1.0, 1.0]  # the second request to each host, and only those


def test_a_host_rate_override_sets_that_hosts_pace_alone() -> None:
    clock = ManualClock()
    policy = FetchPolicy(requests_per_second=1, host_rates={"slow.example": 0.25})
    pacer = HostPacer(policy, clock, clock.sleep)

    waits = [pacer.reserve(host) for host in ("slow.example", "slow.example", "fast.example")]

    assert waits == [0.0, 4.0, 0.0]


def test_a_held_host_waits_even_for_requests_already_queued() -> None:
    clock = ManualClock()
    pacer = HostPacer(FetchPolicy(requests_per_second=1), clock, clock.sleep)

    pacer.reserve("www.zoopla.co.uk")
    pacer.hold("www.zoopla.co.uk", 30)

    assert pacer.reserve("www.zoopla.co.uk") == 30.0
    assert pacer.reserve("www.rightmove.co.uk") == 0.0


def test_requests_already_queued_for_a_host_wait_out_a_later_hold() -> None:
    async def scenario() -> list[float]:
        pacer = HostPacer(FetchPolicy(requests_per_second=20), time.monotonic, asyncio.sleep)
        started = time.monotonic()
        returned: list[float] = []

        async def go() -> None:
            await pacer.wait_turn("www.zoopla.co.uk")
            returned.append(time.monotonic() - started)

        queued = [asyncio.create_task(go()) for _ in range(3)]
        await asyncio.sleep(0.01)  # all three have booked slots at 0, 0.05 and 0.10 s
        pacer.hold("www.zoopla.co.uk", 0.3)
        await asyncio.gather(*queued)
        return returned

    first, second, third = run(scenario())

    assert first < 0.05  # it went before the hold
    assert 0.3 <= second < 0.6  # queued for 0.05 s, sent back behind the hold
    assert third - second >= 0.049  # and still spaced by the rate after it


def test_concurrency_is_bounded(server: SandboxServer) -> None:
    policy = FetchPolicy(requests_per_second=10_000, concurrency=2)
    urls = [url(server, "/slow")] * 6

    results = run(fetch_together(policy, ManualClock(), urls))

    most = max(
        httpx.Response(200, content=result.body).json()["most_in_flight"] for result in results
    )
    assert most == 2


def test_the_client_offers_http2_and_falls_back_to_http11_on_plain_http(
    server: SandboxServer,
) -> None:
    client = make_client(FetchPolicy(), trust_env=False)
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert (pool._http1, pool._http2) == (True, True)
    run(client.aclose())

    [result] = run(fetch(FetchPolicy(), ManualClock(), url(server)))

    assert result.http_version == "HTTP/1.1"


def test_the_result_records_http2_when_the_transport_spoke_it() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=PAGE, extensions={"http_version": b"HTTP/2"})

    async def fetch_once() -> FetchResult:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            fetcher = Fetcher(FetchPolicy(), client, now=lambda: NOW)
            return await fetcher.get("https://www.rightmove.co.uk/properties/1")

    result = run(fetch_once())

    assert result.http_version == "HTTP/2"
    assert result.fetched_at == NOW
    assert result.content_type == "text/plain; charset=utf-8"
