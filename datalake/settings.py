"""The project's configuration, read in one place from the environment.

Every environment variable the Python code reads is read here, and listed in
:data:`VARIABLES` (name, default, meaning): README's configuration table is checked against
that list by a test, and another test checks that no other module reads the environment.
Every stage builds a :class:`Settings` once (``Settings.from_env()``) and passes it, or the
connection parameters taken from it, down explicitly. In Airflow the DAG's params and the
Airflow Connections override values before the stages see them (datalake/airflow_support.py).
Secrets are wrapped in :class:`Secret` so that printing, logging or templating a Settings never
shows them.
"""
from __future__ import annotations

import os
import sys
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from datalake.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCES = ("https://mastodon.social",)


def _config_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")


DEFAULT_KEY_FILE = _config_home(os.environ) / "mastodon-datalake" / "pseudonym.key"

__all__ = ["ConfigError", "Secret", "Settings", "VARIABLES", "Variable", "parse_instances", "parse_tokens",
           "token_connection_id", "instance_host", "DEFAULT_INSTANCES", "REPO_ROOT"]


@dataclass(frozen=True)
class Variable:
    """One environment variable of the project: what README's configuration table shows."""

    name: str
    default: str
    meaning: str
    read_by: str = "datalake/settings.py"


VARIABLES: tuple[Variable, ...] = (
    # collection
    Variable("MASTODON_INSTANCES", "https://mastodon.social", "comma-separated instance base URLs"),
    Variable("MASTODON_ACCESS_TOKEN", "(none)", "one token, only when one instance is configured; never logged"),
    Variable("MASTODON_ACCESS_TOKENS", "(none)",
             "per-instance tokens `host=token,host2=token2` (host as in the base URL); a token is sent only to its "
             "instance. In Airflow the Connection `mastodon_<host, dots and colons as underscores>` wins"),
    Variable("MASTODON_TIMELINE", "public", "`public`, `local` or `tag:<name>`"),
    Variable("MASTODON_MAX_PAGES", "1000", "upper bound of timeline pages per instance and run (40 statuses a page)"),
    Variable("MASTODON_REQUEST_TIMEOUT", "30", "seconds before a request to an instance times out"),
    Variable("DATALAKE_LATENESS_DAYS", "1",
             "days before a run's interval that it re-reads for late statuses and recomputes; 0 turns it off"),
    Variable("DATALAKE_LATENESS_REREAD", "1",
             "`1`: a daily run re-reads the window's ids (backdated statuses; one more day of paging per window day); "
             "`0`: it pages on from the checkpoint and still counts the late statuses it meets (busy instances)"),
    Variable("DATALAKE_MAX_RATE_LIMIT_WAIT", "900",
             "seconds a run may spend waiting out one instance's rate limit; past it the instance's day is incomplete"),
    # the lake
    Variable("DATALAKE_WEBHDFS_URL", "http://localhost:9870",
             "WebHDFS of the NameNode (in Airflow the Connection `webhdfs_default` wins)"),
    Variable("DATALAKE_HDFS_USER", "$HADOOP_USER_NAME or $USER", "the HDFS user the lake belongs to"),
    Variable("HADOOP_USER_NAME", "$USER", "Hadoop's own name for that user, used when DATALAKE_HDFS_USER is unset"),
    Variable("DATALAKE_ROOT", "/datalake", "root of the lake in HDFS"),
    Variable("HBASE_THRIFT_HOST", "localhost", "HBase Thrift server (in Airflow the Connection `hbase_default` wins)"),
    Variable("HBASE_THRIFT_PORT", "9090", "its port"),
    Variable("HBASE_TABLE_PREFIX", "(empty)", "prefix of the HBase tables (tests use it to isolate)"),
    # personal data
    Variable("DATALAKE_PSEUDONYMIZE", "1", "user row keys and curated uris are HMAC pseudonyms; `0` keeps handles"),
    Variable("DATALAKE_PSEUDONYM_KEY", "(from the key file)", "the HMAC key; never logged"),
    Variable("DATALAKE_PSEUDONYM_KEY_FILE", "~/.config/mastodon-datalake/pseudonym.key", "file holding the HMAC key"),
    Variable("DATALAKE_RAW_RETENTION_DAYS", "0 (off)",
             "days of raw and quarantine partitions kept; the DAG's `apply_retention` task deletes older ones"),
    # operations
    Variable("DATALAKE_ALERT_WEBHOOK", "(none)",
             "a URL that receives a JSON POST when a task fails; a secret (Slack/Discord hooks hold their token in "
             "the path): logs show its scheme and host only"),
    Variable("DATALAKE_CATCHUP", "0", "`1`: the DAG catches up missed days since its start date"),
    Variable("DATALAKE_HOURLY_COLLECTION", "0",
             "`1`: the DAG `mastodon_collect` is unpaused when created and collects every hour (busy instances)"),
    Variable("DATALAKE_REPORT_DIR", "out/analysis/reports",
             "where the DAG `mastodon_analysis` renders each day's report (`<dir>/<day>/`: HTML, notebook, PNGs)"),
    Variable("DATALAKE_TASK_RETRIES", "2", "retries of every task (exponential backoff from 1 min)"),
    Variable("DATALAKE_TASK_TIMEOUT", "120", "minutes a task may run before Airflow stops it (execution_timeout)"),
    # MapReduce
    Variable("DATALAKE_MR_FRAMEWORK", "(from mapred-site.xml)", "`local` or `yarn`"),
    Variable("DATALAKE_MR_CURATE_REDUCERS", "2", "reducers of the curate job"),
    Variable("DATALAKE_MR_METRIC_REDUCERS", "1", "reducers of the metrics job (all metrics in one Hadoop job)"),
    Variable("DATALAKE_MR_CLIENT_HEAP", "2g with the local runner", "heap of the `hadoop jar` client JVM"),
    Variable("DATALAKE_MR_CLIENT_OPTS", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1", "JVM options of that client"),
    Variable("DATALAKE_MR_PYTHON", "this venv's python",
             "the Python that runs the streaming tasks (on a cluster: the same path on every node)"),
    Variable("DATALAKE_MR_LOCAL_TMP", "var/tmp/mrjob", "local scratch directory of the jobs"),
    Variable("DATALAKE_MR_LIBJAR", ".cache/jars/datalake-mapreduce.jar", "the project's Hadoop classes (stack/java)"),
    Variable("DATALAKE_MR_LOG_DIR", "var/log/mapreduce", "local directory of the per-job logs"),
    Variable("DATALAKE_MR_KEY_DIR", "/user/<user>/.datalake-keys",
             "mode-700 HDFS directory where the pseudonym key waits for YARN's localizer"),
    Variable("DATALAKE_JOBHISTORY_URL", "http://localhost:19888", "the JobHistory server, for links in error messages"),
    Variable("HADOOP_HOME", "(stack/env.sh: .cache/hadoop-home)", "the Hadoop whose `bin/hadoop` and streaming jar run the jobs"),
    Variable("HADOOP_CONF_DIR", "(stack/env.sh: var/conf/hadoop)", "its configuration (fs.defaultFS, YARN, framework)"),
    Variable("HADOOP_OPTS", "(none)", "extra JVM options of `hadoop` commands"),
    Variable("DATALAKE_JAVA_HOME", "/usr/lib/jvm/java-17-*", "the JDK 17 for Hadoop and HBase", "stack/bin/java-env.sh"),
)


def markdown_table() -> str:
    """README's configuration table, from :data:`VARIABLES` (tests/unit/test_architecture.py checks it)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{variable.name}` | {variable.default} | {variable.meaning} |" for variable in VARIABLES]
    return "\n".join(rows)


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


def _int(value: str | None, default: int, name: str, minimum: int | None = None) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}={value!r} must be at least {minimum}")
    return number


def _float(value: str | None, default: float, name: str) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} must not be negative")
    return number


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


def instance_host(base_url: str) -> str:
    """The host (with its port, if any) of an instance base URL, lowercased: what keys its token."""
    return urllib.parse.urlsplit(base_url if "://" in base_url else "https://" + base_url).netloc.lower()


def token_connection_id(base_url: str) -> str:
    """The Airflow Connection that holds an instance's token: ``mastodon_<host>``, dots/colons as underscores."""
    host = instance_host(base_url)
    return "mastodon_" + "".join(char if char.isalnum() else "_" for char in host)


def parse_tokens(value: str | None) -> tuple[tuple[str, Secret], ...]:
    """``host=token,host2=token2`` → ((host, Secret), ...); the error never shows a token."""
    pairs: dict[str, Secret] = {}
    for number, item in enumerate((value or "").split(","), start=1):
        if not item.strip():
            continue
        host, separator, token = item.partition("=")
        if not separator or not host.strip() or not token.strip():
            raise ConfigError(f"MASTODON_ACCESS_TOKENS: entry {number} is not host=token (tokens are not shown)")
        pairs[instance_host(host.strip())] = Secret(token.strip())
    return tuple(sorted(pairs.items()))


@dataclass(frozen=True)
class Settings:
    # collection
    instances: tuple[str, ...] = DEFAULT_INSTANCES
    access_token: Secret = field(default_factory=lambda: Secret(None))  # single-instance only
    access_tokens: tuple[tuple[str, Secret], ...] = ()  # (instance host, token)
    timeline: str = "public"  # public | local | tag:<name>
    max_pages: int = 1000
    request_timeout: float = 30.0
    lateness_days: int = 1
    lateness_reread: bool = True
    max_rate_limit_wait: float = 900.0
    # the lake
    webhdfs_url: str = "http://localhost:9870"
    hdfs_user: str = "root"
    root: str = "/datalake"
    hbase_host: str = "localhost"
    hbase_port: int = 9090
    table_prefix: str = ""
    # personal data
    pseudonymize: bool = True
    pseudonym_key: Secret = field(default_factory=lambda: Secret(None))
    raw_retention_days: int = 0  # 0 = keep the raw zone forever
    # operations
    alert_webhook: Secret = field(default_factory=lambda: Secret(None))
    catchup: bool = False
    hourly_collection: bool = False
    task_retries: int = 2
    task_timeout_minutes: int = 120
    report_dir: str = str(REPO_ROOT / "out" / "analysis" / "reports")
    # MapReduce
    mr_framework: str = ""  # "" = as the Hadoop configuration says; "local" or "yarn" to force
    mr_curate_reducers: int = 2
    mr_metric_reducers: int = 1
    mr_client_heap: str = ""  # "" = 2g with the local runner
    mr_client_opts: str = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
    mr_python: str = sys.executable
    mr_local_tmp: str = ""
    mr_libjar: str = str(REPO_ROOT / ".cache" / "jars" / "datalake-mapreduce.jar")
    mr_log_dir: str = str(REPO_ROOT / "var" / "log" / "mapreduce")
    mr_key_dir: str = "/user/{user}/.datalake-keys"
    jobhistory_url: str = "http://localhost:19888"
    hadoop_home: str = ""
    hadoop_conf_dir: str = str(REPO_ROOT / "var" / "conf" / "hadoop")
    hadoop_opts: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, read_key_file: bool = True) -> "Settings":
        """The settings the environment gives. ``read_key_file=False`` reads no file (the DAG file
        at parse time: no I/O)."""
        env = os.environ if env is None else env
        settings = cls(
            instances=parse_instances(env.get("MASTODON_INSTANCES")),
            access_token=Secret(env.get("MASTODON_ACCESS_TOKEN")),
            access_tokens=parse_tokens(env.get("MASTODON_ACCESS_TOKENS")),
            timeline=env.get("MASTODON_TIMELINE", "public").strip() or "public",
            max_pages=_int(env.get("MASTODON_MAX_PAGES"), 1000, "MASTODON_MAX_PAGES", minimum=1),
            request_timeout=_float(env.get("MASTODON_REQUEST_TIMEOUT"), 30.0, "MASTODON_REQUEST_TIMEOUT"),
            lateness_days=_int(env.get("DATALAKE_LATENESS_DAYS"), 1, "DATALAKE_LATENESS_DAYS", minimum=0),
            lateness_reread=_flag(env.get("DATALAKE_LATENESS_REREAD"), True, "DATALAKE_LATENESS_REREAD"),
            max_rate_limit_wait=_float(env.get("DATALAKE_MAX_RATE_LIMIT_WAIT"), 900.0, "DATALAKE_MAX_RATE_LIMIT_WAIT"),
            webhdfs_url=env.get("DATALAKE_WEBHDFS_URL", "http://localhost:9870").rstrip("/"),
            hdfs_user=env.get("DATALAKE_HDFS_USER") or env.get("HADOOP_USER_NAME") or env.get("USER") or "root",
            root="/" + env.get("DATALAKE_ROOT", "/datalake").strip("/"),
            hbase_host=env.get("HBASE_THRIFT_HOST", "localhost"),
            hbase_port=_int(env.get("HBASE_THRIFT_PORT"), 9090, "HBASE_THRIFT_PORT", minimum=1),
            table_prefix=env.get("HBASE_TABLE_PREFIX", ""),
            pseudonymize=_flag(env.get("DATALAKE_PSEUDONYMIZE"), True, "DATALAKE_PSEUDONYMIZE"),
            pseudonym_key=Secret(_pseudonym_key(env) if read_key_file else env.get("DATALAKE_PSEUDONYM_KEY")),
            raw_retention_days=_int(env.get("DATALAKE_RAW_RETENTION_DAYS"), 0, "DATALAKE_RAW_RETENTION_DAYS",
                                    minimum=0),
            alert_webhook=Secret(alert_webhook_from_env(env)),
            catchup=_flag(env.get("DATALAKE_CATCHUP"), False, "DATALAKE_CATCHUP"),
            hourly_collection=_flag(env.get("DATALAKE_HOURLY_COLLECTION"), False, "DATALAKE_HOURLY_COLLECTION"),
            task_retries=_int(env.get("DATALAKE_TASK_RETRIES"), 2, "DATALAKE_TASK_RETRIES", minimum=0),
            task_timeout_minutes=_int(env.get("DATALAKE_TASK_TIMEOUT"), 120, "DATALAKE_TASK_TIMEOUT", minimum=1),
            report_dir=env.get("DATALAKE_REPORT_DIR") or cls.report_dir,
            mr_framework=env.get("DATALAKE_MR_FRAMEWORK", "").strip(),
            mr_curate_reducers=_int(env.get("DATALAKE_MR_CURATE_REDUCERS"), 2, "DATALAKE_MR_CURATE_REDUCERS", minimum=1),
            mr_metric_reducers=_int(env.get("DATALAKE_MR_METRIC_REDUCERS"), 1, "DATALAKE_MR_METRIC_REDUCERS", minimum=1),
            mr_client_heap=env.get("DATALAKE_MR_CLIENT_HEAP", "").strip(),
            mr_client_opts=env.get("DATALAKE_MR_CLIENT_OPTS", cls.mr_client_opts),
            mr_python=env.get("DATALAKE_MR_PYTHON") or sys.executable,
            mr_local_tmp=env.get("DATALAKE_MR_LOCAL_TMP", ""),
            mr_libjar=env.get("DATALAKE_MR_LIBJAR") or cls.mr_libjar,
            mr_log_dir=env.get("DATALAKE_MR_LOG_DIR") or cls.mr_log_dir,
            mr_key_dir=env.get("DATALAKE_MR_KEY_DIR") or cls.mr_key_dir,
            jobhistory_url=(env.get("DATALAKE_JOBHISTORY_URL") or cls.jobhistory_url).rstrip("/"),
            hadoop_home=env.get("HADOOP_HOME", ""),
            hadoop_conf_dir=env.get("HADOOP_CONF_DIR") or cls.hadoop_conf_dir,
            hadoop_opts=env.get("HADOOP_OPTS", ""),
        )
        if settings.mr_framework not in ("", "local", "yarn"):
            raise ConfigError(f"DATALAKE_MR_FRAMEWORK={settings.mr_framework!r}: use local or yarn (or leave it unset)")
        return settings

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    def token_for(self, base_url: str) -> Secret:
        """The token to send to ``base_url``: its own from MASTODON_ACCESS_TOKENS (or its Airflow
        Connection), else MASTODON_ACCESS_TOKEN when it is the only configured instance.

        Never another instance's token: one token for several instances is refused with a
        ConfigError, since it would send one server's credential to the others.
        """
        host = instance_host(base_url)
        for token_host, token in self.access_tokens:
            if token_host == host:
                return token
        if not self.access_token:
            return Secret(None)
        if len(self.instances) == 1 and instance_host(self.instances[0]) == host:
            return self.access_token
        raise ConfigError(
            f"MASTODON_ACCESS_TOKEN is one token but {len(self.instances)} instances are configured: a token is sent "
            f"only to the instance that issued it. Give each instance its own with MASTODON_ACCESS_TOKENS="
            f"{host}=<token>,... (in Airflow: the Connection {token_connection_id(base_url)})")

    def require_pseudonym_key(self) -> bytes:
        """The HMAC key, or a ConfigError that says how to provide one."""
        key = self.pseudonym_key.reveal()
        if not key:
            raise ConfigError(
                "pseudonymization is on (DATALAKE_PSEUDONYMIZE=1) but no key is configured: set "
                "DATALAKE_PSEUDONYM_KEY, or DATALAKE_PSEUDONYM_KEY_FILE, or run `make setup` to create "
                f"{DEFAULT_KEY_FILE}")
        return key.encode("utf-8")

    def secrets(self) -> list[str]:
        """Every secret value configured (for checks that output holds none of them)."""
        values = [self.access_token.reveal(), self.pseudonym_key.reveal(), self.alert_webhook.reveal()]
        values += [token.reveal() for _, token in self.access_tokens]
        return [value for value in values if value]


def alert_webhook_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """DATALAKE_ALERT_WEBHOOK alone: the failure alert reads just this, so that a broken
    setting elsewhere (the very failure being alerted) cannot keep the alert from being sent."""
    env = os.environ if env is None else env
    return (env.get("DATALAKE_ALERT_WEBHOOK") or "").strip() or None


def _pseudonym_key(env: Mapping[str, str]) -> str | None:
    if env.get("DATALAKE_PSEUDONYM_KEY"):
        return env["DATALAKE_PSEUDONYM_KEY"]
    key_file = Path(env.get("DATALAKE_PSEUDONYM_KEY_FILE") or _config_home(env) / "mastodon-datalake" / "pseudonym.key")
    try:
        return key_file.read_text().strip() or None
    except OSError:
        return None
