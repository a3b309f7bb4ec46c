"""Validation documents (traceability matrix, IQ and OQ reports) written as HTML and as PDF from
one description, each ending with sign-off lines for the people who perform and review it."""

import html
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from radiopharmacy.core.pdf_fonts import FONT, FONT_BOLD, register_fonts

# Words shown for an outcome, and the colour that marks it (HTML and PDF alike).
OUTCOME_COLOURS = {
    "pass": "#1b7f3b",
    "passed": "#1b7f3b",
    "fail": "#b00020",
    "failed": "#b00020",
    "gap": "#b35c00",
    "skipped": "#666666",
    "info": "#333333",
}

SIGNOFF_ROLES = ("Performed by", "Reviewed and approved by")

# A table row must fit on one PDF page: longer cells are cut there (the HTML keeps every line).
PDF_CELL_MAX_LINES = 40

# The few Greek letters and arrows the PDF font (Vera) lacks are spelt out in the PDF.
PDF_SPELLED = str.maketrans({"λ": "lambda", "η": "eta", "σ": "sigma", "Δ": "Delta", "→": "->"})


@dataclass
class Section:
    heading: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    outcome_column: int | None = None  # the column whose words are coloured by outcome
    widths: list[float] | None = None  # relative widths of the columns in the PDF


@dataclass
class Document:
    title: str
    summary: str
    meta: list[tuple[str, str]]
    sections: list[Section] = field(default_factory=list)


def write(document: Document, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write `<stem>.html` and `<stem>.pdf` into out_dir (created); return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"
    html_path.write_text(render_html(document), encoding="utf-8")
    pdf_path.write_bytes(render_pdf(document))
    return html_path, pdf_path


def render_html(document: Document) -> str:
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(document.title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;width:100%;margin-bottom:1.5em}"
        "th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top;"
        "font-size:13px}th{background:#eee}.outcome{font-weight:bold}"
        ".signoff td{height:2.5em}</style></head><body>",
        f"<h1>{e(document.title)}</h1>",
        f"<p>{e(document.summary)}</p>",
        "<table><tbody>",
    ]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in document.meta]
    parts.append("</tbody></table>")
    for section in document.sections:
        parts.append(f"<h2>{e(section.heading)}</h2>")
        if section.note:
            parts.append(f"<p>{e(section.note)}</p>")
        parts.append("<table><thead><tr>")
        parts += [f"<th>{e(c)}</th>" for c in section.columns]
        parts.append("</tr></thead><tbody>")
        for row in section.rows:
            cells = []
            for index, value in enumerate(row):
                if index == section.outcome_column:
                    colour = OUTCOME_COLOURS.get(value, "#222")
                    cells.append(f'<td class="outcome" style="color:{colour}">{e(value)}</td>')
                else:
                    text = e(value).replace("\n", "<br>")
                    cells.append(f"<td>{text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append(
        '<h2>Sign-off</h2><table class="signoff"><thead><tr><th></th><th>Name</th>'
        "<th>Signature</th><th>Date</th></tr></thead><tbody>"
    )
    parts += [f"<tr><th>{e(role)}</th><td></td><td></td><td></td></tr>" for role in SIGNOFF_ROLES]
    parts.append("</tbody></table></body></html>")
    return "\n".join(parts) + "\n"


def render_pdf(document: Document) -> bytes:
    import io

    register_fonts()
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontName=FONT, fontSize=7.5, leading=9)
    head = cell.clone("head", fontName=FONT_BOLD)
    title = styles["Title"].clone("title", fontName=FONT_BOLD)
    heading = styles["Heading2"].clone("heading", fontName=FONT_BOLD)
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=document.title,
        author="Gallium",
    )
    width = pdf.width

    def para(text: str, style=cell) -> Paragraph:
        return Paragraph(html.escape(text.translate(PDF_SPELLED)).replace("\n", "<br/>"), style)

    story = [para(document.title, title), para(document.summary)]
    story.append(Spacer(1, 4 * mm))
    meta = Table(
        [[para(k, head), para(v)] for k, v in document.meta], colWidths=[0.2 * width, 0.8 * width]
    )
    meta.setStyle(_grid())
    story += [meta, Spacer(1, 4 * mm)]
    for section in document.sections:
        story.append(para(section.heading, heading))
        if section.note:
            story.append(para(section.note))
        rows = [[para(c, head) for c in section.columns]]
        for row in section.rows:
            cells = []
            for index, value in enumerate(row):
                if index == section.outcome_column:
                    colour = OUTCOME_COLOURS.get(value, "#222222")
                    cells.append(
                        Paragraph(
                            f'<font color="{colour}"><b>{html.escape(value)}</b></font>', cell
                        )
                    )
                else:
                    cells.append(para(_cut(value)))
            rows.append(cells)
        relative = section.widths or [1] * len(section.columns)
        table = Table(rows, colWidths=[width * w / sum(relative) for w in relative], repeatRows=1)
        table.setStyle(_grid(header=True))
        story += [table, Spacer(1, 4 * mm)]
    story.append(para("Sign-off", heading))
    signoff = Table(
        [[para(""), para("Name", head), para("Signature", head), para("Date", head)]]
        + [[para(role, head), "", "", ""] for role in SIGNOFF_ROLES],
        colWidths=[0.22 * width, 0.3 * width, 0.3 * width, 0.18 * width],
        rowHeights=[None] + [14 * mm] * len(SIGNOFF_ROLES),
    )
    signoff.setStyle(_grid(header=True))
    story.append(signoff)
    pdf.build(story)
    return buffer.getvalue()


def _cut(text: str) -> str:
    lines = text.split("\n")
    if len(lines) <= PDF_CELL_MAX_LINES:
        return text
    shown = lines[: PDF_CELL_MAX_LINES - 1]
    return "\n".join([*shown, f"... {len(lines) - len(shown)} more lines in the HTML report"])


def _grid(header: bool = False) -> TableStyle:
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    return TableStyle(commands)
