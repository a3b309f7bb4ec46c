"""Pure renderer of the periodic product quality review (SPEC §2.9) to PDF bytes (reportlab).

Takes the review as a plain dict (built by `qc.services.quality_review`): the period, the
counts of batches made, released, rejected, recalled, the batch table, the control charts (as
`qc.services.trends.chart_as_dict` gives them), quality events and CAPA, and the generators used
with the patients they served. Imports no Django. Built with `invariant=1`, so the same review
gives the same bytes.
"""

import io
from datetime import datetime, tzinfo
from xml.sax.saxutils import escape

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from radiopharmacy.core.pdf_fonts import FONT, FONT_BOLD, register_fonts

CHART_WIDTH, CHART_HEIGHT = 170 * mm, 62 * mm


def _styles():
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=19),
        "h2": ParagraphStyle(
            "h2", fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3
        ),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5),
    }


def _local(value, zone: tzinfo) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M %Z}"


def _num(value, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _table(rows: list[list], widths: list[float], styles) -> Table:
    cell = styles["cell"]
    data = [[Paragraph(escape(str(c)), cell) for c in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def chart_drawing(chart: dict) -> Drawing:
    """An individuals chart: the points in order, the centre line, the 3-sigma limits and the
    out-of-trend points marked in red."""
    drawing = Drawing(CHART_WIDTH, CHART_HEIGHT)
    drawing.add(
        String(0, CHART_HEIGHT - 10, f"Control chart: {chart['label']}", fontName=FONT_BOLD)
    )
    points = chart["points"]
    values = [(i + 1, p["value"]) for i, p in enumerate(points)]
    if not values:
        drawing.add(String(0, CHART_HEIGHT / 2, "No points in the period.", fontName=FONT))
        return drawing
    n = len(values)
    series = [values]
    colours = [colors.HexColor("#1f5f8b")]
    limits = [
        (chart.get("centre_line"), colors.HexColor("#2e7d32")),
        (chart.get("upper_control_limit"), colors.HexColor("#c62828")),
        (chart.get("lower_control_limit"), colors.HexColor("#c62828")),
    ]
    for level, colour in limits:
        if level is not None:
            series.append([(1, level), (max(n, 2), level)])
            colours.append(colour)
    flagged = [(i + 1, p["value"]) for i, p in enumerate(points) if p["rules"]]
    if flagged:
        series.append(flagged)
        colours.append(colors.red)
    plot = LinePlot()
    plot.x, plot.y = 30, 18
    plot.width, plot.height = CHART_WIDTH - 40, CHART_HEIGHT - 40
    plot.data = series
    for index, colour in enumerate(colours):
        plot.lines[index].strokeColor = colour
        plot.lines[index].strokeWidth = 1.2 if index == 0 else 0.8
    plot.lines[0].symbol = makeMarker("FilledCircle", size=2.5)
    if flagged:
        last = len(series) - 1
        plot.lines[last].strokeWidth = 0  # markers only
        plot.lines[last].strokeColor = None
        plot.lines[last].symbol = makeMarker("FilledDiamond", size=6, fillColor=colors.red)
    everything = [v for s in series for _, v in s]
    low, high = min(everything), max(everything)
    pad = (high - low) * 0.1 or abs(high) * 0.05 or 1.0
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = low - pad, high + pad
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 1, max(n, 2)
    plot.xValueAxis.labels.fontName = plot.yValueAxis.labels.fontName = FONT
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 6.5
    plot.xValueAxis.valueStep = max(1, n // 10)
    drawing.add(plot)
    return drawing


def _chart_section(chart: dict, styles, zone: tzinfo) -> list:
    unit = f" {chart['unit']}" if chart.get("unit") else ""
    if chart.get("centre_line") is None:
        limits = (
            f"No limits: fewer than {chart['baseline_points']} points in the baseline, "
            "or no variation."
            if len(chart["points"]) < chart["baseline_points"] or not chart["points"]
            else "No limits: the baseline shows no variation."
        )
    else:
        limits = (
            f"Centre line {chart['centre_line']:.4g}{unit}, 3-sigma limits "
            f"{chart['lower_control_limit']:.4g} to {chart['upper_control_limit']:.4g}{unit} "
            f"(baseline: the first {chart['baseline_points']} points; sigma "
            f"{chart['sigma']:.3g}). Rules judged: {', '.join(map(str, chart['rules']))}."
        )
    story = [
        Paragraph(escape(chart.get("title") or chart["label"]), styles["h2"]),
        Paragraph(escape(f"{len(chart['points'])} points. {limits}"), styles["body"]),
        chart_drawing(chart),
    ]
    if chart["violations"]:
        rows = [["Time", "Record", "Value", "Rule"]] + [
            [
                _local(v["at"], zone),
                v["batch_number"] or v["record"],
                f"{v['value']:.4g}",
                f"{v['rule']}: {v['text']}",
            ]
            for v in chart["violations"]
        ]
        story.append(_table(rows, [32 * mm, 50 * mm, 18 * mm, 70 * mm], styles))
    else:
        story.append(Paragraph("No out-of-trend point.", styles["body"]))
    return [KeepTogether(story[:3]), *story[3:]]


def _story(review: dict, zone: tzinfo) -> list:
    styles = _styles()
    body = styles["body"]
    summary = review["summary"]
    story = [
        Paragraph(escape(f"Product quality review: {review['product']}"), styles["title"]),
        Paragraph(
            escape(
                f"Period {review['period_from']} to {review['period_to']} (site dates, both "
                f"included). Generated {_local(review['generated_at'], zone)}."
            ),
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph("Batches", styles["h2"]),
        _table(
            [
                ["Made", "Released", "Rejected", "Recalled", "On hold", "Awaiting QC"],
                [
                    summary["made"],
                    summary["released"],
                    summary["rejected"],
                    summary["recalled"],
                    summary["on_hold"],
                    summary["qc_pending"],
                ],
            ],
            [28 * mm] * 6,
            styles,
        ),
        Spacer(1, 2 * mm),
    ]
    rows = [["Batch", "EOS", "Status", "Yield %", "RCP %", "Generator"]] + [
        [
            b["batch_number"],
            _local(b["eos_at"], zone),
            b["status"],
            _num(b["yield_percent"]),
            _num(b["rcp_percent"]),
            b["generator"],
        ]
        for b in review["batches"]
    ]
    if review["batches"]:
        story.append(_table(rows, [48 * mm, 32 * mm, 22 * mm, 16 * mm, 16 * mm, 40 * mm], styles))
    else:
        story.append(Paragraph("No batch in the period.", body))

    story.append(Paragraph("Yields and QC trends", styles["h2"]))
    for chart in review["charts"]:
        story.extend(_chart_section(chart, styles, zone))

    story.append(Paragraph("Quality events", styles["h2"]))
    if review["events"]:
        rows = [["#", "Kind", "Batch", "Opened", "Status", "Conclusion", "What"]] + [
            [
                e["id"],
                e["kind"],
                e["batch_number"],
                _local(e["opened_at"], zone),
                e["status"],
                e["conclusion"],
                e["description"],
            ]
            for e in review["events"]
        ]
        widths = [8 * mm, 30 * mm, 40 * mm, 26 * mm, 18 * mm, 22 * mm, 30 * mm]
        story.append(_table(rows, widths, styles))
    else:
        story.append(Paragraph("No quality event was opened in the period.", body))
    story.append(Paragraph("CAPA", styles["h2"]))
    if review["capas"]:
        rows = [["#", "Event", "Action", "Owner", "Due", "Status"]] + [
            [c["id"], c["event"], c["description"], c["owner"], c["due_on"], c["status"]]
            for c in review["capas"]
        ]
        story.append(_table(rows, [8 * mm, 14 * mm, 82 * mm, 26 * mm, 20 * mm, 20 * mm], styles))
    else:
        story.append(Paragraph("No CAPA belongs to the period's quality events.", body))

    story.append(Paragraph("Generators used and patients served", styles["h2"]))
    rows = [["Generator", "Batches", "Patients served"]] + [
        [g["generator"], g["batches"], "" if g["patients"] is None else g["patients"]]
        for g in review["generators"]
    ]
    if review["generators"]:
        story.append(_table(rows, [90 * mm, 30 * mm, 50 * mm], styles))
    else:
        story.append(Paragraph("No generator was used in the period.", body))
    for note in review.get("notes", []):
        story.append(Paragraph(escape(note), body))
    return story


def render_review_pdf(review: dict, *, zone: tzinfo) -> bytes:
    """The quality review PDF of `review` (see the module's docstring). Same dict, same bytes."""
    register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Product quality review {review['period_from']} to {review['period_to']}",
        author="Gallium",
        invariant=1,
    )

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(
            18 * mm,
            9 * mm,
            f"Product quality review {review['period_from']} to {review['period_to']} · "
            f"page {document.page}",
        )
        canvas.restoreState()

    doc.build(_story(review, zone), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
