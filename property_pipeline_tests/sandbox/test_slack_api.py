"""The Slack stand-in, driven by the real `slack_sdk.WebClient`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from property_pipeline.sandbox import slack_api
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.faults import FaultSpec
from property_pipeline.sandbox.server import SandboxServer
from property_pipeline.sandbox.slack_api import SlackLog, channel_id

SANDBOX_DAY = dt.date(2026, 3, 2)
CONFIG = SandboxConfig(date=SANDBOX_DAY)
# 09:00 on 2 March 2026 in London (GMT), when the sandbox's Slack day starts.
NINE_AM = int(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC).timestamp())
DEAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Block of 6 flats*, RM6, £450,000"}}
]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(CONFIG, upstreams={"slack": slack_api.routes}) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> WebClient:
    """A client of the shared server, which starts each test with no faults and empty logs."""
    server.context.reset()
    return WebClient(base_url=server.url("slack"), token="xoxb-sandbox")


def test_post_message_answers_the_channel_id_and_records_the_blocks(
    client: WebClient, server: SandboxServer
) -> None:
    response = client.chat_postMessage(channel="#deals", text="New deal", blocks=DEAL_BLOCKS)

    recorded = server.context.slack_log.messages()
    assert response["channel"] == channel_id("deals")
    assert response["message"]["blocks"] == DEAL_BLOCKS
    assert [(m["channel_name"], m["text"], m["blocks"]) for m in recorded] == [
        ("#deals", "New deal", DEAL_BLOCKS)
    ]


def test_message_timestamps_rise_a_second_at_a_time(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="deals", text=str(n))["ts"] for n in range(3)]

    seconds = [int(stamp.split(".")[0]) for stamp in stamps]
    assert seconds == [seconds[0], seconds[0] + 1, seconds[0] + 2]
    assert seconds[0] >= NINE_AM


def test_slack_log_starts_its_timestamps_at_nine_in_london() -> None:
    log = SlackLog()

    assert [log.next_ts(SANDBOX_DAY), log.next_ts(SANDBOX_DAY)] == [
        f"{NINE_AM}.000001",
        f"{NINE_AM + 1}.000002",
    ]


def test_slack_log_never_issues_an_earlier_ts_for_an_earlier_day() -> None:
    log = SlackLog()

    later = log.next_ts(dt.date(2026, 3, 2))
    earlier_day = log.next_ts(dt.date(2026, 3, 1))

    assert float(earlier_day) > float(later)


def test_files_upload_v2_uploads_the_bytes_and_shares_them(
    client: WebClient, server: SandboxServer
) -> None:
    csv = "address,price\n1 High Street,450000\n"
    response = client.files_upload_v2(
        channel="C0DEALS0001",
        content=csv,
        filename="deals.csv",
        title="Today's deals",
        initial_comment="Three new deals",
    )

    shared = server.context.slack_log.files()
    assert response["file"]["name"] == "deals.csv"
    assert response["file"]["size"] == len(csv)
    assert [(f["title"], f["channels"], f["initial_comment"]) for f in shared] == [
        ("Today's deals", ["C0DEALS0001"], "Three new deals")
    ]
    assert shared[0]["content"] == csv.encode()


def test_upload_url_points_back_at_this_server(client: WebClient, server: SandboxServer) -> None:
    response = client.files_getUploadURLExternal(filename="a.txt", length=3)

    assert response["upload_url"] == (f"{server.base_url}/slack/upload/v1/{response['file_id']}")


def test_completing_an_upload_that_never_arrived_is_file_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        client.files_completeUploadExternal(files=[{"id": "F0NOTHERE01"}], channel_id="C0DEALS0001")

    assert refused.value.response["error"] == "file_not_found"


def test_rate_limit_fault_is_retried_by_the_rate_limit_handler(
    client: WebClient, server: SandboxServer
) -> None:
    server.context.faults.add(FaultSpec("slack", "rate_limit", count=1, retry_after=0))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))

    response = client.chat_postMessage(channel="deals", text="after the wait")

    assert response["ok"] is True
    assert [m["text"] for m in server.context.slack_log.messages()] == ["after the wait"]


def test_rate_limit_fault_without_a_retry_handler_is_ratelimited(
    client: WebClient, server: SandboxServer
) -> None:
    server.context.faults.add(FaultSpec("slack", "rate_limit", count=1, retry_after=30))

    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="deals", text="too soon")

    assert refused.value.response.status_code == 429
    assert refused.value.response["error"] == "ratelimited"
    assert refused.value.response.headers["retry-after"] == "30"
    assert server.context.slack_log.messages() == []


def test_a_call_without_a_token_is_not_authed(server: SandboxServer) -> None:
    response = httpx.post(f"{server.url('slack')}chat.postMessage", data={"channel": "deals"})

    assert response.json() == {"ok": False, "error": "not_authed"}


def test_a_token_that_is_not_a_slack_token_is_invalid_auth(server: SandboxServer) -> None:
    client = WebClient(base_url=server.url("slack"), token="sk-openai-key")

    with pytest.raises(SlackApiError) as refused:
        client.auth_test()

    assert refused.value.response["error"] == "invalid_auth"


def test_a_form_encoded_post_is_read_like_a_json_one(server: SandboxServer) -> None:
    response = httpx.post(
        f"{server.url('slack')}chat.postMessage",
        data={"token": "xoxb-sandbox", "channel": "alerts", "text": "from a form"},
    )

    assert response.json()["message"]["text"] == "from a form"
    assert response.json()["channel"] == channel_id("alerts")


def test_a_message_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as refused, pytest.warns(UserWarning, match="`text`"):
        client.chat_postMessage(channel="deals")

    assert refused.value.response["error"] == "no_text"


def test_auth_test_names_the_sandbox_bot(client: WebClient) -> None:
    response = client.auth_test()

    assert (response["user_id"], response["bot_id"]) == ("U0SANDBOX1", "B0SANDBOX1")


def test_conversations_list_includes_channels_posted_to(client: WebClient) -> None:
    client.chat_postMessage(channel="#weekly-watchlist", text="hi")

    names = [channel["name"] for channel in client.conversations_list()["channels"]]

    assert names == ["deals", "general", "weekly-watchlist"]


def test_control_api_shows_then_clears_messages_and_files(
    client: WebClient, server: SandboxServer
) -> None:
    client.chat_postMessage(channel="deals", text="hot deal")
    client.files_upload_v2(channel="C0DEALS0001", content="report", filename="r.txt")
    control = f"{server.base_url}/_sandbox/slack/messages"

    shown = httpx.get(control).json()
    cleared = httpx.delete(control).json()

    assert [message["text"] for message in shown["messages"]] == ["hot deal"]
    assert [(f["name"], f["size"], f["text"]) for f in shown["files"]] == [("r.txt", 6, "report")]
    assert cleared == {"messages": [], "files": []}


def test_an_unknown_method_is_unknown_method(server: SandboxServer) -> None:
    response = httpx.post(f"{server.url('slack')}chat.scheduleMessage", data={"token": "xoxb-1"})

    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "unknown_method"}
