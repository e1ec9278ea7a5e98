"""The Airflow DAG end to end: stand-in federation → HDFS → MapReduce → HBase.

* `airflow dags test` for two consecutive days, then every HBase cell compared with values
  computed from the stand-in's data by tests/integration/expected_metrics.py (not by the
  project's metric code); a rerun of the first day changes no cell.
* A run where one instance refuses its timeline: that task fails with the clear message, the
  alert callback posts to the webhook, the other instances' data reaches HBase.
* The DAG triggered through the REST API the web UI uses, on a real `airflow standalone`, and
  from the web UI itself in Debian's Chromium driven by Playwright.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.conftest import RUN_ID
from tests.integration import expected_metrics
from tests.integration.airflow_harness import AirflowServer, airflow_env, dags_test, migrate_db
from tests.integration.dag_checks import DAY1, DAY2, DOMAINS, federation, running  # noqa: F401 - fixtures
from tests.integration.dag_checks import assert_cells_match as _assert_cells_match
from tests.integration.dag_checks import drop_tables as _drop_tables
from tests.integration.dag_checks import dump_tables as _dump
from tests.integration.dag_checks import lake_env as _lake_env
from tests.integration.dag_checks import served as _served

SCREENSHOTS = Path(os.environ.get("DATALAKE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "test-artifacts"))


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    return tmp_path_factory.mktemp("airflow-dags-test")


def test_two_days_then_rerun_match_independent_computation(settings, federation, running, airflow_home,
                                                           hdfs_client):
    env = airflow_env(airflow_home, _lake_env(settings, "e2e"))
    log = airflow_home / "dags-test.log"
    migrate_db(env, log)
    conf = {"instances": sorted(running.urls.values()), "max_pages": 500}
    prefix = f"{settings.table_prefix}e2e"
    try:
        for day in (DAY1, DAY2):
            result = dags_test(env, (day + dt.timedelta(days=1)).isoformat(), conf, log)
            assert result.returncode == 0 and "state=success" in result.output, \
                f"run for {day} failed; see {log}\n{result.output[-3000:]}"
        key = settings.require_pseudonym_key()
        days = {day.isoformat(): expected_metrics.day_metrics(_served(federation, DOMAINS, day), key)
                for day in (DAY1, DAY2)}
        after_two_days = _dump(settings, prefix)
        _assert_cells_match(after_two_days, expected_metrics.expected_cells(days))
        assert sum(len(rows) for rows in after_two_days.values()) > 100
        # no handle or username reaches HBase when pseudonymization is on
        handles = {status["account"]["username"].lower() for statuses in (federation.statuses(d, DAY1) for d in DOMAINS)
                   for status in statuses}
        user_rows = {row.decode() for row in after_two_days["user_table"]}
        assert all(len(row) == 16 and int(row, 16) >= 0 for row in user_rows)
        assert not user_rows & handles

        rerun = dags_test(env, (DAY1 + dt.timedelta(days=1)).isoformat(), conf, log)
        assert rerun.returncode == 0 and "state=success" in rerun.output, f"rerun failed; see {log}"
        assert _dump(settings, prefix) == after_two_days
    finally:
        _drop_tables(settings, prefix)
        hdfs_client.delete(_lake_env(settings, "e2e")["DATALAKE_ROOT"], recursive=True)


class _Webhook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_refused_instance_fails_its_task_alerts_and_others_reach_hbase(settings, federation, running, airflow_home,
                                                                       hdfs_client):
    webhook = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    _Webhook.received = []
    lake = _lake_env(settings, "refused")
    env = airflow_env(airflow_home, {**lake, "DATALAKE_ALERT_WEBHOOK": f"http://127.0.0.1:{webhook.server_port}/hook"})
    log = airflow_home / "dags-test-refused.log"
    migrate_db(env, log)
    running.configure("beta.example", refuse_public=422)
    try:
        result = dags_test(env, DAY2.isoformat(), {"instances": sorted(running.urls.values()), "max_pages": 500}, log)
        assert "state=failed" in result.output, f"the run should fail because beta refuses; see {log}"
        beta_url = running.urls["beta.example"]
        assert f"instance {beta_url}" in result.output and "MASTODON_ACCESS_TOKEN" in result.output
        assert "MASTODON_TIMELINE" in result.output
        assert any(alert["task_id"] == "collect" and beta_url in (alert["error"] or "") for alert in _Webhook.received), \
            _Webhook.received
        # alpha and gamma were collected, computed and loaded despite beta
        day = DAY1
        raw = posixpath.join(lake["DATALAKE_ROOT"], "raw", "mastodon")
        assert sorted(hdfs_client.list(raw)) == ["instance=alpha.example", "instance=gamma.example"]
        key = settings.require_pseudonym_key()
        expected = expected_metrics.expected_cells(
            {day.isoformat(): expected_metrics.day_metrics(_served(federation, ("alpha.example", "gamma.example"), day),
                                                           key)})
        _assert_cells_match(_dump(settings, lake["HBASE_TABLE_PREFIX"]), expected)
    finally:
        running.configure("beta.example", refuse_public=None)
        webhook.shutdown()
        _drop_tables(settings, lake["HBASE_TABLE_PREFIX"])
        hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)


@pytest.fixture(scope="module")
def airflow_server(settings, tmp_path_factory, hdfs_client):
    lake = _lake_env(settings, "ui")
    server = AirflowServer(tmp_path_factory.mktemp("airflow-standalone"), extra_env=lake)
    server.start()
    yield server, lake
    server.stop()
    _drop_tables(settings, lake["HBASE_TABLE_PREFIX"])
    hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)


def test_trigger_through_rest_api(settings, running, airflow_server):
    server, lake = airflow_server
    server.unpause()
    logical_date = dt.datetime.combine(DAY1 + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
    run_id = server.trigger(logical_date.isoformat(), {"instances": sorted(running.urls.values()), "max_pages": 500})
    run = server.wait_for_run(run_id)
    assert run["state"] == "success", f"{run}; see {server.log}"
    assert run["data_interval_start"].startswith(DAY1.isoformat())
    states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in server.task_instances(run_id)}
    assert states[("load_hbase", -1)] == "success"
    assert [state for (task, _), state in states.items() if task == "collect"] == ["success"] * 3
    language_rows = _dump(settings, lake["HBASE_TABLE_PREFIX"])["language_table"]
    assert language_rows and all(f"daily:{DAY1}".encode() in cells for cells in language_rows.values())


def test_trigger_from_the_web_ui_in_a_real_browser(settings, running, airflow_server):
    from playwright.sync_api import sync_playwright

    server, lake = airflow_server
    chromium = os.environ.get("DATALAKE_CHROMIUM", "/usr/bin/chromium")
    assert os.path.exists(chromium), f"{chromium} missing: run stack/system-packages.sh chromium (make test does)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = {run["dag_run_id"] for run in server.dag_runs()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(server.url + "/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(server.password())
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
            page.goto(server.url + "/dags/mastodon_datalake")
            page.get_by_role("button", name="Trigger Dag").click()
            dialog = page.get_by_role("dialog")
            instances = dialog.locator("#element_instances")
            instances.fill("\n".join(sorted(running.urls.values())))
            dialog.get_by_role("button", name="Trigger", exact=True).click()
            page.screenshot(path=str(SCREENSHOTS / "airflow-triggered.png"))
            run_id = None
            for _ in range(60):
                new = [run for run in server.dag_runs() if run["dag_run_id"] not in before]
                if new:
                    run_id = new[0]["dag_run_id"]
                    break
                page.wait_for_timeout(1000)
            assert run_id, "no DAG run appeared after clicking Trigger"
            run = server.wait_for_run(run_id)
            assert run["state"] == "success", f"{run}; see {server.log}"
            page.goto(server.url + f"/dags/mastodon_datalake/runs/{run_id}")
            page.get_by_text("success").first.wait_for(timeout=30_000)
            page.screenshot(path=str(SCREENSHOTS / "airflow-run-success.png"), full_page=True)
        finally:
            browser.close()
    assert run["data_interval_start"].startswith(DAY2.isoformat())  # a manual run now processes yesterday
    language_rows = _dump(settings, lake["HBASE_TABLE_PREFIX"])["language_table"]
    assert any(f"daily:{DAY2}".encode() in cells for cells in language_rows.values())
    assert (SCREENSHOTS / "airflow-run-success.png").stat().st_size > 10_000


def test_token_from_the_airflow_connection_is_used_and_never_shown(settings, running, airflow_home, hdfs_client):
    token = "tok-" + RUN_ID + "-s3cr3t"
    lake = _lake_env(settings, "token")
    connection = json.dumps({"conn_type": "generic", "password": token})
    env = airflow_env(airflow_home / "token-home", {**lake, "AIRFLOW_CONN_MASTODON_DEFAULT": connection,
                                                   "MASTODON_ACCESS_TOKEN": "not-this-one"})
    (airflow_home / "token-home").mkdir(exist_ok=True)
    log = airflow_home / "dags-test-token.log"
    migrate_db(env, log)
    for domain in DOMAINS:  # every instance knows the token; beta lets nobody in without it
        running.configure(domain, access_token=token)
    running.configure("beta.example", refuse_public=403)
    try:
        result = dags_test(env, DAY2.isoformat(), {"instances": sorted(running.urls.values()), "max_pages": 500}, log)
        assert result.returncode == 0 and "state=success" in result.output, f"see {log}"
        assert token not in result.output
        for path in (airflow_home / "token-home").rglob("*"):
            if path.is_file() and path.suffix != ".db":
                assert token.encode() not in path.read_bytes(), f"the token is in {path}"
        raw = posixpath.join(lake["DATALAKE_ROOT"], "raw", "mastodon")
        assert len(hdfs_client.list(raw)) == 3  # beta was read with the token
        for directory, _, files in hdfs_client.walk(lake["DATALAKE_ROOT"]):
            for name in files:
                with hdfs_client.read(posixpath.join(directory, name)) as reader:
                    data = reader.read()
                if name.endswith(".gz"):
                    import gzip
                    data = gzip.decompress(data)
                assert token.encode() not in data, f"the token is in {directory}/{name}"
    finally:
        for domain in DOMAINS:
            running.configure(domain, access_token=None)
        running.configure("beta.example", refuse_public=None)
        _drop_tables(settings, lake["HBASE_TABLE_PREFIX"])
        hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)
