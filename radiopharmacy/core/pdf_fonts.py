"""The fonts of every PDF the product prints (certificate, batch record, quality review,
validation reports). Pure: reportlab only.

Bitstream Vera ships with reportlab (no system font needed) and prints ≥ ≤ ± µ − · σ, which the
standard PDF fonts lack.
"""

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT, FONT_BOLD = "GalliumSans", "GalliumSans-Bold"


def register_fonts() -> None:
    """Register FONT and FONT_BOLD with reportlab, once per process."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
