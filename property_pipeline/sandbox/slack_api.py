"""Slack's Web API as `slack_sdk.WebClient` calls it, recording every post for tests.

Covers `chat.postMessage` (with message `metadata`), the three steps of `files_upload_v2`
(`files.getUploadURLExternal`, the upload POST, `files.completeUploadExternal`), `auth.test`,
`conversations.list` and `conversations.history`. Bodies
may be JSON, form-encoded or multipart, as the SDK sends them; answers use Slack's envelope,
HTTP 200 with `{"ok": false, "error": ...}` for API errors.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import hashlib
import json
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from property_pipeline.sandbox.context import SandboxContext

TEAM = {
    "team": "Property Pipeline Sandbox",
    "team_id": "T0SANDBOX1",
    "url": "https://sandbox.slack.com/",
}
BOT = {"user": "property-pipeline", "user_id": "U0SANDBOX1", "bot_id": "B0SANDBOX1"}
DEFAULT_CHANNELS = ("general", "deals")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
# Slack timestamps for the day start at 09:00 London, when the pipeline's alerts go out.
ALERT_HOUR = 9
LONDON = ZoneInfo("Europe/London")


def slack_error(code: str, **extra: Any) -> dict[str, Any]:
    """Slack's failure envelope, e.g. `{"ok": false, "error": "invalid_auth"}`."""
    return {"ok": False, "error": code, **extra}


def fault_body(status: int, route_path: str) -> tuple[bytes, str]:
    """How Slack words a rate limit or an outage, for the fault middleware."""
    code = "ratelimited" if status == 429 else "internal_error"
    return json.dumps(slack_error(code)).encode(), "application/json; charset=utf-8"


def channel_id(channel: str) -> str:
    """The stable channel ID for a name ("#deals" and "deals" alike); IDs pass through."""
    name = channel.lstrip("#")
    if CHANNEL_ID.match(name):
        return name
    return "C" + hashlib.sha1(name.encode()).hexdigest()[:10].upper()


class SlackLog:
    """Every message and file the Slack stand-in accepted, in order; thread-safe.

    It also issues message timestamps: one second apart from 09:00 London on the sandbox day
    and never going backwards, so the same run gives the same `ts` values.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._files: list[dict[str, Any]] = []
        self._uploads: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, str] = {channel_id(name): name for name in DEFAULT_CHANNELS}
        self._last_second = 0
        self._sequence = 0
        self._file_count = 0

    def next_ts(self, day: dt.date) -> str:
        """A new message timestamp ("1767258000.000001") later than every one issued before."""
        start = int(dt.datetime.combine(day, dt.time(ALERT_HOUR), tzinfo=LONDON).timestamp())
        with self._lock:
            self._sequence += 1
            self._last_second = max(start, self._last_second + 1)
            return f"{self._last_second}.{self._sequence:06d}"

    def note_channel(self, channel: str) -> str:
        """Remember a channel posted to and return its ID."""
        identifier = channel_id(channel)
        with self._lock:
            self._channels.setdefault(identifier, channel.lstrip("#"))
        return identifier

    def channels(self) -> dict[str, str]:
        """Channel ID to name, for every default channel and every one posted to."""
        with self._lock:
            return dict(self._channels)

    def record_message(self, message: dict[str, Any]) -> None:
        """Keep a posted message."""
        with self._lock:
            self._messages.append(message)

    def open_upload(self, file_id: str, filename: str, length: int) -> None:
        """Reserve a file ID for an upload announced by files.getUploadURLExternal."""
        with self._lock:
            self._uploads[file_id] = {"id": file_id, "name": filename, "length": length}

    def new_file_id(self) -> str:
        """The next file ID, F0SBX000001 onwards, never reused."""
        with self._lock:
            self._file_count += 1
            return f"F0SBX{self._file_count:06d}"

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        """Store an uploaded file's bytes; False when the ID was never issued."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return False
            upload["content"] = content
            return True

    def complete_upload(self, file_id: str, share: dict[str, Any]) -> dict[str, Any] | None:
        """Share an uploaded file; the stored record, or None when it was never uploaded."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or "content" not in upload:
                return None
            record = {**upload, **share}
            self._files.append(record)
            return record

    def messages(self) -> list[dict[str, Any]]:
        """Copies of the posted messages, oldest first."""
        with self._lock:
            return [dict(message) for message in self._messages]

    def files(self) -> list[dict[str, Any]]:
        """Copies of the shared files (with their bytes under "content"), oldest first."""
        with self._lock:
            return [dict(record) for record in self._files]

    def clear(self) -> None:
        """Forget messages, files, uploads and channels posted to; timestamps keep rising."""
        with self._lock:
            self._messages.clear()
            self._files.clear()
            self._uploads.clear()
            self._channels = {channel_id(name): name for name in DEFAULT_CHANNELS}


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Slack Web API methods under `/api/` and the upload URL that files.getUploadURLExternal
    hands out."""
    methods = {
        "chat.postMessage": post_message,
        "files.getUploadURLExternal": get_upload_url,
        "files.completeUploadExternal": complete_upload,
        "auth.test": auth_test,
        "conversations.list": conversations_list,
        "conversations.history": conversations_history,
    }

    def api_route(method: str) -> Route:
        handler = methods[method]

        async def endpoint(request: Request) -> JSONResponse:
            try:
                params = await read_params(request)
            except ValueError:
                return JSONResponse(slack_error("invalid_json"))
            if (failure := check_token(request, params)) is not None:
                return failure
            return handler(ctx, request, params)

        return Route(f"/api/{method}", endpoint, methods=["GET", "POST"])

    async def upload(request: Request) -> PlainTextResponse:
        content = await request.body()
        if not ctx.slack_log.receive_upload(request.path_params["file_id"], content):
            return PlainTextResponse("Not Found", status_code=404)
        return PlainTextResponse(f"OK - {len(content)}")

    async def unknown_method(request: Request) -> JSONResponse:
        return JSONResponse(slack_error("unknown_method"), status_code=404)

    return [
        *(api_route(method) for method in methods),
        Route("/upload/v1/{file_id}", upload, methods=["POST"]),
        Route("/api/{method}", unknown_method, methods=["GET", "POST"]),
    ]


async def read_params(request: Request) -> dict[str, Any]:
    """The call's arguments from the query string and a JSON, form or multipart body."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if not body:
        return params
    if content_type.startswith("application/json"):
        payload = json.loads(body)
        return params | (payload if isinstance(payload, dict) else {})
    if content_type.startswith("multipart/form-data"):
        return params | multipart_fields(content_type, body)
    return params | dict(parse_qsl(body.decode(), keep_blank_values=True))


def multipart_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a multipart/form-data body (file parts are not needed here)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name and part.get_filename() is None:
            fields[str(name)] = part.get_payload(decode=True).decode()
    return fields


def check_token(request: Request, params: dict[str, Any]) -> JSONResponse | None:
    """Slack's auth errors: `not_authed` without a token, `invalid_auth` for a non-Slack one."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header else str(params.get("token", ""))
    if not token:
        return JSONResponse(slack_error("not_authed"))
    if not re.match(r"^xox[abpre]-", token):
        return JSONResponse(slack_error("invalid_auth"))
    return None


def post_message(ctx: SandboxContext, request: Request, params: dict[str, Any]) -> JSONResponse:
    """chat.postMessage: record the message and echo it back with its channel ID and ts."""
    channel = str(params.get("channel", ""))
    if not channel:
        return JSONResponse(slack_error("channel_not_found"))
    blocks = _decoded(params.get("blocks"))
    attachments = _decoded(params.get("attachments"))
    text = params.get("text")
    if not text and not blocks and not attachments:
        return JSONResponse(slack_error("no_text"))

    ts = ctx.slack_log.next_ts(ctx.market_date(request))
    message = {"type": "message", "text": text or "", "ts": ts, **_bot_fields()}
    message |= {"blocks": blocks} if blocks else {}
    message |= {"attachments": attachments} if attachments else {}
    message |= {"thread_ts": params["thread_ts"]} if params.get("thread_ts") else {}
    metadata = _decoded_object(params.get("metadata"))
    message |= {"metadata": metadata} if metadata else {}
    identifier = ctx.slack_log.note_channel(channel)
    ctx.slack_log.record_message({**message, "channel": identifier, "channel_name": channel})
    return JSONResponse({"ok": True, "channel": identifier, "ts": ts, "message": message})


def get_upload_url(ctx: SandboxContext, request: Request, params: dict[str, Any]) -> JSONResponse:
    """files.getUploadURLExternal: issue a file ID and an upload URL on this server."""
    filename = str(params.get("filename", ""))
    length = str(params.get("length", ""))
    if not filename or not length.isdigit():
        detail = {"messages": ["[ERROR] filename and a numeric length are required"]}
        return JSONResponse(slack_error("invalid_arguments", response_metadata=detail))

    file_id = ctx.slack_log.new_file_id()
    ctx.slack_log.open_upload(file_id, filename, int(length))
    root = request.scope.get("root_path", "")
    upload_url = request.url.replace(path=f"{root}/upload/v1/{file_id}", query="")
    return JSONResponse({"ok": True, "upload_url": str(upload_url), "file_id": file_id})


def complete_upload(ctx: SandboxContext, request: Request, params: dict[str, Any]) -> JSONResponse:
    """files.completeUploadExternal: share the uploaded files to the channel and describe them."""
    try:
        wanted = json.loads(str(params.get("files", "")))
    except json.JSONDecodeError:
        return JSONResponse(slack_error("invalid_arguments"))
    channel = str(params.get("channel_id") or params.get("channels") or "")
    channels = [ctx.slack_log.note_channel(channel)] if channel else []
    share = {
        "channels": channels,
        "initial_comment": params.get("initial_comment"),
        "thread_ts": params.get("thread_ts"),
        "timestamp": ctx.slack_log.next_ts(ctx.market_date(request)),
    }

    described = []
    for item in wanted:
        title = item.get("title") or None
        record = ctx.slack_log.complete_upload(str(item.get("id")), share | {"title": title})
        if record is None:
            return JSONResponse(slack_error("file_not_found"))
        described.append(_file_object(record))
    return JSONResponse({"ok": True, "files": described})


def auth_test(ctx: SandboxContext, request: Request, params: dict[str, Any]) -> JSONResponse:
    """auth.test: who the token belongs to."""
    return JSONResponse({"ok": True, **TEAM, **BOT, "is_enterprise_install": False})


def conversations_list(
    ctx: SandboxContext, request: Request, params: dict[str, Any]
) -> JSONResponse:
    """conversations.list: the default channels and every channel posted to, one page."""
    channels = [
        {
            "id": identifier,
            "name": name,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_member": True,
        }
        for identifier, name in sorted(ctx.slack_log.channels().items(), key=lambda c: c[1])
    ]
    return JSONResponse(
        {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
    )


def conversations_history(
    ctx: SandboxContext, request: Request, params: dict[str, Any]
) -> JSONResponse:
    """conversations.history: a channel's messages, newest first, between `oldest` and `latest`
    (exclusive), up to `limit`; message metadata only with `include_all_metadata`, as Slack."""
    channel = str(params.get("channel", ""))
    if not channel:
        return JSONResponse(slack_error("channel_not_found"))
    identifier = channel_id(channel)
    oldest = float(params.get("oldest") or 0)
    latest = float(params.get("latest") or "inf")
    limit = int(params.get("limit") or 100)
    with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}

    found = [
        {key: value for key, value in message.items() if key not in {"channel", "channel_name"}}
        for message in reversed(ctx.slack_log.messages())
        if message["channel"] == identifier and oldest < float(message["ts"]) < latest
    ]
    if not with_metadata:
        found = [{k: v for k, v in message.items() if k != "metadata"} for message in found]
    return JSONResponse(
        {
            "ok": True,
            "messages": found[:limit],
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }
    )


def _decoded_object(value: Any) -> dict[str, Any] | None:
    """Message metadata arrives as an object in JSON bodies and as JSON text in form bodies."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def _file_object(record: dict[str, Any]) -> dict[str, Any]:
    """The file object Slack returns for a shared upload."""
    name = record["name"]
    return {
        "id": record["id"],
        "name": name,
        "title": record["title"] or name,
        "mimetype": "text/plain"
        if name.endswith((".txt", ".csv", ".md"))
        else "application/octet-stream",
        "filetype": name.rsplit(".", 1)[-1] if "." in name else "binary",
        "size": len(record["content"]),
        "user": BOT["user_id"],
        "mode": "hosted",
        "is_external": False,
        "channels": record["channels"],
        "timestamp": int(float(record["timestamp"])),
    }


def _bot_fields() -> dict[str, str]:
    return {"user": BOT["user_id"], "bot_id": BOT["bot_id"], "team": TEAM["team_id"]}


def _decoded(value: Any) -> Any:
    """Blocks and attachments arrive as JSON text in form bodies and as lists in JSON bodies."""
    if isinstance(value, str) and value.strip().startswith("["):
        return json.loads(value)
    return value or None
