"""Evidence files of tasks: accepted by what they are (not by their name) and size, and
served only through the authorised download, as attachments that are never sniffed."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.errors import InvalidInput
from response import evidence
from response.assignments import task_assign, task_record
from response.models import Task, TaskUpdate

pytestmark = pytest.mark.django_db
API = "/api/v1"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def docx_bytes(*, macro: bool = False) -> bytes:
    from docx import Document

    out = io.BytesIO()
    Document().save(out)
    if not macro:
        return out.getvalue()
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("word/vbaProject.bin", b"\x00macro")
    return out.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def ole2_bytes(stream: str) -> bytes:
    """A minimal compound file: the header, then a directory sector with the root entry
    and one stream named ``stream``."""

    def entry(name: str, kind: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0") + len(encoded).to_bytes(2, "little") + bytes([kind])
        ).ljust(128, b"\xff")

    header = evidence.OLE2_MAGIC.ljust(512, b"\0")
    return header + entry("Root Entry", 5) + entry(stream, 2) + bytes(256)


def zip_bytes(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(name, "x")
    return out.getvalue()


def upload(content: bytes, name: str = "evidence.bin") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PNG, evidence.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32), evidence.JPEG),
        (b"GIF89a" + bytes(32), evidence.GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32), evidence.WEBP),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", evidence.PDF),
        (docx_bytes(), evidence.DOCX),
        (xlsx_bytes(), evidence.XLSX),
        (ole2_bytes("WordDocument"), evidence.DOC),
        (ole2_bytes("Workbook"), evidence.XLS),
        ("网友反映：医院重复收费。\r\n已核实。\t完毕".encode(), evidence.TEXT_UTF8),
        ("\ufeff网友反映收费问题".encode(), evidence.TEXT_UTF8),
        ("网友反映医院重复收费，已核实退费。".encode("gb18030"), evidence.TEXT_GB18030),
    ],
    ids=[
        "png",
        "jpeg",
        "gif",
        "webp",
        "pdf",
        "docx",
        "xlsx",
        "doc",
        "xls",
        "utf-8",
        "utf-8-bom",
        "gb18030",
    ],
)
def test_allowed_kinds_are_recognised_by_their_content(content, kind):
    assert evidence.sniff(io.BytesIO(content)) == kind


@pytest.mark.parametrize(
    "content",
    [
        HTML,
        b"\n  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b'<?xml version="1.0"?><root/>',
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows program
        b"text\x00with a NUL",
        b"text with an escape \x1b[31m",
        b"\xff\xfe\x00\x00\x80\x81",  # neither UTF-8 nor GB18030
        zip_bytes("payload.txt"),  # a zip that is no Office document
        docx_bytes(macro=True),
        ole2_bytes("PowerPoint Document"),
        b"   \n",
    ],
    ids=["html", "svg", "xml", "exe", "nul", "escape", "binary", "zip", "docm", "ppt", "blank"],
)
def test_other_kinds_are_refused_whatever_their_name(content):
    assert evidence.sniff(io.BytesIO(content)) is None
    with pytest.raises(InvalidInput) as refused:
        evidence.evidence_check(upload(content, "report.pdf"))
    assert "PDF, Word, Excel" in refused.value.field_errors["attachment"][0]


def test_the_size_limit_is_20_mb_by_default_and_named_when_refusing(settings):
    assert settings.FENGHUO_EVIDENCE_MAX_BYTES == 20 * 1024 * 1024
    with pytest.raises(InvalidInput) as refused:
        evidence.evidence_check(upload(PNG + bytes(20 * 1024 * 1024), "photo.png"))
    assert "20.0\xa0MB" in refused.value.field_errors["attachment"][0]
    with pytest.raises(InvalidInput):
        evidence.evidence_check(upload(b"", "empty.txt"))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def task(log_incident, advance, office, health_unit):
    incident = advance(log_incident(), "reported")
    return task_assign(incident=incident, actor=office, title="核实收费记录", unit=health_unit)


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()]


def test_a_png_named_html_is_stored_as_a_png(media, task, liaison):
    update = task_record(
        task=task, actor=liaison, text="现场照片", attachment=upload(PNG, "现场照片.html")
    )
    assert update.attachment.name.startswith("evidence/")
    assert update.attachment.name.endswith("/现场照片.png")
    assert [p.read_bytes() for p in stored_files(media)] == [PNG]


# The page ------------------------------------------------------------------------------------


def record(client, task, **data):
    return client.post(
        reverse("response:record", args=[task.incident_id, task.pk]), {"text": "已核实", **data}
    )


def test_html_evidence_is_refused_on_the_form_and_nothing_is_stored(client, media, task, liaison):
    client.force_login(liaison)
    response = record(client, task, done="on", attachment=upload(HTML, "evidence.html"))
    assert response.status_code == 400
    form = next(row["form"] for row in response.context["tasks"] if row["task"] == task)
    assert "PDF" in form.errors["attachment"][0]
    assert not TaskUpdate.objects.exists() and not stored_files(media)
    assert Task.objects.get(pk=task.pk).state == Task.State.OPEN


def test_a_file_over_the_limit_is_refused_on_the_form_naming_the_limit(
    client, media, task, liaison, settings
):
    settings.FENGHUO_EVIDENCE_MAX_BYTES = 1024
    client.force_login(liaison)
    response = record(client, task, attachment=upload(PNG + bytes(2048), "photo.png"))
    assert response.status_code == 400
    form = next(row["form"] for row in response.context["tasks"] if row["task"] == task)
    assert "1.0" in form.errors["attachment"][0]
    assert not stored_files(media)


def test_the_page_links_evidence_to_the_authorised_download(
    client, media, task, liaison, spokesperson
):
    client.force_login(liaison)
    assert record(client, task, attachment=upload(PNG, "现场照片.png")).status_code == 302
    update = TaskUpdate.objects.get()
    url = reverse("api:task-evidence", args=[task.pk, update.pk])
    client.force_login(spokesperson)  # anyone who sees the incident
    page = client.get(reverse("response:incident", args=[task.incident_id])).content.decode()
    assert f'href="{url}"' in page and "/media/" not in page

    answer = client.get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Disposition"].startswith("attachment;")
    assert "%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.png" in answer["Content-Disposition"]
    assert b"".join(answer.streaming_content) == PNG

    client.logout()
    assert client.get(url).status_code in (401, 403)


def test_behind_nginx_the_download_is_an_x_accel_redirect_with_the_same_headers(
    client, media, task, liaison, settings
):
    settings.FENGHUO_EVIDENCE_X_ACCEL_PREFIX = "/protected-media/"
    update = task_record(
        task=task, actor=liaison, text="说明", attachment=upload("已核实。".encode(), "说明.txt")
    )
    client.force_login(liaison)
    answer = client.get(reverse("api:task-evidence", args=[task.pk, update.pk]))
    assert answer.status_code == 200
    assert answer["X-Accel-Redirect"] == (
        "/protected-media/" + update.attachment.name.replace("说明", "%E8%AF%B4%E6%98%8E")
    )
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Disposition"].startswith("attachment;")
    assert answer.content == b""


def test_no_download_for_another_tasks_update_or_an_update_without_a_file(
    client, media, task, liaison, office, health_unit
):
    with_file = task_record(task=task, actor=liaison, text="照片", attachment=upload(PNG))
    without = task_record(task=task, actor=liaison, text="无附件")
    other = task_assign(incident=task.incident, actor=office, title="另一任务", unit=health_unit)
    client.force_login(liaison)
    assert (
        client.get(reverse("api:task-evidence", args=[other.pk, with_file.pk])).status_code == 404
    )
    assert client.get(reverse("api:task-evidence", args=[task.pk, without.pk])).status_code == 404


# The API -------------------------------------------------------------------------------------


def test_the_api_takes_evidence_by_content_and_links_it_to_the_download(
    api_for, media, task, liaison, duty
):
    client = api_for(liaison)
    refused = client.post(
        f"{API}/tasks/{task.pk}/complete/",
        {"text": "已办结", "attachment": upload(HTML, "evidence.html")},
        format="multipart",
    )
    assert refused.status_code == 400
    assert "PDF" in refused.json()["attachment"][0]
    assert not stored_files(media)

    workbook = xlsx_bytes()
    done = client.post(
        f"{API}/tasks/{task.pk}/complete/",
        {"text": "已办结", "attachment": upload(workbook, "退费清单.xlsx")},
        format="multipart",
    )
    assert done.status_code == 200
    [update] = done.json()["updates"]
    assert update["attachment"] == (
        f"http://testserver{API}/tasks/{task.pk}/updates/{update['id']}/attachment"
    )
    answer = api_for(duty).get(update["attachment"])
    assert answer.status_code == 200
    assert answer["Content-Type"] == evidence.XLSX.content_type
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert b"".join(answer.streaming_content) == workbook

    plain = client.get(f"{API}/tasks/{task.pk}/").json()["updates"][0]
    assert plain["attachment"] == update["attachment"]
