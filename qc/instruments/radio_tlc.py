"""A radio-TLC scanner's report: one peak region per row with its (net) area, named by the
region the analyst set on the scanner. The percentages are each region's share of the strip's
total area:

    RCP % = area of the labelled product / total area × 100
    colloid % = area of colloidal Ga-68 / total area × 100

Regions are recognised by name: `colloid…` is colloidal Ga-68 (impurity A), `free…` free
Ga-68 (impurity B), a name with `dotatate`, `product`, `labelled`, `labeled`, `complex` or
`peptide` the labelled product; any other region is an unnamed impurity (it counts in the
total). Percentages are rounded to 0.01 %, as recorded.
"""

from dataclasses import dataclass

from radiopharmacy.core.instrument_csv import InstrumentFileError, read_table

REQUIRED = {
    "region": ("region", "peak", "name", "roi", "species"),
    "area": ("area", "counts", "net_counts", "net_area", "net area", "area_counts"),
}
OPTIONAL = {
    "start": ("start", "start_mm", "from", "rf_start"),
    "end": ("end", "end_mm", "to", "rf_end"),
}
PRODUCT_WORDS = ("dotatate", "product", "labelled", "labeled", "complex", "peptide")


def species_of(region: str) -> str:
    name = region.lower()
    if "colloid" in name:
        return "colloid"
    if "free" in name:
        return "free"
    if any(word in name for word in PRODUCT_WORDS):
        return "product"
    return "other"


@dataclass(frozen=True)
class Peak:
    line: int
    region: str
    species: str
    area: float
    percent: float


@dataclass(frozen=True)
class RadioTlcReport:
    peaks: list[Peak]
    total_area: float
    rcp_percent: float
    colloid_percent: float | None  # None: the report has no colloid region
    free_percent: float | None


def read_report(content: bytes) -> RadioTlcReport:
    """The report of a file; InstrumentFileError (400 with the line) when malformed."""
    table = read_table(content, required=REQUIRED, optional=OPTIONAL)
    rows = []
    for row in table.rows:
        area = row.number("area", decimal_comma=table.decimal_comma)
        for column in ("start", "end"):
            if row.values.get(column):
                row.number(column, decimal_comma=table.decimal_comma)
        rows.append((row, row.values["region"][:60], area))
    total = sum(area for _, _, area in rows)
    if total <= 0:
        raise InstrumentFileError(
            "The total area is 0: no activity on the strip.", line=rows[-1][0].line
        )
    peaks = [
        Peak(
            line=row.line,
            region=region,
            species=species_of(region),
            area=area,
            percent=round(100.0 * area / total, 2),
        )
        for row, region, area in rows
    ]
    if not any(p.species == "product" for p in peaks):
        raise InstrumentFileError(
            "No region is the labelled product (name it e.g. 'Ga-68 DOTATATE'); regions: "
            + ", ".join(repr(p.region) for p in peaks)
            + ".",
            line=peaks[0].line,
            column="region",
        )

    def share(species: str) -> float | None:
        areas = [p.area for p in peaks if p.species == species]
        return round(100.0 * sum(areas) / total, 2) if areas else None

    return RadioTlcReport(
        peaks=peaks,
        total_area=total,
        rcp_percent=share("product"),
        colloid_percent=share("colloid"),
        free_percent=share("free"),
    )


def result_values(report: RadioTlcReport) -> dict[str, float]:
    """The QC results a report gives: {test code: value in %}."""
    values = {"rcp_itlc": report.rcp_percent}
    if report.colloid_percent is not None:
        values["colloid_itlc"] = report.colloid_percent
    return values
