"""The Slack connection: dagster-slack's resource, pointed at any Web API URL, token optional.

Messages name logical channels ("deals", "digest", "stats", "alerts"); this resource maps them to
real Slack channels and builds the links back to runs in the Dagster UI. Without a token there
is no Slack: the outbox logs messages instead of sending them.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_slack import SlackResource
from pydantic import Field
from slack_sdk import WebClient

from property_pipeline import settings

TOKEN_ENV = settings.SLACK_TOKEN_ENV
API_URL_ENV = settings.SLACK_URL_ENV
UI_URL_ENV = settings.UI_URL_ENV
CHANNEL_ENV_PREFIX = "PROPERTY_PIPELINE_SLACK_CHANNEL_"
DEFAULT_CHANNELS = {
    "deals": "#property-deals",
    "digest": "#property-digest",
    "stats": "#property-stats",
    "alerts": "#property-alerts",
}
DEFAULT_UI_URL = settings.DEFAULT_UI_URL
# The sandbox's Slack accepts any xox-prefixed token.
SANDBOX_TOKEN = "xoxb-sandbox"
SANDBOX_SLACK_PATH = "/slack/api/"


class SlackNotifier(SlackResource):
    """Slack for the pipeline's messages: token, API URL, channel per logical channel, UI URL.

    `token` None (or empty) means Slack is not connected: `configured` is False and the outbox
    writes messages to the log and keeps them. `base_url` empty is Slack itself; tests and the
    sandbox give `http://127.0.0.1:PORT/slack/api/`.
    """

    token: str | None = Field(  # type: ignore[assignment]
        default=None, description=f"Bot token (xoxb-...); none: log only. Env {TOKEN_ENV}."
    )
    base_url: str = Field(default="", description=f"Web API URL; empty: Slack. Env {API_URL_ENV}.")
    channel_deals: str = Field(default=DEFAULT_CHANNELS["deals"], description="Hot deal alerts.")
    channel_digest: str = Field(default=DEFAULT_CHANNELS["digest"], description="Daily digests.")
    channel_stats: str = Field(default=DEFAULT_CHANNELS["stats"], description="Weekly stats.")
    channel_alerts: str = Field(
        default=DEFAULT_CHANNELS["alerts"], description="Run and asset-check failures."
    )
    ui_url: str = Field(default=DEFAULT_UI_URL, description=f"Dagster UI root. Env {UI_URL_ENV}.")
    timeout_seconds: int = Field(default=10, description="Per Slack call; sensors must be quick.")

    @classmethod
    def from_env(cls, sandbox_url: str | None = None) -> SlackNotifier:
        """The notifier the environment describes (read at call time, not import).

        With a sandbox (PROPERTY_PIPELINE_SANDBOX_URL, or `sandbox_url`) Slack is the sandbox's
        stand-in unless SLACK_API_URL says otherwise, with SLACK_BOT_TOKEN or its test token;
        elsewhere SLACK_BOT_TOKEN decides. The token is passed as `dg.EnvVar`, so Dagster shows
        the variable's name, never the token.
        """
        base_url = os.environ.get(API_URL_ENV, "").strip()
        token: str | None = dg.EnvVar(TOKEN_ENV) if os.environ.get(TOKEN_ENV, "").strip() else None
        sandbox = settings.sandbox_url() if sandbox_url is None else sandbox_url
        if sandbox and not base_url:
            base_url, token = sandbox + SANDBOX_SLACK_PATH, token or SANDBOX_TOKEN
        channels = {
            f"channel_{name}": os.environ.get(CHANNEL_ENV_PREFIX + name.upper(), "").strip()
            or default
            for name, default in DEFAULT_CHANNELS.items()
        }
        return cls(
            token=token,
            base_url=base_url,
            ui_url=os.environ.get(UI_URL_ENV, "").strip() or DEFAULT_UI_URL,
            **channels,
        )

    @property
    def configured(self) -> bool:
        """Whether there is a Slack to send to (a token was given)."""
        return bool(self.token)

    def get_client(self) -> WebClient:
        """A slack_sdk client for `base_url` (Slack when empty); fails without a token."""
        if not self.token:
            raise RuntimeError(
                f"Slack is not connected: set {TOKEN_ENV} to a bot token (see the README)"
            )
        base_url = self.base_url.strip()
        if base_url and not base_url.endswith("/"):
            base_url += "/"
        return WebClient(
            token=self.token,
            base_url=base_url or WebClient.BASE_URL,
            timeout=self.timeout_seconds,
        )

    def channel(self, logical: str) -> str:
        """The Slack channel a logical channel ("deals", "digest", "stats", "alerts") posts to."""
        channels = {
            "deals": self.channel_deals,
            "digest": self.channel_digest,
            "stats": self.channel_stats,
            "alerts": self.channel_alerts,
        }
        if logical not in channels:
            raise ValueError(
                f"unknown logical Slack channel {logical!r}; use one of {', '.join(channels)}"
            )
        return channels[logical]

    def run_url(self, run_id: str) -> str:
        """The page of a run in the Dagster UI."""
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"
