"""Failure alerts: a clear log line, and a JSON POST to a webhook when one is configured."""
from __future__ import annotations

import json
import logging
import urllib.request
from urllib.parse import urlsplit

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

    The webhook URL comes from DATALAKE_ALERT_WEBHOOK (or the argument). It is a secret (see
    :func:`webhook_label`): logs show its scheme and host only. A webhook that does not answer, or
    a URL urllib cannot use, is logged, never raised: an alert must not fail the run a second
    time, nor put the URL in a traceback.
    """
    payload = alert_payload(context)
    log.error("ALERT %s (day %s, run %s, try %s): %s", payload["text"], payload["day"], payload["run_id"],
              payload["try_number"], payload["error"])
    url = webhook_url or alert_webhook_from_env()  # this variable alone: another broken setting must not stop it
    if url:
        try:
            request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                log.info("alert posted to the webhook %s (HTTP %s)", webhook_label(url), response.status)
        except Exception as error:  # noqa: BLE001 - OSError, and ValueError for a URL urllib cannot use
            log.warning("alert webhook %s did not accept the alert: %s", webhook_label(url),
                        _without(url, f"{type(error).__name__}: {error}"))
    return payload


def webhook_label(url: str) -> str:
    """How logs name a webhook: scheme and host only. Slack- and Discord-style hooks carry their
    token in the path (``/services/T…/B…/<token>``, ``/api/webhooks/<id>/<token>``), others in the
    query or the user info, so nothing after the host is ever shown."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparseable URL)"
    return f"{parts.scheme}://{host}{port}/…" if parts.scheme and host else "(URL without scheme or host)"


def _without(url: str, text: str) -> str:
    """``text`` (an error message, which urllib or a hostile server may fill with the URL or its
    parts) with every non-trivial piece of the URL after the host replaced by ``…``."""
    try:
        parts = urlsplit(url.strip())
        secrets = [url, url.strip(), parts.path, parts.query, parts.fragment, parts.username or "",
                   parts.password or ""] + parts.path.split("/") + parts.query.split("&")
    except ValueError:
        secrets = [url, url.strip()]
    for secret in sorted({piece for piece in secrets if len(piece) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "…")
    return text
