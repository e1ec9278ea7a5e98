"""The DAG on a real `airflow standalone` (scheduler, API server, dag-processor), driven the way an
operator drives it: the REST API the web UI uses, the web UI itself in Debian's Chromium
(Playwright), Connections changed through the API, the asset-scheduled `mastodon_analysis` DAG,
and `airflow backfill create`. Run states are read through the REST API, never from a log.

In order, on one server and one lake (days D1..D4, the four days before today):

1. D1 with beta refusing its timeline: the run is failed, its failure alert is posted, day_table
   says D1 is incomplete because beta failed, alpha's and gamma's cells are right.
2. A Connection with beta's token added through the REST API: the next run (D2) uses it, and
   completes D1 too (beta's first run reads its lateness window).
3. D3 with max_pages=1: failed, day_table names the max_pages stop.
4. Triggered from the web UI (no logical date: yesterday, D4): completes D3 and D4.
5. Every load emitted asset events; `mastodon_analysis` rendered a report for each.
6. A backfill of D2..D3 through `airflow backfill create` completes.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import happybase
import pytest

from collection.standin import Federation
from collection.standin.server import token_digest
from datalake.settings import token_connection_id
from hbase.inspect import drop_tables
from tests.conftest import RUN_ID
from tests.integration import expected_metrics
from tests.integration.airflow_harness import AirflowServer

TODAY = dt.datetime.now(dt.timezone.utc).date()
D1, D2, D3, D4 = (TODAY - dt.timedelta(days=back) for back in (4, 3, 2, 1))
DOMAINS = ("alpha.example", "beta.example", "gamma.example")
TABLES = ("language_table", "user_table", "croissance_table", "url_table", "toot_with_media_table",
          "tag_table", "emoji_table")
BETA_TOKEN = f"tok-{RUN_ID}-beta-server"
ARTIFACTS = Path(os.environ.get("DATALAKE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "test-artifacts"))


class _Webhook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def federation():
    return Federation(seed=31, domains=DOMAINS, start=D1, days=4, statuses_per_day=120, accounts_per_instance=25)


@pytest.fixture(scope="module")
def running(federation):
    now = dt.datetime.combine(TODAY, dt.time(0, 5), tzinfo=dt.timezone.utc)
    faults = {"beta.example": {"refuse_public": 422, "access_token": BETA_TOKEN}}
    with federation.serve(now=now, faults=faults) as servers:
        yield servers


@pytest.fixture(scope="module")
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Webhook.received = []
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def lake(settings):
    return {"DATALAKE_ROOT": f"{settings.root}-srv", "HBASE_TABLE_PREFIX": f"{settings.table_prefix}srv",
            "DATALAKE_PSEUDONYMIZE": "1", "DATALAKE_MR_FRAMEWORK": os.environ.get("DATALAKE_E2E_MR_FRAMEWORK", "local")}


@pytest.fixture(scope="module")
def server(settings, lake, webhook, running, tmp_path_factory, hdfs_client):
    reports = tmp_path_factory.mktemp("reports")
    env = {**lake, "DATALAKE_ALERT_WEBHOOK": f"http://127.0.0.1:{webhook.server_port}/hook/{RUN_ID}-secret-path",
           "DATALAKE_REPORT_DIR": str(reports), "MASTODON_INSTANCES": ",".join(sorted(running.urls.values()))}
    airflow = AirflowServer(tmp_path_factory.mktemp("airflow-standalone"), extra_env=env)
    airflow.start()
    airflow.unpause()
    airflow.unpause("mastodon_analysis")
    airflow.reports = reports
    yield airflow
    airflow.stop()
    drop_tables(settings.hbase_host, settings.hbase_port, lake["HBASE_TABLE_PREFIX"])
    hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)


def _conf(running, **extra) -> dict:
    return {"instances": sorted(running.urls.values()), "max_pages": 500, **extra}


def _logical(day: dt.date) -> str:
    """The logical date of a manual run whose data interval is ``day``: one second after the day
    ended (a manual run's interval is the last one ended by then). Not midnight itself: unpausing
    the DAG makes the scheduler create the run of the latest interval, whose logical date is that
    interval's start, and two runs of a DAG cannot share a logical date."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0, 1), tzinfo=dt.timezone.utc).isoformat()


def _hbase(settings, lake) -> tuple[dict, dict]:
    """(the metric tables' cells, day_table rows as text)."""
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=lake["HBASE_TABLE_PREFIX"])
    try:
        existing = {name.decode() for name in connection.tables()}
        tables = {table: dict(connection.table(table).scan()) if table in existing else {} for table in TABLES}
        days = ({row.decode(): {column.decode(): value.decode() for column, value in cells.items()}
                 for row, cells in connection.table("day_table").scan()} if "day_table" in existing else {})
        return tables, days
    finally:
        connection.close()


def _metric_cells(tables: dict, days) -> dict:
    """The count tables' daily cells of ``days`` (what the expectation of those days can be compared with)."""
    wanted = {f"daily:{day.isoformat()}".encode() for day in days}
    return {table: {row: {column: value for column, value in cells.items() if column in wanted}
                    for row, cells in tables[table].items() if wanted & set(cells)}
            for table in ("language_table", "tag_table", "url_table", "emoji_table", "toot_with_media_table")}


def _expected(settings, federation, days, domains=DOMAINS) -> dict:
    key = settings.require_pseudonym_key()
    cells = expected_metrics.expected_cells({day.isoformat(): expected_metrics.day_metrics(
        {domain: federation.raw_statuses(domain, day) for domain in domains}, key) for day in days})
    return {table: {row: {column: value for column, value in columns.items() if column.startswith(b"daily:")}
                    for row, columns in cells.get(table, {}).items()}
            for table in ("language_table", "tag_table", "url_table", "emoji_table", "toot_with_media_table")}


def _states(server, run_id) -> dict:
    return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in server.task_instances(run_id)}


def test_a_refused_instance_fails_the_run_alerts_and_day_table_says_why(settings, lake, federation, running, server):
    run_id = server.trigger(_logical(D1), _conf(running))
    run = server.wait_for_run(run_id)
    assert run["state"] == "failed", f"{run}; see {server.log}"
    assert run["data_interval_start"].startswith(D1.isoformat())
    states = _states(server, run_id)
    assert sorted(state for (task, _), state in states.items() if task == "collect") == ["failed", "success", "success"]
    assert states[("load_hbase", -1)] == "success" and states[("watcher", -1)] == "failed"
    beta_url = running.url("beta.example")
    alerts = [alert for alert in _Webhook.received if alert["task_id"] == "collect"]
    assert any(beta_url in (alert["error"] or "") and "refused with HTTP 422" in alert["error"] for alert in alerts)
    assert f"{RUN_ID}-secret-path" not in server.log.read_text()  # the hook's URL is a secret
    tables, days = _hbase(settings, lake)
    row = days[D1.isoformat()]
    assert row["data:complete"] == "0"
    instances = json.loads(row["data:instances"])
    assert instances["beta.example"]["state"] == "failed" and "HTTP 422" in instances["beta.example"]["reason"]
    assert instances["alpha.example"]["state"] == instances["gamma.example"]["state"] == "complete"
    assert _metric_cells(tables, [D1]) == _expected(settings, federation, [D1], ("alpha.example", "gamma.example"))


def test_a_connection_added_through_the_rest_api_is_used_by_the_next_run(settings, lake, federation, running, server):
    server.set_connection(token_connection_id(running.url("beta.example")), conn_type="generic", password=BETA_TOKEN)
    running.reset_stats("beta.example")
    run_id = server.trigger(_logical(D2), _conf(running))
    run = server.wait_for_run(run_id)
    assert run["state"] == "success", f"{run}; see {server.log}"
    assert running.stats("beta.example")["tokens_seen"] == [token_digest(BETA_TOKEN)]
    assert running.stats("alpha.example")["tokens_seen"] == []
    tables, days = _hbase(settings, lake)
    assert days[D1.isoformat()]["data:complete"] == "1" and days[D2.isoformat()]["data:complete"] == "1"
    assert _metric_cells(tables, [D1, D2]) == _expected(settings, federation, [D1, D2])  # D1 now with beta's
    assert BETA_TOKEN not in server.log.read_text()


def test_a_max_pages_stop_fails_the_run_and_day_table_names_it(settings, lake, running, server):
    run_id = server.trigger(_logical(D3), _conf(running, max_pages=1))
    run = server.wait_for_run(run_id)
    assert run["state"] == "failed", f"{run}; see {server.log}"
    states = _states(server, run_id)
    assert states[("check_days_complete", -1)] == "failed" and states[("load_hbase", -1)] == "success"
    _, days = _hbase(settings, lake)
    instances = json.loads(days[D3.isoformat()]["data:instances"])
    assert days[D3.isoformat()]["data:complete"] == "0"
    assert all(entry["state"] == "incomplete" and "max_pages=1" in entry["reason"] for entry in instances.values())


def test_trigger_from_the_web_ui_completes_the_stopped_day(settings, lake, federation, running, server):
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("DATALAKE_CHROMIUM", "/usr/bin/chromium")
    assert os.path.exists(chromium), f"{chromium} missing: run stack/system-packages.sh chromium (make test does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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
            dialog.locator("#element_instances").fill("\n".join(sorted(running.urls.values())))
            dialog.get_by_role("button", name="Trigger", exact=True).click()
            page.screenshot(path=str(ARTIFACTS / "airflow-triggered.png"))
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
            page.screenshot(path=str(ARTIFACTS / "airflow-run-success.png"), full_page=True)
        finally:
            browser.close()
    assert run["data_interval_start"].startswith(D4.isoformat())  # a manual run now processes yesterday
    assert (ARTIFACTS / "airflow-run-success.png").stat().st_size > 10_000
    tables, days = _hbase(settings, lake)
    assert days[D3.isoformat()]["data:complete"] == "1" and days[D4.isoformat()]["data:complete"] == "1"
    assert _metric_cells(tables, [D1, D2, D3, D4]) == _expected(settings, federation, [D1, D2, D3, D4])


def test_every_load_emits_asset_events_and_the_analysis_dag_renders_a_report(server):
    events = server.asset_events()
    assert {event["source_task_id"] for event in events} == {"load_hbase"}
    assert any(D4.isoformat() in json.dumps(event.get("extra")) for event in events)
    runs = server.dag_runs("mastodon_analysis")
    assert runs and all(run["run_type"] == "asset_triggered" for run in runs)
    for run in runs:
        if run["state"] not in ("success", "failed"):
            server.wait_for_run(run["dag_run_id"], dag_id="mastodon_analysis")
    runs = server.dag_runs("mastodon_analysis")
    assert any(run["state"] == "success" for run in runs), runs
    report = server.reports / D4.isoformat()
    assert (report / "mastodon_analysis.html").stat().st_size > 10_000
    assert len(list(report.glob("*.png"))) >= 5


def test_a_backfill_of_two_days_through_the_cli_completes(running, server):
    before = {run["dag_run_id"] for run in server.dag_runs()}
    # a backfill names the intervals by their start (a scheduled run's logical date), both ends included
    # On SQLite Airflow's backfill creation can meet a write of the scheduler and fail at once with
    # "database is locked" (its savepoints per run; apache/airflow#66726, #68699: "not supported on
    # SQLite under concurrent access"), as it did in CI: the CLI rolls back (no run is left) and an
    # operator runs it again, as README says. Anything else, or a third lock, fails the test.
    for attempt in range(1, 4):
        result = server.run_cli("backfill", "create", "--dag-id", "mastodon_datalake", "--from-date", D1.isoformat(),
                                "--to-date", D2.isoformat(), "--reprocess-behavior", "completed",
                                "--max-active-runs", "1")
        if result.returncode == 0 or "database is locked" not in result.stdout + result.stderr or attempt == 3:
            break
        left = [run["dag_run_id"] for run in server.dag_runs() if run["dag_run_id"] not in before]
        assert left == [], f"a backfill that failed on a locked database left runs behind: {left}"
        print(f"backfill create, attempt {attempt}: database is locked; again")
    assert result.returncode == 0, result.stdout + result.stderr
    deadline = dt.datetime.now() + dt.timedelta(minutes=20)
    while dt.datetime.now() < deadline:
        backfill = [run for run in server.dag_runs() if run["dag_run_id"] not in before and run["run_type"] == "backfill"]
        if len(backfill) == 2 and all(run["state"] in ("success", "failed") for run in backfill):
            break
        import time

        time.sleep(5)
    assert len(backfill) == 2 and all(run["state"] == "success" for run in backfill), backfill
    assert sorted(run["data_interval_start"][:10] for run in backfill) == [D1.isoformat(), D2.isoformat()]
