"""The sandbox as one Starlette app: every upstream stand-in under its prefix, faults in front,
and a small control API under `/_sandbox/` for tests and people driving it by hand.

Upstream modules are imported only when the app is built, so a module that is missing or
broken stops the sandbox with an error naming it instead of breaking every import of this one.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from property_pipeline.sandbox import openai_api, slack_api
from property_pipeline.sandbox.context import (
    SandboxConfig,
    SandboxContext,
    SandboxSetupError,
    build_market,
)
from property_pipeline.sandbox.faults import (
    UPSTREAMS,
    FaultMiddleware,
    FaultSpec,
    FaultSpecError,
)

if TYPE_CHECKING:
    from property_pipeline.sandbox.market import Market

RoutesFactory = Callable[[SandboxContext], list[BaseRoute]]

# Where each upstream's routes come from: (module, function).
UPSTREAM_ROUTES = {
    "rightmove": ("property_pipeline.sandbox.rightmove", "routes"),
    "zoopla": ("property_pipeline.sandbox.zoopla", "routes"),
    "allsop": ("property_pipeline.sandbox.auctions", "allsop_routes"),
    "auctionhouse": ("property_pipeline.sandbox.auctions", "auctionhouse_routes"),
    "epc": ("property_pipeline.sandbox.epc", "routes"),
    "landregistry": ("property_pipeline.sandbox.land_registry", "routes"),
    "openai": ("property_pipeline.sandbox.openai_api", "routes"),
    "slack": ("property_pipeline.sandbox.slack_api", "routes"),
}
# Upstreams whose clients expect their own error envelope on a faulted 429 or 5xx.
ERROR_BODIES = {"openai": openai_api.fault_body, "slack": slack_api.fault_body}


def load_routes_factory(upstream: str) -> RoutesFactory:
    """Import the function that builds `upstream`'s routes, naming the module if that fails."""
    if upstream not in UPSTREAM_ROUTES:
        raise SandboxSetupError(f"no stand-in is known for upstream {upstream!r}")
    module_name, function_name = UPSTREAM_ROUTES[upstream]
    try:
        module = importlib.import_module(module_name)
    except (ImportError, SyntaxError) as error:
        raise SandboxSetupError(
            f"the {upstream!r} stand-in needs module {module_name}, which failed to import: {error}"
        ) from error
    factory = getattr(module, function_name, None)
    if not callable(factory):
        raise SandboxSetupError(
            f"module {module_name} has no {function_name}(ctx) for the {upstream!r} stand-in"
        )
    return factory


def standard_upstreams() -> dict[str, RoutesFactory]:
    """Every upstream stand-in the pipeline talks to, keyed by its mount prefix."""
    return {upstream: load_routes_factory(upstream) for upstream in UPSTREAM_ROUTES}


def build_app(
    config: SandboxConfig | None = None,
    *,
    upstreams: Mapping[str, RoutesFactory] | None = None,
    market: Market | None = None,
) -> Starlette:
    """The sandbox app; `app.state.sandbox` is its `SandboxContext`.

    With `upstreams` None every standard stand-in is mounted and the market is generated now,
    so the first scrape is not the slow one. Tests pass their own `upstreams` (a tiny route, or
    just the OpenAI and Slack stand-ins) and then the market is only built if a route asks.
    """
    if upstreams is None:
        upstreams = standard_upstreams()
        market = market or build_market((config or SandboxConfig()).market)
    ctx = SandboxContext(config, market=market)
    unknown = sorted(set(upstreams) - set(UPSTREAMS))
    if unknown:
        raise SandboxSetupError(f"unknown upstream prefixes {unknown}; known: {list(UPSTREAMS)}")

    mounts: list[BaseRoute] = [
        Mount(f"/{name}", routes=factory(ctx)) for name, factory in upstreams.items()
    ]
    mounts.append(Mount("/_sandbox", routes=control_routes(ctx, tuple(upstreams))))
    fault_layer = Middleware(
        FaultMiddleware, board=ctx.faults, upstreams=tuple(upstreams), error_bodies=ERROR_BODIES
    )
    app = Starlette(routes=mounts, middleware=[fault_layer])
    app.state.sandbox = ctx
    return app


def control_routes(ctx: SandboxContext, upstreams: tuple[str, ...]) -> list[BaseRoute]:
    """The `/_sandbox/` API: health, faults, and what the Slack and OpenAI stand-ins received."""

    async def health(request: Request) -> JSONResponse:
        day = ctx.market_date(request).isoformat()
        return JSONResponse({"status": "ok", "upstreams": list(upstreams), "date": day})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            ctx.faults.clear()
        elif request.method == "POST":
            try:
                specs = parse_fault_specs(await request.body())
            except FaultSpecError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            ids = {ctx.faults.add(spec) for spec in specs}
            added = [fault for fault in ctx.faults.active() if fault["id"] in ids]
            return JSONResponse({"faults": added}, status_code=201)
        return JSONResponse({"faults": ctx.faults.active()})

    async def remove_fault(request: Request) -> JSONResponse:
        fault_id = request.path_params["fault_id"]
        if not ctx.faults.remove(fault_id):
            return JSONResponse({"error": f"no active fault {fault_id!r}"}, status_code=404)
        return JSONResponse({"faults": ctx.faults.active()})

    async def slack_messages(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            ctx.slack_log.clear()
        files = [describe_file(record) for record in ctx.slack_log.files()]
        return JSONResponse({"messages": ctx.slack_log.messages(), "files": files})

    async def openai_requests(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            ctx.openai_requests.clear()
        return JSONResponse({"requests": ctx.openai_requests.entries()})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/faults/{fault_id}", remove_fault, methods=["DELETE"]),
        Route("/slack/messages", slack_messages, methods=["GET", "DELETE"]),
        Route("/openai/requests", openai_requests, methods=["GET", "DELETE"]),
    ]


def parse_fault_specs(body: bytes) -> list[FaultSpec]:
    """One fault object or a list of them, all checked before any is activated."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise FaultSpecError(f"fault body is not JSON: {error}") from error
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(item, dict) for item in items):
        raise FaultSpecError(f"fault body must be an object or a list of objects: {payload!r}")
    return [FaultSpec.from_mapping(item) for item in items]


def describe_file(record: dict[str, Any]) -> dict[str, Any]:
    """A shared Slack file as JSON: its bytes replaced by size, digest and text if readable."""
    content: bytes = record["content"]
    described = {key: value for key, value in record.items() if key != "content"}
    try:
        text: str | None = content.decode()
    except UnicodeDecodeError:
        text = None
    return described | {
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "text": text,
    }
