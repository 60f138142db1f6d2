"""Evidence files attached to a task's progress or outcome.

A file is accepted by what it is, not by its name: its first bytes (and for Office files
their structure) must be those of an image (PNG, JPEG, GIF, WebP), a PDF, a Word or Excel
document (.docx/.xlsx, or the older .doc/.xls), or plain text (UTF-8 or GB18030, no NULs,
not markup), and it may not be larger than ``FENGHUO_EVIDENCE_MAX_BYTES``. It is stored
under its own name with the extension of what it is, and served only through
``TaskEvidenceApi``: as an attachment, with the type found here and ``nosniff``, so a
browser never renders it as a page of Fenghuo.
"""

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from core.errors import InvalidInput


@dataclass(frozen=True)
class Kind:
    content_type: str
    extension: str


PNG = Kind("image/png", ".png")
JPEG = Kind("image/jpeg", ".jpg")
GIF = Kind("image/gif", ".gif")
WEBP = Kind("image/webp", ".webp")
PDF = Kind("application/pdf", ".pdf")
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
DOC = Kind("application/msword", ".doc")
XLS = Kind("application/vnd.ms-excel", ".xls")
TEXT_UTF8 = Kind("text/plain; charset=utf-8", ".txt")
TEXT_GB18030 = Kind("text/plain; charset=gb18030", ".txt")

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A compound file's directory entry: a UTF-16 name padded to 64 bytes, the name's length
# in bytes with its terminator, and the entry type 2 (a stream). Word keeps its text in
# "WordDocument", Excel in "Workbook" (or "Book" before Excel 97).
OLE2_STREAMS = {"WordDocument": DOC, "Workbook": XLS, "Book": XLS}
CHUNK = 1 << 16
# Control characters a plain text file does not hold (tab, line feed, form feed and
# carriage return it may).
TEXT_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def _ole2_entry(name: str) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return encoded.ljust(64, b"\0") + len(encoded).to_bytes(2, "little") + b"\x02"


OLE2_ENTRIES = {_ole2_entry(name): kind for name, kind in OLE2_STREAMS.items()}


def sniff(upload: Any) -> Kind | None:
    """What the file is, read from its content; None when it is none of the kinds
    allowed. Reads at most the whole file (which the caller has bounded in size)."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head.startswith(b"\xff\xd8\xff"):
            return JPEG
        if head.startswith((b"GIF87a", b"GIF89a")):
            return GIF
        if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            return WEBP
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"PK\x03\x04"):
            return _office_open_xml(upload)
        if head.startswith(OLE2_MAGIC):
            return _ole2(upload)
        return _plain_text(upload)
    finally:
        upload.seek(0)


def _office_open_xml(upload: Any) -> Kind | None:
    """A .docx or .xlsx: a zip with the parts of Word (``word/``) or Excel (``xl/``);
    only its directory is read. Macro-enabled documents are not evidence."""
    try:
        names = zipfile.ZipFile(upload).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names or any(n.endswith("vbaProject.bin") for n in names):
        return None
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def _ole2(upload: Any) -> Kind | None:
    """A .doc or .xls: a compound file with a Word or Excel stream in its directory
    (entries are 128 bytes, aligned, after the 512-byte header)."""
    data = upload.read()
    for entry, kind in OLE2_ENTRIES.items():
        at = data.find(entry, 512)
        while at != -1:
            if at % 128 == 0:
                return kind
            at = data.find(entry, at + 1)
    return None


def _plain_text(upload: Any) -> Kind | None:
    """Text in UTF-8 (a BOM allowed) or else GB18030, without NULs or other control
    characters, and not markup (HTML, SVG, XML: its first character is not ``<``)."""
    for kind, encoding in ((TEXT_UTF8, "utf-8-sig"), (TEXT_GB18030, "gb18030")):
        upload.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        start = ""
        try:
            while chunk := upload.read(CHUNK):
                if chunk.translate(None, TEXT_CONTROLS) != chunk:
                    return None
                text = decoder.decode(chunk)
                if len(start) < 64:
                    start += text[:64]
            start += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if not start.strip():
            return None
        return None if start.lstrip().startswith("<") else kind
    return None


def evidence_check(upload: Any) -> Any:
    """The upload, renamed after what it is; refused (InvalidInput on ``attachment``,
    naming the limit or the kinds allowed) when it is empty, too large or of another
    kind."""
    limit = settings.FENGHUO_EVIDENCE_MAX_BYTES
    if not upload.size:
        problem = _("The file is empty.")
    elif upload.size > limit:
        problem = _("The file is larger than %(max)s: attach at most %(max)s.") % {
            "max": filesizeformat(limit)
        }
    else:
        kind = sniff(upload)
        if kind is not None:
            stem = PurePath(str(upload.name or "")).stem.strip()[:80] or "evidence"
            upload.name = f"{stem}{kind.extension}"
            return upload
        problem = _(
            "Only images (PNG, JPEG, GIF, WebP), PDF, Word, Excel and plain text "
            "files can be attached; this file is none of them."
        )
    raise InvalidInput(field_errors={"attachment": [problem]})


def evidence_kind(field_file: Any) -> Kind:
    """The kind of a stored evidence file, read again from its content (the name on
    disk was chosen by us, but a file stored before the checks may be anything)."""
    with field_file.open("rb") as handle:
        return sniff(handle) or Kind("application/octet-stream", "")
