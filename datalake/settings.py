"""The project's configuration, read in one place from the environment.

Every stage builds a :class:`Settings` once (``Settings.from_env()``) and passes it, or the
connection parameters taken from it, down explicitly. Airflow may override values with
Connections/Variables before building (see ``dags/``). Secrets are wrapped in :class:`Secret`
so that printing, logging or templating a Settings never shows them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

DEFAULT_INSTANCES = ("https://mastodon.social",)
DEFAULT_KEY_FILE = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "mastodon-datalake" / "pseudonym.key"
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """The configuration is missing or wrong; the message says which variable and what to do."""


class Secret:
    """A value that never shows itself in repr/str/format (logs, XCom, task output)."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value or None

    def reveal(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return self._value is not None

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret(None)"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _flag(value: str | None, default: bool, name: str) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use 1 or 0")


def _int(value: str | None, default: int, name: str) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not an integer") from None


def parse_instances(value: str | None) -> tuple[str, ...]:
    """Comma-separated base URLs; a bare host gets https://."""
    if not value or not value.strip():
        return DEFAULT_INSTANCES
    urls = []
    for item in value.split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        if "://" not in item:
            item = "https://" + item
        urls.append(item)
    if not urls:
        raise ConfigError("MASTODON_INSTANCES holds no instance URL")
    return tuple(urls)


@dataclass(frozen=True)
class Settings:
    instances: tuple[str, ...] = DEFAULT_INSTANCES
    access_token: Secret = field(default_factory=lambda: Secret(None))
    timeline: str = "public"  # public | local | tag:<name>
    max_pages: int = 1000
    webhdfs_url: str = "http://localhost:9870"
    hdfs_user: str = "root"
    root: str = "/datalake"
    hbase_host: str = "localhost"
    hbase_port: int = 9090
    table_prefix: str = ""
    pseudonymize: bool = True
    pseudonym_key: Secret = field(default_factory=lambda: Secret(None))
    mr_framework: str = ""  # "" = as the Hadoop configuration says; "local" or "yarn" to force
    raw_retention_days: int = 0  # 0 = keep the raw zone forever

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        pseudonymize = _flag(env.get("DATALAKE_PSEUDONYMIZE"), True, "DATALAKE_PSEUDONYMIZE")
        return cls(
            instances=parse_instances(env.get("MASTODON_INSTANCES")),
            access_token=Secret(env.get("MASTODON_ACCESS_TOKEN")),
            timeline=env.get("MASTODON_TIMELINE", "public").strip() or "public",
            max_pages=_int(env.get("MASTODON_MAX_PAGES"), 1000, "MASTODON_MAX_PAGES"),
            webhdfs_url=env.get("DATALAKE_WEBHDFS_URL", "http://localhost:9870").rstrip("/"),
            hdfs_user=env.get("DATALAKE_HDFS_USER") or env.get("HADOOP_USER_NAME") or env.get("USER") or "root",
            root="/" + env.get("DATALAKE_ROOT", "/datalake").strip("/"),
            hbase_host=env.get("HBASE_THRIFT_HOST", "localhost"),
            hbase_port=_int(env.get("HBASE_THRIFT_PORT"), 9090, "HBASE_THRIFT_PORT"),
            table_prefix=env.get("HBASE_TABLE_PREFIX", ""),
            pseudonymize=pseudonymize,
            pseudonym_key=Secret(_pseudonym_key(env)),
            mr_framework=env.get("DATALAKE_MR_FRAMEWORK", ""),
            raw_retention_days=_int(env.get("DATALAKE_RAW_RETENTION_DAYS"), 0, "DATALAKE_RAW_RETENTION_DAYS"),
        )

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    def require_pseudonym_key(self) -> bytes:
        """The HMAC key, or a ConfigError that says how to provide one."""
        key = self.pseudonym_key.reveal()
        if not key:
            raise ConfigError(
                "pseudonymization is on (DATALAKE_PSEUDONYMIZE=1) but no key is configured: set "
                "DATALAKE_PSEUDONYM_KEY, or DATALAKE_PSEUDONYM_KEY_FILE, or run `make setup` to create "
                f"{DEFAULT_KEY_FILE}")
        return key.encode("utf-8")


def _pseudonym_key(env: Mapping[str, str]) -> str | None:
    if env.get("DATALAKE_PSEUDONYM_KEY"):
        return env["DATALAKE_PSEUDONYM_KEY"]
    key_file = Path(env.get("DATALAKE_PSEUDONYM_KEY_FILE") or DEFAULT_KEY_FILE)
    try:
        return key_file.read_text().strip() or None
    except OSError:
        return None
