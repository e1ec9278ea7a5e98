"""Failure alerts: a clear log line, and a JSON POST to a webhook when one is configured."""
from __future__ import annotations

import json
import logging
import urllib.request

from datalake.settings import alert_webhook_from_env

log = logging.getLogger("datalake.alerts")


def alert_payload(context) -> dict:
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    dag_run = context.get("dag_run")
    interval_start = context.get("data_interval_start")
    return {
        "text": f"mastodon_datalake: task {getattr(ti, 'task_id', '?')} failed",
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "run_id": getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "day": interval_start.date().isoformat() if interval_start else None,
        "error": f"{type(exception).__name__}: {exception}" if exception else None,
    }


def alert_task_failure(context, webhook_url: str | None = None) -> dict:
    """Log the failure as one readable ERROR line and post it to the webhook, if any.

    The webhook URL comes from DATALAKE_ALERT_WEBHOOK (or the argument). A webhook that does
    not answer is logged, never raised: an alert must not fail the run a second time.
    """
    payload = alert_payload(context)
    log.error("ALERT %s (day %s, run %s, try %s): %s", payload["text"], payload["day"], payload["run_id"],
              payload["try_number"], payload["error"])
    url = webhook_url or alert_webhook_from_env()  # this variable alone: another broken setting must not stop it
    if url:
        request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                log.info("alert posted to the webhook (HTTP %s)", response.status)
        except OSError as error:
            log.warning("alert webhook %s did not accept the alert: %s", url.split("?")[0], error)
    return payload
