"""The review exported as Word and PDF: documents that open, with the Chinese in them."""

import io
import os
import re
from datetime import timedelta

import pytest

from engine.sweep import sweep
from incidents.models import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH, Incident, TimelineEntry
from response.documents import document_save_draft
from response.exports import LABELS, review_docx, review_pdf
from response.models import TEXT_MAX_LENGTH, FollowUp, Review
from tests.helpers import MONDAY_MORNING, approve_the_review, at

pytestmark = pytest.mark.django_db

FOUND = MONDAY_MORNING
TITLE = "网友反映医院收费问题"
LESSONS = "首报时限意识不足，值班信息报送需提速。"
SECTIONS = [
    "基本情况",
    "处置经过",
    "传播数据",
    "等级变化",
    "发布与回应",
    "任务落实",
    "续报",
    "责任追究",
    "经验教训",
    "预案改进建议",
]


@pytest.fixture
def reviewed(log_incident, advance, office):
    """A level Ⅰ incident in review whose report to the leadership went in late."""

    def make(**overrides) -> Incident:
        with at(FOUND):
            incident = advance(
                log_incident(discovered_at=FOUND, metrics={"casualties": True}, **overrides),
                "assessed",
                level=1,
                category="hype",
            )
        with at(FOUND + timedelta(minutes=45)):
            sweep()  # the report is overdue: a LateReport
            incident = advance(incident, "reviewing")
            document_save_draft(
                model=Review,
                incident=incident,
                actor=office,
                fields={
                    "lessons": LESSONS,
                    "summary": "处置总体有序。",
                    "plan_changes": "明确夜间值班报告流程。",
                    "drill_evaluation": "响应及时，口径审批需提速。",
                },
            )
        return Incident.objects.get(pk=incident.pk)

    return make


def docx_text(data: bytes) -> str:
    from docx import Document

    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    """The PDF's text, without whitespace and NULs: the CJK font is a CID-keyed CFF font
    with an embedded CMap (valid PDF; poppler's pdftotext reads it cleanly), which pypdf
    decodes with a NUL or a space between glyphs."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def test_the_docx_opens_with_the_sections_lessons_and_accountability(reviewed):
    incident = reviewed()
    text = docx_text(review_docx(incident))
    assert f"《{TITLE}》总结评估报告" in text
    for section in SECTIONS:
        assert section in text
    assert LESSONS in text and "明确夜间值班报告流程。" in text
    assert "领导小组办公室" in text and "逾期完成" in text  # the late report, its unit
    assert LABELS["all_in_time"] not in text
    assert "草稿" in text  # not approved yet
    assert "【演练】" not in text and "演练评估" not in text


def test_the_docx_names_an_east_asian_font_on_its_styles(reviewed):
    from docx import Document
    from docx.oxml.ns import qn

    document = Document(io.BytesIO(review_docx(reviewed())))
    for name in ("Normal", "Heading 1", "Title"):
        fonts = document.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia"))
        assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would win


def test_the_pdf_embeds_a_font_and_its_text_is_chinese(reviewed):
    data = review_pdf(reviewed())
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert f"《{TITLE}》总结评估报告" in text
    assert "责任追究" in text and "领导小组办公室" in text
    assert re.sub(r"\s+", "", LESSONS) in text

    from pypdf import PdfReader

    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.add(font["/BaseFont"])
    assert fonts  # embedded, so any viewer renders the Chinese


def test_the_approved_review_names_its_approver(reviewed, office):
    incident = approve_the_review(reviewed(), author=office)
    review = Review.objects.filter(incident=incident).order_by("-version").first()
    approval = review.decisions.get(verdict="approve")
    text = docx_text(review_docx(incident))
    assert "审批人" in text and "审批时间" in text
    assert str(approval.approver.get_full_name() or approval.approver) in text
    assert LABELS["draft_note"] not in text
    assert "审批人" in pdf_text(review_pdf(incident))


def test_every_deadline_met_in_time_says_so(log_incident, advance):
    incident = advance(log_incident(), "reviewing")
    assert LABELS["all_in_time"] in docx_text(review_docx(incident))


def test_a_drill_export_says_it_is_a_drill(reviewed):
    drill = reviewed(is_drill=True)
    text = docx_text(review_docx(drill))
    assert "【演练】" in text and "演练评估" in text and "响应及时，口径审批需提速。" in text
    assert "演练" in pdf_text(review_pdf(drill))


def test_the_pdf_font_is_found_without_fontconfig_and_a_missing_one_is_named(monkeypatch):
    from response import exports

    exports.pdf_font.cache_clear()
    try:
        monkeypatch.setattr(exports.shutil, "which", lambda name: None)
        font = exports.pdf_font()
        assert os.path.isfile(font.regular)

        exports.pdf_font.cache_clear()
        monkeypatch.setenv(exports.PDF_FONT_ENV, "/nonexistent/font.ttf")
        with pytest.raises(exports.ExportFontMissing, match=re.escape("/nonexistent/font.ttf")):
            exports.pdf_font()
    finally:
        exports.pdf_font.cache_clear()


# Content never fails an export --------------------------------------------------------------


def long_text(n: int, sentence: str = "网友反映医院重复收费，要求退费并公开说明。") -> str:
    return (sentence * (n // len(sentence) + 1))[:n]


def pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("length", [2_400, DESCRIPTION_MAX_LENGTH])
def test_a_long_description_flows_across_pages_of_the_pdf(length, reviewed):
    short = pdf_pages(review_pdf(reviewed()))
    description = long_text(length - 4) + "描述结束"
    data = review_pdf(reviewed(description=description))
    # About 45 characters a line, 40 lines a page: the description alone fills pages.
    assert pdf_pages(data) >= short + length // 2_000
    text = pdf_text(data)
    assert "描述结束" in text and long_text(300) in text


def test_long_texts_of_the_record_tables_flow_across_pages_of_the_pdf(reviewed, office):
    incident = reviewed()
    TimelineEntry.objects.create(
        incident=incident,
        actor=office,
        kind="level",
        action="change_level",
        from_level=1,
        to_level=2,
        reason=long_text(REASON_MAX_LENGTH - 4) + "理由结束",
    )
    FollowUp.objects.create(
        incident=incident,
        author=office,
        what_changed=long_text(TEXT_MAX_LENGTH - 4) + "续报结束",
        actions_taken=long_text(TEXT_MAX_LENGTH - 4) + "措施结束",
    )
    data = review_pdf(incident)
    assert pdf_pages(data) >= 20
    text = pdf_text(data)
    for end in ("理由结束", "续报结束", "措施结束", "经验教训"):
        assert end in text
    docx = docx_text(review_docx(incident))
    assert "续报结束" in docx and "措施结束" in docx


BAD_FOR_XML = "\x01\x08\x0b\x0c\x1b\x1f\ufffe\uffff"  # \x7f, \t and \n are fine


def test_characters_word_cannot_hold_are_dropped_and_the_export_says_so(reviewed):
    incident = reviewed(description=f"网友\x7f{BAD_FOR_XML}发帖\t了")
    Review.objects.filter(incident=incident).update(lessons="教训\x02一")
    text = docx_text(review_docx(incident))
    assert "网友\x7f发帖\t了" in text and "教训一" in text
    note = LABELS["removed"].format(count=len(BAD_FOR_XML) + 1)
    assert note in text
    assert re.sub(r"\s+", "", note) in pdf_text(review_pdf(incident))


def test_nuls_and_lone_surrogates_are_dropped_too():
    # The databases refuse both, so they reach an export only from elsewhere.
    from response.exports import _Cleaner

    clean = _Cleaner()
    assert clean("教训\x00一\ud800二\U0001f600") == "教训一二\U0001f600"
    assert (clean.dropped, clean.cut) == (2, 0)


def test_the_api_exports_text_word_cannot_hold_and_counts_what_it_left_out(
    api_for, duty, health_unit
):
    client = api_for(duty)
    created = client.post(
        "/api/v1/incidents/",
        {
            "title": "标\x01题",
            "platform": "weibo",
            "event_type": "user_complaint",
            "unit": health_unit.pk,
            "description": "网友\x01\x0b发帖",
        },
        format="json",
    )
    assert created.status_code == 201
    for extension in ("docx", "pdf"):
        answer = client.get(f"/api/v1/incidents/{created.json()['id']}/review.{extension}")
        assert answer.status_code == 200
        assert answer["X-Removed-Characters"] == "4"  # the title's, twice, and 2
        if extension == "docx":
            text = docx_text(answer.content)
            assert "网友发帖" in text and LABELS["removed"].format(count=4) in text


def test_a_text_longer_than_input_allows_is_cut_and_the_export_says_so(reviewed, api_for, duty):
    incident = reviewed()
    Incident.objects.filter(pk=incident.pk).update(description=long_text(TEXT_MAX_LENGTH + 5_000))
    answer = api_for(duty).get(f"/api/v1/incidents/{incident.pk}/review.docx")
    assert answer.status_code == 200
    assert answer["X-Removed-Characters"] == "5000"
    text = docx_text(answer.content)
    assert LABELS["cut"].format(count=1, limit=TEXT_MAX_LENGTH) in text
    assert LABELS["cut_mark"] in text
