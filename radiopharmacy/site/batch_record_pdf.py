"""The batch record as a PDF an auditor files (UI.md "Printouts"): the record's fields, the QC
table with limits, the quality events, the signatures (printed name, date and time with the
zone, meaning) and the audit trail of the batch, with who printed it and when.

Built from the live batch record (`qc.services.release.batch_record`, the dict a qualified person
signs) read through `qc.record` like the certificate, and the page's audit entries
(`audit_trail.batch_audit_events`): one source for the page, the certificate and this printout.
Not a signed document: the certificate is (its SHA-256 is printed here).
"""

import io
from datetime import datetime
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views import View
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from qc.models import BatchSignature, Certificate
from qc.record import event_rows, qc_rows
from qc.services.release import batch_record
from radiopharmacy.core.pdf_fonts import FONT, FONT_BOLD, register_fonts
from radiopharmacy.core.permissions import RoleRequiredMixin
from radiopharmacy.models import Batch
from radiopharmacy.site.audit_trail import batch_audit_events

WIDTH = A4[0] - 30 * mm


def _when(value) -> str:
    """A time in the site's zone with the zone, month by name: "1 Dec 2026 10:31 CET"."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = timezone.localtime(value)
    return f"{local.day} {local:%b %Y %H:%M %Z}"


def _num(value, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{' ' + unit if unit else ''}"


def _person(value) -> str:
    if isinstance(value, dict):
        return value.get("name") or value.get("username") or "—"
    return str(value or "—")


class _Styles:
    def __init__(self):
        self.base = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=10.5)
        self.small = ParagraphStyle("small", parent=self.base, fontSize=7.5, leading=9)
        self.title = ParagraphStyle("title", parent=self.base, fontName=FONT_BOLD, fontSize=15)
        self.title.leading = 19
        self.h2 = ParagraphStyle(
            "h2", parent=self.base, fontName=FONT_BOLD, fontSize=10.5, leading=13, spaceBefore=8
        )


def _table(styles, rows, widths, *, header=True) -> Table:
    cells = [[Paragraph(escape(str(c)), styles.base) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ccd2")),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6edf0")))
    table.setStyle(TableStyle(style))
    return table


def render_batch_record_pdf(
    *, record: dict, status: str, signatures, certificate, audit_events, printed_by: str, now
) -> bytes:
    """The PDF of a batch record (`record` as `qc.services.release.batch_record` builds it)."""
    register_fonts()
    s = _Styles()
    b = record["batch"]
    story = [
        Paragraph(escape(f"Batch record {b['batch_number']}"), s.title),
        Paragraph(
            escape(
                f"{settings.SITE_NAME} · {b['product']['name']} · status {status} · printed "
                f"{_when(now)} by {printed_by} · times in {settings.SITE_TIME_ZONE}"
            ),
            s.small,
        ),
        Spacer(1, 4 * mm),
        Paragraph("Synthesis", s.h2),
    ]
    fields = [
        ("Batch number", b["batch_number"]),
        ("Product", b["product"]["name"]),
        ("Method", b["method"]),
        ("Module", f"{b['module_name'] or '—'} {b['module_serial'] or ''}".strip()),
        ("Precursor lot", b["precursor_lot"] or "—"),
        ("Precursor mass", _num(b["precursor_mass_ug"], 1, "µg")),
        ("Kit lot", b["kit_lot"] or "—"),
        (
            "Reagent lots",
            ", ".join(f"{r['name']} {r['lot']}" for r in b["reagent_lots"] or []) or "—",
        ),
        ("Operator", _person(b["operator"])),
        ("Started", _when(b["started_at"])),
        ("End of synthesis", _when(b["eos_at"])),
        ("Measured activity", f"{_num(b['activity_mbq'], 1, 'MBq')} at {_when(b['measured_at'])}"),
        ("Activity at EOS", _num(b["activity_at_eos_mbq"], 1, "MBq")),
        ("Concentration at EOS", _num(b["concentration_at_eos_mbq_per_ml"], 2, "MBq/mL")),
        ("Volume", _num(b["volume_ml"], 2, "mL")),
        ("Expiry", _when(b["expires_at"])),
        ("Yield, decay-corrected", _num(b["yield_percent"], 1, "%")),
        ("Yield, not corrected", _num(b["yield_uncorrected_percent"], 1, "%")),
    ]
    story.append(_table(s, fields, [45 * mm, WIDTH - 45 * mm], header=False))
    story.append(Paragraph("Elutions used", s.h2))
    rows = [("Eluted", "Generator", "Activity at elution", "Volume", "Eluent lot")] + [
        (
            _when(e["eluted_at"]),
            f"{e['generator']['manufacturer']} {e['generator']['serial_number']}",
            _num(e["activity_at_elution_mbq"], 1, "MBq"),
            _num(e["volume_ml"], 2, "mL"),
            e["eluent_lot"] or "—",
        )
        for e in record.get("elutions", [])
    ]
    story.append(_table(s, rows, [34 * mm, 50 * mm, 35 * mm, 22 * mm, WIDTH - 141 * mm]))
    spec = record.get("specification") or {}
    version = f" v{spec['version']}" if spec.get("version") else ""
    story.append(Paragraph(escape(f"QC against specification{version}"), s.h2))
    qc = [("Test", "Stage", "Limit", "Result", "Outcome")] + [
        (r["name"], r["stage"].replace("_", "-"), r["limit"] or "—", r["value"], r["outcome"])
        for r in qc_rows(record)
    ]
    story.append(_table(s, qc, [50 * mm, 22 * mm, 45 * mm, 40 * mm, WIDTH - 157 * mm]))
    events = event_rows(record)
    story.append(Paragraph("Quality events", s.h2))
    if events:
        rows = [("Event", "Kind", "Conclusion", "Closed by")] + [
            (f"#{e['id']} {e['description']}", e["kind"], e["conclusion"], e["closed_by"] or "—")
            for e in events
        ]
        story.append(_table(s, rows, [70 * mm, 35 * mm, 45 * mm, WIDTH - 150 * mm]))
    else:
        story.append(Paragraph("None.", s.base))
    story.append(Paragraph("Signatures", s.h2))
    if signatures:
        rows = [("Meaning", "Printed name", "Date and time", "Comment")] + [
            (sig.meaning, sig.printed_name, _when(sig.signed_at), sig.comment or "—")
            for sig in signatures
        ]
        story.append(_table(s, rows, [45 * mm, 40 * mm, 40 * mm, WIDTH - 125 * mm]))
        if certificate is not None:
            story.append(
                Paragraph(
                    escape(
                        f"Certificate {certificate.certificate_number}, PDF SHA-256 "
                        f"{certificate.sha256}"
                    ),
                    s.small,
                )
            )
    else:
        story.append(Paragraph("Not signed yet: no release or rejection.", s.base))
    story.append(Paragraph("Audit trail", s.h2))
    rows = [("#", "Time", "User", "Action", "Record", "Reason")] + [
        (
            e.pk,
            _when(e.occurred_at),
            e.username or "system",
            e.action,
            f"{e.object_type} {e.object_id}",
            e.reason or "",
        )
        for e in audit_events
    ]
    story.append(_table(s, rows, [10 * mm, 34 * mm, 25 * mm, 35 * mm, 42 * mm, WIDTH - 146 * mm]))

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(15 * mm, 8 * mm, f"Batch record {b['batch_number']} · page {doc.page}")
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"printed {_when(now)}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"Batch record {b['batch_number']}",
        author=settings.SITE_NAME,
        creator="Gallium",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def batch_record_pdf(batch: Batch, *, printed_by) -> bytes:
    """The printout of `batch`'s record now, printed by the user `printed_by` (the page's
    download and the inspector export)."""
    return render_batch_record_pdf(
        record=batch_record(batch),
        status=batch.get_status_display(),
        signatures=list(BatchSignature.objects.filter(batch=batch).order_by("signed_at")),
        certificate=Certificate.objects.filter(batch=batch).first(),
        audit_events=batch_audit_events(batch),
        printed_by=printed_by.get_full_name() or printed_by.username,
        now=timezone.now(),
    )


class BatchRecordPdfView(RoleRequiredMixin, View):
    """GET: the batch record printout (PDF), for everyone who may read the batch record."""

    permission_resource = "batches"

    def get(self, request, pk):
        batch = get_object_or_404(Batch.objects.select_related("product"), pk=pk)
        pdf = batch_record_pdf(batch, printed_by=request.user)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="batch-record-{batch.batch_number}.pdf"'
        )
        return response
