"""Importing the CSV and Excel exports that vendor monitoring systems produce.

``import_create`` checks and stores the upload as an ``ImportJob`` and asks a worker, on
commit, to run it; beat also runs ``imports_run_pending`` so a lost message never loses
an import. ``import_run`` claims the job with a lease (a pending job, or a running one
whose worker died: it resumes after ``processed_rows``), finds the header row, maps the
columns by their English or Chinese names, turns each row into a post (platform and
source type names in Chinese, dates as vendors write them, figures such as ``1.2万``) and
sends the rows to ``posts_ingest`` in chunks of ``CHUNK_SIZE``. After each chunk it writes
the progress, the counts and the rejected rows (their number as a spreadsheet shows the
file, the header being row 1: a quoted CSV cell over several lines is one row) with a
compare-and-set on its lease, which it renews: the page shows the progress while it
runs, and a worker that lost its lease stops.

A chunk is stored before its progress is written, so a worker that dies between the two
sends that chunk again on resume: its posts are then duplicates (stored once), and only
the counts of that chunk lean from "accepted" to "duplicate".
"""

import codecs
import csv
import io
import logging
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from typing import Any

from celery import signature
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import InvalidInput, PermissionDenied
from core.permissions import require
from incidents.choices import Platform

from ..models import ImportJob, SourceType
from .batches import MAX_BATCH, METRICS, posts_ingest

logger = logging.getLogger(__name__)

# The Celery task that runs an import (``monitoring.tasks.run_import_task``).
RUN_IMPORT_TASK = "monitoring.run_import"
# Rows per call of posts_ingest, and between two progress writes.
CHUNK_SIZE = 500
# Rejected rows kept for the report (all are counted).
ROW_ERRORS_KEPT = 1000
# A run holds its job this long past its last progress write.
LEASE = timedelta(minutes=5)
# The header row is looked for among the first rows (a title line may come first).
HEADER_SEARCH_ROWS = 10
# An .xlsx is a zip of XML: refuse one that would unpack to more than this (a zip bomb).
XLSX_MAX_UNPACKED = 400 * 1024 * 1024
FORMATS = {".csv": ImportJob.Format.CSV, ".xlsx": ImportJob.Format.XLSX}
ACTIVE_STATES = (ImportJob.State.PENDING, ImportJob.State.RUNNING)

assert CHUNK_SIZE <= MAX_BATCH  # noqa: S101 (a chunk must be one intake batch)


class ImportFileError(Exception):
    """The whole file cannot be imported; the message is for the person who sent it."""


# --- Columns and values -------------------------------------------------------------------

# The names a column goes by in exports, most specific first; compared after ``_norm``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "platform": ("platform", "平台", "平台名称", "来源平台", "发布平台", "媒体平台", "渠道"),
    "url": ("url", "link", "链接", "网址", "原文链接", "文章链接", "原文地址", "链接地址", "地址"),
    "author": (
        "author",
        "作者",
        "发布者",
        "发布人",
        "发帖人",
        "博主",
        "账号",
        "账号名称",
        "昵称",
        "用户名",
    ),
    "title": ("title", "标题", "文章标题"),
    "text": ("text", "content", "内容", "正文", "原文", "原文内容", "文章内容", "摘要"),
    "published_at": (
        "published_at",
        "published",
        "publish_time",
        "datetime",
        "date",
        "time",
        "发布时间",
        "发文时间",
        "发帖时间",
        "发布日期",
        "时间",
        "日期",
    ),
    "reads": ("reads", "views", "阅读数", "阅读量", "浏览量", "浏览数", "播放量", "播放数"),
    "reposts": ("reposts", "shares", "转发数", "转发量", "分享数", "转载数"),
    "comments": ("comments", "评论数", "评论量"),
    "likes": ("likes", "点赞数", "点赞量", "赞数", "获赞数"),
    "source_type": ("source_type", "来源类型", "媒体类型", "信源类型", "媒体属性"),
}

PLATFORM_NAMES: dict[str, str] = {
    "新浪微博": Platform.WEIBO,
    "微博": Platform.WEIBO,
    "微信": Platform.WECHAT,
    "微信公众号": Platform.WECHAT,
    "公众号": Platform.WECHAT,
    "抖音": Platform.DOUYIN,
    "快手": Platform.KUAISHOU,
    "今日头条": Platform.TOUTIAO,
    "头条": Platform.TOUTIAO,
    "头条号": Platform.TOUTIAO,
    "知乎": Platform.ZHIHU,
    "百度贴吧": Platform.TIEBA,
    "贴吧": Platform.TIEBA,
    "哔哩哔哩": Platform.BILIBILI,
    "b站": Platform.BILIBILI,
    "小红书": Platform.XIAOHONGSHU,
    "新闻网站": Platform.NEWS_SITE,
    "新闻": Platform.NEWS_SITE,
    "网站": Platform.NEWS_SITE,
    "网媒": Platform.NEWS_SITE,
    "新闻客户端": Platform.NEWS_SITE,
    "论坛": Platform.FORUM,
    "bbs": Platform.FORUM,
    "社区": Platform.FORUM,
    "电视": Platform.TV_PRESS,
    "报纸": Platform.TV_PRESS,
    "报刊": Platform.TV_PRESS,
    "纸媒": Platform.TV_PRESS,
    "广播电视": Platform.TV_PRESS,
    "电视/报纸": Platform.TV_PRESS,
    "其他": Platform.OTHER,
    "其它": Platform.OTHER,
}
SOURCE_TYPE_NAMES: dict[str, str] = {
    "主流媒体": SourceType.MAINSTREAM_MEDIA,
    "央媒": SourceType.MAINSTREAM_MEDIA,
    "官方媒体": SourceType.MAINSTREAM_MEDIA,
    "官媒": SourceType.MAINSTREAM_MEDIA,
    "新闻网站": SourceType.NEWS_SITE,
    "网媒": SourceType.NEWS_SITE,
    "社交账号": SourceType.SOCIAL_ACCOUNT,
    "社交媒体": SourceType.SOCIAL_ACCOUNT,
    "自媒体": SourceType.SOCIAL_ACCOUNT,
    "个人账号": SourceType.SOCIAL_ACCOUNT,
    "论坛": SourceType.FORUM,
    "其他": SourceType.OTHER,
    "其它": SourceType.OTHER,
}
# Cells that mean "no figure" in exports.
_NO_FIGURE = frozenset({"-", "--", "—", "/", "无", "n/a", "na", "null", "none"})
_MULTIPLIERS = {"万": 10_000, "w": 10_000, "亿": 100_000_000, "k": 1_000}
_NORM_DROP = re.compile(r"[\s_\-]+")
_DATE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*[T\s]?\s*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})\s*分?"
    r"(?:\s*:?\s*(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?\s*秒?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
# Plausible Unix times (2001–2286) in seconds or milliseconds, as crawlers export them.
_UNIX_SECONDS = (1_000_000_000, 10_000_000_000)


def _norm(name: Any) -> str:
    """A header or a name as compared: NFKC (full-width to half-width), case folded,
    without spaces, underscores and hyphens."""
    return _NORM_DROP.sub("", unicodedata.normalize("NFKC", str(name)).casefold())


def _choice_names(choices: list[tuple[str, Any]], extra: dict[str, str]) -> dict[str, str]:
    """Each choice by its code, its English and its Chinese label, and the extra names."""
    names: dict[str, str] = {}
    for value, label in choices:
        names[_norm(value)] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                names.setdefault(_norm(label), value)
    names.update((_norm(name), value) for name, value in extra.items())
    return names


@cache
def _platform_names() -> dict[str, str]:
    return _choice_names(Platform.choices, PLATFORM_NAMES)


@cache
def _source_type_names() -> dict[str, str]:
    return _choice_names(SourceType.choices, SOURCE_TYPE_NAMES)


def platform_code(value: str) -> str | None:
    return _platform_names().get(_norm(value))


def source_type_code(value: str) -> str | None:
    return _source_type_names().get(_norm(value))


class _CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message says why."""


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def cell_figure(value: Any) -> int | None:
    """A figure as vendors write it: 1234, 1,234, 1.2万, 10万+, 3w; None when blank."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _norm(value).replace(",", "").replace("，", "").rstrip("+")
    if not text or text in _NO_FIGURE:
        return None
    multiplier = _MULTIPLIERS.get(text[-1], 1)
    if multiplier != 1:
        text = text[:-1]
    try:
        number = Decimal(text) * multiplier
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise _CellError(_("Not a whole number: “%(value)s”.") % {"value": cell_text(value)})
    return int(number)


def cell_moment(value: Any) -> str | None:
    """A date and time as an ISO 8601 string for the intake (without an offset it is read
    in the settings' time zone); None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time()).isoformat()
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is not None:
        if _UNIX_SECONDS[0] <= number < _UNIX_SECONDS[1]:
            return datetime.fromtimestamp(number, tz=UTC).isoformat()
        if _UNIX_SECONDS[0] * 1000 <= number < _UNIX_SECONDS[1] * 1000:
            return datetime.fromtimestamp(number / 1000, tz=UTC).isoformat()
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if match := _DATE.match(text):
            parts = match.groupdict()
            try:
                moment = datetime(
                    int(parts["y"]),
                    int(parts["m"]),
                    int(parts["d"]),
                    int(parts["H"] or 0),
                    int(parts["M"] or 0),
                    int(parts["S"] or 0),
                    int((parts["f"] or "0").ljust(6, "0")),
                    tzinfo=_offset(parts["tz"]),
                )
            except ValueError:
                pass
            else:
                return moment.isoformat()
        elif (moment := _iso(text)) is not None:
            return moment.isoformat()
    raise _CellError(
        _("Not a date and time: “%(value)s” (write e.g. 2026-11-23 10:00).")
        % {"value": cell_text(value)}
    )


def _iso(text: str) -> datetime | None:
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def _offset(text: str | None) -> dt_timezone | None:
    if not text:
        return None
    if text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return dt_timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


@dataclass
class Columns:
    """Where each field is in the rows, and the header as the file names it."""

    index: dict[str, int]
    header: list[str]

    def label(self, name: str) -> str:
        """The field's column as the file calls it (for reasons shown to people)."""
        if name == "text" and "text" not in self.index:
            name = "title"
        position = self.index.get(name)
        return self.header[position] if position is not None else name

    def cell(self, cells: list[Any] | tuple[Any, ...], name: str) -> Any:
        position = self.index.get(name)
        if position is None or position >= len(cells):
            return None
        value = cells[position]
        return value.strip() if isinstance(value, str) else value


def columns_map(header: list[Any] | tuple[Any, ...]) -> Columns:
    """Which column holds which field: for each field, the column whose name comes first
    in its list of names (so 正文 wins over 摘要); unknown columns are ignored."""
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        positions.setdefault(_norm(name) if name is not None else "", position)
    index = {}
    for field_name, names in COLUMNS.items():
        for name in names:
            if _norm(name) in positions:
                index[field_name] = positions[_norm(name)]
                break
    return Columns(index=index, header=[cell_text(name) for name in header])


def columns_missing(columns: Columns) -> list[str]:
    """The required columns the header lacks, named for the person who must add them."""
    missing = []
    if "platform" not in columns.index:
        missing.append(_("platform (平台)"))
    if "published_at" not in columns.index:
        missing.append(_("published_at (发布时间)"))
    if not {"text", "title", "url"} & set(columns.index):
        missing.append(_("text, title or url (内容、标题或链接)"))
    return missing


def row_post(
    cells: list[Any] | tuple[Any, ...], columns: Columns
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One row as an item for ``posts_ingest``, and the cells that could not be read
    (by field). Blank required cells are left to the intake to name."""
    item: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, lookup, message in (
        ("platform", platform_code, _("Unknown platform “%(value)s”.")),
        ("source_type", source_type_code, _("Unknown source type “%(value)s”.")),
    ):
        raw = cell_text(columns.cell(cells, name))
        if raw:
            code = lookup(raw)
            if code is None:
                errors[name] = [message % {"value": raw}]
            item[name] = code
        else:
            item[name] = None
    title = cell_text(columns.cell(cells, "title"))
    content = cell_text(columns.cell(cells, "text"))
    item["text"] = (
        "\n".join(part for part in (title, content) if part) if title != content else content
    )
    item["url"] = cell_text(columns.cell(cells, "url")) or None
    item["author"] = cell_text(columns.cell(cells, "author"))
    try:
        item["published_at"] = cell_moment(columns.cell(cells, "published_at"))
    except _CellError as error:
        errors["published_at"] = [str(error)]
    for name in METRICS:
        try:
            item[name] = cell_figure(columns.cell(cells, name))
        except _CellError as error:
            errors[name] = [str(error)]
    return item, errors


def _blank(cells: list[Any] | tuple[Any, ...]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


# --- Reading files ------------------------------------------------------------------------


@dataclass
class Sheet:
    """The rows of an uploaded file: ``rows`` yields (row number, cells) from the top;
    ``total`` is how many rows the file has, when that is known cheaply."""

    rows: Iterator[tuple[int, Any]]
    total: int | None
    close: Any = None


def csv_text(raw: bytes) -> str:
    """The text of a CSV export: UTF-16 when it says so (a BOM), else UTF-8 (with or
    without a BOM), else GB18030 (a superset of GBK, which Chinese systems often write)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        _("The file's characters cannot be read: save it as CSV in UTF-8 or GB18030 (GBK).")
    )


def csv_delimiter(text: str) -> str:
    """Comma, tab or semicolon: whichever the first line has most of (comma on a tie)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", "\t", ";"), key=first.count)


def _csv_sheet(raw: bytes) -> Sheet:
    text = csv_text(raw)
    delimiter = csv_delimiter(text)

    def records() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error as error:
            raise ImportFileError(
                _("Row %(row)d cannot be read: %(error)s") % {"row": number + 1, "error": error}
            ) from None

    total = sum(1 for _row in records())
    return Sheet(rows=records(), total=total)


def _xlsx_sheet(raw: bytes) -> Sheet:
    import openpyxl  # only the import worker needs it

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFileError(_("This is not an Excel .xlsx file.")) from None
    if unpacked > XLSX_MAX_UNPACKED:
        raise ImportFileError(
            _("The workbook unpacks to more than %(max)d MB: split it.")
            % {"max": XLSX_MAX_UNPACKED // (1024 * 1024)}
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as error:  # openpyxl raises many kinds for a file it cannot read
        logger.info("import: unreadable workbook: %r", error)
        raise ImportFileError(
            _("The Excel file cannot be read: %(error)s") % {"error": error}
        ) from None

    def records() -> Iterator[tuple[int, tuple[Any, ...]]]:
        try:
            yield from enumerate(sheet.iter_rows(values_only=True), start=1)
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as error:
            raise ImportFileError(
                _("The Excel file cannot be read: %(error)s") % {"error": error}
            ) from None

    total = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 0 else None
    return Sheet(rows=records(), total=total, close=book.close)


def sheet_open(job: ImportJob) -> Sheet:
    try:
        with job.file.open("rb") as stored:
            raw = stored.read()
    except (OSError, ValueError):
        raise ImportFileError(_("The uploaded file is no longer there.")) from None
    if job.format == ImportJob.Format.XLSX:
        return _xlsx_sheet(raw)
    return _csv_sheet(raw)


def header_find(sheet: Sheet) -> tuple[int, Columns]:
    """The header row (its number) and the columns it names: the first row, among the
    first ``HEADER_SEARCH_ROWS``, that names at least two known columns; else the first
    row that is not blank. Fails when a required column is missing."""
    first: tuple[int, Columns] | None = None
    for number, cells in sheet.rows:
        if _blank(cells):
            if number >= HEADER_SEARCH_ROWS:
                break
            continue
        columns = columns_map(cells)
        first = first or (number, columns)
        if len(columns.index) >= 2:
            first = (number, columns)
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise ImportFileError(_("The file has no rows."))
    number, columns = first
    if missing := columns_missing(columns):
        raise ImportFileError(
            _("The header row (row %(row)d) lacks the columns: %(columns)s.")
            % {"row": number, "columns": _("; ").join(missing)}
        )
    return first


# --- Creating and running a job -----------------------------------------------------------


def import_allowed(user: Any) -> bool:
    """Whether ``user`` may upload imports: the intake's roles."""
    try:
        require(user, "ingest_posts")
    except PermissionDenied:
        return False
    return True


def import_create(*, actor: Any, upload: Any) -> ImportJob:
    """Store an uploaded CSV or Excel (.xlsx) export as a pending import and ask a worker
    to run it once committed. Roles: those of the intake. Refused (on ``file``): other
    formats, an empty file, one over ``FENGHUO_IMPORT_MAX_BYTES``."""
    require(actor, "ingest_posts")
    if upload is None:
        raise InvalidInput(field_errors={"file": [_("Choose a CSV or Excel (.xlsx) file.")]})
    filename = os.path.basename(str(upload.name or "")).strip()
    extension = os.path.splitext(filename)[1].lower()
    fmt = FORMATS.get(extension)
    limit = settings.FENGHUO_IMPORT_MAX_BYTES
    problem = ""
    if fmt is None:
        problem = _(
            "Only CSV (.csv) and Excel (.xlsx) files can be imported; save an .xls "
            "workbook as .xlsx first."
        )
    elif not upload.size:
        problem = _("The file is empty.")
    elif upload.size > limit:
        problem = _("The file is larger than %(max)s MB: split it.") % {
            "max": f"{limit / (1024 * 1024):g}"
        }
    elif fmt == ImportJob.Format.XLSX:
        upload.seek(0)
        if upload.read(4) != b"PK\x03\x04":
            problem = _(
                "This is not an Excel .xlsx file (an .xls workbook renamed?). Save it as .xlsx."
            )
        upload.seek(0)
    if problem:
        raise InvalidInput(field_errors={"file": [problem]})
    with transaction.atomic(durable=True):
        job = ImportJob(filename=filename[:255], format=fmt, uploaded_by=actor)
        # Stored under a name of our own: the person's may be long or odd on disk.
        job.file.save(f"{secrets.token_hex(8)}{extension}", upload, save=False)
        job.save()
        transaction.on_commit(partial(_enqueue_run, job.pk), robust=True)
    logger.info(
        "import %s created by %s: %s (%s, %s bytes)", job.pk, actor.pk, filename, fmt, upload.size
    )
    return job


def _enqueue_run(job_id: int) -> None:
    try:
        # By the task's name (``monitoring.tasks`` sits above the intake and calls it). No
        # publish retries: beat picks pending imports up anyway.
        signature(RUN_IMPORT_TASK, args=[job_id]).apply_async(retry=False)
    except Exception:  # any broker or transport error: beat runs it at its next round
        logger.warning("could not enqueue import %s; beat will run it", job_id, exc_info=True)


def import_claim(job_id: int, *, now: datetime) -> datetime | None:
    """Take the job for this run if it is pending, or running under a lease that ran out
    (its worker died); answers the lease's end, or None when it is not ours."""
    held_until = now + LEASE
    claimable = (
        Q(state=ImportJob.State.PENDING)
        | Q(state=ImportJob.State.RUNNING, leased_until__isnull=True)
        | Q(state=ImportJob.State.RUNNING, leased_until__lte=now)
    )
    taken = ImportJob.objects.filter(claimable, pk=job_id).update(
        state=ImportJob.State.RUNNING,
        leased_until=held_until,
        started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
    )
    return held_until if taken else None


class _LeaseLost(Exception):
    pass


@dataclass
class _Run:
    """One run of a job: its lease (renewed at each progress write) and what the job has
    counted so far (resumed from the stored counts)."""

    job: ImportJob
    held_until: datetime
    processed: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    row_errors: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        job = self.job
        self.processed, self.accepted = job.processed_rows, job.accepted
        self.duplicate, self.rejected = job.duplicate, job.rejected
        self.row_errors = list(job.row_errors or [])

    def reject(self, *, row: int, fields: dict[str, list[str]], columns: Columns) -> None:
        self.rejected += 1
        if len(self.row_errors) < ROW_ERRORS_KEPT:
            reason = "; ".join(
                f"{columns.label(name)}: {' '.join(map(str, messages))}"
                for name, messages in fields.items()
            )
            self.row_errors.append({"row": row, "reason": reason, "fields": fields})

    def write_progress(self, *, total: int | None) -> None:
        """Write the counts under the lease, renewing it; ``_LeaseLost`` if it is gone."""
        renewed = timezone.now() + LEASE
        written = ImportJob.objects.filter(
            pk=self.job.pk,
            state=ImportJob.State.RUNNING,
            leased_until=self.held_until,
        ).update(
            processed_rows=self.processed,
            total_rows=max(total, self.processed) if total is not None else None,
            accepted=self.accepted,
            duplicate=self.duplicate,
            rejected=self.rejected,
            row_errors=self.row_errors,
            leased_until=renewed,
        )
        if not written:
            raise _LeaseLost
        self.held_until = renewed

    def finish(self, state: str, *, error: str = "") -> None:
        ended = ImportJob.objects.filter(
            pk=self.job.pk,
            state=ImportJob.State.RUNNING,
            leased_until=self.held_until,
        ).update(state=state, error=error, finished_at=timezone.now(), leased_until=None)
        if not ended:
            logger.warning("import %s: lease lost before it could be marked %s", self.job.pk, state)
        elif error:
            logger.warning("import %s failed: %s", self.job.pk, error)
        else:
            logger.info(
                "import %s done: %s rows, %s accepted, %s duplicate, %s rejected",
                self.job.pk,
                self.processed,
                self.accepted,
                self.duplicate,
                self.rejected,
            )


def import_run(job_id: int, *, now: datetime | None = None) -> ImportJob | None:
    """Run (or resume) an import if it is this worker's to run; answers the job as it
    ended, or None when it was not claimable (done, failed, or running elsewhere)."""
    held_until = import_claim(job_id, now=now or timezone.now())
    if held_until is None:
        return None
    run = _Run(job=ImportJob.objects.get(pk=job_id), held_until=held_until)
    logger.info(
        "import %s: %s after row %s",
        job_id,
        "resuming" if run.processed else "starting",
        run.processed,
    )
    sheet: Sheet | None = None
    try:
        sheet = sheet_open(run.job)
        _import_rows(run, sheet)
    except ImportFileError as error:
        run.finish(ImportJob.State.FAILED, error=str(error))
    except _LeaseLost:
        logger.warning("import %s: lease lost; another worker carries on", job_id)
        return None
    except DatabaseError:
        raise  # nothing can be recorded now; the job resumes when its lease runs out
    except Exception as error:  # a bug must end this job visibly, not loop on it
        logger.exception("import %s: stopped on an unexpected error", job_id)
        run.finish(
            ImportJob.State.FAILED,
            error=_("The import stopped on an unexpected error: %(error)s")
            % {"error": f"{type(error).__name__}: {error}"},
        )
    else:
        run.finish(ImportJob.State.DONE)
    finally:
        if sheet is not None and sheet.close is not None:
            sheet.close()
    return ImportJob.objects.get(pk=job_id)


def _import_rows(run: _Run, sheet: Sheet) -> None:
    header_row, columns = header_find(sheet)
    total = sheet.total - header_row if sheet.total is not None else None
    run.write_progress(total=total)  # the page shows the size of the task at once
    skip = run.processed  # the rows an earlier run of this job got through
    chunk: list[tuple[int, Any]] = []
    for number, cells in sheet.rows:
        if skip:
            skip -= 1
            continue
        chunk.append((number, cells))
        if len(chunk) == CHUNK_SIZE:
            _import_chunk(run, chunk, columns)
            run.write_progress(total=total)
            chunk = []
    _import_chunk(run, chunk, columns)
    run.write_progress(total=run.processed)


def _import_chunk(run: _Run, chunk: list[tuple[int, Any]], columns: Columns) -> None:
    """Send one chunk of rows to the intake and count what became of each."""
    items: list[dict[str, Any]] = []
    rows: list[int] = []
    rejected: list[tuple[int, dict[str, list[str]]]] = []
    for number, cells in chunk:
        if _blank(cells):
            continue
        item, errors = row_post(cells, columns)
        if errors:
            rejected.append((number, errors))
        else:
            items.append(item)
            rows.append(number)
    if items:
        result = posts_ingest(items=items, source=f"import:{run.job.pk}")
        run.accepted += result.accepted
        run.duplicate += result.duplicate
        rejected.extend((rows[error["index"]], error["fields"]) for error in result.errors)
    for number, fields in sorted(rejected, key=lambda pair: pair[0]):
        run.reject(row=number, fields=fields, columns=columns)
    run.processed += len(chunk)


def imports_run_pending(*, now: datetime | None = None, limit: int = 10) -> int:
    """Run the imports nobody is running: pending ones whose message was lost, and those
    whose worker died (their lease ran out). Answers how many this call ran."""
    at = now or timezone.now()
    waiting = list(
        ImportJob.objects.filter(
            Q(state=ImportJob.State.PENDING)
            | Q(state=ImportJob.State.RUNNING, leased_until__isnull=True)
            | Q(state=ImportJob.State.RUNNING, leased_until__lte=at)
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    ran = 0
    for job_id in waiting:
        if import_run(job_id, now=now) is not None:
            ran += 1
    return ran


# --- Reads for the pages ------------------------------------------------------------------


def import_recent(*, limit: int = 20) -> QuerySet[ImportJob]:
    """The latest imports, newest first, without their error reports."""
    return (
        ImportJob.objects.select_related("uploaded_by")
        .defer("row_errors")
        .order_by("-created_at", "-id")[:limit]
    )


def import_get(*, pk: int) -> ImportJob:
    """One import (``ImportJob.DoesNotExist`` if there is none)."""
    return ImportJob.objects.select_related("uploaded_by").get(pk=pk)


def import_errors_csv(job: ImportJob) -> bytes:
    """The rejected rows as a CSV report (UTF-8 with a BOM, which Excel needs to see the
    Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Reason")])
    for error in job.row_errors or []:
        writer.writerow([error.get("row", ""), error.get("reason", "")])
    if job.rejected > len(job.row_errors or []):
        writer.writerow(
            [
                "",
                _("…and %(count)d more rejected rows not kept in the report.")
                % {"count": job.rejected - len(job.row_errors or [])},
            ]
        )
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
