"""Upstream misbehaviour on demand: the failures a scraper meets in the wild, made repeatable.

A `FaultSpec` says which upstream misbehaves, how, on which paths and for how many requests; the
`FaultBoard` holds the active ones and hands each request the faults it should suffer; the
`FaultMiddleware` (pure ASGI, so streamed bodies can be cut) applies them in front of the upstream
routes. Everything is counted, never random, so a test that asks for "the next two requests
fail" gets exactly that.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Mount prefixes of the stand-ins, in the order the app mounts them.
UPSTREAMS = (
    "rightmove",
    "zoopla",
    "allsop",
    "auctionhouse",
    "epc",
    "landregistry",
    "openai",
    "slack",
)
EVERY_UPSTREAM = "*"

# Faults that answer in place of the upstream; the first one added wins a request.
RESPONSE_KINDS = ("timeout", "rate_limit", "server_error", "challenge")
# Faults that let the upstream answer but spoil the answer.
SPOILING_KINDS = ("truncate", "changed_structure")
FAULT_KINDS = ("latency", *RESPONSE_KINDS, *SPOILING_KINDS)

DEFAULT_DURATION_MS = {"latency": 1_000, "timeout": 120_000}
DEFAULT_STATUS = {"timeout": 504, "rate_limit": 429, "server_error": 503, "challenge": 403}

# The hostname Cloudflare names as the protected zone in its challenge page.
CHALLENGE_ZONES = {
    "rightmove": "www.rightmove.co.uk",
    "zoopla": "www.zoopla.co.uk",
    "allsop": "www.allsop.co.uk",
    "auctionhouse": "www.auctionhouse.co.uk",
}

FAULT_SCOPE_KEY = "sandbox.faults"

# How an upstream words an error: (status, route path) -> (body, content type).
ErrorBody = Callable[[int, str], tuple[bytes, str]]


class FaultSpecError(ValueError):
    """A fault description that names an unknown upstream or kind, or an impossible setting."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One kind of misbehaviour for one upstream (or "*" for all), for `count` requests or forever.

    `path_prefix` is matched against the path below the upstream's mount ("/api/search", not
    "/allsop/api/search"). `duration_ms` is the added delay for latency and the hold for timeout;
    `status` overrides the status of timeout (504), server_error (503) and challenge (403; 200
    gives the "soft" challenge); `retry_after` is the Retry-After seconds of a rate_limit;
    `keep_bytes` is how much of a truncated body is sent (half of it when None).
    """

    upstream: str
    kind: str
    count: int | None = None
    path_prefix: str = ""
    duration_ms: int | None = None
    status: int | None = None
    retry_after: int = 1
    keep_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.upstream not in (*UPSTREAMS, EVERY_UPSTREAM):
            raise FaultSpecError(
                f"fault upstream {self.upstream!r} is unknown; use one of {', '.join(UPSTREAMS)} "
                f"or {EVERY_UPSTREAM!r}"
            )
        if self.kind not in FAULT_KINDS:
            raise FaultSpecError(
                f"fault kind {self.kind!r} is unknown; use one of {', '.join(FAULT_KINDS)}"
            )
        if self.path_prefix and not self.path_prefix.startswith("/"):
            raise FaultSpecError(f"fault path_prefix {self.path_prefix!r} must start with '/'")
        _check_numbers(self)
        _check_status(self.kind, self.status)

    @property
    def delay_seconds(self) -> float:
        """The latency added, or the time a timeout holds the request, in seconds."""
        duration = self.duration_ms
        if duration is None:
            duration = DEFAULT_DURATION_MS.get(self.kind, 0)
        return duration / 1000

    @property
    def response_status(self) -> int:
        """The HTTP status a responding fault answers with."""
        return self.status if self.status is not None else DEFAULT_STATUS.get(self.kind, 200)

    def matches(self, upstream: str, route_path: str) -> bool:
        """Whether a request to `route_path` under `upstream` is one this fault targets."""
        if self.upstream not in (upstream, EVERY_UPSTREAM):
            return False
        return route_path.startswith(self.path_prefix)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> FaultSpec:
        """Build a spec from the control API's JSON object, naming any key it does not know."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultSpecError(
                f"fault has unknown keys {unknown}; known keys are {sorted(known)}"
            )
        missing = [key for key in ("upstream", "kind") if key not in data]
        if missing:
            raise FaultSpecError(f"fault is missing {missing}: {dict(data)!r}")
        try:
            return cls(**data)  # type: ignore[arg-type]
        except TypeError as error:
            raise FaultSpecError(f"fault {dict(data)!r} is malformed: {error}") from error

    @classmethod
    def from_cli(cls, text: str) -> FaultSpec:
        """Parse the command line's `upstream:kind[:count]`, e.g. `zoopla:challenge:3`."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise FaultSpecError(
                f"--fault {text!r} should look like upstream:kind[:count], e.g. zoopla:challenge:3"
            )
        count = None
        if len(parts) == 3:
            if not parts[2].isdigit():
                raise FaultSpecError(f"--fault {text!r}: count {parts[2]!r} is not a number")
            count = int(parts[2])
        return cls(upstream=parts[0], kind=parts[1], count=count)


def _check_numbers(spec: FaultSpec) -> None:
    """Whole numbers only; a count of at least one, nothing negative."""
    for name, lowest in (
        ("count", 1),
        ("duration_ms", 0),
        ("status", 0),
        ("retry_after", 0),
        ("keep_bytes", 0),
    ):
        value = getattr(spec, name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise FaultSpecError(f"fault {name} {value!r} must be a whole number")
        if value < lowest:
            raise FaultSpecError(f"fault {name} {value} must be {lowest} or more")


def _check_status(kind: str, status: int | None) -> None:
    """Refuse a status that would turn the fault into something else."""
    if status is None:
        return
    allowed = {
        "timeout": range(500, 600),
        "server_error": range(500, 600),
        "challenge": (200, 403, 503),
    }.get(kind)
    if allowed is None or status not in allowed:
        raise FaultSpecError(f"fault status {status} does not fit kind {kind!r}")


@dataclass(slots=True)
class _ActiveFault:
    fault_id: str
    spec: FaultSpec
    remaining: int | None
    applied: int = 0


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The faults one request suffers: total added latency, at most one answering fault, and
    at most one of each spoiling kind."""

    latency_seconds: float = 0.0
    respond: FaultSpec | None = None
    truncate: FaultSpec | None = None
    changed_structure: bool = False
    applied_ids: tuple[str, ...] = field(default_factory=tuple)


class FaultBoard:
    """The active faults of one sandbox, shared by the middleware and the control API.

    Thread-safe: the server thread claims faults while tests add and clear them.
    """

    def __init__(self, specs: Iterable[FaultSpec] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[_ActiveFault] = []
        self._next_id = 1
        for spec in specs:
            self.add(spec)

    def add(self, spec: FaultSpec) -> str:
        """Activate a fault and return its id for later removal."""
        with self._lock:
            fault_id = f"fault-{self._next_id}"
            self._next_id += 1
            self._faults.append(_ActiveFault(fault_id, spec, spec.count))
        return fault_id

    def remove(self, fault_id: str) -> bool:
        """Deactivate one fault; False when no active fault has that id."""
        with self._lock:
            before = len(self._faults)
            self._faults = [fault for fault in self._faults if fault.fault_id != fault_id]
            return len(self._faults) < before

    def clear(self) -> None:
        """Deactivate every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict[str, object]]:
        """The active faults as JSON-ready dicts, with how many requests each has left."""
        with self._lock:
            return [
                {"id": fault.fault_id, "remaining": fault.remaining, "applied": fault.applied}
                | asdict(fault.spec)
                for fault in self._faults
            ]

    def is_active(self, upstream: str, route_path: str, kind: str) -> bool:
        """Whether a fault of `kind` would apply to such a request, without using it up."""
        with self._lock:
            return any(
                fault.spec.kind == kind and fault.spec.matches(upstream, route_path)
                for fault in self._faults
            )

    def claim(self, upstream: str, route_path: str) -> FaultPlan:
        """Decide the faults for one request and count them as used.

        Every matching latency fault adds its delay. The oldest matching answering fault
        replaces the upstream's response; only without one do truncate and changed_structure
        apply, since the upstream must answer for its answer to be spoiled.
        """
        with self._lock:
            matching = [f for f in self._faults if f.spec.matches(upstream, route_path)]
            latency = [f for f in matching if f.spec.kind == "latency"]
            respond = next((f for f in matching if f.spec.kind in RESPONSE_KINDS), None)
            spoiling: list[_ActiveFault] = []
            if respond is None:
                for kind in SPOILING_KINDS:
                    first = next((f for f in matching if f.spec.kind == kind), None)
                    spoiling += [first] if first else []
            used = [*latency, *([respond] if respond else []), *spoiling]
            self._use(used)

        return FaultPlan(
            latency_seconds=sum(fault.spec.delay_seconds for fault in latency),
            respond=respond.spec if respond else None,
            truncate=next((f.spec for f in spoiling if f.spec.kind == "truncate"), None),
            changed_structure=any(f.spec.kind == "changed_structure" for f in spoiling),
            applied_ids=tuple(fault.fault_id for fault in used),
        )

    def _use(self, used: list[_ActiveFault]) -> None:
        """Count one application of each fault and retire those whose count ran out."""
        for fault in used:
            fault.applied += 1
            if fault.remaining is not None:
                fault.remaining -= 1
        self._faults = [fault for fault in self._faults if fault.remaining != 0]


def split_upstream(path: str, upstreams: Iterable[str]) -> tuple[str | None, str]:
    """Split "/zoopla/for-sale/x" into ("zoopla", "/for-sale/x"); (None, path) off any mount."""
    head, _, rest = path.lstrip("/").partition("/")
    if head not in upstreams:
        return None, path
    return head, "/" + rest


def default_error_body(upstream: str, status: int, route_path: str) -> tuple[bytes, str]:
    """The error body for upstreams without their own: the EPC register's `errors` list, a
    small JSON object for other APIs, an HTML page for web pages."""
    reason = _reason(status)
    if upstream == "epc":
        return json.dumps({"errors": [{"code": reason}]}).encode(), "application/json"
    if "/api/" in route_path:
        return json.dumps({"status": status, "error": reason}).encode(), "application/json"
    page = f"<!DOCTYPE html><html><head><title>{status} {reason}</title></head>"
    page += f"<body><h1>{reason}</h1></body></html>"
    return page.encode(), "text/html; charset=utf-8"


def challenge_page(upstream: str, route_path: str) -> bytes:
    """A Cloudflare managed-challenge interstitial, the page a plain HTTP client is shown.

    It carries the markers block detectors look for: the "Just a moment..." title, the
    `_cf_chl_opt` bootstrap object and the Ray ID footer.
    """
    zone = CHALLENGE_ZONES.get(upstream, f"www.{upstream}.co.uk")
    ray = challenge_ray(upstream, route_path)
    options = json.dumps({"cvId": "3", "cZone": zone, "cType": "managed", "cRay": ray})
    return (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta charset="UTF-8"><meta name="robots" content="noindex,nofollow">'
        '<meta http-equiv="refresh" content="360"></head><body>'
        f'<main class="challenge"><h1>{zone}</h1>'
        "<p>Checking that the connection is secure before continuing.</p>"
        '<noscript><p id="challenge-error-text">Enable JavaScript and cookies to continue'
        "</p></noscript>"
        f"<footer>Performance and security by Cloudflare. Cloudflare Ray ID: <code>{ray}</code>"
        "</footer></main>"
        f"<script>window._cf_chl_opt = {options};"
        "var s = document.createElement('script');"
        f"s.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray={ray}';"
        "document.head.appendChild(s);</script></body></html>"
    ).encode()


def challenge_headers(upstream: str, route_path: str) -> list[tuple[bytes, bytes]]:
    """The headers that mark a Cloudflare challenge whatever the body says."""
    return [
        (b"cf-mitigated", b"challenge"),
        (b"server", b"cloudflare"),
        (b"cf-ray", f"{challenge_ray(upstream, route_path)}-LHR".encode()),
        (b"cache-control", b"private, max-age=0, no-store, no-cache, must-revalidate"),
    ]


def challenge_ray(upstream: str, route_path: str) -> str:
    """A stable Ray ID for a path, in Cloudflare's 16-hex-digit form."""
    return hashlib.sha256(f"{upstream}{route_path}".encode()).hexdigest()[:16]


def _reason(status: int) -> str:
    reasons = {
        403: "Forbidden",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return reasons.get(status, "Error")


class FaultMiddleware:
    """Pure ASGI middleware applying the board's faults to requests under upstream mounts.

    Paths outside the upstream mounts (the `/_sandbox/` control API) are never faulted. The plan
    is left in the scope so `SandboxContext.changed_structure` can read it. `error_bodies` lets
    an upstream word its 429 and 5xx answers the way its clients expect.
    """

    def __init__(
        self,
        app: ASGIApp,
        board: FaultBoard,
        upstreams: Iterable[str],
        error_bodies: Mapping[str, ErrorBody] | None = None,
    ) -> None:
        self.app = app
        self.board = board
        self.upstreams = frozenset(upstreams)
        self.error_bodies = dict(error_bodies or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upstream, route_path = split_upstream(scope["path"], self.upstreams)
        if upstream is None:
            await self.app(scope, receive, send)
            return

        plan = self.board.claim(upstream, route_path)
        scope[FAULT_SCOPE_KEY] = plan
        if plan.latency_seconds:
            await anyio.sleep(plan.latency_seconds)

        if plan.respond is not None:
            await self._answer(plan.respond, upstream, route_path, receive, send)
            return
        if plan.truncate is not None:
            await self.app(scope, receive, TruncatingSend(send, plan.truncate.keep_bytes))
            return
        await self.app(scope, receive, send)

    async def _answer(
        self, spec: FaultSpec, upstream: str, route_path: str, receive: Receive, send: Send
    ) -> None:
        """Answer in the upstream's place: hold for a timeout, else a 429, 5xx or challenge."""
        if spec.kind == "timeout" and await _client_gave_up(receive, spec.delay_seconds):
            return

        if spec.kind == "challenge":
            body, content_type = challenge_page(upstream, route_path), "text/html; charset=UTF-8"
            headers = challenge_headers(upstream, route_path)
        else:
            body, content_type = self._error_body(upstream, spec.response_status, route_path)
            headers = []
        if spec.kind == "rate_limit":
            headers.append((b"retry-after", str(spec.retry_after).encode()))

        headers += [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send(
            {"type": "http.response.start", "status": spec.response_status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    def _error_body(self, upstream: str, status: int, route_path: str) -> tuple[bytes, str]:
        word_error = self.error_bodies.get(upstream)
        if word_error is None:
            return default_error_body(upstream, status, route_path)
        return word_error(status, route_path)


async def _client_gave_up(receive: Receive, hold_seconds: float) -> bool:
    """Hold the request open; True when the client disconnects before `hold_seconds`."""
    with anyio.move_on_after(hold_seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return True
    return False


class TruncatingSend:
    """An ASGI `send` that passes the headers (with the full Content-Length) and only the first
    part of the body, then stops, so the server drops the connection mid-body.

    `keep_bytes` None keeps half: of the declared length, or of the first chunk when streamed.
    """

    def __init__(self, send: Send, keep_bytes: int | None) -> None:
        self._send = send
        self._keep = keep_bytes
        self._declared: int | None = None
        self._sent = 0
        self._cut = False

    async def __call__(self, message: Message) -> None:
        if self._cut:
            return
        if message["type"] == "http.response.start":
            self._declared = _content_length(message.get("headers", []))
            await self._send(message)
            return
        if message["type"] != "http.response.body":
            await self._send(message)
            return

        body: bytes = message.get("body", b"")
        limit = self._limit(body)
        room = limit - self._sent
        if len(body) < room or (len(body) == room and message.get("more_body", False)):
            self._sent += len(body)
            await self._send(message)
            return
        self._cut = True
        await self._send({"type": "http.response.body", "body": body[:room], "more_body": True})

    def _limit(self, first_body: bytes) -> int:
        if self._keep is None:
            self._keep = (self._declared if self._declared is not None else len(first_body)) // 2
        return self._keep


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value)
    return None
