"""Durable Slack delivery: messages are queued in the warehouse once, then sent oldest first.

A message is queued under a key (`hot:<listing>:<price>`, `digest:<date>`...) and never twice,
so a sensor restart, a rematerialisation or a backfill cannot repeat it. Delivery marks a
message `sending` before the Slack call and `sent` with Slack's `ts` after it. Slack down or
rate limited: the message goes back to `queued` with `next_attempt_at` (Retry-After, or an
exponential backoff) and everything behind it waits, so order is kept and nothing is lost. A
permanent Slack error (bad token, unknown channel) leaves the message `failed` with the error,
logged as an error, until `requeue` is called. Without a token messages are written to the log
and kept as `logged`.

A crash between the Slack call and the `sent` mark leaves `sending`, and an answer that cannot be
read (cut short, garbled, a timeout) leaves `unconfirmed`: once a `sending` claim is older than
SENDING_LEASE, or an `unconfirmed` message's backoff is over, the next delivery looks the message
up in the channel's recent history by the key it carries in Slack message metadata, and only
posts it if it is not there. What remains: the
look-up reads the newest HISTORY_LOOKUP_LIMIT messages of the channel (needs the channels:history
scope; without it the message is posted again, with a warning), and a crash during a file upload
(`uploading`) uploads the file again, since uploads carry no metadata.

Sensors run in the daemon while runs write the same DuckDB file, and DuckDB admits one writing
process: every step here opens the warehouse briefly and `WarehouseBusy` says it stayed locked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.warehouse import store
from property_pipeline.warehouse.resource import WarehouseResource

CHANNELS = ("deals", "digest", "stats", "alerts")
METADATA_EVENT = "property_pipeline_outbox"
# How long a sensor waits for a run to release the warehouse before skipping its tick.
LOCK_WAIT_SECONDS = 10.0
# A `sending` claim older than this belongs to a delivery that died (Slack calls time out in 10 s).
SENDING_LEASE = dt.timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
HISTORY_LOOKUP_LIMIT = 200
LOG_TEXT_LIMIT = 500
SPOOL_FOLDER = "outbox_spool"
# Slack errors worth retrying; any other `ok: false` error will not fix itself.
TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
UNSENT = ("queued", "unconfirmed", "sending", "posted", "uploading")

logger = logging.getLogger(__name__)


class Log(Protocol):
    """What deliver() logs through: a logging.Logger or a Dagster context's log."""

    def info(self, msg: str) -> Any: ...
    def warning(self, msg: str) -> Any: ...
    def error(self, msg: str) -> Any: ...


Connector = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class WarehouseBusy(RuntimeError):
    """The warehouse file stayed locked by another process; try again on the next tick."""


@dataclass
class DeliveryReport:
    """What one delivery pass did, by message key, and why it stopped early if it did."""

    sent: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    imported: int = 0
    waiting: int = 0  # of the messages this pass read (at most `limit`)
    stopped_because: str = ""

    def summary(self) -> str:
        """One line for logs and skip reasons."""
        text = (
            f"sent {len(self.sent)}, logged {len(self.logged)}, failed {len(self.failed)},"
            f" deferred {len(self.deferred)}, still queued {self.waiting}"
        )
        return text + (f" ({self.stopped_because})" if self.stopped_because else "")


def utcnow() -> dt.datetime:
    """Now in UTC without a zone, as the outbox stores times."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@contextmanager
def brief_connection(
    database: str, wait_seconds: float | None = None, config: dict[str, Any] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short connection to the warehouse file, schema in place, closed on exit.

    Retries the open for `wait_seconds` (LOCK_WAIT_SECONDS) while a run holds the file, then
    raises WarehouseBusy, so a sensor can skip its tick without losing anything.
    """
    wait = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    pause = 0.05
    # The same configuration as DuckDBResource: a process may open a file only one way.
    options = {"custom_user_agent": "dagster", **(config or {})}
    while True:
        try:
            conn = duckdb.connect(database, config=options)
            break
        except duckdb.IOException as error:
            if time.monotonic() + pause > deadline:
                raise WarehouseBusy(
                    f"warehouse {database} stayed locked for {wait:.0f}s: {error}"
                ) from error
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
    try:
        # Creating the schema costs as much as opening the file; once per process is enough.
        if database not in _SCHEMA_READY:
            store.create_schema(conn)
            _SCHEMA_READY.add(database)
        yield conn
    finally:
        conn.close()


_SCHEMA_READY: set[str] = set()


def connector_for(target: WarehouseResource | str | Connector) -> Connector:
    """Brief connections to a warehouse resource or file path; a factory passes through."""
    if isinstance(target, WarehouseResource):
        return lambda: brief_connection(target.database, config=target.connection_config)
    if isinstance(target, str | Path):
        return lambda: brief_connection(str(target))
    return target


def spool_folder(target: WarehouseResource | str | Connector) -> Path | None:
    """Where messages wait when the warehouse is locked: next to the warehouse file."""
    database = target.database if isinstance(target, WarehouseResource) else target
    if not isinstance(database, str | Path) or str(database) == ":memory:":
        return None
    return Path(database).parent / SPOOL_FOLDER


def enqueue(
    conn: duckdb.DuckDBPyConnection,
    *,
    key: str,
    channel: str,
    text: str,
    blocks: list[dict] | None = None,
    file_path: str | None = None,
    file_title: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Queue one message once: returns False when a message with this key was queued before.

    `channel` is a logical channel (CHANNELS); `text` is the fallback Slack shows in
    notifications (required with blocks); `file_path` is uploaded to the channel after the text.
    """
    if channel not in CHANNELS:
        raise ValueError(f"message {key!r}: channel {channel!r} is not one of {CHANNELS}")
    if not text.strip():
        raise ValueError(f"message {key!r}: text is empty; Slack needs a fallback text")
    queued_at = now or utcnow()
    inserted = conn.execute(
        """
        insert into notify_outbox (
            message_key, channel, text, blocks, file_path, file_title,
            status, attempts, next_attempt_at, queued_at
        )
        values ($key, $channel, $text, $blocks, $file_path, $file_title,
            'queued', 0, $queued_at, $queued_at)
        on conflict do nothing
        """,
        {
            "key": key,
            "channel": channel,
            "text": text,
            "blocks": json.dumps(blocks) if blocks else None,
            "file_path": file_path,
            "file_title": file_title,
            "queued_at": queued_at,
        },
    ).fetchone()[0]
    return inserted == 1


def spool(folder: Path, **message: Any) -> Path:
    """Keep a message in a file when the warehouse is locked; the next delivery queues it.

    Takes enqueue()'s keyword arguments (key, channel, text, blocks, file_path, file_title).
    """
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{uuid.uuid4().hex}.tmp"
    partial.write_text(json.dumps(message))
    final = folder / f"{uuid.uuid4().hex}.json"
    partial.rename(final)
    return final


def import_spool(conn: duckdb.DuckDBPyConnection, folder: Path | None) -> int:
    """Queue the spooled messages (once each, by key) and remove their files."""
    if folder is None or not folder.is_dir():
        return 0
    imported = 0
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
        imported += enqueue(conn, **json.loads(path.read_text()))
        path.unlink()
    return imported


def requeue(
    conn: duckdb.DuckDBPyConnection,
    *,
    statuses: tuple[str, ...] = ("failed",),
    keys: list[str] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Put failed (or logged) messages back in the queue, e.g. after fixing the token."""
    return conn.execute(
        """
        update notify_outbox
        set status = 'queued', next_attempt_at = $now, claimed_at = null, last_error = null
        where list_contains($statuses, status)
            and ($keys is null or list_contains($keys, message_key))
        """,
        {"statuses": list(statuses), "keys": keys, "now": now or utcnow()},
    ).fetchone()[0]


def outbox_rows(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every message in queue order, as dicts (for tests and the command line)."""
    cursor = conn.execute("select * from notify_outbox order by id")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def deliver(
    conn_factory_or_warehouse: WarehouseResource | str | Connector,
    slack: SlackNotifier,
    *,
    now: dt.datetime | None = None,
    limit: int = 50,
    log: Log | None = None,
) -> DeliveryReport:
    """Send up to `limit` due messages oldest first; see the module docstring for the rules.

    Raises WarehouseBusy when the warehouse stays locked; what was sent before is recorded.
    """
    connect = connector_for(conn_factory_or_warehouse)
    moment = now or utcnow()
    log = log or logger
    report = DeliveryReport()

    with connect() as conn:
        report.imported = import_spool(conn, spool_folder(conn_factory_or_warehouse))
        due = _unsent(conn, limit)

    if not slack.configured:
        _log_instead(connect, due, report, log)
        return report

    sender = _Sender(slack, log)
    for message in due:
        stop = _deliver_one(connect, sender, message, moment, report, log)
        if stop:
            report.stopped_because = stop
            break

    finished = {*report.sent, *report.failed}
    report.waiting = sum(message["message_key"] not in finished for message in due)
    return report


def _unsent(conn: duckdb.DuckDBPyConnection, limit: int) -> list[dict[str, Any]]:
    cursor = conn.execute(
        "select * from notify_outbox where list_contains($unsent, status) order by id limit $n",
        {"unsent": list(UNSENT), "n": limit},
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _log_instead(
    connect: Connector, due: list[dict[str, Any]], report: DeliveryReport, log: Log
) -> None:
    """No token: write each queued message to the log and keep it as `logged`."""
    queued = [message for message in due if message["status"] == "queued"]
    for message in queued:
        log.info(
            f"Slack not connected (set SLACK_BOT_TOKEN): [{message['channel']}]"
            f" {_clip(message['text'])}"
        )
    if queued:
        with connect() as conn:
            conn.execute(
                """
                update notify_outbox
                set status = 'logged'
                where list_contains($keys, message_key)
                """,
                {"keys": [message["message_key"] for message in queued]},
            )
    report.logged = [message["message_key"] for message in queued]


def _deliver_one(
    connect: Connector,
    sender: _Sender,
    message: dict[str, Any],
    now: dt.datetime,
    report: DeliveryReport,
    log: Log,
) -> str:
    """Send one message; returns why the pass must stop here ("" to go on)."""
    key, status = message["message_key"], message["status"]
    claimed_at = message["claimed_at"]
    if status in ("sending", "uploading") and claimed_at and now - claimed_at < SENDING_LEASE:
        return f"{key} is being sent by another delivery"
    if status in ("queued", "unconfirmed", "posted") and message["next_attempt_at"] > now:
        return f"{key} waits until {message['next_attempt_at']:%Y-%m-%d %H:%M:%S} UTC"

    step = "uploading" if status in ("posted", "uploading") else "sending"
    with connect() as conn:
        if not _claim(conn, message, step, now):
            return f"{key} was claimed by another delivery"

    try:
        channel_id, ts = message["slack_channel"], message["slack_ts"]
        if step == "sending":
            recovering = status in ("sending", "unconfirmed")
            channel_id, ts = sender.post(message, recovering=recovering)
            if message["file_path"]:
                with connect() as conn:
                    _record_post(conn, key, channel_id, ts, now)
        if message["file_path"]:
            sender.upload(message, channel_id)
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the message
        return _record_failure(connect, message, step, error, now, report, log)

    with connect() as conn:
        _mark_sent(conn, key, channel_id, ts)
    report.sent.append(key)
    return ""


def _claim(
    conn: duckdb.DuckDBPyConnection, message: dict[str, Any], step: str, now: dt.datetime
) -> bool:
    """Mark the message as being sent, only if nobody changed it since it was read."""
    changed = conn.execute(
        """
        update notify_outbox
        set status = $step, claimed_at = $now
        where message_key = $key
            and status = $status
            and claimed_at is not distinct from $claimed_at
        """,
        {
            "step": step,
            "now": now,
            "key": message["message_key"],
            "status": message["status"],
            "claimed_at": message["claimed_at"],
        },
    ).fetchone()[0]
    return changed == 1


def _record_post(
    conn: duckdb.DuckDBPyConnection, key: str, channel_id: str, ts: str, now: dt.datetime
) -> None:
    conn.execute(
        """
        update notify_outbox
        set status = 'uploading', slack_channel = $channel, slack_ts = $ts, claimed_at = $now
        where message_key = $key
        """,
        {"key": key, "channel": channel_id, "ts": ts, "now": now},
    )


def _mark_sent(conn: duckdb.DuckDBPyConnection, key: str, channel_id: str, ts: str) -> None:
    conn.execute(
        """
        update notify_outbox
        set status = 'sent', slack_channel = $channel, slack_ts = $ts, sent_at = $sent_at,
            claimed_at = null, last_error = null, attempts = attempts + 1
        where message_key = $key
        """,
        {"key": key, "channel": channel_id, "ts": ts, "sent_at": utcnow()},
    )


def _record_failure(
    connect: Connector,
    message: dict[str, Any],
    step: str,
    error: Exception,
    now: dt.datetime,
    report: DeliveryReport,
    log: Log,
) -> str:
    """Back off on a transient error (and stop the pass); keep a permanent one as `failed`."""
    key = message["message_key"]
    attempts = message["attempts"] + 1
    described = describe_error(error)
    retry_in = retry_delay(error, attempts)
    back_to = "posted"
    if step == "sending":
        # No readable answer (cut short, garbled, timed out): Slack may have posted it, so the
        # next attempt looks for it in the channel before posting again.
        back_to = "unconfirmed" if _may_have_posted(error) else "queued"
    with connect() as conn:
        conn.execute(
            """
            update notify_outbox
            set status = $status, attempts = $attempts, next_attempt_at = $next,
                claimed_at = null, last_error = $error
            where message_key = $key
            """,
            {
                "status": back_to if retry_in is not None else "failed",
                "attempts": attempts,
                "next": now + dt.timedelta(seconds=retry_in or 0),
                "error": described,
                "key": key,
            },
        )
    if retry_in is None:
        log.error(
            f"Slack refused message {key} for good ({described}); kept as failed. Fix the cause"
            " and requeue it (notify.outbox.requeue)."
        )
        report.failed.append(key)
        return ""
    log.warning(
        f"Slack unavailable for {key} ({described}); attempt {attempts}, retry in {retry_in}s"
    )
    report.deferred.append(key)
    return f"Slack unavailable: {described}"


def _may_have_posted(error: Exception) -> bool:
    """Whether a failed post may still have reached Slack: no readable answer came back."""
    if not isinstance(error, SlackApiError):
        return True
    data = error.response.data
    return not isinstance(data, dict) or "ok" not in data


def describe_error(error: Exception) -> str:
    """A short description of a failed Slack call, without the token."""
    if isinstance(error, SlackApiError):
        return f"HTTP {error.response.status_code}: {error.response.get('error', 'no error code')}"
    return f"{type(error).__name__}: {error}"[:300]


def retry_delay(error: Exception, attempts: int) -> int | None:
    """Seconds before trying again, or None when retrying cannot help.

    A 429 honours Retry-After; outages and connection errors back off exponentially (30 s,
    60 s, ... up to an hour) and are retried for ever; an API error such as invalid_auth or
    channel_not_found is permanent.
    """
    backoff = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    if not isinstance(error, SlackApiError):
        return backoff
    status = error.response.status_code
    if status == 429:
        headers = {name.lower(): value for name, value in (error.response.headers or {}).items()}
        retry_after = str(headers.get("retry-after", "")).strip()
        return int(retry_after) if retry_after.isdigit() else backoff
    if status >= 500 or error.response.get("error") in TRANSIENT_ERRORS:
        return backoff
    return None


class _Sender:
    """The Slack calls of one delivery pass, with channel IDs looked up once."""

    def __init__(self, slack: SlackNotifier, log: Log) -> None:
        self.slack = slack
        self.client: WebClient = slack.get_client()
        self.log = log
        self._channel_ids: dict[str, str] = {}

    def post(self, message: dict[str, Any], *, recovering: bool) -> tuple[str, str]:
        """Post the message, unless a crashed delivery posted it already; (channel ID, ts)."""
        channel = self.slack.channel(message["channel"])
        if recovering:
            found = self._find_posted(channel, message["message_key"])
            if found is not None:
                self.log.info(f"{message['message_key']} was posted before a crash; not resent")
                return found
        response = self.client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=json.loads(message["blocks"]) if message["blocks"] else None,
            metadata={
                "event_type": METADATA_EVENT,
                "event_payload": {"key": message["message_key"]},
            },
            unfurl_links=False,
            unfurl_media=False,
        )
        return response["channel"], response["ts"]

    def upload(self, message: dict[str, Any], channel_id: str) -> None:
        """Upload the message's file to its channel."""
        path = Path(message["file_path"])
        self.client.files_upload_v2(
            channel=channel_id,
            file=str(path),
            filename=path.name,
            title=message["file_title"] or path.name,
        )

    def _find_posted(self, channel: str, key: str) -> tuple[str, str] | None:
        """The (channel ID, ts) of a message carrying `key` among the channel's newest."""
        try:
            channel_id = self._channel_id(channel)
            if channel_id is None:
                return None
            history = self.client.conversations_history(
                channel=channel_id, include_all_metadata=True, limit=HISTORY_LOOKUP_LIMIT
            )
        except SlackApiError as error:
            if retry_delay(error, 1) is not None:
                raise
            self.log.warning(
                f"cannot read {channel}'s history to check {key} ({describe_error(error)});"
                " posting it again, which may repeat it"
            )
            return None
        for posted in history.get("messages", []):
            metadata = posted.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key:
                return channel_id, posted["ts"]
        return None

    def _channel_id(self, channel: str) -> str | None:
        """A channel's ID: IDs pass through, names are looked up once per pass."""
        name = channel.lstrip("#")
        if CHANNEL_ID.match(name):
            return name
        cursor = None
        while name not in self._channel_ids:
            page = self.client.conversations_list(
                cursor=cursor, limit=1000, types="public_channel,private_channel"
            )
            for found in page.get("channels", []):
                self._channel_ids[found["name"]] = found["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return self._channel_ids.get(name)


def _clip(text: str) -> str:
    return text if len(text) <= LOG_TEXT_LIMIT else text[: LOG_TEXT_LIMIT - 1] + "…"
