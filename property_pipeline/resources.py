"""The one place that chooses which external systems the pipeline talks to."""

from __future__ import annotations

import os

import dagster as dg

from property_pipeline import settings
from property_pipeline.enrichment.analysis import ListingReader, reader_from_env
from property_pipeline.enrichment.epc import EpcResource
from property_pipeline.notify.slack import SlackNotifier
from property_pipeline.sandbox.context import SandboxConfig
from property_pipeline.sandbox.server import client_url
from property_pipeline.sources.resource import ListingSourcesResource
from property_pipeline.warehouse.resource import WarehouseResource

# Credentials the sandbox's stand-ins accept; they open nothing anywhere else.
SANDBOX_EPC_TOKEN = SandboxConfig().epc_token
SANDBOX_OPENAI_KEY = "sk-sandbox"
# The sandbox answers as fast as it is asked: the polite pace is for the real register.
SANDBOX_REQUESTS_PER_SECOND = 200.0


def build_resources(sandbox_url: str | None = None) -> dict[str, object]:
    """Resources keyed by the parameter names assets use, chosen from the environment.

    Upstreams are the loopback sandbox when PROPERTY_PIPELINE_SANDBOX_URL is set (or
    `sandbox_url` is given), the real services only with PROPERTY_PIPELINE_LIVE=1, and otherwise
    the built-in offline sample, with EPC look-ups off and listings read by rules. Secrets are
    passed as `dg.EnvVar`, so Dagster shows the variable's name, never its value.
    """
    sandbox = sandbox_url if sandbox_url is not None else settings.sandbox_url()
    mode = "sandbox" if sandbox else settings.upstream_mode()
    return {
        "warehouse": WarehouseResource(
            database=str(settings.warehouse_path()),
            sql_dir=str(settings.sql_dir()),
        ),
        "listing_sources": ListingSourcesResource(
            mode=mode,
            sandbox_url=sandbox,
            targets_path=settings.targets_path(),
        ),
        "epc": _epc(mode, sandbox),
        "listing_reader": _listing_reader(mode, sandbox),
        "slack": _slack(mode, sandbox),
    }


def _secret(name: str) -> dg.EnvVar | None:
    """The variable itself when it is set, for Dagster to read at run time; else None."""
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else None


def _epc(mode: str, sandbox: str) -> EpcResource:
    if mode == "sandbox":
        return EpcResource(
            base_url=client_url(sandbox, "epc"),
            token=_secret(settings.EPC_TOKEN_ENV) or SANDBOX_EPC_TOKEN,
            requests_per_second=SANDBOX_REQUESTS_PER_SECOND,
            concurrency=8,
        )
    if mode == "live":
        configured_url = settings.env_value(settings.EPC_URL_ENV)
        return EpcResource(
            token=_secret(settings.EPC_TOKEN_ENV),
            **({"base_url": configured_url} if configured_url else {}),
        )
    return EpcResource(token=None)


def _listing_reader(mode: str, sandbox: str) -> ListingReader:
    if mode == "sandbox":
        return ListingReader(
            api_key=_secret(settings.OPENAI_KEY_ENV) or SANDBOX_OPENAI_KEY,
            base_url=client_url(sandbox, "openai"),
            model=settings.openai_model(),
        )
    if mode == "live":
        return reader_from_env()
    return ListingReader(api_key=None, model=settings.openai_model())


def _slack(mode: str, sandbox: str) -> SlackNotifier:
    return SlackNotifier.from_env(sandbox if mode == "sandbox" else "")
