"""Alerts for failed runs and failed asset checks, for the alerts channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from property_pipeline.notify import blocks

ERROR_TEXT_LIMIT = 1500


@dataclass(frozen=True)
class Alert:
    """One alert ready for the outbox: its key, fallback text and blocks."""

    key: str
    text: str
    blocks: list[dict[str, Any]]

    def message(self) -> dict[str, Any]:
        """enqueue()'s keyword arguments for this alert."""
        return {"key": self.key, "channel": "alerts", "text": self.text, "blocks": self.blocks}


def run_failure_alert(
    *,
    run_id: str,
    job_name: str,
    assets: Sequence[str],
    failed_steps: Sequence[str],
    partition: str | None,
    error: str,
    run_url: str,
) -> Alert:
    """The alert for a failed run: run, job, assets, failed steps, partition, error and link."""
    facts = {
        "Run": run_id,
        "Job": job_name,
        "Assets": ", ".join(assets) or "-",
        "Failed steps": ", ".join(failed_steps) or "-",
        "Partition": partition or "none",
    }
    error = _clip(error.strip() or "no error message recorded")
    title = f"Run failed: {job_name}" + (f" ({partition})" if partition else "")
    text = blocks.mrkdwn_escape(f"{title}, run {run_id}: {error.splitlines()[0]}")
    return Alert(
        key=f"run-failure:{run_id}",
        text=text,
        blocks=blocks.failure_blocks(title, facts, error, run_url),
    )


def check_failure_alert(
    *,
    run_id: str,
    asset: str,
    check_name: str,
    severity: str,
    partition: str | None,
    description: str | None,
    details: str,
    run_url: str,
) -> Alert:
    """The alert for a failed asset check evaluation, whatever its severity."""
    facts = {
        "Run": run_id,
        "Asset": asset,
        "Check": check_name,
        "Severity": severity,
        "Partition": partition or "none",
    }
    error = _clip("\n".join(part for part in (description, details) if part) or "check failed")
    title = f"Check failed: {asset} {check_name}" + (f" ({partition})" if partition else "")
    text = blocks.mrkdwn_escape(f"{title} [{severity}], run {run_id}")
    return Alert(
        key=f"check-failure:{run_id}:{asset}:{check_name}:{partition or '-'}",
        text=text,
        blocks=blocks.failure_blocks(title, facts, error, run_url),
    )


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_LIMIT else text[: ERROR_TEXT_LIMIT - 1] + "…"
