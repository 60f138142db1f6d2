"""The incident list API and the duty board at scale, on SQLite and on a throwaway
PostgreSQL, each database in a process of its own.

    python -m bench.list_bench                       # both databases, about 3 minutes
    python -m bench.list_bench --database sqlite --seconds 2
    python -m bench.list_bench --database sqlite --profile api     # cProfile, top entries

1. **The board** (``GET /``, the whole page, as the duty officer): with ``--board-small``
   (10) and then ``--board-large`` (1,000) open incidents, each graded one with the
   deadlines of its level, figures and, past ``reported``, an approved response plan.
   Prints ms per page, the ratio large/small (target at most 3) and the query counts
   (must be equal).
2. **The incident list** (``GET /api/v1/incidents/``, the first page of 50, as the
   office head, whose role lets every action be worked out): over ``--incidents``
   (10,000) incidents of every state, against ``bench.list_bare``, a bare Django view
   answering the same JSON with ``values()`` and ``JsonResponse``. Both through the
   same middleware with the Django test client, in turn, in this process; the two
   answers are checked to be equal first. Prints ms per request for both, the API's
   throughput as a share of the bare view's (target at least 0.5) and the query counts
   for pages of 10 and 50 (the API's must be equal).

Times are medians of requests made for ``--seconds`` each (at least ``--min-requests``).
The last line says PASS or FAIL against the targets.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

DATABASES = ("sqlite", "postgres")
BATCH = 1000
LIST_URL = "/api/v1/incidents/"
BARE_URL = "/bench/incidents/"
BOARD_URL = "/"

# How the incidents of the list are spread over the lifecycle (open ones first).
STATE_WEIGHTS = {
    "detected": 15,
    "assessed": 10,
    "reported": 10,
    "responding": 10,
    "tracking": 10,
    "reviewing": 5,
    "closed": 30,
    "dismissed": 10,
}
ORDER = list(STATE_WEIGHTS)
OPEN = ORDER[:6]
# The transition that meets each obligation, as the default plan has it.
MET_BY_STATE = {"report": "reported", "first_response": "responding", "review": "closed"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.list_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--incidents", type=int, default=10_000, help="for the list (10000)")
    parser.add_argument("--page", type=int, default=50, help="the list's page size (50)")
    parser.add_argument("--board-small", type=int, default=10, help="open incidents (10)")
    parser.add_argument("--board-large", type=int, default=1_000, help="open incidents (1000)")
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="time spent on each measurement (8)"
    )
    parser.add_argument("--min-requests", type=int, default=10)
    parser.add_argument("--list-target", type=float, default=0.5)
    parser.add_argument("--board-target", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--profile",
        choices=["api", "bare", "board"],
        default=None,
        help="also run cProfile over requests of one view and print the top entries",
    )
    parser.add_argument("--top", type=int, default=35, help="cProfile entries to print")
    parser.add_argument("--json", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.board_small <= args.board_large <= args.incidents:
        parser.error("need 0 < --board-small <= --board-large <= --incidents")
    return args


# ------------------------------------------------------------------------------ database


class Store:
    """A fresh database for the run: a SQLite file, or a PostgreSQL server of its own."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.server: Any = None

    def start(self) -> str:
        """Answers the DATABASE_URL for Django."""
        for folder in ("queue", "processed", "control"):  # the file-system broker's
            (self.workdir / "broker" / folder).mkdir(parents=True, exist_ok=True)
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / 'bench.sqlite3'}"
        from tests.integration import Database, database_url
        from tests.servers import PostgresServer

        self.server = PostgresServer()
        self.server.start()
        admin = Database(self.server.url)
        try:
            admin.rows("CREATE DATABASE bench")
        finally:
            admin.close()
        return database_url(self.server.url, "bench")

    def stop(self) -> None:
        if self.server is not None:
            from django.db import connections

            connections.close_all()
            self.server.stop()


def _env(database_url: str, workdir: Path) -> dict[str, str]:
    from tests.integration import django_env

    return django_env(
        database_url=database_url,
        data_dir=workdir,
        extra={
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "ALLOWED_HOSTS": "testserver",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "STATIC_ROOT": str(workdir / "static"),
        },
    )


def _prepare() -> str:
    """Migrate, load the demo organisation, collect the static files the pages name;
    answers the database's version."""
    from django.core.management import call_command
    from django.db import connection

    from organisation.demo import demo_organisation_load

    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)
    call_command("collectstatic", verbosity=0, interactive=False)
    demo_organisation_load(roster_days=2)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
        else:
            cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# ------------------------------------------------------------------------------- seeding


def seed(count: int, *, states: list[str], weights: list[int], rng: random.Random) -> None:
    """Bulk-insert ``count`` incidents in ``states`` (drawn with ``weights``), discovered
    over the last 30 days, each with its figures; graded ones with the deadlines of
    their level (met, open or cancelled as their state has it); from ``responding`` on
    with an approved response plan, in review with a draft review, closed with an
    approved one."""
    from django.db import transaction
    from django.utils import timezone

    from deadlines.models import Deadline
    from incidents.choices import EventType, Platform
    from incidents.models import Incident, MetricSnapshot
    from organisation.models import Unit, User
    from plans.categories import Category
    from plans.models import Anchor
    from plans.selectors import plan_version_in_force
    from response.models import DocumentState, ResponsePlan, Review

    version = plan_version_in_force()
    rules: dict[int, list] = {}
    for rule in version.deadline_rules.filter(anchor=Anchor.DISCOVERED):
        rules.setdefault(rule.level, []).append(rule)
    colours = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}
    units = list(Unit.objects.order_by("pk"))
    duty = User.objects.get(username="duty")
    office = User.objects.get(username="office")
    now = timezone.now()
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        drawn = rng.choices(states, weights=weights, k=size)
        with transaction.atomic():
            incidents = Incident.objects.bulk_create(
                [
                    Incident(
                        plan_version=version,
                        title=f"网友反映第{start + n + 1}号问题引发关注",
                        description="微博网友发帖称某单位办事推诿，评论区情绪较大。" * 3,
                        links=[f"https://weibo.com/example/{start + n + 1}"],
                        platform=rng.choice(Platform.values),
                        discovered_at=now - timedelta(minutes=rng.randrange(1, 30 * 24 * 60)),
                        unit=rng.choice(units),
                        event_type=rng.choice(EventType.values),
                        state=state,
                        version=1 + ORDER.index(state),
                        level=None if state == "detected" else rng.randint(1, 4),
                        suggested_level=rng.randint(1, 4),
                        category="" if state == "detected" else rng.choice(Category.values),
                        is_drill=rng.random() < 0.05,
                        created_by=duty,
                    )
                    for n, state in enumerate(drawn)
                ]
            )
            snapshots = MetricSnapshot.objects.bulk_create(
                [
                    MetricSnapshot(
                        incident=incident,
                        taken_at=incident.discovered_at,
                        reads=rng.randrange(100_000),
                        reposts=rng.randrange(5_000),
                        comments=rng.randrange(2_000),
                        negative_share=f"{rng.random():.3f}",
                        mainstream_media=rng.random() < 0.2,
                        casualties=rng.random() < 0.05,
                        suggested_level=incident.suggested_level,
                        recorded_by=duty,
                    )
                    for incident in incidents
                ]
            )
            deadlines, plans, reviews = [], [], []
            for incident, snapshot in zip(incidents, snapshots, strict=True):
                incident.latest_metrics = snapshot
                incident.colour = colours.get(incident.level, "")
                reached = ORDER.index(incident.state)
                for rule in rules.get(incident.level, ()):
                    due = incident.discovered_at + timedelta(minutes=rule.minutes)
                    met_state = MET_BY_STATE.get(rule.kind, "closed")
                    met = reached >= ORDER.index(met_state) and incident.state != "dismissed"
                    status = "met" if met else "open"
                    if not met and incident.state in ("closed", "dismissed"):
                        status = "cancelled"
                    met_at = None
                    if met:
                        met_at = due + timedelta(minutes=rng.choice((-20, -5, 10)))
                    deadlines.append(
                        Deadline(
                            incident=incident,
                            kind=rule.kind,
                            level=incident.level,
                            fulfilled_by=rule.fulfilled_by,
                            starts_at=incident.discovered_at,
                            due_at=due,
                            met_at=met_at,
                            status=status,
                        )
                    )
                if reached >= ORDER.index("responding") and incident.state != "dismissed":
                    plans.append(
                        ResponsePlan(
                            incident=incident,
                            version=1,
                            state=DocumentState.APPROVED,
                            author=office,
                            facts="经核实，网友反映的情况部分属实，已责成相关单位整改。" * 4,
                            category=incident.category or Category.INQUIRY,
                            measures_online="发布情况说明，回应网友关切。",
                            measures_offline="约谈相关责任人，限期整改。",
                        )
                    )
                if incident.state in ("reviewing", "closed"):
                    reviews.append(
                        Review(
                            incident=incident,
                            version=1,
                            state=DocumentState.APPROVED
                            if incident.state == "closed"
                            else DocumentState.DRAFT,
                            author=office,
                            summary="处置及时，回应得当。" * 10,
                        )
                    )
            Incident.objects.bulk_update(incidents, ["latest_metrics", "colour"])
            Deadline.objects.bulk_create(deadlines)
            ResponsePlan.objects.bulk_create(plans)
            Review.objects.bulk_create(reviews)
    _analyze()


# ------------------------------------------------------------------------------ timing


def _client(username: str):
    from django.test import Client

    from organisation.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return response


def _median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def timed(calls: dict[str, Any], *, seconds: float, least: int) -> dict[str, list[float]]:
    """Each call in turn, again and again, for ``seconds`` (at least ``least`` rounds);
    answers the seconds of every call by name."""
    for call in calls.values():  # warm: templates compiled, connections open
        call()
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or len(samples[next(iter(calls))]) < least:
        for name, call in calls.items():
            begun = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - begun)
    return samples


def queries(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def page_size(size: int):
    """Pages of ``size`` for the API (and the bare view) until restored."""
    from rest_framework.pagination import PageNumberPagination

    previous = PageNumberPagination.page_size
    PageNumberPagination.page_size = size
    return previous


def profile(call, *, seconds: float, top: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    requests = 0
    profiler.enable()
    while time.perf_counter() - started < seconds or requests < 5:
        call()
        requests += 1
    profiler.disable()
    print(f"\n-- cProfile over {requests} requests (by own time, then cumulative)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def _normalised(payload: dict[str, Any]) -> dict[str, Any]:
    """The answer without its own address (the two views live at different paths)."""
    return {key: value for key, value in payload.items() if key not in ("next", "previous")}


# ------------------------------------------------------------------------------- runs


def measure_list(office, args: argparse.Namespace) -> dict[str, Any]:
    """The API's first page against the bare view's, in turn; answers the figures."""
    page_size(args.page)
    api = lambda: _get(office, LIST_URL)  # noqa: E731
    bare = lambda: _get(office, BARE_URL)  # noqa: E731
    api_answer, bare_answer = api().json(), bare().json()
    if _normalised(api_answer) != _normalised(bare_answer):
        Path("list-api.json").write_text(json.dumps(api_answer, ensure_ascii=False, indent=1))
        Path("list-bare.json").write_text(json.dumps(bare_answer, ensure_ascii=False, indent=1))
        raise SystemExit("the API and the bare view answer differently: list-*.json")
    samples = timed({"api": api, "bare": bare}, seconds=2 * args.seconds, least=args.min_requests)
    counts = {}
    for size in (10, args.page):
        page_size(size)
        counts[size] = {"api": queries(api), "bare": queries(bare)}
    page_size(args.page)
    states: dict[str, int] = {}
    for item in api_answer["results"]:
        states[item["state"]] = states.get(item["state"], 0) + 1
    return {
        "incidents": api_answer["count"],
        "page": len(api_answer["results"]),
        "deadlines": sum(len(item["deadlines"]) for item in api_answer["results"]),
        "states": states,
        "api_ms": _median_ms(samples["api"]),
        "bare_ms": _median_ms(samples["bare"]),
        "requests": len(samples["api"]),
        "queries": counts,
        "bytes": len(api().content),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    found: dict[str, Any] = {"database": args.database}
    found["version"] = _prepare()
    settings.ROOT_URLCONF = "bench.list_bare"
    rng = random.Random(args.seed)
    open_weights = [STATE_WEIGHTS[state] for state in OPEN]
    duty = _client("duty")

    # The board, small then large.
    board: dict[str, Any] = {}
    seed(args.board_small, states=OPEN, weights=open_weights, rng=rng)
    for label, count in (("small", args.board_small), ("large", args.board_large)):
        if count > args.board_small:
            seed(count - args.board_small, states=OPEN, weights=open_weights, rng=rng)
        call = lambda: _get(duty, BOARD_URL)  # noqa: E731
        samples = timed({"board": call}, seconds=args.seconds, least=args.min_requests)
        board[label] = {
            "open": count,
            "ms": _median_ms(samples["board"]),
            "requests": len(samples["board"]),
            "queries": queries(call),
            "bytes": len(call().content),
        }
        if args.profile == "board" and label == "large":
            profile(call, seconds=args.seconds, top=args.top)
    found["board"] = board

    # The list: at the board's large size (open incidents only), then over every state.
    office = _client("office")
    found["list_small"] = measure_list(office, args)
    seed(
        args.incidents - args.board_large,
        states=ORDER,
        weights=list(STATE_WEIGHTS.values()),
        rng=rng,
    )
    found["list"] = measure_list(office, args)
    api = lambda: _get(office, LIST_URL)  # noqa: E731
    bare = lambda: _get(office, BARE_URL)  # noqa: E731
    if args.profile in ("api", "bare"):
        profile(api if args.profile == "api" else bare, seconds=args.seconds, top=args.top)
    connection.close()
    return found


def _report(found: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Prints one database's figures; answers what missed its target."""
    failed = []
    board = found["board"]
    small, large = board["small"], board["large"]
    ratio = large["ms"] / small["ms"]
    print(f"\n== {found['database']} {found['version']}")
    print(
        f"board  {small['open']:>5,} open: {small['ms']:7.1f} ms/page  {small['queries']} queries"
        f"  ({small['requests']} requests, {small['bytes']:,} bytes)"
    )
    print(
        f"board  {large['open']:>5,} open: {large['ms']:7.1f} ms/page  {large['queries']} queries"
        f"  ({large['requests']} requests, {large['bytes']:,} bytes)"
    )
    ok = ratio <= args.board_target and small["queries"] == large["queries"]
    print(
        f"board  ratio {large['open']:,}/{small['open']:,}: {ratio:.2f} "
        f"(target at most {args.board_target:g}, queries equal)  {'ok' if ok else 'FAIL'}"
    )
    if not ok:
        failed.append(f"{found['database']} board {ratio:.2f}")
    for key in ("list_small", "list"):
        failed += _report_list(found, key, args)
    return failed


def _report_list(found: dict[str, Any], key: str, args: argparse.Namespace) -> list[str]:
    listing = found[key]
    throughput = listing["bare_ms"] / listing["api_ms"]
    q = {int(size): counts for size, counts in listing["queries"].items()}
    sizes = sorted(q)
    print(
        f"list   {listing['incidents']:,} incidents, page of {listing['page']} "
        f"({listing['deadlines']} deadlines; {listing['states']})"
    )
    print(
        f"list   API {listing['api_ms']:6.1f} ms/request, bare view {listing['bare_ms']:6.1f} "
        f"ms/request ({listing['requests']} requests each, {listing['bytes']:,} bytes)"
    )
    print(
        "list   queries, pages of "
        + " and ".join(f"{size}: API {q[size]['api']}, bare {q[size]['bare']}" for size in sizes)
    )
    equal = len({q[size]["api"] for size in sizes}) == 1
    # The target is set at the full size; the smaller list is shown beside it.
    ok = equal and (throughput >= args.list_target or key != "list")
    print(
        f"list   throughput API/bare: {throughput:.2f} (target at least {args.list_target:g} "
        f"at {args.incidents:,}, queries equal in page size)  {'ok' if ok else 'FAIL'}"
    )
    return [] if ok else [f"{found['database']} list {throughput:.2f}"]


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if args.database == "both":
        return _both(args, argv or sys.argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-list-bench-"))
    store = Store(args.database, workdir)
    try:
        os.environ.update(_env(store.start(), workdir))
        import django

        django.setup()
        logging.getLogger("kombu").setLevel(logging.ERROR)
        found = measure(args)
    finally:
        store.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(found, ensure_ascii=False))
        return 0
    return _verdict([found], args)


def _both(args: argparse.Namespace, argv: list[str]) -> int:
    """Each database in a process of its own (Django is set up once per process)."""
    found = []
    passed, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--database"):
            skip = arg == "--database"
            continue
        passed.append(arg)
    for kind in DATABASES:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [sys.executable, "-m", "bench.list_bench", *passed]
            cmd += ["--database", kind, "--json", out.name]
            if subprocess.run(cmd, check=False).returncode:
                print(f"FAIL: the {kind} run did not finish")
                return 1
            found.append(json.loads(Path(out.name).read_text()))
    return _verdict(found, args)


def _verdict(found: list[dict[str, Any]], args: argparse.Namespace) -> int:
    failed = []
    for metrics in found:
        failed += _report(metrics, args)
    print()
    if failed:
        print(f"FAIL: {'; '.join(failed)}")
        return 1
    print(
        f"PASS: the list API reaches {args.list_target:g} of the bare view's throughput and "
        f"the board at {args.board_large:,} open stays within {args.board_target:g} x its "
        f"time at {args.board_small:,}, with constant queries"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
