"""The deadline engine on real infrastructure: a Celery worker with its beat, started as a
separate process on a real Redis broker and a real PostgreSQL database, both on loopback.

Level-Ⅰ incidents are logged through the services so that their report deadlines fall due
one after another over a few seconds, and the real clock does the rest. In the middle of
the sweeps the worker is killed with SIGKILL, or Redis is restarted (its queues lost);
every due deadline must still get its overdue alert (escalation step 0) exactly once per
recipient and channel, each email sent exactly once, and one late report.

The module starts its own servers, whatever database the rest of the suite runs on, and
does not use pytest-django's database: the worker must see what the test wrote, so the
Django side (migrate, seeding) runs in subprocesses and the test reads with psycopg2.
"""

import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration import (
    OVERDUE_RECIPIENTS,
    ROOT,
    Database,
    django_env,
    emails_sent,
    run_command,
    wait_for,
    workers,
)
from tests.servers import PostgresServer, RedisServer

# Enough deadlines that several sweeps share them, few enough to log in seconds.
INCIDENTS = 120
DUE_IN = 12.0  # seconds: logging them through the services takes most of this
SPREAD = 8.0
SWEEP_INTERVAL = 1.0
TIMEOUT = 60.0
_REDIS_DATABASES = itertools.count(1)


# bin/test installs PostgreSQL and Redis: missing servers fail these tests, never skip
# them. They bring their own PostgreSQL, so bin/test runs them once, not in both phases.
pytestmark = pytest.mark.integration


@dataclass
class Site:
    postgres: PostgresServer
    redis: RedisServer
    admin: Database  # on the server's maintenance database, to clone the template
    workdir: Path


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """PostgreSQL with a migrated template database (plan and demo organisation loaded),
    and Redis; each scenario clones the template."""
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-integration-"))
    with PostgresServer() as postgres, RedisServer() as redis:
        run_command(["prepare"], env=django_env(database_url=postgres.url, data_dir=workdir))
        admin = Database(postgres.url.rsplit("/", 1)[0] + "/postgres")
        try:
            yield Site(postgres=postgres, redis=redis, admin=admin, workdir=workdir)
        finally:
            admin.close()
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Scenario:
    database: Database
    env: dict[str, str]
    workdir: Path
    seeding: subprocess.Popen[str]


@pytest.fixture
def scenario(site: Site, request: pytest.FixtureRequest) -> Iterator[Scenario]:
    """A fresh copy of the template database, a Redis database of its own, and the
    incidents being logged (in a subprocess) while the test starts its worker; beat's
    sweep interval is SWEEP_INTERVAL unless the test gives another (indirect)."""
    name = request.node.name.replace("test_", "").split("[")[0][:50]
    url = site.admin.clone("fenghuo", name)
    workdir = site.workdir / name
    workdir.mkdir()
    redis_db = next(_REDIS_DATABASES)
    env = django_env(
        database_url=url,
        data_dir=workdir,
        sweep_interval=getattr(request, "param", SWEEP_INTERVAL),
        broker_url=f"{site.redis.url.rsplit('/', 1)[0]}/{redis_db}",
    )
    seeding = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration",
            "seed",
            str(INCIDENTS),
            "--due-in",
            str(DUE_IN),
            "--spread",
            str(SPREAD),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    database = Database(url)
    try:
        yield Scenario(database=database, env=env, workdir=workdir, seeding=seeding)
    finally:
        if seeding.poll() is None:
            seeding.kill()
        seeding.wait()
        database.close()


def _seeded(scenario: Scenario) -> None:
    output, _ = scenario.seeding.communicate(timeout=TIMEOUT)
    assert scenario.seeding.returncode == 0, output
    assert scenario.database.report_deadlines() == INCIDENTS


def _in_the_middle_of_the_sweeps(db: Database) -> tuple[int, bool]:
    """Wait until some report deadlines have escalated, not all, and then (for up to the
    rest of the window) until a sweep holds its locks; answers how many had escalated
    and whether a sweep's transaction was open at that moment."""
    wait_for(lambda: db.overdue_written() > 0, timeout=TIMEOUT, what="the first overdue alert")
    give_up = time.monotonic() + SPREAD / 2
    while time.monotonic() < give_up:
        if db.sweep_in_progress():
            return db.overdue_written(), True
        time.sleep(0.002)
    return db.overdue_written(), False


def _assert_every_due_escalation_exactly_once(db: Database) -> None:
    wait_for(
        lambda: db.overdue_written() == INCIDENTS,
        timeout=TIMEOUT,
        what="every report deadline to escalate",
    )
    wait_for(
        lambda: db.overdue_undelivered() == 0,
        timeout=TIMEOUT,
        what="every overdue email to be sent",
    )
    expected = INCIDENTS * OVERDUE_RECIPIENTS
    outbox = db.overdue_outbox()
    assert "in_app" in outbox, outbox
    for channel, counts in outbox.items():
        # One row per deadline, recipient and channel: none missing, none twice.
        assert counts == {
            "rows": expected,
            "pairs": expected,
            "delivered": expected,
            "failed": 0,
        }, (channel, outbox)
    assert db.overdue_missing() == 0
    sent, rows_sent, failed_sends = db.overdue_sends()
    sent_by_worker = sum(c["rows"] for channel, c in outbox.items() if channel != "in_app")
    assert (sent, rows_sent, failed_sends) == (sent_by_worker, sent_by_worker, 0)
    assert db.late_reports() == (INCIDENTS, INCIDENTS)


def _assert_every_email_sent_once(db: Database, scenario: Scenario) -> None:
    """What the workers' logs show was sent is what the outbox says was delivered: each
    email row (reminders and overdue alerts alike) once."""
    wait_for(lambda: db.emails_pending() == 0, timeout=TIMEOUT, what="every email to be sent")
    sent = emails_sent(scenario.workdir.glob("*.log"))
    delivered = db.emails_delivered()
    assert len(sent) == len(set(sent)), "an email went out twice"
    assert Counter(sent) == Counter(delivered)


def test_a_worker_killed_mid_sweep_loses_and_repeats_no_escalation(scenario: Scenario):
    db = scenario.database
    with workers(env=scenario.env, workdir=scenario.workdir) as start:
        first = start("first")
        # Not waiting for the logging to end: the sweeps are punctual, and on a busy
        # machine the last incidents are logged after the first deadlines fall due.
        escalated, mid_transaction = _in_the_middle_of_the_sweeps(db)
        first.kill()  # the pool child in its transaction, the main process and the beat
        print(
            f"\nkilled the worker with {escalated}/{INCIDENTS} escalated, "
            f"{'inside' if mid_transaction else 'between'} sweep transactions"
        )
        assert 0 < escalated < INCIDENTS, "the kill came too late to test anything"
        start("second")
        _seeded(scenario)
        _assert_every_due_escalation_exactly_once(db)
        _assert_every_email_sent_once(db, scenario)


def test_a_redis_restart_mid_sweep_loses_and_repeats_no_escalation(scenario: Scenario, site: Site):
    db = scenario.database
    with workers(env=scenario.env, workdir=scenario.workdir) as start:
        worker = start("worker")
        escalated, mid_transaction = _in_the_middle_of_the_sweeps(db)
        site.redis.restart(downtime=2 * SWEEP_INTERVAL)  # queued and unacked tasks lost
        print(
            f"\nrestarted Redis with {escalated}/{INCIDENTS} escalated, "
            f"{'inside' if mid_transaction else 'between'} sweep transactions"
        )
        assert 0 < escalated < INCIDENTS, "the restart came too late to test anything"
        _seeded(scenario)  # its wake-ups sent while Redis was down are lost: beat sweeps
        _assert_every_due_escalation_exactly_once(db)
        _assert_every_email_sent_once(db, scenario)
        assert worker.alive(), "the worker did not survive the broker's restart"


@pytest.mark.parametrize("scenario", [3600.0], indirect=True)
def test_wake_ups_alone_sweep_between_beat_rounds(scenario: Scenario):
    """Beat's first sweep comes after its interval, an hour here: every deadline that falls
    due meanwhile is swept by the wake-ups, those the services send when they open the
    deadlines and those each sweep sends for the next moment, exactly once."""
    db = scenario.database
    with workers(env=scenario.env, workdir=scenario.workdir) as start:
        start("worker")
        _seeded(scenario)
        _assert_every_due_escalation_exactly_once(db)
        _assert_every_email_sent_once(db, scenario)
