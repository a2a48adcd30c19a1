"""A4 PDF rendering of placement documents (conventions, attestation, evaluation) with fpdf2.

The service (crm/services/paperwork.py) turns the records into a :class:`Document`
(plain strings only); this module lays it out. Every value is written with
``multi_cell`` so long names and addresses wrap inside their column instead of
overflowing, and a row that would not fit at the bottom of a page moves to the next.

Font: DejaVu Sans (Unicode TrueType, embedded and subset) from the Debian package
``fonts-dejavu-core``; when it is missing, the PDF core font Helvetica is used with the
text folded to Latin-1 (French accents are Latin-1; only œ, ’, … and a few signs are
approximated). See docs/PAPERWORK.md.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

FONT_DIRS = (
    os.environ.get("PASSERELLE_FONT_DIR", ""),
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
)
MARGIN = 15.0
LABEL_WIDTH = 58.0
LINE = 5.0


@dataclass
class Row:
    label: str
    value: str


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    text: str | None = None  # a paragraph instead of (or before) rows


@dataclass
class SignatureBox:
    role: str  # "Le bénéficiaire"
    name: str  # who signs ("" when unknown)
    signed_on: str | None = None  # "12/01/2026" once recorded


@dataclass
class Document:
    title: str
    subtitle: str
    school_name: str
    reference: str  # placement reference, printed in the footer
    sections: list[Section]
    signatures: list[SignatureBox] = field(default_factory=list)
    logo: bytes | None = None


def font_path() -> Path | None:
    for folder in FONT_DIRS:
        if folder and (Path(folder) / "DejaVuSans.ttf").is_file():
            return Path(folder)
    return None


_LATIN1_FOLD = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "–": "-",
        "—": "-",
        "\u202f": " ",
        "€": "EUR",
    }
)


def render(doc: Document) -> bytes:
    """The document as PDF bytes (A4 portrait)."""
    from fpdf import FPDF

    fonts = font_path()

    class _PDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(family, "", 7.5)
            self.set_text_color(110)
            self.cell(
                0,
                4,
                clean(
                    f"{doc.school_name} — {doc.title} — réf. {doc.reference} — page {self.page_no()}/{{nb}}"
                ),
                align="C",
            )
            self.set_text_color(0)

    pdf = _PDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(doc.title)
    pdf.set_creator("Passerelle")
    if fonts is not None:
        family = "DejaVu"
        pdf.add_font(family, "", str(fonts / "DejaVuSans.ttf"))
        pdf.add_font(family, "B", str(fonts / "DejaVuSans-Bold.ttf"))

        def clean(text: str) -> str:
            return text

    else:  # no DejaVu on this machine: PDF core font, Latin-1 text
        family = "Helvetica"

        def clean(text: str) -> str:
            return text.translate(_LATIN1_FOLD).encode("latin-1", "replace").decode("latin-1")

    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    # Header: logo (optional) and school name, then the title.
    top = pdf.get_y()
    text_x = MARGIN
    if doc.logo:
        try:
            pdf.image(io.BytesIO(doc.logo), x=MARGIN, y=top, h=16)
            text_x = MARGIN + 40
        except Exception:  # noqa: BLE001 - an unreadable logo never blocks a document
            text_x = MARGIN
    pdf.set_xy(text_x, top)
    pdf.set_font(family, "B", 11)
    pdf.multi_cell(width - (text_x - MARGIN), 5.5, clean(doc.school_name), new_x="LMARGIN")
    pdf.set_y(max(pdf.get_y(), top + (18 if doc.logo else 0)) + 3)
    pdf.set_font(family, "B", 15)
    pdf.multi_cell(width, 7, clean(doc.title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9.5)
    pdf.set_text_color(70)
    pdf.multi_cell(width, 5, clean(doc.subtitle), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(3)

    def ensure_room(height: float) -> None:
        if pdf.get_y() + height > pdf.h - 18:
            pdf.add_page()

    for section in doc.sections:
        ensure_room(16)
        if section.title:
            pdf.set_font(family, "B", 10.5)
            pdf.set_fill_color(228, 234, 242)
            pdf.multi_cell(
                width, 6.5, clean(section.title), fill=True, new_x="LMARGIN", new_y="NEXT"
            )
            pdf.ln(1)
        if section.text:
            pdf.set_font(family, "", 9)
            pdf.multi_cell(width, 4.6, clean(section.text), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        for row in section.rows:
            label, value = clean(row.label), clean(row.value or "")
            pdf.set_font(family, "B", 9)
            label_lines = pdf.multi_cell(
                LABEL_WIDTH - 2, LINE, label, align="L", dry_run=True, output="LINES"
            )
            pdf.set_font(family, "", 9)
            value_lines = pdf.multi_cell(
                width - LABEL_WIDTH, LINE, value, align="L", dry_run=True, output="LINES"
            )
            height = LINE * max(len(label_lines), len(value_lines), 1)
            ensure_room(height)
            y = pdf.get_y()
            pdf.set_font(family, "B", 9)
            pdf.set_xy(MARGIN, y)
            pdf.multi_cell(LABEL_WIDTH - 2, LINE, label, align="L")
            pdf.set_font(family, "", 9)
            pdf.set_xy(MARGIN + LABEL_WIDTH, y)
            pdf.multi_cell(width - LABEL_WIDTH, LINE, value, align="L")
            pdf.set_draw_color(220)
            pdf.line(MARGIN, y + height + 0.6, MARGIN + width, y + height + 0.6)
            pdf.set_draw_color(0)
            pdf.set_xy(MARGIN, y + height + 1.2)
        pdf.ln(2)

    if doc.signatures:
        columns = 2
        box_w = (width - 4) / columns
        box_h = 34.0
        ensure_room(10 + box_h)
        pdf.set_font(family, "B", 10.5)
        pdf.set_fill_color(228, 234, 242)
        pdf.multi_cell(width, 6.5, clean("Signatures"), fill=True, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for i, box in enumerate(doc.signatures):
            col = i % columns
            if col == 0:
                ensure_room(box_h + 2)
                y = pdf.get_y()
            x = MARGIN + col * (box_w + 4)
            pdf.rect(x, y, box_w, box_h)
            pdf.set_xy(x + 2, y + 1.5)
            pdf.set_font(family, "B", 9)
            pdf.multi_cell(box_w - 4, 4.5, clean(box.role), new_x="LEFT", new_y="NEXT")
            pdf.set_font(family, "", 9)
            if box.name:
                pdf.multi_cell(
                    box_w - 4, 4.5, clean(box.name), align="L", new_x="LEFT", new_y="NEXT"
                )
            when = f"Signé le {box.signed_on}" if box.signed_on else "Date : ____/____/________"
            pdf.multi_cell(box_w - 4, 4.5, clean(when), new_x="LEFT", new_y="NEXT")
            pdf.multi_cell(box_w - 4, 4.5, clean("Signature :"), new_x="LEFT", new_y="NEXT")
            if col == columns - 1 or i == len(doc.signatures) - 1:
                pdf.set_xy(MARGIN, y + box_h + 3)
    return bytes(pdf.output())
