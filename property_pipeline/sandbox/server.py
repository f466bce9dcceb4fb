"""Running the sandbox: in a background thread for tests and the demo, or blocking for the CLI.

The server only ever listens on a loopback address: the stand-ins serve synthetic data in the
real upstreams' formats, and nothing outside this machine should mistake them for the real thing.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette

from property_pipeline.sandbox.app import RoutesFactory, build_app
from property_pipeline.sandbox.context import (
    SandboxConfig,
    SandboxContext,
    SandboxSetupError,
    read_sandbox_date,
)
from property_pipeline.sandbox.faults import UPSTREAMS, FaultSpec

if TYPE_CHECKING:
    from property_pipeline.sandbox.market import Market, MarketConfig

T = TypeVar("T")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_CLI_PORT = 8765
# Where each SDK expects its base URL to end: the OpenAI SDK appends "chat/completions" to
# ".../v1", slack_sdk appends "chat.postMessage" to ".../api/".
CLIENT_BASE_PATHS = {"openai": "/openai/v1", "slack": "/slack/api/"}
STARTUP_TIMEOUT_SECONDS = 30.0
# A fault holding a request open must not keep a stopping server waiting long.
GRACEFUL_SHUTDOWN_SECONDS = 2


class NonLoopbackHostError(ValueError):
    """The sandbox was asked to listen somewhere other than this machine's loopback."""


def require_loopback(host: str) -> str:
    """The host to bind if it is a loopback address ("localhost" means 127.0.0.1), else an
    error: the sandbox never listens where another machine could reach it."""
    if host == "localhost":
        return DEFAULT_HOST
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise NonLoopbackHostError(
            f"sandbox host {host!r} is not a loopback address; use 127.0.0.1, ::1 or localhost "
            "so the stand-ins stay on this machine"
        )
    return host


def base_url_for(host: str, port: int) -> str:
    """`http://host:port`, with an IPv6 host in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def client_url(base_url: str, upstream: str) -> str:
    """The base URL a client of `upstream` should be given (see CLIENT_BASE_PATHS)."""
    if upstream not in UPSTREAMS:
        raise ValueError(f"unknown upstream {upstream!r}; known: {', '.join(UPSTREAMS)}")
    return base_url + CLIENT_BASE_PATHS.get(upstream, f"/{upstream}")


def uvicorn_config(app: Starlette, host: str, port: int, log_level: str) -> uvicorn.Config:
    """Uvicorn settings shared by the threaded and the blocking server."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


class SandboxServer:
    """The sandbox on a loopback port in a background thread; use it as a context manager.

        with SandboxServer(SandboxConfig(date=dt.date(2026, 3, 2))) as server:
            client = openai.OpenAI(base_url=server.url("openai"), api_key="x")

    `port=0` picks a free port, so several servers can run side by side. `upstreams` and
    `market` are passed to `build_app` (tests mount a tiny upstream or a hand-made market).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        upstreams: Mapping[str, RoutesFactory] | None = None,
        market: Market | None = None,
    ) -> None:
        self.host = require_loopback(host)
        self.config = config or SandboxConfig()
        self._requested_port = port
        self._upstreams = upstreams
        self._market = market
        self._app: Starlette | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the sandbox server has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, the root every upstream is mounted under."""
        return base_url_for(self.host, self.port)

    @property
    def context(self) -> SandboxContext:
        """The running sandbox's context: its faults, Slack log, OpenAI requests and market."""
        if self._app is None:
            raise RuntimeError("the sandbox server has not been started")
        return self._app.state.sandbox

    def url(self, upstream: str) -> str:
        """The base URL to hand a client of `upstream`: `.../openai/v1`, `.../slack/api/`,
        `.../rightmove` and so on."""
        return client_url(self.base_url, upstream)

    def start(self) -> SandboxServer:
        """Build the app, bind the port, serve in a thread and return once healthy."""
        if self._thread is not None:
            raise RuntimeError(f"the sandbox server at {self.base_url} is already running")
        self._app = build_app(self.config, upstreams=self._upstreams, market=self._market)
        listener = bind_loopback(self.host, self._requested_port)
        self._port = listener.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self._app, self.host, self.port, "warning"))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [listener]},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_healthy()
        return self

    def stop(self) -> None:
        """Ask uvicorn to finish and wait for the thread; a no-op if not running."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        """Poll the health endpoint until it answers, failing fast if the thread died."""
        health = f"{self.base_url}/_sandbox/health"
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._thread is None or not self._thread.is_alive():
                raise SandboxSetupError(f"the sandbox server at {self.base_url} failed to start")
            try:
                if httpx.get(health, timeout=1.0, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise SandboxSetupError(
            f"the sandbox server at {self.base_url} was not healthy after "
            f"{STARTUP_TIMEOUT_SECONDS:.0f} s"
        )


def bind_loopback(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on the loopback host (port 0: the OS picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((require_loopback(host), port))
    except OSError as error:
        listener.close()
        raise SandboxSetupError(f"cannot listen on {base_url_for(host, port)}: {error}") from error
    return listener


def serve(config: SandboxConfig, host: str = DEFAULT_HOST, port: int = DEFAULT_CLI_PORT) -> None:
    """Run the sandbox in the foreground until interrupted (the CLI's `sandbox` command)."""
    host = require_loopback(host)
    app = build_app(config)
    _announce(host, port, config)
    uvicorn.Server(uvicorn_config(app, host, port, "info")).run()


def add_sandbox_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `sandbox` on the CLI: serve every stand-in on a loopback port until Ctrl-C."""
    parser = subparsers.add_parser(
        "sandbox",
        help="serve the offline stand-ins of every upstream on a loopback port",
        description="Serve Rightmove, Zoopla, the auction houses, EPC, Land Registry, OpenAI "
        "and Slack stand-ins from one synthetic market, on this machine only.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT, help="port to listen on")
    parser.add_argument("--seed", type=int, default=None, help="market seed (default: market's)")
    parser.add_argument(
        "--listings", type=int, default=None, help="number of listings (default: market's)"
    )
    parser.add_argument(
        "--date",
        type=_cli_type(lambda text: read_sandbox_date(text, "--date")),
        default=None,
        help="sandbox day, YYYY-MM-DD (default: today)",
    )
    parser.add_argument(
        "--fault",
        type=_cli_type(FaultSpec.from_cli),
        action="append",
        default=[],
        metavar="UPSTREAM:KIND[:COUNT]",
        help="start with a fault, e.g. zoopla:challenge or openai:rate_limit:2 (repeatable)",
    )
    parser.set_defaults(handler=run_sandbox_command)
    return parser


def run_sandbox_command(args: argparse.Namespace) -> int:
    """Serve the sandbox as the command line asked; 1 with a message if it cannot start."""
    try:
        host = require_loopback(args.host)
        config = SandboxConfig(
            market=_market_config(args.seed, args.listings),
            date=args.date,
            faults=tuple(args.fault),
        )
        serve(config, host, args.port)
    except (NonLoopbackHostError, SandboxSetupError) as error:
        sys.stderr.write(f"property-pipeline sandbox: {error}\n")
        return 1
    return 0


def _market_config(seed: int | None, listings: int | None) -> MarketConfig | None:
    """A MarketConfig with only the options given, or None for the market's defaults."""
    given = (("seed", seed), ("listings", listings))
    options = {name: value for name, value in given if value is not None}
    if not options:
        return None
    try:
        from property_pipeline.sandbox.market import MarketConfig
    except ImportError as error:
        raise SandboxSetupError(
            f"--seed/--listings need property_pipeline.sandbox.market: {error}"
        ) from error
    return MarketConfig(**options)


def _announce(host: str, port: int, config: SandboxConfig) -> None:
    base = base_url_for(host, port)
    lines = [f"sandbox on {base} (control API {base}/_sandbox/health)"]
    lines += [f"  {upstream:<13}{client_url(base, upstream)}" for upstream in UPSTREAMS]
    lines += [f"  fault        {spec.upstream}:{spec.kind}" for spec in config.faults]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _cli_type(read: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse `type` that reports the reader's ValueError as a usage error."""

    def convert(text: str) -> T:
        try:
            return read(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert
