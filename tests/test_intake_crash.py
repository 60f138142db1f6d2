"""The intake killed mid-batch loses no matching (issue 12, row 1), on real processes: a web
server (``manage.py runserver``) killed with SIGKILL during a 1,000-post
``POST /api/v1/posts/``, and a Celery worker killed during a CSV import, each at several
points. The batch is then sent again (the import resumes), what beat runs after a crash
runs (``tests.intake_commands recover``), and the matches must be those of the same batch
stored without a crash: every post matched, each match once and in a topic.

Like the engine's integration tests, the module brings its own PostgreSQL (and Redis for
the worker) and reads the results with psycopg2; Django runs in the subprocesses.
"""

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.intake_commands import csv_text, posts
from tests.integration import ROOT, Database, django_env, wait_for, workers
from tests.servers import PostgresServer, RedisServer, free_port

pytestmark = pytest.mark.integration
POSTS = 1000
IMPORT_ROWS = 3000
TIMEOUT = 40.0
NOW = datetime.now(UTC).replace(microsecond=0)


def commands(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tests.intake_commands", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@dataclass
class Site:
    postgres: PostgresServer
    redis: RedisServer
    admin: Database
    workdir: Path
    token: str
    csv: Path
    names: Iterator[int]


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """PostgreSQL with a template database (plan, demo organisation, three watch rules),
    Redis, and the CSV export to import."""
    from tests.integration import run_command

    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-intake-crash-"))
    csv = workdir / "export.csv"
    csv.write_text(csv_text(IMPORT_ROWS, now=NOW), encoding="utf-8")
    with PostgresServer() as postgres, RedisServer() as redis:
        env = django_env(database_url=postgres.url, data_dir=workdir)
        run_command(["prepare"], env=env)
        token = commands("watch", env=env)
        admin = Database(postgres.url.rsplit("/", 1)[0] + "/postgres")
        try:
            yield Site(
                postgres=postgres,
                redis=redis,
                admin=admin,
                workdir=workdir,
                token=token,
                csv=csv,
                names=iter(range(1, 1000)),
            )
        finally:
            admin.close()
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Copy:
    """A fresh copy of the template: its database and the environment of its processes."""

    db: Database
    env: dict[str, str]
    workdir: Path


@pytest.fixture
def fresh(site: Site) -> Iterator[Callable[[], Copy]]:
    opened: list[Database] = []

    def make() -> Copy:
        number = next(site.names)
        url = site.admin.clone("fenghuo", f"crash_{number}")
        workdir = site.workdir / f"crash_{number}"
        workdir.mkdir()
        env = django_env(
            database_url=url,
            data_dir=workdir,
            broker_url=f"{site.redis.url.rsplit('/', 1)[0]}/{number % 15 + 1}",
        )
        opened.append(Database(url))
        return Copy(db=opened[-1], env=env, workdir=workdir)

    yield make
    for db in opened:
        db.close()


def outcome(db: Database) -> dict[str, object]:
    """What must be the same with and without a crash."""
    return {
        "posts": db.scalar("SELECT count(*) FROM monitoring_post"),
        "matches": sorted(
            db.rows(
                "SELECT p.url, r.name FROM monitoring_postmatch m "
                "JOIN monitoring_post p ON p.id = m.post_id "
                "JOIN monitoring_watchrule r ON r.id = m.rule_id"
            )
        ),
        "pending": db.scalar(
            "SELECT count(*) FROM monitoring_post WHERE complete_after IS NOT NULL"
        ),
        "matches outside a topic": db.scalar(
            "SELECT count(*) FROM monitoring_postmatch WHERE topic_id IS NULL"
        ),
        "copies": db.scalar("SELECT count(*) FROM monitoring_post WHERE original_id IS NOT NULL"),
    }


# --- The web process ----------------------------------------------------------------------


class Web:
    """``manage.py runserver --noreload`` on a loopback port, in its own session."""

    def __init__(self, copy: Copy) -> None:
        self.port = free_port()
        self.log = (copy.workdir / "web.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=copy.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.answers, timeout=TIMEOUT, what="the web server", every=0.2)

    def answers(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
        except urllib.error.HTTPError:
            return True  # 503 while the engine is silent: it answers
        except OSError:
            return False
        return True

    def send(self, token: str, batch: list[dict]) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/posts/",
            data=json.dumps(batch).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 (http)
            return json.load(answer)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()


def storing_in_progress(db: Database) -> bool:
    """Whether the batch's transaction is writing its posts and has not committed."""
    return bool(
        db.scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'monitoring_post' AND l.mode = 'RowExclusiveLock' "
            "AND l.granted AND l.pid <> pg_backend_pid()"
        )
    ) and not db.scalar("SELECT count(*) FROM monitoring_post")


def matching_in_progress(db: Database) -> bool:
    """Whether a transaction holds the rule locks matching takes (``matches_record``)."""
    return bool(
        db.scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'monitoring_watchrule' AND l.mode = 'RowShareLock' "
            "AND l.granted AND l.pid <> pg_backend_pid()"
        )
    )


def _poll(condition: Callable[[], bool], *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return False


# Where the web process dies: inside the transaction storing the batch, the moment it is
# committed (stored, not matched), and inside the matching transaction.
KILL_POINTS: dict[str, Callable[[Database], bool]] = {
    "mid-store": lambda db: _poll(lambda: storing_in_progress(db), timeout=TIMEOUT),
    "after-commit": lambda db: _poll(
        lambda: db.scalar("SELECT count(*) FROM monitoring_post") > 0, timeout=TIMEOUT
    ),
    "mid-matching": lambda db: _poll(lambda: matching_in_progress(db), timeout=TIMEOUT),
}


@pytest.fixture(scope="module")
def expected_from_the_web(site: Site) -> dict[str, object]:
    """The batch stored by a web process that is left alone."""
    database = Database(site.admin.clone("fenghuo", "crash_web_reference"))
    workdir = site.workdir / "web_reference"
    workdir.mkdir()
    copy = Copy(
        db=database, env=django_env(database_url=database.url, data_dir=workdir), workdir=workdir
    )
    web = Web(copy)
    try:
        assert web.send(site.token, posts(POSTS, now=NOW))["accepted"] == POSTS
    finally:
        web.kill()
    found = outcome(database)
    database.close()
    assert found["pending"] == 0 and len(found["matches"]) > POSTS / 4, found
    return found


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_web_process_killed_during_a_batch_loses_no_matching(
    site, fresh, point, expected_from_the_web
):
    copy = fresh()
    batch = posts(POSTS, now=NOW)
    web = Web(copy)
    sending = threading.Thread(
        target=lambda: _ignore_errors(web.send, site.token, batch), daemon=True
    )
    sending.start()
    reached = KILL_POINTS[point](copy.db)
    web.kill()
    sending.join(timeout=TIMEOUT)
    stored = copy.db.scalar("SELECT count(*) FROM monitoring_post")
    matched = copy.db.scalar("SELECT count(*) FROM monitoring_postmatch")
    print(f"\nkilled {point} (reached: {reached}): {stored} posts stored, {matched} matches")
    assert reached, f"the kill point {point} was never reached"
    assert not matched, "the kill came too late to test anything"

    again = Web(copy)
    try:
        answer = again.send(site.token, batch)  # the crawler sends the batch again
    finally:
        again.kill()
    assert answer["accepted"] + answer["duplicate"] == POSTS and answer["rejected"] == 0
    commands("recover", "--ahead", "900", env=copy.env)

    assert outcome(copy.db) == expected_from_the_web


def _ignore_errors(send: Callable, *args: object) -> None:
    with contextlib.suppress(OSError):  # the server died under the request
        send(*args)


# --- The worker ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected_from_the_import(site: Site) -> dict[str, object]:
    """The CSV imported by a process that is left alone."""
    database = Database(site.admin.clone("fenghuo", "crash_import_reference"))
    workdir = site.workdir / "import_reference"
    workdir.mkdir()
    commands(
        "import",
        str(site.csv),
        "--run",
        env=django_env(database_url=database.url, data_dir=workdir),
    )
    found = outcome(database)
    assert database.scalar("SELECT state FROM monitoring_importjob") == "done"
    database.close()
    assert found["posts"] == IMPORT_ROWS and found["pending"] == 0, found
    return found


@pytest.mark.parametrize("stored_before_the_kill", [1, 1000, 2000])
def test_a_worker_killed_during_an_import_loses_no_matching(
    site, fresh, stored_before_the_kill, expected_from_the_import
):
    copy = fresh()
    with workers(env=copy.env, workdir=copy.workdir) as start:
        worker = start("importer")
        commands("import", str(site.csv), env=copy.env)
        reached = _poll(
            lambda: (
                copy.db.scalar("SELECT count(*) FROM monitoring_post") >= stored_before_the_kill
            ),
            timeout=TIMEOUT,
        )
        worker.kill()
    stored = copy.db.scalar("SELECT count(*) FROM monitoring_post")
    matched = copy.db.scalar("SELECT count(DISTINCT post_id) FROM monitoring_postmatch")
    print(f"\nkilled the worker with {stored} rows stored, {matched} posts matched")
    assert reached and stored < IMPORT_ROWS, "the kill came too late to test anything"

    commands("recover", "--ahead", "900", env=copy.env)

    assert copy.db.scalar("SELECT state FROM monitoring_importjob") == "done"
    assert outcome(copy.db) == expected_from_the_import
