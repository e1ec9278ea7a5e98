"""What the DAG needs from Airflow at run time: the run's settings. Imported only by dags/."""
from __future__ import annotations

import logging

from datalake.settings import Secret, Settings, parse_instances

log = logging.getLogger(__name__)
TOKEN_CONNECTION_ID = "mastodon_default"


def access_token_from_connection(conn_id: str = TOKEN_CONNECTION_ID) -> str | None:
    """The token stored in an Airflow Connection (password, or extra `token`), if one exists.

    A Connection can be rotated in the web UI or with `airflow connections` without touching
    code or the environment; it wins over MASTODON_ACCESS_TOKEN.
    """
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - "not defined" has several exception types across versions
        return None
    token = connection.password or (connection.extra_dejson or {}).get("token")
    return token or None


def settings_for_run(context) -> Settings:
    settings = Settings.from_env()
    params = context.get("params") or {}
    changes = {}
    if params.get("instances"):
        changes["instances"] = parse_instances(",".join(params["instances"]))
    if params.get("max_pages"):
        changes["max_pages"] = int(params["max_pages"])
    token = access_token_from_connection()
    if token:
        changes["access_token"] = Secret(token)
    return settings.with_overrides(**changes)
