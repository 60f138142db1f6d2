"""Row 10 of issue 12 and item 7: errors of the machine answer 503 with Retry-After, JSON
to the API and a Chinese page to the browser, and leave nothing half-done. The machine is
real: another process holds SQLite's write lock, the database is at a closed port or a
path that cannot be opened, the broker at a closed port, the disk /dev/full."""

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone

from incidents.models import Incident, TimelineEntry
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

INCIDENTS = "/api/v1/incidents/"
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own lock")
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's lock timeout"
)


def lead(**overrides) -> dict:
    return {
        "title": "网友反映医院收费问题",
        "platform": "weibo",
        "event_type": "user_complaint",
        "description": "微博网友发帖称被重复收费。",
        "metrics": {"reads": 50},
        **overrides,
    }


def log_form(unit) -> dict:
    return {
        "title": "网友发帖质疑某医院收费",
        "description": "微博网友称被重复收费。",
        "platform": "weibo",
        "unit": unit.pk,
        "event_type": "user_complaint",
        "discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "reads": "120",
    }


@contextmanager
def another_process_holding_the_write_lock() -> Iterator[None]:
    """A separate Python process takes SQLite's write lock (BEGIN IMMEDIATE) on the test
    database file and keeps it until we close its standard input."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys\n"
                "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "db.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True)\n"
                "sys.stdin.read()\n"
                "db.execute('ROLLBACK')\n"
            ),
            connection.settings_dict["NAME"],
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


@contextmanager
def busy_timeout(seconds: float) -> Iterator[None]:
    """Connect with another busy timeout (the configured one is pinned below), so that
    the test waits a fraction of a second for the lock, not five."""
    options = connection.settings_dict["OPTIONS"]
    configured = options["timeout"]
    connection.close()
    options["timeout"] = seconds
    try:
        yield
    finally:
        connection.close()
        options["timeout"] = configured


@contextmanager
def database_out_of_reach() -> Iterator[None]:
    """The connection's settings point where no database is: a closed port for
    PostgreSQL, a file in a directory that does not exist for SQLite."""
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent/fenghuo/fenghuo.sqlite3"
    else:
        settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        settings_dict.update(saved)


def assert_503(answer, code: str) -> None:
    assert answer.status_code == 503, answer.content[:300]
    assert answer["Retry-After"] == str(settings.FENGHUO_RETRY_AFTER)
    if answer["Content-Type"].startswith("application/json"):
        assert answer.json()["code"] == code
        assert answer.json()["retry_after"] == settings.FENGHUO_RETRY_AFTER
    else:
        page = answer.content.decode()
        assert "暂时无法使用" in page and "未做任何更改" in page


# Row 10: SQLite's write lock held by another process ---------------------------------------


@sqlite_only
def test_an_api_write_while_another_process_holds_the_write_lock_answers_503_json(
    api_for, duty, caplog
):
    client = api_for(duty)
    with (
        another_process_holding_the_write_lock(),
        busy_timeout(0.3),
        caplog.at_level(logging.WARNING, logger="core.outages"),
    ):
        started = time.monotonic()
        answer = client.post(INCIDENTS, lead(), format="json")
        waited = time.monotonic() - started

    assert_503(answer, "database_busy")
    assert waited < 3
    assert "database is locked" in caplog.text
    assert Incident.objects.count() == 0
    # Once the lock is gone the same request goes through.
    assert client.post(INCIDENTS, lead(), format="json").status_code == 201


@sqlite_only
def test_a_form_posted_while_the_write_lock_is_held_gets_a_chinese_page_and_saves_nothing(
    client, duty, health_unit
):
    client.force_login(duty)
    with another_process_holding_the_write_lock(), busy_timeout(0.3):
        answer = client.post(reverse("incidents:create"), log_form(health_unit))

    assert_503(answer, "database_busy")
    assert "数据库正忙" in answer.content.decode()
    assert Incident.objects.count() == 0


@sqlite_only
def test_web_requests_wait_five_seconds_for_the_write_lock_and_workers_twenty():
    from config.celery import _sqlite_worker_patience

    def busy_timeout_ms() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            return cursor.fetchone()[0]

    assert busy_timeout_ms() == 5000
    with busy_timeout(connection.settings_dict["OPTIONS"]["timeout"]):
        _sqlite_worker_patience()
        assert busy_timeout_ms() == 20000


@sqlite_only
def test_a_full_database_mid_write_answers_503_and_leaves_no_part_of_the_incident(api_for, duty):
    client = api_for(duty)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")  # no free pages left to reuse
        cursor.execute("PRAGMA page_count")
        cursor.execute(f"PRAGMA max_page_count = {cursor.fetchone()[0]}")
    try:
        answer = client.post(INCIDENTS, lead(description="长" * 20_000), format="json")
    finally:
        connection.close()  # max_page_count belongs to the connection

    assert_503(answer, "disk_full")
    assert Incident.objects.count() == 0 and TimelineEntry.objects.count() == 0


# PostgreSQL: a lock that times out half-way through the write --------------------------------


@postgres_only
def test_a_write_that_times_out_half_way_answers_503_and_leaves_nothing(api_for, duty):
    import psycopg2

    client = api_for(duty)
    params = connection.get_connection_params()
    holder = psycopg2.connect(**params)
    try:
        with holder.cursor() as cursor:  # inserts wait; reads go on
            cursor.execute(f"LOCK TABLE {TimelineEntry._meta.db_table} IN SHARE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with CaptureQueriesContext(connection) as queries:
            answer = client.post(INCIDENTS, lead(), format="json")
    finally:
        holder.rollback()
        holder.close()
        connection.close()

    assert_503(answer, "database_busy")
    inserted = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert any(Incident._meta.db_table in sql for sql in inserted)  # it was half-way
    assert Incident.objects.count() == 0 and TimelineEntry.objects.count() == 0


# Both databases: the database cannot be reached ----------------------------------------------


def test_a_database_out_of_reach_answers_503_json_and_a_page_without_the_database(
    client, api_for, duty, caplog
):
    api = api_for(duty)
    client.force_login(duty)
    with database_out_of_reach(), caplog.at_level(logging.ERROR, logger="core.outages"):
        from_api = api.get(INCIDENTS)
        from_browser = client.get(reverse("incidents:board"))

    assert_503(from_api, "database_unavailable")
    assert_503(from_browser, "database_unavailable")
    assert "暂时无法连接数据库" in from_browser.content.decode()
    assert caplog.text.count("503 (database_unavailable)") == 2


# A broker that is down, a full disk: real ones, behind views made for the test ----------------


def enqueue_now(request: HttpRequest) -> HttpResponse:
    from config.celery import app

    app.send_task("fenghuo.test.nothing", retry=False)
    return HttpResponse("sent")


def write_to_a_full_disk(request: HttpRequest) -> HttpResponse:
    descriptor = os.open("/dev/full", os.O_WRONLY)
    try:
        os.write(descriptor, b"evidence")
    finally:
        os.close(descriptor)
    return HttpResponse("written")


def query_a_missing_table(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_here")
    return HttpResponse("read")


urlpatterns = [
    path(f"{prefix}{name}/", view)
    for prefix in ("api/v1/test/", "test/")
    for name, view in (
        ("enqueue", enqueue_now),
        ("disk", write_to_a_full_disk),
        ("bug", query_a_missing_table),
    )
]


@pytest.mark.urls("tests.test_outages")
def test_a_broker_that_is_down_when_a_view_enqueues_answers_503(client, broker_down):
    assert_503(client.post("/api/v1/test/enqueue/"), "broker_unavailable")
    assert_503(client.post("/test/enqueue/"), "broker_unavailable")


def test_a_broker_that_is_down_after_the_commit_leaves_the_write_standing_for_beat(
    client, duty, broker_down, settings, tmp_path, caplog
):
    """The enqueues run on commit: the import is stored and beat runs it, so the answer
    is the ordinary one, not a 503 that would invite sending the file again."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from monitoring.models import ImportJob

    settings.MEDIA_ROOT = str(tmp_path)
    client.force_login(duty)
    csv = "平台,链接,内容,发布时间\r\n微博,https://weibo.com/1/a,内容,2026-11-20 10:00\r\n"
    with caplog.at_level(logging.WARNING, logger="monitoring.imports"):
        answer = client.post(
            reverse("monitoring:imports"), {"file": SimpleUploadedFile("导出.csv", csv.encode())}
        )

    assert answer.status_code == 302
    assert ImportJob.objects.get().state == ImportJob.State.PENDING
    assert "beat will run it" in caplog.text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.urls("tests.test_outages")
def test_a_full_disk_answers_503(client, caplog):
    with caplog.at_level(logging.ERROR, logger="core.outages"):
        assert_503(client.post("/api/v1/test/disk/"), "disk_full")
        assert_503(client.post("/test/disk/"), "disk_full")
    assert "No space left on device" in caplog.text


@pytest.mark.urls("tests.test_outages")
def test_a_database_error_of_the_code_stays_a_500(client):
    """A missing table is a fault to fix, not a moment to wait: it is not hidden as 503."""
    with pytest.raises(DatabaseError, match="no_such_table_here"):
        client.get("/api/v1/test/bug/")
