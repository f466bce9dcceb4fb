"""The sandbox server and its faults, driven over real sockets with httpx and http.client."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from property_pipeline.sandbox import app as sandbox_app
from property_pipeline.sandbox import openai_api
from property_pipeline.sandbox.app import load_routes_factory
from property_pipeline.sandbox.context import SandboxConfig, SandboxContext, SandboxSetupError
from property_pipeline.sandbox.faults import FaultBoard, FaultSpec, FaultSpecError
from property_pipeline.sandbox.server import (
    NonLoopbackHostError,
    SandboxServer,
    add_sandbox_command,
    run_sandbox_command,
)
from property_pipeline_tests.conftest import skip_or_fail
from property_pipeline_tests.sandbox.support import add_fault, faults_cleared_after

PAGE_BODY = "<html><body>" + "listing " * 125 + "</body></html>"
CHUNK = b"0123456789" * 10
SANDBOX_DAY = dt.date(2026, 3, 2)


def tiny_portal(ctx: SandboxContext) -> list[BaseRoute]:
    """A stand-in portal small enough to reason about: a page, a stream, an API, the date."""

    async def page(request: Request) -> Response:
        layout = "changed" if ctx.changed_structure(request, "zoopla") else "usual"
        return PlainTextResponse(PAGE_BODY, headers={"x-layout": layout})

    async def stream(request: Request) -> Response:
        async def chunks() -> object:
            for _ in range(10):
                yield CHUNK

        return StreamingResponse(chunks(), media_type="text/csv")

    async def api(request: Request) -> Response:
        return JSONResponse({"results": [1, 2, 3]})

    async def day(request: Request) -> Response:
        return PlainTextResponse(ctx.market_date(request).isoformat())

    return [
        Route("/for-sale/page", page),
        Route("/stream.csv", stream),
        Route("/api/search", api),
        Route("/day", day),
    ]


def portal_server(config: SandboxConfig | None = None) -> SandboxServer:
    return SandboxServer(
        config or SandboxConfig(date=SANDBOX_DAY),
        upstreams={"zoopla": tiny_portal, "epc": tiny_portal, "openai": openai_api.routes},
    )


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with portal_server() as running:
        yield running


no_faults_left = faults_cleared_after("server")


def timed_get(url: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, **kwargs)
    return response, time.monotonic() - started


def test_health_lists_the_mounted_upstreams_and_the_configured_date(server: SandboxServer) -> None:
    health = httpx.get(f"{server.base_url}/_sandbox/health").json()

    assert health == {
        "status": "ok",
        "upstreams": ["zoopla", "epc", "openai"],
        "date": "2026-03-02",
    }


def test_latency_fault_delays_only_the_requests_it_counts(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="latency", duration_ms=400, count=1)

    slow, slow_seconds = timed_get(f"{server.base_url}/zoopla/for-sale/page")
    fast, fast_seconds = timed_get(f"{server.base_url}/zoopla/for-sale/page")

    assert (slow.status_code, fast.status_code) == (200, 200)
    assert slow_seconds >= 0.4
    assert fast_seconds < 0.3


def test_timeout_fault_holds_the_response_past_the_client_timeout(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="timeout", duration_ms=10_000, count=1)

    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.base_url}/zoopla/for-sale/page", timeout=0.3)
    after = httpx.get(f"{server.base_url}/zoopla/for-sale/page", timeout=2)

    assert after.text == PAGE_BODY


def test_timeout_fault_answers_504_when_the_client_outwaits_the_hold(
    server: SandboxServer,
) -> None:
    add_fault(server, upstream="zoopla", kind="timeout", duration_ms=200, count=1)

    response = httpx.get(f"{server.base_url}/zoopla/for-sale/page", timeout=5)

    assert response.status_code == 504
    assert "<h1>Gateway Timeout</h1>" in response.text


def test_rate_limit_fault_answers_429_with_retry_after_for_its_count(
    server: SandboxServer,
) -> None:
    add_fault(server, upstream="zoopla", kind="rate_limit", count=2, retry_after=7)

    statuses = [httpx.get(f"{server.base_url}/zoopla/api/search") for _ in range(3)]

    assert [response.status_code for response in statuses] == [429, 429, 200]
    assert statuses[0].headers["retry-after"] == "7"
    assert statuses[0].json() == {"status": 429, "error": "Too Many Requests"}


def test_server_error_fault_answers_the_status_asked_for(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="server_error", status=502, count=1)

    response = httpx.get(f"{server.base_url}/zoopla/for-sale/page")

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")


def test_epc_faults_use_the_register_error_list(server: SandboxServer) -> None:
    add_fault(server, upstream="epc", kind="server_error", count=1)

    response = httpx.get(f"{server.base_url}/epc/api/search")

    assert response.status_code == 503
    assert response.json() == {"errors": [{"code": "Service Unavailable"}]}


def test_truncate_fault_declares_the_full_length_but_sends_half(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="truncate", count=1)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/zoopla/for-sale/page")
    response = connection.getresponse()

    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    connection.close()

    assert response.getheader("content-length") == str(len(PAGE_BODY))
    assert cut.value.partial == PAGE_BODY.encode()[: len(PAGE_BODY) // 2]


def test_truncate_fault_cuts_a_streamed_body_after_keep_bytes(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="truncate", count=1, keep_bytes=250)
    received = b""

    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("GET", f"{server.base_url}/zoopla/stream.csv") as response:
            for piece in response.iter_raw():
                received += piece

    assert received == (CHUNK * 3)[:250]


def test_challenge_fault_serves_the_cloudflare_interstitial(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="challenge", count=1)

    blocked = httpx.get(f"{server.base_url}/zoopla/for-sale/page")
    passed = httpx.get(f"{server.base_url}/zoopla/for-sale/page")

    assert blocked.status_code == 403
    assert blocked.headers["cf-mitigated"] == "challenge"
    assert blocked.headers["server"] == "cloudflare"
    assert "<title>Just a moment...</title>" in blocked.text
    assert "window._cf_chl_opt" in blocked.text
    assert '"cZone": "www.zoopla.co.uk"' in blocked.text
    assert passed.text == PAGE_BODY


def test_soft_challenge_fault_comes_back_as_200(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="challenge", status=200, count=1)

    response = httpx.get(f"{server.base_url}/zoopla/for-sale/page")

    assert response.status_code == 200
    assert "Just a moment..." in response.text


def test_challenge_page_carries_the_block_markers_of_the_real_capture(
    server: SandboxServer, shared_fixtures: Path
) -> None:
    capture = (
        shared_fixtures
        / "zoopla"
        / "cloudflare_challenge_just_a_moment_2026-02_serverfetched_pws.html"
    )
    real = capture.read_text()
    add_fault(server, upstream="zoopla", kind="challenge", count=1)

    ours = httpx.get(f"{server.base_url}/zoopla/for-sale/page").text

    markers = ["<title>Just a moment...</title>", "window._cf_chl_opt", "challenge-error-text"]
    markers += ["cType", "cRay", "cZone", "/cdn-cgi/challenge-platform/"]
    assert [marker in real for marker in markers] == [True] * len(markers)
    assert [marker in ours for marker in markers] == [True] * len(markers)
    assert ours != real


def test_changed_structure_fault_reaches_the_renderer_once_per_request(
    server: SandboxServer,
) -> None:
    add_fault(server, upstream="zoopla", kind="changed_structure", count=1)

    layouts = [httpx.get(f"{server.base_url}/zoopla/for-sale/page") for _ in range(2)]

    assert [response.headers["x-layout"] for response in layouts] == ["changed", "usual"]


def test_path_prefix_limits_a_fault_to_matching_paths(server: SandboxServer) -> None:
    add_fault(server, upstream="zoopla", kind="server_error", path_prefix="/api/")

    api = httpx.get(f"{server.base_url}/zoopla/api/search")
    page = httpx.get(f"{server.base_url}/zoopla/for-sale/page")

    assert (api.status_code, page.status_code) == (503, 200)


def test_star_fault_hits_every_upstream_but_never_the_control_api(server: SandboxServer) -> None:
    add_fault(server, upstream="*", kind="server_error")

    zoopla = httpx.get(f"{server.base_url}/zoopla/for-sale/page")
    epc = httpx.get(f"{server.base_url}/epc/for-sale/page")
    health = httpx.get(f"{server.base_url}/_sandbox/health")

    assert (zoopla.status_code, epc.status_code, health.status_code) == (503, 503, 200)


def test_control_api_lists_counts_down_and_removes_faults(server: SandboxServer) -> None:
    created = httpx.post(
        f"{server.base_url}/_sandbox/faults",
        json=[
            {"upstream": "zoopla", "kind": "latency", "duration_ms": 1, "count": 3},
            {"upstream": "epc", "kind": "rate_limit"},
        ],
    ).json()["faults"]
    httpx.get(f"{server.base_url}/zoopla/for-sale/page")

    listed = httpx.get(f"{server.base_url}/_sandbox/faults").json()["faults"]
    httpx.delete(f"{server.base_url}/_sandbox/faults/{created[1]['id']}")
    after_removal = httpx.get(f"{server.base_url}/_sandbox/faults").json()["faults"]
    httpx.delete(f"{server.base_url}/_sandbox/faults")
    after_clear = httpx.get(f"{server.base_url}/_sandbox/faults").json()["faults"]

    assert [(fault["kind"], fault["remaining"]) for fault in listed] == [
        ("latency", 2),
        ("rate_limit", None),
    ]
    assert [fault["kind"] for fault in after_removal] == ["latency"]
    assert after_clear == []


def test_control_api_rejects_an_unknown_upstream_by_name(server: SandboxServer) -> None:
    response = httpx.post(
        f"{server.base_url}/_sandbox/faults", json={"upstream": "zopla", "kind": "challenge"}
    )

    assert response.status_code == 400
    assert "'zopla'" in response.json()["error"]
    assert httpx.get(f"{server.base_url}/_sandbox/faults").json()["faults"] == []


def test_market_date_prefers_header_then_query_then_config(server: SandboxServer) -> None:
    url = f"{server.base_url}/zoopla/day"

    from_header = httpx.get(
        url, params={"sandbox_date": "2026-05-05"}, headers={"X-Sandbox-Date": "2026-04-04"}
    )
    from_query = httpx.get(url, params={"sandbox_date": "2026-05-05"})
    from_config = httpx.get(url)

    assert [from_header.text, from_query.text, from_config.text] == [
        "2026-04-04",
        "2026-05-05",
        "2026-03-02",
    ]


def test_market_date_defaults_to_today_in_london_without_a_configured_date() -> None:
    ctx = SandboxContext(SandboxConfig())
    request = Request({"type": "http", "headers": [], "query_string": b""})

    day = ctx.market_date(request)

    assert abs((day - dt.date.today()).days) <= 1


def test_malformed_sandbox_date_is_a_400_naming_the_value(server: SandboxServer) -> None:
    response = httpx.get(f"{server.base_url}/zoopla/day", headers={"X-Sandbox-Date": "2-3-2026"})

    assert response.status_code == 400
    assert "'2-3-2026'" in response.text
    assert "X-Sandbox-Date" in response.text


def test_fault_board_gives_a_request_one_answering_fault_and_keeps_the_rest() -> None:
    board = FaultBoard(
        [
            FaultSpec("zoopla", "rate_limit", count=1),
            FaultSpec("zoopla", "server_error", count=1),
            FaultSpec("zoopla", "latency", duration_ms=5, count=2),
        ]
    )

    first = board.claim("zoopla", "/x")
    second = board.claim("zoopla", "/x")
    third = board.claim("zoopla", "/x")

    assert [plan.respond.kind if plan.respond else None for plan in (first, second, third)] == [
        "rate_limit",
        "server_error",
        None,
    ]
    assert [plan.latency_seconds for plan in (first, second, third)] == [0.005, 0.005, 0.0]


def test_changed_structure_is_read_from_the_board_when_no_middleware_ran() -> None:
    ctx = SandboxContext(SandboxConfig(faults=(FaultSpec("epc", "changed_structure"),)))
    scope = {"type": "http", "path": "/epc/api/x", "root_path": "/epc", "headers": []}

    assert ctx.changed_structure(Request(scope), "epc") is True
    assert ctx.changed_structure(Request(scope), "zoopla") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zoopla:challenge", FaultSpec("zoopla", "challenge")),
        ("openai:rate_limit:2", FaultSpec("openai", "rate_limit", count=2)),
    ],
)
def test_cli_fault_reads_upstream_kind_and_count(text: str, expected: FaultSpec) -> None:
    assert FaultSpec.from_cli(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("zoopla", "upstream:kind[:count]"),
        ("zoopla:teapot", "'teapot'"),
        ("zoopla:challenge:x", "'x'"),
        ("zoopla:challenge:0", "count 0"),
    ],
)
def test_cli_fault_names_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(FaultSpecError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        FaultSpec.from_cli(text)


def test_fault_from_the_control_api_refuses_a_fractional_retry_after() -> None:
    with pytest.raises(FaultSpecError, match="retry_after 1.5 must be a whole number"):
        FaultSpec.from_mapping({"upstream": "slack", "kind": "rate_limit", "retry_after": 1.5})


def test_sandbox_command_parses_its_options() -> None:
    parser = argparse.ArgumentParser()
    add_sandbox_command(parser.add_subparsers())

    args = parser.parse_args(
        ["sandbox", "--port", "9001", "--date", "2026-03-02", "--fault", "zoopla:challenge:3"]
    )

    assert (args.host, args.port, args.date) == ("127.0.0.1", 9001, SANDBOX_DAY)
    assert args.fault == [FaultSpec("zoopla", "challenge", count=3)]
    assert args.handler is run_sandbox_command


def test_sandbox_command_refuses_a_public_host(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_sandbox_command(parser.add_subparsers())
    args = parser.parse_args(["sandbox", "--host", "0.0.0.0"])

    assert run_sandbox_command(args) == 1
    assert "'0.0.0.0' is not a loopback address" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.com"])
def test_server_refuses_a_non_loopback_host(host: str) -> None:
    with pytest.raises(NonLoopbackHostError, match=f"{host!r} is not a loopback address"):
        SandboxServer(SandboxConfig(), host=host)


def test_two_servers_run_side_by_side_with_their_own_faults() -> None:
    with portal_server() as first, portal_server() as second:
        first.context.faults.add(FaultSpec("zoopla", "server_error"))

        from_first = httpx.get(f"{first.base_url}/zoopla/for-sale/page")
        from_second = httpx.get(f"{second.base_url}/zoopla/for-sale/page")

    assert first.port != second.port
    assert (from_first.status_code, from_second.status_code) == (503, 200)


def test_stopped_server_no_longer_answers() -> None:
    with portal_server() as running:
        url = f"{running.base_url}/_sandbox/health"
        assert httpx.get(url).status_code == 200

    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)


def test_client_urls_end_where_each_sdk_expects(server: SandboxServer) -> None:
    base = server.base_url

    assert server.url("openai") == f"{base}/openai/v1"
    assert server.url("slack") == f"{base}/slack/api/"
    assert server.url("rightmove") == f"{base}/rightmove"


def test_a_missing_upstream_module_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = dict(sandbox_app.UPSTREAM_ROUTES)
    routes["zoopla"] = ("property_pipeline.sandbox.no_such_portal", "routes")
    monkeypatch.setattr(sandbox_app, "UPSTREAM_ROUTES", routes)

    with pytest.raises(SandboxSetupError, match="property_pipeline.sandbox.no_such_portal"):
        load_routes_factory("zoopla")


def test_full_sandbox_serves_every_upstream_from_one_market() -> None:
    if importlib.util.find_spec("property_pipeline.sandbox.market") is None:
        skip_or_fail("property_pipeline.sandbox.market is not written yet")
    from property_pipeline.sandbox.market import MarketConfig

    config = SandboxConfig(market=MarketConfig(seed=7, listings=300), date=SANDBOX_DAY)
    with SandboxServer(config) as running:
        location = running.context.market.locations()[0]
        health = httpx.get(f"{running.base_url}/_sandbox/health").json()
        search = httpx.get(
            f"{running.url('rightmove')}/api/property-search/listing/search",
            params={"locationIdentifier": location.rightmove_id},
        )
        running.context.faults.add(FaultSpec("landregistry", "truncate", count=1))
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{running.url('landregistry')}/pp-monthly-update-new-version.csv")
        running.context.faults.add(FaultSpec("zoopla", "challenge", count=1))
        area = f"{running.url('zoopla')}/for-sale/property/{location.zoopla_slug}/"
        blocked, served = httpx.get(area), httpx.get(area)

    assert health["upstreams"] == list(sandbox_app.UPSTREAM_ROUTES)
    assert search.status_code == 200
    assert (blocked.status_code, blocked.headers["cf-mitigated"]) == (403, "challenge")
    assert served.status_code == 200
