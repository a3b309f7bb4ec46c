"""The batch release certificate as a PDF (SPEC §2.5), rendered with reportlab.

Pure: it takes the signed batch record (a dict), the signature's fields, the certificate number,
the site (name, address, licence), the site's address on the web and the site's zone, and imports
neither Django nor the QC services (`qc.services.certificates` gathers the values, has the PDF
signed (PAdES, `qc.certificate_signing`) and stores the result).

Byte-identical renders: the document is built with `invariant=1` (fixed document id, no
clock) and only from what was signed: the canonical batch record stored on the signature, the
signature itself and the certificate number. Its creation and modification dates are set to the
signing time (invariant mode alone would date it 1 Jan 2000). Nothing that changes after the
release (a post-release result, a recall, the clock) reaches the PDF, so a second render of the
same release gives the same bytes.

Speed: the QR code is encoded once (`radiopharmacy.qr`) and drawn straight on the canvas as one
path of its dark runs (reportlab's QR widget encodes it twice, once to measure, and builds a
validated shape object per run; that was three quarters of the render time, measured with
`make bench-certificate`, which `--profile` shows).

The hash a certificate can carry: a PDF cannot contain its own SHA-256 (writing the hash into the
file changes the hash). So the certificate prints, and its QR code encodes, the SHA-256 of the
signed batch record (`BatchSignature.record_sha256`) with the verification URL
`<site URL>/verify/<record sha256>`; the SHA-256 of the PDF file is stored in the database when it
is rendered and shown on the verification page. `/verify/<code>` accepts either hash, or the
certificate number.
"""

import io
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from qc.record import event_rows, qc_rows
from radiopharmacy import qr
from radiopharmacy.core.pdf_fonts import FONT, FONT_BOLD, register_fonts
from radiopharmacy.qr import QR_BORDER_MODULES

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Signature:
    """What the certificate prints of the release signature."""

    meaning: str
    printed_name: str
    signed_at: datetime
    comment: str
    record_sha256: str


# The role the signer signs in, printed beside their name (SPEC §2.5).
SIGNER_ROLE = "Qualified Person"


@dataclass(frozen=True)
class Site:
    """Who issues the certificate: the manufacturing site (site settings)."""

    name: str
    address: str
    licence: str


def verification_url(site_url: str, code: str) -> str:
    return f"{site_url}/verify/{code}"


def site_datetime(value: datetime | str, zone: tzinfo) -> str:
    """A time in the site's zone with the zone: "24 Nov 2026 08:31 CET" (locale-independent)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(zone)
    return f"{local.day:02d} {MONTHS[local.month - 1]} {local.year} {local:%H:%M %Z}"


def signing_datetime(value: datetime, zone: tzinfo) -> str:
    """A signing time to the second in the site's zone with its UTC offset, and in UTC:
    "2026-12-01 14:03:27 +01:00 (13:03:27 UTC)"; the UTC date is added when it differs."""
    local, utc = value.astimezone(zone), value.astimezone(UTC)
    z = local.strftime("%z") or "+0000"
    offset = f"{z[:3]}:{z[3:5]}"
    in_utc = f"{utc:%H:%M:%S} UTC" if utc.date() == local.date() else f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {offset} ({in_utc})"


def pdf_date(value: datetime) -> str:
    """A PDF date string (ISO 32000 §7.9.4) of an aware datetime, in UTC: D:20261124080000Z."""
    return f"D:{value.astimezone(UTC):%Y%m%d%H%M%S}Z"


def _num(value, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


class _Qr(Flowable):
    """A QR code of `data`, `size` points square: its dark runs filled as one path."""

    def __init__(self, data: str, size: float):
        super().__init__()
        self.modules = qr.qr_modules(data)
        self.size = size
        self.width = self.height = size

    def draw(self):
        count = len(self.modules)
        box = self.size / (count + 2 * QR_BORDER_MODULES)
        path = self.canv.beginPath()
        for r, row in enumerate(self.modules):
            y = self.size - (r + QR_BORDER_MODULES + 1) * box
            c = 0
            for dark, run in itertools.groupby(row):
                n = len(list(run))
                if dark:
                    path.rect((c + QR_BORDER_MODULES) * box, y, n * box, box)
                c += n
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5, alignment=TA_LEFT)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=16, leading=20),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=FONT_BOLD, fontSize=10.5, leading=13, spaceBefore=5
        ),
        "bold": ParagraphStyle("bold", parent=base, fontName=FONT_BOLD),
    }


def _table(rows, widths, *, header: bool = True, zebra: bool = True) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8ccd2")),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if header:
        style += [
            ("FONT", (0, 0), (-1, 0), FONT_BOLD, 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ebef")),
        ]
    table.setStyle(TableStyle(style))
    return table


OUTCOME_COLOURS = {
    "pass": colors.HexColor("#1b6e35"),
    "fail": colors.HexColor("#a61b1b"),
    "pending": colors.HexColor("#8a5a00"),
}


def _story(
    record: dict, signature: Signature, number: str, verify: str, zone: tzinfo, site: Site
) -> list:
    s = _styles()
    b = record["batch"]
    p = lambda text, style="cell": Paragraph(escape(str(text)), s[style])  # noqa: E731
    spec = record.get("specification")
    spec_text = str(spec["version"]) if spec else "none in force"

    header = Table(
        [
            [
                [
                    Paragraph("Batch release certificate", s["title"]),
                    Spacer(1, 2),
                    p(site.name, "bold"),
                    *([p(site.address)] if site.address else []),
                    p(f"Manufacturing authorisation (licence) number: {site.licence or '—'}"),
                    Spacer(1, 2),
                    p(b["product"]["name"], "bold"),
                    p(f"Batch number {b['batch_number']}", "bold"),
                    p(f"Certificate number {number}"),
                    p(f"Specification version: {spec_text}"),
                ],
                _Qr(verify, 28 * mm),
            ]
        ],
        colWidths=[144 * mm, 30 * mm],
        hAlign="LEFT",
    )
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))

    method = (
        f"Automated module {b['module_name']} {b['module_serial']}".strip()
        if b["method"] == "automated"
        else f"Cold kit, lot {b['kit_lot']}"
    )
    facts = [
        [
            "End of synthesis (EOS)",
            p(site_datetime(b["eos_at"], zone)),
            "Expiry",
            p(site_datetime(b["expires_at"], zone)),
        ],
        [
            "Activity at EOS",
            p(f"{_num(b['activity_at_eos_mbq'])} MBq"),
            "Concentration at EOS",
            p(f"{_num(b['concentration_at_eos_mbq_per_ml'])} MBq/mL"),
        ],
        ["Volume", p(f"{_num(b['volume_ml'], 2)} mL"), "Reference time", p("EOS")],
        ["Synthesis", p(method), "Operator", p(b["operator"]["name"])],
    ]

    elution_rows = [["Generator", "Serial number", "Eluted", "Activity at elution", "Eluent lot"]]
    for e in record["elutions"]:
        g = e["generator"]
        elution_rows.append(
            [
                p(f"{g['manufacturer']} {g['model']}".strip()),
                p(g["serial_number"]),
                p(site_datetime(e["eluted_at"], zone)),
                p(f"{_num(e['activity_at_elution_mbq'])} MBq"),
                p(e["eluent_lot"] or "—"),
            ]
        )

    lots = [["Material", "Lot"]]
    if b["precursor_lot"] or b["precursor_mass_ug"] is not None:
        mass = f" ({_num(b['precursor_mass_ug'])} µg)" if b["precursor_mass_ug"] is not None else ""
        lots.append(["Precursor (DOTATATE)", p(f"{b['precursor_lot'] or '—'}{mass}")])
    if b["kit_lot"]:
        lots.append(["Cold kit", p(b["kit_lot"])])
    for item in b["reagent_lots"] or []:
        lots.append([p(item.get("name", "")), p(item.get("lot", ""))])
    for e in record["elutions"]:
        if e["eluent_lot"]:
            lots.append(["Eluent (HCl)", p(e["eluent_lot"])])

    qc = [["Test", "Stage", "Result", "Limit", "Outcome"]]
    qc_style = []
    for i, row in enumerate(qc_rows(record), start=1):
        stage = "release" if row["stage"] == "release" else "post-release"
        qc.append([p(row["name"]), stage, p(row["value"]), p(row["limit"]), row["outcome"]])
        colour = OUTCOME_COLOURS.get(row["outcome"])
        if colour is not None:
            qc_style.append(("TEXTCOLOR", (4, i), (4, i), colour))
            qc_style.append(("FONT", (4, i), (4, i), FONT_BOLD, 8.5))
    qc_table = _table(qc, [50 * mm, 22 * mm, 30 * mm, 54 * mm, 18 * mm])
    qc_table.setStyle(TableStyle(qc_style))

    events = [["Quality event", "Conclusion", "Closed by (signature)"]]
    for row in event_rows(record):
        closed = (
            f"{row['closed_by']}, {site_datetime(row['closed_at'], zone)}: {row['meaning']}"
            if row["closed_at"]
            else "—"
        )
        events.append(
            [
                p(f"{row['kind']} #{row['id']}: {row['description']}"),
                p(f"{row['conclusion']}. {row['note']}".strip()),
                p(closed),
            ]
        )
    if len(events) == 1:
        events_part = [p("No quality event was recorded on this batch.", "small")]
    else:
        events_part = [_table(events, [66 * mm, 56 * mm, 52 * mm])]

    sign = [
        ["Meaning", p(signature.meaning, "bold")],
        ["Signed by", p(f"{signature.printed_name}, {SIGNER_ROLE}", "bold")],
        ["Date and time", p(signing_datetime(signature.signed_at, zone))],
    ]
    if signature.comment:
        sign.append(["Comment", p(signature.comment)])
    sign.append(["Signature", p("Electronic signature with re-entered password (21 CFR 11.200)")])
    sign.append(
        [
            "Digital signature",
            p(f"This PDF is signed (PAdES) with the certificate of {site.name}."),
        ]
    )

    story = [
        header,
        Spacer(1, 2 * mm),
        Paragraph("Batch", s["h2"]),
        _table(facts, [36 * mm, 51 * mm, 36 * mm, 51 * mm], header=False),
        Paragraph("Elution and generator", s["h2"]),
        _table(elution_rows, [42 * mm, 30 * mm, 38 * mm, 34 * mm, 30 * mm]),
        Paragraph("Materials", s["h2"]),
        _table(lots, [60 * mm, 114 * mm]),
        Paragraph("Quality control", s["h2"]),
        qc_table,
        Spacer(1, 1.5 * mm),
        p(
            "Post-release tests (sterility, Ge-68 breakthrough) are completed after release "
            "and are marked pending here.",
            "small",
        ),
        Paragraph("Quality events", s["h2"]),
        *events_part,
        KeepTogether(
            [
                Paragraph("Release", s["h2"]),
                _table(sign, [50 * mm, 124 * mm], header=False),
                Paragraph("Verification", s["h2"]),
                p(f"Verify this certificate at {verify}", "small"),
                p(
                    "Verification code (SHA-256 of the signed batch record): "
                    f"{signature.record_sha256}",
                    "small",
                ),
                p(
                    "The SHA-256 of this PDF file is recorded when it is issued and shown on "
                    "the verification page; a PDF reader or pyHanko checks its digital "
                    "signature offline.",
                    "small",
                ),
            ]
        ),
    ]
    return story


def render_pdf(
    record: dict,
    signature: Signature,
    *,
    number: str,
    site_url: str,
    zone: tzinfo,
    site: Site,
) -> bytes:
    """The certificate PDF of a signed record and its signature. Same values, same bytes.

    `record` is the record as signed (its hash already checked), `site_url` the site's address
    without a trailing slash (the QR code and the printed verification address), `zone` the
    site's zone, in which every time is shown, `site` the issuing site.
    """
    register_fonts()
    verify = verification_url(site_url, signature.record_sha256)
    buffer = io.BytesIO()
    title = f"Batch release certificate {record['batch']['batch_number']}"

    dated = pdf_date(signature.signed_at)

    def footer(canvas, doc):
        # CreationDate and ModDate: the signing time, not the clock (the bytes stay the same).
        canvas.setDateFormatter(lambda *_: dated)
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(
            18 * mm,
            10 * mm,
            f"{number} · batch {record['batch']['batch_number']} · page {doc.page}",
        )
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, site.name)
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=12 * mm,
        bottomMargin=16 * mm,
        title=title,
        author=site.name,
        subject=number,
        creator="Gallium",
        invariant=1,
    )
    doc.build(
        _story(record, signature, number, verify, zone, site),
        onFirstPage=footer,
        onLaterPages=footer,
    )
    return buffer.getvalue()
