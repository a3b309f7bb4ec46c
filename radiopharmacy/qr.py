"""QR codes for pages and printouts, from reportlab's encoder (no other dependency). Pure.

`qr_modules` gives the dark modules; `qr_svg` draws them as one inline SVG path (a syringe label
prints from the browser, no image file to serve).
"""

import itertools
from html import escape

from reportlab.graphics.barcode import qrencoder

QR_BORDER_MODULES = 4  # the quiet zone the QR standard asks for


def qr_modules(data: str) -> list[list[bool]]:
    """The QR code of `data` (error correction level M) as rows of dark (True) modules."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(data)
    code.make()
    return code.modules


def qr_svg(data: str, *, size_mm: float = 18.0, label: str = "") -> str:
    """An inline SVG of the QR code of `data`, `size_mm` square, quiet zone included; each run
    of dark modules in a row is one rectangle of the single path."""
    modules = qr_modules(data)
    count = len(modules) + 2 * QR_BORDER_MODULES
    runs = []
    for r, row in enumerate(modules):
        c = 0
        for dark, run in itertools.groupby(row):
            n = len(list(run))
            if dark:
                runs.append(f"M{c + QR_BORDER_MODULES} {r + QR_BORDER_MODULES}h{n}v1h-{n}z")
            c += n
    title = f"<title>{escape(label)}</title>" if label else ""
    role = f' role="img" aria-label="{escape(label)}"' if label else ' aria-hidden="true"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {count} {count}" '
        f'width="{size_mm}mm" height="{size_mm}mm" shape-rendering="crispEdges"{role}>{title}'
        f'<rect width="{count}" height="{count}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )
