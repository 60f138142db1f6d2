"""The review (总结评估报告) and the incident's file as Word (.docx) and PDF.

Both formats are rendered from one list of blocks built from ``review_record`` and the
latest Review, so they always say the same thing. The documents go to Chinese offices:
the labels are Chinese (``LABELS``), and the record's own labels (obligations, states,
categories) are rendered in the site's language.

Content never fails an export:
- characters that XML (so Word) cannot hold, such as control characters and lone
  surrogates, are dropped from every text, and a text longer than the longest input
  allows (``EXPORT_TEXT_MAX_LENGTH``; older rows may hold more) is cut; the document
  says so in a note under its title, and the API in the ``X-Removed-Characters`` header;
- in the PDF, a table whose row would not fit comfortably on a page is written as one
  record after another, long texts as paragraphs that flow across pages (fpdf2 cannot
  split a table row: "row too high"); a field list keeps its short rows as a table and
  its long ones follow it as paragraphs.

Chinese text:
- .docx: every style used carries an East Asian font (``w:rFonts/@w:eastAsia``) and the
  zh-CN East Asian language, so Word picks a Chinese font for the Chinese runs.
- .pdf: fpdf2 embeds a subset of a CJK font found on this machine (Noto Sans CJK SC from
  Debian's fonts-noto-cjk, an OpenType/CFF collection that fpdf2 can embed), so the PDF
  renders the same in any viewer.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from incidents.choices import State
from incidents.models import Incident

from .models import TEXT_MAX_LENGTH, Decision, DocumentState, Review
from .reviews import review_record

# --- the labels: one place ----------------------------------------------------------------

LABELS: dict[str, str] = {
    "title": "《{title}》总结评估报告",
    "drill": "【演练】",
    "draft": "草稿",
    "draft_note": "（草稿，尚未审批）",
    "not_approved": "草稿，尚未审批",
    "no_review": "（尚未起草总结评估，草稿）",
    "version": "第{version}版",
    "basics": "一、基本情况",
    "course": "二、处置经过",
    "figures": "三、传播数据",
    "levels": "四、等级变化",
    "statements": "五、发布与回应",
    "tasks": "六、任务落实",
    "follow_ups": "七、续报",
    "accountability": "八、责任追究",
    "lessons": "九、经验教训",
    "plan_changes": "十、预案改进建议",
    "drill_evaluation": "演练评估",
    "approval": "审批",
    # 基本情况
    "incident_title": "事件标题",
    "incident_id": "事件编号",
    "unit": "涉事单位",
    "discovered_at": "发现时间",
    "level": "事件等级",
    "level_value": "{level}级",
    "category": "处置类别",
    "nature": "性质",
    "real": "实际事件",
    "description": "情况描述",
    "summary": "总体情况",
    # tables
    "at": "时间",
    "actor": "操作人",
    "what": "事项",
    "state_change": "状态变化",
    "reason": "说明",
    "reads": "阅读",
    "reposts": "转发",
    "comments": "评论",
    "negative_share": "负面占比",
    "mainstream_media": "主流媒体",
    "casualties": "伤亡",
    "suggested_level": "建议等级",
    "from_level": "原等级",
    "to_level": "新等级",
    "statement": "回应口径",
    "channel": "发布渠道",
    "published_at": "发布时间",
    "url": "链接",
    "not_published": "未发布",
    "task": "任务",
    "task_unit": "承办单位",
    "due_at": "时限",
    "state": "状态",
    "outcome": "落实情况",
    "completed_at": "完成时间",
    "by": "报告人",
    "what_changed": "新情况",
    "actions_taken": "已采取措施",
    "obligation": "事项",
    "met_at": "完成时间",
    "lateness": "情况",
    "late": "逾期完成",
    "missed": "未完成",
    "responsible_unit": "责任单位",
    "responsible_person": "责任人",
    "all_in_time": "各项时限均按时完成",
    "findings": "责任认定与表彰",
    "finding_kind": "认定",
    "finding_text": "事实",
    "evidence": "证据",
    "no_findings": "无",
    "late_finding": "迟报",
    "omitted": "漏报",
    "false": "谎报",
    "concealed": "瞒报",
    "commendation": "表彰",
    "approver": "审批人",
    "approved_at": "审批时间",
    "comment": "审批意见",
    "yes": "是",
    "no": "否",
    "none": "无",
    "not_filled": "（未填写）",
    "page": "第 {page} 页",
    "removed": "（注：原文中有 {count} 个无法写入文档的字符（控制字符等），已删除。）",
    "cut": "（注：{count} 段超长文字只保留了前 {limit} 个字。）",
    "cut_mark": "……（以下从略）",
}

# The timeline's actions (what was done), by their codes in TimelineEntry.action.
ACTIONS: dict[str, str] = {
    "assess": "研判定级",
    "report": "报告领导小组",
    "respond": "启动处置",
    "track": "跟踪续报",
    "review": "转入总结评估",
    "close": "结案",
    "dismiss": "不予处置",
    "change_level": "调整等级",
    "upgrade_proposed": "提出升级",
    "reject_upgrade": "不予升级",
    "propose_level_change": "提请调整等级",
    "reject_level_change": "不同意调整等级",
    "withdraw_level_change": "撤回等级调整",
    "arrived": "到岗",
    "task_assigned": "交办任务",
    "task_done": "任务办结",
    "follow_up_filed": "报送续报",
    "statement_published": "发布回应",
}
DOCUMENTS = {"response_plan": "处置方案", "statement": "回应口径", "review": "总结评估"}
DOCUMENT_STEPS = {
    "drafted": "起草",
    "edited": "修改",
    "submitted": "提交审批",
    "approve": "审批同意",
    "reject": "审批不同意",
    "request_changes": "退回修改",
}

# Word: the East Asian font named on the styles; Word substitutes a Chinese font of the
# machine when it is missing (the runs are marked zh-CN), LibreOffice does the same.
DOCX_EAST_ASIAN_FONT = "SimSun"
DOCX_HEADING_EAST_ASIAN_FONT = "SimHei"

# PDF: fontconfig families tried in order, then the known Debian paths.
PDF_FONT_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "AR PL UMing CN")
PDF_FONT_PATHS = (  # (regular, bold, index in the collection)
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        2,
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None, 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", None, 0),
)
PDF_FONT_ENV = "FENGHUO_PDF_FONT"  # a font file to use instead (.ttf/.otf/.ttc, index 0)

# The longest text an export writes whole: what input allows for any free text.
EXPORT_TEXT_MAX_LENGTH = TEXT_MAX_LENGTH
# What XML 1.0 (so a .docx) can hold; everything else is dropped.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# PDF: a table row taller than this share of the page's body is written as records.
PDF_ROW_MAX_SHARE = 0.4

# fontTools reports every step of the font subsetting at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


class ExportFontMissing(RuntimeError):
    """No CJK font to embed in the PDF."""


# --- the content, as blocks -----------------------------------------------------------------


@dataclass
class Block:
    kind: str  # title, subtitle, note, heading, para, fields, table
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)  # relative column widths


def _latest_review(incident: Incident) -> Review | None:
    return Review.objects.filter(incident=incident).order_by("-version").first()


def _approval(review: Review | None) -> Decision | None:
    if review is None or review.state != DocumentState.APPROVED:
        return None
    return (
        Decision.objects.filter(review=review, verdict=Decision.Verdict.APPROVE)
        .select_related("approver")
        .order_by("-at")
        .first()
    )


def _person(user: Any) -> str:
    if user is None:
        return ""
    name = getattr(user, "get_full_name", lambda: "")() or ""
    return name or str(user)


def _action_label(code: str) -> str:
    if code in ACTIONS:
        return ACTIONS[code]
    for name, document in DOCUMENTS.items():
        step = code.removeprefix(f"{name}_")
        if step != code and step in DOCUMENT_STEPS:
            return document + DOCUMENT_STEPS[step]
    return code


def _state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


def _text_or(value: str, default: str) -> str:
    return value.strip() if value and value.strip() else default


def report_blocks(incident: Incident) -> list[Block]:
    """The report, format-neutral."""
    L = LABELS
    record = review_record(incident=incident)
    info = record["incident"]
    review = _latest_review(incident)
    approval = _approval(review)
    drill = L["drill"] if info["is_drill"] else ""
    blocks = [Block("title", drill + L["title"].format(title=info["title"]))]
    if review is None:
        blocks.append(Block("subtitle", L["no_review"]))
    else:
        note = "" if approval else L["draft_note"]
        blocks.append(Block("subtitle", L["version"].format(version=review.version) + note))

    blocks.append(Block("heading", L["basics"]))
    blocks.append(
        Block(
            "fields",
            rows=[
                [L["incident_title"], info["title"]],
                [L["incident_id"], str(info["id"])],
                [L["nature"], L["drill"] if info["is_drill"] else L["real"]],
                [L["unit"], info["unit"]],
                [L["discovered_at"], info["discovered_at"]],
                [
                    L["level"],
                    L["level_value"].format(level=info["level"]) if info["level"] else L["none"],
                ],
                [L["category"], info["category"] or L["none"]],
                [L["description"], info["description"] or L["none"]],
            ],
            widths=[1, 4],
        )
    )
    if review is not None and review.summary.strip():
        blocks.append(Block("para", f"{L['summary']}：{review.summary.strip()}"))

    blocks.append(Block("heading", L["course"]))
    blocks.append(
        _table(
            [L["at"], L["actor"], L["what"], L["state_change"], L["reason"]],
            [
                [
                    e["at"],
                    e["actor"],
                    _action_label(e["what"]),
                    f"{_state_label(e['from'])} → {_state_label(e['to'])}" if e["to"] else "",
                    e["reason"],
                ]
                for e in record["timeline"]
            ],
            [3, 2, 3, 3, 4],
        )
    )

    blocks.append(Block("heading", L["figures"]))
    blocks.append(
        _table(
            [
                L["at"],
                L["reads"],
                L["reposts"],
                L["comments"],
                L["negative_share"],
                L["mainstream_media"],
                L["casualties"],
                L["suggested_level"],
            ],
            [
                [
                    f["at"],
                    str(f["reads"]),
                    str(f["reposts"]),
                    str(f["comments"]),
                    f"{f['negative_share']:.0%}",
                    _yes_no(f["mainstream_media"]),
                    _yes_no(f["casualties"]),
                    f["suggested_level"],
                ]
                for f in record["figures"]
            ],
            [3, 2, 2, 2, 2, 2, 2, 2],
        )
    )

    blocks.append(Block("heading", L["levels"]))
    blocks.append(
        _table(
            [L["at"], L["actor"], L["from_level"], L["to_level"], L["reason"]],
            [
                [c["at"], c["actor"], c["from"], c["to"], c["reason"]]
                for c in record["level_changes"]
            ],
            [3, 2, 2, 2, 5],
        )
    )

    blocks.append(Block("heading", L["statements"]))
    if not record["statements"]:
        blocks.append(Block("para", L["none"]))
    for s in record["statements"]:
        blocks.append(
            Block(
                "para",
                f"{L['statement']}{L['version'].format(version=s['version'])}"
                f"（{s['state']}）：{s['text']}",
            )
        )
        blocks.append(
            _table(
                [L["channel"], L["published_at"], L["url"]],
                [[p["channel"], p["at"], p["url"]] for p in s["publications"]],
                [2, 2, 5],
                empty=L["not_published"],
            )
        )

    blocks.append(Block("heading", L["tasks"]))
    blocks.append(
        _table(
            [L["task"], L["task_unit"], L["due_at"], L["state"], L["outcome"], L["completed_at"]],
            [
                [t["title"], t["unit"], t["due_at"], t["state"], t["outcome"], t["completed_at"]]
                for t in record["tasks"]
            ],
            [3, 2, 3, 2, 3, 3],
        )
    )

    blocks.append(Block("heading", L["follow_ups"]))
    blocks.append(
        _table(
            [L["at"], L["by"], L["what_changed"], L["actions_taken"]],
            [
                [f["at"], f["by"], f["what_changed"], f["actions_taken"]]
                for f in record["follow_ups"]
            ],
            [3, 2, 5, 5],
        )
    )

    blocks.append(Block("heading", L["accountability"]))
    blocks.append(
        _table(
            [
                L["obligation"],
                L["due_at"],
                L["met_at"],
                L["lateness"],
                L["responsible_unit"],
                L["responsible_person"],
            ],
            [
                [a["obligation"], a["due_at"], a["met_at"], L[a["status"]], a["unit"], a["person"]]
                for a in record["accountability"]
            ],
            [3, 3, 3, 2, 3, 2],
            empty=L["all_in_time"],
        )
    )
    blocks.append(Block("para", L["findings"]))
    kinds = {"late": L["late_finding"]} | {
        k: L[k] for k in ("omitted", "false", "concealed", "commendation")
    }
    blocks.append(
        _table(
            [
                L["finding_kind"],
                L["responsible_unit"],
                L["responsible_person"],
                L["finding_text"],
                L["evidence"],
            ],
            [
                [kinds[f["kind"]], f["unit"], f["person"], f["text"], f["evidence"]]
                for f in record["findings"]
            ],
            [2, 3, 2, 6, 3],
            empty=L["no_findings"],
        )
    )

    lessons = review.lessons if review else ""
    plan_changes = review.plan_changes if review else ""
    blocks += [
        Block("heading", L["lessons"]),
        Block("para", _text_or(lessons, L["not_filled"])),
        Block("heading", L["plan_changes"]),
        Block("para", _text_or(plan_changes, L["not_filled"])),
    ]
    if info["is_drill"]:
        evaluation = review.drill_evaluation if review else ""
        blocks += [
            Block("heading", L["drill_evaluation"]),
            Block("para", _text_or(evaluation, L["not_filled"])),
        ]

    blocks.append(Block("heading", L["approval"]))
    if approval is not None:
        at = timezone.localtime(approval.at).strftime("%Y-%m-%d %H:%M")
        rows = [[L["approver"], _person(approval.approver)], [L["approved_at"], at]]
        if approval.comment:
            rows.append([L["comment"], approval.comment])
        blocks.append(Block("fields", rows=rows, widths=[1, 4]))
    else:
        blocks.append(Block("para", L["not_approved"]))
    return blocks


def _yes_no(value: bool) -> str:
    return LABELS["yes"] if value else LABELS["no"]


def _table(
    header: list[str], rows: list[list[str]], widths: list[int], *, empty: str | None = None
) -> Block:
    if not rows:
        return Block("para", empty or LABELS["none"])
    return Block(
        "table", header=header, rows=[[str(c or "") for c in r] for r in rows], widths=widths
    )


@dataclass
class Report:
    """The blocks to render, and how many characters had to be left out of their text."""

    blocks: list[Block]
    removed: int = 0


@dataclass(frozen=True)
class Export:
    content: bytes
    removed: int  # characters dropped or cut away


class _Cleaner:
    """Makes every text of the blocks writable, counting what it leaves out."""

    def __init__(self) -> None:
        self.dropped = 0  # characters XML cannot hold
        self.cut = 0  # texts cut to EXPORT_TEXT_MAX_LENGTH
        self.cut_away = 0  # the characters after the cuts

    def __call__(self, text: str) -> str:
        text, dropped = NOT_XML.subn("", text)
        self.dropped += dropped
        if len(text) > EXPORT_TEXT_MAX_LENGTH:
            self.cut += 1
            self.cut_away += len(text) - EXPORT_TEXT_MAX_LENGTH
            text = text[:EXPORT_TEXT_MAX_LENGTH] + LABELS["cut_mark"]
        return text


def report_of(incident: Incident) -> Report:
    """The blocks of the report with every text writable; when something had to be
    left out, a note under the title says what."""
    with translation.override(settings.LANGUAGE_CODE):
        blocks = report_blocks(incident)
    clean = _Cleaner()
    for block in blocks:
        block.text = clean(block.text)
        block.header = [clean(text) for text in block.header]
        block.rows = [[clean(text) for text in row] for row in block.rows]
    notes = []
    if clean.dropped:
        notes.append(Block("note", LABELS["removed"].format(count=clean.dropped)))
    if clean.cut:
        notes.append(
            Block("note", LABELS["cut"].format(count=clean.cut, limit=EXPORT_TEXT_MAX_LENGTH))
        )
    blocks[2:2] = notes  # under the title and subtitle
    return Report(blocks, removed=clean.dropped + clean.cut_away)


def review_export(incident: Incident, extension: str) -> Export:
    """The report as ``extension`` (docx or pdf), with the count of characters left out."""
    report = report_of(incident)
    content = _docx(report) if extension == "docx" else _pdf(report)
    return Export(content, removed=report.removed)


# --- Word ----------------------------------------------------------------------------------


def review_docx(incident: Incident) -> bytes:
    """The report as a .docx."""
    return _docx(report_of(incident))


def _docx(report: Report) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    _docx_fonts(document)
    for block in report.blocks:
        if block.kind == "title":
            document.add_heading(block.text, level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif block.kind in ("subtitle", "note"):
            document.add_paragraph(block.text).alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif block.kind == "heading":
            document.add_heading(block.text, level=1)
        elif block.kind == "para":
            for line in block.text.splitlines() or [""]:
                document.add_paragraph(line)
        else:
            header = block.header
            table = document.add_table(rows=0, cols=len(block.rows[0]))
            table.style = "Table Grid"
            if header:
                cells = table.add_row().cells
                for cell, text in zip(cells, header, strict=True):
                    cell.text = text
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
            for row in block.rows:
                for cell, text in zip(table.add_row().cells, row, strict=True):
                    cell.text = text
            for row in table.rows:
                for cell in row.cells:
                    for paragraph in cell.paragraphs:
                        for run in paragraph.runs:
                            run.font.size = Pt(9)
            if block.kind == "fields":
                for row in table.rows:
                    row.cells[0].paragraphs[0].runs[0].bold = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_fonts(document: Any) -> None:
    """East Asian fonts and the zh-CN language on the defaults and every style used."""
    from docx.oxml.ns import qn

    def east_asian(r_pr: Any, font: str) -> None:
        fonts = r_pr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = r_pr.makeelement(qn("w:rFonts"), {})
            r_pr.insert(0, fonts)
        fonts.attrib.pop(qn("w:eastAsiaTheme"), None)  # a theme font wins over w:eastAsia
        fonts.set(qn("w:eastAsia"), font)
        fonts.set(qn("w:hint"), "eastAsia")
        lang = r_pr.find(qn("w:lang"))
        if lang is None:
            lang = r_pr.makeelement(qn("w:lang"), {})
            r_pr.append(lang)
        lang.set(qn("w:eastAsia"), "zh-CN")

    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        r_pr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if r_pr is not None:
            east_asian(r_pr, DOCX_EAST_ASIAN_FONT)
    for name in ("Normal", "Table Grid", "Title", "Heading 1"):
        style = document.styles[name]
        font = (
            DOCX_HEADING_EAST_ASIAN_FONT if name in ("Title", "Heading 1") else DOCX_EAST_ASIAN_FONT
        )
        east_asian(style.element.get_or_add_rPr(), font)


# --- PDF -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CjkFont:
    regular: str
    bold: str | None
    index: int
    bold_index: int


@lru_cache(maxsize=1)
def pdf_font() -> CjkFont:
    """The CJK font the PDF embeds: $FENGHUO_PDF_FONT, else what fontconfig knows, else
    the known Debian paths."""
    chosen = os.environ.get(PDF_FONT_ENV)
    if chosen:
        if not Path(chosen).is_file():
            raise ExportFontMissing(f"{PDF_FONT_ENV}={chosen}: no such file")
        return CjkFont(chosen, None, 0, 0)
    found = _fontconfig_font()
    if found:
        return found
    for regular, bold, index in PDF_FONT_PATHS:
        if Path(regular).is_file():
            has_bold = bool(bold and Path(bold).is_file())
            return CjkFont(regular, bold if has_bold else None, index, index)
    raise ExportFontMissing(
        "No Chinese (CJK) font to embed in the PDF. Install one (Debian: "
        f"apt-get install fonts-noto-cjk) or point {PDF_FONT_ENV} at a .ttf/.otf/.ttc file."
    )


def _fontconfig_font() -> CjkFont | None:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return None
    try:
        listing = subprocess.run(  # noqa: S603 - a fixed command, no user input
            [
                fc_list,
                ":lang=zh",
                "file",
                "index",
                "family",
                "style",
                "--format=%{file}\t%{index}\t%{family}\t%{style}\n",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    faces: dict[str, dict[str, tuple[str, int]]] = {}
    for line in listing.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0].lower().endswith((".ttf", ".otf", ".ttc")):
            continue
        path, index, families, styles = parts
        for family in families.split(","):
            style = (
                "bold"
                if "Bold" in styles.split(",")
                else ("regular" if {"Regular", "Book", "Medium"} & set(styles.split(",")) else "")
            )
            if style:
                faces.setdefault(family, {}).setdefault(style, (path, int(index or 0)))
    others = sorted(set(faces) - set(PDF_FONT_FAMILIES))  # any other Chinese font, last
    for family in (*PDF_FONT_FAMILIES, *others):
        face = faces.get(family, {})
        if "regular" in face:
            regular, index = face["regular"]
            bold, bold_index = face.get("bold", (None, 0))
            return CjkFont(regular, bold, index, bold_index)
    return None


def review_pdf(incident: Incident) -> bytes:
    """The report as a PDF, with a subset of a CJK font embedded."""
    return _pdf(report_of(incident))


def _pdf(report: Report) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = pdf_font()

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("cjk", size=8)
            self.cell(0, 6, LABELS["page"].format(page=self.page_no()), align="C")

    pdf = Document(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("cjk", "", font.regular, collection_font_number=font.index)
    pdf.add_font(
        "cjk",
        "B",
        font.bold or font.regular,
        collection_font_number=font.bold_index if font.bold else font.index,
    )
    blocks = report.blocks
    pdf.set_title(next(b.text for b in blocks if b.kind == "title"))
    pdf.set_creator("Fenghuo")
    pdf.add_page()
    width = pdf.epw
    bold = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    for block in blocks:
        if block.kind == "title":
            pdf.set_font("cjk", "B", 17)
            pdf.multi_cell(width, 10, block.text, align="C", new_x="LMARGIN", new_y="NEXT")
        elif block.kind in ("subtitle", "note"):
            pdf.set_font("cjk", "", 10 if block.kind == "subtitle" else 9)
            pdf.multi_cell(width, 7, block.text, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "heading":
            if pdf.will_page_break(30):  # no heading alone at the foot of a page
                pdf.add_page()
            pdf.ln(3)
            pdf.set_font("cjk", "B", 13)
            pdf.multi_cell(width, 8, block.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif block.kind == "para":
            _pdf_paragraph(pdf, block.text)
        else:
            pdf.set_font("cjk", "", 9)
            total = sum(block.widths)
            widths = [width * w / total for w in block.widths]
            fields = block.kind == "fields"
            tall = [
                not all(_pdf_fits(pdf, text, w) for text, w in zip(row, widths, strict=True))
                for row in block.rows
            ]
            if not fields and any(tall):
                _pdf_records(pdf, block)
                continue
            rows = [row for row, too_tall in zip(block.rows, tall, strict=True) if not too_tall]
            if rows:
                with pdf.table(
                    col_widths=tuple(widths),
                    line_height=PDF_LINE,
                    padding=PDF_PAD,
                    first_row_as_headings=not fields,
                    headings_style=bold,
                    text_align="LEFT",
                ) as table:
                    if not fields:
                        table.row(block.header)
                    for row in rows:
                        cells = table.row()
                        for i, text in enumerate(row):
                            cells.cell(text, style=bold if fields and i == 0 else None)
                pdf.ln(1)
            for label, text in (
                row for row, too_tall in zip(block.rows, tall, strict=True) if too_tall
            ):
                _pdf_paragraph(pdf, text, label=label)
    return bytes(pdf.output())


PDF_LINE = 5.5  # table line height (mm) at 9 pt
PDF_PAD = 1.2  # table cell padding (mm)


def _pdf_fits(pdf: Any, text: str, width: float) -> bool:
    """Whether ``text`` in a table cell of ``width`` stays under PDF_ROW_MAX_SHARE of the
    page: its lines estimated from the string width (cheap; wrapping at words may add a
    few lines, which the share leaves room for)."""
    usable = max(width - 2 * PDF_PAD, 1.0)
    lines = sum(max(1, math.ceil(pdf.get_string_width(line) / usable)) for line in text.split("\n"))
    return lines * PDF_LINE + 2 * PDF_PAD <= pdf.eph * PDF_ROW_MAX_SHARE


def _pdf_paragraph(pdf: Any, text: str, *, label: str = "") -> None:
    """A paragraph that flows across pages, after its label in bold if any."""
    if label:
        pdf.set_font("cjk", "B", 10.5)
        pdf.multi_cell(pdf.epw, 6.5, label, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", "", 10.5)
    pdf.multi_cell(pdf.epw, 6.5, text, new_x="LMARGIN", new_y="NEXT")


def _pdf_records(pdf: Any, block: Block) -> None:
    """A table too tall for the page, one row after another: each cell as "header：text",
    flowing across pages, a rule between rows."""
    pdf.set_draw_color(180, 180, 180)
    for row in block.rows:
        for header, text in zip(block.header, row, strict=True):
            if text:
                pdf.set_font("cjk", "", 9)
                pdf.multi_cell(
                    pdf.epw, PDF_LINE, f"{header}：{text}", new_x="LMARGIN", new_y="NEXT"
                )
        pdf.ln(1)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
        pdf.ln(1.5)
