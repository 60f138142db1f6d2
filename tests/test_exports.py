"""The review exported as Word and PDF: documents that open, with the Chinese in them."""

import io
import os
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from engine.sweep import sweep
from incidents.models import Incident
from response.documents import document_save_draft
from response.exports import LABELS, review_docx, review_pdf
from response.models import Review
from tests.conftest import approve_the_review

pytestmark = pytest.mark.django_db

FOUND = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TITLE = "网友反映医院收费问题"
LESSONS = "首报时限意识不足，值班信息报送需提速。"
SECTIONS = ["基本情况", "处置经过", "传播数据", "等级变化", "发布与回应", "任务落实", "续报",
            "责任追究", "经验教训", "预案改进建议"]


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def reviewed(log_incident, advance, office):
    """A level Ⅰ incident in review whose report to the leadership went in late."""

    def make(**overrides) -> Incident:
        with at(FOUND):
            incident = advance(log_incident(discovered_at=FOUND, metrics={"casualties": True},
                                            **overrides), "assessed", level=1, category="hype")
        with at(FOUND + timedelta(minutes=45)):
            sweep()  # the report is overdue: a LateReport
            incident = advance(incident, "reviewing")
            document_save_draft(model=Review, incident=incident, actor=office,
                                fields={"lessons": LESSONS, "summary": "处置总体有序。",
                                        "plan_changes": "明确夜间值班报告流程。",
                                        "drill_evaluation": "响应及时，口径审批需提速。"})
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
