"""Real infrastructure for the engine's integration tests and its benchmark: a Celery
worker with its beat in a separate process, a PostgreSQL database that worker and test
share, and the commands that prepare that database.

The Django side runs in subprocesses, against ``DATABASE_URL`` with ``config.settings``::

    python -m tests.integration prepare                  # migrate (loads the plan), demo people
    python -m tests.integration seed 300 --due-in 5 --spread 6

``seed`` logs level-Ⅰ incidents through the services (``incident_create`` then ``assess``),
discovered so long ago that their report deadlines fall due between ``--due-in`` and
``--due-in + --spread`` seconds from now, one after another.

The test process does not use Django's ORM on that database: :class:`Database` reads it
with psycopg2, :class:`Worker` starts and kills ``celery -A config worker --beat``.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.header
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

logger = logging.getLogger("tests.integration")

ROOT = Path(__file__).resolve().parent.parent

# Escalation step 0 of the default plan alerts these roles: the duty officer on duty and
# the office head, one person each in the demo organisation.
OVERDUE_RECIPIENTS = 2


class Timeout(AssertionError):
    """Something the test waited for did not happen in time."""


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll ``predicate`` until it answers something true; that answer is returned."""
    deadline = time.monotonic() + timeout
    while True:
        answer = predicate()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def django_env(
    *,
    database_url: str,
    data_dir: Path,
    broker_url: str = "",
    sweep_interval: float = 1.0,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a Django or Celery subprocess on the shared database."""
    env = dict(os.environ)
    for inherited in ("DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER", "PYTEST_ADDOPTS"):
        env.pop(inherited, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "FENGHUO_DATA_DIR": str(data_dir),
            "FENGHUO_SWEEP_INTERVAL": str(sweep_interval),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    env.update(extra or {})
    return env


def run_command(args: Sequence[str], *, env: Mapping[str, str], timeout: float = 300) -> str:
    """Run ``python -m tests.integration ARGS`` (or any module given as ``-m``); its
    output is answered, and shown in full when it fails."""
    cmd = [sys.executable, "-m", "tests.integration", *args]
    result = subprocess.run(
        cmd, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout


# ------------------------------------------------------------------------------ database


def database_url(url: str, dbname: str) -> str:
    """``url`` pointing at another database of the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


class Database:
    """An autocommit psycopg2 connection to the shared database, for reading results."""

    def __init__(self, url: str) -> None:
        import psycopg2

        self.url = url
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True

    def close(self) -> None:
        self.connection.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def clone(self, template: str, name: str) -> str:
        """Create database ``name`` as a copy of ``template`` (which nobody may be
        connected to); answers its URL."""
        self.rows(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return database_url(self.url, name)

    def sweep_in_progress(self) -> bool:
        """Whether another session is inside a sweep's transaction: it holds the table
        lock that ``SELECT … FOR UPDATE`` on the deadlines takes until commit."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'incidents_deadline' AND l.mode = 'RowShareLock' "
                "AND l.granted AND l.pid <> pg_backend_pid()"
            )
        )

    def report_deadlines(self) -> int:
        return self.scalar("SELECT count(*) FROM incidents_deadline WHERE kind = 'report'")

    def overdue_written(self) -> int:
        """Report deadlines that have their overdue alert (escalation step 0) so far."""
        return self.scalar(
            "SELECT count(*) FROM incidents_deadline WHERE kind = 'report' AND escalation_step >= 0"
        )

    def overdue_outbox(self) -> dict[str, dict[str, int]]:
        """The overdue alerts of report deadlines, by channel: rows, distinct
        (deadline, recipient) pairs, rows delivered, rows given up."""
        return {
            channel: {"rows": rows, "pairs": pairs, "delivered": delivered, "failed": failed}
            for channel, rows, pairs, delivered, failed in self.rows(
                "SELECT n.channel, count(*), "
                "count(DISTINCT (n.deadline_id, n.recipient_id, n.endpoint_id)), "
                "count(n.delivered_at), count(n.failed_at) "
                "FROM notifications_notification n "
                "JOIN incidents_deadline d ON d.id = n.deadline_id "
                "WHERE n.kind = 'overdue' AND d.kind = 'report' GROUP BY n.channel"
            )
        }

    def overdue_undelivered(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM notifications_notification n "
            "JOIN incidents_deadline d ON d.id = n.deadline_id "
            "WHERE n.kind = 'overdue' AND d.kind = 'report' AND n.delivered_at IS NULL "
            "AND n.failed_at IS NULL"
        )

    def overdue_sends(self) -> tuple[int, int, int]:
        """Sends (email, webhook) of the overdue alerts: successful attempts, the rows
        they were for, and failed attempts."""
        return self.rows(
            "SELECT count(*) FILTER (WHERE a.ok), "
            "count(DISTINCT a.notification_id) FILTER (WHERE a.ok), "
            "count(*) FILTER (WHERE NOT a.ok) "
            "FROM notifications_deliveryattempt a "
            "JOIN notifications_notification n ON n.id = a.notification_id "
            "JOIN incidents_deadline d ON d.id = n.deadline_id "
            "WHERE n.kind = 'overdue' AND d.kind = 'report'"
        )[0]

    def overdue_missing(self) -> int:
        """Report deadlines without an in-app overdue alert."""
        return self.scalar(
            "SELECT count(*) FROM incidents_deadline d WHERE d.kind = 'report' "
            "AND NOT EXISTS (SELECT 1 FROM notifications_notification n "
            "WHERE n.deadline_id = d.id AND n.kind = 'overdue' AND n.channel = 'in_app')"
        )

    def late_reports(self) -> tuple[int, int]:
        """Late reports of report deadlines: rows, and distinct deadlines."""
        return self.rows(
            "SELECT count(*), count(DISTINCT l.deadline_id) FROM incidents_latereport l "
            "JOIN incidents_deadline d ON d.id = l.deadline_id WHERE d.kind = 'report'"
        )[0]

    def emails_pending(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM notifications_notification WHERE "
            "channel = 'email' AND delivered_at IS NULL AND failed_at IS NULL"
        )

    def emails_delivered(self) -> list[tuple[str, str]]:
        """(address, subject) of every email row marked delivered, all kinds."""
        return [
            (address, " ".join(title.split()))
            for address, title in self.rows(
                "SELECT u.email, n.title FROM notifications_notification n "
                "JOIN organisation_user u ON u.id = n.recipient_id "
                "WHERE n.channel = 'email' AND n.delivered_at IS NOT NULL"
            )
        ]

    def last_sweep(self) -> Any:
        found = self.rows("SELECT at FROM engine_heartbeat WHERE name = 'sweep'")
        return found[0][0] if found else None


# -------------------------------------------------------------------------------- worker


def emails_sent(logs: Iterable[Path]) -> list[tuple[str, str]]:
    """(address, subject) of every email the workers really sent: Django's console email
    backend writes each message to the worker's log, a line of 79 dashes after each."""
    sent = []
    for log in logs:
        text = log.read_text(errors="replace") if log.exists() else ""
        for chunk in re.split(r"^.*-{79}$", text, flags=re.MULTILINE):
            start = chunk.find("Content-Type:")
            if start < 0:
                continue
            message = email.message_from_string(chunk[start:])
            if message["To"] and message["Subject"] is not None:
                subject = str(
                    email.header.make_header(email.header.decode_header(message["Subject"]))
                )
                sent.append((str(message["To"]), " ".join(subject.split())))
    return sent


class Worker:
    """``celery -A config worker --beat`` in its own session, so that a SIGKILL to its
    process group takes the main process, the pool child running the sweep and the beat
    all at once, as a machine losing power would."""

    def __init__(
        self, *, env: Mapping[str, str], workdir: Path, name: str, concurrency: int = 1
    ) -> None:
        self.env = dict(env)
        self.name = name
        self.log = workdir / f"{name}.log"
        # A fresh schedule file per worker: a killed beat may leave its shelve half written.
        self.schedule = workdir / f"{name}-beat-schedule"
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        cmd = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--beat",
            "-l", "INFO", "--concurrency", str(self.concurrency), "-n", f"{self.name}@%h",
            "-s", str(self.schedule), "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        logger.info("worker %s started, pid %s", self.name, self.process.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group, and reap the main process."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        logger.info("worker %s killed", self.name)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def workers(*, env: Mapping[str, str], workdir: Path) -> Iterator[Callable[[str], Worker]]:
    """A starter of named workers; every one started is killed on the way out, whatever
    happened, and the tails of their logs are shown when the block fails."""
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(env=env, workdir=workdir, name=name)
        started.append(worker)
        return worker.start()

    try:
        yield start
    except BaseException:
        for worker in started:
            print(f"--- {worker.log} ---\n{worker.tail()}", file=sys.stderr)
        raise
    finally:
        for worker in started:
            worker.kill()


# ----------------------------------------------------------------- Django-side commands


def prepare() -> None:
    """Migrate (which loads the default plan) and load the demo organisation."""
    from django.core.management import call_command

    from organisation.demo import demo_organisation_load

    call_command("migrate", verbosity=0, interactive=False)
    demo_organisation_load(roster_days=2)


def seed(*, count: int, due_in: float, spread: float) -> None:
    """Log and grade ``count`` level-Ⅰ incidents whose report deadlines fall due from
    ``due_in`` seconds from now, one every ``spread / count`` seconds."""
    from datetime import timedelta

    from django.utils import timezone

    from incidents.services import incident_create, incident_transition
    from organisation.models import Unit, User
    from plans.models import DeadlineRule
    from plans.selectors import plan_version_in_force

    duty = User.objects.get(username="duty")
    analyst = User.objects.get(username="analyst")
    unit = Unit.objects.get(name="卫生健康委员会")
    window = timedelta(
        minutes=DeadlineRule.objects.get(
            version=plan_version_in_force(), level=1, kind="report"
        ).minutes
    )
    start = timezone.now() + timedelta(seconds=due_in)
    for number in range(count):
        due_at = start + timedelta(seconds=spread * number / max(count, 1))
        incident = incident_create(
            actor=duty,
            title=f"集成测试 {number}",
            platform="weibo",
            event_type="user_complaint",
            unit=unit,
            discovered_at=due_at - window,
            metrics={"casualties": True},
        )
        incident_transition(
            incident=incident, action="assess", actor=analyst, level=1, category="hype"
        )


def watch(*, feed_url: str) -> None:
    """A watch rule of the health commission and an RSS feed to poll at once."""
    from monitoring.models import Feed
    from monitoring.text.matching import rule_create
    from organisation.models import Unit, User

    rule_create(
        actor=User.objects.get(username="analyst"),
        name="医院收费",
        expression="医院 AND 收费",
        unit=Unit.objects.get(name="卫生健康委员会"),
    )
    Feed.objects.create(
        name="某市论坛", url=feed_url, platform="forum", source_type="forum", interval_minutes=1
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.integration")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="migrate and load the demo organisation")
    seeding = commands.add_parser("seed", help="log level-Ⅰ incidents falling due soon")
    seeding.add_argument("count", type=int)
    seeding.add_argument(
        "--due-in", type=float, default=5.0, help="seconds from now to the first due time"
    )
    seeding.add_argument(
        "--spread", type=float, default=5.0, help="seconds over which the due times are spread"
    )
    watching = commands.add_parser("watch", help="a watch rule and a feed to poll")
    watching.add_argument("feed_url")
    args = parser.parse_args(argv)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    if args.command == "prepare":
        prepare()
    elif args.command == "watch":
        watch(feed_url=args.feed_url)
    else:
        seed(count=args.count, due_in=args.due_in, spread=args.spread)
    return 0


if __name__ == "__main__":
    sys.exit(main())
