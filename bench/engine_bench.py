"""The deadline engine under load, on real PostgreSQL and Redis started for the run.

    python -m bench.engine_bench                    # 10,000 open, 1,000 due over 30 s
    python -m bench.engine_bench --open 2000 --due 200 --window 10 --large 20000

1. Seeds ``--open`` open, graded incidents (bulk inserts; their deadlines hours away),
   ``--due`` of them level Ⅰ with report deadlines that fall due one after another over
   ``--window`` seconds once a real worker with its beat runs, at the default settings
   (``FENGHUO_SWEEP_INTERVAL`` as a deployment gets it, unless ``--interval`` says).
   Like the services, the arming announces the new moments (``deadlines.schedule``), so
   the engine's wake-up is brought forward to the first.
2. Waits until every due deadline has escalated, then reports the lateness of each
   overdue alert after ``due_at`` (when its transaction committed, from PostgreSQL's
   commit timestamps: when the recipients could see it), how many were missed and how
   many written twice.
3. Stops the worker, counts the queries of a sweep with nothing due (and shows the plan
   of each), and times ``engine.sweep.sweep()`` with ``--due`` deadlines due at once, at
   ``--open`` and again at ``--large`` open incidents.

The last line says PASS or FAIL against the targets: p99 lateness at most 1.5 s (issue
13), none missed, none duplicated, an idle sweep one query, and a sweep at ``--large``
open no slower than ``--growth`` times the sweep at ``--open``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration import Database, Worker, django_env, wait_for
from tests.servers import PostgresServer, RedisServer

logger = logging.getLogger("bench.engine_bench")

BATCH = 2000
SWEEP_RUNS = 3
IDLE_RUNS = 20
TARGET_P99 = 1.5  # seconds from due_at to the committed overdue alert (issue 13)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--open", type=int, default=10_000, help="open incidents during the run (default 10000)"
    )
    parser.add_argument(
        "--due",
        type=int,
        default=1_000,
        help="deadlines that fall due during the run (default 1000)",
    )
    parser.add_argument(
        "--window", type=float, default=30.0, help="seconds over which they fall due (default 30)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="beat's sweep interval, seconds (default: FENGHUO_SWEEP_INTERVAL's default)",
    )
    parser.add_argument(
        "--large",
        type=int,
        default=100_000,
        help="open incidents for the second sweep timing (default 100000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="worker processes (default 2, as on a 2-core machine)",
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=3.0,
        help="seconds from arming to the first due time (default 3)",
    )
    parser.add_argument(
        "--growth",
        type=float,
        default=1.5,
        help="largest acceptable sweep-time ratio large/open (default 1.5)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.open <= args.large:
        parser.error("need 0 < --due <= --open <= --large")
    return args


# --------------------------------------------------------------------------------- seeding


def _seed_open(count: int, *, level: int, start: int) -> list[int]:
    """Bulk-insert ``count`` open incidents graded at ``level``, discovered now, with the
    deadlines of their level scheduled as the engine would; answers the incidents' ids."""
    from django.db import transaction
    from django.utils import timezone

    from deadlines.models import Deadline
    from deadlines.schedule import escalation_chain, next_check, reminder_points
    from incidents.models import Incident
    from organisation.models import Unit, User
    from plans.models import Anchor, PlanVersion
    from plans.selectors import plan_version_in_force

    version = PlanVersion.objects.prefetch_related("escalation_steps").get(
        pk=plan_version_in_force().pk
    )
    rules = list(version.deadline_rules.filter(level=level, anchor=Anchor.DISCOVERED))
    chain = escalation_chain(version=version, level=level)
    duty = User.objects.get(username="duty")
    unit = Unit.objects.get(name="卫生健康委员会")
    ids: list[int] = []
    for offset in range(0, count, BATCH):
        now = timezone.now()
        with transaction.atomic():
            incidents = Incident.objects.bulk_create(
                [
                    Incident(
                        plan_version=version,
                        title=f"压测 {start + offset + n}",
                        platform="weibo",
                        discovered_at=now,
                        unit=unit,
                        event_type="user_complaint",
                        state="assessed",
                        level=level,
                        category="inquiry",
                        created_by=duty,
                    )
                    for n in range(min(BATCH, count - offset))
                ]
            )
            deadlines = []
            for incident in incidents:
                incident.plan_version = version
                for rule in rules:
                    deadline = Deadline(
                        incident=incident,
                        kind=rule.kind,
                        level=level,
                        fulfilled_by=rule.fulfilled_by,
                        starts_at=now,
                        due_at=now + timedelta(minutes=rule.minutes),
                    )
                    deadline.next_check_at = next_check(
                        deadline=deadline,
                        chain=chain,
                        points=reminder_points(deadline=deadline, version=version),
                    )
                    deadlines.append(deadline)
            Deadline.objects.bulk_create(deadlines)
        ids.extend(i.pk for i in incidents)
    return ids


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _arm(deadline_ids: list[int], *, first_due: datetime, window: float) -> None:
    """Make these report deadlines fall due one after another from ``first_due`` over
    ``window`` seconds, as if their reminders had gone out, with nothing yet written for
    them (earlier alerts and late reports removed). Their new moments are announced as a
    service announces what it schedules: the engine sends its wake-up on commit."""
    from django.db import transaction

    from deadlines.models import Deadline, LateReport
    from deadlines.schedule import next_check_announce
    from notifications.models import Notification

    count = len(deadline_ids)
    with transaction.atomic():
        Notification.objects.filter(deadline_id__in=deadline_ids).delete()
        LateReport.objects.filter(deadline_id__in=deadline_ids).delete()
        deadlines = list(Deadline.objects.filter(pk__in=deadline_ids).order_by("pk"))
        for number, deadline in enumerate(deadlines):
            deadline.due_at = first_due + timedelta(seconds=window * number / count)
            deadline.starts_at = deadline.due_at - timedelta(minutes=30)
            deadline.next_check_at = deadline.due_at
            deadline.reminders_sent = 2  # half window and five minutes before: both past
            deadline.escalation_step = -1
            deadline.acknowledged_at = None
        Deadline.objects.bulk_update(
            deadlines,
            [
                "due_at",
                "starts_at",
                "next_check_at",
                "reminders_sent",
                "escalation_step",
                "acknowledged_at",
            ],
            batch_size=BATCH,
        )
        for deadline in deadlines:
            next_check_announce(deadline)


def _time_sweeps(deadline_ids: list[int]) -> list[float]:
    """Seconds taken by ``sweep()`` with these deadlines all due, several runs."""
    from django.utils import timezone

    from engine.sweep import sweep

    times = []
    for _run in range(SWEEP_RUNS):
        _arm(deadline_ids, first_due=timezone.now() - timedelta(seconds=1), window=0)
        started = time.perf_counter()
        result = sweep()
        times.append(time.perf_counter() - started)
        if result.deadlines != len(deadline_ids):
            raise RuntimeError(f"sweep advanced {result.deadlines}, not {len(deadline_ids)}")
    return times


def _idle_sweep() -> tuple[list[str], list[float]]:
    """A sweep with nothing due: its queries (each with the plan PostgreSQL chose), and
    the seconds of several such sweeps."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from engine.sweep import sweep

    sweep()  # whatever is owed (the heartbeat, if old), so that the next one is idle
    with CaptureQueriesContext(connection) as captured:
        if sweep().deadlines:
            raise RuntimeError("a sweep meant to be idle advanced deadlines")
    queries = []
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = [row[0].strip() for row in cursor.fetchall()]
        scans = [
            re.sub(r"\s*\(cost=[^)]*\)", "", step.lstrip("-> "))
            for step in plan
            if " on " in step and "Scan" in step
        ]
        queries.append("; ".join(scans))
    times = []
    for _run in range(IDLE_RUNS):
        started = time.perf_counter()
        sweep()
        times.append(time.perf_counter() - started)
    return queries, times


# ------------------------------------------------------------------------------ measuring


def _lateness(db: Database) -> dict[str, Any]:
    """Per due report deadline: seconds from due_at to the commit of its overdue alert
    (and to the sweep's decision, ``created_at``); missed and duplicated counts."""
    rows = db.rows(
        "SELECT d.id, extract(epoch FROM min(pg_xact_commit_timestamp(n.xmin)) - d.due_at), "
        "extract(epoch FROM min(n.created_at) - d.due_at), count(n.id), "
        "count(DISTINCT n.recipient_id) "
        "FROM incidents_deadline d JOIN incidents_incident i ON i.id = d.incident_id "
        "LEFT JOIN notifications_notification n ON n.deadline_id = d.id "
        "AND n.kind = 'overdue' AND n.channel = 'in_app' "
        "WHERE d.kind = 'report' AND i.level = 1 GROUP BY d.id"
    )
    late_reports, late_deadlines = db.late_reports()
    committed = sorted(float(r[1]) for r in rows if r[1] is not None)
    decided = sorted(float(r[2]) for r in rows if r[2] is not None)
    return {
        "committed": committed,
        "decided": decided,
        "missed": sum(1 for r in rows if r[3] == 0),
        "duplicated": sum(r[3] - r[4] for r in rows) + (late_reports - late_deadlines),
        "late_reports": late_reports,
    }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[max(0, math.ceil(share * len(values)) - 1)]  # nearest rank


def _spread(values: list[float]) -> str:
    return (
        f"p50 {_percentile(values, 0.50):6.3f} s   p99 {_percentile(values, 0.99):6.3f} s"
        f"   max {max(values, default=float('nan')):6.3f} s"
    )


# ----------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-bench-"))
    with (
        PostgresServer(settings={"track_commit_timestamp": "on"}) as postgres,
        RedisServer() as redis,
    ):
        env = django_env(
            database_url=postgres.url,
            data_dir=workdir,
            broker_url=redis.url,
            extra={
                "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
                "LOG_LEVEL": "WARNING",
            },
        )
        if args.interval is None:  # the default, as a deployment that sets nothing has it
            env.pop("FENGHUO_SWEEP_INTERVAL", None)
            os.environ.pop("FENGHUO_SWEEP_INTERVAL", None)
        else:
            env["FENGHUO_SWEEP_INTERVAL"] = str(args.interval)
        os.environ.update(env)
        import django

        django.setup()
        return _run(args, postgres=postgres, env=env, workdir=workdir)


def _run(
    args: argparse.Namespace, *, postgres: PostgresServer, env: dict[str, str], workdir: Path
) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from deadlines.models import Deadline
    from organisation.demo import demo_organisation_load

    interval = settings.FENGHUO_SWEEP_INTERVAL
    print(
        f"fenghuo engine bench: {args.open} open, {args.due} due over {args.window:g} s, "
        f"beat sweeps every {interval:g} s"
        f"{' (the default)' if args.interval is None else ''} with wake-ups between, "
        f"{args.concurrency} worker processes"
    )
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    demo_organisation_load(roster_days=2)
    due_incidents = _seed_open(args.due, level=1, start=0)
    _seed_open(args.open - args.due, level=4, start=args.due)
    _analyze()
    due_ids = list(
        Deadline.objects.filter(incident_id__in=due_incidents, kind="report").values_list(
            "pk", flat=True
        )
    )
    print(f"seeded {args.open} open incidents in {time.perf_counter() - started:.1f} s")
    connections.close_all()

    db = Database(postgres.url)
    worker = Worker(env=env, workdir=workdir, name="bench", concurrency=args.concurrency)
    try:
        worker.start()
        wait_for(db.last_sweep, timeout=60, what="the worker's first sweep")
        _arm(due_ids, first_due=timezone.now() + timedelta(seconds=args.lead), window=args.window)
        wait_for(
            lambda: db.overdue_written() >= args.due,
            timeout=args.lead + args.window + 120,
            what="every due deadline to escalate",
            every=0.5,
        )
        time.sleep(2 * interval)  # any second write would come now
    except BaseException:
        print(f"--- {worker.log} ---\n{worker.tail()}", file=sys.stderr)
        raise
    finally:
        worker.kill()
    found = _lateness(db)
    db.close()

    idle_open = _idle_sweep()
    at_open = _time_sweeps(due_ids)
    _seed_open(args.large - args.open, level=4, start=args.open)
    _analyze()
    idle_large = _idle_sweep()
    at_large = _time_sweeps(due_ids)
    connections.close_all()

    p99 = _percentile(found["committed"], 0.99)
    sweep_open, sweep_large = statistics.median(at_open), statistics.median(at_large)
    checks = {
        f"p99 lateness <= {TARGET_P99:g} s": p99 <= TARGET_P99,
        "none missed": found["missed"] == 0,
        "none duplicated": found["duplicated"] == 0,
        "idle sweep 1 query": len(idle_open[0]) == len(idle_large[0]) == 1,
        f"sweep at {args.large} <= {args.growth:g} x sweep at {args.open}": sweep_large
        <= args.growth * sweep_open,
    }
    print()
    print(f"overdue alert after due_at, committed   {_spread(found['committed'])}")
    print(f"overdue alert after due_at, decided     {_spread(found['decided'])}")
    print(
        f"missed {found['missed']} of {args.due}   duplicated {found['duplicated']}   "
        f"late reports {found['late_reports']}"
    )
    for open_count, (queries, times) in ((args.open, idle_open), (args.large, idle_large)):
        print(
            f"idle sweep at {open_count:>7} open: {len(queries)} "
            f"{'query' if len(queries) == 1 else 'queries'}, "
            f"median {statistics.median(times) * 1000:.2f} ms of {IDLE_RUNS}"
        )
        for number, scans in enumerate(queries, 1):
            print(f"    {number}. {scans}")
    for open_count, times in ((args.open, at_open), (args.large, at_large)):
        print(
            f"sweep with {args.due} due at {open_count:>7} open: "
            f"median {statistics.median(times):.3f} s "
            f"({', '.join(f'{t:.3f}' for t in times)})"
        )
    print()
    failed = [name for name, ok in checks.items() if not ok]
    print(
        "PASS" if not failed else f"FAIL: {'; '.join(failed)}",
        f"({', '.join(checks)})" if not failed else "",
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
