"""Permissions that hold (issue 17): HDFS runs with ``dfs.permissions.enabled=true`` and the lake's
modes keep other HDFS users out of the personal data, while every stage works as the lake's
service user, who is NOT an HDFS superuser here (the superuser would bypass every check).

The service user and its lake root are set up as an administrator does it
(``stack/stackctl.py``'s :func:`prepare_hdfs`, run by ``make start`` for the configured user).
Another user, ``someoneelse``, then tries WebHDFS (``user.name=someoneelse``) on every zone: only
the lake root's listing, ``curated/`` and ``aggregates/`` (pseudonyms and counts) may answer.
"""
from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
import posixpath
import sys
import urllib.request

import pytest
from hdfs import HdfsError, InsecureClient

import collection
from collection.collector import RunOptions
from collection.standin import Federation
from privacy.erasure import erase_handle
from datalake.lake import ANALYTIC_ZONES, PRIVATE_ZONES, layout, list_files
from datalake.settings import REPO_ROOT, Secret
from hbase.loader import load_day
from mapreduce import pipeline
from mapreduce.pipeline import run_day
from tests.conftest import RUN_ID

KEY = "permissions-test-key-41d7"
DAY1, DAY2 = dt.date(2026, 9, 14), dt.date(2026, 9, 15)
DOMAINS = ("alpha.example", "beta.example")
SERVICE_USER = f"datalake{RUN_ID}"
OTHER_USER = "someoneelse"

_spec = importlib.util.spec_from_file_location("stackctl", REPO_ROOT / "stack" / "stackctl.py")
stackctl = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("stackctl", stackctl)
_spec.loader.exec_module(stackctl)


def _superuser(settings) -> str:
    return InsecureClient(settings.webhdfs_url, user="nobody").status("/")["owner"]


@pytest.fixture(scope="module")
def service(settings, hdfs_client):
    """Settings of a lake owned by a service user that is not an HDFS superuser."""
    root = f"/test-{RUN_ID}/permissions/datalake"
    assert SERVICE_USER != _superuser(settings)
    stackctl.prepare_hdfs(SERVICE_USER, root)
    yield settings.with_overrides(hdfs_user=SERVICE_USER, root=root, mr_framework="local",
                                  table_prefix=f"{settings.table_prefix}_perm", pseudonymize=True,
                                  pseudonym_key=Secret(KEY))
    InsecureClient(settings.webhdfs_url, user=_superuser(settings)).delete(f"/user/{SERVICE_USER}", recursive=True)


@pytest.fixture(scope="module")
def federation() -> Federation:
    return Federation(seed=5, domains=DOMAINS, start=DAY1, days=2, statuses_per_day=60)


@pytest.fixture(scope="module")
def collected_day(service, federation):
    """DAY1 through every stage as the service user: collect, curate + metrics, HBase load."""
    with federation.serve() as running:
        settings = service.with_overrides(instances=tuple(running.urls.values()))
        collection.run(settings, [DAY1], options=RunOptions.from_settings(settings, part_size=25)).raise_for_failures()
    report = run_day(service, DAY1)
    assert all(job.status == "succeeded" for job in report.jobs) and report.curated > 0
    load_day(service, DAY1)
    return report


@pytest.fixture(scope="module")
def other(settings):
    return InsecureClient(settings.webhdfs_url, user=OTHER_USER)


def _refused(call) -> str:
    with pytest.raises(HdfsError) as caught:
        call()
    assert "Permission denied" in str(caught.value) or "AccessControlException" in str(caught.value), caught.value
    return str(caught.value)


def _read(client, path: str) -> bytes:
    with client.read(path) as reader:
        return reader.read()


def test_the_namenode_enforces_permissions(settings, other):
    # a plain HDFS user may not write into the superuser's root directory
    _refused(lambda: other.makedirs(f"/{OTHER_USER}-was-here-{RUN_ID}"))


def test_the_lake_belongs_to_the_service_user_with_the_documented_modes(service, hdfs_client, collected_day):
    root = hdfs_client.status(service.root)
    assert (root["owner"], root["permission"]) == (SERVICE_USER, "755")
    for zone in PRIVATE_ZONES + ANALYTIC_ZONES:
        status = hdfs_client.status(posixpath.join(service.root, zone))
        assert (zone, status["owner"], status["permission"]) == (
            zone, SERVICE_USER, "700" if zone in PRIVATE_ZONES else "755")
    home = hdfs_client.status(f"/user/{SERVICE_USER}")
    assert (home["owner"], home["permission"]) == (SERVICE_USER, "700")
    for path, mode in stackctl.HDFS_DIRECTORIES:
        assert hdfs_client.status(path)["permission"] == mode, path


def test_another_user_may_not_read_raw_quarantine_state_or_scratch(service, hdfs_client, other, collected_day):
    lake = layout(service)
    raw_part = list_files(hdfs_client, lake.raw_partition("alpha.example", DAY1))[0]
    assert gzip.decompress(_read(hdfs_client, raw_part))  # the path is real: the owner reads it
    _refused(lambda: _read(other, raw_part))
    _refused(lambda: other.list(lake.raw_root))
    _refused(lambda: other.list(lake.raw_partition("alpha.example", DAY1)))
    _refused(lambda: _read(other, lake.checkpoint("alpha.example")))
    _refused(lambda: _read(other, lake.hbase_manifest("languages", DAY1)))
    _refused(lambda: other.list(lake.quarantine("curate", DAY1)))
    _refused(lambda: other.list(posixpath.join(service.root, "_work")))
    # nor write anything into the lake, analytic zones included
    _refused(lambda: other.write(posixpath.join(lake.curated(DAY1), "part-evil"), data=b"{}"))
    _refused(lambda: other.delete(lake.aggregates("languages", DAY1), recursive=True))
    _refused(lambda: other.makedirs(posixpath.join(service.root, "raw2")))


def test_the_pseudonym_keys_hdfs_copy_is_out_of_reach(service, other):
    client = InsecureClient(service.webhdfs_url, user=SERVICE_USER)
    with pipeline._shipped_private_file(service, client, "yarn", "pseudonym.key",  # noqa: SLF001 - what YARN gets
                                        service.require_pseudonym_key()) as key_uri:
        key_path = key_uri.removeprefix("hdfs://")
        assert _read(client, key_path) == KEY.encode()
        assert client.status(posixpath.dirname(key_path))["permission"] == "700"
        assert client.status(key_path)["permission"] == "600"
        _refused(lambda: _read(other, key_path))
        _refused(lambda: other.list(posixpath.dirname(key_path)))
    assert client.list(posixpath.dirname(key_path)) == []


def test_analysts_read_the_pseudonymous_zones_only(service, other, collected_day):
    lake = layout(service)
    assert set(other.list(service.root)) >= set(PRIVATE_ZONES + ANALYTIC_ZONES)  # the names, not the contents
    curated = [json.loads(line) for path in list_files(other, lake.curated(DAY1))
               for line in _read(other, path).splitlines()]
    assert len(curated) == collected_day.curated
    assert all(len(record["user"]) == 16 and "@" not in record["user"] for record in curated)
    languages = b"".join(_read(other, path) for path in list_files(other, lake.aggregates("languages", DAY1)))
    assert sum(int(line.split(b"\t")[1]) for line in languages.splitlines()) == collected_day.curated


def test_the_erasure_works_as_the_service_user(service, federation, hdfs_client, collected_day):
    author = next(status["account"]["acct"] for status in federation.statuses("alpha.example", DAY1)
                  if "@" not in status["account"]["acct"])
    report = erase_handle(service, f"{author}@alpha.example")
    assert sum(report.removed("raw").values()) > 0
    # the rewritten files stay where the modes protect them
    lake = layout(service)
    assert hdfs_client.status(posixpath.join(service.root, "raw"))["permission"] == "700"
    assert hdfs_client.status(posixpath.dirname(lake.erasure_list()))["owner"] == SERVICE_USER


def test_a_day_on_yarn_as_the_service_user(service, federation, hdfs_client):
    """The job client, the ApplicationMaster and the JobHistory server each write under
    /tmp/hadoop-yarn/staging for a user that is not the superuser, mrjob under /user/<name>."""
    settings = service.with_overrides(mr_framework="yarn")
    with federation.serve() as running:
        settings = settings.with_overrides(instances=tuple(running.urls.values()))
        collection.run(settings, [DAY2], options=RunOptions.from_settings(settings, part_size=50)).raise_for_failures()
    report = run_day(settings, DAY2, metrics=["languages"])
    assert [(job.name, job.status) for job in report.jobs] == [
        ("curate", "succeeded"), ("parquet", "succeeded"), ("languages", "succeeded")]
    for job in (job for job in report.jobs if job.name != "parquet"):  # the Parquet copy is no Hadoop job
        with urllib.request.urlopen(f"http://127.0.0.1:19888/ws/v1/history/mapreduce/jobs/{job.job_id}",
                                    timeout=60) as response:
            history = json.load(response)["job"]
        assert (history["user"], history["state"]) == (SERVICE_USER, "SUCCEEDED")
    staging = hdfs_client.status(f"/tmp/hadoop-yarn/staging/{SERVICE_USER}")
    assert staging["owner"] == SERVICE_USER
    assert hdfs_client.list(settings.mr_key_dir.format(user=SERVICE_USER)) == []
