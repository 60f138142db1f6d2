"""Importing vendor exports (CSV in UTF-8 or GB18030, Excel .xlsx): good rows become
posts, bad rows are reported with the row number the file shows and why, duplicates are
counted, progress is written as the import goes and an interrupted import resumes; and
the pages where the duty officer uploads and watches it."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.errors import InvalidInput, PermissionDenied
from monitoring.intake import imports
from monitoring.intake.batches import posts_ingest
from monitoring.intake.imports import LEASE, import_create, import_run, imports_run_pending
from monitoring.models import ImportJob, Post
from tests.helpers import SHANGHAI, celery_setting

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)

HEADER = [
    "平台",
    "链接",
    "作者",
    "标题",
    "内容",
    "发布时间",
    "阅读数",
    "转发数",
    "评论数",
    "点赞数",
    "来源类型",
]
# Rows 2–10 as the file shows them (the header is row 1).
ROWS = [
    [
        "微博",
        "https://weibo.com/1/a",
        "网友甲",
        "医院收费",
        "有人反映被重复收费",
        "2026-11-20 10:00",
        "1.2万",
        "30",
        "5",
        "10",
        "社交账号",
    ],  # 2 ok
    [
        "微信公众号",
        "https://mp.weixin.qq.com/s/b",
        "某公众号",
        "",
        "正文内容",
        "2026/11/20 11:00:00",
        "100",
        "0",
        "0",
        "0",
        "自媒体",
    ],  # 3 ok
    ["抖音", "", "", "", "", "2026-11-20 12:00", "1", "0", "0", "0", ""],  # 4 empty
    ["微博", "https://weibo.com/1/c", "", "标题", "内容", "", "1", "0", "0", "0", ""],  # 5 no date
    [
        "脸书",
        "https://facebook.com/x",
        "",
        "",
        "内容",
        "2026-11-20 12:00",
        "1",
        "0",
        "0",
        "0",
        "",
    ],  # 6 platform
    [
        "微博",
        "https://weibo.com/1/d",
        "",
        "",
        "内容",
        "2026年11月20日 13:00",
        "很多",
        "0",
        "0",
        "0",
        "",
    ],  # 7 number
    [
        "新浪微博",
        "https://weibo.com/1/a#comments",
        "网友甲",
        "",
        "",
        "2026-11-20 10:00",
        "20000",
        "31",
        "5",
        "10",
        "",
    ],  # 8 dup in file
    [
        "微博",
        "https://weibo.com/1/stored",
        "",
        "",
        "已经存过",
        "2026-11-19 09:00",
        "9",
        "0",
        "0",
        "0",
        "",
    ],  # 9 dup stored
    [
        "论坛",
        "",
        "",
        "",
        "只有内容的帖子",
        "2026年11月20日 14时30分",
        "",
        "",
        "",
        "",
        "论坛",
    ],  # 10 ok
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def stored_post():
    posts_ingest(
        items=[
            {
                "platform": "weibo",
                "url": "https://weibo.com/1/stored",
                "text": "已经存过",
                "published_at": "2026-11-19T09:00:00",
                "reads": 1,
            }
        ]
    )


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    lines = [delimiter.join(HEADER), *(delimiter.join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(
    rows: list[list[Any]], *, header: list[str] = HEADER, before: list[list[Any]] = ()
) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [*before, header, *rows]:
        sheet.append(row)
    book.create_sheet("第二页").append(["不读这一页"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def run(duty, name: str, content: bytes) -> ImportJob:
    job = import_create(actor=duty, upload=upload(name, content))
    return import_run(job.pk)


def errors_by_row(job: ImportJob) -> dict[int, str]:
    return {error["row"]: error["reason"] for error in job.row_errors}


def assert_the_sample_was_imported(job: ImportJob, *, bad_number: str = "很多") -> None:
    assert job.state == ImportJob.State.DONE, job.error
    assert (job.processed_rows, job.total_rows) == (9, 9)
    assert (job.accepted, job.duplicate, job.rejected) == (3, 2, 4)
    errors = errors_by_row(job)
    assert sorted(errors) == [4, 5, 6, 7]
    assert "A post needs its text or its URL." in errors[4]
    assert errors[5] == "发布时间: This field is required."
    assert errors[6] == "平台: Unknown platform “脸书”."
    assert errors[7] == f"阅读数: Not a whole number: “{bad_number}”."
    assert {e["row"]: sorted(e["fields"]) for e in job.row_errors}[7] == ["reads"]

    first = Post.objects.get(url="https://weibo.com/1/a")
    assert first.text == "医院收费\n有人反映被重复收费"
    assert (first.platform, first.author, first.source_type) == (
        "weibo",
        "网友甲",
        "social_account",
    )
    assert first.published_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Beijing time
    # Row 8 is the same post again: stored once, its figures grown.
    assert (first.reads, first.reposts) == (20000, 31)
    assert first.source == f"import:{job.pk}"
    wechat = Post.objects.get(url="https://mp.weixin.qq.com/s/b")
    assert (wechat.platform, wechat.source_type, wechat.text) == (
        "wechat",
        "social_account",
        "正文内容",
    )
    forum = Post.objects.get(url__isnull=True)
    assert (forum.platform, forum.source_type, forum.reads) == ("forum", "forum", 0)
    assert forum.published_at == datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    assert Post.objects.get(url="https://weibo.com/1/stored").reads == 9
    assert Post.objects.count() == 4


# The file formats ----------------------------------------------------------------------


def test_a_utf8_csv_with_chinese_headers_stores_the_good_rows_and_reports_the_bad(
    duty,
    stored_post,
):
    # Excel writes UTF-8 CSV with a BOM.
    job = run(duty, "微博导出.csv", b"\xef\xbb\xbf" + csv_bytes(ROWS))

    assert_the_sample_was_imported(job)
    assert (job.filename, job.format, job.uploaded_by) == ("微博导出.csv", "csv", duty)
    assert job.started_at == job.finished_at == NOW
    assert job.leased_until is None


def test_a_gb18030_csv_separated_by_tabs_is_read(duty, stored_post):
    content = csv_bytes(ROWS, encoding="gb18030", delimiter="\t")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")

    assert_the_sample_was_imported(run(duty, "export.CSV", content))


def test_a_semicolon_csv_with_quoted_cells_and_english_headers_is_read(duty):
    content = (
        b"Platform;URL;Author;Text;Published_At;Reads;Source type\n"
        b'weibo;https://weibo.com/9;"Zhang; San";"line one\nline two";2026-11-20T10:00:00+08:00;'
        b"1,234;mainstream media\n"
        b"Weibo;https://weibo.com/10;;text;2026-11-20 10:00;-;\n"
    )

    job = run(duty, "english.csv", content)

    assert (job.state, job.accepted, job.rejected) == ("done", 2, 0)
    post = Post.objects.get(url="https://weibo.com/9")
    assert (post.author, post.text, post.reads, post.source_type) == (
        "Zhang; San",
        "line one\nline two",
        1234,
        "mainstream_media",
    )


def test_an_xlsx_built_with_openpyxl_is_read_with_dates_and_numbers(duty, stored_post):
    rows = [list(row) for row in ROWS]
    rows[0][5] = datetime(2026, 11, 20, 10, 0)  # a date cell
    rows[0][6] = 12000  # number cells
    rows[1][6] = 100.0
    rows[6][6] = 20000
    rows[5][6] = 3.5  # not a whole number: still row 7's mistake

    job = run(duty, "导出.xlsx", xlsx_bytes(rows))

    assert job.format == "xlsx"
    assert_the_sample_was_imported(job, bad_number="3.5")


def test_a_title_line_above_the_header_is_skipped_and_rows_keep_their_numbers(duty):
    rows = [
        ["微博", "https://weibo.com/t/1", "", "内容", datetime(2026, 11, 20, 9, 0)],
        ["微博", "", "", "", datetime(2026, 11, 20, 9, 0)],
    ]
    content = xlsx_bytes(
        rows,
        header=["平台", "网址", "作者", "正文", "发布时间"],
        before=[["某系统舆情数据导出 2026-11-23"], []],
    )

    job = run(duty, "带标题.xlsx", content)

    assert (job.accepted, job.rejected) == (1, 1)
    assert list(errors_by_row(job)) == [5]  # title, blank line, header, then rows 4 and 5


def test_rows_dated_outside_the_window_are_rejected_alone_and_the_rest_matched(
    duty, analyst, health_unit
):
    from monitoring.models import PostMatch
    from monitoring.text.matching import rule_create

    rule = rule_create(actor=analyst, name="医院收费", expression="医院 AND 收费", unit=health_unit)
    rows = [
        [
            "微博",
            f"https://weibo.com/w/{n}",
            "",
            "",
            f"医院收费问题第{n}条",
            moment,
            "1",
            "0",
            "0",
            "0",
            "",
        ]
        for n, moment in enumerate(
            [
                "2026-11-20 10:00",
                "0001-01-01 00:00",
                "1999-12-31 23:59",
                "2026-11-20 11:00",
                "2030-01-01 00:00",
                "2026-11-24 11:59",
            ],
            start=2,
        )
    ]

    job = run(duty, "dates.csv", csv_bytes(rows))

    assert job.state == ImportJob.State.DONE, job.error
    assert (job.accepted, job.rejected) == (3, 3)
    errors = errors_by_row(job)
    assert errors == {
        3: "发布时间: Earlier than 2000-01-01: check the year.",
        4: "发布时间: Earlier than 2000-01-01: check the year.",
        6: "发布时间: Later than 24 hours from now: check the date and the time zone.",
    }
    assert set(PostMatch.objects.values_list("post__url", "rule")) == {
        (f"https://weibo.com/w/{n}", rule.pk) for n in (2, 5, 7)
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("no-platform.csv", "链接,内容\nhttps://weibo.com/1,文字\n".encode()),
        (
            "no-platform.xlsx",
            xlsx_bytes([["https://weibo.com/1", "文字"]], header=["链接", "内容"]),
        ),
    ],
)
def test_a_header_without_the_required_columns_fails_the_whole_import(duty, name, content):
    job = run(duty, name, content)

    assert job.state == ImportJob.State.FAILED
    assert "lacks the columns" in job.error
    assert "platform (平台)" in job.error and "published_at (发布时间)" in job.error
    assert job.finished_at == NOW and job.leased_until is None
    assert Post.objects.count() == 0


def test_a_file_that_is_not_what_it_says_fails_with_a_reason(duty):
    # Starts like a zip, but is not one.
    job = run(duty, "broken.xlsx", b"PK\x03\x04 not really a workbook")

    assert job.state == ImportJob.State.FAILED
    assert job.error == "This is not an Excel .xlsx file."


def test_the_rows_kept_for_the_report_are_capped_but_all_are_counted(duty, monkeypatch):
    monkeypatch.setattr(imports, "ROW_ERRORS_KEPT", 2)
    bad = ["微博", "", "", "", "", "2026-11-20 10:00", "", "", "", "", ""]

    job = run(duty, "bad.csv", csv_bytes([bad, bad, bad]))

    assert (job.rejected, len(job.row_errors)) == (3, 2)
    report = imports.import_errors_csv(job).decode("utf-8-sig")
    assert report.splitlines()[1].startswith("2,")
    assert "and 1 more rejected rows" in report


# Progress and resuming -----------------------------------------------------------------


def test_progress_is_written_after_each_chunk(duty, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_SIZE", 3)
    seen: list[tuple[int, int | None]] = []
    job = import_create(actor=duty, upload=upload("chunks.csv", csv_bytes(ROWS)))

    def watching(**kwargs):
        # What the page would show at the moment each chunk is sent.
        current = ImportJob.objects.get(pk=job.pk)
        seen.append((current.processed_rows, current.total_rows))
        return posts_ingest(**kwargs)

    monkeypatch.setattr(imports, "posts_ingest", watching)
    job = import_run(job.pk)

    assert seen == [(0, 9), (3, 9), (6, 9)]  # the size is known before the first chunk
    assert (job.processed_rows, job.total_rows, job.state) == (9, 9, "done")


def test_an_import_whose_worker_died_resumes_after_its_last_progress(duty, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_SIZE", 2)
    good = [
        [
            "微博",
            f"https://weibo.com/r/{n}",
            "",
            "",
            f"第{n}帖",
            "2026-11-20 10:00",
            "1",
            "0",
            "0",
            "0",
            "",
        ]
        for n in range(1, 6)
    ]
    job = import_create(actor=duty, upload=upload("resume.csv", csv_bytes(good)))
    # The dead worker got through rows 2–3 and wrote it down, stored rows 4–5 as well
    # but died before writing that; its lease ran out a second ago.
    posts_ingest(
        items=[
            {
                "platform": "weibo",
                "url": f"https://weibo.com/r/{n}",
                "text": f"第{n}帖",
                "published_at": "2026-11-20T10:00:00",
            }
            for n in range(1, 5)
        ]
    )
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.RUNNING,
        processed_rows=2,
        total_rows=5,
        accepted=2,
        started_at=NOW - LEASE,
        leased_until=NOW - timedelta(seconds=1),
    )

    assert imports_run_pending() == 1

    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.processed_rows, job.total_rows) == ("done", 5, 5)
    assert (job.accepted, job.duplicate, job.rejected) == (3, 2, 0)
    assert job.started_at == NOW - LEASE  # the first run's start is kept
    assert Post.objects.count() == 5


def test_an_import_running_under_a_live_lease_is_left_alone(duty):
    job = import_create(actor=duty, upload=upload("live.csv", csv_bytes(ROWS[:1])))
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.RUNNING, leased_until=NOW + timedelta(seconds=1)
    )

    assert import_run(job.pk) is None
    assert imports_run_pending() == 0
    assert ImportJob.objects.get(pk=job.pk).processed_rows == 0


def test_a_pending_import_whose_message_was_lost_is_run_by_beat_once(duty):
    job = import_create(actor=duty, upload=upload("lost.csv", csv_bytes(ROWS[:2])))

    assert imports_run_pending() == 1
    assert imports_run_pending() == 0
    assert import_run(job.pk) is None  # done: a late message changes nothing
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.accepted) == ("done", 2)
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "monitoring.run_pending_imports"
    )
    assert entry["schedule"] == settings.FENGHUO_FEED_POLL_INTERVAL


# Refusing uploads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"platform,url\n", "Only CSV (.csv) and Excel (.xlsx) files"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "Only CSV (.csv) and Excel (.xlsx) files"),
        ("empty.csv", b"", "The file is empty."),
        ("renamed.xlsx", b"\xd0\xcf\x11\xe0 an old .xls", "This is not an Excel .xlsx file"),
    ],
)
def test_uploads_that_cannot_be_imported_are_refused_on_the_file(duty, name, content, message):
    with pytest.raises(InvalidInput) as refused:
        import_create(actor=duty, upload=upload(name, content))

    assert message in str(refused.value.field_errors["file"][0])
    assert ImportJob.objects.count() == 0


def test_an_upload_over_the_size_limit_is_refused(duty, settings):
    settings.FENGHUO_IMPORT_MAX_BYTES = 1024 * 1024

    with pytest.raises(InvalidInput) as refused:
        import_create(actor=duty, upload=upload("big.csv", b"x" * (1024 * 1024 + 1)))

    assert "larger than 1 MB" in str(refused.value.field_errors["file"][0])


def test_only_the_intake_roles_may_import(analyst, office, leader, spokesperson):
    for person in (analyst, office):
        import_create(actor=person, upload=upload("ok.csv", csv_bytes(ROWS[:1])))
    for person in (leader, spokesperson):
        with pytest.raises(PermissionDenied):
            import_create(actor=person, upload=upload("no.csv", csv_bytes(ROWS[:1])))
    assert ImportJob.objects.count() == 2


def test_the_worker_is_asked_once_the_upload_is_committed(
    duty,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    celery_setting(monkeypatch, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_create(actor=duty, upload=upload("now.csv", csv_bytes(ROWS[:2])))

    assert len(callbacks) == 1
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.accepted) == ("done", 2)


# The pages -----------------------------------------------------------------------------


def test_a_duty_officer_uploads_and_is_taken_to_the_import_page(client, duty):
    client.force_login(duty)
    page = client.get(reverse("monitoring:imports"))
    assert 'type="file"' in page.content.decode()
    assert 'accept=".csv,.xlsx' in page.content.decode()

    answer = client.post(
        reverse("monitoring:imports"), {"file": upload("导出.csv", csv_bytes(ROWS))}
    )

    job = ImportJob.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("monitoring:import_detail", args=[job.pk])
    detail = client.get(answer["Location"]).content.decode()
    assert "导出.csv" in detail
    assert 'hx-trigger="every 2s"' in detail and "<progress" in detail
    listing = client.get(reverse("monitoring:imports")).content.decode()
    assert reverse("monitoring:import_detail", args=[job.pk]) in listing


def test_a_leader_sees_the_imports_but_no_form_and_may_not_upload(client, leader):
    client.force_login(leader)

    page = client.get(reverse("monitoring:imports"))
    answer = client.post(
        reverse("monitoring:imports"), {"file": upload("导出.csv", csv_bytes(ROWS))}
    )

    assert page.status_code == 200 and 'type="file"' not in page.content.decode()
    assert answer.status_code == 403
    assert ImportJob.objects.count() == 0


def test_a_text_file_gets_a_form_error(client, duty):
    client.force_login(duty)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # asserts English

    answer = client.post(reverse("monitoring:imports"), {"file": upload("notes.txt", b"x")})

    assert answer.status_code == 400
    assert "Only CSV (.csv) and Excel (.xlsx) files can be imported" in answer.content.decode()
    assert ImportJob.objects.count() == 0


def test_the_progress_partial_shows_the_counts_and_stops_polling_when_done(
    client, duty, stored_post
):
    client.force_login(duty)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # asserts English
    job = import_create(actor=duty, upload=upload("导出.csv", csv_bytes(ROWS)))
    url = reverse("monitoring:import_progress", args=[job.pk])

    waiting = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in waiting

    import_run(job.pk)
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 2s"' not in done
    assert '<progress id="import-bar" max="9" value="9"' in done
    assert '<dd data-count="accepted">3</dd>' in done
    assert '<dd data-count="duplicate">2</dd>' in done
    assert '<dd data-count="rejected">4</dd>' in done
    assert '<tr data-row="6">' in done and "Unknown platform “脸书”" in done
    report = client.get(reverse("monitoring:import_errors", args=[job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    assert report.content.startswith(b"\xef\xbb\xbf")
    assert [line.split(",")[0] for line in report.content.decode("utf-8-sig").splitlines()[1:]] == [
        "4",
        "5",
        "6",
        "7",
    ]


def test_a_failed_import_shows_its_error(client, duty):
    client.force_login(duty)
    job = run(duty, "bad.csv", "链接,内容\nhttps://weibo.com/1,文字\n".encode())

    page = client.get(reverse("monitoring:import_detail", args=[job.pk])).content.decode()

    assert "lacks the columns" in page and 'hx-trigger="every 2s"' not in page


def test_the_import_pages_need_a_login(client, duty):
    job = import_create(actor=duty, upload=upload("a.csv", csv_bytes(ROWS[:1])))
    progress = reverse("monitoring:import_progress", args=[job.pk])

    assert client.get(reverse("monitoring:imports")).status_code == 302
    assert client.get(progress).status_code == 302
    # htmx polling after the session expired: leave the page as it is.
    assert client.get(progress, HTTP_HX_REQUEST="true").status_code == 204
    client.force_login(duty)
    assert client.get(reverse("monitoring:import_detail", args=[job.pk + 1])).status_code == 404
