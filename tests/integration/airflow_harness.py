"""A real Airflow 3 for the tests: `airflow dags test` runs and an `airflow standalone` server.

Each test session gets its own AIRFLOW_HOME (SQLite metadata DB) and its own port, with the
environment that isolates its lake (DATALAKE_ROOT, HBASE_TABLE_PREFIX), so a developer's
`make airflow` on :8080 is left alone.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "mastodon_datalake"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_env(home: Path, extra: dict[str, str], port: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # its own DB (stack/env.sh points at the developer's), waiting for a lock as env.sh says
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db?timeout=60",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "PYTHONPATH": str(ROOT) + (":" + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        "DATALAKE_TASK_RETRIES": "0",
    })
    if port:
        env["AIRFLOW__API__PORT"] = str(port)
        env["AIRFLOW__API__BASE_URL"] = f"http://localhost:{port}"
    env.update(extra)
    return env


def migrate_db(env: dict[str, str], log: Path) -> None:
    with open(log, "ab") as out:
        subprocess.run(["airflow", "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT, check=True)


def dags_test(env: dict[str, str], logical_date: str, conf: dict, log: Path, on_line=None,
              timeout: float = 1800) -> subprocess.CompletedProcess:
    """`airflow dags test mastodon_datalake <date> --conf ...`: a whole run, in-process.

    ``on_line(line)`` sees each line of the run's output as it comes (to act in the middle of a run)."""
    command = ["airflow", "dags", "test", DAG_ID, logical_date, "--conf", json.dumps(conf)]
    lines = []
    with open(log, "ab") as out:
        out.write(f"\n===== airflow dags test {DAG_ID} {logical_date} =====\n".encode())
        out.flush()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            for line in process.stdout:
                lines.append(line)
                out.write(line)
                if on_line is not None:
                    on_line(line.decode("utf-8", "replace"))
            process.wait()
        finally:
            timer.cancel()
    result = subprocess.CompletedProcess(command, process.returncode, b"".join(lines))
    result.output = result.stdout.decode("utf-8", "replace")
    return result


@dataclass
class AirflowServer:
    """`airflow standalone` (API server + UI, scheduler, dag-processor, triggerer) for a test."""

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    _token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "standalone.log"

    def start(self, timeout: float = 240.0) -> "AirflowServer":
        self.home.mkdir(parents=True, exist_ok=True)
        env = airflow_env(self.home, self.extra_env, self.port)
        migrate_db(env, self.log)
        self.process = subprocess.Popen(["airflow", "standalone"], env=env, stdout=open(self.log, "ab"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"airflow standalone exited ({self.process.returncode}); see {self.log}")
            if self._healthy() and self._dag_parsed():
                return self
            time.sleep(1)
        raise RuntimeError(f"airflow standalone not ready within {timeout:.0f}s; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def password(self) -> str:
        return json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]

    def _healthy(self) -> bool:
        try:
            health = self._get("/api/v2/monitor/health", auth=False)
        except (OSError, ValueError):
            return False
        return all((health.get(name) or {}).get("status") == "healthy"
                   for name in ("metadatabase", "scheduler", "dag_processor", "triggerer"))

    def _dag_parsed(self) -> bool:
        try:
            self._get(f"/api/v2/dags/{DAG_ID}")
            return True
        except (OSError, ValueError):
            return False

    # ---------------------------------------------------------------- REST API (what the UI uses)
    def token(self) -> str:
        """A JWT for the REST API, fetched once (it outlives any test run) and reused."""
        if self._token is None:
            body = json.dumps({"username": "admin", "password": self.password()}).encode()
            request = urllib.request.Request(self.url + "/auth/token", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                self._token = json.load(response)["access_token"]
        return self._token

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return json.loads(body) if body else None

    def _get(self, path: str, auth: bool = True):
        return self._request("GET", path, auth=auth)

    def unpause(self, dag_id: str = DAG_ID) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, logical_date: str | None, conf: dict, dag_id: str = DAG_ID) -> str:
        run = self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf})
        return run["dag_run_id"]

    def dag_runs(self, dag_id: str = DAG_ID) -> list[dict]:
        return self._get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-start_date&limit=100")["dag_runs"]

    def wait_for_run(self, run_id: str, timeout: float = 1200.0, dag_id: str = DAG_ID) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self._get(f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id, safe='')}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(3)
        raise TimeoutError(f"run {run_id} not finished within {timeout:.0f}s; see {self.log}")

    def task_instances(self, run_id: str, dag_id: str = DAG_ID) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.request.quote(run_id, safe='')}/taskInstances"
        return self._get(path)["task_instances"]

    def set_connection(self, connection_id: str, **fields) -> None:
        """Create (or replace) an Airflow Connection through the REST API, as the UI's form does."""
        try:
            self._request("DELETE", f"/api/v2/connections/{connection_id}")
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        self._request("POST", "/api/v2/connections", {"connection_id": connection_id, **fields})

    def asset_events(self, source_dag_id: str = DAG_ID) -> list[dict]:
        return self._get(f"/api/v2/assets/events?source_dag_id={source_dag_id}&limit=100")["asset_events"]

    def run_cli(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
        """An `airflow` command against this server's home (e.g. `backfill create`)."""
        env = airflow_env(self.home, self.extra_env, self.port)
        return subprocess.run(["airflow", *args], env=env, capture_output=True, text=True, timeout=timeout)
